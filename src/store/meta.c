#include "store/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crash.h"
#include "base/mem.h"
#include "base/path.h"

/* Version 1. Digests are "sha256:<hex>" text; times are seconds. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS blobs("
    "  digest TEXT PRIMARY KEY, size INTEGER NOT NULL, media_type TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS layers("
    "  diff_id TEXT PRIMARY KEY, size INTEGER NOT NULL, last_used INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS images("
    "  manifest TEXT PRIMARY KEY, media_type TEXT NOT NULL, manifest_size INTEGER NOT NULL,"
    "  config TEXT NOT NULL, created INTEGER NOT NULL, size INTEGER NOT NULL,"
    "  os TEXT NOT NULL, arch TEXT NOT NULL, variant TEXT, last_used INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS image_layers("
    "  manifest TEXT NOT NULL REFERENCES images(manifest) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL, blob TEXT NOT NULL, diff_id TEXT NOT NULL,"
    "  PRIMARY KEY(manifest, pos));"
    "CREATE INDEX IF NOT EXISTS image_layers_blob ON image_layers(blob);"
    "CREATE INDEX IF NOT EXISTS image_layers_diff ON image_layers(diff_id);"
    "CREATE TABLE IF NOT EXISTS names("
    "  name TEXT PRIMARY KEY, manifest TEXT NOT NULL REFERENCES images(manifest) ON DELETE CASCADE,"
    "  tagged_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS names_manifest ON names(manifest);"
    "PRAGMA user_version = 1;";

int kn_meta_err(kn_store *s, kn_err *err, const char *what)
{
    return kn_errf(err, KN_EFAILED, "%s: %s", what, sqlite3_errmsg(s->db));
}

int kn_meta_exec(kn_store *s, const char *sql, kn_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        kn_errf(err, KN_EFAILED, "store database: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *kn_meta_prepare(kn_store *s, const char *sql, kn_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        kn_meta_err(s, err, "store database");
        return NULL;
    }
    return st;
}

int kn_meta_step_done(kn_store *s, sqlite3_stmt *st, kn_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return kn_meta_err(s, err, "store database");
    return 0;
}

void kn_meta_finalizep(sqlite3_stmt **st)
{
    if (*st)
        sqlite3_finalize(*st);
}

int kn_meta_begin(kn_store *s, kn_err *err)
{
    return kn_meta_exec(s, "BEGIN IMMEDIATE", err);
}

int kn_meta_commit(kn_store *s, kn_err *err)
{
    kn_crashpoint("before commit");
    if (kn_meta_exec(s, "COMMIT", err) < 0) {
        kn_meta_rollback(s);
        return -1;
    }
    kn_crashpoint("after commit");
    return 0;
}

void kn_meta_rollback(kn_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int kn_meta_open(kn_store *s, kn_err *err)
{
    kn_autofree char *path = kn_path_join(s->path, "meta.db");
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return kn_errf(err, KN_EFAILED, "open %s: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    /* Several kiln processes share the store: wait for each other rather
     * than fail (a load may hold the write lock for a moment). */
    sqlite3_busy_timeout(s->db, 120000);
    if (kn_meta_exec(s, "PRAGMA journal_mode=WAL", err) < 0 ||
        kn_meta_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", err) < 0)
        return kn_err_wrap(err, "open %s", path);
    if (kn_meta_begin(s, err) < 0)
        return kn_err_wrap(err, "open %s", path);
    if (kn_meta_exec(s, schema, err) < 0) {
        kn_meta_rollback(s);
        return kn_err_wrap(err, "open %s", path);
    }
    return kn_meta_exec(s, "COMMIT", err);
}

int kn_store_defer_sync(kn_store *s, bool is_deferred, kn_err *err)
{
    return kn_meta_exec(s, is_deferred ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                        err);
}

int kn_meta_blob_recorded(kn_store *s, const kn_digest *digest, bool *is_recorded, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, "SELECT 1 FROM blobs WHERE digest = ?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, digest->str, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kn_meta_err(s, err, "read blobs");
    *is_recorded = rc == SQLITE_ROW;
    return 0;
}

char *kn_meta_index_json(kn_store *s, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st =
        kn_meta_prepare(s,
                        "SELECT n.name, i.manifest, i.media_type, i.manifest_size"
                        " FROM names n JOIN images i ON i.manifest = n.manifest ORDER BY n.name",
                        err);
    if (!st)
        return NULL;
    json_t *manifests = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        json_t *d = json_object();
        json_object_set_new(d, "mediaType", json_string((const char *)sqlite3_column_text(st, 2)));
        json_object_set_new(d, "digest", json_string((const char *)sqlite3_column_text(st, 1)));
        json_object_set_new(d, "size", json_integer(sqlite3_column_int64(st, 3)));
        json_t *a = json_object();
        json_object_set_new(a, "io.containerd.image.name", json_string(name));
        json_object_set_new(a, "org.opencontainers.image.ref.name", json_string(name));
        json_object_set_new(d, "annotations", a);
        json_array_append_new(manifests, d);
    }
    if (rc != SQLITE_DONE) {
        json_decref(manifests);
        kn_meta_err(s, err, "read names");
        return NULL;
    }
    json_t *idx = json_object();
    json_object_set_new(idx, "schemaVersion", json_integer(2));
    json_object_set_new(idx, "mediaType", json_string("application/vnd.oci.image.index.v1+json"));
    json_object_set_new(idx, "manifests", manifests);
    char *text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(idx);
    if (!text)
        kn_errf(err, ENOMEM, "encode index.json");
    return text;
}

int kn_meta_sync_index(kn_store *s, kn_err *err)
{
    kn_autoclose int lockfd =
        openat(s->locksfd, "index", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (lockfd < 0)
        return kn_errf(err, errno, "open locks/index");
    while (flock(lockfd, LOCK_EX) < 0)
        if (errno != EINTR)
            return kn_errf(err, errno, "lock locks/index");
    kn_autofree char *want = kn_meta_index_json(s, err);
    if (!want)
        return -1;
    kn_autobuf kn_buf have = KN_BUF_INIT;
    kn_buf_init(&have, 1 << 30);
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    if (kn_read_fileat(s->rootfd, "index.json", 1 << 30, &have, &ignored) == 0 &&
        have.len == strlen(want) && !memcmp(have.data, want, have.len))
        return 0;
    kn_crashpoint("before index.json");
    if (kn_write_file_atomic(s->rootfd, "index.json", want, strlen(want), 0644, err) < 0)
        return kn_err_wrap(err, "write index.json");
    kn_crashpoint("after index.json");
    return 0;
}
