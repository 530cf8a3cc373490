/* Tests for the OCI runtime driver (src/worker/runtime.c).
 *
 * User resolution runs against a temporary rootfs T/root with its own
 * /etc/passwd and /etc/group, next to T/outside/passwd, which no lookup may
 * read. The container tests build a busybox rootfs (the static busybox on
 * PATH), run real processes through the runtime kn_runtime_find picks
 * (crun, else runc; $KILN_RUNTIME overrides), and check output, exit code,
 * user, sandbox and what the run leaves in the rootfs. They are skipped when
 * not root, without busybox or without a runtime that can start a container
 * here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "worker/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- temporary trees ---- */

typedef struct fixture {
    char dir[256];
    int tfd;    /* T */
    int rootfd; /* T/root */
    char root[300];
    char work[300];
} fixture;

static void write_at(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static bool exists_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int fixture_setup(void **state)
{
    fixture *f = kn_xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/kiln-runtime-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->tfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->tfd >= 0);
    assert_int_equal(mkdirat(f->tfd, "root", 0755), 0);
    assert_int_equal(mkdirat(f->tfd, "work", 0700), 0);
    assert_int_equal(mkdirat(f->tfd, "outside", 0755), 0);
    f->rootfd = openat(f->tfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->rootfd >= 0);
    snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
    snprintf(f->work, sizeof(f->work), "%s/work", f->dir);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    kn_autoerr kn_err err = KN_ERR_INIT;
    close(f->rootfd);
    close(f->tfd);
    int dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    kn_remove_tree(dfd, f->dir + 1, &err);
    close(dfd);
    free(f);
    return 0;
}

/* ---- user resolution ---- */

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "daemon:x:1:1::/:/bin/false\n"
                                  "\n"
                                  "  alice:x:1000:1000::/home/alice:/bin/sh  \n"
                                  "bob:x:1001:1002::/home/bob:/bin/sh\r\n"
                                  "alice:x:1500:1500:second entry, ignored::\n";

static const char group_text[] = "root:x:0:root\n"
                                 "wheel:x:10:root,alice\n"
                                 "alice:x:1000:\n"
                                 "bobs:x:1002:\n"
                                 "# devs:x:3000:alice\n"
                                 "devs:x:2000:alice,bob\n"
                                 "devs:x:2001:\n";

static void write_user_db(fixture *f)
{
    assert_int_equal(mkdirat(f->rootfd, "etc", 0755), 0);
    write_at(f->rootfd, "etc/passwd", passwd_text);
    write_at(f->rootfd, "etc/group", group_text);
}

typedef struct user_row {
    const char *rule;
    const char *user;
    const char *error; /* expected message, or NULL */
    uint32_t uid, gid;
    uint32_t groups[4];
    size_t n_groups;
} user_row;

#define ERR_ROW(rule, user, msg)                                                                   \
    {                                                                                              \
        rule, user, msg, 0, 0, {0}, 0                                                              \
    }

static const user_row user_rows[] = {
    {"I-24 empty is root, with root's groups", "", NULL, 0, 0, {0, 10}, 2},
    {"I-24 name", "root", NULL, 0, 0, {0, 10}, 2},
    {"I-24 name with supplementary groups", "alice", NULL, 1000, 1000, {10, 2000}, 2},
    {"I-24 primary group from passwd", "bob", NULL, 1001, 1002, {2000}, 1},
    {"I-24 a user in no group", "daemon", NULL, 1, 1, {0}, 0},
    {"I-24 uid found in passwd", "1000", NULL, 1000, 1000, {10, 2000}, 2},
    {"I-24 uid not in passwd", "4242", NULL, 4242, 0, {0}, 0},
    {"I-24 name:group", "alice:devs", NULL, 1000, 2000, {0}, 0},
    {"I-24 name:gid not in group", "alice:5000", NULL, 1000, 5000, {0}, 0},
    {"I-24 uid:group name", "4242:wheel", NULL, 4242, 10, {0}, 0},
    {"I-24 uid:gid used directly", "1000:1000", NULL, 1000, 1000, {0}, 0},
    {"I-24 root:root used directly", "root:root", NULL, 0, 0, {0}, 0},
    {"I-24 large uid:gid", "4294967295:7", NULL, 4294967295u, 7, {0}, 0},
    ERR_ROW("I-24 unknown user", "nobody",
            "unable to find user nobody: no matching entries in passwd file"),
    ERR_ROW("I-24 unknown group", "alice:nogroup",
            "unable to find group nogroup: no matching entries in group file"),
    ERR_ROW("I-24 negative uid", "-1", "uids and gids must be in range 0-2147483647"),
    ERR_ROW("I-24 huge uid", "99999999999", "uids and gids must be in range 0-2147483647"),
};

