#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crash.h"
#include "base/fs.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/ref.h"
#include "base/vec.h"
#include "image/config.h"
#include "image/manifest.h"
#include "store/compress.h"
#include "store/tarwrite.h"

#define SMALL_MAX (4u << 20) /* JSON documents are read into memory up to this */
#define IO_CHUNK (1u << 20)  /* copy buffer */
#define MAX_ALIAS_DEPTH 8    /* symlink/hardlink chains in an archive */
#define MAX_INDEX_DEPTH 4    /* nested indexes */

/* ---- reading an archive into the work directory ---- */

typedef struct entry {
    char *work; /* file in the work directory; NULL for an alias */
    char *link; /* alias target (archive path); owned */
    kn_digest digest;
    uint64_t size;
    char *data; /* content when size <= SMALL_MAX; owned */
    bool is_placed;
    bool has_diff_id; /* a layer blob whose plain bytes were checked to hash to diff_id */
    kn_digest diff_id;
} entry;

static void entry_free(void *p)
{
    entry *e = p;
    free(e->work);
    free(e->link);
    free(e->data);
    free(e);
}

/* Archive names are only keys here, never opened: cleaning makes
 * "./a//b" and "a/b" the same key. */
static char *clean_name(const char *raw)
{
    while (raw[0] == '.' && raw[1] == '/')
        raw += 2;
    char *c = kn_path_clean(raw[0] == '/' ? raw + 1 : raw);
    return c;
}

/* Reads IO_CHUNK bytes at most into buf: the count, 0 at the end, -1 with
 * err set. */
typedef ssize_t (*read_fn)(void *src, char *buf, kn_err *err);

static ssize_t read_from_archive(void *src, char *buf, kn_err *err)
{
    ssize_t n = archive_read_data(src, buf, IO_CHUNK);
    if (n < 0)
        kn_errf(err, KN_EINPUT, "%s", archive_error_string(src));
    return n;
}

static ssize_t read_from_fd(void *src, char *buf, kn_err *err)
{
    ssize_t n;
    while ((n = read(*(int *)src, buf, IO_CHUNK)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        kn_errf(err, errno, "read");
    return n;
}

/* Copies a file of `size` bytes into the work directory, hashing it, and
 * keeps it in memory when small. */
static int read_entry_data(kn_store *s, read_fn read, void *src, int64_t size, entry *e, char *buf,
                           kn_err *err)
{
    kn_blob_writer w;
    if (kn_blob_writer_open(s, &w, err) < 0)
        return -1;
    kn_autobuf kn_buf small = KN_BUF_INIT;
    bool keep = size <= (int64_t)SMALL_MAX;
    ssize_t n;
    while ((n = read(src, buf, err)) > 0) {
        if (kn_blob_writer_write(&w, buf, (size_t)n, err) < 0) {
            kn_blob_writer_free(&w);
            return -1;
        }
        if (keep && small.len + (size_t)n <= SMALL_MAX)
            kn_buf_add(&small, buf, (size_t)n);
        else
            keep = false;
    }
    if (n < 0) {
        kn_blob_writer_free(&w);
        return -1;
    }
    kn_blob_writer_finish(&w, &e->digest, &e->size);
    if (keep)
        e->data = kn_buf_release(&small);
    e->work = kn_steal_pointer(&w.name);
    close(w.fd);
    w.fd = -1;
    kn_blob_writer_free(&w);
    return 0;
}

/* Streams every regular file of the archive into the work directory,
 * hashing it; symlinks and hardlinks become aliases. */
static int read_archive(kn_store *s, int fd, kn_map *entries, kn_err *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    kn_autofree char *buf = kn_xmalloc(IO_CHUNK);
    int rc = 0;
    if (archive_read_open_fd(a, fd, IO_CHUNK) != ARCHIVE_OK) {
        rc = kn_errf(err, KN_EINPUT, "not a tar archive: %s", archive_error_string(a));
        goto out;
    }
    struct archive_entry *ae;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *raw = archive_entry_pathname(ae);
        if (!raw)
            continue;
        kn_autofree char *name = clean_name(raw);
        const char *hardlink = archive_entry_hardlink(ae);
        entry *e = kn_xcalloc(1, sizeof(*e));
        if (hardlink) {
            e->link = clean_name(hardlink);
        } else if (archive_entry_filetype(ae) == AE_IFLNK) {
            /* docker save links a layer shared by two images: X/layer.tar ->
             * ../Y/layer.tar, relative to the link's directory. */
            const char *target = archive_entry_symlink(ae);
            const char *slash = strrchr(name, '/');
            kn_autofree char *dir = slash ? kn_xstrndup(name, (size_t)(slash - name)) : NULL;
            kn_autofree char *joined = kn_path_join(dir ? dir : "", target ? target : "");
            e->link = clean_name(joined);
        } else if (archive_entry_filetype(ae) == AE_IFREG) {
            if (read_entry_data(s, read_from_archive, a, archive_entry_size(ae), e, buf, err) < 0) {
                entry_free(e);
                rc = kn_err_wrap(err, "read %s", name);
                goto out;
            }
        } else {
            entry_free(e);
            continue;
        }
        entry *old = kn_map_take(entries, name);
        if (old) {
            if (old->work)
                unlinkat(s->workfd, old->work, 0);
            entry_free(old);
        }
        kn_map_set(entries, name, e);
    }
    if (r != ARCHIVE_EOF)
        rc = kn_errf(err, KN_EINPUT, "%s", archive_error_string(a));
out:
    archive_read_free(a);
    return rc;
}

static entry *lookup(kn_map *entries, const char *name)
{
    kn_autofree char *key = clean_name(name);
    for (int depth = 0; depth < MAX_ALIAS_DEPTH; depth++) {
        entry *e = kn_map_get(entries, key);
        if (!e || !e->link)
            return e;
        free(key);
        key = kn_xstrdup(e->link);
    }
    return NULL;
}

static entry *lookup_blob(kn_map *entries, const kn_digest *d)
{
    kn_autobuf kn_buf path = KN_BUF_INIT;
    kn_buf_addf(&path, "blobs/sha256/%s", d->str + strlen(KN_DIGEST_PREFIX));
    return lookup(entries, path.data);
}

/* An archive path that names its digest ("<hex>.json", "blobs/sha256/<hex>")
 * must hold content with that digest. */
static int check_named_digest(const char *path, const entry *e, kn_err *err)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t hexlen = strspn(base, "0123456789abcdef");
    if (hexlen != 64 || (base[64] && strcmp(base + 64, ".json")))
        return 0;
    if (strncmp(base, e->digest.str + strlen(KN_DIGEST_PREFIX), 64))
        return kn_errf(err, KN_ECORRUPT, "%s: content has digest %s", path, e->digest.str);
    return 0;
}

