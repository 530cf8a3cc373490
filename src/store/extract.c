#include "store/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/vec.h"

#define READ_BUF_SIZE (1 << 20) /* libarchive hands file data out of this buffer */
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."

/* The directories from the layer root down to where the last entry went,
 * each opened with O_NOFOLLOW. Tar streams list a directory's entries
 * together, so most entries find their parent already open. */
typedef struct dir_level {
    char *name;
    size_t len;
    int fd; /* owned */
} dir_level;

typedef struct dir_stack {
    int rootfd; /* borrowed */
    KN_VEC(dir_level) levels;
} dir_stack;

/* A directory entry whose mode and times are set once everything below it
 * is written: creating children changes a directory's mtime, and a
 * read-only mode would stop an unprivileged extraction from filling it. */
typedef struct dir_fixup {
    char *path;   /* cleaned, owned */
    size_t depth; /* number of components */
    size_t index; /* order in the archive: the last entry for a path wins */
    mode_t mode;
    struct timespec times[2];
} dir_fixup;

typedef struct source {
    kn_read_fn read;
    void *ctx;
    kn_err *err;
    bool has_failed; /* read() failed and set err */
    char *buf;
} source;

typedef struct extractor {
    const kn_extract_opts *opts;
    struct archive *archive;
    source src;
    dir_stack dirs;
    KN_VEC(dir_fixup) fixups;
    kn_extract_stats stats;
} extractor;

/* ---- the directory stack ---- */

static int stack_top(const dir_stack *s)
{
    return s->levels.len ? s->levels.items[s->levels.len - 1].fd : s->rootfd;
}

static void stack_truncate(dir_stack *s, size_t depth)
{
    while (s->levels.len > depth) {
        dir_level *l = &s->levels.items[--s->levels.len];
        free(l->name);
        kn_closep(&l->fd);
    }
}

static void stack_free(dir_stack *s)
{
    stack_truncate(s, 0);
    kn_vec_free(&s->levels);
}

static void stack_push(dir_stack *s, const char *name, size_t len, int fd)
{
    dir_level l = {kn_xstrndup(name, len), len, fd};
    kn_vec_push(&s->levels, l);
}

/* Why the directory `name` in `parentfd` could not be opened: a symlink or
 * another non-directory in the way is the layer's fault, not the system's. */
static int explain_open_failure(int parentfd, const char *name, const char *entry, const char *dir,
                                size_t dir_len, kn_err *err)
{
    int e = errno;
    struct stat st;
    if ((e == ENOTDIR || e == ELOOP) && fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return kn_errf(err, KN_ECORRUPT, "entry %s: %.*s is a symlink, not followed", entry,
                           (int)dir_len, dir);
        return kn_errf(err, KN_ECORRUPT, "entry %s: %.*s is not a directory", entry, (int)dir_len,
                       dir);
    }
    return kn_errf(err, e, "entry %s: open %.*s", entry, (int)dir_len, dir);
}

/* Make the stack hold exactly the directories of `dir` (cleaned, "" for the
 * layer root) and return the fd of `dir` (borrowed from the stack). Each
 * component is opened with O_NOFOLLOW, so a symlink among them is an error,
 * never followed; with `create`, missing ones are made. */
static int stack_walk(dir_stack *s, const char *dir, bool create, const char *entry, kn_err *err)
{
    size_t depth = 0;
    const char *p = dir;
    while (*p && depth < s->levels.len) {
        size_t len = strcspn(p, "/");
        const dir_level *l = &s->levels.items[depth];
        if (l->len != len || memcmp(l->name, p, len) != 0)
            break;
        depth++;
        p += len;
        p += *p == '/';
    }
    stack_truncate(s, depth);
    while (*p) {
        size_t len = strcspn(p, "/");
        kn_autofree char *name = kn_xstrndup(p, len);
        int parentfd = stack_top(s);
        int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            if (mkdirat(parentfd, name, 0755) < 0 && errno != EEXIST)
                return kn_errf(err, errno, "entry %s: create %.*s", entry, (int)(p - dir + len),
                               dir);
            fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
            return explain_open_failure(parentfd, name, entry, dir, (size_t)(p - dir) + len, err);
        stack_push(s, p, len, fd);
        p += len;
        p += *p == '/';
    }
    return stack_top(s);
}

