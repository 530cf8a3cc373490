/* Image records: names, manifests, configs and their layers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/ref.h"
#include "base/str.h"
#include "base/vec.h"
#include "store/layer_set.h"
#include "store/meta.h"
#include "store/store.h"

static int insert_blob(kn_store *s, sqlite3_stmt *st, const kn_digest *d, uint64_t size,
                       const char *media_type, kn_err *err)
{
    sqlite3_bind_text(st, 1, d->str, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
    sqlite3_bind_text(st, 3, media_type, -1, SQLITE_TRANSIENT);
    return kn_meta_step_done(s, st, err);
}

static int set_name(kn_store *s, const char *name, const kn_digest *manifest, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
        s, "INSERT OR REPLACE INTO names(name, manifest, tagged_at) VALUES(?, ?, ?)", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, manifest->str, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    return kn_meta_step_done(s, st, err);
}

static int record_layers(kn_store *s, kn_layer_set *ls, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
        s, "INSERT OR REPLACE INTO layers(diff_id, size, last_used) VALUES(?, ?, ?)", err);
    if (!st)
        return -1;
    for (size_t i = 0; ls && i < ls->n; i++) {
        if (!ls->items[i].is_placed)
            continue;
        sqlite3_bind_text(st, 1, ls->items[i].diff_id.str, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)ls->items[i].size);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        if (kn_meta_step_done(s, st, err) < 0)
            return -1;
    }
    return 0;
}

static int add_records(kn_store *s, const kn_store_image *img, kn_err *err)
{
    kn_autostmt sqlite3_stmt *blob = kn_meta_prepare(
        s, "INSERT OR IGNORE INTO blobs(digest, size, media_type) VALUES(?, ?, ?)", err);
    if (!blob ||
        insert_blob(s, blob, &img->manifest, img->manifest_size, img->manifest_media_type, err) <
            0 ||
        insert_blob(s, blob, &img->config, img->config_size, img->config_media_type, err) < 0)
        return -1;
    for (size_t i = 0; i < img->n_layers; i++)
        if (insert_blob(s, blob, &img->layers[i].blob, img->layers[i].blob_size,
                        img->layers[i].media_type, err) < 0)
            return -1;

    /* Every layer must already be recorded as unpacked. */
    uint64_t size = 0;
    kn_autostmt sqlite3_stmt *layer =
        kn_meta_prepare(s, "UPDATE layers SET last_used = ? WHERE diff_id = ? RETURNING size", err);
    if (!layer)
        return -1;
    for (size_t i = 0; i < img->n_layers; i++) {
        sqlite3_bind_int64(layer, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(layer, 2, img->layers[i].diff_id.str, -1, SQLITE_STATIC);
        int rc = sqlite3_step(layer);
        if (rc == SQLITE_ROW)
            size += (uint64_t)sqlite3_column_int64(layer, 0);
        sqlite3_reset(layer);
        if (rc != SQLITE_ROW)
            return kn_errf(err, KN_EFAILED, "layer %s is not unpacked", img->layers[i].diff_id.str);
    }

    kn_autostmt sqlite3_stmt *image = kn_meta_prepare(
        s,
        "INSERT OR REPLACE INTO images(manifest, media_type, manifest_size, config, created, size,"
        " os, arch, variant, last_used) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        err);
    if (!image)
        return -1;
    /* REPLACE would cascade to the names: keep them by deleting nothing when
     * the image is already there. */
    kn_autostmt sqlite3_stmt *exists =
        kn_meta_prepare(s, "SELECT 1 FROM images WHERE manifest = ?", err);
    if (!exists)
        return -1;
    sqlite3_bind_text(exists, 1, img->manifest.str, -1, SQLITE_STATIC);
    int step = sqlite3_step(exists);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return kn_meta_err(s, err, "read images");
    if (step == SQLITE_DONE) {
        sqlite3_bind_text(image, 1, img->manifest.str, -1, SQLITE_STATIC);
        sqlite3_bind_text(image, 2, img->manifest_media_type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(image, 3, (sqlite3_int64)img->manifest_size);
        sqlite3_bind_text(image, 4, img->config.str, -1, SQLITE_STATIC);
        sqlite3_bind_int64(image, 5, img->created);
        sqlite3_bind_int64(image, 6, (sqlite3_int64)size);
        sqlite3_bind_text(image, 7, img->os, -1, SQLITE_STATIC);
        sqlite3_bind_text(image, 8, img->arch, -1, SQLITE_STATIC);
        if (img->variant)
            sqlite3_bind_text(image, 9, img->variant, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(image, 9);
        sqlite3_bind_int64(image, 10, (sqlite3_int64)time(NULL));
        if (kn_meta_step_done(s, image, err) < 0)
            return -1;
        kn_autostmt sqlite3_stmt *il = kn_meta_prepare(
            s, "INSERT INTO image_layers(manifest, pos, blob, diff_id) VALUES(?, ?, ?, ?)", err);
        if (!il)
            return -1;
        for (size_t i = 0; i < img->n_layers; i++) {
            sqlite3_bind_text(il, 1, img->manifest.str, -1, SQLITE_STATIC);
            sqlite3_bind_int64(il, 2, (sqlite3_int64)i);
            sqlite3_bind_text(il, 3, img->layers[i].blob.str, -1, SQLITE_STATIC);
            sqlite3_bind_text(il, 4, img->layers[i].diff_id.str, -1, SQLITE_STATIC);
            if (kn_meta_step_done(s, il, err) < 0)
                return -1;
        }
    } else {
        kn_autostmt sqlite3_stmt *used =
            kn_meta_prepare(s, "UPDATE images SET last_used = ? WHERE manifest = ?", err);
        if (!used)
            return -1;
        sqlite3_bind_int64(used, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(used, 2, img->manifest.str, -1, SQLITE_STATIC);
        if (kn_meta_step_done(s, used, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < img->n_names; i++)
        if (set_name(s, img->names[i], &img->manifest, err) < 0)
            return -1;
    return 0;
}

int kn_store_record_layers(kn_store *s, kn_layer_set *ls, kn_err *err)
{
    bool is_own = sqlite3_get_autocommit(s->db);
    if (is_own && kn_meta_begin(s, err) < 0)
        return -1;
    if (record_layers(s, ls, err) < 0) {
        if (is_own)
            kn_meta_rollback(s);
        return -1;
    }
    return is_own ? kn_meta_commit(s, err) : 0;
}

int kn_store_image_add(kn_store *s, const kn_store_image *imgs, size_t n, kn_layer_set *layers,
                       kn_err *err)
{
    if (kn_store_hold(s, err) < 0)
        return -1;
    if (layers && kn_layer_set_place(layers, err) < 0)
        return -1;
    /* Blobs and layers were renamed into place: make them durable before
     * trusting them. */
    if (syncfs(s->rootfd) < 0)
        return kn_errf(err, errno, "sync %s", s->path);
    if (kn_meta_begin(s, err) < 0)
        return -1;
    int rc = record_layers(s, layers, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_records(s, &imgs[i], err);
    if (rc < 0) {
        kn_meta_rollback(s);
        return -1;
    }
    if (kn_meta_commit(s, err) < 0)
        return -1;
    return kn_meta_sync_index(s, err);
}

void kn_store_entry_free(kn_store_entry *e)
{
    for (size_t i = 0; i < e->n_names; i++)
        free(e->names[i]);
    free(e->names);
    free(e->tagged_at);
    free(e->manifest_media_type);
    memset(e, 0, sizeof(*e));
}

static int digest_column(sqlite3_stmt *st, int col, kn_digest *out, kn_err *err)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    if (!text || kn_digest_parse(out, text, err) < 0)
        return kn_errf(err, KN_ECORRUPT, "store database: bad digest %s", text ? text : "NULL");
    return 0;
}

#define ENTRY_COLUMNS "manifest, media_type, manifest_size, config, created, size, last_used"

static int read_entry(kn_store *s, sqlite3_stmt *st, kn_store_entry *e, kn_err *err)
{
    memset(e, 0, sizeof(*e));
    if (digest_column(st, 0, &e->manifest, err) < 0 || digest_column(st, 3, &e->config, err) < 0)
        return -1;
    e->manifest_media_type = kn_xstrdup((const char *)sqlite3_column_text(st, 1));
    e->manifest_size = (uint64_t)sqlite3_column_int64(st, 2);
    e->created = sqlite3_column_int64(st, 4);
    e->size = (uint64_t)sqlite3_column_int64(st, 5);
    e->last_used = sqlite3_column_int64(st, 6);
    kn_autostmt sqlite3_stmt *names = kn_meta_prepare(
        s, "SELECT name, tagged_at FROM names WHERE manifest = ? ORDER BY name", err);
    if (!names) {
        kn_store_entry_free(e);
        return -1;
    }
    sqlite3_bind_text(names, 1, e->manifest.str, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(names)) == SQLITE_ROW) {
        if (e->n_names == cap) {
            cap = cap ? cap * 2 : 4;
            e->names = kn_xreallocarray(e->names, cap, sizeof(*e->names));
            e->tagged_at = kn_xreallocarray(e->tagged_at, cap, sizeof(*e->tagged_at));
        }
        e->names[e->n_names] = kn_xstrdup((const char *)sqlite3_column_text(names, 0));
        e->tagged_at[e->n_names++] = sqlite3_column_int64(names, 1);
    }
    if (rc != SQLITE_DONE) {
        kn_store_entry_free(e);
        return kn_meta_err(s, err, "read names");
    }
    return 0;
}

/* Runs a query with one text parameter that selects ENTRY_COLUMNS; *found
 * tells whether exactly one row came back (more than one is ambiguous). */
static int find_one(kn_store *s, const char *sql, const char *arg, kn_store_entry *out,
                    int *n_found, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, sql, err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    *n_found = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (++*n_found == 1 && read_entry(s, st, out, err) < 0)
            return -1;
        if (*n_found > 1) {
            kn_store_entry_free(out);
            return 0;
        }
    }
    if (rc != SQLITE_DONE) {
        if (*n_found)
            kn_store_entry_free(out);
        return kn_meta_err(s, err, "find image");
    }
    return 0;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
    size_t n = strspn(s, "0123456789abcdef");
    return s[n] == '\0' && n >= min && n <= max;
}

static int not_found(kn_store *s, const char *ref, kn_err *err)
{
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, "SELECT name FROM names", &ignored);
    kn_strvec names = KN_STRVEC_INIT;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        kn_ref r = KN_REF_INIT;
        if (kn_ref_parse((const char *)sqlite3_column_text(st, 0), &r, &ignored) == 0)
            kn_strvec_push_owned(&names, kn_ref_familiar(&r));
        kn_ref_free(&r);
        kn_err_clear(&ignored);
    }
    /* Compare like with like: "bbb" is "bbb:latest" next to "bb:latest". */
    kn_autofree char *want = NULL;
    kn_ref r = KN_REF_INIT;
    if (kn_ref_parse(ref, &r, &ignored) == 0) {
        kn_ref_default_tag(&r);
        want = kn_ref_familiar(&r);
    }
    kn_ref_free(&r);
    const char *near =
        kn_str_suggest(want ? want : ref, (const char *const *)names.items, names.len, 2);
    if (near)
        kn_errf(err, KN_EINPUT, "no such image: %s (did you mean %s?)", ref, near);
    else
        kn_errf(err, KN_EINPUT, "no such image: %s", ref);
    kn_strvec_free(&names);
    return -1;
}

int kn_store_image_find(kn_store *s, const char *ref, kn_store_entry *out, kn_err *err)
{
    static const char by_name[] = "SELECT i." ENTRY_COLUMNS " FROM names n JOIN images i"
                                  " ON i.manifest = n.manifest WHERE n.name = ?";
    static const char by_manifest[] = "SELECT " ENTRY_COLUMNS " FROM images WHERE manifest = ?";
    static const char by_id[] = "SELECT " ENTRY_COLUMNS " FROM images WHERE config = ?"
                                " OR manifest = ? ORDER BY created DESC";
    static const char by_prefix[] = "SELECT " ENTRY_COLUMNS " FROM images WHERE"
                                    " substr(config, 8, length(?1)) = ?1";
    int n = 0;
    kn_autoerr kn_err parse_err = KN_ERR_INIT;
    kn_ref r = KN_REF_INIT;
    if (kn_ref_parse(ref, &r, &parse_err) == 0) {
        int rc;
        if (r.digest) {
            rc = find_one(s, by_manifest, r.digest, out, &n, err);
        } else {
            kn_ref_default_tag(&r);
            kn_autofree char *full = kn_ref_string(&r);
            rc = find_one(s, by_name, full, out, &n, err);
        }
        kn_ref_free(&r);
        if (rc < 0)
            return -1;
        if (n == 1)
            return 0;
    }
    const char *hex = ref;
    if (!strncmp(ref, KN_DIGEST_PREFIX, strlen(KN_DIGEST_PREFIX))) {
        hex = ref + strlen(KN_DIGEST_PREFIX);
        if (!is_hex(hex, 64, 64))
            return kn_errf(err, KN_EINPUT, "no such image: %s (not a sha256 digest)", ref);
        /* An ID is the config digest; a manifest digest is accepted too. */
        kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, by_id, err);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            return read_entry(s, st, out, err);
        if (rc != SQLITE_DONE)
            return kn_meta_err(s, err, "find image");
        return not_found(s, ref, err);
    }
    if (is_hex(hex, 4, 64)) {
        if (find_one(s, by_prefix, hex, out, &n, err) < 0)
            return -1;
        if (n == 1)
            return 0;
        if (n > 1)
            return kn_errf(err, KN_EINPUT, "image ID %s is ambiguous: give more digits", ref);
    }
    if (parse_err.msg && n == 0 && !is_hex(hex, 4, 64))
        return kn_errf(err, KN_EINPUT, "invalid reference %s: %s", ref, parse_err.msg);
    return not_found(s, ref, err);
}

int kn_store_image_list(kn_store *s, kn_store_entry **out, size_t *n, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
        s, "SELECT " ENTRY_COLUMNS " FROM images ORDER BY created DESC, manifest", err);
    if (!st)
        return -1;
    KN_VEC(kn_store_entry) v = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        kn_store_entry e;
        if (read_entry(s, st, &e, err) < 0)
            break;
        kn_vec_push(&v, e);
    }
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < v.len; i++)
            kn_store_entry_free(&v.items[i]);
        kn_vec_free(&v);
        return rc == SQLITE_ROW ? -1 : kn_meta_err(s, err, "list images");
    }
    *out = v.items;
    *n = v.len;
    return 0;
}