static void check_user_row(int rootfd, const user_row *row)
{
    uint32_t uid = 99, gid = 99, *groups = NULL;
    size_t n_groups = 99;
    kn_autoerr kn_err err = KN_ERR_INIT;
    int rc = kn_runtime_resolve_user(rootfd, row->user, &uid, &gid, &groups, &n_groups, &err);
    if (row->error) {
        if (rc != -1 || !err.msg || strcmp(err.msg, row->error) != 0)
            fail_msg("%s (USER %s): want error \"%s\", got rc %d \"%s\"", row->rule, row->user,
                     row->error, rc, err.msg ? err.msg : "");
        free(groups);
        return;
    }
    if (rc != 0)
        fail_msg("%s (USER %s): %s", row->rule, row->user, err.msg);
    if (uid != row->uid || gid != row->gid)
        fail_msg("%s (USER %s): want %u:%u, got %u:%u", row->rule, row->user, row->uid, row->gid,
                 uid, gid);
    bool is_same = n_groups == row->n_groups;
    for (size_t i = 0; is_same && i < n_groups; i++)
        is_same = groups[i] == row->groups[i];
    if (!is_same)
        fail_msg("%s (USER %s): want %zu groups, got %zu (first %u)", row->rule, row->user,
                 row->n_groups, n_groups, n_groups ? groups[0] : 0);
    free(groups);
}

static void test_resolve_user_table(void **state)
{
    fixture *f = *state;
    write_user_db(f);
    for (size_t i = 0; i < KN_ARRAY_LEN(user_rows); i++)
        check_user_row(f->rootfd, &user_rows[i]);
}

static void test_resolve_user_without_passwd_numeric_is_fine(void **state)
{
    fixture *f = *state;
    static const user_row rows[] = {
        {"I-24 no passwd: uid used", "1000", NULL, 1000, 0, {0}, 0},
        {"I-24 no passwd: empty is 0:0", "", NULL, 0, 0, {0}, 0},
        {"I-24 no group: uid:gid", "7:8", NULL, 7, 8, {0}, 0},
        ERR_ROW("I-24 no group: numeric group", "7:nogroup",
                "unable to find group nogroup: no matching entries in group file"),
        ERR_ROW("I-24 no passwd: a name fails", "alice",
                "unable to find user alice: no matching entries in passwd file"),
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++)
        check_user_row(f->rootfd, &rows[i]);
}

static void test_resolve_user_never_reads_through_symlink_out_of_root(void **state)
{
    fixture *f = *state;
    write_at(f->tfd, "outside/passwd", "evil:x:4242:4242::/:/bin/sh\n");
    write_at(f->tfd, "outside/group", "evilgroup:x:4243:evil\n");
    assert_int_equal(mkdirat(f->rootfd, "etc", 0755), 0);
    char target[600];
    snprintf(target, sizeof(target), "%s/outside/passwd", f->dir);
    assert_int_equal(symlinkat(target, f->rootfd, "etc/passwd"), 0); /* absolute: host path */
    assert_int_equal(symlinkat("../../outside/group", f->rootfd, "etc/group"), 0);
    static const user_row rows[] = {
        ERR_ROW("I-24 absolute link out of root", "evil",
                "unable to find user evil: no matching entries in passwd file"),
        ERR_ROW("I-24 relative link out of root", "4242:evilgroup",
                "unable to find group evilgroup: no matching entries in group file"),
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++)
        check_user_row(f->rootfd, &rows[i]);

    /* A link that stays inside the root is followed. */
    assert_int_equal(unlinkat(f->rootfd, "etc/passwd", 0), 0);
    assert_int_equal(mkdirat(f->rootfd, "data", 0755), 0);
    write_at(f->rootfd, "data/passwd", "carol:x:77:88::/:/bin/sh\n");
    assert_int_equal(symlinkat("/data/passwd", f->rootfd, "etc/passwd"), 0);
    const user_row inside = {"I-24 link inside root", "carol", NULL, 77, 88, {0}, 0};
    check_user_row(f->rootfd, &inside);
}

