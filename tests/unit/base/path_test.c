/* Tests for lexical paths and file access inside a root (src/base/path.c).
 *
 * Every filesystem test runs twice: once through openat2 and once through
 * the component-by-component walk kiln falls back to on older kernels. Each
 * builds its own tree under a fresh mkdtemp directory T:
 *
 *     T/secret          "outside"   what no open through T/root may reach
 *     T/root/           the root the tests open in
 *     T/root/secret     "inside"
 *     T/root/dir/file   "file"
 *     T/root/dir/sub/
 *     + symlinks made by setup() below
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- lexical ---- */

/* Go's own path.Clean table (src/path/path_test.go), plus a few rows. */
static const struct {
    const char *in, *want;
} clean_rows[] = {
    /* already clean */
    {"", "."},
    {"abc", "abc"},
    {"abc/def", "abc/def"},
    {"a/b/c", "a/b/c"},
    {".", "."},
    {"..", ".."},
    {"../..", "../.."},
    {"../../abc", "../../abc"},
    {"/abc", "/abc"},
    {"/", "/"},
    /* remove trailing slash */
    {"abc/", "abc"},
    {"abc/def/", "abc/def"},
    {"a/b/c/", "a/b/c"},
    {"./", "."},
    {"../", ".."},
    {"../../", "../.."},
    {"/abc/", "/abc"},
    /* remove doubled slash */
    {"abc//def//ghi", "abc/def/ghi"},
    {"//abc", "/abc"},
    {"///abc", "/abc"},
    {"//abc//", "/abc"},
    {"abc//", "abc"},
    /* remove . elements */
    {"abc/./def", "abc/def"},
    {"/./abc/def", "/abc/def"},
    {"abc/.", "abc"},
    /* remove .. elements */
    {"abc/def/ghi/../jkl", "abc/def/jkl"},
    {"abc/def/../ghi/../jkl", "abc/jkl"},
    {"abc/def/..", "abc"},
    {"abc/def/../..", "."},
    {"/abc/def/../..", "/"},
    {"abc/def/../../..", ".."},
    {"/abc/def/../../..", "/"},
    {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
    /* combinations */
    {"abc/./../def", "def"},
    {"abc//./../def", "def"},
    {"abc/../../././../def", "../../def"},
    /* kiln's own */
    {"/..", "/"},
    {"/../../etc/passwd", "/etc/passwd"},
    {"...", "..."},
    {"a/.../b", "a/.../b"},
    {"..a/b..", "..a/b.."},
    {".a/./.b/", ".a/.b"},
};

static void test_path_clean_matches_go(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(clean_rows); i++) {
        kn_autofree char *got = kn_path_clean(clean_rows[i].in);
        if (strcmp(got, clean_rows[i].want) != 0)
            fail_msg("clean(\"%s\") = \"%s\", want \"%s\"", clean_rows[i].in, got,
                     clean_rows[i].want);
        /* Clean is idempotent. */
        kn_autofree char *again = kn_path_clean(got);
        if (strcmp(again, got) != 0)
            fail_msg("clean(clean(\"%s\")) = \"%s\"", clean_rows[i].in, again);
    }
}

static void test_path_clean_removes_dotdot(void **state)
{
    kn_autofree char *a = kn_path_clean("/usr/local/../lib/./x/..");
    assert_string_equal(a, "/usr/lib");
    kn_autofree char *b = kn_path_clean("a/b/../../..");
    assert_string_equal(b, "..");
}

