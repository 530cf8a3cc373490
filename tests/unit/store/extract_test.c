/* Tests for safe layer extraction (src/store/extract.c).
 *
 * Each test builds its archive in memory with libarchive's writer, hostile
 * ones included, and extracts it into T/root of a fresh mkdtemp directory T:
 *
 *     T/outside/secret   "outside"   what no entry may reach or change
 *     T/root/            the layer directory
 *
 * Names are made relative as tar makes them ("/etc/x" lands in root/etc/x);
 * a ".." that climbs above the layer, a symlink among an entry's parents and
 * a hardlink target outside are refused. The escape tests run twice: through
 * openat2 and through the component walk kiln falls back to, although
 * extraction opens every parent with O_NOFOLLOW itself and must behave the
 * same either way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/fs.h"
#include "base/mem.h"
#include "base/path.h"
#include "store/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- building archives ---- */

typedef struct tar_builder {
    struct archive *a;
    char *data;
    size_t cap, len;
} tar_builder;

static void tar_begin(tar_builder *t)
{
    t->cap = 8 << 20;
    t->data = kn_xmalloc(t->cap);
    t->len = 0;
    t->a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(t->a, t->data, t->cap, &t->len), ARCHIVE_OK);
}

static void tar_end(tar_builder *t)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
    t->a = NULL;
}

static void tar_free(tar_builder *t)
{
    if (t->a)
        archive_write_free(t->a);
    free(t->data);
}

#define kn_autotar __attribute__((cleanup(tar_free)))

static struct archive_entry *new_entry(const char *name, mode_t type, mode_t perm)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, 1000000000, 0);
    return e;
}

/* Write e (freed) with `len` bytes of data. */
static void put(tar_builder *t, struct archive_entry *e, const void *data, size_t len)
{
    if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
        archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    if (len)
        assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

static void add_file(tar_builder *t, const char *name, const char *text)
{
    put(t, new_entry(name, AE_IFREG, 0644), text, strlen(text));
}

static void add_dir(tar_builder *t, const char *name)
{
    put(t, new_entry(name, AE_IFDIR, 0755), NULL, 0);
}

static void add_symlink(tar_builder *t, const char *name, const char *target)
{
    struct archive_entry *e = new_entry(name, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target);
    put(t, e, NULL, 0);
}

static void add_hardlink(tar_builder *t, const char *name, const char *target)
{
    struct archive_entry *e = new_entry(name, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target);
    put(t, e, NULL, 0);
}

static void add_node(tar_builder *t, const char *name, mode_t type, dev_t dev)
{
    struct archive_entry *e = new_entry(name, type, 0640);
    archive_entry_set_rdev(e, dev);
    put(t, e, NULL, 0);
}

/* ---- reading them back ---- */

typedef struct mem_reader {
    const char *data;
    size_t len, pos, chunk;
} mem_reader;

/* Hands out odd-sized pieces, so entries straddle reads. */
static ssize_t read_mem(void *ctx, void *buf, size_t len, kn_err *err)
{
    mem_reader *r = ctx;
    size_t n = r->len - r->pos;
    if (n > len)
        n = len;
    if (n > r->chunk)
        n = r->chunk;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return (ssize_t)n;
}

static ssize_t read_fails(void *ctx, void *buf, size_t len, kn_err *err)
{
    return kn_errf(err, EIO, "registry went away");
}

typedef struct fixture {
    char dir[256];
    int tfd, root, outside;
    bool walk;
} fixture;

static int extract_opts(fixture *f, const tar_builder *t, const kn_extract_opts *opts,
                        kn_extract_stats *stats, kn_err *err)
{
    mem_reader r = {t->data, t->len, 0, 7777};
    return kn_extract_tar(f->root, read_mem, &r, opts, stats, err);
}

static int extract(fixture *f, const tar_builder *t, kn_err *err)
{
    kn_extract_opts opts = {.as_root = geteuid() == 0};
    return extract_opts(f, t, &opts, NULL, err);
}

/* ---- fixture ---- */

static const bool MODE_OPENAT2 = false, MODE_WALK = true;

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

/* The contents of name in dirfd (not following a final symlink), or NULL. */
static char *read_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = kn_xcalloc(1, 1 << 16);
    ssize_t n = read(fd, buf, (1 << 16) - 1);
    close(fd);
    assert_true(n >= 0);
    return buf;
}