static int open_entry(kn_store *s, const entry *e, kn_err *err)
{
    if (e->is_placed)
        return kn_store_blob_open(s, &e->digest, err);
    int fd = openat(s->workfd, e->work, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "open tmp/%s/%s", s->work_name, e->work);
    return fd;
}

static int place_entry(kn_store *s, entry *e, kn_err *err)
{
    if (e->is_placed)
        return 0;
    if (kn_store_blob_place(s, e->work, &e->digest, err) < 0)
        return -1;
    e->is_placed = true;
    return 0;
}

/* ---- what an archive holds, verified ---- */

typedef struct plan_layer {
    entry *blob;
    kn_comp comp;
    const char *media_type; /* static string */
    kn_digest diff_id;
} plan_layer;

typedef struct plan_image {
    json_t *cfg;
    entry *config;
    const char *config_media_type;
    entry *manifest; /* NULL: synthesised into manifest_bytes */
    char *manifest_bytes;
    size_t manifest_len;
    const char *manifest_media_type;
    plan_layer *layers;
    size_t n_layers;
    kn_strvec names;
} plan_image;

typedef KN_VEC(plan_image) plan_vec;

static void plan_image_free(plan_image *p)
{
    json_decref(p->cfg);
    free(p->manifest_bytes);
    free(p->layers);
    kn_strvec_free(&p->names);
}

static int normalise_name(const char *name, kn_strvec *out, kn_err *err)
{
    kn_ref r = KN_REF_INIT;
    if (kn_ref_parse(name, &r, err) < 0)
        return kn_err_wrap(err, "image name %s", name);
    if (r.digest) {
        kn_ref_free(&r);
        return kn_errf(err, KN_EINPUT, "image name %s: a name to load must not have a digest",
                       name);
    }
    kn_ref_default_tag(&r);
    kn_strvec_push_owned(out, kn_ref_string(&r));
    kn_ref_free(&r);
    return 0;
}

static int parse_config(plan_image *p, const char *what, kn_err *err)
{
    if (!p->config->data)
        return kn_errf(err, KN_EINPUT, "%s: config is larger than %u bytes", what, SMALL_MAX);
    if (kn_config_parse(p->config->data, p->config->size, &p->cfg, err) < 0)
        return kn_err_wrap(err, "%s", what);
    return 0;
}

static int plan_diff_ids(plan_image *p, size_t n_layers, const char *what, kn_err *err)
{
    kn_autofree kn_digest *ids = NULL;
    size_t n = 0;
    if (kn_config_diff_ids(p->cfg, &ids, &n, err) < 0)
        return kn_err_wrap(err, "%s", what);
    if (n != n_layers)
        return kn_errf(err, KN_EINPUT, "%s: %zu layers, but the config lists %zu diff IDs", what,
                       n_layers, n);
    p->layers = kn_xcalloc(n ? n : 1, sizeof(*p->layers));
    p->n_layers = n;
    for (size_t i = 0; i < n; i++)
        p->layers[i].diff_id = ids[i];
    return 0;
}

static kn_comp sniff(kn_store *s, const entry *e)
{
    unsigned char head[8] = {0};
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_autoclose int fd = open_entry(s, e, &ignored);
    ssize_t n = fd >= 0 ? pread(fd, head, sizeof(head), 0) : -1;
    return n > 0 ? kn_comp_detect(head, (size_t)n) : KN_COMP_NONE;
}

static int plan_docker(kn_store *s, kn_map *entries, const entry *mf, plan_vec *out, kn_err *err)
{
    if (!mf->data)
        return kn_errf(err, KN_EINPUT, "manifest.json is larger than %u bytes", SMALL_MAX);
    kn_archive_image *images = NULL;
    size_t n = 0;
    if (kn_archive_manifest_parse(mf->data, mf->size, &images, &n, err) < 0)
        return kn_err_wrap(err, "manifest.json");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        kn_archive_image *ai = &images[i];
        plan_image p = {0};
        kn_autobuf kn_buf what = KN_BUF_INIT;
        kn_buf_addf(&what, "manifest.json image %zu", i + 1);
        p.config = lookup(entries, ai->config);
        p.config_media_type = KN_MT_OCI_CONFIG;
        p.manifest_media_type = KN_MT_OCI_MANIFEST;
        if (!p.config)
            rc = kn_errf(err, KN_EINPUT, "%s: config %s is not in the archive", what.data,
                         ai->config);
        if (rc == 0)
            rc = check_named_digest(ai->config, p.config, err);
        if (rc == 0)
            rc = parse_config(&p, what.data, err);
        if (rc == 0)
            rc = plan_diff_ids(&p, ai->n_layers, what.data, err);
        for (size_t j = 0; rc == 0 && j < ai->n_layers; j++) {
            plan_layer *l = &p.layers[j];
            l->blob = lookup(entries, ai->layers[j]);
            if (!l->blob) {
                rc = kn_errf(err, KN_EINPUT, "%s: layer %s is not in the archive", what.data,
                             ai->layers[j]);
                break;
            }
            rc = check_named_digest(ai->layers[j], l->blob, err);
            l->comp = sniff(s, l->blob);
            l->media_type = kn_layer_media_type(l->comp);
            /* A plain layer's digest is its diff ID: check it now. */
            if (rc == 0 && l->comp == KN_COMP_NONE && !kn_digest_eq(&l->blob->digest, &l->diff_id))
                rc =
                    kn_errf(err, KN_ECORRUPT, "%s: layer %s has digest %s, but the config lists %s",
                            what.data, ai->layers[j], l->blob->digest.str, l->diff_id.str);
        }
        for (size_t j = 0; rc == 0 && j < ai->n_repo_tags; j++)
            rc = normalise_name(ai->repo_tags[j], &p.names, err);
        if (rc == 0) {
            kn_manifest m = {0};
            m.media_type = (char *)KN_MT_OCI_MANIFEST;
            m.config.media_type = (char *)KN_MT_OCI_CONFIG;
            m.config.digest = p.config->digest;
            m.config.size = (int64_t)p.config->size;
            m.layers = kn_xcalloc(p.n_layers ? p.n_layers : 1, sizeof(*m.layers));
            m.n_layers = p.n_layers;
            for (size_t j = 0; j < p.n_layers; j++) {
                m.layers[j].media_type = (char *)p.layers[j].media_type;
                m.layers[j].digest = p.layers[j].blob->digest;
                m.layers[j].size = (int64_t)p.layers[j].blob->size;
            }
            p.manifest_bytes = kn_manifest_encode(&m, &p.manifest_len);
            free(m.layers);
            kn_vec_push(out, p);
        } else {
            plan_image_free(&p);
        }
    }
    kn_archive_images_free(images, n);
    return rc;
}

