#include "store/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/vec.h"

#define COPY_BUF_SIZE (1 << 20)
#define BLOCK_SIZE (64 * 1024) /* bytes handed to `write` at a time, except the last */
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR OVERLAY_XATTR_PREFIX "opaque"

typedef struct sink {
    kn_write_fn write;
    void *ctx;
    kn_err *err;
    bool has_failed; /* write() failed and set err */
} sink;

typedef struct tar_writer {
    const kn_tarwrite_opts *opts;
    struct archive *archive;
    struct archive_entry *entry; /* reused for every entry */
    sink out;
    kn_buf path;  /* the entry being written, relative to the root */
    kn_map links; /* "dev:ino" -> path of the first name of a multiply linked file */
    char *buf;
} tar_writer;

typedef KN_VEC(char *) name_vec;

static void name_vec_free(name_vec *v)
{
    for (size_t i = 0; i < v->len; i++)
        free(v->items[i]);
    kn_vec_free(v);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- output ---- */

static la_ssize_t write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
    sink *out = data;
    if (out->write(out->ctx, buf, len, out->err) < 0) {
        out->has_failed = true;
        archive_set_error(a, EIO, "write failed");
        return -1;
    }
    return (la_ssize_t)len;
}

static int archive_failure(tar_writer *w, const char *what, kn_err *err)
{
    const char *where = w->path.len ? w->path.data : "tar";
    if (w->out.has_failed) /* the sink set err */
        return kn_err_wrap(err, "%s %s", what, where);
    const char *why = archive_error_string(w->archive);
    return kn_errf(err, KN_EFAILED, "%s %s: %s", what, where, why ? why : "tar error");
}

static int write_header(tar_writer *w, kn_err *err)
{
    if (archive_write_header(w->archive, w->entry) < ARCHIVE_WARN)
        return archive_failure(w, "write", err);
    return 0;
}

/* Start an entry named `name` with the owner and mtime of st: no uname,
 * gname, atime or ctime, so that the bytes depend on the tree alone. */
static void start_entry(tar_writer *w, const char *name, const struct stat *st, mode_t type,
                        mode_t perm)
{
    int64_t mtime = st->st_mtim.tv_sec;
    if (w->opts->clamp_mtime && mtime > w->opts->mtime_max)
        mtime = w->opts->mtime_max;
    archive_entry_clear(w->entry);
    archive_entry_set_pathname(w->entry, name);
    archive_entry_set_filetype(w->entry, type);
    archive_entry_set_perm(w->entry, perm);
    archive_entry_set_uid(w->entry, st->st_uid);
    archive_entry_set_gid(w->entry, st->st_gid);
    archive_entry_set_mtime(w->entry, mtime, 0);
}

/* An empty regular file entry, for OCI whiteouts. */
static int write_marker(tar_writer *w, const char *name, const struct stat *st, kn_err *err)
{
    start_entry(w, name, st, AE_IFREG, 0);
    archive_entry_set_size(w->entry, 0);
    return write_header(w, err);
}

/* ---- reading the tree ---- */

static int read_names(int dirfd, name_vec *names, kn_err *err)
{
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return kn_errf(err, errno, "dup");
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return kn_errf(err, errno, "open directory");
    }
    rewinddir(dir); /* the offset is shared with dirfd */
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            kn_vec_push(names, kn_xstrdup(de->d_name));
        errno = 0;
    }
    int e = errno;
    closedir(dir);
    if (e)
        return kn_errf(err, e, "read directory");
    if (names->len > 1)
        qsort(names->items, names->len, sizeof(char *), compare_names);
    return 0;
}

/* The xattrs of fd, sorted by name, into the current entry. trusted.overlay.*
 * is overlay's own state, never content; *is_opaque says whether it marked
 * the directory opaque. */