static void test_resolve_user_directory_passwd_counts_as_missing(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdirat(f->rootfd, "etc", 0755), 0);
    assert_int_equal(mkdirat(f->rootfd, "etc/passwd", 0755), 0);
    const user_row rows[] = {
        {"I-24 passwd is a directory", "12", NULL, 12, 0, {0}, 0},
        ERR_ROW("I-24 passwd is a directory", "alice",
                "unable to find user alice: no matching entries in passwd file"),
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++)
        check_user_row(f->rootfd, &rows[i]);
}

/* ---- finding the runtime ---- */

typedef struct saved_env {
    char *path, *runtime;
} saved_env;

static saved_env save_env(void)
{
    saved_env s = {getenv("PATH") ? kn_xstrdup(getenv("PATH")) : NULL,
                   getenv("KILN_RUNTIME") ? kn_xstrdup(getenv("KILN_RUNTIME")) : NULL};
    return s;
}

static void restore_env(saved_env *s)
{
    if (s->path)
        setenv("PATH", s->path, 1);
    else
        unsetenv("PATH");
    if (s->runtime)
        setenv("KILN_RUNTIME", s->runtime, 1);
    else
        unsetenv("KILN_RUNTIME");
    free(s->path);
    free(s->runtime);
}

static void test_find_runtime_honours_kiln_runtime(void **state)
{
    fixture *f = *state;
    saved_env saved = save_env();
    write_at(f->tfd, "outside/myruntime", "#!/bin/sh\nexit 0\n");
    assert_int_equal(fchmodat(f->tfd, "outside/myruntime", 0755, 0), 0);
    char path[600];
    snprintf(path, sizeof(path), "%s/outside/myruntime", f->dir);

    kn_autoerr kn_err err = KN_ERR_INIT;
    setenv("KILN_RUNTIME", path, 1);
    char *found = kn_runtime_find(&err);
    assert_non_null(found);
    assert_string_equal(found, path);
    free(found);

    /* A bare name is looked up on PATH. */
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/outside", f->dir);
    setenv("PATH", dir, 1);
    setenv("KILN_RUNTIME", "myruntime", 1);
    found = kn_runtime_find(&err);
    assert_non_null(found);
    assert_string_equal(found, path);
    free(found);

    setenv("KILN_RUNTIME", "/nonexistent/crun", 1);
    assert_null(kn_runtime_find(&err));
    assert_non_null(strstr(err.msg, "KILN_RUNTIME=/nonexistent/crun"));
    restore_env(&saved);
}

static void test_find_runtime_searches_path_for_crun_then_runc(void **state)
{
    fixture *f = *state;
    saved_env saved = save_env();
    unsetenv("KILN_RUNTIME");
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/outside", f->dir);
    setenv("PATH", dir, 1);

    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_null(kn_runtime_find(&err));
    assert_string_equal(err.msg, "no OCI runtime: install crun or runc");
    kn_err_clear(&err);

    /* Not executable: skipped. */
    write_at(f->tfd, "outside/runc", "#!/bin/sh\n");
    assert_null(kn_runtime_find(&err));
    kn_err_clear(&err);

    assert_int_equal(fchmodat(f->tfd, "outside/runc", 0755, 0), 0);
    char *found = kn_runtime_find(&err);
    assert_non_null(found);
    assert_non_null(strstr(found, "/outside/runc"));
    free(found);
    restore_env(&saved);
}

/* ---- containers ---- */

static char *runtime_path; /* the runtime the container tests use, or NULL */
static char skip_reason[512];

static void collect(void *ctx, const char *data, size_t len)
{
    kn_buf *b = ctx;
    assert_int_equal(kn_buf_add(b, data, len), 0);
}