/* Finds and verifies the blob a descriptor names. */
static entry *verified_blob(kn_map *entries, const kn_descriptor *d, const char *what, kn_err *err)
{
    entry *e = lookup_blob(entries, &d->digest);
    if (!e) {
        kn_errf(err, KN_EINPUT, "%s: blob %s is not in the archive", what, d->digest.str);
        return NULL;
    }
    if (!kn_digest_eq(&e->digest, &d->digest)) {
        kn_errf(err, KN_ECORRUPT, "%s: blob %s has content with digest %s", what, d->digest.str,
                e->digest.str);
        return NULL;
    }
    if ((int64_t)e->size != d->size) {
        kn_errf(err, KN_ECORRUPT, "%s: blob %s is %llu bytes, the descriptor says %lld", what,
                d->digest.str, (unsigned long long)e->size, (long long)d->size);
        return NULL;
    }
    return e;
}

static bool is_index_type(const char *mt)
{
    return mt && (!strcmp(mt, KN_MT_OCI_INDEX) || !strcmp(mt, KN_MT_DOCKER_LIST));
}

/* The name an index entry gives its image: containerd's full name, else
 * ref.name when it is a whole reference (not just a tag like "latest"). */
static const char *descriptor_name(const kn_descriptor *d)
{
    if (!d->annotations)
        return NULL;
    const char *name = json_string_value(json_object_get(d->annotations, KN_ANNOT_CONTAINERD_NAME));
    if (name)
        return name;
    name = json_string_value(json_object_get(d->annotations, KN_ANNOT_REF_NAME));
    if (name && (strchr(name, '/') || strchr(name, ':')))
        return name;
    return NULL;
}

static int plan_oci_manifest(kn_map *entries, const kn_descriptor *d,
                             const kn_platform_want *platform, int depth, plan_image *p,
                             kn_err *err)
{
    kn_autobuf kn_buf what = KN_BUF_INIT;
    kn_buf_addf(&what, "manifest %s", d->digest.str);
    entry *e = verified_blob(entries, d, what.data, err);
    if (!e)
        return -1;
    if (!e->data)
        return kn_errf(err, KN_EINPUT, "%s: larger than %u bytes", what.data, SMALL_MAX);
    if (is_index_type(d->media_type)) {
        if (depth >= MAX_INDEX_DEPTH)
            return kn_errf(err, KN_EINPUT, "%s: indexes nested too deep", what.data);
        kn_index idx = {0};
        size_t pos;
        if (kn_index_parse(e->data, e->size, &idx, err) < 0 ||
            kn_index_pick(&idx, platform->os, platform->arch, platform->variant, &pos, err) < 0) {
            kn_index_free(&idx);
            return kn_err_wrap(err, "%s", what.data);
        }
        int rc = plan_oci_manifest(entries, &idx.manifests[pos], platform, depth + 1, p, err);
        kn_index_free(&idx);
        return rc;
    }
    kn_manifest m = {0};
    if (kn_manifest_parse(e->data, e->size, &m, err) < 0)
        return kn_err_wrap(err, "%s", what.data);
    int rc = 0;
    p->manifest = e;
    p->manifest_media_type =
        !strcmp(m.media_type, KN_MT_DOCKER_MANIFEST) ? KN_MT_DOCKER_MANIFEST : KN_MT_OCI_MANIFEST;
    p->config_media_type =
        !strcmp(m.config.media_type, KN_MT_DOCKER_CONFIG) ? KN_MT_DOCKER_CONFIG : KN_MT_OCI_CONFIG;
    p->config = verified_blob(entries, &m.config, what.data, err);
    if (!p->config)
        rc = -1;
    if (rc == 0)
        rc = parse_config(p, what.data, err);
    if (rc == 0)
        rc = plan_diff_ids(p, m.n_layers, what.data, err);
    for (size_t j = 0; rc == 0 && j < m.n_layers; j++) {
        plan_layer *l = &p->layers[j];
        l->blob = verified_blob(entries, &m.layers[j], what.data, err);
        if (!l->blob || kn_layer_media_type_comp(m.layers[j].media_type, &l->comp, err) < 0) {
            rc = kn_err_wrap(err, "%s", what.data);
            break;
        }
        /* Keep the manifest's own media type strings alive: map to ours. */
        l->media_type = kn_layer_media_type(l->comp);
        if (!strncmp(m.layers[j].media_type, "application/vnd.docker.", 23))
            l->media_type = l->comp == KN_COMP_GZIP ? KN_MT_DOCKER_LAYER_GZIP : KN_MT_DOCKER_LAYER;
    }
    kn_manifest_free(&m);
    return rc;
}

static int plan_oci(kn_map *entries, const entry *ix, const kn_platform_want *platform,
                    plan_vec *out, kn_err *err)
{
    if (!ix->data)
        return kn_errf(err, KN_EINPUT, "index.json is larger than %u bytes", SMALL_MAX);
    kn_index idx = {0};
    if (kn_index_parse(ix->data, ix->size, &idx, err) < 0)
        return kn_err_wrap(err, "index.json");
    int rc = 0;
    for (size_t i = 0; i < idx.n_manifests && rc == 0; i++) {
        plan_image p = {0};
        rc = plan_oci_manifest(entries, &idx.manifests[i], platform, 0, &p, err);
        const char *name = descriptor_name(&idx.manifests[i]);
        if (rc == 0 && name)
            rc = normalise_name(name, &p.names, err);
        if (rc == 0)
            kn_vec_push(out, p);
        else
            plan_image_free(&p);
    }
    kn_index_free(&idx);
    if (rc == 0 && out->len == 0)
        return kn_errf(err, KN_EINPUT, "index.json lists no image");
    return rc;
}

/* ---- verifying and recording ---- */

static ssize_t read_plain(kn_decomp *d, char *buf, kn_err *err)
{
    return kn_decomp_read(d, buf, IO_CHUNK, err);
}