static bool exists_at(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static mode_t type_at(int dirfd, const char *name)
{
    struct stat st;
    assert_int_equal(fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
    return st.st_mode & S_IFMT;
}

/* The outside directory holds only "secret", still saying "outside". */
static void assert_outside_untouched(fixture *f)
{
    kn_autofree char *secret = read_at(f->outside, "secret");
    assert_non_null(secret);
    assert_string_equal(secret, "outside");
    struct stat st;
    assert_int_equal(fstatat(f->outside, "secret", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_nlink, 1);
    assert_false(exists_at(f->outside, "f"));
    assert_false(exists_at(f->tfd, "x"));
    assert_false(exists_at(f->tfd, "f"));
}

static void assert_err_contains(const kn_err *err, const char *want)
{
    if (!err->msg || !strstr(err->msg, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err->msg ? err->msg : "(none)", want);
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
    snprintf(f->dir, sizeof(f->dir), "%s/kn-extract-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->tfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->tfd >= 0);
    assert_int_equal(mkdirat(f->tfd, "outside", 0755), 0);
    assert_int_equal(mkdirat(f->tfd, "root", 0755), 0);
    f->outside = openat(f->tfd, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->root = openat(f->tfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->outside >= 0 && f->root >= 0);
    write_at(f->outside, "secret", "outside");
    kn_path_force_walk(f->walk);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kn_path_force_walk(false);
    if (!f)
        return 0;
    close(f->root);
    close(f->outside);
    close(f->tfd);
    kn_autoerr kn_err err = KN_ERR_INIT;
    int tmp = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(kn_remove_tree(tmp, f->dir + 1, &err), 0);
    close(tmp);
    free(f);
    return 0;
}

#define FIXTURE()                                                                                  \
    fixture *f = *state;                                                                           \
    if (!f)                                                                                        \
    skip()

#define NEED_ROOT()                                                                                \
    if (geteuid() != 0)                                                                            \
    skip()

/* ---- plain extraction ---- */

static void test_extract_writes_files_dirs_and_symlinks(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_dir(&t, "./");
    add_dir(&t, "./etc/");
    add_file(&t, "./etc/hostname", "kiln\n");
    add_symlink(&t, "./etc/localtime", "/usr/share/zoneinfo/UTC");
    add_file(&t, "usr/bin/tool", "#!/bin/sh\n"); /* parents not listed: made */
    tar_end(&t);

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_stats stats;
    kn_extract_opts opts = {0};
    assert_int_equal(extract_opts(f, &t, &opts, &stats, &err), 0);
    assert_int_equal(stats.n_entries, 5);
    assert_int_equal(stats.n_bytes, strlen("kiln\n") + strlen("#!/bin/sh\n"));
    kn_autofree char *hostname = read_at(f->root, "etc/hostname");
    assert_string_equal(hostname, "kiln\n");
    char target[256] = {0};
    assert_true(readlinkat(f->root, "etc/localtime", target, sizeof(target) - 1) > 0);
    assert_string_equal(target, "/usr/share/zoneinfo/UTC");
    assert_int_equal(type_at(f->root, "usr/bin"), S_IFDIR);
    kn_autofree char *tool = read_at(f->root, "usr/bin/tool");
    assert_string_equal(tool, "#!/bin/sh\n");
}

static void test_extract_accepts_an_empty_stream(void **state)
{
    FIXTURE();
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_stats stats = {1, 1};
    mem_reader r = {"", 0, 0, 1};
    assert_int_equal(kn_extract_tar(f->root, read_mem, &r, NULL, &stats, &err), 0);
    assert_int_equal(stats.n_entries, 0);
    assert_int_equal(stats.n_bytes, 0);
}

static void test_extract_rejects_truncated_archive(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    char big[4096];
    memset(big, 'z', sizeof(big));
    put(&t, new_entry("big", AE_IFREG, 0644), big, sizeof(big));
    tar_end(&t);
    t.len = 512 + 1000; /* the header and part of the data */
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), -1);
    assert_err_contains(&err, "big");
}

static void test_extract_reports_read_errors(void **state)
{
    FIXTURE();
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_extract_tar(f->root, read_fails, NULL, NULL, NULL, &err), -1);
    assert_err_contains(&err, "registry went away");
}

/* ---- escapes ---- */

static void test_extract_rejects_dotdot_escape(void **state)
{
    FIXTURE();
    static const char *const names[] = {"../x", "a/../../x", "./../x", "/../x", "..", "a/../.."};
    for (size_t i = 0; i < KN_ARRAY_LEN(names); i++) {
        kn_autotar tar_builder t;
        tar_begin(&t);
        add_file(&t, names[i], "escaped");
        tar_end(&t);
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (extract(f, &t, &err) != -1)
            fail_msg("entry %s was extracted", names[i]);
        char want[64];
        snprintf(want, sizeof(want), "entry %s: escapes the layer", names[i]);
        assert_string_equal(err.msg, want);
        assert_int_equal(err.code, KN_ECORRUPT);
        assert_outside_untouched(f);
    }
}

static void test_extract_keeps_dotdot_that_stays_inside(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_file(&t, "a/../b", "b");
    add_file(&t, "c/./d/../e", "e");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    kn_autofree char *b = read_at(f->root, "b");
    kn_autofree char *e = read_at(f->root, "c/e");
    assert_string_equal(b, "b");
    assert_string_equal(e, "e");
    assert_false(exists_at(f->root, "a"));
}

static void test_extract_makes_absolute_names_relative(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    char host_path[512];
    snprintf(host_path, sizeof(host_path), "%s/outside/f", f->dir);
    add_file(&t, host_path, "confined");
    add_file(&t, "//etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    kn_autofree char *confined = read_at(f->root, host_path + 1);
    assert_string_equal(confined, "confined");
    kn_autofree char *passwd = read_at(f->root, "etc/passwd");
    assert_string_equal(passwd, "root:x:0:0::/root:/bin/sh\n");
    assert_outside_untouched(f);
}

static void test_extract_refuses_entry_through_symlink_parent(void **state)
{
    FIXTURE();
    char host_outside[512];
    snprintf(host_outside, sizeof(host_outside), "%s/outside", f->dir);
    const char *targets[] = {host_outside, "..", "../outside", "/", "."};
    for (size_t i = 0; i < KN_ARRAY_LEN(targets); i++) {
        kn_autotar tar_builder t;
        tar_begin(&t);
        add_dir(&t, "d/");
        add_symlink(&t, "d/l", targets[i]);
        add_file(&t, "d/l/f", "escaped");
        tar_end(&t);
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (extract(f, &t, &err) != -1)
            fail_msg("wrote through symlink to %s", targets[i]);
        assert_string_equal(err.msg, "entry d/l/f: d/l is a symlink, not followed");
        assert_outside_untouched(f);
        assert_false(exists_at(f->root, "d/f"));
        assert_false(exists_at(f->root, "f"));
        assert_int_equal(type_at(f->root, "d/l"), S_IFLNK);
        assert_int_equal(unlinkat(f->root, "d/l", 0), 0);
    }
}

static void test_extract_refuses_entry_below_a_file(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_file(&t, "f", "file");
    add_file(&t, "f/g", "below");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), -1);
    assert_string_equal(err.msg, "entry f/g: f is not a directory");
}

static void test_extract_refuses_hardlink_outside(void **state)
{
    FIXTURE();
    static const char *const targets[] = {"../../etc/passwd", "../outside/secret", "a/../../x"};
    for (size_t i = 0; i < KN_ARRAY_LEN(targets); i++) {
        kn_autotar tar_builder t;
        tar_begin(&t);
        add_hardlink(&t, "h", targets[i]);
        tar_end(&t);
        kn_autoerr kn_err err = KN_ERR_INIT;
        assert_int_equal(extract(f, &t, &err), -1);
        char want[128];
        snprintf(want, sizeof(want), "entry h: link target %s escapes the layer", targets[i]);
        assert_string_equal(err.msg, want);
        assert_false(exists_at(f->root, "h"));
        assert_outside_untouched(f);
    }
    /* An absolute target is a name in the layer: here, one that is missing. */
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_hardlink(&t, "h", "/etc/passwd");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    struct stat before, after;
    assert_int_equal(stat("/etc/passwd", &before), 0);
    assert_int_equal(extract(f, &t, &err), -1);
    assert_int_equal(err.code, ENOENT);
    assert_int_equal(stat("/etc/passwd", &after), 0);
    assert_int_equal(before.st_nlink, after.st_nlink);
    assert_false(exists_at(f->root, "h"));
}

static void test_extract_refuses_hardlink_through_symlink(void **state)
{
    FIXTURE();
    char host_outside[512];
    snprintf(host_outside, sizeof(host_outside), "%s/outside", f->dir);
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_symlink(&t, "l", host_outside);
    add_hardlink(&t, "h", "l/secret");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), -1);
    assert_string_equal(err.msg, "entry h: l is a symlink, not followed");
    assert_false(exists_at(f->root, "h"));
    assert_outside_untouched(f);
}

