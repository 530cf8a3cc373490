/* Running one process through an OCI runtime (see runtime.h).
 *
 * kn_runtime_run writes, inside the caller's work directory:
 *
 *     bundle/config.json   the OCI spec (rootfs = the caller's prepared root)
 *     state/               the runtime's --root (its per-container state)
 *     hosts, resolv.conf, hostname, runtime.log
 *
 * and runs `RUNTIME --root state --log runtime.log --log-format json run
 * --bundle bundle ID`, with the container's stdout and stderr on one pipe.
 * Mount targets the runtime would otherwise create in the rootfs (/proc,
 * /dev, /sys, /etc and the three /etc files) are created here first and
 * removed again afterwards, with their parent's times put back, so they do
 * not reach the layer (SEMANTICS I-27; BuildKit's MountStubsCleaner). */
#include "worker/runtime.h"

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/str.h"
#include "base/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_HOSTNAME "buildkitsandbox"
#define MAX_USER_FILE_SIZE (10u << 20) /* BuildKit's maxUserFileBytes */
#define MAX_ID 2147483647LL            /* moby/sys/user's maxID */
#define MAX_NOFILE 1048576u
#define MAX_RUNTIME_LOG (1u << 20)

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A formatted new string (out of memory aborts, so this cannot fail). */
static char *strf(const char *fmt, ...)
{
    kn_buf b = KN_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    (void)kn_buf_addvf(&b, fmt, ap); /* no cap: only E2BIG could fail it */
    va_end(ap);
    return kn_buf_release(&b);
}

/* ---- finding the runtime ---- */

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* name looked up in $PATH as execvp does; empty elements (the current
 * directory) are skipped on purpose. Returns a new string or NULL. */
static char *search_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = DEFAULT_PATH;
    for (const char *p = path;;) {
        const char *end = strchrnul(p, ':');
        if (end > p) {
            kn_autofree char *candidate = strf("%.*s/%s", (int)(end - p), p, name);
            if (is_executable_file(candidate))
                return kn_steal_pointer(&candidate);
        }
        if (!*end)
            return NULL;
        p = end + 1;
    }
}

/* crun (1.8) refuses every container on a hybrid cgroup host whose v2
 * hierarchy has controllers ("cgroups in hybrid mode not supported, drop all
 * controllers from cgroupv2"), whatever its --cgroup-manager says. kiln needs
 * no cgroup for a build step (the PID namespace already takes every process
 * down with its init), so there crun runs with --cgroup-manager=disabled in
 * a private mount namespace where /sys/fs/cgroup/unified is an empty tmpfs:
 * crun then sees a legacy host and leaves cgroups alone. It starts about 3x
 * faster than runc, which is most of a trivial RUN step's time. */
