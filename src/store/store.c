#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crash.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/vec.h"
#include "store/meta.h"

static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

char *kn_store_default_path(void)
{
    const char *env = getenv("KILN_STORE");
    if (env && *env)
        return kn_xstrdup(env);
    if (geteuid() == 0)
        return kn_xstrdup("/var/lib/kiln");
    env = getenv("XDG_DATA_HOME");
    if (env && *env)
        return kn_path_join(env, "kiln");
    env = getenv("HOME");
    kn_autofree char *share = kn_path_join(env && *env ? env : "/", ".local/share");
    return kn_path_join(share, "kiln");
}

static int open_dir(int dirfd, const char *name, bool create, kn_err *err)
{
    if (create && mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
        return kn_errf(err, errno, "create %s", name);
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "open %s", name);
    return fd;
}

/* A store is recognised by its oci-layout file, written first; an empty
 * directory becomes one, as does one holding only what an interrupted
 * creation leaves (temporary files). Anything else is refused so a typo in
 * --store cannot litter a home directory. */
static int init_layout(int rootfd, const char *path, kn_err *err)
{
    struct stat st;
    if (fstatat(rootfd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0)
        return S_ISREG(st.st_mode) ? 0
                                   : kn_errf(err, KN_ECORRUPT, "%s/oci-layout: not a file", path);
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(rootfd, &names, err);
    for (size_t i = 0; rc == 0 && i < names.len; i++)
        if (strncmp(names.items[i], ".kn-tmp-", 8))
            rc = kn_errf(err, KN_EINPUT,
                         "%s is not a kiln store (no oci-layout file) and not empty; "
                         "give an empty or new directory with --store",
                         path);
    kn_strvec_free(&names);
    if (rc < 0)
        return -1;
    /* index.json and the directories follow at open, so a store killed
     * while being created is completed by the next open. */
    return kn_write_file_atomic(rootfd, "oci-layout", oci_layout, sizeof(oci_layout) - 1, 0644,
                                err);
}

/* Removes the work directories whose process is gone (their flock is free). */
static void sweep_work_dirs(kn_store *s)
{
    kn_strvec names = KN_STRVEC_INIT;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_dir_names(s->tmpfd, &names, &ignored);
    for (size_t i = 0; i < names.len; i++) {
        const char *name = names.items[i];
        if (s->work_name && !strcmp(name, s->work_name))
            continue;
        kn_autoclose int fd =
            openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
            continue; /* its process is alive */
        kn_remove_tree(s->tmpfd, name, &ignored);
        kn_err_clear(&ignored);
    }
    kn_strvec_free(&names);
}

static int make_work_dir(kn_store *s, kn_err *err)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        char name[64];
        unsigned int r;
        if (getentropy(&r, sizeof(r)) < 0)
            r = (unsigned int)attempt;
        snprintf(name, sizeof(name), "%ld-%08x", (long)getpid(), r);
        if (mkdirat(s->tmpfd, name, 0700) < 0) {
            if (errno == EEXIST)
                continue;
            return kn_errf(err, errno, "create tmp/%s", name);
        }
        int fd = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue; /* swept by another process before we locked it */
        struct stat st;
        /* A sweeper may have locked and removed it between mkdir and flock;
         * a removed directory has no links left. */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0) {
            close(fd);
            continue;
        }
        s->workfd = fd;
        s->work_name = kn_xstrdup(name);
        return 0;
    }
    return kn_errf(err, EEXIST, "create a work directory in tmp/");
}

/* mkdir -p for the store's own location: a path the user gave, not one
 * inside a rootfs, so plain path resolution is right here. */
static int make_store_dir(const char *path, kn_err *err)
{
    kn_autofree char *p = kn_xstrdup(path);
    for (char *slash = p + 1;; slash++) {
        slash = strchr(slash, '/');
        if (slash)
            *slash = '\0';
        if (*p && mkdir(p, 0755) < 0 && errno != EEXIST)
            return kn_errf(err, errno, "create %s", p);
        if (!slash)
            return 0;
        *slash = '/';
    }
}