/* A rootfs at f->root with busybox as /bin/busybox and applets linked to it. */
static bool build_busybox_root(fixture *f)
{
    static const char *const candidates[] = {"/bin/busybox", "/usr/bin/busybox",
                                             "/usr/sbin/busybox", "/sbin/busybox"};
    const char *busybox = NULL;
    for (size_t i = 0; i < KN_ARRAY_LEN(candidates) && !busybox; i++)
        if (access(candidates[i], X_OK) == 0)
            busybox = candidates[i];
    if (!busybox)
        return false;
    int in = open(busybox, O_RDONLY | O_CLOEXEC);
    assert_true(in >= 0);
    assert_int_equal(mkdirat(f->rootfd, "bin", 0755), 0);
    int out = openat(f->rootfd, "bin/busybox", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    assert_true(out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
    static const char *const applets[] = {"sh", "echo",     "cat",   "id",   "pwd",
                                          "ls", "hostname", "touch", "true", "mkdir"};
    for (size_t i = 0; i < KN_ARRAY_LEN(applets); i++) {
        char name[64];
        snprintf(name, sizeof(name), "bin/%s", applets[i]);
        assert_int_equal(symlinkat("busybox", f->rootfd, name), 0);
    }
    return true;
}

static const char *const default_env[] = {"PATH=/bin", "FOO=bar baz"};

static kn_run_spec shell_spec(fixture *f, const char *const *argv, size_t argc, kn_buf *out)
{
    kn_run_spec spec = {
        .rootfs = f->root,
        .argv = argv,
        .argc = argc,
        .env = default_env,
        .n_env = KN_ARRAY_LEN(default_env),
        .cwd = "/",
        .network_none = true,
        .runtime = runtime_path,
        .work_dir = f->work,
        .output = collect,
        .output_ctx = out,
    };
    return spec;
}

/* Runs `sh -c script` as root in the busybox rootfs; returns the exit code. */
static int run_script(fixture *f, const char *script, kn_buf *out)
{
    const char *argv[] = {"sh", "-c", script};
    kn_run_spec spec = shell_spec(f, argv, 3, out);
    int code = -1;
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (kn_runtime_run(&spec, &code, &err) < 0)
        fail_msg("run %s: %s", script, err.msg);
    return code;
}

static int container_setup(void **state)
{
    fixture_setup(state);
    fixture *f = *state;
    if (!runtime_path || !build_busybox_root(f))
        return 0;
    return 0;
}

#define NEED_CONTAINERS()                                                                          \
    do {                                                                                           \
        if (!runtime_path) {                                                                       \
            print_message("skipped: %s\n", skip_reason);                                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void test_run_merges_output_and_returns_exit_code(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    int code = run_script(f, "echo hello; echo err >&2; echo again; exit 3", &out);
    assert_int_equal(code, 3);
    /* Both streams arrive; the runtime may reorder across them, not within one. */
    assert_int_equal(out.len, strlen("hello\nerr\nagain\n"));
    const char *hello = strstr(out.data, "hello\n"), *again = strstr(out.data, "again\n");
    assert_non_null(strstr(out.data, "err\n"));
    assert_true(hello && again && hello < again);
}

static void test_run_sets_env_and_cwd(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    const char *argv[] = {"sh", "-c", "pwd; echo \"$FOO\""};
    kn_run_spec spec = shell_spec(f, argv, 3, &out);
    spec.cwd = "/work/dir";
    int code = -1;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), 0);
    assert_int_equal(code, 0);
    assert_string_equal(out.data, "/work/dir\nbar baz\n");
}

static void test_run_applies_uid_gid_and_groups(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    const char *argv[] = {"sh", "-c",
                          "id -u; id -g; id -G; touch /tmp/x 2>/dev/null || echo denied"};
    assert_int_equal(mkdirat(f->rootfd, "tmp", 0755), 0); /* root-owned, not writable for 1000 */
    kn_run_spec spec = shell_spec(f, argv, 3, &out);
    static const uint32_t groups[] = {10, 2000};
    spec.uid = 1000;
    spec.gid = 1001;
    spec.groups = groups;
    spec.n_groups = 2;
    int code = -1;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), 0);
    assert_int_equal(code, 0);
    /* containerd's ensureAdditionalGids puts the primary group first. */
    assert_string_equal(out.data, "1000\n1001\n1001 10 2000\ndenied\n");
}

static void test_run_sandbox_hostname_and_hosts(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    int code = run_script(f,
                          "hostname; cat /etc/hosts; cat /etc/hostname; "
                          "{ echo x >/etc/hosts; } 2>/dev/null || echo read-only",
                          &out);
    assert_int_equal(code, 0);
    assert_string_equal(out.data, "buildkitsandbox\n"
                                  "127.0.0.1\tlocalhost buildkitsandbox\n"
                                  "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                  "buildkitsandbox\n"
                                  "read-only\n");
}

static void test_run_resolv_conf_has_a_nameserver(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    /* I-27: the host's resolv.conf without loopback nameservers (Google's
     * servers when none remain). */
    assert_int_equal(run_script(f, "cat /etc/resolv.conf", &out), 0);
    assert_non_null(strstr(out.data, "nameserver "));
    assert_null(strstr(out.data, "nameserver 127."));
}