/* ---- names ---- */

/* The entry name as a path below the layer root: leading slashes dropped (as
 * tar does), cleaned. NULL when it climbs out of the layer. Caller frees. */
static char *layer_path(const char *name)
{
    while (*name == '/')
        name++;
    char *path = kn_path_clean(name);
    if (!kn_path_is_within(path)) {
        free(path);
        return NULL;
    }
    return path;
}

/* Split a cleaned path into its directory ("" for the root) and last name.
 * Returns a new string for the directory; *base points into path. */
static char *split_path(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    return kn_xstrndup(path, slash ? (size_t)(slash - path) : 0);
}

/* ---- making room and metadata ---- */

/* Remove whatever is at `name` in `parentfd`, directories with their
 * contents, never following a symlink. */
static int clear_way(int parentfd, const char *name, const char *entry, kn_err *err)
{
    if (unlinkat(parentfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return kn_errf(err, errno, "entry %s: remove what is in the way", entry);
    if (kn_remove_tree(parentfd, name, err) < 0)
        return kn_err_wrap(err, "entry %s: remove what is in the way", entry);
    return 0;
}

static void entry_times(struct archive_entry *e, struct timespec times[2])
{
    long mtime_nsec = archive_entry_mtime_nsec(e);
    times[1].tv_sec = archive_entry_mtime(e);
    times[1].tv_nsec = mtime_nsec >= 0 && mtime_nsec < 1000000000 ? mtime_nsec : 0;
    times[0] = times[1];
    if (archive_entry_atime_is_set(e)) {
        long atime_nsec = archive_entry_atime_nsec(e);
        times[0].tv_sec = archive_entry_atime(e);
        times[0].tv_nsec = atime_nsec >= 0 && atime_nsec < 1000000000 ? atime_nsec : 0;
    }
}

static int entry_owner(struct archive_entry *e, const char *entry, uid_t *uid, gid_t *gid,
                       kn_err *err)
{
    la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
    /* (uid_t)-1 would mean "leave unchanged" to chown. */
    if (u < 0 || g < 0 || u >= (la_int64_t)UINT32_MAX || g >= (la_int64_t)UINT32_MAX)
        return kn_errf(err, KN_ECORRUPT, "entry %s: owner %" PRId64 ":%" PRId64 " out of range",
                       entry, (int64_t)u, (int64_t)g);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

/* Owner of the entry at `name` in `parentfd` (or of `fd` when it is >= 0),
 * only as root: an unprivileged extraction owns everything it makes. */
static int set_owner(extractor *x, struct archive_entry *e, int fd, int parentfd, const char *name,
                     const char *entry, kn_err *err)
{
    if (!x->opts->as_root)
        return 0;
    uid_t uid = 0;
    gid_t gid = 0;
    if (entry_owner(e, entry, &uid, &gid, err) < 0)
        return -1;
    int rc =
        fd >= 0 ? fchown(fd, uid, gid) : fchownat(parentfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc < 0)
        return kn_errf(err, errno, "entry %s: chown", entry);
    return 0;
}

/* The entry's xattrs on `fd`. trusted.overlay.* from an archive is never
 * applied: only whiteout entries may mark overlay state. Without root only
 * user.* can be set; the kernel allows user.* on files and directories only,
 * so `path_fd` (an O_PATH fd of anything else) gets the others, through its
 * /proc/self/fd link. */
static int set_xattrs(extractor *x, struct archive_entry *e, int fd, bool is_path_fd,
                      const char *entry, kn_err *err)
{
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    char proc_path[64];
    snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
    const char *key;
    const void *value;
    size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
        bool is_user = strncmp(key, "user.", 5) == 0;
        if (!strncmp(key, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) ||
            (!x->opts->as_root && !is_user) || (is_path_fd && is_user))
            continue;
        int rc = is_path_fd ? setxattr(proc_path, key, value, size, 0)
                            : fsetxattr(fd, key, value, size, 0);
        /* ENOTSUP: the file system keeps no xattrs of that kind (as tar, go on). */
        if (rc < 0 && errno != ENOTSUP)
            return kn_errf(err, errno, "entry %s: set xattr %s", entry, key);
    }
    return 0;
}

/* Owner, mode, xattrs and times of a non-directory just made at `name` in
 * parentfd that cannot be opened for writing (symlinks, devices, FIFOs). */
static int finish_node(extractor *x, struct archive_entry *e, int parentfd, const char *name,
                       bool has_mode, const char *entry, kn_err *err)
{
    if (set_owner(x, e, -1, parentfd, name, entry, err) < 0)
        return -1;
    if (has_mode &&
        fchmodat(parentfd, name, archive_entry_perm(e) & 07777, AT_SYMLINK_NOFOLLOW) < 0)
        return kn_errf(err, errno, "entry %s: chmod", entry);
    if (archive_entry_xattr_count(e) > 0) {
        kn_autoclose int fd = openat(parentfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return kn_errf(err, errno, "entry %s: open", entry);
        if (set_xattrs(x, e, fd, true, entry, err) < 0)
            return -1;
    }
    struct timespec times[2];
    entry_times(e, times);
    if (utimensat(parentfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return kn_errf(err, errno, "entry %s: set times", entry);
    return 0;
}

/* ---- one entry per file type ---- */

static int archive_failure(extractor *x, const char *what, const char *entry, kn_err *err)
{
    if (x->src.has_failed) /* the reader set err */
        return kn_err_wrap(err, "%s %s", what, entry);
    return kn_errf(err, KN_ECORRUPT, "%s %s: %s", what, entry,
                   archive_error_string(x->archive) ? archive_error_string(x->archive)
                                                    : "unreadable tar");
}

static int pwrite_all(int fd, const char *data, size_t len, off_t offset)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, data, len, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
        offset += n;
    }
    return 0;
}

static int extract_file(extractor *x, struct archive_entry *e, int parentfd, const char *name,
                        const char *entry, kn_err *err)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    kn_autoclose int fd = openat(parentfd, name, flags, 0600);
    if (fd < 0 && errno == EEXIST) {
        if (clear_way(parentfd, name, entry, err) < 0)
            return -1;
        fd = openat(parentfd, name, flags, 0600);
    }
    if (fd < 0)
        return kn_errf(err, errno, "entry %s: create", entry);

    /* Blocks come with their offsets: the gaps of a sparse file stay holes. */
    off_t end = 0;
    for (;;) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(x->archive, &block, &size, &offset);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return archive_failure(x, "read", entry, err);
        if (offset < 0 || offset > INT64_MAX - (la_int64_t)size)
            return kn_errf(err, KN_ECORRUPT, "entry %s: data offset out of range", entry);
        if (size > 0 && pwrite_all(fd, block, size, (off_t)offset) < 0)
            return kn_errf(err, errno, "entry %s: write", entry);
        x->stats.n_bytes += size;
        if ((off_t)offset + (off_t)size > end)
            end = (off_t)offset + (off_t)size;
    }
    la_int64_t size = archive_entry_size(e);
    if (size > 0 && end != (off_t)size && ftruncate(fd, (off_t)size) < 0)
        return kn_errf(err, errno, "entry %s: set size", entry);

    if (set_owner(x, e, fd, parentfd, name, entry, err) < 0)
        return -1;
    /* After chown, which clears the setuid and setgid bits. */
    if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
        return kn_errf(err, errno, "entry %s: chmod", entry);
    if (set_xattrs(x, e, fd, false, entry, err) < 0)
        return -1;
    struct timespec times[2];
    entry_times(e, times);
    if (futimens(fd, times) < 0)
        return kn_errf(err, errno, "entry %s: set times", entry);
    return 0;
}

static int extract_dir(extractor *x, struct archive_entry *e, int parentfd, const char *path,
                       const char *name, const char *entry, kn_err *err)
{
    /* 0700 until the fixup: the entries below still have to be written. */
    if (mkdirat(parentfd, name, 0700) < 0) {
        struct stat st;
        if (errno != EEXIST)
            return kn_errf(err, errno, "entry %s: create", entry);
        if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return kn_errf(err, errno, "entry %s: stat", entry);
        if (!S_ISDIR(st.st_mode)) { /* a symlink in the way is replaced, not followed */
            if (clear_way(parentfd, name, entry, err) < 0)
                return -1;
            if (mkdirat(parentfd, name, 0700) < 0)
                return kn_errf(err, errno, "entry %s: create", entry);
        }
    }
    int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "entry %s: open", entry);
    /* The stack holds the parent: the directory goes on top, ready for the
     * entries inside it, which usually follow. */
    stack_push(&x->dirs, name, strlen(name), fd);
    if (set_owner(x, e, fd, parentfd, name, entry, err) < 0 ||
        set_xattrs(x, e, fd, false, entry, err) < 0)
        return -1;

    dir_fixup fix = {
        .path = kn_xstrdup(path),
        .depth = 1,
        .index = x->fixups.len,
        .mode = archive_entry_perm(e) & 07777,
    };
    for (const char *p = path; *p; p++)
        fix.depth += *p == '/';
    entry_times(e, fix.times);
    kn_vec_push(&x->fixups, fix);
    return 0;
}