static void test_path_join_matches_go(void **state)
{
    /* Go's path.Join table, and an absolute second element. */
    static const struct {
        const char *a, *b, *want;
    } rows[] = {
        {"", "", ""},
        {"a", "", "a"},
        {"a", "b", "a/b"},
        {"", "b", "b"},
        {"/", "a", "/a"},
        {"/", "", "/"},
        {"a/", "b", "a/b"},
        {"a/", "", "a"},
        {"a", "/b", "a/b"},
        {"/a", "/b/", "/a/b"},
        {"/a", "../../b", "/b"},
        {"a", "../..", ".."},
        {"/work", ".", "/work"},
        {"", "/x/../y", "/y"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autofree char *got = kn_path_join(rows[i].a, rows[i].b);
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("join(\"%s\", \"%s\") = \"%s\", want \"%s\"", rows[i].a, rows[i].b, got,
                     rows[i].want);
    }
}

static void test_path_is_within_rejects_escapes(void **state)
{
    static const struct {
        const char *path;
        bool want;
    } rows[] = {
        {"", true},         {".", true},          {"a", true},
        {"a/b/c", true},    {"a/../b", true},     {"a/..", true},
        {"./a/./b/", true}, {"a//b", true},       {"..a", true},
        {"a/..b", true},    {"..", false},        {"../a", false},
        {"a/../..", false}, {"a/../../b", false}, {"../a/..", false},
        {"/a", false},      {"/", false},         {"a/b/../../../c", false},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++)
        if (kn_path_is_within(rows[i].path) != rows[i].want)
            fail_msg("is_within(\"%s\") should be %s", rows[i].path,
                     rows[i].want ? "true" : "false");
}

/* ---- fixture ---- */

typedef struct fixture {
    bool walk;
    char dir[256]; /* T */
    int tfd;       /* T */
    int root;      /* T/root */
} fixture;

static const bool MODE_OPENAT2 = false, MODE_WALK = true;

/* As path.c decides: no openat2 (ENOSYS) or a seccomp filter (EPERM). */
static bool have_openat2(void)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC};
    long fd = syscall(SYS_openat2, -1, "/", &how, sizeof(how));
    if (fd >= 0)
        close((int)fd);
    return fd >= 0 || (errno != ENOSYS && errno != EPERM);
}

static void write_at(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void link_at(int dirfd, const char *name, const char *target)
{
    if (symlinkat(target, dirfd, name) < 0)
        fail_msg("symlink %s -> %s: %s", name, target, strerror(errno));
}

static int setup(void **state)
{
    const bool *walk = *state;
    if (!*walk && !have_openat2()) {
        *state = NULL; /* the kernel has no openat2: only the walk can be tested */
        return 0;
    }
    fixture *f = kn_xcalloc(1, sizeof(*f));
    f->walk = *walk;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/kn-path-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->tfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->tfd >= 0);
    write_at(f->tfd, "secret", "outside\n");
    assert_int_equal(mkdirat(f->tfd, "root", 0755), 0);
    f->root = openat(f->tfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->root >= 0);
    write_at(f->root, "secret", "inside\n");
    assert_int_equal(mkdirat(f->root, "dir", 0755), 0);
    assert_int_equal(mkdirat(f->root, "dir/sub", 0755), 0);
    write_at(f->root, "dir/file", "file\n");

    char host_secret[300];
    snprintf(host_secret, sizeof(host_secret), "%s/secret", f->dir);
    link_at(f->root, "abs", "/secret");               /* absolute: means root/secret */
    link_at(f->root, "abs_host", host_secret);        /* T/secret on the host: not reachable */
    link_at(f->root, "hostdir", f->dir);              /* T on the host, as a directory */
    link_at(f->root, "dotdot", "../../../../secret"); /* ../ chain, clamped */
    link_at(f->root, "up", "../..");                  /* a directory above the root */
    link_at(f->root, "dir/uplink", "../../..");       /* the same, one level down */
    link_at(f->root, "dir/rel", "file");              /* plain relative link */
    link_at(f->root, "dir/abslink", "/dir/sub/../../secret"); /* absolute, from below */
    link_at(f->root, "chain", "dir/uplink/dotdot");           /* links through links */
    link_at(f->root, "loop1", "loop2");
    link_at(f->root, "loop2", "loop1");
    link_at(f->root, "self", "self");
    link_at(f->root, "dangling", "../../made"); /* creating through it stays inside */
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    kn_path_force_walk(false);
    close(f->root);
    close(f->tfd);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The test's fixture; skips the test when setup found no openat2 to test. */
static fixture *fixture_of(void **state)
{
    if (!*state)
        skip();
    return *state;
}

static int open_in(const fixture *f, const char *path, int flags, kn_err *err)
{
    kn_path_force_walk(f->walk);
    return kn_openat_in_root(f->root, path, flags, 0644, err);
}

/* The contents of the file open at fd (at most 255 bytes). */
static const char *contents(int fd)
{
    static char text[256];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* Open path expecting success, and check what was opened. */
static void expect_text(const fixture *f, const char *path, const char *want)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = open_in(f, path, O_RDONLY, &err);
    if (fd < 0)
        fail_msg("[%s] open %s: %s", f->walk ? "walk" : "openat2", path, err.msg);
    const char *got = contents(fd);
    if (strcmp(got, want) != 0)
        fail_msg("[%s] open %s read \"%s\", want \"%s\"", f->walk ? "walk" : "openat2", path, got,
                 want);
}

static void expect_errno(const fixture *f, const char *path, int flags, int want)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = open_in(f, path, flags, &err);
    if (fd >= 0)
        fail_msg("[%s] open %s succeeded (read \"%s\"), want %s", f->walk ? "walk" : "openat2",
                 path, contents(fd), strerror(want));
    if (err.code != want)
        fail_msg("[%s] open %s: %s, want %s", f->walk ? "walk" : "openat2", path, err.msg,
                 strerror(want));
    assert_non_null(strstr(err.msg, path));
}