static void test_run_network_none_has_only_loopback(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    int code = run_script(f, "cat /proc/net/dev", &out);
    assert_int_equal(code, 0);
    /* Two header lines, then one line per interface. */
    size_t n_lines = 0;
    for (const char *p = out.data; *p; p++)
        n_lines += *p == '\n';
    assert_int_equal(n_lines, 3);
    assert_non_null(strstr(out.data, "lo:"));
}

static void test_run_host_network_sees_host_interfaces(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    const char *argv[] = {"cat", "/proc/net/dev"};
    kn_run_spec spec = shell_spec(f, argv, 2, &out);
    spec.network_none = false;
    int code = -1;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), 0);
    assert_int_equal(code, 0);

    kn_autobuf kn_buf host = KN_BUF_INIT;
    int fd = open("/proc/net/dev", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        kn_buf_add(&host, buf, (size_t)n);
    close(fd);
    size_t n_host = 0, n_container = 0;
    for (const char *p = host.data; *p; p++)
        n_host += *p == '\n';
    for (const char *p = out.data; *p; p++)
        n_container += *p == '\n';
    assert_int_equal(n_container, n_host);
}

static void test_run_leaves_no_mount_points_in_rootfs(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    struct stat before, after;
    assert_int_equal(fstat(f->rootfd, &before), 0);
    kn_autobuf kn_buf out = KN_BUF_INIT;
    assert_int_equal(run_script(f,
                                "ls /proc/self >/dev/null && ls /dev/null /sys/kernel "
                                "/etc/hosts /etc/resolv.conf /etc/hostname >/dev/null",
                                &out),
                     0);
    assert_string_equal(out.data, "");
    static const char *const gone[] = {"proc", "dev", "sys", "etc"};
    for (size_t i = 0; i < KN_ARRAY_LEN(gone); i++)
        if (exists_at(f->rootfd, gone[i]))
            fail_msg("the run left /%s in the rootfs", gone[i]);
    /* The root directory's times are put back as well (a changed directory
     * would be part of the layer). */
    assert_int_equal(fstat(f->rootfd, &after), 0);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    /* Nor anything in the work directory. */
    int wfd = openat(f->tfd, "work", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(wfd >= 0);
    static const char *const work_files[] = {"bundle",      "state",    "hosts",
                                             "resolv.conf", "hostname", "runtime.log"};
    for (size_t i = 0; i < KN_ARRAY_LEN(work_files); i++)
        if (exists_at(wfd, work_files[i]))
            fail_msg("the run left %s in the work directory", work_files[i]);
    close(wfd);
}

static void test_run_keeps_existing_etc_and_created_cwd(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    assert_int_equal(mkdirat(f->rootfd, "etc", 0755), 0);
    write_at(f->rootfd, "etc/hosts", "image's own hosts\n");
    kn_autobuf kn_buf out = KN_BUF_INIT;
    const char *argv[] = {"sh", "-c", "pwd; echo made >/etc/created"};
    kn_run_spec spec = shell_spec(f, argv, 3, &out);
    spec.cwd = "/app/src";
    int code = -1;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), 0);
    assert_int_equal(code, 0);
    assert_string_equal(out.data, "/app/src\n");

    /* SEMANTICS I-25: the working directory stays, 0755. */
    struct stat st;
    assert_int_equal(fstatat(f->rootfd, "app/src", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    /* The image's /etc/hosts is untouched (the bind mount covered it); the
     * stubs kiln made are gone; what the process wrote stays. */
    int fd = openat(f->rootfd, "etc/hosts", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char buf[64] = {0};
    assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    assert_string_equal(buf, "image's own hosts\n");
    assert_false(exists_at(f->rootfd, "etc/resolv.conf"));
    assert_false(exists_at(f->rootfd, "etc/hostname"));
    assert_true(exists_at(f->rootfd, "etc/created"));
}

static void test_run_keeps_etc_created_by_the_process(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    /* /etc did not exist: kiln made it for the mounts; the process writes
     * into it, so it stays (with only what the process wrote). */
    assert_int_equal(run_script(f, "echo x >/etc/motd", &out), 0);
    assert_true(exists_at(f->rootfd, "etc/motd"));
    assert_false(exists_at(f->rootfd, "etc/hosts"));
    assert_false(exists_at(f->rootfd, "etc/resolv.conf"));
    assert_false(exists_at(f->rootfd, "etc/hostname"));
}

static void test_run_missing_command_is_an_error(void **state)
{
    NEED_CONTAINERS();
    fixture *f = *state;
    kn_autobuf kn_buf out = KN_BUF_INIT;
    const char *argv[] = {"no-such-command"};
    kn_run_spec spec = shell_spec(f, argv, 1, &out);
    int code = 0;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), -1);
    assert_int_equal(code, -1);
    assert_non_null(strstr(err.msg, "no-such-command"));
    assert_false(exists_at(f->rootfd, "proc"));
}