static int extract_symlink(extractor *x, struct archive_entry *e, int parentfd, const char *name,
                           const char *entry, kn_err *err)
{
    const char *target = archive_entry_symlink(e);
    if (!target || !*target)
        return kn_errf(err, KN_ECORRUPT, "entry %s: symlink without a target", entry);
    /* The target is stored as it is: nothing here ever follows it. */
    if (symlinkat(target, parentfd, name) < 0) {
        if (errno != EEXIST)
            return kn_errf(err, errno, "entry %s: create symlink", entry);
        if (clear_way(parentfd, name, entry, err) < 0)
            return -1;
        if (symlinkat(target, parentfd, name) < 0)
            return kn_errf(err, errno, "entry %s: create symlink", entry);
    }
    return finish_node(x, e, parentfd, name, false, entry, err);
}

static int extract_hardlink(extractor *x, const char *target_name, int parentfd, const char *path,
                            const char *name, const char *entry, kn_err *err)
{
    kn_autofree char *target = layer_path(target_name);
    if (!target)
        return kn_errf(err, KN_ECORRUPT, "entry %s: link target %s escapes the layer", entry,
                       target_name);
    if (!strcmp(target, "."))
        return kn_errf(err, KN_ECORRUPT, "entry %s: link target %s is the layer root", entry,
                       target_name);
    if (!strcmp(target, path))
        return 0; /* a link to itself: it is already there */
    const char *target_base;
    kn_autofree char *target_dir = split_path(target, &target_base);
    /* Its own stack: the main one keeps the entry's parent open. */
    __attribute__((cleanup(stack_free))) dir_stack tdirs = {x->dirs.rootfd, {NULL, 0, 0}};
    int tparentfd = stack_walk(&tdirs, target_dir, false, entry, err);
    if (tparentfd < 0)
        return -1;
    /* Without AT_SYMLINK_FOLLOW a symlink target is linked as the symlink. */
    if (linkat(tparentfd, target_base, parentfd, name, 0) == 0)
        return 0;
    if (errno != EEXIST)
        return kn_errf(err, errno, "entry %s: link to %s", entry, target_name);
    if (clear_way(parentfd, name, entry, err) < 0)
        return -1;
    if (linkat(tparentfd, target_base, parentfd, name, 0) < 0)
        return kn_errf(err, errno, "entry %s: link to %s", entry, target_name);
    return 0;
}