static bool same_file(int fd, int dirfd, const char *name)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool exists_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- kn_openat_in_root ---- */

static void test_openat_in_root_opens_files_below_the_root(void **state)
{
    fixture *f = fixture_of(state);
    expect_text(f, "dir/file", "file\n");
    expect_text(f, "/dir/file", "file\n");
    expect_text(f, "./dir//sub/../file", "file\n");
    expect_text(f, "secret", "inside\n");
}

static void test_openat_in_root_clamps_dotdot_at_the_root(void **state)
{
    fixture *f = fixture_of(state);
    expect_text(f, "../secret", "inside\n");
    expect_text(f, "../../../../secret", "inside\n");
    expect_text(f, "/../secret", "inside\n");
    expect_text(f, "dir/../../secret", "inside\n");
    expect_text(f, "dir/sub/../../../../secret", "inside\n");
}

static void test_openat_in_root_resolves_absolute_symlink_inside_root(void **state)
{
    fixture *f = fixture_of(state);
    expect_text(f, "abs", "inside\n");
    expect_text(f, "dir/abslink", "inside\n");
    expect_text(f, "dir/sub/../abslink", "inside\n");
    expect_errno(f, "abs_host", O_RDONLY, ENOENT); /* T/secret is not under the root */
    expect_errno(f, "hostdir/secret", O_RDONLY, ENOENT);
}

static void test_openat_in_root_clamps_symlink_escape(void **state)
{
    fixture *f = fixture_of(state);
    expect_text(f, "dotdot", "inside\n");
    expect_text(f, "up/secret", "inside\n");
    expect_text(f, "up/up/up/dir/file", "file\n");
}

static void test_openat_in_root_clamps_symlink_in_middle_component(void **state)
{
    fixture *f = fixture_of(state);
    expect_text(f, "dir/uplink/secret", "inside\n");
    expect_text(f, "dir/uplink/dir/uplink/../secret", "inside\n");
    expect_text(f, "chain", "inside\n"); /* chain -> dir/uplink/dotdot -> ... */
    expect_text(f, "dir/rel", "file\n");
    expect_text(f, "up/dir/rel", "file\n");
}

static void test_openat_in_root_reports_symlink_loops(void **state)
{
    fixture *f = fixture_of(state);
    expect_errno(f, "loop1", O_RDONLY, ELOOP);
    expect_errno(f, "self", O_RDONLY, ELOOP);
    expect_errno(f, "self/x", O_RDONLY, ELOOP);
    expect_errno(f, "dir/../loop2/x", O_RDONLY, ELOOP);
}

static void test_openat_in_root_nofollow_refuses_final_symlink(void **state)
{
    fixture *f = fixture_of(state);
    expect_errno(f, "abs", O_RDONLY | O_NOFOLLOW, ELOOP);
    /* O_PATH | O_NOFOLLOW opens the link itself. */
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = open_in(f, "abs", O_PATH | O_NOFOLLOW, &err);
    assert_true(fd >= 0);
    assert_true(same_file(fd, f->root, "abs"));
    /* Without O_NOFOLLOW, O_PATH follows it (inside the root). */
    kn_autoclose int target = open_in(f, "dotdot", O_PATH, &err);
    assert_true(target >= 0);
    assert_true(same_file(target, f->root, "secret"));
}

