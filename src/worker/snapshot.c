/* Overlay snapshots for build steps (see snapshot.h).
 *
 * A snapshot is tmp/<work>/snap-N/ with upper/, work/ and merged/ (and
 * empty/, the one lower directory of a FROM scratch root). The overlay is
 * mounted with redirect_dir, index and metacopy off, so the upper directory
 * is a self-contained diff: a renamed lower directory is copied up whole
 * (rename(2) gives EXDEV and tools fall back to copying), never recorded as
 * a redirect xattr that would mean nothing once upper/ becomes a layer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/vec.h"
#include "image/manifest.h"
#include "store/compress.h"
#include "store/tarwrite.h"
#include "worker/snapshot.h"

#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
/* mount(2) copies at most one page of options, NUL included. */
#define LEGACY_OPTIONS_MAX 4096
/* Options that keep the upper directory a plain diff (see the top). */
static const char *const diff_options[][2] = {
    {"redirect_dir", "off"},
    {"index", "off"},
    {"metacopy", "off"},
};

/* The public struct first, so a kn_snapshot * is a snapshot *. */
typedef struct snapshot {
    kn_snapshot pub;
    int workfd;        /* the store's work directory (a dup, so free needs no store) */
    char *name;        /* the snapshot's directory in workfd; owned */
    kn_digest *lowers; /* bottom first; owned */
    size_t n_lowers;
} snapshot;

static bool force_legacy;

void kn_snapshot_force_legacy_mount(bool force)
{
    force_legacy = force;
}

/* The store's absolute path: overlay resolves its directory options as
 * paths, and mountinfo lists absolute mount points. Caller frees. */
static char *store_root(kn_store *s, kn_err *err)
{
    char *root = realpath(s->path, NULL);
    if (!root)
        kn_errf(err, errno, "resolve the store path %s", s->path);
    return root;
}

/* ---- mounting ---- */

/* Whether the running kernel is at least major.minor. */
static bool kernel_at_least(int major, int minor)
{
    struct utsname u;
    int got_major = 0, got_minor = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &got_major, &got_minor) != 2)
        return false;
    return got_major > major || (got_major == major && got_minor >= minor);
}

/* Appends what the kernel logged on the fs context (overlay says which
 * option or path it rejected), as "; kernel: ..." per message. */
static void add_fs_log(int fsfd, kn_buf *b)
{
    char msg[512];
    for (;;) {
        ssize_t n = read(fsfd, msg, sizeof(msg) - 1);
        if (n <= 0)
            return;
        msg[n] = '\0';
        if (n > 0 && msg[n - 1] == '\n')
            msg[n - 1] = '\0';
        /* Each message starts with its level: "e ", "w " or "i ". */
        kn_buf_addf(b, "; kernel: %s", n > 2 && msg[1] == ' ' ? msg + 2 : msg);
    }
}

static int fs_error(int fsfd, int code, kn_err *err, const char *what)
{
    kn_autobuf kn_buf log = KN_BUF_INIT;
    add_fs_log(fsfd, &log);
    return kn_errf(err, code, "%s%s", what, log.data);
}

static int set_option(int fsfd, const char *key, const char *value, kn_err *err)
{
    if (fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0) == 0)
        return 0;
    kn_autobuf kn_buf what = KN_BUF_INIT;
    kn_buf_addf(&what, "overlay option %s=%s", key, value);
    return fs_error(fsfd, errno, err, what.data);
}

/* Mounts with the new mount API, one `lowerdir+` per layer, topmost first
 * as overlay wants them. Returns 1 (nothing set in err) when the kernel
 * lacks the API or `lowerdir+`. */