int kn_store_image_layers(kn_store *s, const kn_digest *manifest, kn_store_layer **out, size_t *n,
                          kn_err *err)
{
    kn_autostmt sqlite3_stmt *st =
        kn_meta_prepare(s,
                        "SELECT l.blob, b.size, b.media_type, l.diff_id FROM image_layers l"
                        " JOIN blobs b ON b.digest = l.blob WHERE l.manifest = ? ORDER BY l.pos",
                        err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, manifest->str, -1, SQLITE_STATIC);
    KN_VEC(kn_store_layer) v = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        kn_store_layer l = {0};
        if (digest_column(st, 0, &l.blob, err) < 0 || digest_column(st, 3, &l.diff_id, err) < 0)
            break;
        l.blob_size = (uint64_t)sqlite3_column_int64(st, 1);
        l.media_type = kn_xstrdup((const char *)sqlite3_column_text(st, 2));
        kn_vec_push(&v, l);
    }
    if (rc != SQLITE_DONE) {
        kn_store_layers_free(v.items, v.len);
        return rc == SQLITE_ROW ? -1 : kn_meta_err(s, err, "read layers");
    }
    *out = v.items;
    *n = v.len;
    return 0;
}

void kn_store_layers_free(kn_store_layer *layers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)layers[i].media_type);
    free(layers);
}

