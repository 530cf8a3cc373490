/* Tests for writing a tree as a layer tarball (src/store/tarwrite.c).
 *
 * Each test builds a tree under T/src of a fresh mkdtemp directory T, writes
 * it into memory, and reads the bytes back with libarchive, or extracts them
 * into T/dst with kn_extract_tar and compares the two trees. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "store/extract.h"
#include "store/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

typedef struct fixture {
    char dir[256];
    int tfd, src, dst;
} fixture;

static int setup(void **state)
{
    fixture *f = kn_xcalloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof(f->dir), "%s/kn-tarwrite-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    f->tfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(mkdirat(f->tfd, "src", 0755), 0);
    assert_int_equal(mkdirat(f->tfd, "dst", 0755), 0);
    f->src = openat(f->tfd, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->dst = openat(f->tfd, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->tfd >= 0 && f->src >= 0 && f->dst >= 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    close(f->src);
    close(f->dst);
    close(f->tfd);
    kn_autoerr kn_err err = KN_ERR_INIT;
    int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(kn_remove_tree(rootfd, f->dir + 1, &err), 0);
    close(rootfd);
    free(f);
    return 0;
}

#define NEED_ROOT()                                                                                \
    if (geteuid() != 0)                                                                            \
    skip()

/* ---- building trees ---- */

static void write_at(int dirfd, const char *name, const char *text, mode_t mode)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void set_mtime(int dirfd, const char *name, time_t sec)
{
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    assert_int_equal(utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* A tree with one of everything a layer holds. */
static void make_tree(int root)
{
    assert_int_equal(mkdirat(root, "etc", 0755), 0);
    write_at(root, "etc/hostname", "kiln\n", 0644);
    assert_int_equal(symlinkat("../usr/share/zoneinfo/UTC", root, "etc/localtime"), 0);
    assert_int_equal(mkdirat(root, "usr", 0755), 0);
    assert_int_equal(mkdirat(root, "usr/bin", 0700), 0);
    write_at(root, "usr/bin/tool", "#!/bin/sh\necho tool\n", 04755);
    assert_int_equal(linkat(root, "usr/bin/tool", root, "usr/bin/tool2", 0), 0);
    assert_int_equal(mkfifoat(root, "fifo", 0600), 0);
    write_at(root, "empty", "", 0600);
    char long_name[300];
    memset(long_name, 'n', 200);
    long_name[200] = '\0';
    write_at(root, long_name, "long", 0644); /* needs a pax header */
    int fd = openat(root, "etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fsetxattr(fd, "user.kiln", "x", 1, 0) < 0)
        assert_int_equal(errno, ENOTSUP);
    close(fd);
    set_mtime(root, "etc/hostname", 1200000000);
    set_mtime(root, "etc/localtime", 1200000001);
    set_mtime(root, "usr/bin/tool", 1200000002);
    set_mtime(root, "usr/bin", 1200000003);
    set_mtime(root, "etc", 1200000004);
}

/* ---- writing and reading back ---- */

static int write_buf(void *ctx, const void *data, size_t len, kn_err *err)
{
    if (kn_buf_add(ctx, data, len) < 0)
        return kn_errf(err, errno, "buffer");
    return 0;
}

static int write_fails(void *ctx, const void *data, size_t len, kn_err *err)
{
    return kn_errf(err, ENOSPC, "upload");
}

static void tar_tree(int dirfd, const kn_tarwrite_opts *opts, kn_buf *out)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (kn_tarwrite_tree(dirfd, opts, write_buf, out, &err) < 0)
        fail_msg("tarwrite: %s", err.msg);
}

typedef struct mem_reader {
    const char *data;
    size_t len, pos;
} mem_reader;

static ssize_t read_mem(void *ctx, void *buf, size_t len, kn_err *err)
{
    mem_reader *r = ctx;
    size_t n = r->len - r->pos < len ? r->len - r->pos : len;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return (ssize_t)n;
}

/* One line per entry: "name type size [-> target | => hardlink] [xattrs]". */
static char *list_entries(const kn_buf *tar)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
    kn_buf out = KN_BUF_INIT;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *type = archive_entry_hardlink(e) ? "h" : "?";
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
            type = "f";
            break;
        case AE_IFDIR:
            type = "d";
            break;
        case AE_IFLNK:
            type = "l";
            break;
        case AE_IFCHR:
            type = "c";
            break;
        case AE_IFIFO:
            type = "p";
            break;
        }
        kn_buf_addf(&out, "%s %s %jd", archive_entry_pathname(e), type,
                    (intmax_t)archive_entry_size(e));
        if (archive_entry_symlink(e))
            kn_buf_addf(&out, " -> %s", archive_entry_symlink(e));
        if (archive_entry_hardlink(e))
            kn_buf_addf(&out, " => %s", archive_entry_hardlink(e));
        const char *uname = archive_entry_uname(e), *gname = archive_entry_gname(e);
        if ((uname && *uname) || (gname && *gname) || archive_entry_atime_is_set(e) ||
            archive_entry_ctime_is_set(e))
            kn_buf_adds(&out, " (uname/gname/atime/ctime!)");
        archive_entry_xattr_reset(e);
        const char *key;
        const void *value;
        size_t size;
        while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK)
            kn_buf_addf(&out, " %s=%.*s", key, (int)size, (const char *)value);
        kn_buf_addc(&out, '\n');
    }
    assert_int_equal(r, ARCHIVE_EOF);
    archive_read_free(a);
    return kn_buf_release(&out);
}