/* A layer blob that is not extracted (its tree is already there) must
 * still hold that tree's bytes, or the store would record a blob that does
 * not match its diff ID. A pair the store already recorded was checked when
 * it was recorded. */
static int verify_layer_blob(kn_store *s, plan_layer *l, kn_err *err)
{
    entry *e = l->blob;
    if (e->has_diff_id && kn_digest_eq(&e->diff_id, &l->diff_id))
        return 0;
    bool is_known = l->comp == KN_COMP_NONE && kn_digest_eq(&e->digest, &l->diff_id);
    if (!is_known && kn_store_layer_blob_known(s, &e->digest, &l->diff_id, &is_known, err) < 0)
        return -1;
    if (!is_known) {
        kn_autoclose int fd = open_entry(s, e, err);
        kn_decomp *d = fd >= 0 ? kn_decomp_new(fd, l->comp, err) : NULL;
        if (!d)
            return kn_err_wrap(err, "layer %s", l->diff_id.str);
        kn_autofree char *buf = kn_xmalloc(IO_CHUNK);
        ssize_t n;
        while ((n = read_plain(d, buf, err)) > 0)
            ;
        kn_digest got;
        uint64_t size;
        int rc = n < 0 ? -1 : kn_decomp_finish(d, &got, &size, err);
        kn_decomp_free(d);
        if (rc < 0)
            return kn_err_wrap(err, "layer %s", l->diff_id.str);
        if (!kn_digest_eq(&got, &l->diff_id))
            return kn_errf(err, KN_ECORRUPT,
                           "layer %s: content has digest %s, but the image config lists %s",
                           l->diff_id.str, got.str, l->diff_id.str);
    }
    e->has_diff_id = true;
    e->diff_id = l->diff_id;
    return 0;
}

static int extract_layers(kn_store *s, plan_image *images, size_t n, kn_layer_set *ls, kn_err *err)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < images[i].n_layers; j++) {
            plan_layer *l = &images[i].layers[j];
            if (!kn_layer_set_needs(ls, &l->diff_id)) {
                if (verify_layer_blob(s, l, err) < 0)
                    return -1;
                continue;
            }
            kn_autoclose int fd = open_entry(s, l->blob, err);
            if (fd < 0 || kn_layer_set_extract(ls, &l->diff_id, fd, l->comp, err) < 0)
                return -1;
            l->blob->has_diff_id = true;
            l->blob->diff_id = l->diff_id;
        }
    }
    return 0;
}

/* Places the blobs of one image and describes it for the records. */
static int place_image(kn_store *s, plan_image *p, kn_store_image *img, kn_err *err)
{
    if (p->manifest) {
        if (place_entry(s, p->manifest, err) < 0)
            return -1;
        img->manifest = p->manifest->digest;
        img->manifest_size = p->manifest->size;
    } else {
        if (kn_store_blob_put(s, p->manifest_bytes, p->manifest_len, &img->manifest, err) < 0)
            return -1;
        img->manifest_size = p->manifest_len;
    }
    if (place_entry(s, p->config, err) < 0)
        return -1;
    kn_store_layer *layers = kn_xcalloc(p->n_layers + 1, sizeof(*layers));
    img->layers = layers;
    img->n_layers = p->n_layers;
    for (size_t i = 0; i < p->n_layers; i++) {
        if (place_entry(s, p->layers[i].blob, err) < 0)
            return -1;
        layers[i].blob = p->layers[i].blob->digest;
        layers[i].blob_size = p->layers[i].blob->size;
        layers[i].media_type = p->layers[i].media_type;
        layers[i].diff_id = p->layers[i].diff_id;
    }
    const char *os = json_string_value(json_object_get(p->cfg, "os"));
    const char *arch = json_string_value(json_object_get(p->cfg, "architecture"));
    img->manifest_media_type = p->manifest_media_type;
    img->config = p->config->digest;
    img->config_size = p->config->size;
    img->config_media_type = p->config_media_type;
    img->created = kn_config_created(p->cfg);
    img->os = os ? os : "";
    img->arch = arch ? arch : "";
    img->variant = json_string_value(json_object_get(p->cfg, "variant"));
    img->names = (const char *const *)p->names.items;
    img->n_names = p->names.len;
    return 0;
}

static int record_images(kn_store *s, plan_image *images, size_t n, kn_layer_set *ls, kn_err *err)
{
    kn_store_image *imgs = kn_xcalloc(n + 1, sizeof(*imgs));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = place_image(s, &images[i], &imgs[i], err);
    if (rc == 0)
        rc = kn_store_image_add(s, imgs, n, ls, err);
    for (size_t i = 0; i < n; i++)
        free((void *)imgs[i].layers);
    free(imgs);
    return rc;
}

static int load_planned(kn_store *s, plan_image *images, size_t n, kn_loaded **out, size_t *n_out,
                        kn_err *err)
{
    /* One lock set for every layer of every image: each lock is taken once
     * and in order, and nothing is recorded before every layer verified. */
    KN_VEC(kn_digest) ids = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < images[i].n_layers; j++)
            kn_vec_push(&ids, images[i].layers[j].diff_id);
    kn_layer_set *ls = kn_layer_set_lock(s, ids.items, ids.len, err);
    kn_vec_free(&ids);
    if (!ls)
        return -1;
    int rc = extract_layers(s, images, n, ls, err);
    if (rc == 0)
        rc = record_images(s, images, n, ls, err);
    kn_layer_set_free(ls);
    if (rc < 0)
        return -1;
    kn_loaded *loaded = kn_xcalloc(n + 1, sizeof(*loaded));
    for (size_t i = 0; i < n; i++) {
        loaded[i].id = images[i].config->digest;
        loaded[i].names = kn_xcalloc(images[i].names.len + 1, sizeof(char *));
        for (size_t j = 0; j < images[i].names.len; j++)
            loaded[i].names[j] = kn_xstrdup(images[i].names.items[j]);
        loaded[i].n_names = images[i].names.len;
    }
    *out = loaded;
    *n_out = n;
    return 0;
}

/* Deletes the entries' files that did not become blobs, and the entries. */
static void entries_free(kn_store *s, kn_map *entries)
{
    size_t pos = 0;
    const char *key;
    void *value;
    while (kn_map_next(entries, &pos, &key, &value)) {
        entry *e = value;
        if (e->work && !e->is_placed)
            unlinkat(s->workfd, e->work, 0);
    }
    kn_map_free(entries);
}

