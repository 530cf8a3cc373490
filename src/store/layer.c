/* Layer trees: extracted once per diff ID, under a per-layer lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/crash.h"
#include "base/fs.h"
#include "base/mem.h"
#include "store/extract.h"
#include "store/layer_set.h"
#include "store/meta.h"
#include "store/store.h"

static const char *hex_of(const kn_digest *d)
{
    return d->str + strlen(KN_DIGEST_PREFIX);
}

int kn_store_layer_has(kn_store *s, const kn_digest *diff_id, bool *has, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st =
        kn_meta_prepare(s, "SELECT 1 FROM layers WHERE diff_id = ?", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, diff_id->str, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kn_meta_err(s, err, "read layers");
    *has = rc == SQLITE_ROW;
    return 0;
}

int kn_store_layer_blob_known(kn_store *s, const kn_digest *blob, const kn_digest *diff_id,
                              bool *is_known, kn_err *err)
{
    kn_autostmt sqlite3_stmt *st = kn_meta_prepare(
        s, "SELECT 1 FROM image_layers WHERE blob = ? AND diff_id = ? LIMIT 1", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, blob->str, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, diff_id->str, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kn_meta_err(s, err, "read image layers");
    *is_known = rc == SQLITE_ROW;
    return 0;
}

int kn_store_layer_open(kn_store *s, const kn_digest *diff_id, kn_err *err)
{
    int fd = openat(s->layersfd, hex_of(diff_id), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "layer %s", diff_id->str);
    return fd;
}

static int lock_layer(kn_store *s, const kn_digest *diff_id, kn_err *err)
{
    char name[80];
    snprintf(name, sizeof(name), "layer-%s", hex_of(diff_id));
    int fd = openat(s->locksfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return kn_errf(err, errno, "open locks/%s", name);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return kn_errf(err, e, "lock locks/%s", name);
        }
    }
    return fd;
}

static int compare_digests(const void *a, const void *b)
{
    return strcmp(((const kn_digest *)a)->str, ((const kn_digest *)b)->str);
}

kn_layer_set *kn_layer_set_lock(kn_store *s, const kn_digest *diff_ids, size_t n, kn_err *err)
{
    if (kn_store_hold(s, err) < 0)
        return NULL;
    kn_layer_set *ls = kn_xcalloc(1, sizeof(*ls));
    ls->store = s;
    ls->items = kn_xcalloc(n ? n : 1, sizeof(*ls->items));
    kn_autofree kn_digest *sorted = kn_xmemdup(diff_ids, (n ? n : 1) * sizeof(*diff_ids));
    qsort(sorted, n, sizeof(*sorted), compare_digests);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && kn_digest_eq(&sorted[i], &sorted[i - 1]))
            continue;
        kn_layer_item *it = &ls->items[ls->n++];
        it->diff_id = sorted[i];
        it->lockfd = lock_layer(s, &it->diff_id, err);
        bool has = false;
        if (it->lockfd < 0 || kn_store_layer_has(s, &it->diff_id, &has, err) < 0) {
            kn_layer_set_free(ls);
            return NULL;
        }
        it->is_needed = !has;
    }
    return ls;
}

kn_layer_item *kn_layer_set_find(kn_layer_set *ls, const kn_digest *diff_id)
{
    for (size_t i = 0; i < ls->n; i++)
        if (kn_digest_eq(&ls->items[i].diff_id, diff_id))
            return &ls->items[i];
    return NULL;
}

bool kn_layer_set_needs(const kn_layer_set *ls, const kn_digest *diff_id)
{
    kn_layer_item *it = kn_layer_set_find((kn_layer_set *)ls, diff_id);
    return it && it->is_needed && !it->work;
}

static ssize_t read_decomp(void *ctx, void *buf, size_t len, kn_err *err)
{
    return kn_decomp_read(ctx, buf, len, err);
}

static int extract_into(kn_store *s, int dirfd, int blob_fd, kn_comp comp, const kn_digest *diff_id,
                        uint64_t *size, kn_err *err)
{
    kn_decomp *d = kn_decomp_new(blob_fd, comp, err);
    if (!d)
        return -1;
    kn_extract_opts opts = {.as_root = geteuid() == 0};
    kn_digest got;
    uint64_t plain_size;
    kn_extract_stats stats = {0};
    int rc = kn_extract_tar(dirfd, read_decomp, d, &opts, &stats, err);
    if (rc == 0)
        rc = kn_decomp_finish(d, &got, &plain_size, err);
    kn_decomp_free(d);
    if (rc < 0)
        return -1;
    kn_crashpoint("layer extracted");
    if (!kn_digest_eq(&got, diff_id))
        return kn_errf(err, KN_ECORRUPT, "content has digest %s, but the image config lists %s",
                       got.str, diff_id->str);
    /* The bytes the extractor wrote: no second walk over the new tree (an
     * entry a later one replaces counts twice; the size is for display). */
    *size = stats.n_bytes;
    return 0;
}