/* ---- comparing trees ---- */

static void compare_trees(int a, int b, const char *path);

static void compare_entry(int a, int b, const char *name, const char *path)
{
    struct stat sa, sb;
    assert_int_equal(fstatat(a, name, &sa, AT_SYMLINK_NOFOLLOW), 0);
    if (fstatat(b, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        fail_msg("%s: missing after the round trip", path);
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) ||
        (sa.st_mode & 07777) != (sb.st_mode & 07777))
        fail_msg("%s: mode %o became %o", path, sa.st_mode, sb.st_mode);
    if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
        fail_msg("%s: owner differs", path);
    if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
        fail_msg("%s: mtime %jd became %jd", path, (intmax_t)sa.st_mtim.tv_sec,
                 (intmax_t)sb.st_mtim.tv_sec);
    if (sa.st_nlink != sb.st_nlink && !S_ISDIR(sa.st_mode))
        fail_msg("%s: %ju links became %ju", path, (uintmax_t)sa.st_nlink, (uintmax_t)sb.st_nlink);
    if (S_ISREG(sa.st_mode)) {
        assert_int_equal(sa.st_size, sb.st_size);
        char ca[256] = {0}, cb[256] = {0};
        int fa = openat(a, name, O_RDONLY | O_CLOEXEC), fb = openat(b, name, O_RDONLY | O_CLOEXEC);
        assert_true(read(fa, ca, sizeof(ca)) >= 0 && read(fb, cb, sizeof(cb)) >= 0);
        char xa[64] = {0}, xb[64] = {0};
        ssize_t na = fgetxattr(fa, "user.kiln", xa, sizeof(xa));
        ssize_t nb = fgetxattr(fb, "user.kiln", xb, sizeof(xb));
        close(fa);
        close(fb);
        if (memcmp(ca, cb, sizeof(ca)) != 0)
            fail_msg("%s: contents differ", path);
        if (na != nb || memcmp(xa, xb, sizeof(xa)) != 0)
            fail_msg("%s: xattrs differ", path);
    } else if (S_ISLNK(sa.st_mode)) {
        char la[256] = {0}, lb[256] = {0};
        assert_true(readlinkat(a, name, la, sizeof(la) - 1) > 0);
        assert_true(readlinkat(b, name, lb, sizeof(lb) - 1) > 0);
        assert_string_equal(la, lb);
    } else if (S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) {
        assert_int_equal(sa.st_rdev, sb.st_rdev);
    } else if (S_ISDIR(sa.st_mode)) {
        int da = openat(a, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int db = openat(b, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        compare_trees(da, db, path);
        close(da);
        close(db);
    }
}

static int count_entries(int dirfd)
{
    DIR *d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    assert_non_null(d);
    rewinddir(d); /* the offset is shared with dirfd */
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

static void compare_trees(int a, int b, const char *path)
{
    if (count_entries(a) != count_entries(b))
        fail_msg("%s: %d entries became %d", path, count_entries(a), count_entries(b));
    DIR *d = fdopendir(fcntl(a, F_DUPFD_CLOEXEC, 0));
    assert_non_null(d);
    rewinddir(d);
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        compare_entry(a, b, de->d_name, sub);
    }
    closedir(d);
}

/* ---- tests ---- */

static void test_tarwrite_round_trips_a_tree(void **state)
{
    fixture *f = *state;
    make_tree(f->src);
    if (geteuid() == 0) {
        assert_int_equal(mknodat(f->src, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(fchownat(f->src, "etc/hostname", 1234, 5678, 0), 0);
        assert_int_equal(fchownat(f->src, "etc/localtime", 42, 43, AT_SYMLINK_NOFOLLOW), 0);
    }
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, NULL, &tar);

    kn_autoerr kn_err err = KN_ERR_INIT;
    mem_reader r = {tar.data, tar.len, 0};
    kn_extract_opts opts = {.as_root = geteuid() == 0};
    if (kn_extract_tar(f->dst, read_mem, &r, &opts, NULL, &err) < 0)
        fail_msg("extract: %s", err.msg);
    compare_trees(f->src, f->dst, ".");
}

static void test_tarwrite_is_deterministic_and_sorted(void **state)
{
    fixture *f = *state;
    /* Made in an order that is not the sorted one. */
    assert_int_equal(mkdirat(f->src, "b", 0755), 0);
    write_at(f->src, "b/z", "z", 0644);
    write_at(f->src, "b/a", "a", 0644);
    write_at(f->src, "a", "a", 0644);
    write_at(f->src, "B", "B", 0644);
    write_at(f->src, "b.txt", "b", 0644);
    assert_int_equal(mkdirat(f->src, "a.d", 0755), 0);
    set_mtime(f->src, "b", 1);
    set_mtime(f->src, "a.d", 1);
    kn_autobuf kn_buf one = KN_BUF_INIT;
    kn_autobuf kn_buf two = KN_BUF_INIT;
    tar_tree(f->src, NULL, &one);
    /* Reading the files again changes atimes; the bytes must not change. */
    tar_tree(f->src, NULL, &two);
    assert_int_equal(one.len, two.len);
    assert_memory_equal(one.data, two.data, one.len);

    kn_autofree char *list = list_entries(&one);
    assert_string_equal(list, "B f 1\n"
                              "a f 1\n"
                              "a.d/ d 0\n"
                              "b/ d 0\n"
                              "b/a f 1\n"
                              "b/z f 1\n"
                              "b.txt f 1\n");
    /* Seven headers, five data blocks, two zero blocks, nothing after. */
    assert_int_equal(one.len, 12 * 512 + 1024);
    for (size_t i = one.len - 1024; i < one.len; i++)
        assert_int_equal(one.data[i], 0);
}

static void test_tarwrite_clamps_mtime(void **state)
{
    fixture *f = *state;
    write_at(f->src, "new", "n", 0644);
    write_at(f->src, "old", "o", 0644);
    set_mtime(f->src, "new", 2000000000);
    set_mtime(f->src, "old", 100);
    kn_tarwrite_opts opts = {.clamp_mtime = true, .mtime_max = 1000};
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, &opts, &tar);
    mem_reader r = {tar.data, tar.len, 0};
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_extract_tar(f->dst, read_mem, &r, NULL, NULL, &err), 0);
    struct stat st;
    assert_int_equal(fstatat(f->dst, "new", &st, 0), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1000);
    assert_int_equal(fstatat(f->dst, "old", &st, 0), 0);
    assert_int_equal(st.st_mtim.tv_sec, 100);
}

static void test_tarwrite_writes_hardlinks_once(void **state)
{
    fixture *f = *state;
    write_at(f->src, "a", "shared data", 0644);
    assert_int_equal(linkat(f->src, "a", f->src, "b", 0), 0);
    assert_int_equal(mkdirat(f->src, "d", 0755), 0);
    assert_int_equal(linkat(f->src, "a", f->src, "d/c", 0), 0);
    set_mtime(f->src, "d", 1);
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, NULL, &tar);
    kn_autofree char *list = list_entries(&tar);
    assert_string_equal(list, "a f 11\n"
                              "b h 0 => a\n"
                              "d/ d 0\n"
                              "d/c h 0 => a\n");
    mem_reader r = {tar.data, tar.len, 0};
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_extract_tar(f->dst, read_mem, &r, NULL, NULL, &err), 0);
    struct stat a, c;
    assert_int_equal(fstatat(f->dst, "a", &a, 0), 0);
    assert_int_equal(fstatat(f->dst, "d/c", &c, 0), 0);
    assert_int_equal(a.st_ino, c.st_ino);
    assert_int_equal(a.st_nlink, 3);
}