static void test_run_missing_runtime_is_an_error(void **state)
{
    fixture *f = *state;
    const char *argv[] = {"true"};
    kn_autobuf kn_buf out = KN_BUF_INIT;
    kn_run_spec spec = shell_spec(f, argv, 1, &out);
    spec.runtime = "/nonexistent/crun";
    int code = 0;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), -1);
    assert_int_equal(code, -1);
    assert_string_equal(err.msg, "OCI runtime /nonexistent/crun: no such executable");
    assert_false(exists_at(f->rootfd, "proc"));
}

static void test_run_rejects_relative_rootfs_and_empty_command(void **state)
{
    fixture *f = *state;
    const char *argv[] = {"true"};
    kn_autobuf kn_buf out = KN_BUF_INIT;
    kn_run_spec spec = shell_spec(f, argv, 1, &out);
    spec.runtime = "/bin/true";
    spec.rootfs = "relative/root";
    int code = 0;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), -1);
    kn_err_clear(&err);
    spec.rootfs = f->root;
    spec.argc = 0;
    assert_int_equal(kn_runtime_run(&spec, &code, &err), -1);
    assert_string_equal(err.msg, "run: no command given");
}

/* Picks the runtime for the container tests: root, busybox and a runtime
 * that can start `true` here, else a reason to skip. */
static int find_working_runtime(void **state)
{
    if (geteuid() != 0) {
        snprintf(skip_reason, sizeof(skip_reason), "container tests need root");
        return 0;
    }
    kn_autoerr kn_err err = KN_ERR_INIT;
    char *runtime = kn_runtime_find(&err);
    if (!runtime) {
        snprintf(skip_reason, sizeof(skip_reason), "%s", err.msg);
        return 0;
    }
    void *fx = NULL;
    fixture_setup(&fx);
    fixture *f = fx;
    if (!build_busybox_root(f)) {
        snprintf(skip_reason, sizeof(skip_reason), "no busybox");
        free(runtime);
    } else {
        const char *argv[] = {"true"};
        kn_autobuf kn_buf out = KN_BUF_INIT;
        runtime_path = runtime;
        kn_run_spec spec = shell_spec(f, argv, 1, &out);
        int code = -1;
        if (kn_runtime_run(&spec, &code, &err) < 0 || code != 0) {
            snprintf(skip_reason, sizeof(skip_reason), "%s cannot run a container here: %s%s",
                     runtime, err.msg ? err.msg : "", out.data);
            runtime_path = NULL;
            free(runtime);
        } else {
            print_message("container tests use %s\n", runtime);
        }
    }
    fixture_teardown(&fx);
    return 0;
}

static int free_runtime(void **state)
{
    free(runtime_path);
    runtime_path = NULL;
    return 0;
}

#define T(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)
#define C(t) cmocka_unit_test_setup_teardown(t, container_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_resolve_user_table),
        T(test_resolve_user_without_passwd_numeric_is_fine),
        T(test_resolve_user_never_reads_through_symlink_out_of_root),
        T(test_resolve_user_directory_passwd_counts_as_missing),
        T(test_find_runtime_honours_kiln_runtime),
        T(test_find_runtime_searches_path_for_crun_then_runc),
        T(test_run_missing_runtime_is_an_error),
        T(test_run_rejects_relative_rootfs_and_empty_command),
        C(test_run_merges_output_and_returns_exit_code),
        C(test_run_sets_env_and_cwd),
        C(test_run_applies_uid_gid_and_groups),
        C(test_run_sandbox_hostname_and_hosts),
        C(test_run_resolv_conf_has_a_nameserver),
        C(test_run_network_none_has_only_loopback),
        C(test_run_host_network_sees_host_interfaces),
        C(test_run_leaves_no_mount_points_in_rootfs),
        C(test_run_keeps_existing_etc_and_created_cwd),
        C(test_run_keeps_etc_created_by_the_process),
        C(test_run_missing_command_is_an_error),
    };
    return cmocka_run_group_tests(tests, find_working_runtime, free_runtime);
}