static int open_layout(kn_store *s, const char *path, kn_err *err)
{
    if (make_store_dir(path, err) < 0 || (s->rootfd = open_dir(AT_FDCWD, path, false, err)) < 0 ||
        init_layout(s->rootfd, path, err) < 0)
        return -1;
    kn_autoclose int blobs = open_dir(s->rootfd, "blobs", true, err);
    if (blobs < 0 || (s->blobsfd = open_dir(blobs, "sha256", true, err)) < 0 ||
        (s->layersfd = open_dir(s->rootfd, "layers", true, err)) < 0 ||
        (s->locksfd = open_dir(s->rootfd, "locks", true, err)) < 0 ||
        (s->tmpfd = open_dir(s->rootfd, "tmp", true, err)) < 0)
        return -1;
    s->gc_lockfd = openat(s->locksfd, "gc", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (s->gc_lockfd < 0)
        return kn_errf(err, errno, "open locks/gc");
    if (make_work_dir(s, err) < 0)
        return -1;
    sweep_work_dirs(s);
    if (kn_meta_open(s, err) < 0 || kn_meta_sync_index(s, err) < 0)
        return -1;
    return 0;
}

kn_store *kn_store_open(const char *path, kn_err *err)
{
    if (!*path) {
        kn_errf(err, KN_EUSAGE, "the store path is empty");
        return NULL;
    }
    kn_store *s = kn_xcalloc(1, sizeof(*s));
    s->path = kn_xstrdup(path);
    s->rootfd = s->blobsfd = s->layersfd = s->locksfd = s->tmpfd = s->workfd = s->gc_lockfd = -1;
    if (open_layout(s, path, err) < 0) {
        kn_err_wrap(err, "store %s", path);
        kn_store_close(s);
        return NULL;
    }
    return s;
}

void kn_store_close(kn_store *s)
{
    if (!s)
        return;
    if (s->db)
        sqlite3_close(s->db);
    if (s->work_name) {
        kn_autoerr kn_err ignored = KN_ERR_INIT;
        kn_remove_tree(s->tmpfd, s->work_name, &ignored);
    }
    int fds[] = {s->rootfd, s->blobsfd, s->layersfd, s->locksfd, s->tmpfd, s->workfd, s->gc_lockfd};
    for (size_t i = 0; i < KN_ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(s->work_name);
    free(s->path);
    free(s);
}

void kn_store_closep(kn_store **s)
{
    kn_store_close(*s);
    *s = NULL;
}

char *kn_store_work_name(kn_store *s, const char *prefix)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "%s-%lu", prefix, ++s->n_work);
    return kn_buf_release(&b);
}

int kn_store_hold(kn_store *s, kn_err *err)
{
    if (s->gc_lock)
        return 0;
    while (flock(s->gc_lockfd, LOCK_SH) < 0)
        if (errno != EINTR)
            return kn_errf(err, errno, "lock %s/locks/gc", s->path);
    s->gc_lock = LOCK_SH;
    return 0;
}

/* ---- blobs ---- */

int kn_blob_writer_open(kn_store *s, kn_blob_writer *w, kn_err *err)
{
    memset(w, 0, sizeof(*w));
    w->store = s;
    w->name = kn_store_work_name(s, "blob");
    w->fd = openat(s->workfd, w->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        kn_errf(err, errno, "create tmp/%s/%s", s->work_name, w->name);
        kn_freep(&w->name);
        return -1;
    }
    kn_sha256_init(&w->hash);
    return 0;
}

int kn_blob_writer_write(kn_blob_writer *w, const void *data, size_t len, kn_err *err)
{
    kn_sha256_update(&w->hash, data, len);
    w->size += len;
    return kn_write_all(w->fd, data, len, err);
}

void kn_blob_writer_finish(kn_blob_writer *w, kn_digest *digest, uint64_t *size)
{
    kn_sha256_final_digest(&w->hash, digest);
    if (size)
        *size = w->size;
}

void kn_blob_writer_free(kn_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->name)
        unlinkat(w->store->workfd, w->name, 0);
    kn_freep(&w->name);
    kn_sha256_free(&w->hash);
}

int kn_store_blob_place(kn_store *s, const char *work_name, const kn_digest *digest, kn_err *err)
{
    const char *hex = digest->str + strlen(KN_DIGEST_PREFIX);
    /* A recorded blob is never replaced: its bytes are already durable,
     * and an unsynced copy renamed over it could be lost to a power cut.
     * An unrecorded file of that name may be a leftover: ours replaces it. */
    bool is_recorded = false;
    if (kn_meta_blob_recorded(s, digest, &is_recorded, err) < 0)
        return -1;
    struct stat st;
    if (is_recorded && fstatat(s->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        unlinkat(s->workfd, work_name, 0);
        return 0;
    }
    kn_crashpoint("before blob rename");
    if (renameat(s->workfd, work_name, s->blobsfd, hex) < 0)
        return kn_errf(err, errno, "store blob %s", digest->str);
    kn_crashpoint("after blob rename");
    return 0;
}

int kn_store_blob_put(kn_store *s, const void *data, size_t len, kn_digest *digest, kn_err *err)
{
    kn_blob_writer w;
    if (kn_blob_writer_open(s, &w, err) < 0)
        return -1;
    int rc = kn_blob_writer_write(&w, data, len, err);
    kn_blob_writer_finish(&w, digest, NULL);
    if (rc == 0)
        rc = kn_store_blob_place(s, w.name, digest, err);
    kn_blob_writer_free(&w);
    return rc;
}

int kn_store_blob_open(kn_store *s, const kn_digest *digest, kn_err *err)
{
    const char *hex = digest->str + strlen(KN_DIGEST_PREFIX);
    int fd = openat(s->blobsfd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "blob %s", digest->str);
    return fd;
}

int kn_store_blob_read(kn_store *s, const kn_digest *digest, size_t max_size, char **data,
                       size_t *len, kn_err *err)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_init(&b, max_size + 2); /* the reader looks one byte past the limit */
    const char *hex = digest->str + strlen(KN_DIGEST_PREFIX);
    if (kn_read_fileat(s->blobsfd, hex, max_size, &b, err) < 0)
        return kn_err_wrap(err, "blob %s", digest->str);
    kn_digest got;
    kn_sha256_digest(b.data, b.len, &got);
    if (!kn_digest_eq(&got, digest))
        return kn_errf(err, KN_ECORRUPT, "blob %s: content has digest %s", digest->str, got.str);
    *len = b.len;
    *data = kn_buf_release(&b);
    return 0;
}