static void test_tarwrite_converts_overlay_whiteouts(void **state)
{
    fixture *f = *state;
    NEED_ROOT(); /* 0/0 devices and trusted.* xattrs, as overlay makes them */
    assert_int_equal(mknodat(f->src, "gone", S_IFCHR, makedev(0, 0)), 0);
    assert_int_equal(linkat(f->src, "gone", f->src, "also-gone", 0), 0); /* shared inode */
    assert_int_equal(mkdirat(f->src, "opq", 0755), 0);
    write_at(f->src, "opq/new", "new", 0644);
    int fd = openat(f->src, "opq", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0), 0);
    assert_int_equal(fsetxattr(fd, "trusted.overlay.origin", "zz", 2, 0), 0);
    close(fd);
    set_mtime(f->src, "opq", 1);

    kn_tarwrite_opts opts = {.overlay_whiteouts = true};
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, &opts, &tar);
    kn_autofree char *list = list_entries(&tar);
    assert_string_equal(list, ".wh.also-gone f 0\n"
                              ".wh.gone f 0\n"
                              "opq/ d 0\n"
                              "opq/.wh..wh..opq f 0\n"
                              "opq/new f 3\n");

    /* Extracting turns them back into overlay whiteouts. */
    mem_reader r = {tar.data, tar.len, 0};
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_opts xopts = {.as_root = true};
    assert_int_equal(kn_extract_tar(f->dst, read_mem, &r, &xopts, NULL, &err), 0);
    struct stat st;
    assert_int_equal(fstatat(f->dst, "gone", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    fd = openat(f->dst, "opq", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char value[4] = {0};
    assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", value, sizeof(value)), 1);
    assert_int_equal(fgetxattr(fd, "trusted.overlay.origin", value, sizeof(value)), -1);
    close(fd);

    /* Without the option they are what they are, minus overlay's xattrs. */
    kn_autobuf kn_buf plain = KN_BUF_INIT;
    tar_tree(f->src, NULL, &plain);
    kn_autofree char *plain_list = list_entries(&plain);
    assert_string_equal(plain_list, "also-gone c 0\n"
                                    "gone h 0 => also-gone\n"
                                    "opq/ d 0\n"
                                    "opq/new f 3\n");
}

static void test_tarwrite_skips_sockets(void **state)
{
    fixture *f = *state;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/src/sock", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(addr.sun_path));
    assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0);
    close(s);
    write_at(f->src, "file", "f", 0644);
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, NULL, &tar);
    kn_autofree char *list = list_entries(&tar);
    assert_string_equal(list, "file f 1\n");
}