static bool is_hybrid_with_v2_controllers(void)
{
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
        return false;
    if (statfs("/sys/fs/cgroup/unified", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
        return false;
    kn_autoclose int fd = open("/sys/fs/cgroup/unified/cgroup.controllers", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char c;
    ssize_t n;
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

static bool is_crun(const char *runtime)
{
    const char *slash = strrchr(runtime, '/');
    return strncmp(slash ? slash + 1 : runtime, "crun", 4) == 0;
}

char *kn_runtime_find(kn_err *err)
{
    const char *env = getenv("KILN_RUNTIME");
    if (env && *env) {
        char *path = strchr(env, '/') ? kn_xstrdup(env) : search_path(env);
        if (!path || !is_executable_file(path)) {
            free(path);
            kn_errf(err, KN_EFAILED, "KILN_RUNTIME=%s: no such executable", env);
            return NULL;
        }
        return path;
    }
    static const char *const order[] = {"crun", "runc"};
    for (size_t i = 0; i < KN_ARRAY_LEN(order); i++) {
        char *path = search_path(order[i]);
        if (path)
            return path;
    }
    kn_errf(err, KN_EFAILED, "no OCI runtime: install crun or runc");
    return NULL;
}

/* ---- users and groups (moby/sys/user GetExecUser, as BuildKit calls it) ---- */

typedef struct span {
    const char *p;
    size_t len;
} span;

static bool span_eq(span a, span b)
{
    return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* Field n of a ':'-separated line (Go's parseLine); false when it has fewer. */
static bool field(span line, size_t n, span *out)
{
    const char *p = line.p, *end = line.p + line.len;
    for (; n > 0; n--) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (!colon)
            return false;
        p = colon + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    *out = (span){p, (size_t)((colon ? colon : end) - p)};
    return true;
}

enum { ATOI_OK, ATOI_SYNTAX, ATOI_RANGE };

/* Go's strconv.Atoi (64-bit int): optional sign, then decimal digits. Out
 * of range gives the clamped value, as Go returns it. */
static int go_atoi(span s, long long *out)
{
    size_t i = 0;
    bool is_negative = false;
    *out = 0;
    if (s.len > 0 && (s.p[0] == '+' || s.p[0] == '-')) {
        is_negative = s.p[0] == '-';
        i = 1;
    }
    if (i == s.len)
        return ATOI_SYNTAX;
    unsigned long long v = 0, limit = is_negative ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return ATOI_SYNTAX;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (limit - d) / 10) {
            *out = is_negative ? LLONG_MIN : LLONG_MAX;
            return ATOI_RANGE;
        }
        v = v * 10 + d;
    }
    *out = is_negative ? (long long)(0 - v) : (long long)v;
    return ATOI_OK;
}

/* A number in a passwd or group line: conversion errors are ignored. */
static long long field_number(span line, size_t n)
{
    span f;
    long long v = 0;
    if (field(line, n, &f))
        go_atoi(f, &v);
    return v;
}

/* moby/sys/user parseNumeric: "" and names are not numeric; numbers must
 * lie in 0..2^31-1. */
static int parse_numeric(span s, long long *id, bool *is_numeric, kn_err *err)
{
    *is_numeric = false;
    if (s.len == 0)
        return 0;
    int rc = go_atoi(s, id);
    if (rc == ATOI_SYNTAX)
        return 0;
    *is_numeric = true;
    if (rc == ATOI_RANGE || *id < 0 || *id > MAX_ID)
        return kn_errf(err, KN_EINPUT, "uids and gids must be in range 0-%lld", MAX_ID);
    return 0;
}

/* A user database file: its contents, or why it cannot be scanned. */
typedef struct user_file {
    const char *path; /* as in messages: "/etc/passwd" */
    bool is_present;  /* false: missing or not a regular file, like no file */
    bool is_too_big;  /* over MAX_USER_FILE_SIZE: every scan fails */
    kn_buf data;
    size_t max_line;   /* bufio.Scanner's limit for this file */
    bool has_comments; /* '#' lines are skipped (group only) */
} user_file;

/* Calls fn for each line as bufio.Scanner + bytes.TrimSpace give it (blank
 * lines skipped). Returns the scan error text (a new string), or NULL. */
static char *scan_lines(const user_file *f, void (*fn)(void *ctx, span line), void *ctx)
{
    if (f->is_too_big)
        return strf("\"%s\" exceeds %u bytes", f->path, MAX_USER_FILE_SIZE);
    const char *p = f->data.data, *end = p + f->data.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        if (len >= f->max_line)
            return kn_xstrdup("bufio.Scanner: token too long");
        const char *s = p;
        p = nl ? nl + 1 : end;
        if (len > 0 && s[len - 1] == '\r')
            len--;
        kn_str_trim_space_span(&s, &len);
        if (len == 0 || (f->has_comments && s[0] == '#'))
            continue;
        fn(ctx, (span){s, len});
    }
    return NULL;
}

typedef struct user_match {
    span user_arg;
    long long uid_arg;
    bool is_uid, found;
    span name;
    long long uid, gid;
} user_match;

static void match_user(void *ctx, span line)
{
    user_match *m = ctx;
    span name = {line.p, 0};
    field(line, 0, &name);
    long long uid = field_number(line, 2);
    bool is_match;
    if (m->user_arg.len == 0)
        is_match = uid == 0; /* the default user, uid 0 */
    else if (m->is_uid)
        is_match = uid == m->uid_arg;
    else
        is_match = span_eq(name, m->user_arg);
    if (is_match && !m->found) { /* the first match wins */
        m->found = true;
        m->name = name;
        m->uid = uid;
        m->gid = field_number(line, 3);
    }
}

typedef struct group_match {
    span group_arg, user_name;
    long long gid_arg;
    bool is_gid;
    KN_VEC(uint32_t) gids;
} group_match;

static void match_group(void *ctx, span line)
{
    group_match *m = ctx;
    span name = {line.p, 0}, list;
    field(line, 0, &name);
    long long gid = field_number(line, 2);
    bool is_match = false;
    if (m->group_arg.len == 0) {
        /* Membership: user_name among the comma-separated members. */
        if (field(line, 3, &list) && list.len > 0) {
            const char *p = list.p, *end = list.p + list.len;
            for (;;) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                span member = {p, (size_t)((comma ? comma : end) - p)};
                if (span_eq(member, m->user_name)) {
                    is_match = true;
                    break;
                }
                if (!comma)
                    break;
                p = comma + 1;
            }
        }
    } else if (m->is_gid) {
        is_match = gid == m->gid_arg;
    } else {
        is_match = span_eq(name, m->group_arg);
    }
    if (is_match)
        kn_vec_push(&m->gids, (uint32_t)gid); /* Go's uint32(int) wraps the same way */
}

static int get_exec_user(const char *spec, const user_file *passwd, const user_file *group,
                         uint32_t *uid, uint32_t *gid, uint32_t **groups, size_t *n_groups,
                         kn_err *err)
{
    span line = {spec, strlen(spec)}, user_arg = {spec, 0}, group_arg = {spec, 0};
    field(line, 0, &user_arg);
    field(line, 1, &group_arg);
    user_match um = {.user_arg = user_arg};
    group_match gm = {.group_arg = group_arg};
    if (parse_numeric(user_arg, &um.uid_arg, &um.is_uid, err) < 0 ||
        parse_numeric(group_arg, &gm.gid_arg, &gm.is_gid, err) < 0)
        return -1;

    long long cur_uid = 0, cur_gid = 0;
    if (passwd->is_present) {
        kn_autofree char *why = scan_lines(passwd, match_user, &um);
        if (why) {
            if (user_arg.len == 0)
                return kn_errf(err, KN_EINPUT, "unable to find user 0: %s", why);
            return kn_errf(err, KN_EINPUT, "unable to find user %.*s: %s", (int)user_arg.len,
                           user_arg.p, why);
        }
    }
    if (um.found) {
        cur_uid = um.uid;
        cur_gid = um.gid;
    } else if (user_arg.len > 0) {
        if (!um.is_uid)
            return kn_errf(err, KN_EINPUT,
                           "unable to find user %.*s: no matching entries in passwd file",
                           (int)user_arg.len, user_arg.p);
        cur_uid = um.uid_arg;
    }

    if (group_arg.len > 0 || (um.found && um.name.len > 0)) {
        gm.user_name = um.name;
        if (group->is_present) {
            kn_autofree char *why = scan_lines(group, match_group, &gm);
            if (why) {
                kn_vec_free(&gm.gids);
                return kn_errf(err, KN_EINPUT, "unable to find groups for spec %.*s: %s",
                               (int)um.name.len, um.name.p, why);
            }
        }
        if (group_arg.len > 0) {
            if (gm.gids.len > 0) {
                cur_gid = gm.gids.items[0];
            } else if (!gm.is_gid) {
                kn_vec_free(&gm.gids);
                return kn_errf(err, KN_EINPUT,
                               "unable to find group %.*s: no matching entries in group file",
                               (int)group_arg.len, group_arg.p);
            } else {
                cur_gid = gm.gid_arg;
            }
            kn_vec_free(&gm.gids);
        } else {
            /* Supplementary groups only in the implicit form. */
            *groups = gm.gids.items;
            *n_groups = gm.gids.len;
        }
    }
    *uid = (uint32_t)cur_uid;
    *gid = (uint32_t)cur_gid;
    return 0;
}

/* BuildKit's parseUID: "root" or a decimal uint32. */
static bool parse_fast_id(const char *s, size_t len, uint32_t *id)
{
    if (len == 4 && memcmp(s, "root", 4) == 0) {
        *id = 0;
        return true;
    }
    if (len == 0)
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *id = (uint32_t)v;
    return true;
}

/* BuildKit's ParseUIDGID fast path: both parts given and each "root" or a
 * number; no files are read and no supplementary groups are added. */
static bool parse_uid_gid(const char *spec, uint32_t *uid, uint32_t *gid)
{
    const char *colon = strchr(spec, ':');
    if (!colon)
        return false;
    uint32_t u, g;
    if (!parse_fast_id(spec, (size_t)(colon - spec), &u) ||
        !parse_fast_id(colon + 1, strlen(colon + 1), &g))
        return false;
    *uid = u;
    *gid = g;
    return true;
}

/* Reads path (inside rootfd) into f. A file that cannot be opened or is not
 * a regular file counts as missing, as in BuildKit's openUserFile. */
static int read_user_file(int rootfd, user_file *f, kn_err *err)
{
    kn_autoerr kn_err read_err = KN_ERR_INIT;
    if (kn_read_fileat(rootfd, f->path + 1, MAX_USER_FILE_SIZE, &f->data, &read_err) == 0) {
        f->is_present = true;
        return 0;
    }
    switch (read_err.code) {
    case EFBIG:
        f->is_present = f->is_too_big = true;
        return 0;
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case EINVAL:
    case EACCES:
    case EXDEV:
        return 0;
    default:
        *err = read_err;
        read_err = (kn_err)KN_ERR_INIT;
        return kn_err_wrap(err, "read %s", f->path);
    }
}

int kn_runtime_resolve_user(int rootfd, const char *user, uint32_t *uid, uint32_t *gid,
                            uint32_t **groups, size_t *n_groups, kn_err *err)
{
    *uid = *gid = 0;
    *groups = NULL;
    *n_groups = 0;
    /* BuildKit: an empty USER is "0", and any failure to resolve it is 0:0. */
    bool is_default = !user || !*user;
    const char *spec = is_default ? "0" : user;
    if (parse_uid_gid(spec, uid, gid))
        return 0;

    user_file passwd = {.path = "/etc/passwd", .data = KN_BUF_INIT, .max_line = 64 << 10};
    user_file group = {
        .path = "/etc/group", .data = KN_BUF_INIT, .max_line = 1 << 20, .has_comments = true};
    int rc = read_user_file(rootfd, &passwd, err);
    if (rc == 0)
        rc = read_user_file(rootfd, &group, err);
    if (rc == 0)
        rc = get_exec_user(spec, &passwd, &group, uid, gid, groups, n_groups, err);
    kn_buf_free(&passwd.data);
    kn_buf_free(&group.data);
    if (rc < 0 && is_default) {
        kn_err_clear(err);
        *uid = *gid = 0;
        return 0;
    }
    return rc;
}

/* ---- mount stubs ---- */

/* A mount target kiln created in the rootfs, to remove after the run. */
typedef struct stub {
    int dirfd;  /* its parent directory, owned */
    char *name; /* owned */
    bool is_dir;
    struct timespec before[2]; /* the parent's atime and mtime before the stub */
    struct timespec after;     /* the parent's mtime right after */
} stub;

typedef KN_VEC(stub) stub_vec;

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static int make_stub(int dirfd, const char *name, bool is_dir, stub_vec *stubs, kn_err *err)
{
    struct stat st;
    if (fstat(dirfd, &st) < 0)
        return kn_errf(err, errno, "stat the parent of %s", name);
    stub s = {.name = NULL, .is_dir = is_dir, .before = {st.st_atim, st.st_mtim}};
    if (is_dir) {
        if (mkdirat(dirfd, name, 0755) < 0)
            return kn_errf(err, errno, "create mount point %s", name);
    } else {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return kn_errf(err, errno, "create mount point %s", name);
        close(fd);
    }
    s.dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (s.dirfd < 0) {
        int e = errno;
        unlinkat(dirfd, name, is_dir ? AT_REMOVEDIR : 0);
        return kn_errf(err, e, "keep the parent of %s", name);
    }
    if (fstat(dirfd, &st) == 0)
        s.after = st.st_mtim;
    s.name = kn_xstrdup(name);
    kn_vec_push(stubs, s);
    return 0;
}

/* Removes the stubs, newest first, when still empty; each parent gets back
 * its times from before the stub when nothing else changed it since, else
 * those it had just before the removal (BuildKit restores those). */
static int remove_stubs(stub_vec *stubs, kn_err *err)
{
    int rc = 0;
    while (stubs->len > 0) {
        stub *s = &stubs->items[--stubs->len];
        struct stat parent, st;
        bool is_empty = false;
        if (fstat(s->dirfd, &parent) == 0 &&
            fstatat(s->dirfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (s->is_dir)
                is_empty = S_ISDIR(st.st_mode); /* rmdir below fails when it is not empty */
            else
                is_empty = S_ISREG(st.st_mode) && st.st_size == 0;
        }
        if (is_empty && unlinkat(s->dirfd, s->name, s->is_dir ? AT_REMOVEDIR : 0) == 0) {
            struct timespec now[2] = {parent.st_atim, parent.st_mtim};
            const struct timespec *times = same_time(parent.st_mtim, s->after) ? s->before : now;
            if (futimens(s->dirfd, times) < 0 && rc == 0)
                rc = kn_errf(err, errno, "restore the times of the parent of %s", s->name);
        } else if (is_empty && errno != ENOTEMPTY && errno != EEXIST && rc == 0) {
            rc = kn_errf(err, errno, "remove mount point %s", s->name);
        }
        close(s->dirfd);
        free(s->name);
    }
    kn_vec_free(stubs);
    return rc;
}

/* Makes sure a directory mount target exists at the rootfs's top level. */
static int stub_top_dir(int rootfd, const char *name, stub_vec *stubs, kn_err *err)
{
    struct stat st;
    if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0; /* a symlink is resolved inside the root by the runtime */
    if (errno != ENOENT)
        return kn_errf(err, errno, "stat /%s in the rootfs", name);
    return make_stub(rootfd, name, true, stubs, err);
}

enum { ETC_HOSTS, ETC_RESOLV_CONF, ETC_HOSTNAME, N_ETC_FILES };
static const char *const etc_files[N_ETC_FILES] = {"hosts", "resolv.conf", "hostname"};

/* Prepares /etc/hosts, /etc/resolv.conf and /etc/hostname as bind targets;
 * is_bindable[i] says whether file i can take the bind mount without the
 * runtime creating anything (a symlink to nowhere, a directory cannot). */
static int stub_etc_files(int rootfd, stub_vec *stubs, bool is_bindable[N_ETC_FILES], kn_err *err)
{
    struct stat st;
    for (size_t i = 0; i < N_ETC_FILES; i++)
        is_bindable[i] = false;
    if (fstatat(rootfd, "etc", &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            return kn_errf(err, errno, "stat /etc in the rootfs");
        if (make_stub(rootfd, "etc", true, stubs, err) < 0)
            return -1;
    }
    kn_autoerr kn_err open_err = KN_ERR_INIT;
    kn_autoclose int etcfd = kn_openat_in_root(rootfd, "etc", O_RDONLY | O_DIRECTORY, 0, &open_err);
    if (etcfd < 0)
        return 0; /* /etc is a file or a dangling symlink: leave it alone */
    for (size_t i = 0; i < N_ETC_FILES; i++) {
        const char *name = etc_files[i];
        if (fstatat(etcfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return kn_errf(err, errno, "stat /etc/%s in the rootfs", name);
            if (make_stub(etcfd, name, false, stubs, err) < 0)
                return -1;
            is_bindable[i] = true;
        } else if (S_ISLNK(st.st_mode)) {
            kn_autofree char *path = strf("etc/%s", name);
            kn_autoerr kn_err link_err = KN_ERR_INIT;
            kn_autoclose int fd = kn_openat_in_root(rootfd, path, O_PATH, 0, &link_err);
            is_bindable[i] = fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode);
        } else {
            is_bindable[i] = !S_ISDIR(st.st_mode);
        }
    }
    return 0;
}

/* ---- generated files ---- */

static int write_file(int dirfd, const char *name, const char *data, size_t len, kn_err *err)
{
    kn_autoclose int fd =
        openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return kn_errf(err, errno, "create %s", name);
    if (kn_write_all(fd, data, len, err) < 0)
        return kn_err_wrap(err, "write %s", name);
    return 0;
}

/* The address of a "nameserver ADDR" line, or false for other lines. */
static bool nameserver_addr(span line, span *addr)
{
    const char *p = line.p, *end = line.p + line.len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if ((size_t)(end - p) < 11 || memcmp(p, "nameserver", 10) != 0 ||
        (p[10] != ' ' && p[10] != '\t'))
        return false;
    p += 10;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    addr->p = p;
    while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
        p++;
    addr->len = (size_t)(p - addr->p);
    return true;
}

/* libnetwork's localhost filter: 127.0.0.0/8 and ::1. */
static bool is_loopback(span addr)
{
    return (addr.len >= 4 && memcmp(addr.p, "127.", 4) == 0) ||
           (addr.len == 3 && memcmp(addr.p, "::1", 3) == 0);
}

typedef struct resolv_lines {
    size_t n_nameservers, n_loopback;
    bool has_resolved_stub; /* a nameserver 127.0.0.53 (systemd-resolved's stub) */
} resolv_lines;

/* Counts the nameservers and copies the lines the container gets (with their
 * newlines) to out when not NULL. */
static resolv_lines scan_resolv_conf(const kn_buf *src, bool is_host_network, kn_buf *out)
{
    resolv_lines r = {0};
    const char *p = src->data, *end = src->data + src->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        span line = {p, (size_t)((nl ? nl + 1 : end) - p)}, addr;
        p = line.p + line.len;
        if (nameserver_addr(line, &addr)) {
            r.n_nameservers++;
            if (is_loopback(addr)) {
                r.n_loopback++;
                r.has_resolved_stub |= addr.len == 10 && memcmp(addr.p, "127.0.0.53", 10) == 0;
                if (!is_host_network)
                    continue;
            }
        }
        if (out)
            (void)kn_buf_add(out, line.p, line.len);
    }
    return r;
}

/* The host's resolv.conf as BuildKit hands it to a container: for the
 * sandbox network, systemd-resolved's upstream file in place of its stub and
 * loopback nameservers dropped; Google's servers when none remain. */
static char *make_resolv_conf(bool is_host_network)
{
    kn_autobuf kn_buf src = KN_BUF_INIT;
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (slash >= 0 && kn_read_fileat(slash, "etc/resolv.conf", 1 << 20, &src, &err) < 0)
        kn_err_clear(&err);
    resolv_lines r = scan_resolv_conf(&src, is_host_network, NULL);
    if (!is_host_network && r.n_nameservers == 1 && r.has_resolved_stub) {
        kn_buf upstream = KN_BUF_INIT;
        if (slash >= 0 && kn_read_fileat(slash, "run/systemd/resolve/resolv.conf", 1 << 20,
                                         &upstream, &err) == 0) {
            kn_buf_free(&src);
            src = upstream;
        }
        kn_err_clear(&err);
    }
    kn_buf out = KN_BUF_INIT;
    r = scan_resolv_conf(&src, is_host_network, &out);
    if (r.n_nameservers == 0 || (!is_host_network && r.n_nameservers == r.n_loopback)) {
        if (out.len > 0 && out.data[out.len - 1] != '\n')
            (void)kn_buf_addc(&out, '\n');
        (void)kn_buf_adds(&out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
                                "nameserver 2001:4860:4860::8888\n"
                                "nameserver 2001:4860:4860::8844\n");
    }
    return kn_buf_release(&out);
}

/* ---- the OCI spec ---- */

static json_t *string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, kn_json_string_lossy(items[i]));
    return a;
}

static json_t *mount_json(const char *dest, const char *type, const char *source,
                          const char *const *options, size_t n_options)
{
    json_t *m = json_object();
    json_object_set_new(m, "destination", json_string(dest));
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "source", kn_json_string_lossy(source));
    json_object_set_new(m, "options", string_array(options, n_options));
    return m;
}