static int extract_node(extractor *x, struct archive_entry *e, int parentfd, const char *name,
                        const char *entry, kn_err *err)
{
    mode_t type = archive_entry_filetype(e);
    if (type != AE_IFIFO && !x->opts->as_root)
        return kn_errf(err, EPERM, "entry %s: device nodes need root", entry);
    dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
    if (mknodat(parentfd, name, type | 0600, dev) < 0) {
        if (errno != EEXIST)
            return kn_errf(err, errno, "entry %s: create node", entry);
        if (clear_way(parentfd, name, entry, err) < 0)
            return -1;
        if (mknodat(parentfd, name, type | 0600, dev) < 0)
            return kn_errf(err, errno, "entry %s: create node", entry);
    }
    return finish_node(x, e, parentfd, name, true, entry, err);
}

/* `.wh.NAME` hides NAME of the layers below: overlay's 0/0 character device.
 * `.wh..wh..opq` hides everything below its directory: the opaque xattr. */
static int extract_whiteout(extractor *x, struct archive_entry *e, int parentfd, const char *name,
                            const char *entry, kn_err *err)
{
    if (!strcmp(name, WHITEOUT_OPAQUE)) {
        if (fsetxattr(parentfd, OVERLAY_XATTR_PREFIX "opaque", "y", 1, 0) < 0)
            return kn_errf(err, errno, "entry %s: mark directory opaque", entry);
        return 0;
    }
    if (!strncmp(name, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)))
        return 0; /* aufs bookkeeping (.wh..wh.plnk and the like): nothing to hide */
    const char *hidden = name + strlen(WHITEOUT_PREFIX);
    if (!*hidden || !strcmp(hidden, ".") || !strcmp(hidden, ".."))
        return kn_errf(err, KN_ECORRUPT, "entry %s: whiteout hides no name", entry);
    if (clear_way(parentfd, hidden, entry, err) < 0)
        return -1;
    if (mknodat(parentfd, hidden, S_IFCHR, makedev(0, 0)) < 0)
        return kn_errf(err, errno, "entry %s: create whiteout", entry);
    return set_owner(x, e, -1, parentfd, hidden, entry, err);
}