static int mount_with_fsconfig(snapshot *snap, int snapfd, const char *root,
                               const kn_digest *lowers, size_t n_lowers, kn_err *err)
{
    kn_autoclose int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0) {
        if (errno == ENOSYS)
            return 1;
        return kn_errf(err, errno, "open an overlay file system");
    }
    if (set_option(fsfd, "source", "kiln", err) < 0)
        return -1;
    kn_autobuf kn_buf path = KN_BUF_INIT;
    for (size_t i = 0; i < (n_lowers ? n_lowers : 1); i++) {
        kn_buf_reset(&path);
        if (n_lowers)
            kn_buf_addf(&path, "%s/layers/%s", root, kn_digest_hex(&lowers[n_lowers - 1 - i]));
        else
            kn_buf_addf(&path, "%s/empty", snap->pub.dir);
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", path.data, 0) < 0) {
            if (errno == EINVAL && i == 0)
                return 1; /* a kernel before 6.8: no lowerdir+ */
            kn_autobuf kn_buf what = KN_BUF_INIT;
            kn_buf_addf(&what, "overlay lower directory %s", path.data);
            return fs_error(fsfd, errno, err, what.data);
        }
    }
    kn_buf_reset(&path);
    kn_buf_addf(&path, "%s/upper", snap->pub.dir);
    if (set_option(fsfd, "upperdir", path.data, err) < 0)
        return -1;
    kn_buf_reset(&path);
    kn_buf_addf(&path, "%s/work", snap->pub.dir);
    if (set_option(fsfd, "workdir", path.data, err) < 0)
        return -1;
    for (size_t i = 0; i < KN_ARRAY_LEN(diff_options); i++)
        if (set_option(fsfd, diff_options[i][0], diff_options[i][1], err) < 0)
            return -1;
    if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return fs_error(fsfd, errno, err, "create the overlay");
    kn_autoclose int mntfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
    if (mntfd < 0)
        return fs_error(fsfd, errno, err, "mount the overlay");
    if (move_mount(mntfd, "", snapfd, "merged", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return kn_errf(err, errno, "attach the overlay at %s", snap->pub.merged);
    return 0;
}

/* Appends s with overlay's option separators (',' and ':') and its escape
 * character escaped, as its option parser unescapes them. */
static void add_escaped(kn_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ',' || *s == ':' || *s == '\\')
            kn_buf_addc(b, '\\');
        kn_buf_addc(b, *s);
    }
}

/* Mounts with mount(2). The option string is limited to one page, so lower
 * directories are named relative to the layers directory (64 hex digits
 * and a colon each): with the store's work paths about 55 to 60 layers fit,
 * depending on the store path's length. */
static int mount_with_options(snapshot *snap, kn_store *s, const kn_digest *lowers, size_t n_lowers,
                              kn_err *err)
{
    kn_autobuf kn_buf opts = KN_BUF_INIT;
    kn_buf_adds(&opts, "lowerdir=");
    size_t lowers_at = opts.len;
    for (size_t i = 0; i < n_lowers; i++)
        kn_buf_addf(&opts, "%s%s", i ? ":" : "", kn_digest_hex(&lowers[n_lowers - 1 - i]));
    if (!n_lowers) {
        add_escaped(&opts, snap->pub.dir);
        kn_buf_adds(&opts, "/empty");
    }
    size_t lowers_len = opts.len - lowers_at;
    kn_buf_adds(&opts, ",upperdir=");
    add_escaped(&opts, snap->pub.dir);
    kn_buf_adds(&opts, "/upper,workdir=");
    add_escaped(&opts, snap->pub.dir);
    kn_buf_adds(&opts, "/work");
    for (size_t i = 0; i < KN_ARRAY_LEN(diff_options); i++)
        kn_buf_addf(&opts, ",%s=%s", diff_options[i][0], diff_options[i][1]);
    if (opts.len >= LEGACY_OPTIONS_MAX) {
        /* n layers take 65 * n - 1 bytes: 64 digits each, colons between. */
        size_t fixed = opts.len - lowers_len;
        size_t fit = fixed < LEGACY_OPTIONS_MAX ? (LEGACY_OPTIONS_MAX - fixed) / 65 : 0;
        return kn_errf(err, E2BIG,
                       "mount an overlay of %zu layers: this kernel has no lowerdir+ "
                       "(Linux 6.8) and mount(2) takes at most %zu here",
                       n_lowers, fit);
    }
    /* The relative lower directories resolve against the working
     * directory while mount(2) runs. That directory is the process's: a
     * thread resolving relative paths meanwhile would be misled, so this
     * fallback wants the snapshot calls on one thread. */
    kn_autoclose int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return kn_errf(err, errno, "open the working directory");
    if (fchdir(s->layersfd) < 0)
        return kn_errf(err, errno, "enter %s/layers", s->path);
    int rc = mount("kiln", snap->pub.merged, "overlay", 0, opts.data);
    int e = errno;
    if (fchdir(cwd) < 0 && rc == 0) {
        e = errno;
        umount2(snap->pub.merged, MNT_DETACH | UMOUNT_NOFOLLOW);
        return kn_errf(err, e, "return to the working directory");
    }
    if (rc < 0)
        return kn_errf(err, e, "mount an overlay of %zu layers at %s", n_lowers, snap->pub.merged);
    return 0;
}