int kn_store_tag(kn_store *s, const kn_digest *manifest, const char *name, kn_err *err)
{
    if (kn_meta_begin(s, err) < 0)
        return -1;
    kn_autostmt sqlite3_stmt *st =
        kn_meta_prepare(s, "SELECT 1 FROM images WHERE manifest = ?", err);
    if (!st) {
        kn_meta_rollback(s);
        return -1;
    }
    sqlite3_bind_text(st, 1, manifest->str, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        kn_meta_rollback(s);
        return kn_errf(err, KN_EINPUT, "no such image: %s", manifest->str);
    }
    if (set_name(s, name, manifest, err) < 0) {
        kn_meta_rollback(s);
        return -1;
    }
    if (kn_meta_commit(s, err) < 0)
        return -1;
    return kn_meta_sync_index(s, err);
}

static int remove_unnamed(kn_store *s, const char *manifest, bool *removed, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
        s,
        "DELETE FROM images WHERE manifest = ?"
        " AND NOT EXISTS (SELECT 1 FROM names WHERE names.manifest = images.manifest)",
        err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, manifest, -1, SQLITE_STATIC);
    if (kn_meta_step_done(s, st, err) < 0)
        return -1;
    *removed = sqlite3_changes(s->db) > 0;
    return 0;
}

