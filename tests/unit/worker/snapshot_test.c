/* Tests for overlay snapshots (src/worker/snapshot.c), on real overlayfs:
 * root only (skipped otherwise).
 *
 * Each test opens a store in a fresh mkdtemp directory T. Lower layers are
 * made by the snapshots themselves: mount, write into merged/, unmount,
 * commit. The teardown frees every snapshot a test left and then detaches
 * any mount still under T, so a failing test leaves no mount behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/vec.h"
#include "image/manifest.h"
#include "store/compress.h"
#include "store/store.h"
#include "worker/snapshot.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_SNAPS 8
#define N_MANY_LAYERS 70

typedef struct fixture {
    char *dir; /* T, absolute and resolved */
    kn_store *s;
    kn_snapshot *snaps[MAX_SNAPS]; /* freed by the teardown */
} fixture;

#define NEED_ROOT()                                                                                \
    if (geteuid() != 0)                                                                            \
    skip()

/* ---- mounts, seen from /proc/self/mountinfo ---- */

static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] && s[2] && s[3]) {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Every mount point at or below `dir`, in mountinfo order. */
static void mounts_under(const char *dir, kn_strvec *out)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, len = strlen(dir);
    while (getline(&line, &cap, f) > 0) {
        char *p = line;
        for (int i = 0; i < 4 && p; i++)
            if ((p = strchr(p, ' ')))
                p++;
        char *end = p ? strchr(p, ' ') : NULL;
        if (!end)
            continue;
        *end = '\0';
        unescape(p);
        if (!strncmp(p, dir, len) && (p[len] == '/' || !p[len]))
            kn_strvec_push(out, p);
    }
    free(line);
    fclose(f);
}

static bool is_mounted(const char *path)
{
    kn_strvec v = KN_STRVEC_INIT;
    mounts_under(path, &v);
    bool found = kn_strvec_find(&v, path) >= 0;
    kn_strvec_free(&v);
    return found;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    fixture *f = kn_xcalloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof(tmpl), "%s/kn-snapshot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(tmpl));
    f->dir = realpath(tmpl, NULL);
    assert_non_null(f->dir);
    kn_autobuf kn_buf path = KN_BUF_INIT;
    kn_buf_addf(&path, "%s/store", f->dir);
    kn_autoerr kn_err err = KN_ERR_INIT;
    f->s = kn_store_open(path.data, &err);
    if (!f->s)
        fail_msg("open the store: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < MAX_SNAPS; i++)
        kn_snapshot_free(f->snaps[i]);
    kn_snapshot_force_legacy_mount(false);
    /* Whatever a failed test mounted itself, newest first. */
    kn_strvec left = KN_STRVEC_INIT;
    mounts_under(f->dir, &left);
    for (size_t i = left.len; i-- > 0;)
        umount2(left.items[i], MNT_DETACH);
    kn_strvec_free(&left);
    kn_store_close(f->s);
    kn_autoerr kn_err err = KN_ERR_INIT;
    int rc = kn_remove_tree(AT_FDCWD, f->dir, &err);
    free(f->dir);
    free(f);
    assert_int_equal(rc, 0);
    return 0;
}

/* Mounts a snapshot the teardown will free. */
static kn_snapshot *mount_snap(fixture *f, const kn_digest *lowers, size_t n)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_snapshot *snap = kn_snapshot_mount(f->s, lowers, n, &err);
    if (!snap)
        fail_msg("mount %zu layers: %s", n, err.msg);
    for (size_t i = 0; i < MAX_SNAPS; i++)
        if (!f->snaps[i]) {
            f->snaps[i] = snap;
            return snap;
        }
    kn_snapshot_free(snap);
    fail_msg("more than %d snapshots in one test", MAX_SNAPS);
    return NULL;
}

static void free_snap(fixture *f, kn_snapshot *snap)
{
    for (size_t i = 0; i < MAX_SNAPS; i++)
        if (f->snaps[i] == snap)
            f->snaps[i] = NULL;
    kn_snapshot_free(snap);
}

/* Unmounts and commits, expecting a layer. */
static void commit(fixture *f, kn_snapshot *snap, int64_t sde, kn_store_layer *layer)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (kn_snapshot_unmount(snap, &err) < 0)
        fail_msg("unmount: %s", err.msg);
    bool is_empty = true;
    if (kn_snapshot_commit(f->s, snap, sde, false, layer, &is_empty, &err) < 0)
        fail_msg("commit: %s", err.msg);
    assert_false(is_empty);
}

