/* Running one process in a container through an OCI runtime (crun, else
 * runc): kiln writes a bundle (config.json; the rootfs is a directory the
 * caller prepared, e.g. an overlay mount) and runs `RUNTIME run`.
 *
 * The container gets mount, PID, IPC and UTS namespaces (and a network
 * namespace with only loopback when `network_none`), /proc, /dev (tmpfs with
 * the usual nodes), /dev/pts, /dev/shm, /sys (read-only), hostname
 * `buildkitsandbox`, and generated /etc/hosts, /etc/resolv.conf and
 * /etc/hostname bind-mounted read-only from files outside the rootfs, so
 * none of them lands in the rootfs's upper directory (SEMANTICS I-27). */
#ifndef KN_WORKER_RUNTIME_H
#define KN_WORKER_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "base/err.h"

/* Receives the process's output (stdout and stderr merged, in order), in
 * pieces as it comes; never truncated. */
typedef void (*kn_output_fn)(void *ctx, const char *data, size_t len);

typedef struct kn_run_spec {
    const char *rootfs;      /* absolute path of the prepared root; borrowed */
    const char *const *argv; /* argv[0] is looked up in the container's PATH by the runtime */
    size_t argc;
    const char *const *env; /* "K=V" entries */
    size_t n_env;
    const char *cwd;        /* absolute; created (0755) when missing (SEMANTICS I-25) */
    uint32_t uid, gid;      /* already resolved (kn_runtime_resolve_user) */
    const uint32_t *groups; /* supplementary groups */
    size_t n_groups;
    bool network_none;        /* else the host network */
    const char *hostname;     /* NULL: "buildkitsandbox" */
    const char *runtime;      /* path of crun/runc; NULL: kn_runtime_find() */
    const char *work_dir;     /* a private directory for the bundle and generated files;
                                 removed afterwards; borrowed */
    const atomic_int *cancel; /* when set non-zero (by another thread, or a signal handler:
                                 it is lock-free), the container is killed and the run
                                 fails; may be NULL */
    kn_output_fn output;      /* NULL: output is discarded */
    void *output_ctx;
} kn_run_spec;

/* Runs the process and waits for it. *exit_code gets its exit status (128+N
 * when killed by signal N). Returns -1 only when the container could not be
 * run at all (runtime missing, bad bundle): a non-zero exit is not an error. */
int kn_runtime_run(const kn_run_spec *spec, int *exit_code, kn_err *err);

/* The OCI runtime to use: $KILN_RUNTIME, else crun, else runc on PATH (runc
 * first on hybrid cgroup hosts with controllers on v2, where crun refuses
 * to run anything).
 * Returns a new string or NULL with err (KN_EFAILED, "no OCI runtime: install
 * crun or runc"). */
char *kn_runtime_find(kn_err *err);

/* Resolves a Dockerfile USER value ("", "name", "uid", "name:group",
 * "uid:gid") against the rootfs's /etc/passwd and /etc/group (read through
 * rootfd, never following links out of it), as SEMANTICS I-24 says: empty is
 * 0:0; numeric ids are used directly; a name not found is an error
 * ("unable to find user NAME: no matching entries in passwd file"); without
 * an explicit group, the user's primary group and its supplementary groups
 * from /etc/group. *groups is a new array; caller frees. */
int kn_runtime_resolve_user(int rootfd, const char *user, uint32_t *uid, uint32_t *gid,
                            uint32_t **groups, size_t *n_groups, kn_err *err);

#endif