int kn_archive_load(kn_store *s, int fd, const kn_platform_want *platform, kn_loaded **out,
                    size_t *n, kn_err *err)
{
    if (kn_store_hold(s, err) < 0)
        return -1;
    kn_map entries;
    kn_map_init(&entries, entry_free);
    plan_vec images = {0};
    int rc = read_archive(s, fd, &entries, err);
    kn_crashpoint("archive read");
    if (rc == 0) {
        entry *mf = lookup(&entries, "manifest.json");
        entry *ix = lookup(&entries, "index.json");
        if (mf)
            rc = plan_docker(s, &entries, mf, &images, err);
        else if (ix)
            rc = plan_oci(&entries, ix, platform, &images, err);
        else
            rc = kn_errf(err, KN_EINPUT,
                         "not a docker-archive or OCI archive: it has neither manifest.json nor "
                         "index.json");
    }
    if (rc == 0)
        rc = load_planned(s, images.items, images.len, out, n, err);
    for (size_t i = 0; i < images.len; i++)
        plan_image_free(&images.items[i]);
    kn_vec_free(&images);
    entries_free(s, &entries);
    return rc;
}

/* ---- an image of an OCI image layout directory ---- */

void kn_platform_want_parse(char *platform, kn_platform_want *out)
{
    out->os = platform;
    out->arch = "";
    out->variant = NULL;
    char *slash = strchr(platform, '/');
    if (slash) {
        *slash = '\0';
        out->arch = slash + 1;
        slash = strchr(slash + 1, '/');
        if (slash) {
            *slash = '\0';
            out->variant = slash + 1;
        }
    }
}

/* Reads the layout's regular file `path` (resolved inside dirfd) into
 * entries, once: `size` bytes exactly when size >= 0, else SMALL_MAX at
 * most. Type and size are checked before a byte is copied. */
static int layout_read(kn_store *s, int dirfd, const char *path, int64_t size, kn_map *entries,
                       char *buf, kn_err *err)
{
    if (kn_map_get(entries, path))
        return 0;
    /* O_PATH until it is known to be a regular file: opening a FIFO or a
     * device can block or act. */
    kn_autoclose int pfd = kn_openat_in_root(dirfd, path, O_PATH, 0, err);
    if (pfd < 0)
        return -1;
    struct stat st;
    if (fstat(pfd, &st) < 0)
        return kn_errf(err, errno, "%s", path);
    if (!S_ISREG(st.st_mode))
        return kn_errf(err, KN_EINPUT, "%s: not a regular file", path);
    if (size >= 0 && st.st_size != size)
        return kn_errf(err, KN_ECORRUPT, "%s is %lld bytes, the descriptor says %lld", path,
                       (long long)st.st_size, (long long)size);
    if (size < 0 && st.st_size > (off_t)SMALL_MAX)
        return kn_errf(err, KN_EINPUT, "%s is larger than %u bytes", path, SMALL_MAX);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
    kn_autoclose int fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "open %s", path);
    entry *e = kn_xcalloc(1, sizeof(*e));
    if (read_entry_data(s, read_from_fd, &fd, st.st_size, e, buf, err) < 0) {
        entry_free(e);
        return kn_err_wrap(err, "%s", path);
    }
    kn_map_set(entries, path, e);
    return 0;
}

static entry *layout_read_blob(kn_store *s, int dirfd, const kn_digest *d, int64_t size,
                               kn_map *entries, char *buf, kn_err *err)
{
    kn_autobuf kn_buf path = KN_BUF_INIT;
    kn_buf_addf(&path, "blobs/sha256/%s", d->str + strlen(KN_DIGEST_PREFIX));
    if (layout_read(s, dirfd, path.data, size, entries, buf, err) < 0)
        return NULL;
    return lookup(entries, path.data);
}

/* Reads the blobs descriptor d needs, and only those: its own, then an
 * index's image for the platform, or a manifest's config and layers.
 * plan_oci_manifest verifies them afterwards. */
static int layout_collect(kn_store *s, int dirfd, const kn_descriptor *d,
                          const kn_platform_want *platform, int depth, kn_map *entries, char *buf,
                          kn_err *err)
{
    entry *e = layout_read_blob(s, dirfd, &d->digest, d->size, entries, buf, err);
    if (!e)
        return -1;
    /* A manifest too large, nested too deep, not what its digest says or
     * not parseable: nothing more is read, and plan_oci_manifest, which
     * parses it again, says what is wrong. */
    if (!e->data || depth >= MAX_INDEX_DEPTH || !kn_digest_eq(&e->digest, &d->digest))
        return 0;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    int rc = 0;
    if (is_index_type(d->media_type)) {
        kn_index idx = {0};
        size_t pos;
        if (kn_index_parse(e->data, e->size, &idx, &ignored) == 0 &&
            kn_index_pick(&idx, platform->os, platform->arch, platform->variant, &pos, &ignored) ==
                0)
            rc = layout_collect(s, dirfd, &idx.manifests[pos], platform, depth + 1, entries, buf,
                                err);
        kn_index_free(&idx);
        return rc;
    }
    kn_manifest m = {0};
    if (kn_manifest_parse(e->data, e->size, &m, &ignored) < 0)
        return 0;
    if (!layout_read_blob(s, dirfd, &m.config.digest, m.config.size, entries, buf, err))
        rc = -1;
    for (size_t i = 0; i < m.n_layers && rc == 0; i++)
        if (!layout_read_blob(s, dirfd, &m.layers[i].digest, m.layers[i].size, entries, buf, err))
            rc = -1;
    kn_manifest_free(&m);
    return rc;
}

/* Whether index.json's entry d is tagged `tag`: its ref.name is the tag, as
 * OCI and containerd write it, or a whole reference with that tag, as kiln
 * writes it. */
static bool is_tagged(const kn_descriptor *d, const char *tag)
{
    json_t *v = d->annotations ? json_object_get(d->annotations, KN_ANNOT_REF_NAME) : NULL;
    const char *name = json_string_value(v);
    if (!name)
        return false;
    const char *colon = strrchr(name, ':');
    return !strcmp(name, tag) || (colon && !strchr(colon, '/') && !strcmp(colon + 1, tag));
}

/* The image `digest` names (listed in index.json or not), else the one
 * index.json tags `tag`. *own describes an unlisted digest (the caller frees
 * its media type). */