static int extract_entry(extractor *x, struct archive_entry *e, const char *entry, kn_err *err)
{
    kn_autofree char *path = layer_path(entry);
    if (!path)
        return kn_errf(err, KN_ECORRUPT, "entry %s: escapes the layer", entry);
    if (strlen(path) >= PATH_MAX)
        return kn_errf(err, ENAMETOOLONG, "entry %.64s...", entry);
    mode_t type = archive_entry_filetype(e);
    const char *hardlink = archive_entry_hardlink(e);
    if (!strcmp(path, ".")) {
        if (type == AE_IFDIR && !hardlink)
            return 0; /* the layer root itself: the caller made it */
        return kn_errf(err, KN_ECORRUPT, "entry %s: names the layer root", entry);
    }
    const char *name;
    kn_autofree char *dir = split_path(path, &name);
    int parentfd = stack_walk(&x->dirs, dir, true, entry, err);
    if (parentfd < 0)
        return -1;

    if (!strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)))
        return extract_whiteout(x, e, parentfd, name, entry, err);
    if (hardlink)
        return extract_hardlink(x, hardlink, parentfd, path, name, entry, err);
    switch (type) {
    case AE_IFREG:
        return extract_file(x, e, parentfd, name, entry, err);
    case AE_IFDIR:
        return extract_dir(x, e, parentfd, path, name, entry, err);
    case AE_IFLNK:
        return extract_symlink(x, e, parentfd, name, entry, err);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        return extract_node(x, e, parentfd, name, entry, err);
    default:
        return kn_errf(err, KN_ECORRUPT, "entry %s: unsupported file type 0%o", entry,
                       (unsigned)type);
    }
}

/* ---- directories, last ---- */