int kn_store_untag(kn_store *s, const char *name, const kn_digest *manifest, bool *removed_image,
                   kn_err *err)
{
    *removed_image = false;
    if (kn_meta_begin(s, err) < 0)
        return -1;
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
        s, "DELETE FROM names WHERE name = ?1 AND (?2 IS NULL OR manifest = ?2) RETURNING manifest",
        err);
    if (!st) {
        kn_meta_rollback(s);
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (manifest)
        sqlite3_bind_text(st, 2, manifest->str, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        kn_meta_rollback(s);
        return rc == SQLITE_DONE ? kn_errf(err, KN_EINPUT, "no such image: %s", name)
                                 : kn_meta_err(s, err, "untag");
    }
    kn_autofree char *was = kn_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (remove_unnamed(s, was, removed_image, err) < 0) {
        kn_meta_rollback(s);
        return -1;
    }
    if (kn_meta_commit(s, err) < 0)
        return -1;
    return kn_meta_sync_index(s, err);
}

int kn_store_image_remove(kn_store *s, const kn_digest *manifest, kn_err *err)
{
    if (kn_meta_begin(s, err) < 0)
        return -1;
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(s, "DELETE FROM images WHERE manifest = ?", err);
    if (!st) {
        kn_meta_rollback(s);
        return -1;
    }
    sqlite3_bind_text(st, 1, manifest->str, -1, SQLITE_STATIC);
    if (kn_meta_step_done(s, st, err) < 0) {
        kn_meta_rollback(s);
        return -1;
    }
    if (kn_meta_commit(s, err) < 0)
        return -1;
    return kn_meta_sync_index(s, err);
}