static int layout_pick(kn_store *s, int dirfd, const kn_index *idx, const char *tag,
                       const char *digest, kn_map *entries, char *buf, kn_descriptor *own,
                       const kn_descriptor **out, kn_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < idx->n_manifests; i++) {
        const kn_descriptor *d = &idx->manifests[i];
        if (digest ? strcmp(d->digest.str, digest) != 0 : !is_tagged(d, tag))
            continue;
        if (*out && !digest)
            return kn_errf(err, KN_EINPUT,
                           "index.json tags several images %s: name one with @DIGEST", tag);
        *out = d;
    }
    if (*out)
        return 0;
    if (!digest)
        return kn_errf(err, KN_EINPUT, "index.json lists no image tagged %s", tag);
    if (kn_digest_parse(&own->digest, digest, err) < 0)
        return -1;
    entry *e = layout_read_blob(s, dirfd, &own->digest, -1, entries, buf, err);
    if (!e)
        return -1;
    json_t *doc = e->data ? json_loadb(e->data, e->size, 0, NULL) : NULL;
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    own->media_type = kn_xstrdup(mt                                  ? mt
                                 : json_object_get(doc, "manifests") ? KN_MT_OCI_INDEX
                                                                     : KN_MT_OCI_MANIFEST);
    json_decref(doc);
    own->size = (int64_t)e->size;
    *out = own;
    return 0;
}

int kn_layout_load(kn_store *s, int dirfd, const char *tag, const char *digest,
                   const kn_platform_want *platform, kn_digest *id, kn_err *err)
{
    if (kn_store_hold(s, err) < 0)
        return -1;
    kn_map entries;
    kn_map_init(&entries, entry_free);
    kn_autofree char *buf = kn_xmalloc(IO_CHUNK);
    kn_index idx = {0};
    kn_descriptor own = {0};
    const kn_descriptor *d = NULL;
    plan_image p = {0};
    kn_loaded *loaded = NULL;
    size_t n = 0;
    int rc = layout_read(s, dirfd, "index.json", -1, &entries, buf, err);
    entry *ix = rc == 0 ? lookup(&entries, "index.json") : NULL; /* in memory: small */
    if (rc == 0 && kn_index_parse(ix->data, ix->size, &idx, err) < 0)
        rc = kn_err_wrap(err, "index.json");
    if (rc == 0)
        rc = layout_pick(s, dirfd, &idx, tag, digest, &entries, buf, &own, &d, err);
    if (rc == 0)
        rc = layout_collect(s, dirfd, d, platform, 0, &entries, buf, err);
    if (rc == 0)
        rc = plan_oci_manifest(&entries, d, platform, 0, &p, err);
    if (rc == 0)
        rc = load_planned(s, &p, 1, &loaded, &n, err);
    if (rc == 0)
        *id = loaded[0].id;
    kn_loaded_free(loaded, n);
    plan_image_free(&p);
    kn_index_free(&idx);
    free(own.media_type);
    entries_free(s, &entries);
    return rc;
}

void kn_loaded_free(kn_loaded *images, size_t n)
{
    if (!images)
        return;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < images[i].n_names; j++)
            free(images[i].names[j]);
        free(images[i].names);
    }
    free(images);
}

/* ---- save ---- */

typedef struct save_image {
    kn_store_entry entry;
    kn_store_layer *layers;
    size_t n_layers;
    char *name; /* normalised, or NULL when saved by ID */
} save_image;

static int write_header(struct archive *a, const char *path, mode_t type, int64_t size, kn_err *err)
{
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, path);
    archive_entry_set_filetype(ae, type);
    archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(ae, type == AE_IFDIR ? 0 : size);
    archive_entry_set_mtime(ae, 0, 0);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    int r = archive_write_header(a, ae);
    archive_entry_free(ae);
    if (r != ARCHIVE_OK)
        return kn_errf(err, KN_EFAILED, "write %s: %s", path, archive_error_string(a));
    return 0;
}

static int write_small(struct archive *a, const char *path, const char *data, size_t len,
                       kn_err *err)
{
    if (write_header(a, path, AE_IFREG, (int64_t)len, err) < 0)
        return -1;
    if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
        return kn_errf(err, KN_EFAILED, "write %s: %s", path, archive_error_string(a));
    return 0;
}

/* Copies a blob into the archive, checking its digest on the way. */
static int write_blob(kn_store *s, struct archive *a, const kn_digest *d, char *buf, kn_err *err)
{
    kn_autoclose int fd = kn_store_blob_open(s, d, err);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return fd < 0 ? -1 : kn_errf(err, errno, "blob %s", d->str);
    kn_autobuf kn_buf path = KN_BUF_INIT;
    kn_buf_addf(&path, "blobs/sha256/%s", d->str + strlen(KN_DIGEST_PREFIX));
    if (write_header(a, path.data, AE_IFREG, st.st_size, err) < 0)
        return -1;
    kn_autosha256 kn_sha256 h;
    kn_sha256_init(&h);
    int64_t left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, buf, left < IO_CHUNK ? (size_t)left : IO_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return kn_errf(err, n < 0 ? errno : KN_ECORRUPT, "read blob %s", d->str);
        kn_sha256_update(&h, buf, (size_t)n);
        if (archive_write_data(a, buf, (size_t)n) != n)
            return kn_errf(err, KN_EFAILED, "write %s: %s", path.data, archive_error_string(a));
        left -= n;
    }
    kn_digest got;
    kn_sha256_final_digest(&h, &got);
    if (!kn_digest_eq(&got, d))
        return kn_errf(err, KN_ECORRUPT, "blob %s in the store has content with digest %s", d->str,
                       got.str);
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *save_index(const save_image *images, size_t n)
{
    json_t *manifests = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object();
        json_object_set_new(d, "mediaType", json_string(images[i].entry.manifest_media_type));
        json_object_set_new(d, "digest", json_string(images[i].entry.manifest.str));
        json_object_set_new(d, "size", json_integer((json_int_t)images[i].entry.manifest_size));
        if (images[i].name) {
            json_t *a = json_object();
            json_object_set_new(a, KN_ANNOT_CONTAINERD_NAME, json_string(images[i].name));
            json_object_set_new(a, KN_ANNOT_REF_NAME, json_string(images[i].name));
            json_object_set_new(d, "annotations", a);
        }
        json_array_append_new(manifests, d);
    }
    json_t *idx = json_object();
    json_object_set_new(idx, "schemaVersion", json_integer(2));
    json_object_set_new(idx, "mediaType", json_string(KN_MT_OCI_INDEX));
    json_object_set_new(idx, "manifests", manifests);
    char *text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(idx);
    return text;
}

