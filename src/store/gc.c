/* Collection of what no image references, and the consistency check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crash.h"
#include "base/fs.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/vec.h"
#include "store/meta.h"
#include "store/store.h"

static void reportf(kn_gc_report_fn report, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reportf(kn_gc_report_fn report, void *ctx, const char *fmt, ...)
{
    if (!report)
        return;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kn_buf_addvf(&b, fmt, ap);
    va_end(ap);
    report(ctx, b.data);
}

/* Collects the text of column 0 of every row into a set. */
static int query_set(kn_store *s, const char *sql, kn_map *set, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, sql, err);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        if (d && strlen(d) > strlen(KN_DIGEST_PREFIX))
            kn_map_set(set, d + strlen(KN_DIGEST_PREFIX), (void *)1);
    }
    return rc == SQLITE_DONE ? 0 : kn_meta_err(s, err, "read records");
}

static int drop_records(kn_store *s, bool dangling, kn_gc_report_fn report, void *ctx,
                        kn_gc_stats *stats, kn_err *err)
{
    if (dangling) {
        kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
            s,
            "DELETE FROM images WHERE NOT EXISTS"
            " (SELECT 1 FROM names WHERE names.manifest = images.manifest) RETURNING config",
            err);
        if (!st)
            return -1;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            reportf(report, ctx, "deleted image %s", sqlite3_column_text(st, 0));
            stats->n_images++;
        }
        if (rc != SQLITE_DONE)
            return kn_meta_err(s, err, "delete unnamed images");
    }
    return kn_meta_exec(
        s,
        "DELETE FROM blobs WHERE digest NOT IN (SELECT manifest FROM images)"
        " AND digest NOT IN (SELECT config FROM images)"
        " AND digest NOT IN (SELECT blob FROM image_layers);"
        "DELETE FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM image_layers);",
        err);
}

typedef int (*remove_fn)(kn_store *s, int dirfd, const char *name, uint64_t *bytes, kn_err *err);

static int remove_blob(kn_store *s, int dirfd, const char *name, uint64_t *bytes, kn_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
        *bytes = (uint64_t)st.st_size;
    kn_crashpoint("before blob removal");
    return kn_remove_tree(dirfd, name, err);
}

static int remove_layer(kn_store *s, int dirfd, const char *name, uint64_t *bytes, kn_err *err)
{
    /* Move it out first so a half-removed tree never sits under layers/. */
    kn_autofree char *work = kn_store_work_name(s, "gc-layer");
    kn_crashpoint("before layer removal");
    if (renameat(dirfd, name, s->workfd, work) < 0)
        return errno == ENOENT ? 0 : kn_errf(err, errno, "move layers/%s", name);
    kn_autoclose int fd = openat(s->workfd, work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        kn_tree_size(fd, bytes, err);
    kn_err_clear(err);
    kn_crashpoint("layer moved out");
    return kn_remove_tree(s->workfd, work, err);
}

/* Removes every entry of `dirfd` that is not in `keep`. */
static int sweep_dir(kn_store *s, int dirfd, const char *what, kn_map *keep, remove_fn remove,
                     kn_gc_report_fn report, void *ctx, uint64_t *n, kn_gc_stats *stats,
                     kn_err *err)
{
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(dirfd, &names, err);
    for (size_t i = 0; i < names.len && rc == 0; i++) {
        if (kn_map_has(keep, names.items[i]))
            continue;
        uint64_t bytes = 0;
        rc = remove(s, dirfd, names.items[i], &bytes, err);
        if (rc == 0) {
            reportf(report, ctx, "deleted %s sha256:%s", what, names.items[i]);
            (*n)++;
            stats->bytes += bytes;
        }
    }
    kn_strvec_free(&names);
    return rc;
}

static int lock_index(kn_store *s, kn_err *err)
{
    int fd = openat(s->locksfd, "index", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return kn_errf(err, errno, "open locks/index");
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return kn_errf(err, e, "lock locks/index");
        }
    }
    return fd;
}