static void test_tarwrite_writes_an_empty_tree_as_two_zero_blocks(void **state)
{
    fixture *f = *state;
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, NULL, &tar);
    assert_int_equal(tar.len, 1024);
}

static void test_tarwrite_reports_write_errors(void **state)
{
    fixture *f = *state;
    write_at(f->src, "file", "f", 0644);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_tarwrite_tree(f->src, NULL, write_fails, NULL, &err), -1);
    assert_int_equal(err.code, ENOSPC);
    assert_non_null(strstr(err.msg, "upload"));
}

static void test_tarwrite_keeps_large_files_intact(void **state)
{
    fixture *f = *state;
    enum { SIZE = 3 << 20 };
    kn_autofree char *data = kn_xmalloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (char)(i * 7 + i / 4096);
    int fd = openat(f->src, "big", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_int_equal(write(fd, data, SIZE), SIZE);
    close(fd);
    kn_autobuf kn_buf tar = KN_BUF_INIT;
    tar_tree(f->src, NULL, &tar);
    mem_reader r = {tar.data, tar.len, 0};
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_extract_stats stats;
    assert_int_equal(kn_extract_tar(f->dst, read_mem, &r, NULL, &stats, &err), 0);
    assert_int_equal(stats.n_bytes, SIZE);
    kn_autofree char *back = kn_xmalloc(SIZE);
    fd = openat(f->dst, "big", O_RDONLY | O_CLOEXEC);
    assert_int_equal(read(fd, back, SIZE), SIZE);
    close(fd);
    assert_memory_equal(back, data, SIZE);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_tarwrite_round_trips_a_tree),
        TEST(test_tarwrite_is_deterministic_and_sorted),
        TEST(test_tarwrite_clamps_mtime),
        TEST(test_tarwrite_writes_hardlinks_once),
        TEST(test_tarwrite_converts_overlay_whiteouts),
        TEST(test_tarwrite_skips_sockets),
        TEST(test_tarwrite_writes_an_empty_tree_as_two_zero_blocks),
        TEST(test_tarwrite_reports_write_errors),
        TEST(test_tarwrite_keeps_large_files_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