/* ---- files ---- */

static int open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    return fd;
}

static void write_at(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail_msg("create %s: %s", name, strerror(errno));
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, 0644), 0);
    close(fd);
}

static void append_at(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void mkdir_at(int dirfd, const char *name)
{
    assert_int_equal(mkdirat(dirfd, name, 0755), 0);
    assert_int_equal(fchmodat(dirfd, name, 0755, 0), 0);
}

static void expect_file(int dirfd, const char *name, const char *text)
{
    char buf[256];
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("open %s: %s", name, strerror(errno));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, text);
}

static void expect_absent(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        fail_msg("%s exists, want it hidden", name);
    assert_int_equal(errno, ENOENT);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted and joined by spaces. */
static char *list_dir(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    kn_strvec names = KN_STRVEC_INIT;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_dir_names(fd, &names, &err), 0);
    close(fd);
    if (names.len > 1)
        qsort(names.items, names.len, sizeof(char *), compare_names);
    kn_buf b = KN_BUF_INIT;
    for (size_t i = 0; i < names.len; i++)
        kn_buf_addf(&b, "%s%s", i ? " " : "", names.items[i]);
    kn_strvec_free(&names);
    return kn_buf_release(&b);
}

/* ---- the two layers most tests use ---- */

/* Layer 1, from scratch: a, b, d/x, d/y, e/f, sl -> b. */
static void make_base_layer(fixture *f, kn_store_layer *l1)
{
    kn_snapshot *snap = mount_snap(f, NULL, 0);
    int m = open_dir(snap->merged);
    write_at(m, "a", "a");
    write_at(m, "b", "b");
    mkdir_at(m, "d");
    write_at(m, "d/x", "x");
    write_at(m, "d/y", "y");
    mkdir_at(m, "e");
    write_at(m, "e/f", "f");
    assert_int_equal(symlinkat("b", m, "sl"), 0);
    close(m);
    commit(f, snap, -1, l1);
    free_snap(f, snap);
}

/* Layer 2 on layer 1: a deleted, d replaced by a directory holding only
 * "new", c added, e/f appended to, sl chowned (both copied up). */
static void make_second_layer(fixture *f, const kn_store_layer *l1, kn_store_layer *l2)
{
    kn_snapshot *snap = mount_snap(f, &l1->diff_id, 1);
    int m = open_dir(snap->merged);
    assert_int_equal(unlinkat(m, "a", 0), 0);
    assert_int_equal(unlinkat(m, "d/x", 0), 0);
    assert_int_equal(unlinkat(m, "d/y", 0), 0);
    assert_int_equal(unlinkat(m, "d", AT_REMOVEDIR), 0);
    mkdir_at(m, "d");
    write_at(m, "d/new", "new");
    write_at(m, "c", "c");
    append_at(m, "e/f", "+more");
    assert_int_equal(fchownat(m, "sl", 1, 1, AT_SYMLINK_NOFOLLOW), 0);
    close(m);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_snapshot_unmount(snap, &err), 0);
    /* Overlay recorded where e came from: the commit must drop that. */
    assert_true(fgetxattr(snap->upperfd, "trusted.overlay.impure", NULL, 0) >= 0 ||
                fgetxattr(snap->upperfd, "trusted.overlay.uuid", NULL, 0) >= 0);
    int e = openat(snap->upperfd, "e", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(e >= 0);
    assert_true(fgetxattr(e, "trusted.overlay.origin", NULL, 0) > 0);
    close(e);
    commit(f, snap, -1, l2);
    free_snap(f, snap);
}

/* ---- reading a layer blob ---- */

typedef struct tar_entry {
    char *name;
    int64_t mtime;
} tar_entry;

/* Decompresses the layer's blob, checks its digests, and lists the tar's
 * entries in order. */