int kn_layer_set_extract(kn_layer_set *ls, const kn_digest *diff_id, int blob_fd, kn_comp comp,
                         kn_err *err)
{
    kn_layer_item *it = kn_layer_set_find(ls, diff_id);
    if (!it)
        return kn_errf(err, EINVAL, "layer %s was not locked", diff_id->str);
    if (!it->is_needed || it->work)
        return 0;
    kn_store *s = ls->store;
    kn_autofree char *work = kn_store_work_name(s, "layer");
    if (mkdirat(s->workfd, work, 0755) < 0)
        return kn_errf(err, errno, "create tmp/%s/%s", s->work_name, work);
    kn_autoclose int dirfd =
        openat(s->workfd, work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0 || extract_into(s, dirfd, blob_fd, comp, diff_id, &it->size, err) < 0) {
        if (dirfd < 0)
            kn_errf(err, errno, "open tmp/%s/%s", s->work_name, work);
        kn_autoerr kn_err ignored = KN_ERR_INIT;
        kn_remove_tree(s->workfd, work, &ignored);
        return kn_err_wrap(err, "layer %s", diff_id->str);
    }
    it->work = kn_steal_pointer(&work);
    return 0;
}

int kn_layer_set_place(kn_layer_set *ls, kn_err *err)
{
    kn_store *s = ls->store;
    for (size_t i = 0; i < ls->n; i++) {
        kn_layer_item *it = &ls->items[i];
        if (!it->work)
            continue;
        /* An unrecorded tree under layers/ was left by a killed process and
         * may be incomplete: ours replaces it. */
        const char *hex = hex_of(&it->diff_id);
        kn_autofree char *old = kn_store_work_name(s, "old-layer");
        if (renameat(s->layersfd, hex, s->workfd, old) < 0 && errno != ENOENT)
            return kn_errf(err, errno, "move aside layers/%s", hex);
        kn_crashpoint("before layer rename");
        if (renameat(s->workfd, it->work, s->layersfd, hex) < 0)
            return kn_errf(err, errno, "store layer %s", it->diff_id.str);
        kn_crashpoint("after layer rename");
        kn_freep(&it->work);
        it->is_placed = true;
        kn_autoerr kn_err ignored = KN_ERR_INIT;
        kn_remove_tree(s->workfd, old, &ignored);
    }
    return 0;
}

void kn_layer_set_free(kn_layer_set *ls)
{
    if (!ls)
        return;
    for (size_t i = 0; i < ls->n; i++) {
        kn_layer_item *it = &ls->items[i];
        if (it->work) {
            kn_autoerr kn_err ignored = KN_ERR_INIT;
            kn_remove_tree(ls->store->workfd, it->work, &ignored);
            free(it->work);
        }
        if (it->lockfd >= 0)
            close(it->lockfd);
    }
    free(ls->items);
    free(ls);
}

int kn_store_layer_adopt(kn_store *s, const kn_digest *diff_id, const char *work_path,
                         uint64_t size, kn_err *err)
{
    kn_layer_set *ls = kn_layer_set_lock(s, diff_id, 1, err);
    if (!ls)
        return -1;
    kn_layer_item *it = &ls->items[0];
    int rc = 0;
    if (it->is_needed) {
        /* Renamed into the set's own work name, it is placed like an
         * extracted layer. */
        char *work = kn_store_work_name(s, "layer");
        if (renameat(s->workfd, work_path, s->workfd, work) < 0) {
            rc = kn_errf(err, errno, "move %s", work_path);
            free(work);
        } else {
            it->work = work;
            it->size = size;
            rc = kn_layer_set_place(ls, err);
        }
        if (rc == 0) {
            if (syncfs(s->rootfd) < 0)
                rc = kn_errf(err, errno, "sync %s", s->path);
            else
                rc = kn_store_record_layers(s, ls, err);
        }
    }
    kn_layer_set_free(ls);
    return rc;
}