/* Files a killed kn_write_file_atomic left in the root. */
static void sweep_root_temps(kn_store *s, kn_gc_stats *stats)
{
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_autoclose int lockfd = lock_index(s, &ignored);
    if (lockfd < 0)
        return;
    kn_strvec names = KN_STRVEC_INIT;
    kn_dir_names(s->rootfd, &names, &ignored);
    for (size_t i = 0; i < names.len; i++)
        if (!strncmp(names.items[i], ".kn-tmp-", 8) && unlinkat(s->rootfd, names.items[i], 0) == 0)
            stats->n_files++;
    kn_strvec_free(&names);
}

static int collect(kn_store *s, bool dangling, kn_gc_report_fn report, void *ctx,
                   kn_gc_stats *stats, kn_err *err)
{
    if (kn_meta_begin(s, err) < 0)
        return -1;
    if (drop_records(s, dangling, report, ctx, stats, err) < 0) {
        kn_meta_rollback(s);
        return -1;
    }
    if (kn_meta_commit(s, err) < 0 || kn_meta_sync_index(s, err) < 0)
        return -1;

    /* The records are the truth: every file they do not name goes. */
    kn_map blobs, layers;
    kn_map_init(&blobs, NULL);
    kn_map_init(&layers, NULL);
    int rc = query_set(s, "SELECT digest FROM blobs", &blobs, err);
    if (rc == 0)
        rc = query_set(s, "SELECT diff_id FROM layers", &layers, err);
    if (rc == 0)
        rc = sweep_dir(s, s->blobsfd, "blob", &blobs, remove_blob, report, ctx, &stats->n_blobs,
                       stats, err);
    if (rc == 0)
        rc = sweep_dir(s, s->layersfd, "layer", &layers, remove_layer, report, ctx,
                       &stats->n_layers, stats, err);
    kn_map_free(&blobs);
    kn_map_free(&layers);
    if (rc == 0)
        sweep_root_temps(s, stats);
    return rc;
}

int kn_store_gc(kn_store *s, bool dangling, bool wait, bool *ran, kn_gc_report_fn report, void *ctx,
                kn_gc_stats *stats, kn_err *err)
{
    memset(stats, 0, sizeof(*stats));
    *ran = false;
    /* Turning a shared flock exclusive drops it first: a process that
     * holds the store for writing must not collect. */
    if (s->gc_lock)
        return kn_errf(err, EDEADLK, "collecting garbage while holding the store for writing");
    while (flock(s->gc_lockfd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        if (errno == EWOULDBLOCK)
            return 0;
        if (errno != EINTR)
            return kn_errf(err, errno, "lock %s/locks/gc", s->path);
    }
    *ran = true;
    int rc = collect(s, dangling, report, ctx, stats, err);
    flock(s->gc_lockfd, LOCK_UN);
    return rc;
}
static int check_blobs(kn_store *s, kn_gc_report_fn report, void *ctx, size_t *n, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st =
        kn_meta_prepare(s, "SELECT digest, size FROM blobs ORDER BY digest", err);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        uint64_t want_size = (uint64_t)sqlite3_column_int64(st, 1);
        kn_digest want, got;
        kn_autoerr kn_err e = KN_ERR_INIT;
        if (!text || kn_digest_parse(&want, text, &e) < 0) {
            reportf(report, ctx, "blob record %s: not a digest", text ? text : "NULL");
            (*n)++;
            continue;
        }
        kn_autoclose int fd = kn_store_blob_open(s, &want, &e);
        uint64_t size;
        if (fd < 0 || kn_sha256_fd(fd, &got, &size, &e) < 0) {
            reportf(report, ctx, "blob %s: %s", text, e.msg);
            (*n)++;
        } else if (!kn_digest_eq(&want, &got)) {
            reportf(report, ctx, "blob %s: content has digest %s", text, got.str);
            (*n)++;
        } else if (size != want_size) {
            reportf(report, ctx, "blob %s: %llu bytes, recorded as %llu", text,
                    (unsigned long long)size, (unsigned long long)want_size);
            (*n)++;
        }
    }
    return rc == SQLITE_DONE ? 0 : kn_meta_err(s, err, "read blobs");
}