static size_t read_layer_tar(fixture *f, const kn_store_layer *layer, tar_entry *out, size_t max)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    int fd = kn_store_blob_open(f->s, &layer->blob, &err);
    if (fd < 0)
        fail_msg("%s", err.msg);
    kn_digest blob;
    uint64_t blob_size;
    assert_int_equal(kn_sha256_fd(fd, &blob, &blob_size, &err), 0);
    assert_string_equal(blob.str, layer->blob.str);
    assert_int_equal(blob_size, layer->blob_size);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

    kn_decomp *d = kn_decomp_new(fd, KN_COMP_GZIP, &err);
    assert_non_null(d);
    kn_buf plain = KN_BUF_INIT;
    char chunk[65536];
    ssize_t n;
    while ((n = kn_decomp_read(d, chunk, sizeof(chunk), &err)) > 0)
        assert_int_equal(kn_buf_add(&plain, chunk, (size_t)n), 0);
    assert_int_equal(n, 0);
    kn_digest diff_id;
    uint64_t plain_size;
    assert_int_equal(kn_decomp_finish(d, &diff_id, &plain_size, &err), 0);
    kn_decomp_free(d);
    close(fd);
    assert_string_equal(diff_id.str, layer->diff_id.str);

    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, plain.data, plain.len), ARCHIVE_OK);
    struct archive_entry *e;
    size_t count = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        assert_true(count < max);
        out[count].name = kn_xstrdup(archive_entry_pathname(e));
        out[count].mtime = archive_entry_mtime(e);
        count++;
    }
    archive_read_free(a);
    kn_buf_free(&plain);
    return count;
}

static void free_entries(tar_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(entries[i].name);
}

/* ---- xattrs of a tree ---- */

/* Fails when any entry at or below dirfd carries overlay state other than
 * the opaque mark. */