static void test_extract_hardlink_to_symlink_links_the_symlink(void **state)
{
    FIXTURE();
    char host_secret[512];
    snprintf(host_secret, sizeof(host_secret), "%s/outside/secret", f->dir);
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_symlink(&t, "s", host_secret);
    add_hardlink(&t, "h", "s");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    struct stat s, h;
    assert_int_equal(fstatat(f->root, "s", &s, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(fstatat(f->root, "h", &h, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISLNK(h.st_mode));
    assert_int_equal(s.st_ino, h.st_ino);
    assert_outside_untouched(f);
}

static void test_extract_replaces_symlink_with_directory(void **state)
{
    FIXTURE();
    char host_outside[512];
    snprintf(host_outside, sizeof(host_outside), "%s/outside", f->dir);
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_symlink(&t, "d", host_outside);
    add_dir(&t, "d/");
    add_file(&t, "d/f", "inside");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    assert_int_equal(type_at(f->root, "d"), S_IFDIR);
    kn_autofree char *inside = read_at(f->root, "d/f");
    assert_string_equal(inside, "inside");
    assert_outside_untouched(f);
}

static void test_extract_file_replaces_symlink_without_writing_through(void **state)
{
    FIXTURE();
    char host_secret[512];
    snprintf(host_secret, sizeof(host_secret), "%s/outside/secret", f->dir);
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_symlink(&t, "f", host_secret);
    add_file(&t, "f", "replaced");
    add_symlink(&t, "n", host_secret);
    add_node(&t, "n", AE_IFIFO, 0);
    add_symlink(&t, "l", host_secret);
    add_symlink(&t, "l", "elsewhere");
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    assert_int_equal(type_at(f->root, "f"), S_IFREG);
    kn_autofree char *text = read_at(f->root, "f");
    assert_string_equal(text, "replaced");
    assert_int_equal(type_at(f->root, "n"), S_IFIFO);
    char target[64] = {0};
    assert_true(readlinkat(f->root, "l", target, sizeof(target) - 1) > 0);
    assert_string_equal(target, "elsewhere");
    assert_outside_untouched(f);
}

static void test_extract_file_replaces_directory(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_dir(&t, "x/");
    add_file(&t, "x/y", "below");
    add_file(&t, "x", "a file now");
    add_dir(&t, "z/");
    add_dir(&t, "z/"); /* an existing directory is kept, with its contents */
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    kn_autofree char *text = read_at(f->root, "x");
    assert_string_equal(text, "a file now");
    assert_int_equal(type_at(f->root, "z"), S_IFDIR);
}

static void test_extract_refuses_bad_names(void **state)
{
    FIXTURE();
    static const struct {
        const char *name;
        const char *want;
    } rows[] = {
        {".", "entry .: names the layer root"},
        {"a/..", "entry a/..: names the layer root"},
        {".wh..", "entry .wh..: whiteout hides no name"},
        {"d/.wh.", "entry d/.wh.: whiteout hides no name"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autotar tar_builder t;
        tar_begin(&t);
        add_file(&t, rows[i].name, "x");
        tar_end(&t);
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (extract(f, &t, &err) != -1)
            fail_msg("entry %s was extracted", rows[i].name);
        assert_string_equal(err.msg, rows[i].want);
    }
}

/* ---- whiteouts ---- */

static void test_extract_turns_whiteouts_into_overlay_whiteouts(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_file(&t, ".wh.gone", "");
    add_dir(&t, "dir/");
    add_file(&t, "dir/.wh.sub", "");
    add_file(&t, "dir/kept", "kept");
    add_file(&t, "dir/.wh.kept", ""); /* hides what this layer put there too */
    add_file(&t, ".wh..wh.plnk", ""); /* aufs bookkeeping: ignored */
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    static const char *const hidden[] = {"gone", "dir/sub", "dir/kept"};
    for (size_t i = 0; i < KN_ARRAY_LEN(hidden); i++) {
        struct stat st;
        assert_int_equal(fstatat(f->root, hidden[i], &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
    }
    assert_false(exists_at(f->root, ".wh.gone"));
    assert_false(exists_at(f->root, "dir/.wh.sub"));
    assert_false(exists_at(f->root, ".wh..wh.plnk"));
    assert_false(exists_at(f->root, "plnk"));
}

static void test_extract_marks_opaque_directories(void **state)
{
    FIXTURE();
    NEED_ROOT(); /* trusted.* xattrs */
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_dir(&t, "dir/");
    add_file(&t, "dir/.wh..wh..opq", "");
    add_file(&t, "dir/new", "new");
    add_file(&t, "implied/.wh..wh..opq", ""); /* its directory is not listed */
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    static const char *const dirs[] = {"dir", "implied"};
    for (size_t i = 0; i < KN_ARRAY_LEN(dirs); i++) {
        int fd = openat(f->root, dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        char value[8] = {0};
        assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", value, sizeof(value)), 1);
        assert_string_equal(value, "y");
        close(fd);
    }
    assert_false(exists_at(f->root, "dir/.wh..wh..opq"));
    kn_autofree char *text = read_at(f->root, "dir/new");
    assert_string_equal(text, "new");
}

static void test_extract_ignores_overlay_xattrs_from_the_archive(void **state)
{
    FIXTURE();
    NEED_ROOT();
    kn_autotar tar_builder t;
    tar_begin(&t);
    struct archive_entry *e = new_entry("dir", AE_IFDIR, 0755);
    archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
    archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4);
    put(&t, e, NULL, 0);
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    int fd = openat(f->root, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    char value[8];
    assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", value, sizeof(value)), -1);
    assert_int_equal(fgetxattr(fd, "trusted.overlay.redirect", value, sizeof(value)), -1);
    close(fd);
}

/* ---- metadata ---- */

static void test_extract_keeps_owner_mode_mtime_and_xattrs(void **state)
{
    FIXTURE();
    bool is_root = geteuid() == 0;
    kn_autotar tar_builder t;
    tar_begin(&t);
    struct archive_entry *e = new_entry("dir", AE_IFDIR, 0750);
    archive_entry_set_mtime(e, 1500000000, 0);
    archive_entry_set_uid(e, 1001);
    archive_entry_set_gid(e, 1002);
    put(&t, e, NULL, 0);
    e = new_entry("dir/tool", AE_IFREG, 04755);
    archive_entry_set_uid(e, 1234);
    archive_entry_set_gid(e, 5678);
    archive_entry_set_mtime(e, 1234567890, 500000000);
    archive_entry_xattr_add_entry(e, "user.kiln.test", "value", 5);
    put(&t, e, "#!", 2);
    e = new_entry("dir/link", AE_IFLNK, 0777);
    archive_entry_set_symlink(e, "tool");
    archive_entry_set_uid(e, 42);
    archive_entry_set_gid(e, 43);
    archive_entry_set_mtime(e, 1300000000, 0);
    put(&t, e, NULL, 0);
    put(&t, new_entry("dir/ro", AE_IFDIR, 0555), NULL, 0);
    add_file(&t, "dir/ro/inside", "written after its directory"); /* mode applied last */
    tar_end(&t);

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_opts opts = {.as_root = is_root};
    assert_int_equal(extract_opts(f, &t, &opts, NULL, &err), 0);

    struct stat st;
    assert_int_equal(fstatat(f->root, "dir", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1500000000); /* set after its children were made */
    if (is_root) {
        assert_int_equal(st.st_uid, 1001);
        assert_int_equal(st.st_gid, 1002);
    }
    assert_int_equal(fstatat(f->root, "dir/tool", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mode & 07777, 04755); /* chmod came after chown */
    assert_int_equal(st.st_mtim.tv_sec, 1234567890);
    assert_int_equal(st.st_mtim.tv_nsec, 500000000);
    if (is_root) {
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
    } else {
        assert_int_equal(st.st_uid, geteuid());
    }
    int fd = openat(f->root, "dir/tool", O_RDONLY | O_CLOEXEC);
    char value[16] = {0};
    ssize_t n = fgetxattr(fd, "user.kiln.test", value, sizeof(value));
    close(fd);
    if (n < 0 && errno == ENOTSUP)
        fprintf(stderr, "# the file system has no user xattrs: not checked\n");
    else
        assert_string_equal(value, "value");
    assert_int_equal(fstatat(f->root, "dir/link", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1300000000);
    if (is_root) {
        assert_int_equal(st.st_uid, 42);
        assert_int_equal(st.st_gid, 43);
    }
    assert_int_equal(fstatat(f->root, "dir/ro", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mode & 07777, 0555);
    assert_int_equal(st.st_mtim.tv_sec, 1000000000);
    kn_autofree char *inside = read_at(f->root, "dir/ro/inside");
    assert_string_equal(inside, "written after its directory");
}

static void test_extract_links_hardlinks_to_one_inode(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_file(&t, "bin/busybox", "multi-call binary");
    add_hardlink(&t, "bin/sh", "bin/busybox");
    add_hardlink(&t, "usr/bin/env", "/bin/busybox"); /* absolute: inside the layer */
    add_hardlink(&t, "bin/busybox", "bin/busybox");  /* itself: nothing to do */
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    struct stat a, b, c;
    assert_int_equal(fstatat(f->root, "bin/busybox", &a, 0), 0);
    assert_int_equal(fstatat(f->root, "bin/sh", &b, 0), 0);
    assert_int_equal(fstatat(f->root, "usr/bin/env", &c, 0), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_ino, c.st_ino);
    assert_int_equal(a.st_nlink, 3);
    kn_autofree char *text = read_at(f->root, "bin/sh");
    assert_string_equal(text, "multi-call binary");
}

static void test_extract_keeps_sparse_holes(void **state)
{
    FIXTURE();
    enum { SIZE = 8 << 20, CHUNK = 4096 };
    kn_autofree char *content = kn_xcalloc(1, SIZE);
    memset(content, 'A', CHUNK);
    memset(content + SIZE / 2, 'B', CHUNK);
    kn_autotar tar_builder t;
    tar_begin(&t);
    struct archive_entry *e = new_entry("sparse", AE_IFREG, 0644);
    archive_entry_set_size(e, SIZE);
    archive_entry_sparse_add_entry(e, 0, CHUNK);
    archive_entry_sparse_add_entry(e, SIZE / 2, CHUNK);
    assert_int_equal(archive_write_header(t.a, e), ARCHIVE_OK);
    /* The writer takes the whole file and drops what lies in the holes. */
    assert_int_equal(archive_write_data(t.a, content, SIZE), SIZE);
    archive_entry_free(e);
    tar_end(&t);
    assert_true(t.len < 64 * 1024); /* the holes are not in the archive */

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_stats stats;
    kn_extract_opts opts = {0};
    assert_int_equal(extract_opts(f, &t, &opts, &stats, &err), 0);
    assert_int_equal(stats.n_bytes, 2 * CHUNK);
    struct stat st;
    assert_int_equal(fstatat(f->root, "sparse", &st, 0), 0);
    assert_int_equal(st.st_size, SIZE);
    assert_true(st.st_blocks * 512 < 256 * 1024); /* holes, not 8 MiB of zeros */
    int fd = openat(f->root, "sparse", O_RDONLY | O_CLOEXEC);
    kn_autofree char *back = kn_xmalloc(SIZE);
    assert_int_equal(pread(fd, back, SIZE, 0), SIZE);
    close(fd);
    assert_memory_equal(back, content, SIZE);
}

static void test_extract_sets_size_of_file_ending_in_a_hole(void **state)
{
    FIXTURE();
    enum { SIZE = 1 << 20 };
    kn_autofree char *content = kn_xcalloc(1, SIZE);
    memcpy(content, "head", 4);
    kn_autotar tar_builder t;
    tar_begin(&t);
    struct archive_entry *e = new_entry("tail-hole", AE_IFREG, 0644);
    archive_entry_set_size(e, SIZE);
    archive_entry_sparse_add_entry(e, 0, 4);
    assert_int_equal(archive_write_header(t.a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(t.a, content, SIZE), SIZE);
    archive_entry_free(e);
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    struct stat st;
    assert_int_equal(fstatat(f->root, "tail-hole", &st, 0), 0);
    assert_int_equal(st.st_size, SIZE);
}

/* ---- device nodes ---- */

static void test_extract_creates_device_nodes_as_root(void **state)
{
    FIXTURE();
    NEED_ROOT();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_node(&t, "dev/null", AE_IFCHR, makedev(1, 3));
    add_node(&t, "dev/loop0", AE_IFBLK, makedev(7, 0));
    add_node(&t, "run/fifo", AE_IFIFO, 0);
    tar_end(&t);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(extract(f, &t, &err), 0);
    struct stat st;
    assert_int_equal(fstatat(f->root, "dev/null", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(fstatat(f->root, "dev/loop0", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISBLK(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(7, 0));
    assert_int_equal(type_at(f->root, "run/fifo"), S_IFIFO);
}

static void test_extract_refuses_device_nodes_without_root(void **state)
{
    FIXTURE();
    kn_autotar tar_builder t;
    tar_begin(&t);
    add_node(&t, "fifo", AE_IFIFO, 0); /* anyone may make a FIFO */
    add_node(&t, "null", AE_IFCHR, makedev(1, 3));
    tar_end(&t);

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_opts opts = {.as_root = false};
    assert_int_equal(extract_opts(f, &t, &opts, NULL, &err), -1);
    assert_int_equal(err.code, EPERM);
    assert_err_contains(&err, "entry null: device nodes need root");
    assert_int_equal(type_at(f->root, "fifo"), S_IFIFO);
    assert_false(exists_at(f->root, "null"));
    if (geteuid() != 0)
        return;

    /* And as a real unprivileged user, in a directory it owns. */
    assert_int_equal(mkdirat(f->tfd, "nobody", 0755), 0);
    assert_int_equal(fchownat(f->tfd, "nobody", 65534, 65534, 0), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int dirfd = openat(f->tfd, "nobody", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0 || setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(2);
        mem_reader r = {t.data, t.len, 0, 7777};
        kn_err child_err = KN_ERR_INIT;
        int rc = kn_extract_tar(dirfd, read_mem, &r, &opts, NULL, &child_err);
        bool ok = rc == -1 && child_err.code == EPERM &&
                  strstr(child_err.msg, "entry null: device nodes need root") &&
                  exists_at(dirfd, "fifo") && !exists_at(dirfd, "null");
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Register a filesystem test for both resolution paths. */
#define BOTH(t)                                                                                    \
    {#t " [openat2]", t, setup, teardown, (void *)&MODE_OPENAT2},                                  \
    {                                                                                              \
#t " [walk]", t, setup, teardown, (void *)&MODE_WALK                                       \
    }
#define ONCE(t)                                                                                    \
    {                                                                                              \
#t, t, setup, teardown, (void *)&MODE_WALK                                                 \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        ONCE(test_extract_writes_files_dirs_and_symlinks),
        ONCE(test_extract_accepts_an_empty_stream),
        ONCE(test_extract_rejects_truncated_archive),
        ONCE(test_extract_reports_read_errors),
        BOTH(test_extract_rejects_dotdot_escape),
        BOTH(test_extract_keeps_dotdot_that_stays_inside),
        BOTH(test_extract_makes_absolute_names_relative),
        BOTH(test_extract_refuses_entry_through_symlink_parent),
        BOTH(test_extract_refuses_entry_below_a_file),
        BOTH(test_extract_refuses_hardlink_outside),
        BOTH(test_extract_refuses_hardlink_through_symlink),
        BOTH(test_extract_hardlink_to_symlink_links_the_symlink),
        BOTH(test_extract_replaces_symlink_with_directory),
        BOTH(test_extract_file_replaces_symlink_without_writing_through),
        BOTH(test_extract_file_replaces_directory),
        BOTH(test_extract_refuses_bad_names),
        ONCE(test_extract_turns_whiteouts_into_overlay_whiteouts),
        ONCE(test_extract_marks_opaque_directories),
        ONCE(test_extract_ignores_overlay_xattrs_from_the_archive),
        ONCE(test_extract_keeps_owner_mode_mtime_and_xattrs),
        ONCE(test_extract_links_hardlinks_to_one_inode),
        ONCE(test_extract_keeps_sparse_holes),
        ONCE(test_extract_sets_size_of_file_ending_in_a_hole),
        ONCE(test_extract_creates_device_nodes_as_root),
        ONCE(test_extract_refuses_device_nodes_without_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