/* docker save's manifest.json: one entry per image, its names as RepoTags. */
static char *save_docker_manifest(const save_image *images, size_t n, size_t *len)
{
    kn_archive_image *ai = kn_xcalloc(n + 1, sizeof(*ai));
    kn_autofree size_t *slot = kn_xcalloc(n + 1, sizeof(*slot)); /* image i -> its ai entry */
    size_t n_ai = 0;
    for (size_t i = 0; i < n; i++) {
        kn_archive_image *cur = NULL;
        for (size_t j = 0; j < i && !cur; j++)
            if (kn_digest_eq(&images[j].entry.manifest, &images[i].entry.manifest))
                cur = &ai[slot[i] = slot[j]];
        if (!cur) {
            slot[i] = n_ai;
            cur = &ai[n_ai++];
            kn_buf b = KN_BUF_INIT;
            kn_buf_addf(&b, "blobs/sha256/%s",
                        images[i].entry.config.str + strlen(KN_DIGEST_PREFIX));
            cur->config = kn_buf_release(&b);
            cur->layers = kn_xcalloc(images[i].n_layers + 1, sizeof(char *));
            cur->n_layers = images[i].n_layers;
            for (size_t j = 0; j < images[i].n_layers; j++) {
                kn_buf l = KN_BUF_INIT;
                kn_buf_addf(&l, "blobs/sha256/%s",
                            images[i].layers[j].blob.str + strlen(KN_DIGEST_PREFIX));
                cur->layers[j] = kn_buf_release(&l);
            }
        }
        if (images[i].name) {
            cur->repo_tags = kn_xreallocarray(cur->repo_tags, cur->n_repo_tags + 1, sizeof(char *));
            cur->repo_tags[cur->n_repo_tags++] = kn_ref_familiar_name(images[i].name);
        }
    }
    char *text = kn_archive_manifest_encode(ai, n_ai, len);
    kn_archive_images_free(ai, n_ai);
    return text;
}

static int write_save(kn_store *s, const save_image *images, size_t n, kn_archive_format format,
                      struct archive *a, kn_err *err)
{
    /* Every blob once, in digest order. */
    kn_strvec blobs = KN_STRVEC_INIT;
    kn_map seen;
    kn_map_init(&seen, NULL);
    for (size_t i = 0; i < n; i++) {
        const kn_digest *ds[] = {&images[i].entry.manifest, &images[i].entry.config};
        for (size_t j = 0; j < 2 + images[i].n_layers; j++) {
            const char *d = j < 2 ? ds[j]->str : images[i].layers[j - 2].blob.str;
            if (!kn_map_has(&seen, d)) {
                kn_map_set(&seen, d, (void *)1);
                kn_strvec_push(&blobs, d);
            }
        }
    }
    kn_map_free(&seen);
    qsort(blobs.items, blobs.len, sizeof(char *), compare_strings);
    kn_autofree char *buf = kn_xmalloc(IO_CHUNK);
    int rc = write_header(a, "blobs/", AE_IFDIR, 0, err);
    if (rc == 0)
        rc = write_header(a, "blobs/sha256/", AE_IFDIR, 0, err);
    for (size_t i = 0; i < blobs.len && rc == 0; i++) {
        kn_digest d;
        rc = kn_digest_parse(&d, blobs.items[i], err);
        if (rc == 0)
            rc = write_blob(s, a, &d, buf, err);
        kn_crashpoint("blob saved");
    }
    kn_strvec_free(&blobs);
    kn_autofree char *index = save_index(images, n);
    if (rc == 0)
        rc = write_small(a, "index.json", index, strlen(index), err);
    if (rc == 0 && format == KN_ARCHIVE_DOCKER) {
        size_t len = 0;
        kn_autofree char *mf = save_docker_manifest(images, n, &len);
        rc = write_small(a, "manifest.json", mf, len, err);
    }
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    if (rc == 0)
        rc = write_small(a, "oci-layout", layout, sizeof(layout) - 1, err);
    return rc;
}

static int save_resolve(kn_store *s, const char *ref, save_image *out, kn_err *err)
{
    if (kn_store_image_find(s, ref, &out->entry, err) < 0)
        return -1;
    if (kn_store_image_layers(s, &out->entry.manifest, &out->layers, &out->n_layers, err) < 0)
        return -1;
    /* Saved by name: the archive names it; saved by ID: it does not. */
    kn_ref r = KN_REF_INIT;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    if (kn_ref_parse(ref, &r, &ignored) == 0 && !r.digest) {
        kn_ref_default_tag(&r);
        kn_autofree char *full = kn_ref_string(&r);
        for (size_t i = 0; i < out->entry.n_names && !out->name; i++)
            if (!strcmp(out->entry.names[i], full))
                out->name = kn_steal_pointer(&full);
    }
    kn_ref_free(&r);
    return 0;
}

int kn_archive_save(kn_store *s, const char *const *refs, size_t n_refs, kn_archive_format format,
                    int out_fd, kn_err *err)
{
    /* Held, no collection can delete a blob while it is copied out. */
    if (kn_store_hold(s, err) < 0)
        return -1;
    save_image *images = kn_xcalloc(n_refs + 1, sizeof(*images));
    int rc = 0;
    size_t n = 0;
    for (; n < n_refs && rc == 0; n++)
        rc = save_resolve(s, refs[n], &images[n], err);
    struct archive *a = NULL;
    if (rc == 0) {
        a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
            rc = kn_errf(err, KN_EFAILED, "write archive: %s", archive_error_string(a));
    }
    if (rc == 0)
        rc = write_save(s, images, n, format, a, err);
    if (a) {
        if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
            rc = kn_errf(err, KN_EFAILED, "write archive: %s", archive_error_string(a));
        archive_write_free(a);
    }
    for (size_t i = 0; i < n; i++) {
        kn_store_entry_free(&images[i].entry);
        kn_store_layers_free(images[i].layers, images[i].n_layers);
        free(images[i].name);
    }
    free(images);
    return rc;
}