/* Docker's and containerd's default capability set. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

static const char *const masked_paths[] = {
    "/proc/acpi",          "/proc/asound",
    "/proc/kcore",         "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats",   "/proc/sched_debug",
    "/sys/firmware",       "/sys/devices/virtual/powercap",
    "/proc/scsi",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static bool has_cap_sys_resource(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return false;
    char line[256];
    unsigned long long caps = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "CapEff: %llx", &caps) == 1)
            break;
    fclose(f);
    return caps & (1ULL << 24); /* CAP_SYS_RESOURCE */
}

/* The open files limit the container gets: BuildKit leaves the daemon's,
 * which its service unit sets to 1048576; kiln sets that where it may. */
static uint64_t nofile_limit(void)
{
    struct rlimit rl;
    uint64_t limit = MAX_NOFILE;
    if (has_cap_sys_resource()) {
        FILE *f = fopen("/proc/sys/fs/nr_open", "re");
        unsigned long long nr_open;
        if (f && fscanf(f, "%llu", &nr_open) == 1 && nr_open < limit)
            limit = nr_open;
        if (f)
            fclose(f);
    } else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < limit) {
        limit = rl.rlim_max;
    }
    return limit;
}

static json_t *make_spec(const kn_run_spec *spec, const char *work,
                         const bool is_bindable[N_ETC_FILES])
{
    json_t *user = json_object();
    json_object_set_new(user, "uid", json_integer(spec->uid));
    json_object_set_new(user, "gid", json_integer(spec->gid));
    /* containerd's ensureAdditionalGids, as BuildKit applies it: the primary
     * group comes first unless listed already. */
    json_t *gids = json_array();
    bool has_primary = false;
    for (size_t i = 0; i < spec->n_groups; i++)
        has_primary |= spec->groups[i] == spec->gid;
    if (!has_primary)
        json_array_append_new(gids, json_integer(spec->gid));
    for (size_t i = 0; i < spec->n_groups; i++)
        json_array_append_new(gids, json_integer(spec->groups[i]));
    json_object_set_new(user, "additionalGids", gids);

    json_t *caps = json_object();
    json_object_set_new(caps, "bounding", string_array(default_caps, KN_ARRAY_LEN(default_caps)));
    json_object_set_new(caps, "effective", string_array(default_caps, KN_ARRAY_LEN(default_caps)));
    json_object_set_new(caps, "permitted", string_array(default_caps, KN_ARRAY_LEN(default_caps)));

    uint64_t nofile = nofile_limit();
    json_t *rlimits = json_array();
    json_array_append_new(rlimits, json_pack("{s:s, s:I, s:I}", "type", "RLIMIT_NOFILE", "hard",
                                             (json_int_t)nofile, "soft", (json_int_t)nofile));

    json_t *process = json_object();
    json_object_set_new(process, "terminal", json_false());
    json_object_set_new(process, "user", user);
    json_object_set_new(process, "args", string_array(spec->argv, spec->argc));
    json_object_set_new(process, "env", string_array(spec->env, spec->n_env));
    json_object_set_new(process, "cwd", kn_json_string_lossy(spec->cwd ? spec->cwd : "/"));
    json_object_set_new(process, "capabilities", caps);
    json_object_set_new(process, "rlimits", rlimits);
    json_object_set_new(process, "noNewPrivileges", json_false()); /* BuildKit: WithNewPrivileges */

    json_t *mounts = json_array();
    static const char *const proc_opts[] = {"nosuid", "noexec", "nodev"};
    static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
    static const char *const pts_opts[] = {"nosuid",        "noexec",    "newinstance",
                                           "ptmxmode=0666", "mode=0620", "gid=5"};
    static const char *const shm_opts[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"};
    static const char *const ro_opts[] = {"nosuid", "noexec", "nodev", "ro"};
    static const char *const bind_opts[] = {"nosuid", "noexec", "nodev", "rbind", "ro"};
    json_array_append_new(mounts, mount_json("/proc", "proc", "proc", proc_opts, 3));
    json_array_append_new(mounts, mount_json("/dev", "tmpfs", "tmpfs", dev_opts, 4));
    json_array_append_new(mounts, mount_json("/dev/pts", "devpts", "devpts", pts_opts, 6));
    json_array_append_new(mounts, mount_json("/dev/shm", "tmpfs", "shm", shm_opts, 5));
    json_array_append_new(mounts, mount_json("/dev/mqueue", "mqueue", "mqueue", proc_opts, 3));
    json_array_append_new(mounts, mount_json("/sys", "sysfs", "sysfs", ro_opts, 4));
    json_array_append_new(mounts, mount_json("/sys/fs/cgroup", "cgroup", "cgroup", ro_opts, 4));
    for (size_t i = 0; i < N_ETC_FILES; i++) {
        if (!is_bindable[i])
            continue;
        kn_autofree char *dest = strf("/etc/%s", etc_files[i]);
        kn_autofree char *source = strf("%s/%s", work, etc_files[i]);
        json_array_append_new(mounts, mount_json(dest, "bind", source, bind_opts, 5));
    }

    json_t *namespaces = json_array();
    static const char *const ns_types[] = {"pid", "ipc", "uts", "mount"};
    for (size_t i = 0; i < KN_ARRAY_LEN(ns_types); i++)
        json_array_append_new(namespaces, json_pack("{s:s}", "type", ns_types[i]));
    if (spec->network_none) /* else the host's network */
        json_array_append_new(namespaces, json_pack("{s:s}", "type", "network"));
    /* BuildKit's cgroupV2NamespaceSupported: cgroup v2 only. */
    struct stat st;
    if (stat("/proc/self/ns/cgroup", &st) == 0 &&
        stat("/sys/fs/cgroup/cgroup.subtree_control", &st) == 0)
        json_array_append_new(namespaces, json_pack("{s:s}", "type", "cgroup"));

    json_t *linux_ = json_object();
    json_object_set_new(linux_, "namespaces", namespaces);
    json_object_set_new(linux_, "maskedPaths",
                        string_array(masked_paths, KN_ARRAY_LEN(masked_paths)));
    json_object_set_new(linux_, "readonlyPaths",
                        string_array(readonly_paths, KN_ARRAY_LEN(readonly_paths)));

    json_t *root = json_object();
    json_object_set_new(root, "path", kn_json_string_lossy(spec->rootfs));
    json_object_set_new(root, "readonly", json_false());

    json_t *config = json_object();
    json_object_set_new(config, "ociVersion", json_string("1.0.2"));
    json_object_set_new(config, "process", process);
    json_object_set_new(config, "root", root);
    json_object_set_new(config, "hostname",
                        kn_json_string_lossy(spec->hostname ? spec->hostname : DEFAULT_HOSTNAME));
    json_object_set_new(config, "mounts", mounts);
    json_object_set_new(config, "linux", linux_);
    return config;
}

/* ---- running the runtime ---- */

/* An fd above the standard three, so the child's dup2s cannot clobber it. */
static int fd_above_stdio(int fd, kn_err *err)
{
    if (fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    if (moved < 0)
        return kn_errf(err, e, "duplicate fd");
    return moved;
}

/* The child of vfork_hiding_cgroup_v2 shares kiln's memory (and, under the
 * sanitizers, their bookkeeping), so it makes raw system calls only: no
 * libc wrapper that an interceptor could hook. */
static _Noreturn void exec_hiding_cgroup_v2(char *const *argv, int out_fd)
{
    /* The kernel's struct sigaction, zeroed: SIG_DFL, no flags, empty mask.
     * execve resets handled signals itself; this also resets ignored ones. */
    unsigned long no_action[4] = {0};
    uint64_t no_signals = 0;
    for (long sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, no_action, NULL, sizeof(no_signals));
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, NULL, sizeof(no_signals));
    long null_fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR);
    long out = out_fd >= 0 ? out_fd : null_fd;
    if (null_fd < 0 || (null_fd != 0 && syscall(SYS_dup3, null_fd, 0, 0) < 0) ||
        (out != 1 && syscall(SYS_dup3, out, 1, 0) < 0) ||
        (out != 2 && syscall(SYS_dup3, out, 2, 0) < 0))
        syscall(SYS_exit_group, 127);
    if (syscall(SYS_unshare, CLONE_NEWNS) < 0 ||
        syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        syscall(SYS_mount, "tmpfs", "/sys/fs/cgroup/unified", "tmpfs",
                MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") < 0)
        syscall(SYS_exit_group, 126);
    syscall(SYS_execve, argv[0], argv, environ);
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/* vfork, not fork: copying kiln's page tables for a child that only execs
 * costs more than crun's start-up saves on some VMs. The child runs on the
 * parent's stack while the calling thread waits. Called with all signals
 * blocked, so no handler runs in the child. */
static __attribute__((noinline)) pid_t vfork_hiding_cgroup_v2(char *const *argv, int out_fd)
{
    char *const *volatile args = argv;
    volatile int fd = out_fd;
    pid_t child = vfork();
    if (child == 0)
        exec_hiding_cgroup_v2(args, fd);
    return child;
}

/* Starts argv[0] with stdin from /dev/null and stdout+stderr on out_fd
 * (-1: /dev/null), default signal handling and an empty signal mask; with
 * hide_cgroup_v2 in a mount namespace of its own (see is_crun above). */
static int spawn(char *const *argv, int out_fd, bool hide_cgroup_v2, pid_t *pid, kn_err *err)
{
    if (hide_cgroup_v2) {
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        pid_t child = vfork_hiding_cgroup_v2(argv, out_fd);
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (child < 0)
            return kn_errf(err, e, "run %s", argv[0]);
        *pid = child;
        return 0;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (out_fd >= 0) {
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return kn_errf(err, rc, "run %s", argv[0]);
    return 0;
}

static int wait_child(pid_t pid, int *status, kn_err *err)
{
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return kn_errf(err, errno, "wait for process %d", (int)pid);
    }
    return 0;
}

/* Passes everything read from fd to output until EOF. */
static int pump_output(int fd, const atomic_int *cancel, kn_output_fn output, void *ctx,
                       kn_err *err)
{
    char buf[65536];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        /* Woken by a signal (EINTR) or every 100 ms to notice a cancel. */
        if (cancel && *cancel)
            return kn_errf(err, EINTR, "interrupted");
        int n_ready = poll(&pfd, 1, cancel ? 100 : -1);
        if (n_ready < 0) {
            if (errno == EINTR)
                continue;
            return kn_errf(err, errno, "wait for container output");
        }
        if (n_ready == 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return kn_errf(err, errno, "read container output");
        }
        if (n == 0)
            return 0;
        if (output)
            output(ctx, buf, (size_t)n);
    }
}

/* The last error the runtime logged (its --log in JSON lines), or NULL.
 * Returns a new string. */
static char *runtime_error(int wfd)
{
    kn_autobuf kn_buf log = KN_BUF_INIT;
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (kn_read_fileat(wfd, "runtime.log", MAX_RUNTIME_LOG, &log, &err) < 0)
        return NULL;
    char *last = NULL;
    const char *p = log.data, *end = log.data + log.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        kn_autojson json_t *entry = kn_json_parse(p, len, &err);
        p = nl ? nl + 1 : end;
        const char *level = NULL, *msg = NULL;
        if (!entry) {
            kn_err_clear(&err);
            continue;
        }
        if (kn_json_opt_string(entry, "level", &level, &err) < 0 ||
            kn_json_opt_string(entry, "msg", &msg, &err) < 0) {
            kn_err_clear(&err);
            continue;
        }
        if (level && msg && strcmp(level, "error") == 0) {
            free(last);
            last = kn_xstrdup(msg);
        }
    }
    return last;
}

static atomic_uint container_counter;

typedef struct run_ctx {
    const kn_run_spec *spec;
    const char *runtime;
    char *work;      /* absolute work_dir, owned */
    int wfd, rootfd; /* owned */
    char *state;     /* owned */
    char id[64];
    bool is_spawned;
    bool hide_cgroup_v2; /* crun on a hybrid host: see is_crun */
    stub_vec stubs;
} run_ctx;

static int start_and_wait(run_ctx *c, int *exit_code, kn_err *err)
{
    const kn_run_spec *spec = c->spec;

    /* SEMANTICS I-25: a missing working directory is created (0755) and stays. */
    const char *cwd = spec->cwd ? spec->cwd : "/";
    if (kn_mkdirat_p(c->rootfd, cwd, 0755, err) < 0)
        return kn_err_wrap(err, "create working directory %s", cwd);

    bool is_bindable[N_ETC_FILES];
    if (stub_top_dir(c->rootfd, "proc", &c->stubs, err) < 0 ||
        stub_top_dir(c->rootfd, "dev", &c->stubs, err) < 0 ||
        stub_top_dir(c->rootfd, "sys", &c->stubs, err) < 0 ||
        stub_etc_files(c->rootfd, &c->stubs, is_bindable, err) < 0)
        return kn_err_wrap(err, "prepare rootfs %s", spec->rootfs);

    /* The generated files the container sees (SEMANTICS I-27). */
    const char *hostname = spec->hostname ? spec->hostname : DEFAULT_HOSTNAME;
    kn_autofree char *hosts =
        strf("127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname);
    kn_autofree char *resolv = make_resolv_conf(!spec->network_none);
    kn_autofree char *hostname_file = strf("%s\n", hostname);
    if (write_file(c->wfd, "hosts", hosts, strlen(hosts), err) < 0 ||
        write_file(c->wfd, "resolv.conf", resolv, strlen(resolv), err) < 0 ||
        write_file(c->wfd, "hostname", hostname_file, strlen(hostname_file), err) < 0)
        return -1;

    if (mkdirat(c->wfd, "bundle", 0700) < 0)
        return kn_errf(err, errno, "create %s/bundle", c->work);
    kn_autoclose int bundlefd = openat(c->wfd, "bundle", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bundlefd < 0)
        return kn_errf(err, errno, "open %s/bundle", c->work);
    kn_autojson json_t *config = make_spec(spec, c->work, is_bindable);
    kn_autofree char *config_text = json_dumps(config, JSON_COMPACT);
    if (!config_text)
        return kn_errf(err, KN_EFAILED, "encode the OCI spec");
    if (write_file(bundlefd, "config.json", config_text, strlen(config_text), err) < 0)
        return kn_err_wrap(err, "write the OCI bundle");

    kn_autofree char *bundle = strf("%s/bundle", c->work);
    kn_autofree char *log = strf("%s/runtime.log", c->work);
    char *argv[16];
    size_t argc = 0;
    argv[argc++] = (char *)c->runtime;
    if (c->hide_cgroup_v2)
        argv[argc++] = "--cgroup-manager=disabled";
    char *rest[] = {"--root", c->state, "--log",    log,    "--log-format",
                    "json",   "run",    "--bundle", bundle, c->id};
    for (size_t i = 0; i < KN_ARRAY_LEN(rest); i++)
        argv[argc++] = rest[i];
    argv[argc] = NULL;

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return kn_errf(err, errno, "create a pipe");
    kn_autoclose int out_r = fd_above_stdio(pipefd[0], err);
    if (out_r < 0) {
        close(pipefd[1]);
        return -1;
    }
    kn_autoclose int out_w = fd_above_stdio(pipefd[1], err);
    if (out_w < 0)
        return -1;
    pid_t pid;
    if (spawn(argv, out_w, c->hide_cgroup_v2, &pid, err) < 0)
        return -1;
    c->is_spawned = true;
    close(kn_steal_fd(&out_w)); /* EOF comes when the runtime and the container are gone */

    kn_autoerr kn_err pump_err = KN_ERR_INIT;
    int pumped = pump_output(out_r, spec->cancel, spec->output, spec->output_ctx, &pump_err);
    if (pumped < 0)
        kill(pid, SIGKILL); /* the container itself goes with `delete -f` below */
    int status;
    if (wait_child(pid, &status, err) < 0)
        return -1;
    if (pumped < 0) {
        *err = pump_err;
        pump_err = (kn_err)KN_ERR_INIT;
        return -1;
    }

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) {
        /* The runtime exits 1 both when it fails and when the process does;
         * only its log tells them apart. */
        kn_autofree char *why = runtime_error(c->wfd);
        if (why)
            return kn_errf(err, KN_EFAILED, "%s", why);
    }
    *exit_code = code;
    return 0;
}

/* Removes whatever the run left: the container (when the runtime still
 * knows it), the mount stubs, and kiln's files in the work directory. */
static int finish(run_ctx *c, kn_err *err)
{
    int rc = 0;
    if (c->is_spawned && c->wfd >= 0) {
        kn_autofree char *state_entry = strf("state/%s", c->id);
        struct stat st;
        if (fstatat(c->wfd, state_entry, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            char *argv[] = {(char *)c->runtime, "--root", c->state, "delete", "-f", c->id, NULL};
            kn_autoerr kn_err spawn_err = KN_ERR_INIT;
            pid_t pid;
            int status;
            if (spawn(argv, -1, c->hide_cgroup_v2, &pid, &spawn_err) == 0)
                wait_child(pid, &status, &spawn_err);
        }
    }
    if (c->stubs.len > 0 && remove_stubs(&c->stubs, err) < 0)
        rc = -1;
    kn_vec_free(&c->stubs);
    static const char *const files[] = {"bundle", "state",       "runtime.log",
                                        "hosts",  "resolv.conf", "hostname"};
    for (size_t i = 0; c->wfd >= 0 && i < KN_ARRAY_LEN(files); i++) {
        kn_autoerr kn_err rm_err = KN_ERR_INIT;
        if (kn_remove_tree(c->wfd, files[i], &rm_err) < 0 && rc == 0) {
            *err = rm_err;
            rm_err = (kn_err)KN_ERR_INIT;
            rc = -1;
        }
    }
    return rc;
}

int kn_runtime_run(const kn_run_spec *spec, int *exit_code, kn_err *err)
{
    *exit_code = -1;
    if (!spec->rootfs || spec->rootfs[0] != '/')
        return kn_errf(err, EINVAL, "run: the rootfs must be an absolute path");
    if (spec->cwd && spec->cwd[0] != '/')
        return kn_errf(err, EINVAL, "run: the working directory %s is not absolute", spec->cwd);
    if (spec->argc == 0)
        return kn_errf(err, KN_EINPUT, "run: no command given");
    if (!spec->work_dir)
        return kn_errf(err, EINVAL, "run: no work directory");

    kn_autofree char *runtime = spec->runtime ? kn_xstrdup(spec->runtime) : kn_runtime_find(err);
    if (!runtime)
        return -1;
    if (!is_executable_file(runtime))
        return kn_errf(err, KN_EFAILED, "OCI runtime %s: no such executable", runtime);

    run_ctx c = {.spec = spec, .runtime = runtime, .wfd = -1, .rootfd = -1};
    c.hide_cgroup_v2 = is_crun(runtime) && is_hybrid_with_v2_controllers();
    c.work = realpath(spec->work_dir, NULL);
    if (!c.work)
        return kn_errf(err, errno, "open work directory %s", spec->work_dir);
    c.state = strf("%s/state", c.work);
    snprintf(c.id, sizeof(c.id), "kiln-%ld-%u", (long)getpid(),
             atomic_fetch_add(&container_counter, 1) + 1);

    int rc = -1;
    c.wfd = open(c.work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.wfd < 0) {
        kn_errf(err, errno, "open work directory %s", c.work);
        goto out;
    }
    c.rootfd = open(spec->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.rootfd < 0) {
        kn_errf(err, errno, "open rootfs %s", spec->rootfs);
        goto out;
    }
    rc = start_and_wait(&c, exit_code, err);
    if (rc < 0)
        *exit_code = -1;

out:;
    /* Cleanup runs whatever happened; its error counts only when the run
     * itself went well (a leftover stub would end up in the layer). */
    kn_autoerr kn_err finish_err = KN_ERR_INIT;
    if (finish(&c, &finish_err) < 0 && rc == 0) {
        *err = finish_err;
        finish_err = (kn_err)KN_ERR_INIT;
        *exit_code = -1;
        rc = -1;
    }
    if (c.rootfd >= 0)
        close(c.rootfd);
    if (c.wfd >= 0)
        close(c.wfd);
    free(c.state);
    free(c.work);
    return rc;
}
