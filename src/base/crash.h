/* Fault injection for the crash-safety tests.
 *
 * Code that changes the store calls kn_crashpoint() at each moment where a
 * kill would leave a distinct state on disk. When KILN_CRASH_AT=N is set in
 * the environment, the Nth call in the process sends SIGKILL to itself, as
 * if killed from outside at exactly that moment. Unset, a call costs one
 * branch. */
#ifndef KN_BASE_CRASH_H
#define KN_BASE_CRASH_H

/* `what` names the moment ("blob renamed"); with KILN_CRASH_LOG=FILE every
 * call appends its number and name there, so a test can count the moments. */
void kn_crashpoint(const char *what);

#endif