int kn_archive_save_file(kn_store *s, const char *const *refs, size_t n_refs,
                         kn_archive_format format, const char *path, kn_err *err)
{
    if (!strcmp(path, "-"))
        return kn_archive_save(s, refs, n_refs, format, STDOUT_FILENO, err);
    kn_autobuf kn_buf tmp = KN_BUF_INIT;
    kn_buf_addf(&tmp, "%s.kiln-%ld.tmp", path, (long)getpid());
    kn_autoclose int fd =
        open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return kn_errf(err, errno, "create %s", tmp.data);
    if (kn_archive_save(s, refs, n_refs, format, fd, err) < 0) {
        unlink(tmp.data);
        return -1;
    }
    if (fsync(fd) < 0 || rename(tmp.data, path) < 0) {
        kn_errf(err, errno, "write %s", path);
        unlink(tmp.data);
        return -1;
    }
    return 0;
}

/* ---- import ---- */

static int write_compressed(void *ctx, const void *data, size_t len, kn_err *err)
{
    return kn_comp_writer_write(ctx, data, len, err);
}

/* Compresses the tar stream of a directory or of `fd` into `blob_fd`. */
static int compress_layer(int fd, bool is_dir, int blob_fd, kn_comp_result *res, kn_err *err)
{
    kn_comp_writer *w = kn_comp_writer_new(blob_fd, KN_COMP_GZIP, err);
    if (!w)
        return -1;
    int rc;
    if (is_dir) {
        rc = kn_tarwrite_tree(fd, NULL, write_compressed, w, err);
    } else {
        unsigned char head[8] = {0};
        ssize_t got = pread(fd, head, sizeof(head), 0);
        kn_decomp *d = kn_decomp_new(fd, kn_comp_detect(head, got > 0 ? (size_t)got : 0), err);
        rc = d ? 0 : -1;
        kn_autofree char *buf = kn_xmalloc(IO_CHUNK);
        ssize_t n = 0;
        while (rc == 0 && (n = kn_decomp_read(d, buf, IO_CHUNK, err)) > 0)
            rc = kn_comp_writer_write(w, buf, (size_t)n, err);
        if (n < 0)
            rc = -1;
        kn_decomp_free(d);
    }
    if (rc == 0)
        rc = kn_comp_writer_finish(w, res, err);
    kn_comp_writer_free(w);
    return rc;
}

/* A pipe cannot be peeked at for its compression: spool it to a file. */
static int seekable_input(kn_store *s, int fd, int *out, kn_err *err)
{
    if (lseek(fd, 0, SEEK_CUR) >= 0) {
        *out = -1;
        return 0;
    }
    kn_blob_writer w;
    if (kn_blob_writer_open(s, &w, err) < 0)
        return -1;
    kn_autofree char *buf = kn_xmalloc(IO_CHUNK);
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, IO_CHUNK)) != 0 && rc == 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = kn_errf(err, errno, "read input");
        } else {
            rc = kn_blob_writer_write(&w, buf, (size_t)n, err);
        }
    }
    if (rc == 0 && lseek(w.fd, 0, SEEK_SET) < 0)
        rc = kn_errf(err, errno, "rewind input");
    if (rc == 0) {
        *out = w.fd;
        w.fd = -1; /* the name is unlinked below; the open file stays readable */
    }
    kn_blob_writer_free(&w);
    return rc;
}

int kn_image_import(kn_store *s, int fd, bool is_dir, const char *comment, json_t *cfg,
                    const char *const *names, size_t n_names, kn_digest *id, kn_err *err)
{
    if (kn_store_hold(s, err) < 0)
        return -1;
    int spooled = -1;
    if (!is_dir && seekable_input(s, fd, &spooled, err) < 0)
        return -1;
    kn_autoclose int in = spooled;
    kn_blob_writer w;
    if (kn_blob_writer_open(s, &w, err) < 0)
        return -1;
    kn_comp_result res;
    int rc = compress_layer(in >= 0 ? in : fd, is_dir, w.fd, &res, err);
    kn_layer_set *ls = NULL;
    if (rc == 0) {
        ls = kn_layer_set_lock(s, &res.plain, 1, err);
        rc = ls ? 0 : -1;
    }
    if (rc == 0 && lseek(w.fd, 0, SEEK_SET) < 0)
        rc = kn_errf(err, errno, "rewind layer");
    if (rc == 0)
        rc = kn_layer_set_extract(ls, &res.plain, w.fd, KN_COMP_GZIP, err);
    if (rc == 0)
        rc = kn_store_blob_place(s, w.name, &res.blob, err);
    kn_store_layer layer = {res.blob, res.blob_size, KN_MT_OCI_LAYER_GZIP, res.plain};
    kn_digest config_digest, manifest_digest;
    size_t config_len = 0, manifest_len = 0;
    if (rc == 0) {
        kn_config_add_layer(cfg, &res.plain, kn_config_created(cfg), "", comment);
        kn_autofree char *config = kn_config_encode(cfg, &config_len);
        rc = kn_store_blob_put(s, config, config_len, &config_digest, err);
    }
    if (rc == 0) {
        kn_manifest m = {0};
        m.media_type = (char *)KN_MT_OCI_MANIFEST;
        m.config.media_type = (char *)KN_MT_OCI_CONFIG;
        m.config.digest = config_digest;
        m.config.size = (int64_t)config_len;
        kn_descriptor l = {.media_type = (char *)KN_MT_OCI_LAYER_GZIP,
                           .digest = res.blob,
                           .size = (int64_t)res.blob_size};
        m.layers = &l;
        m.n_layers = 1;
        kn_autofree char *manifest = kn_manifest_encode(&m, &manifest_len);
        rc = kn_store_blob_put(s, manifest, manifest_len, &manifest_digest, err);
    }
    if (rc == 0) {
        const char *os = json_string_value(json_object_get(cfg, "os"));
        const char *arch = json_string_value(json_object_get(cfg, "architecture"));
        const char *const *image_names = names;
        kn_store_image img = {
            .manifest = manifest_digest,
            .manifest_size = manifest_len,
            .manifest_media_type = KN_MT_OCI_MANIFEST,
            .config = config_digest,
            .config_size = config_len,
            .config_media_type = KN_MT_OCI_CONFIG,
            .layers = &layer,
            .n_layers = 1,
            .created = kn_config_created(cfg),
            .os = os ? os : "",
            .arch = arch ? arch : "",
            .variant = json_string_value(json_object_get(cfg, "variant")),
            .names = image_names,
            .n_names = n_names,
        };
        rc = kn_store_image_add(s, &img, 1, ls, err);
    }
    if (rc == 0)
        *id = config_digest;
    kn_layer_set_free(ls);
    kn_blob_writer_free(&w);
    return rc;
}