static int compare_fixups(const void *a, const void *b)
{
    const dir_fixup *fa = a, *fb = b;
    if (fa->depth != fb->depth)
        return fa->depth > fb->depth ? -1 : 1; /* deepest first */
    int c = strcmp(fa->path, fb->path);
    if (c)
        return c;
    return fa->index > fb->index ? -1 : fa->index < fb->index; /* latest first */
}

/* Modes and times of directory entries, deepest first so that a parent's
 * mode never stops the walk to its children. A directory replaced by a later
 * entry is gone: its fixup no longer applies. */
static int fix_dirs(extractor *x, kn_err *err)
{
    if (x->fixups.len > 1)
        qsort(x->fixups.items, x->fixups.len, sizeof(dir_fixup), compare_fixups);
    for (size_t i = 0; i < x->fixups.len; i++) {
        const dir_fixup *fix = &x->fixups.items[i];
        if (i > 0 && !strcmp(fix->path, x->fixups.items[i - 1].path))
            continue; /* an earlier entry for the same directory */
        int fd = stack_walk(&x->dirs, fix->path, false, fix->path, err);
        if (fd < 0) {
            if (err->code != ENOENT && err->code != KN_ECORRUPT)
                return -1;
            kn_err_clear(err);
            continue;
        }
        if (fchmod(fd, fix->mode) < 0)
            return kn_errf(err, errno, "entry %s: chmod", fix->path);
        if (futimens(fd, fix->times) < 0)
            return kn_errf(err, errno, "entry %s: set times", fix->path);
    }
    return 0;
}

/* ---- the stream ---- */

static la_ssize_t read_cb(struct archive *a, void *data, const void **block)
{
    source *src = data;
    ssize_t n = src->read(src->ctx, src->buf, READ_BUF_SIZE, src->err);
    if (n < 0) {
        src->has_failed = true;
        archive_set_error(a, EIO, "read failed");
        return -1;
    }
    *block = src->buf;
    return n;
}

static void extractor_free(extractor *x)
{
    if (x->archive)
        archive_read_free(x->archive);
    free(x->src.buf);
    stack_free(&x->dirs);
    for (size_t i = 0; i < x->fixups.len; i++)
        free(x->fixups.items[i].path);
    kn_vec_free(&x->fixups);
}

int kn_extract_tar(int dirfd, kn_read_fn read, void *ctx, const kn_extract_opts *opts,
                   kn_extract_stats *stats, kn_err *err)
{
    static const kn_extract_opts no_opts = {0};
    __attribute__((cleanup(extractor_free))) extractor x = {
        .opts = opts ? opts : &no_opts,
        .src = {read, ctx, err, false, kn_xmalloc(READ_BUF_SIZE)},
        .dirs = {dirfd, {NULL, 0, 0}},
    };
    x.archive = archive_read_new();
    if (!x.archive)
        return kn_errf(err, ENOMEM, "read tar");
    /* Plain tar (ustar, pax, GNU, v7) only: callers decompress. An empty
     * stream is an empty layer. */
    archive_read_support_format_tar(x.archive);
    archive_read_support_format_empty(x.archive);
    if (archive_read_open(x.archive, &x.src, NULL, read_cb, NULL) != ARCHIVE_OK)
        return archive_failure(&x, "read", "tar", err);

    kn_autofree char *last = NULL;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(x.archive, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            if (!last)
                return archive_failure(&x, "read", "tar", err);
            return archive_failure(&x, "read tar after entry", last, err);
        }
        x.stats.n_entries++;
        const char *entry = archive_entry_pathname(e);
        if (!entry)
            return kn_errf(err, KN_ECORRUPT, "entry %" PRIu64 ": unreadable name",
                           x.stats.n_entries);
        free(last);
        last = kn_xstrdup(entry);
        if (extract_entry(&x, e, last, err) < 0)
            return -1;
    }
    if (fix_dirs(&x, err) < 0)
        return -1;
    if (stats)
        *stats = x.stats;
    return 0;
}