static void test_openat_in_root_creates_through_dangling_symlink_inside_root(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int fd = open_in(f, "dangling", O_WRONLY | O_CREAT, &err);
    if (fd < 0)
        fail_msg("create through dangling: %s", err.msg);
    assert_true(exists_at(f->root, "made"));
    assert_false(exists_at(f->tfd, "made"));
    /* O_EXCL never follows the last component. */
    expect_errno(f, "abs", O_WRONLY | O_CREAT | O_EXCL, EEXIST);
}

static void test_openat_in_root_opens_the_root_itself(void **state)
{
    fixture *f = fixture_of(state);
    static const char *const paths[] = {"/", ".", "..", "dir/..", "up", "dir/uplink/", "//"};
    for (size_t i = 0; i < KN_ARRAY_LEN(paths); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_autoclose int fd = open_in(f, paths[i], O_RDONLY | O_DIRECTORY, &err);
        if (fd < 0)
            fail_msg("open %s: %s", paths[i], err.msg);
        struct stat a, b;
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(fstat(f->root, &b), 0);
        if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
            fail_msg("%s did not open the root", paths[i]);
    }
}

static void test_openat_in_root_reports_missing_and_not_directory(void **state)
{
    fixture *f = fixture_of(state);
    expect_errno(f, "nope", O_RDONLY, ENOENT);
    expect_errno(f, "dir/nope/x", O_RDONLY, ENOENT);
    expect_errno(f, "", O_RDONLY, ENOENT);
    expect_errno(f, "dir/file/x", O_RDONLY, ENOTDIR);
    expect_errno(f, "dir/file/", O_RDONLY, ENOTDIR);
    expect_errno(f, "dir/file", O_RDONLY | O_DIRECTORY, ENOTDIR);
    expect_errno(f, "dir/rel", O_RDONLY | O_DIRECTORY, ENOTDIR);
}

static void test_openat_in_root_sets_cloexec(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autoclose int a = open_in(f, "dir/file", O_RDONLY, &err);
    kn_autoclose int b = open_in(f, "dir/rel", O_RDONLY, &err);
    assert_true(a >= 0 && b >= 0);
    assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(b, F_GETFD) & FD_CLOEXEC);
}

/* ---- kn_mkdirat_p ---- */

static int mkdir_p(const fixture *f, const char *path, kn_err *err)
{
    kn_path_force_walk(f->walk);
    return kn_mkdirat_p(f->root, path, 0755, err);
}

static bool is_dir_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdirat_p_creates_every_missing_component(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(mkdir_p(f, "a/b/c", &err), 0);
    assert_true(is_dir_at(f->root, "a/b/c"));
    assert_int_equal(mkdir_p(f, "/a/./b//d/", &err), 0);
    assert_true(is_dir_at(f->root, "a/b/d"));
    assert_int_equal(mkdir_p(f, "x/../y", &err), 0);
    assert_true(is_dir_at(f->root, "x"));
    assert_true(is_dir_at(f->root, "y"));
}

static void test_mkdirat_p_succeeds_when_directory_exists(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(mkdir_p(f, "dir/sub", &err), 0);
    assert_int_equal(mkdir_p(f, "/", &err), 0);
    assert_int_equal(mkdir_p(f, "up", &err), 0); /* a symlink to a directory */
}

static void test_mkdirat_p_fails_when_a_file_is_in_the_way(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(mkdir_p(f, "dir/file/x", &err), -1);
    assert_int_equal(err.code, ENOTDIR);
    assert_non_null(strstr(err.msg, "dir/file"));
    kn_err_clear(&err);
    assert_int_equal(mkdir_p(f, "dir/file", &err), -1);
    assert_int_equal(err.code, ENOTDIR);
}

static void test_mkdirat_p_keeps_symlinked_components_inside_root(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(mkdir_p(f, "up/newdir", &err), 0);
    assert_true(is_dir_at(f->root, "newdir"));
    assert_false(exists_at(f->tfd, "newdir"));
    assert_int_equal(mkdir_p(f, "dir/uplink/p/q", &err), 0);
    assert_true(is_dir_at(f->root, "p/q"));
    assert_false(exists_at(f->tfd, "p"));
}

static void test_mkdirat_p_does_not_create_on_the_host_through_absolute_symlink(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    /* hostdir points at T as seen from the host: inside the root that path
     * does not exist, and nothing may appear in the real T. */
    assert_int_equal(mkdir_p(f, "hostdir/evil", &err), -1);
    assert_int_equal(err.code, ENOENT);
    assert_false(exists_at(f->tfd, "evil"));
}