static void expect_no_overlay_state(int dirfd, const char *where)
{
    char list[4096];
    ssize_t len = flistxattr(dirfd, list, sizeof(list));
    assert_true(len >= 0);
    for (const char *k = list; k < list + len; k += strlen(k) + 1)
        if (!strncmp(k, "trusted.overlay.", 16) && strcmp(k, "trusted.overlay.opaque"))
            fail_msg("%s keeps %s", where, k);
    kn_strvec names = KN_STRVEC_INIT;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_dir_names(dirfd, &names, &err), 0);
    for (size_t i = 0; i < names.len; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", where, names.items[i]);
        struct stat st;
        assert_int_equal(fstatat(dirfd, names.items[i], &st, AT_SYMLINK_NOFOLLOW), 0);
        if (S_ISDIR(st.st_mode)) {
            int fd = openat(dirfd, names.items[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            expect_no_overlay_state(fd, path);
            close(fd);
            continue;
        }
        int fd = openat(dirfd, names.items[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        len = listxattr(proc, list, sizeof(list));
        close(fd);
        assert_true(len >= 0);
        for (const char *k = list; k < list + len; k += strlen(k) + 1)
            if (!strncmp(k, "trusted.overlay.", 16))
                fail_msg("%s keeps %s", path, k);
    }
    kn_strvec_free(&names);
}

/* ---- tests ---- */

static void test_mount_without_lowers_starts_empty_and_commits_a_layer(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_snapshot *snap = mount_snap(f, NULL, 0);
    assert_true(snap->is_mounted);
    assert_true(is_mounted(snap->merged));
    int m = open_dir(snap->merged);
    kn_autofree char *names = list_dir(m, ".");
    assert_string_equal(names, "");
    struct stat st;
    assert_int_equal(fstat(m, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    write_at(m, "hello", "hi");
    close(m);

    kn_store_layer layer;
    commit(f, snap, -1, &layer);
    assert_false(snap->is_mounted);
    assert_false(is_mounted(snap->merged));
    assert_string_equal(layer.media_type, KN_MT_OCI_LAYER_GZIP);
    kn_autoerr kn_err err = KN_ERR_INIT;
    bool has = false;
    assert_int_equal(kn_store_layer_has(f->s, &layer.diff_id, &has, &err), 0);
    assert_true(has);
    int tree = kn_store_layer_open(f->s, &layer.diff_id, &err);
    assert_true(tree >= 0);
    expect_file(tree, "hello", "hi");
    close(tree);
    tar_entry entries[4];
    size_t n = read_layer_tar(f, &layer, entries, 4);
    assert_int_equal(n, 1);
    assert_string_equal(entries[0].name, "hello");
    free_entries(entries, n);
}

static void test_merged_view_hides_deleted_files_and_replaced_dirs(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l[2];
    make_base_layer(f, &l[0]);
    make_second_layer(f, &l[0], &l[1]);
    kn_digest lowers[] = {l[0].diff_id, l[1].diff_id};
    kn_snapshot *snap = mount_snap(f, lowers, 2);
    int m = open_dir(snap->merged);
    kn_autofree char *root = list_dir(m, ".");
    assert_string_equal(root, "b c d e sl");
    expect_absent(m, "a");
    expect_file(m, "b", "b");
    expect_file(m, "c", "c");
    kn_autofree char *d = list_dir(m, "d");
    assert_string_equal(d, "new");
    expect_file(m, "e/f", "f+more");
    struct stat st;
    assert_int_equal(fstatat(m, "sl", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_uid, 1);
    close(m);
}

static void test_lowers_order_puts_the_last_diff_id_on_top(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l[2];
    const char *text[] = {"bottom", "top"};
    for (int i = 0; i < 2; i++) {
        kn_snapshot *snap = mount_snap(f, NULL, 0);
        int m = open_dir(snap->merged);
        write_at(m, "same", text[i]);
        close(m);
        commit(f, snap, -1, &l[i]);
        free_snap(f, snap);
    }
    kn_digest lowers[] = {l[0].diff_id, l[1].diff_id};
    kn_snapshot *snap = mount_snap(f, lowers, 2);
    int m = open_dir(snap->merged);
    expect_file(m, "same", "top");
    close(m);
}

static void test_layer_blob_holds_sorted_oci_whiteouts(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l[2];
    make_base_layer(f, &l[0]);
    make_second_layer(f, &l[0], &l[1]);
    tar_entry entries[16];
    size_t n = read_layer_tar(f, &l[1], entries, 16);
    const char *want[] = {".wh.a", "c", "d/", "d/.wh..wh..opq", "d/new", "e/", "e/f", "sl"};
    kn_buf got = KN_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        kn_buf_addf(&got, "%s%s", i ? " " : "", entries[i].name);
    kn_buf wanted = KN_BUF_INIT;
    for (size_t i = 0; i < KN_ARRAY_LEN(want); i++)
        kn_buf_addf(&wanted, "%s%s", i ? " " : "", want[i]);
    assert_string_equal(got.data, wanted.data);
    kn_buf_free(&got);
    kn_buf_free(&wanted);
    free_entries(entries, n);
}

static void test_adopted_layer_tree_keeps_whiteouts_and_drops_overlay_state(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l[2];
    make_base_layer(f, &l[0]);
    make_second_layer(f, &l[0], &l[1]);
    kn_autoerr kn_err err = KN_ERR_INIT;
    int tree = kn_store_layer_open(f->s, &l[1].diff_id, &err);
    assert_true(tree >= 0);
    struct stat st;
    assert_int_equal(fstatat(tree, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    int d = openat(tree, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char value[4] = "";
    assert_int_equal(fgetxattr(d, "trusted.overlay.opaque", value, sizeof(value)), 1);
    assert_int_equal(value[0], 'y');
    close(d);
    expect_no_overlay_state(tree, "layer");
    close(tree);
}

static void test_commit_of_unchanged_snapshot_is_empty(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l1;
    make_base_layer(f, &l1);
    kn_snapshot *snap = mount_snap(f, &l1.diff_id, 1);
    int m = open_dir(snap->merged);
    expect_file(m, "b", "b"); /* reading copies nothing up */
    close(m);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_snapshot_unmount(snap, &err), 0);
    kn_store_layer out;
    bool is_empty = false;
    assert_int_equal(kn_snapshot_commit(f->s, snap, -1, false, &out, &is_empty, &err), 0);
    assert_true(is_empty);
}

static void test_commit_refuses_a_mounted_snapshot(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_snapshot *snap = mount_snap(f, NULL, 0);
    kn_store_layer out;
    bool is_empty;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_snapshot_commit(f->s, snap, -1, false, &out, &is_empty, &err), -1);
    assert_int_equal(err.code, EBUSY);
    assert_non_null(strstr(err.msg, "still mounted"));
}

static void test_commit_clamps_mtimes_and_reuses_a_recorded_layer(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l[2];
    for (int i = 0; i < 2; i++) {
        kn_snapshot *snap = mount_snap(f, NULL, 0);
        int m = open_dir(snap->merged);
        mkdir_at(m, "dir");
        write_at(m, "dir/file", "same");
        close(m);
        commit(f, snap, 1000, &l[i]);
        free_snap(f, snap);
    }
    /* Clamped mtimes make the two commits the same layer. */
    assert_string_equal(l[0].diff_id.str, l[1].diff_id.str);
    assert_string_equal(l[0].blob.str, l[1].blob.str);
    tar_entry entries[4];
    size_t n = read_layer_tar(f, &l[0], entries, 4);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(entries[i].mtime, 1000);
    free_entries(entries, n);
    /* The tree has the tar's mtimes. */
    kn_autoerr kn_err err = KN_ERR_INIT;
    int tree = kn_store_layer_open(f->s, &l[0].diff_id, &err);
    struct stat st;
    assert_int_equal(fstatat(tree, "dir/file", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1000);
    assert_int_equal(fstatat(tree, "dir", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1000);
    close(tree);
    /* The second snapshot's copy went with it: only this test's trees are
     * in the work directory... none, once the snapshots are freed. */
    kn_strvec work = KN_STRVEC_INIT;
    assert_int_equal(kn_dir_names(f->s->workfd, &work, &err), 0);
    for (size_t i = 0; i < work.len; i++)
        if (!strncmp(work.items[i], "snap-", 5))
            fail_msg("tmp/%s/%s left behind", f->s->work_name, work.items[i]);
    kn_strvec_free(&work);
}

/* Commits n one-file layers from scratch. */
static void make_many_layers(fixture *f, kn_digest *diff_ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kn_snapshot *snap = mount_snap(f, NULL, 0);
        int m = open_dir(snap->merged);
        char name[32];
        snprintf(name, sizeof(name), "f%02zu", i);
        write_at(m, name, name);
        close(m);
        kn_store_layer layer;
        commit(f, snap, 0, &layer);
        diff_ids[i] = layer.diff_id;
        free_snap(f, snap);
    }
}

static void test_mount_stacks_more_layers_than_mount_options_hold(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_digest diff_ids[N_MANY_LAYERS];
    make_many_layers(f, diff_ids, N_MANY_LAYERS);
    kn_snapshot *snap = mount_snap(f, diff_ids, N_MANY_LAYERS);
    int m = open_dir(snap->merged);
    for (size_t i = 0; i < N_MANY_LAYERS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%02zu", i);
        expect_file(m, name, name);
    }
    close(m);

    /* Without lowerdir+, mount(2) says how many layers it could take. */
    kn_snapshot_force_legacy_mount(true);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_null(kn_snapshot_mount(f->s, diff_ids, N_MANY_LAYERS, &err));
    assert_int_equal(err.code, E2BIG);
    if (!strstr(err.msg, "no lowerdir+") || !strstr(err.msg, "takes at most"))
        fail_msg("unclear error: %s", err.msg);
    size_t fit = (size_t)atol(strstr(err.msg, "takes at most") + strlen("takes at most"));
    kn_err_clear(&err);
    /* ... and takes as many as it said. */
    assert_true(fit > 40 && fit < N_MANY_LAYERS);
    kn_snapshot *top = mount_snap(f, diff_ids + N_MANY_LAYERS - fit, fit);
    m = open_dir(top->merged);
    expect_file(m, "f69", "f69");
    expect_absent(m, "f00");
    close(m);
}

static void test_legacy_mount_shows_the_same_view(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l[2];
    make_base_layer(f, &l[0]);
    kn_snapshot_force_legacy_mount(true);
    make_second_layer(f, &l[0], &l[1]);
    kn_digest lowers[] = {l[0].diff_id, l[1].diff_id};
    kn_snapshot *snap = mount_snap(f, lowers, 2);
    int m = open_dir(snap->merged);
    kn_autofree char *root = list_dir(m, ".");
    assert_string_equal(root, "b c d e sl");
    kn_autofree char *d = list_dir(m, "d");
    assert_string_equal(d, "new");
    close(m);
    /* The working directory is back where it was. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_null(strstr(cwd, "/layers"));
}

/* redirect_dir=off: a lower directory cannot be renamed in place (tools
 * copy it instead), so upper/ never holds a redirect only this mount
 * understands. */
static void check_lower_dir_rename_is_refused(fixture *f)
{
    kn_store_layer l1;
    make_base_layer(f, &l1);
    kn_snapshot *snap = mount_snap(f, &l1.diff_id, 1);
    int m = open_dir(snap->merged);
    assert_int_equal(renameat(m, "d", m, "d2"), -1);
    assert_int_equal(errno, EXDEV);
    /* A file still renames: it is copied up. */
    assert_int_equal(renameat(m, "b", m, "b2"), 0);
    close(m);
}

static void test_renaming_a_lower_dir_is_refused(void **state)
{
    NEED_ROOT();
    check_lower_dir_rename_is_refused(*state);
}

static void test_legacy_mount_refuses_renaming_a_lower_dir(void **state)
{
    NEED_ROOT();
    kn_snapshot_force_legacy_mount(true);
    check_lower_dir_rename_is_refused(*state);
}

static void test_mount_error_names_the_missing_lower_directory(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_store_layer l1;
    make_base_layer(f, &l1);
    /* Recorded, but its tree is gone (what `store check` reports). */
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_remove_tree(f->s->layersfd, kn_digest_hex(&l1.diff_id), &err), 0);
    assert_null(kn_snapshot_mount(f->s, &l1.diff_id, 1, &err));
    assert_int_equal(err.code, ENOENT);
    if (!strstr(err.msg, kn_digest_hex(&l1.diff_id)) || !strstr(err.msg, "mount a snapshot"))
        fail_msg("unclear error: %s", err.msg);
    kn_strvec work = KN_STRVEC_INIT;
    assert_int_equal(kn_dir_names(f->s->workfd, &work, &err), 0);
    assert_int_equal(work.len, 0);
    kn_strvec_free(&work);
}

static void test_mount_refuses_an_unrecorded_layer(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_digest missing;
    kn_sha256_digest("nothing", 7, &missing);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_null(kn_snapshot_mount(f->s, &missing, 1, &err));
    assert_int_equal(err.code, ENOENT);
    assert_non_null(strstr(err.msg, "is not in the store"));
    kn_strvec work = KN_STRVEC_INIT;
    assert_int_equal(kn_dir_names(f->s->workfd, &work, &err), 0);
    assert_int_equal(work.len, 0);
    kn_strvec_free(&work);
}

static void test_unmount_detaches_a_busy_mount(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    kn_snapshot *snap = mount_snap(f, NULL, 0);
    int m = open_dir(snap->merged);
    write_at(m, "held", "open");
    int held = openat(m, "held", O_RDONLY | O_CLOEXEC);
    close(m);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_snapshot_unmount(snap, &err), 0);
    assert_false(snap->is_mounted);
    assert_false(is_mounted(snap->merged));
    close(held);
    /* A second unmount has nothing to do. */
    assert_int_equal(kn_snapshot_unmount(snap, &err), 0);
}

static void test_sweep_unmounts_only_mounts_of_dead_processes(void **state)
{
    NEED_ROOT();
    fixture *f = *state;
    int tmpfd = f->s->tmpfd;
    /* A killed kiln's work directory (nobody holds its lock), with a name
     * mountinfo has to escape. */
    mkdir_at(tmpfd, "dead 1");
    mkdir_at(tmpfd, "dead 1/snap merged");
    char dead[1024];
    snprintf(dead, sizeof(dead), "%s/store/tmp/dead 1/snap merged", f->dir);
    assert_int_equal(mount("kiln", dead, "tmpfs", 0, NULL), 0);
    /* Another live process's work directory: its lock is held. */
    mkdir_at(tmpfd, "alive-2");
    mkdir_at(tmpfd, "alive-2/m");
    char alive[1024];
    snprintf(alive, sizeof(alive), "%s/store/tmp/alive-2/m", f->dir);
    assert_int_equal(mount("kiln", alive, "tmpfs", 0, NULL), 0);
    int lock = openat(tmpfd, "alive-2", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(flock(lock, LOCK_EX | LOCK_NB), 0);
    /* And this process's own snapshot. */
    kn_snapshot *own = mount_snap(f, NULL, 0);
    assert_true(is_mounted(dead));

    kn_snapshot_sweep_mounts(f->s);
    assert_false(is_mounted(dead));
    assert_true(is_mounted(alive));
    assert_true(is_mounted(own->merged));
    close(lock);
    assert_int_equal(umount2(alive, 0), 0);
}

int main(void)
{
    /* A private mount namespace: whatever a crashed test leaves mounted goes
     * away with this process (the teardown covers failed assertions). */
    if (geteuid() == 0 &&
        (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)) {
        fprintf(stderr, "private mount namespace: %s\n", strerror(errno));
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mount_without_lowers_starts_empty_and_commits_a_layer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_merged_view_hides_deleted_files_and_replaced_dirs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_lowers_order_puts_the_last_diff_id_on_top, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layer_blob_holds_sorted_oci_whiteouts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_adopted_layer_tree_keeps_whiteouts_and_drops_overlay_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_of_unchanged_snapshot_is_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_refuses_a_mounted_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_clamps_mtimes_and_reuses_a_recorded_layer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_stacks_more_layers_than_mount_options_hold,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_mount_shows_the_same_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renaming_a_lower_dir_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_mount_refuses_renaming_a_lower_dir, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mount_error_names_the_missing_lower_directory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mount_refuses_an_unrecorded_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmount_detaches_a_busy_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_unmounts_only_mounts_of_dead_processes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