static int make_dir(int dirfd, const char *name, mode_t mode, const char *where, kn_err *err)
{
    if (mkdirat(dirfd, name, mode) < 0)
        return kn_errf(err, errno, "create %s/%s", where, name);
    /* Exactly `mode`: upper/ gives the merged root its mode. */
    kn_autoclose int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, mode) < 0)
        return kn_errf(err, errno, "set the mode of %s/%s", where, name);
    return 0;
}

static int check_recorded(kn_store *s, const kn_digest *lowers, size_t n_lowers, kn_err *err)
{
    for (size_t i = 0; i < n_lowers; i++) {
        bool has = false;
        if (kn_store_layer_has(s, &lowers[i], &has, err) < 0)
            return -1;
        if (!has)
            return kn_errf(err, ENOENT, "layer %s is not in the store", lowers[i].str);
    }
    return 0;
}

static int prepare_and_mount(kn_store *s, snapshot *snap, const char *root, const kn_digest *lowers,
                             size_t n_lowers, kn_err *err)
{
    if (mkdirat(s->workfd, snap->name, 0700) < 0)
        return kn_errf(err, errno, "create %s", snap->pub.dir);
    kn_autoclose int snapfd =
        openat(s->workfd, snap->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (snapfd < 0)
        return kn_errf(err, errno, "open %s", snap->pub.dir);
    if (make_dir(snapfd, "upper", 0755, snap->pub.dir, err) < 0 ||
        make_dir(snapfd, "work", 0700, snap->pub.dir, err) < 0 ||
        make_dir(snapfd, "merged", 0755, snap->pub.dir, err) < 0 ||
        (!n_lowers && make_dir(snapfd, "empty", 0755, snap->pub.dir, err) < 0))
        return -1;
    snap->pub.upperfd = openat(snapfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (snap->pub.upperfd < 0)
        return kn_errf(err, errno, "open %s/upper", snap->pub.dir);

    int rc = 1;
    if (!force_legacy && kernel_at_least(6, 8))
        rc = mount_with_fsconfig(snap, snapfd, root, lowers, n_lowers, err);
    if (rc > 0)
        rc = mount_with_options(snap, s, lowers, n_lowers, err);
    if (rc < 0)
        return -1;
    snap->pub.is_mounted = true;
    /* Mounts made under merged/ later (a runtime's) stay out of the store's
     * peer group; the overlay's own unmount still propagates, as that
     * follows the parent mount. */
    if (mount(NULL, snap->pub.merged, NULL, MS_PRIVATE, NULL) < 0)
        return kn_errf(err, errno, "make %s private", snap->pub.merged);
    return 0;
}

kn_snapshot *kn_snapshot_mount(kn_store *s, const kn_digest *lowers, size_t n_lowers, kn_err *err)
{
    if (kn_store_hold(s, err) < 0 || check_recorded(s, lowers, n_lowers, err) < 0)
        return NULL;
    kn_autofree char *root = store_root(s, err);
    if (!root)
        return NULL;
    snapshot *snap = kn_xcalloc(1, sizeof(*snap));
    snap->lowers =
        n_lowers ? kn_xmemdup(lowers, n_lowers * sizeof(*lowers)) : kn_xcalloc(1, sizeof(*lowers));
    snap->n_lowers = n_lowers;
    snap->pub.upperfd = -1;
    snap->workfd = fcntl(s->workfd, F_DUPFD_CLOEXEC, 3);
    snap->name = kn_store_work_name(s, "snap");
    kn_buf dir = KN_BUF_INIT;
    kn_buf_addf(&dir, "%s/tmp/%s/%s", root, s->work_name, snap->name);
    snap->pub.dir = kn_buf_release(&dir);
    kn_buf merged = KN_BUF_INIT;
    kn_buf_addf(&merged, "%s/merged", snap->pub.dir);
    snap->pub.merged = kn_buf_release(&merged);
    if (snap->workfd < 0) {
        kn_errf(err, errno, "duplicate the work directory's descriptor");
        kn_snapshot_free(&snap->pub);
        return NULL;
    }
    if (prepare_and_mount(s, snap, root, lowers, n_lowers, err) < 0) {
        kn_err_wrap(err, "mount a snapshot of %zu layers", n_lowers);
        kn_snapshot_free(&snap->pub);
        return NULL;
    }
    return &snap->pub;
}

int kn_snapshot_unmount(kn_snapshot *snap, kn_err *err)
{
    if (!snap->is_mounted)
        return 0;
    for (int attempt = 0;; attempt++) {
        if (umount2(snap->merged, UMOUNT_NOFOLLOW) == 0 || errno == EINVAL)
            break; /* EINVAL: no longer a mount point (swept) */
        if (errno != EBUSY)
            return kn_errf(err, errno, "unmount %s", snap->merged);
        if (attempt == 4) {
            /* Something still uses it (a process left behind): detach it
             * now; the kernel finishes when the last user goes. */
            if (umount2(snap->merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
                return kn_errf(err, errno, "detach %s", snap->merged);
            break;
        }
        struct timespec pause = {0, 10 * 1000 * 1000L * (attempt + 1)};
        nanosleep(&pause, NULL);
    }
    snap->is_mounted = false;
    return 0;
}

/* ---- committing ---- */

typedef struct tree_fixer {
    kn_buf path; /* of the entry at hand, below upper/, for messages */
    bool clamp_mtime;
    int64_t mtime_max;
} tree_fixer;

/* Removes overlay's private xattrs (origin, impure, uuid, ...) from one
 * entry: they name inodes of this mount and mean nothing in a lower
 * directory, except opaque, which is the layer's content. Directories go
 * through their fd; anything else through `proc` (/proc/self/fd/N of an
 * O_PATH fd: the non-l xattr calls on it reach the entry itself, even a
 * symlink, while the l* calls would reach the magic link). */
static int strip_overlay_xattrs(tree_fixer *t, int fd, const char *proc, kn_err *err)
{
    kn_autofree char *list = NULL;
    ssize_t list_size;
    for (;;) {
        list_size = proc ? listxattr(proc, NULL, 0) : flistxattr(fd, NULL, 0);
        if (list_size <= 0) {
            if (list_size == 0 || errno == ENOTSUP)
                return 0;
            return kn_errf(err, errno, "list xattrs of %s", t->path.data);
        }
        free(list);
        list = kn_xmalloc((size_t)list_size);
        list_size = proc ? listxattr(proc, list, (size_t)list_size)
                         : flistxattr(fd, list, (size_t)list_size);
        if (list_size >= 0)
            break;
        if (errno != ERANGE) /* ERANGE: one was added meanwhile */
            return kn_errf(err, errno, "list xattrs of %s", t->path.data);
    }
    for (const char *k = list; k < list + list_size; k += strlen(k) + 1) {
        if (strncmp(k, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) ||
            !strcmp(k, OVERLAY_OPAQUE_XATTR))
            continue;
        int rc = proc ? removexattr(proc, k) : fremovexattr(fd, k);
        if (rc < 0 && errno != ENODATA)
            return kn_errf(err, errno, "remove xattr %s of %s", k, t->path.data);
    }
    return 0;
}

/* The tar clamps mtimes to SOURCE_DATE_EPOCH; the tree gets the same
 * mtimes, so it still hashes, as a tar, to the layer's diff ID. */
static bool needs_clamp(const tree_fixer *t, const struct stat *st)
{
    return t->clamp_mtime && st->st_mtim.tv_sec > t->mtime_max;
}

static int fix_tree(tree_fixer *t, int dirfd, kn_err *err);

static int fix_entry(tree_fixer *t, int dirfd, const char *name, kn_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return kn_errf(err, errno, "stat %s", t->path.data);
    const struct timespec times[2] = {{0, UTIME_OMIT}, {t->mtime_max, 0}};
    if (S_ISDIR(st.st_mode)) {
        kn_autoclose int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return kn_errf(err, errno, "open %s", t->path.data);
        /* Children first: the directory's own mtime is set last. */
        if (fix_tree(t, fd, err) < 0 || strip_overlay_xattrs(t, fd, NULL, err) < 0)
            return -1;
        if (needs_clamp(t, &st) && futimens(fd, times) < 0)
            return kn_errf(err, errno, "set the mtime of %s", t->path.data);
        return 0;
    }
    kn_autoclose int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "open %s", t->path.data);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (strip_overlay_xattrs(t, fd, proc, err) < 0)
        return -1;
    if (needs_clamp(t, &st) && utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return kn_errf(err, errno, "set the mtime of %s", t->path.data);
    return 0;
}

static int fix_tree(tree_fixer *t, int dirfd, kn_err *err)
{
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(dirfd, &names, err);
    if (rc < 0)
        kn_err_wrap(err, "read %s", t->path.data);
    size_t len = t->path.len;
    for (size_t i = 0; rc == 0 && i < names.len; i++) {
        kn_buf_addf(&t->path, "/%s", names.items[i]);
        rc = fix_entry(t, dirfd, names.items[i], err);
        kn_buf_truncate(&t->path, len);
    }
    kn_strvec_free(&names);
    return rc;
}

/* Turns upper/ into a layer tree in overlay lower form (see fix_entry). */
static int fix_upper(int upperfd, int64_t source_date_epoch, kn_err *err)
{
    tree_fixer t = {KN_BUF_INIT, source_date_epoch >= 0, source_date_epoch};
    kn_buf_adds(&t.path, "upper");
    int rc = fix_tree(&t, upperfd, err);
    if (rc == 0)
        rc = strip_overlay_xattrs(&t, upperfd, NULL, err);
    kn_buf_free(&t.path);
    return rc;
}

static int write_compressed(void *ctx, const void *data, size_t len, kn_err *err)
{
    return kn_comp_writer_write(ctx, data, len, err);
}

/* Writes upper/ as a gzip-compressed tar into a new blob. */
static int write_blob(kn_store *s, int upperfd, int64_t source_date_epoch, kn_comp_result *res,
                      kn_err *err)
{
    kn_blob_writer w;
    if (kn_blob_writer_open(s, &w, err) < 0)
        return -1;
    /* The comp writer hashes both sides; the blob writer gives the file. */
    int rc = -1;
    kn_comp_writer *cw = kn_comp_writer_new(w.fd, KN_COMP_GZIP, err);
    if (cw) {
        kn_tarwrite_opts opts = {
            .overlay_whiteouts = true,
            .clamp_mtime = source_date_epoch >= 0,
            .mtime_max = source_date_epoch,
        };
        rc = kn_tarwrite_tree(upperfd, &opts, write_compressed, cw, err);
        if (rc == 0)
            rc = kn_comp_writer_finish(cw, res, err);
        kn_comp_writer_free(cw);
    }
    if (rc == 0)
        rc = kn_store_blob_place(s, w.name, &res->blob, err);
    if (rc == 0)
        kn_freep(&w.name); /* placed: nothing left to delete */
    kn_blob_writer_free(&w);
    return rc;
}

static int is_dir_empty(int dirfd, bool *is_empty, kn_err *err)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (!dir) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return kn_errf(err, e, "open the upper directory");
    }
    *is_empty = true;
    struct dirent *de;
    errno = 0;
    while (*is_empty && (de = readdir(dir)))
        *is_empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
    int e = errno;
    closedir(dir);
    return e ? kn_errf(err, e, "read the upper directory") : 0;
}

/* The topmost lower's view of `name` in the directory at depth `depth`:
 * lowerfds[i] are the same directory in each lower (-1 where absent). */
static bool same_as_lower(const int *lowerfds, size_t n, const char *name, const struct stat *up)
{
    for (size_t i = n; i-- > 0;) {
        if (lowerfds[i] < 0)
            continue;
        struct stat lo;
        if (fstatat(lowerfds[i], name, &lo, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* not in this layer: look further down */
        if (S_ISCHR(lo.st_mode) && lo.st_rdev == 0)
            return false; /* whited out here: the directory is new above */
        return S_ISDIR(lo.st_mode) && lo.st_mode == up->st_mode && lo.st_uid == up->st_uid &&
               lo.st_gid == up->st_gid && lo.st_mtim.tv_sec == up->st_mtim.tv_sec &&
               lo.st_mtim.tv_nsec == up->st_mtim.tv_nsec;
    }
    return false;
}

/* Removes directories that overlay copied up only because something was
 * created and removed below them (the runtime's mount stubs): empty in the
 * upper, not opaque, and with the metadata the lower layers give them.
 * containerd's overlay differ skips them the same way. */
static int prune_copied_up(int upfd, int *lowerfds, size_t n, kn_err *err)
{
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(upfd, &names, err);
    for (size_t k = 0; k < names.len && rc == 0; k++) {
        const char *name = names.items[k];
        struct stat st;
        if (fstatat(upfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        kn_autoclose int sub = openat(upfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            continue;
        char opaque[2];
        if (fgetxattr(sub, "trusted.overlay.opaque", opaque, sizeof(opaque)) > 0)
            continue;
        int *subs = kn_xcalloc(n + 1, sizeof(int));
        for (size_t i = 0; i < n; i++)
            subs[i] = lowerfds[i] < 0 ? -1
                                      : openat(lowerfds[i], name,
                                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        rc = prune_copied_up(sub, subs, n, err);
        for (size_t i = 0; i < n; i++)
            if (subs[i] >= 0)
                close(subs[i]);
        free(subs);
        bool is_empty = false;
        if (rc == 0 && is_dir_empty(sub, &is_empty, err) < 0)
            rc = -1;
        /* fstat again: removing children does not change our view of st. */
        if (rc == 0 && is_empty && fstat(sub, &st) == 0 && same_as_lower(lowerfds, n, name, &st))
            unlinkat(upfd, name, AT_REMOVEDIR);
    }
    kn_strvec_free(&names);
    return rc;
}

static int prune_upper(kn_store *s, snapshot *snap, kn_err *err)
{
    int *lowerfds = kn_xcalloc(snap->n_lowers + 1, sizeof(int));
    for (size_t i = 0; i < snap->n_lowers; i++)
        lowerfds[i] = kn_store_layer_open(s, &snap->lowers[i], err);
    int rc = 0;
    for (size_t i = 0; i < snap->n_lowers; i++)
        if (lowerfds[i] < 0)
            rc = -1;
    if (rc == 0)
        rc = prune_copied_up(snap->pub.upperfd, lowerfds, snap->n_lowers, err);
    for (size_t i = 0; i < snap->n_lowers; i++)
        if (lowerfds[i] >= 0)
            close(lowerfds[i]);
    free(lowerfds);
    return rc;
}

int kn_snapshot_commit(kn_store *s, kn_snapshot *pub, int64_t source_date_epoch, bool keep_empty,
                       kn_store_layer *out, bool *is_empty, kn_err *err)
{
    snapshot *snap = (snapshot *)pub;
    *is_empty = false;
    if (pub->is_mounted)
        return kn_errf(err, EBUSY, "commit %s: still mounted", pub->dir);
    if (pub->upperfd < 0)
        return kn_errf(err, EINVAL, "commit %s: already committed", pub->dir);
    if (prune_upper(s, snap, err) < 0 || is_dir_empty(pub->upperfd, is_empty, err) < 0)
        return kn_err_wrap(err, "commit %s", pub->dir);
    if (*is_empty && !keep_empty)
        return 0;
    *is_empty = false; /* an empty layer is stored, as BuildKit stores one */

    kn_comp_result res;
    uint64_t size = 0;
    if (kn_store_hold(s, err) < 0 || fix_upper(pub->upperfd, source_date_epoch, err) < 0 ||
        write_blob(s, pub->upperfd, source_date_epoch, &res, err) < 0 ||
        kn_tree_size(pub->upperfd, &size, err) < 0)
        return kn_err_wrap(err, "commit %s", pub->dir);
    kn_buf work_path = KN_BUF_INIT;
    kn_buf_addf(&work_path, "%s/upper", snap->name);
    int rc = kn_store_layer_adopt(s, &res.plain, work_path.data, size, err);
    kn_buf_free(&work_path);
    if (rc < 0)
        return kn_err_wrap(err, "commit %s", pub->dir);
    /* upper/ is now the layer's tree (or, when the layer was recorded
     * already, a copy removed with the snapshot): no more writes. */
    close(pub->upperfd);
    pub->upperfd = -1;
    out->blob = res.blob;
    out->blob_size = res.blob_size;
    out->media_type = KN_MT_OCI_LAYER_GZIP;
    out->diff_id = res.plain;
    return 0;
}

void kn_snapshot_free(kn_snapshot *pub)
{
    if (!pub)
        return;
    snapshot *snap = (snapshot *)pub;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_snapshot_unmount(pub, &ignored);
    if (pub->upperfd >= 0)
        close(pub->upperfd);
    /* Never remove through a mount still there: that would delete files
     * through the overlay (whiteouts in upper/, lowers untouched) for
     * nothing. */
    if (!pub->is_mounted && snap->workfd >= 0)
        kn_remove_tree(snap->workfd, snap->name, &ignored);
    if (snap->workfd >= 0)
        close(snap->workfd);
    free(snap->name);
    free(snap->lowers);
    free(pub->dir);
    free(pub->merged);
    free(snap);
}

/* ---- sweeping ---- */

/* Decodes mountinfo's octal escapes (\040 for a space, \011, \012, \134)
 * in place. */
static void unescape_mountinfo(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* The mount point (fifth field) of a mountinfo line, decoded in place. */
static char *mount_point(char *line)
{
    char *p = line;
    for (int field = 0; field < 4; field++) {
        p = strchr(p, ' ');
        if (!p)
            return NULL;
        p++;
    }
    char *end = strchr(p, ' ');
    if (!end)
        return NULL;
    *end = '\0';
    unescape_mountinfo(p);
    return p;
}

/* Whether the work directory `name` in tmp/ belongs to a live process:
 * its process holds it flocked (see store.c). */
static bool is_work_dir_alive(kn_store *s, const char *name)
{
    kn_autoclose int fd = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

void kn_snapshot_sweep_mounts(kn_store *s)
{
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_autofree char *root = store_root(s, &ignored);
    if (!root)
        return;
    kn_autobuf kn_buf prefix = KN_BUF_INIT;
    kn_buf_addf(&prefix, "%s/tmp/", root);
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    kn_strvec stale = KN_STRVEC_INIT;
    kn_autofree char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char *mp = mount_point(line);
        if (!mp || strncmp(mp, prefix.data, prefix.len) || !mp[prefix.len])
            continue;
        char *work = mp + prefix.len;
        char *slash = strchr(work, '/');
        kn_autofree char *name =
            slash ? kn_xstrndup(work, (size_t)(slash - work)) : kn_xstrdup(work);
        if ((s->work_name && !strcmp(name, s->work_name)) || is_work_dir_alive(s, name))
            continue;
        kn_strvec_push(&stale, mp);
    }
    fclose(f);
    /* Newest first, so mounts stacked on one another come off in order. */
    for (size_t i = stale.len; i-- > 0;)
        umount2(stale.items[i], MNT_DETACH | UMOUNT_NOFOLLOW);
    kn_strvec_free(&stale);
}