/* ---- kn_read_fileat ---- */

static int read_file(const fixture *f, const char *path, size_t max, kn_buf *out, kn_err *err)
{
    kn_path_force_walk(f->walk);
    return kn_read_fileat(f->root, path, max, out, err);
}

static void test_read_fileat_appends_the_file(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "> ");
    assert_int_equal(read_file(f, "dir/file", 1024, &b, &err), 0);
    assert_string_equal(b.data, "> file\n");
    assert_int_equal(b.len, 7);
}

static void test_read_fileat_follows_symlinks_inside_root_only(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    assert_int_equal(read_file(f, "dotdot", 1024, &b, &err), 0);
    assert_string_equal(b.data, "inside\n");
    assert_int_equal(read_file(f, "abs_host", 1024, &b, &err), -1);
    assert_int_equal(err.code, ENOENT);
    assert_string_equal(b.data, "inside\n");
}

static void test_read_fileat_fails_past_max_size(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "keep");
    assert_int_equal(read_file(f, "secret", 6, &b, &err), -1); /* "inside\n" is 7 bytes */
    assert_int_equal(err.code, EFBIG);
    assert_string_equal(b.data, "keep");
    kn_err_clear(&err);
    assert_int_equal(read_file(f, "secret", 7, &b, &err), 0);
    assert_string_equal(b.data, "keepinside\n");
}

