/* .dockerignore: reading the file and matching context paths against it,
 * per SEMANTICS F-27 .. F-31, following moby/patternmatcher (ignorefile.ReadAll
 * + PatternMatcher.MatchesOrParentMatches), the matcher BuildKit uses. */
#ifndef KN_FRONTEND_DOCKERIGNORE_H
#define KN_FRONTEND_DOCKERIGNORE_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct kn_dockerignore kn_dockerignore;

/* Parse the contents of a .dockerignore (len bytes, any bytes): comments are
 * lines whose first byte is '#', other lines are trimmed, cleaned and lose one
 * leading '/' (F-28). Errors are KN_EINPUT: `illegal exclusion pattern: "!"`
 * and `syntax error in pattern` (filepath.ErrBadPattern: an unclosed or empty
 * class, a trailing backslash). Returns a new matcher (kn_dockerignore_free). */
kn_dockerignore *kn_dockerignore_parse(const char *data, size_t len, kn_err *err);

/* Read `name` inside dirfd (never leaving it) and parse it. A missing file is
 * not an error: *out is set to NULL and 0 returned. */
int kn_dockerignore_load(int dirfd, const char *name, kn_dockerignore **out, kn_err *err);

/* Is the slash-separated context path excluded? The path or any of its parent
 * directories matching a pattern counts; the last matching pattern wins and
 * exceptions ('!') re-include (F-30, F-31). */
bool kn_dockerignore_matches(const kn_dockerignore *di, const char *path);

/* True when any pattern is an exception ('!'). */
bool kn_dockerignore_has_exclusions(const kn_dockerignore *di);

/* The patterns after cleaning, without the '!' (borrowed); *is_exception set. */
size_t kn_dockerignore_n_patterns(const kn_dockerignore *di);
const char *kn_dockerignore_pattern(const kn_dockerignore *di, size_t i, bool *is_exception);

void kn_dockerignore_free(kn_dockerignore *di);

#endif