static int add_xattrs(tar_writer *w, int fd, bool *is_opaque, kn_err *err)
{
    *is_opaque = false;
    kn_autofree char *list = NULL;
    ssize_t list_size;
    for (;;) {
        list_size = flistxattr(fd, NULL, 0);
        if (list_size < 0) {
            if (errno == ENOTSUP)
                return 0;
            return kn_errf(err, errno, "list xattrs of %s", w->path.data);
        }
        if (list_size == 0)
            return 0;
        free(list);
        list = kn_xmalloc((size_t)list_size);
        list_size = flistxattr(fd, list, (size_t)list_size);
        if (list_size >= 0)
            break;
        if (errno != ERANGE) /* ERANGE: one was added meanwhile */
            return kn_errf(err, errno, "list xattrs of %s", w->path.data);
    }
    size_t n_keys = 0;
    for (ssize_t i = 0; i < list_size; i++)
        n_keys += list[i] == '\0';
    kn_autofree const char **keys = kn_xcalloc(n_keys ? n_keys : 1, sizeof(char *));
    n_keys = 0;
    for (const char *k = list; k < list + list_size; k += strlen(k) + 1) {
        if (!strcmp(k, OVERLAY_OPAQUE_XATTR)) {
            char value[2];
            *is_opaque = fgetxattr(fd, k, value, sizeof(value)) == 1 && value[0] == 'y';
        }
        if (*k && strncmp(k, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)))
            keys[n_keys++] = k;
    }
    if (n_keys > 1)
        qsort(keys, n_keys, sizeof(char *), compare_names);
    for (size_t i = 0; i < n_keys; i++) {
        kn_autofree char *value = NULL;
        ssize_t size;
        for (;;) {
            size = fgetxattr(fd, keys[i], NULL, 0);
            if (size < 0)
                break;
            free(value);
            value = kn_xmalloc(size ? (size_t)size : 1);
            size = fgetxattr(fd, keys[i], value, (size_t)size);
            if (size >= 0 || errno != ERANGE)
                break;
        }
        if (size < 0) {
            if (errno == ENODATA)
                continue; /* removed meanwhile */
            return kn_errf(err, errno, "read xattr %s of %s", keys[i], w->path.data);
        }
        archive_entry_xattr_add_entry(w->entry, keys[i], value, (size_t)size);
    }
    return 0;
}

/* Returns -1 with errno set on failure. */
static int read_link(int dirfd, const char *name, size_t hint, kn_buf *target)
{
    for (size_t size = hint + 1;; size *= 2) {
        if (kn_buf_grow(target, size) < 0)
            return -1;
        ssize_t n = readlinkat(dirfd, name, target->data, size);
        if (n < 0)
            return -1;
        if ((size_t)n < size) {
            target->len = (size_t)n;
            target->data[n] = '\0';
            return 0;
        }
    }
}

/* For a name the tree holds more than once: true, with the entry made a
 * hardlink to the first name, when that was already written. */
static bool link_to_first(tar_writer *w, const struct stat *st)
{
    if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
        return false;
    char key[64];
    snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
    const char *first = kn_map_get(&w->links, key);
    if (!first) {
        kn_map_set(&w->links, key, kn_xstrdup(w->path.data));
        return false;
    }
    start_entry(w, w->path.data, st, AE_IFREG, st->st_mode & 07777);
    archive_entry_set_hardlink(w->entry, first);
    archive_entry_set_size(w->entry, 0);
    return true;
}

static int write_file(tar_writer *w, int dirfd, const char *name, kn_err *err)
{
    /* O_NONBLOCK: should a FIFO have taken the file's place, open must not hang. */
    kn_autoclose int fd =
        openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return kn_errf(err, errno, "open %s", w->path.data);
    if (!S_ISREG(st.st_mode))
        return kn_errf(err, KN_EFAILED, "read %s: changed while the layer was written",
                       w->path.data);
    if (link_to_first(w, &st))
        return write_header(w, err);
    start_entry(w, w->path.data, &st, AE_IFREG, st.st_mode & 07777);
    archive_entry_set_size(w->entry, st.st_size);
    bool is_opaque;
    if (add_xattrs(w, fd, &is_opaque, err) < 0 || write_header(w, err) < 0)
        return -1;
    /* A file that shrinks meanwhile is padded with zeros by libarchive. */
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = read(fd, w->buf, left < COPY_BUF_SIZE ? (size_t)left : COPY_BUF_SIZE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kn_errf(err, errno, "read %s", w->path.data);
        }
        if (n == 0)
            break;
        if (archive_write_data(w->archive, w->buf, (size_t)n) < 0)
            return archive_failure(w, "write", err);
        left -= n;
    }
    return 0;
}

static int write_tree(tar_writer *w, int dirfd, kn_err *err);

static int write_dir(tar_writer *w, int dirfd, const char *name, kn_err *err)
{
    kn_autoclose int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return kn_errf(err, errno, "open %s", w->path.data);
    size_t len = w->path.len;
    kn_buf_addc(&w->path, '/');
    start_entry(w, w->path.data, &st, AE_IFDIR, st.st_mode & 07777);
    bool is_opaque;
    if (add_xattrs(w, fd, &is_opaque, err) < 0 || write_header(w, err) < 0)
        return -1;
    if (is_opaque && w->opts->overlay_whiteouts) {
        kn_buf_adds(&w->path, WHITEOUT_OPAQUE);
        if (write_marker(w, w->path.data, &st, err) < 0)
            return -1;
    }
    kn_buf_truncate(&w->path, len);
    return write_tree(w, fd, err);
}