static void test_read_fileat_reads_large_and_empty_files(void **state)
{
    fixture *f = fixture_of(state);
    enum { SIZE = 300 * 1024 + 17 };
    char *big = kn_xmalloc(SIZE + 1);
    for (size_t i = 0; i < SIZE; i++)
        big[i] = (char)('a' + i % 23);
    big[SIZE] = '\0';
    write_at(f->root, "big", big);
    write_at(f->root, "empty", "");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    assert_int_equal(read_file(f, "big", SIZE, &b, &err), 0);
    assert_int_equal(b.len, SIZE);
    assert_memory_equal(b.data, big, SIZE);
    kn_buf_reset(&b);
    assert_int_equal(read_file(f, "big", SIZE - 1, &b, &err), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(read_file(f, "empty", 0, &b, &err), 0);
    assert_int_equal(b.len, 0);
    free(big);
}

static void test_read_fileat_rejects_directories_and_fifos(void **state)
{
    fixture *f = fixture_of(state);
    assert_int_equal(mkfifoat(f->root, "fifo", 0644), 0);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    assert_int_equal(read_file(f, "fifo", 1024, &b, &err), -1); /* and does not block */
    assert_int_equal(err.code, EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    kn_err_clear(&err);
    assert_int_equal(read_file(f, "dir", 1024, &b, &err), -1);
    assert_int_equal(err.code, EINVAL);
}

/* ---- kn_write_file_atomic ---- */

static int write_file(const fixture *f, const char *name, const char *text, mode_t mode,
                      kn_err *err)
{
    kn_path_force_walk(f->walk);
    return kn_write_file_atomic(f->root, name, text, strlen(text), mode, err);
}

static const char *read_text_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return "(missing)";
    const char *text = contents(fd);
    close(fd);
    return text;
}

static bool has_temp_files(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(fd);
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        found |= strncmp(e->d_name, ".kn-tmp", 7) == 0;
    closedir(d);
    return found;
}

static void test_write_file_atomic_creates_with_exact_mode(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    mode_t old = umask(022);
    assert_int_equal(write_file(f, "dir/new", "hello", 0666, &err), 0);
    umask(old);
    assert_string_equal(read_text_at(f->root, "dir/new"), "hello");
    struct stat st;
    assert_int_equal(fstatat(f->root, "dir/new", &st, 0), 0);
    assert_int_equal(st.st_mode & 07777, 0666);
    assert_true(S_ISREG(st.st_mode));
}

static void test_write_file_atomic_replaces_and_leaves_no_temp_file(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(write_file(f, "dir/file", "replaced", 0600, &err), 0);
    assert_string_equal(read_text_at(f->root, "dir/file"), "replaced");
    assert_int_equal(write_file(f, "/dir/file", "", 0600, &err), 0);
    assert_string_equal(read_text_at(f->root, "dir/file"), "");
    assert_false(has_temp_files(f->root));
    int dfd = openat(f->root, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_false(has_temp_files(dfd));
    close(dfd);
}

static void test_write_file_atomic_replaces_a_symlink_instead_of_following_it(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(write_file(f, "dotdot", "new", 0644, &err), 0);
    struct stat st;
    assert_int_equal(fstatat(f->root, "dotdot", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(read_text_at(f->root, "dotdot"), "new");
    assert_string_equal(read_text_at(f->root, "secret"), "inside\n");
    assert_string_equal(read_text_at(f->tfd, "secret"), "outside\n");
}

static void test_write_file_atomic_resolves_the_directory_inside_root(void **state)
{
    fixture *f = fixture_of(state);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(write_file(f, "up/written", "x", 0644, &err), 0);
    assert_string_equal(read_text_at(f->root, "written"), "x");
    assert_false(exists_at(f->tfd, "written"));
    assert_int_equal(write_file(f, "hostdir/written", "x", 0644, &err), -1);
    assert_int_equal(err.code, ENOENT);
    assert_false(exists_at(f->tfd, "written"));
}

static void test_write_file_atomic_rejects_names_that_are_not_files(void **state)
{
    fixture *f = fixture_of(state);
    static const char *const names[] = {"", "dir/", "..", "dir/.", "/"};
    for (size_t i = 0; i < KN_ARRAY_LEN(names); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (write_file(f, names[i], "x", 0644, &err) != -1 || err.code != EINVAL)
            fail_msg("write \"%s\" should fail with EINVAL", names[i]);
    }
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(write_file(f, "nodir/x", "x", 0644, &err), -1);
    assert_int_equal(err.code, ENOENT);
    assert_int_equal(write_file(f, "dir/sub", "x", 0644, &err), -1); /* a directory */
    assert_true(is_dir_at(f->root, "dir/sub"));
    int dfd = openat(f->root, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_false(has_temp_files(dfd)); /* the failed rename cleaned up */
    close(dfd);
}

/* Register a filesystem test for both resolution paths. */
#define BOTH(t)                                                                                    \
    {#t " [openat2]", t, setup, teardown, (void *)&MODE_OPENAT2},                                  \
    {                                                                                              \
#t " [walk]", t, setup, teardown, (void *)&MODE_WALK                                       \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_clean_matches_go),
        cmocka_unit_test(test_path_clean_removes_dotdot),
        cmocka_unit_test(test_path_join_matches_go),
        cmocka_unit_test(test_path_is_within_rejects_escapes),
        BOTH(test_openat_in_root_opens_files_below_the_root),
        BOTH(test_openat_in_root_clamps_dotdot_at_the_root),
        BOTH(test_openat_in_root_resolves_absolute_symlink_inside_root),
        BOTH(test_openat_in_root_clamps_symlink_escape),
        BOTH(test_openat_in_root_clamps_symlink_in_middle_component),
        BOTH(test_openat_in_root_reports_symlink_loops),
        BOTH(test_openat_in_root_nofollow_refuses_final_symlink),
        BOTH(test_openat_in_root_creates_through_dangling_symlink_inside_root),
        BOTH(test_openat_in_root_opens_the_root_itself),
        BOTH(test_openat_in_root_reports_missing_and_not_directory),
        BOTH(test_openat_in_root_sets_cloexec),
        BOTH(test_mkdirat_p_creates_every_missing_component),
        BOTH(test_mkdirat_p_succeeds_when_directory_exists),
        BOTH(test_mkdirat_p_fails_when_a_file_is_in_the_way),
        BOTH(test_mkdirat_p_keeps_symlinked_components_inside_root),
        BOTH(test_mkdirat_p_does_not_create_on_the_host_through_absolute_symlink),
        BOTH(test_read_fileat_appends_the_file),
        BOTH(test_read_fileat_follows_symlinks_inside_root_only),
        BOTH(test_read_fileat_fails_past_max_size),
        BOTH(test_read_fileat_reads_large_and_empty_files),
        BOTH(test_read_fileat_rejects_directories_and_fifos),
        BOTH(test_write_file_atomic_creates_with_exact_mode),
        BOTH(test_write_file_atomic_replaces_and_leaves_no_temp_file),
        BOTH(test_write_file_atomic_replaces_a_symlink_instead_of_following_it),
        BOTH(test_write_file_atomic_resolves_the_directory_inside_root),
        BOTH(test_write_file_atomic_rejects_names_that_are_not_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