/* Rows of `sql` (one text column) are problems, described by `fmt`. */
static int check_query(kn_store *s, const char *sql, const char *subject, const char *object,
                       const char *problem, kn_gc_report_fn report, void *ctx, size_t *n,
                       kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, sql, err);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        const char *b = (const char *)sqlite3_column_text(st, 1);
        reportf(report, ctx, "%s %s: %s %s %s", subject, a ? a : "NULL", object, b ? b : "NULL",
                problem);
        (*n)++;
    }
    return rc == SQLITE_DONE ? 0 : kn_meta_err(s, err, "check records");
}

static int check_layers(kn_store *s, kn_gc_report_fn report, void *ctx, size_t *n, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, "SELECT diff_id FROM layers", err);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        struct stat sb;
        const char *hex = text && strlen(text) > 7 ? text + 7 : "";
        if (!*hex || fstatat(s->layersfd, hex, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISDIR(sb.st_mode)) {
            reportf(report, ctx, "layer %s: tree layers/%s is missing", text ? text : "NULL", hex);
            (*n)++;
        }
    }
    return rc == SQLITE_DONE ? 0 : kn_meta_err(s, err, "read layers");
}

int kn_store_check(kn_store *s, kn_gc_report_fn report, void *ctx, size_t *n_problems, kn_err *err)
{
    *n_problems = 0;
    if (kn_meta_exec(s, "BEGIN", err) < 0)
        return -1;
    int rc = check_blobs(s, report, ctx, n_problems, err);
    if (rc == 0)
        rc = check_layers(s, report, ctx, n_problems, err);
    if (rc == 0)
        rc = check_query(
            s,
            "SELECT manifest, config FROM images WHERE manifest NOT IN (SELECT digest FROM blobs)"
            " OR config NOT IN (SELECT digest FROM blobs)",
            "image", "manifest or config", "is not recorded", report, ctx, n_problems, err);
    if (rc == 0)
        rc = check_query(s,
                         "SELECT manifest, blob FROM image_layers WHERE blob NOT IN"
                         " (SELECT digest FROM blobs)",
                         "image", "layer blob", "is not recorded", report, ctx, n_problems, err);
    if (rc == 0)
        rc = check_query(s,
                         "SELECT manifest, diff_id FROM image_layers WHERE diff_id NOT IN"
                         " (SELECT diff_id FROM layers)",
                         "image", "layer", "is not unpacked", report, ctx, n_problems, err);
    if (rc == 0)
        rc = check_query(s,
                         "SELECT name, manifest FROM names WHERE manifest NOT IN"
                         " (SELECT manifest FROM images)",
                         "name", "image", "is not recorded", report, ctx, n_problems, err);
    if (rc == 0) {
        kn_autofree char *want = kn_meta_index_json(s, err);
        kn_autobuf kn_buf have = KN_BUF_INIT;
        kn_buf_init(&have, 1 << 30);
        kn_autoerr kn_err e = KN_ERR_INIT;
        if (!want) {
            rc = -1;
        } else if (kn_read_fileat(s->rootfd, "index.json", 1 << 30, &have, &e) < 0) {
            reportf(report, ctx, "index.json: %s", e.msg);
            (*n_problems)++;
        } else if (have.len != strlen(want) || memcmp(have.data, want, have.len)) {
            reportf(report, ctx, "index.json does not list the recorded names");
            (*n_problems)++;
        }
    }
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_meta_exec(s, "COMMIT", &ignored); /* a read transaction: nothing to lose */
    return rc;
}