static int write_other(tar_writer *w, int dirfd, const char *name, const struct stat *st,
                       kn_err *err)
{
    if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0) && w->opts->overlay_whiteouts) {
        /* Overlay shares one inode among whiteouts: never a hardlink. */
        size_t len = w->path.len;
        kn_buf_truncate(&w->path, len - strlen(name));
        kn_buf_addf(&w->path, WHITEOUT_PREFIX "%s", name);
        return write_marker(w, w->path.data, st, err);
    }
    if (link_to_first(w, st))
        return write_header(w, err);
    if (S_ISLNK(st->st_mode)) {
        kn_autobuf kn_buf target = KN_BUF_INIT;
        if (read_link(dirfd, name, (size_t)st->st_size, &target) < 0)
            return kn_errf(err, errno, "read symlink %s", w->path.data);
        start_entry(w, w->path.data, st, AE_IFLNK, st->st_mode & 07777);
        archive_entry_set_symlink(w->entry, target.data);
    } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
        start_entry(w, w->path.data, st, S_ISCHR(st->st_mode) ? AE_IFCHR : AE_IFBLK,
                    st->st_mode & 07777);
        archive_entry_set_rdevmajor(w->entry, major(st->st_rdev));
        archive_entry_set_rdevminor(w->entry, minor(st->st_rdev));
    } else {
        start_entry(w, w->path.data, st, AE_IFIFO, st->st_mode & 07777);
    }
    return write_header(w, err);
}

/* Every entry below dirfd, by byte order of name, each directory before its
 * contents. Symlinks, devices and FIFOs carry no xattrs. */
static int write_tree(tar_writer *w, int dirfd, kn_err *err)
{
    __attribute__((cleanup(name_vec_free))) name_vec names = {NULL, 0, 0};
    if (read_names(dirfd, &names, err) < 0)
        return kn_err_wrap(err, "%s", w->path.len ? w->path.data : ".");
    size_t len = w->path.len;
    for (size_t i = 0; i < names.len; i++) {
        const char *name = names.items[i];
        if (len)
            kn_buf_addc(&w->path, '/');
        kn_buf_adds(&w->path, name);
        struct stat st;
        int rc;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            rc = errno == ENOENT ? 0 : kn_errf(err, errno, "stat %s", w->path.data);
        else if (S_ISDIR(st.st_mode))
            rc = write_dir(w, dirfd, name, err);
        else if (S_ISREG(st.st_mode))
            rc = write_file(w, dirfd, name, err);
        else if (S_ISSOCK(st.st_mode))
            rc = 0; /* a socket is a running process's, not the image's */
        else
            rc = write_other(w, dirfd, name, &st, err);
        if (rc < 0)
            return -1;
        kn_buf_truncate(&w->path, len);
    }
    return 0;
}

/* ---- the stream ---- */

static void tar_writer_free(tar_writer *w)
{
    if (w->archive)
        archive_write_free(w->archive);
    if (w->entry)
        archive_entry_free(w->entry);
    kn_buf_free(&w->path);
    kn_map_free(&w->links);
    free(w->buf);
}

int kn_tarwrite_tree(int dirfd, const kn_tarwrite_opts *opts, kn_write_fn write, void *ctx,
                     kn_err *err)
{
    static const kn_tarwrite_opts no_opts = {0};
    __attribute__((cleanup(tar_writer_free))) tar_writer w = {
        .opts = opts ? opts : &no_opts,
        .out = {write, ctx, err, false},
        .path = KN_BUF_INIT,
        .links = KN_MAP_INIT(free),
        .buf = kn_xmalloc(COPY_BUF_SIZE),
    };
    w.archive = archive_write_new();
    w.entry = archive_entry_new();
    if (!w.archive || !w.entry)
        return kn_errf(err, ENOMEM, "write tar");
    /* pax headers only where ustar cannot say it (long names, big numbers,
     * xattrs), and those as SCHILY.xattr only, as Go's archive/tar writes
     * them. The end is two zero blocks without padding, as Go writes it. */
    if (archive_write_set_format_pax_restricted(w.archive) != ARCHIVE_OK ||
        archive_write_set_format_option(w.archive, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w.archive, BLOCK_SIZE) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w.archive, 1) != ARCHIVE_OK ||
        archive_write_open(w.archive, &w.out, NULL, write_cb, NULL) != ARCHIVE_OK)
        return archive_failure(&w, "start", err);
    if (write_tree(&w, dirfd, err) < 0)
        return -1;
    kn_buf_reset(&w.path);
    if (archive_write_close(w.archive) != ARCHIVE_OK)
        return archive_failure(&w, "finish", err);
    return 0;
}
