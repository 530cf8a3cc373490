#include "image/manifest.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The distribution spec lets registries refuse manifests above 4 MiB; an
 * index.json or manifest.json that large is no image kiln wants either. */
#define DOC_MAX (4u << 20)
#define ITEMS_MAX 10000
/* Longest piece of an untrusted string quoted back in an error. */
#define QUOTE_MAX 128

/* ---- errors that name the field ---- */

/* Error for the member `key` of the value at `where` ("layers[2]" + "digest"
 * reads "layers[2].digest: ..."); either may be empty. Returns -1. */
static int field_errf(kn_err *err, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int field_errf(kn_err *err, const char *where, const char *key, const char *fmt, ...)
{
    kn_autobuf kn_buf msg = KN_BUF_INIT;
    kn_buf_adds(&msg, where);
    if (*where && *key)
        kn_buf_addc(&msg, '.');
    kn_buf_adds(&msg, key);
    kn_buf_adds(&msg, ": ");
    va_list ap;
    va_start(ap, fmt);
    kn_buf_addvf(&msg, fmt, ap);
    va_end(ap);
    return kn_errf(err, KN_EINPUT, "%s", msg.data);
}

/* s as a JSON string literal, cut to QUOTE_MAX bytes: safe to print whatever
 * the input held. Caller frees. */
static char *quote(const char *s)
{
    size_t len = strlen(s);
    bool is_cut = len > QUOTE_MAX;
    if (is_cut) {
        len = QUOTE_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--; /* do not split a UTF-8 sequence */
    }
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_json_write_string(&b, s, len);
    if (is_cut)
        kn_buf_adds(&b, "...");
    return kn_buf_release(&b);
}

static const char *type_name(const json_t *v)
{
    return kn_json_type_name(json_typeof(v));
}

/* obj[key] when it has type `type`: 1 with *out set; 0 when it is optional
 * and missing or null; -1 with err naming the field otherwise. */
static int member(const json_t *obj, const char *where, const char *key, json_type type,
                  bool is_required, json_t **out, kn_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || (json_is_null(v) && !is_required)) {
        if (is_required)
            return field_errf(err, where, key, "missing");
        return 0;
    }
    if (json_typeof(v) != type)
        return field_errf(err, where, key, "expected %s, got %s", kn_json_type_name(type),
                          type_name(v));
    *out = v;
    return 1;
}

static int get_string(const json_t *obj, const char *where, const char *key, bool is_required,
                      const char **out, kn_err *err)
{
    json_t *v = NULL;
    int rc = member(obj, where, key, JSON_STRING, is_required, &v, err);
    if (rc > 0)
        *out = json_string_value(v);
    return rc;
}

/* An array member with at most ITEMS_MAX entries. */
static int get_array(const json_t *obj, const char *where, const char *key, bool is_required,
                     json_t **out, kn_err *err)
{
    int rc = member(obj, where, key, JSON_ARRAY, is_required, out, err);
    if (rc > 0 && json_array_size(*out) > ITEMS_MAX)
        return field_errf(err, where, key, "%zu entries, more than %d", json_array_size(*out),
                          ITEMS_MAX);
    return rc;
}

/* ---- media types ---- */

int kn_layer_media_type_comp(const char *media_type, kn_comp *out, kn_err *err)
{
    static const struct {
        const char *media_type;
        kn_comp comp;
    } kinds[] = {
        {KN_MT_OCI_LAYER, KN_COMP_NONE},         {KN_MT_OCI_LAYER_GZIP, KN_COMP_GZIP},
        {KN_MT_OCI_LAYER_ZSTD, KN_COMP_ZSTD},    {KN_MT_DOCKER_LAYER, KN_COMP_NONE},
        {KN_MT_DOCKER_LAYER_GZIP, KN_COMP_GZIP},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(kinds); i++) {
        if (!strcmp(media_type, kinds[i].media_type)) {
            *out = kinds[i].comp;
            return 0;
        }
    }
    kn_autofree char *q = quote(media_type);
    const char *why = strstr(media_type, "foreign") || strstr(media_type, "nondistributable")
                          ? " (foreign layers are not supported)"
                      : strstr(media_type, "encrypted") ? " (encrypted layers are not supported)"
                                                        : "";
    return kn_errf(err, KN_EINPUT, "unsupported layer media type %s%s", q, why);
}

const char *kn_layer_media_type(kn_comp comp)
{
    switch (comp) {
    case KN_COMP_GZIP:
        return KN_MT_OCI_LAYER_GZIP;
    case KN_COMP_ZSTD:
        return KN_MT_OCI_LAYER_ZSTD;
    case KN_COMP_NONE:
        break;
    }
    return KN_MT_OCI_LAYER;
}

static bool is_index_type(const char *mt)
{
    return !strcmp(mt, KN_MT_OCI_INDEX) || !strcmp(mt, KN_MT_DOCKER_LIST);
}

static bool is_manifest_type(const char *mt)
{
    return !strcmp(mt, KN_MT_OCI_MANIFEST) || !strcmp(mt, KN_MT_DOCKER_MANIFEST);
}

/* ---- descriptors ---- */

void kn_descriptor_free(kn_descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    if (d->platform) {
        free(d->platform->os);
        free(d->platform->arch);
        free(d->platform->variant);
        free(d->platform);
    }
    json_decref(d->annotations);
    memset(d, 0, sizeof(*d));
}

void kn_descriptor_copy(kn_descriptor *dst, const kn_descriptor *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->media_type = src->media_type ? kn_xstrdup(src->media_type) : NULL;
    dst->digest = src->digest;
    dst->size = src->size;
    if (src->platform) {
        dst->platform = kn_xcalloc(1, sizeof(*dst->platform));
        dst->platform->os = src->platform->os ? kn_xstrdup(src->platform->os) : NULL;
        dst->platform->arch = src->platform->arch ? kn_xstrdup(src->platform->arch) : NULL;
        dst->platform->variant = src->platform->variant ? kn_xstrdup(src->platform->variant) : NULL;
    }
    if (src->annotations) {
        dst->annotations = json_deep_copy(src->annotations);
        if (!dst->annotations)
            abort(); /* out of memory */
    }
}

/* obj.annotations, when present: an object whose values are all strings.
 * *out gets a new reference. */
static int parse_annotations(const json_t *obj, const char *where, json_t **out, kn_err *err)
{
    json_t *a = NULL;
    int rc = member(obj, where, "annotations", JSON_OBJECT, false, &a, err);
    if (rc <= 0)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v)
    {
        if (!json_is_string(v)) {
            kn_autofree char *q = quote(key);
            return field_errf(err, where, "annotations", "value of %s: expected string, got %s", q,
                              type_name(v));
        }
    }
    /* Go's omitempty writes an empty map as nothing: keep the two the same. */
    if (json_object_size(a) > 0)
        *out = json_incref(a);
    return 0;
}

static int parse_platform(const json_t *v, const char *where, kn_platform **out, kn_err *err)
{
    const char *os = NULL, *arch = NULL, *variant = NULL, *os_version = NULL;
    json_t *features = NULL;
    if (get_string(v, where, "os", true, &os, err) < 0 ||
        get_string(v, where, "architecture", true, &arch, err) < 0 ||
        get_string(v, where, "variant", false, &variant, err) < 0 ||
        get_string(v, where, "os.version", false, &os_version, err) < 0 ||
        member(v, where, "os.features", JSON_ARRAY, false, &features, err) < 0)
        return -1;
    if (!*os)
        return field_errf(err, where, "os", "empty");
    if (!*arch)
        return field_errf(err, where, "architecture", "empty");
    kn_platform *p = kn_xcalloc(1, sizeof(*p));
    p->os = kn_xstrdup(os);
    p->arch = kn_xstrdup(arch);
    p->variant = variant && *variant ? kn_xstrdup(variant) : NULL;
    *out = p;
    return 0;
}

/* A descriptor at `where`; d is zeroed first and, on failure, left for
 * kn_descriptor_free. */
static int parse_descriptor(const json_t *v, const char *where, kn_descriptor *d, kn_err *err)
{
    memset(d, 0, sizeof(*d));
    if (!json_is_object(v))
        return field_errf(err, where, "", "expected object, got %s", type_name(v));
    const char *media_type = NULL, *digest = NULL;
    json_t *size = NULL, *platform = NULL;
    if (get_string(v, where, "mediaType", true, &media_type, err) < 0 ||
        get_string(v, where, "digest", true, &digest, err) < 0 ||
        member(v, where, "size", JSON_INTEGER, true, &size, err) < 0 ||
        member(v, where, "platform", JSON_OBJECT, false, &platform, err) < 0)
        return -1;
    if (!*media_type)
        return field_errf(err, where, "mediaType", "empty");
    kn_autoerr kn_err derr = KN_ERR_INIT;
    if (kn_digest_parse(&d->digest, digest, &derr) < 0) {
        const char *why = derr.msg;
        if (!strncmp(why, "invalid digest ", 15))
            why += 15;
        return field_errf(err, where, "digest", "not a sha256 digest: %s", why);
    }
    /* jansson integers are 64-bit: only the sign is left to check. */
    if (json_integer_value(size) < 0)
        return field_errf(err, where, "size", "negative (%lld)",
                          (long long)json_integer_value(size));
    d->size = (int64_t)json_integer_value(size);
    d->media_type = kn_xstrdup(media_type);
    if (platform) {
        kn_autobuf kn_buf b = KN_BUF_INIT;
        kn_buf_addf(&b, "%s%splatform", where, *where ? "." : "");
        if (parse_platform(platform, b.data, &d->platform, err) < 0)
            return -1;
    }
    return parse_annotations(v, where, &d->annotations, err);
}

/* Descriptors of the array obj[key]; *out is a new array (freed here on
 * failure). */
static int parse_descriptors(const json_t *obj, const char *key, kn_descriptor **out, size_t *n,
                             kn_err *err)
{
    json_t *arr = NULL;
    if (get_array(obj, "", key, true, &arr, err) < 0)
        return -1;
    size_t len = json_array_size(arr);
    kn_descriptor *ds = kn_xcalloc(len ? len : 1, sizeof(*ds));
    for (size_t i = 0; i < len; i++) {
        kn_autobuf kn_buf where = KN_BUF_INIT;
        kn_buf_addf(&where, "%s[%zu]", key, i);
        if (parse_descriptor(json_array_get(arr, i), where.data, &ds[i], err) < 0) {
            for (size_t j = 0; j <= i; j++)
                kn_descriptor_free(&ds[j]);
            free(ds);
            return -1;
        }
    }
    *out = ds;
    *n = len;
    return 0;
}

/* The document: an object of at most DOC_MAX bytes with schemaVersion 2,
 * and its mediaType (NULL when absent). */
static json_t *parse_document(const void *data, size_t len, const char **media_type, kn_err *err)
{
    if (len > DOC_MAX) {
        kn_errf(err, KN_EINPUT, "%zu bytes, more than %u", len, DOC_MAX);
        return NULL;
    }
    kn_autojson json_t *doc = kn_json_parse(data, len, err);
    if (!doc)
        return NULL;
    if (!json_is_object(doc)) {
        kn_errf(err, KN_EINPUT, "expected an object, got %s", type_name(doc));
        return NULL;
    }
    json_t *version = NULL;
    if (member(doc, "", "schemaVersion", JSON_INTEGER, true, &version, err) < 0)
        return NULL;
    if (json_integer_value(version) != 2) {
        field_errf(err, "", "schemaVersion", "expected 2, got %lld",
                   (long long)json_integer_value(version));
        return NULL;
    }
    *media_type = NULL;
    if (get_string(doc, "", "mediaType", false, media_type, err) < 0)
        return NULL;
    return kn_steal_pointer(&doc);
}

/* ---- manifests ---- */

void kn_manifest_free(kn_manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    kn_descriptor_free(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        kn_descriptor_free(&m->layers[i]);
    free(m->layers);
    json_decref(m->annotations);
    memset(m, 0, sizeof(*m));
}

static int parse_manifest(const json_t *doc, const char *media_type, kn_manifest *m, kn_err *err)
{
    if (media_type && is_index_type(media_type))
        return field_errf(err, "", "mediaType", "%s is an index, not a manifest", media_type);
    if (media_type && !is_manifest_type(media_type)) {
        kn_autofree char *q = quote(media_type);
        return field_errf(err, "", "mediaType", "unsupported manifest type %s", q);
    }
    if (!media_type && json_object_get(doc, "manifests"))
        return kn_errf(err, KN_EINPUT, "an index, not a manifest (it lists \"manifests\")");
    /* OCI lets mediaType be left out; Docker schema 2 always has it. */
    m->media_type = kn_xstrdup(media_type ? media_type : KN_MT_OCI_MANIFEST);
    json_t *config = NULL;
    if (member(doc, "", "config", JSON_OBJECT, true, &config, err) < 0 ||
        parse_descriptor(config, "config", &m->config, err) < 0)
        return -1;
    if (strcmp(m->config.media_type, KN_MT_OCI_CONFIG) &&
        strcmp(m->config.media_type, KN_MT_DOCKER_CONFIG)) {
        kn_autofree char *q = quote(m->config.media_type);
        return field_errf(err, "config", "mediaType", "%s is not an image config", q);
    }
    if (parse_descriptors(doc, "layers", &m->layers, &m->n_layers, err) < 0)
        return -1;
    for (size_t i = 0; i < m->n_layers; i++) {
        kn_comp comp;
        if (kn_layer_media_type_comp(m->layers[i].media_type, &comp, err) < 0)
            return kn_err_wrap(err, "layers[%zu].mediaType", i);
    }
    return parse_annotations(doc, "", &m->annotations, err);
}

int kn_manifest_parse(const void *data, size_t len, kn_manifest *out, kn_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *media_type = NULL;
    kn_autojson json_t *doc = parse_document(data, len, &media_type, err);
    if (!doc || parse_manifest(doc, media_type, out, err) < 0) {
        kn_manifest_free(out);
        return kn_err_wrap(err, "manifest");
    }
    return 0;
}

/* ---- encoding ---- */

static void set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        abort(); /* out of memory */
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of an object of strings with its keys in byte order, as Go writes a
 * map[string]string. */
static json_t *sorted_annotations(const json_t *a)
{
    size_t n = json_object_size(a);
    kn_autofree const char **keys = kn_xcalloc(n ? n : 1, sizeof(*keys));
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v) keys[i++] = key;
    qsort(keys, n, sizeof(*keys), compare_keys);
    json_t *out = json_object();
    for (i = 0; i < n; i++)
        set_new(out, keys[i], json_deep_copy(json_object_get(a, keys[i])));
    return out;
}

static void add_annotations(json_t *obj, const json_t *annotations)
{
    if (annotations && json_object_size(annotations) > 0)
        set_new(obj, "annotations", sorted_annotations(annotations));
}

/* Keys in the order of Go's ocispec.Descriptor (annotations before
 * platform), so kiln's bytes match what BuildKit and docker write. */
static json_t *descriptor_json(const kn_descriptor *d)
{
    json_t *o = json_object();
    set_new(o, "mediaType", kn_json_string_lossy(d->media_type ? d->media_type : ""));
    set_new(o, "digest", kn_json_string_lossy(d->digest.str));
    set_new(o, "size", json_integer(d->size));
    add_annotations(o, d->annotations);
    if (d->platform) {
        json_t *p = json_object();
        set_new(p, "architecture",
                kn_json_string_lossy(d->platform->arch ? d->platform->arch : ""));
        set_new(p, "os", kn_json_string_lossy(d->platform->os ? d->platform->os : ""));
        if (d->platform->variant)
            set_new(p, "variant", kn_json_string_lossy(d->platform->variant));
        set_new(o, "platform", p);
    }
    return o;
}

static char *dump(json_t *doc, size_t *len, bool has_newline)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        abort(); /* out of memory: every string was checked as it was made */
    size_t n = strlen(s);
    if (has_newline) {
        s = kn_xrealloc(s, n + 2);
        s[n++] = '\n';
        s[n] = '\0';
    }
    if (len)
        *len = n;
    return s;
}

char *kn_manifest_encode(const kn_manifest *m, size_t *len)
{
    json_t *doc = json_object();
    set_new(doc, "schemaVersion", json_integer(2));
    if (m->media_type)
        set_new(doc, "mediaType", kn_json_string_lossy(m->media_type));
    set_new(doc, "config", descriptor_json(&m->config));
    json_t *layers = json_array();
    for (size_t i = 0; i < m->n_layers; i++)
        if (json_array_append_new(layers, descriptor_json(&m->layers[i])) < 0)
            abort();
    set_new(doc, "layers", layers);
    add_annotations(doc, m->annotations);
    return dump(doc, len, false);
}

/* ---- indexes ---- */

void kn_index_free(kn_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n_manifests; i++)
        kn_descriptor_free(&idx->manifests[i]);
    free(idx->manifests);
    json_decref(idx->annotations);
    memset(idx, 0, sizeof(*idx));
}

static int parse_index(const json_t *doc, const char *media_type, kn_index *idx, kn_err *err)
{
    if (media_type && is_manifest_type(media_type))
        return field_errf(err, "", "mediaType", "%s is a manifest, not an index", media_type);
    if (media_type && !is_index_type(media_type)) {
        kn_autofree char *q = quote(media_type);
        return field_errf(err, "", "mediaType", "unsupported index type %s", q);
    }
    if (parse_descriptors(doc, "manifests", &idx->manifests, &idx->n_manifests, err) < 0)
        return -1;
    for (size_t i = 0; i < idx->n_manifests; i++) {
        const char *mt = idx->manifests[i].media_type;
        if (!is_manifest_type(mt) && !is_index_type(mt)) {
            kn_autofree char *q = quote(mt);
            kn_autobuf kn_buf where = KN_BUF_INIT;
            kn_buf_addf(&where, "manifests[%zu]", i);
            return field_errf(err, where.data, "mediaType", "%s is not a manifest or an index", q);
        }
    }
    return parse_annotations(doc, "", &idx->annotations, err);
}

int kn_index_parse(const void *data, size_t len, kn_index *out, kn_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *media_type = NULL;
    kn_autojson json_t *doc = parse_document(data, len, &media_type, err);
    if (!doc || parse_index(doc, media_type, out, err) < 0) {
        kn_index_free(out);
        return kn_err_wrap(err, "index");
    }
    return 0;
}

char *kn_index_encode(const kn_index *idx, size_t *len)
{
    json_t *doc = json_object();
    set_new(doc, "schemaVersion", json_integer(2));
    set_new(doc, "mediaType", kn_json_string_lossy(KN_MT_OCI_INDEX));
    json_t *manifests = json_array();
    for (size_t i = 0; i < idx->n_manifests; i++)
        if (json_array_append_new(manifests, descriptor_json(&idx->manifests[i])) < 0)
            abort();
    set_new(doc, "manifests", manifests);
    add_annotations(doc, idx->annotations);
    return dump(doc, len, false);
}

static bool variant_matches(const char *arch, const char *want, const char *have)
{
    if (!want || !*want)
        return true;
    /* containerd's platform matcher: arm64 without a variant is arm64/v8. */
    if (!strcmp(arch, "arm64")) {
        if (!have || !strcmp(have, "v8"))
            return !strcmp(want, "v8");
    }
    return !strcmp(want, have ? have : "");
}

int kn_index_pick(const kn_index *idx, const char *os, const char *arch, const char *variant,
                  size_t *pos, kn_err *err)
{
    /* An entry that names the platform beats one that names none. */
    for (size_t i = 0; i < idx->n_manifests; i++) {
        const kn_platform *p = idx->manifests[i].platform;
        if (p && (!os || !strcmp(p->os, os)) && (!arch || !strcmp(p->arch, arch)) &&
            variant_matches(p->arch, variant, p->variant)) {
            *pos = i;
            return 0;
        }
    }
    for (size_t i = 0; i < idx->n_manifests; i++) {
        if (!idx->manifests[i].platform) {
            *pos = i;
            return 0;
        }
    }
    kn_autobuf kn_buf want = KN_BUF_INIT;
    kn_buf_addf(&want, "%s/%s", os ? os : "*", arch ? arch : "*");
    if (variant && *variant)
        kn_buf_addf(&want, "/%s", variant);
    if (idx->n_manifests == 0)
        return kn_errf(err, KN_EINPUT, "no manifest for %s: the index is empty", want.data);
    kn_autobuf kn_buf have = KN_BUF_INIT;
    for (size_t i = 0; i < idx->n_manifests; i++) {
        const kn_platform *p = idx->manifests[i].platform;
        kn_buf_addf(&have, "%s%s/%s", i ? ", " : "", p->os, p->arch);
        if (p->variant)
            kn_buf_addf(&have, "/%s", p->variant);
    }
    return kn_errf(err, KN_EINPUT, "no manifest for %s (the index has %s)", want.data, have.data);
}

/* ---- docker-archive manifest.json ---- */

void kn_archive_images_free(kn_archive_image *images, size_t n)
{
    if (!images)
        return;
    for (size_t i = 0; i < n; i++) {
        free(images[i].config);
        for (size_t j = 0; j < images[i].n_repo_tags; j++)
            free(images[i].repo_tags[j]);
        free(images[i].repo_tags);
        for (size_t j = 0; j < images[i].n_layers; j++)
            free(images[i].layers[j]);
        free(images[i].layers);
    }
    free(images);
}

/* A path inside the archive: relative, and clean (no empty, "." or ".."
 * names), so it names exactly one entry and never leaves the archive. */
static bool is_clean_relative_path(const char *p)
{
    if (!*p || *p == '/')
        return false;
    for (const char *name = p;;) {
        const char *end = strchr(name, '/');
        size_t n = end ? (size_t)(end - name) : strlen(name);
        if (n == 0 || (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
            return false;
        if (!end)
            return true;
        name = end + 1;
    }
}

static int parse_path(const json_t *v, const char *where, const char *key, char **out, kn_err *err)
{
    if (!json_is_string(v))
        return field_errf(err, where, key, "expected string, got %s", type_name(v));
    const char *p = json_string_value(v);
    if (!is_clean_relative_path(p)) {
        kn_autofree char *q = quote(p);
        return field_errf(err, where, key, "path %s is not clean and relative", q);
    }
    *out = kn_xstrdup(p);
    return 0;
}

/* The strings of obj[key] (an array, or null / missing when optional). */
static int parse_strings(const json_t *obj, const char *where, const char *key, bool is_required,
                         bool is_path, char ***out, size_t *n, kn_err *err)
{
    json_t *arr = NULL;
    int rc = get_array(obj, where, key, is_required, &arr, err);
    if (rc <= 0)
        return rc;
    size_t len = json_array_size(arr);
    *out = kn_xcalloc(len + 1, sizeof(char *));
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(arr, i);
        kn_autobuf kn_buf item = KN_BUF_INIT;
        kn_buf_addf(&item, "%s[%zu]", key, i);
        if (is_path) {
            if (parse_path(v, where, item.data, &(*out)[i], err) < 0)
                return -1;
        } else if (!json_is_string(v)) {
            return field_errf(err, where, item.data, "expected string, got %s", type_name(v));
        } else {
            (*out)[i] = kn_xstrdup(json_string_value(v));
        }
        (*n)++; /* counted as filled, so a failure frees what is there */
    }
    return 0;
}

static int parse_archive_image(const json_t *v, const char *where, kn_archive_image *img,
                               kn_err *err)
{
    if (!json_is_object(v))
        return field_errf(err, where, "", "expected object, got %s", type_name(v));
    json_t *config = NULL;
    if (member(v, where, "Config", JSON_STRING, true, &config, err) < 0 ||
        parse_path(config, where, "Config", &img->config, err) < 0)
        return -1;
    if (parse_strings(v, where, "RepoTags", false, false, &img->repo_tags, &img->n_repo_tags, err) <
        0)
        return -1;
    return parse_strings(v, where, "Layers", true, true, &img->layers, &img->n_layers, err);
}

int kn_archive_manifest_parse(const void *data, size_t len, kn_archive_image **out, size_t *n,
                              kn_err *err)
{
    *out = NULL;
    *n = 0;
    if (len > DOC_MAX)
        return kn_errf(err, KN_EINPUT, "%zu bytes, more than %u", len, DOC_MAX);
    kn_autojson json_t *doc = kn_json_parse(data, len, err);
    if (!doc)
        return -1;
    if (!json_is_array(doc))
        return kn_errf(err, KN_EINPUT, "expected an array of images, got %s", type_name(doc));
    size_t count = json_array_size(doc);
    if (count > ITEMS_MAX)
        return kn_errf(err, KN_EINPUT, "%zu images, more than %d", count, ITEMS_MAX);
    kn_archive_image *images = kn_xcalloc(count + 1, sizeof(*images));
    for (size_t i = 0; i < count; i++) {
        kn_autobuf kn_buf where = KN_BUF_INIT;
        kn_buf_addf(&where, "[%zu]", i);
        if (parse_archive_image(json_array_get(doc, i), where.data, &images[i], err) < 0) {
            kn_archive_images_free(images, i + 1);
            return -1;
        }
    }
    *out = images;
    *n = count;
    return 0;
}

static json_t *string_array(char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, kn_json_string_lossy(items[i])) < 0)
            abort();
    return arr;
}

char *kn_archive_manifest_encode(const kn_archive_image *images, size_t n, size_t *len)
{
    json_t *doc = json_array();
    for (size_t i = 0; i < n; i++) {
        const kn_archive_image *img = &images[i];
        json_t *o = json_object();
        set_new(o, "Config", kn_json_string_lossy(img->config));
        /* docker save writes a nil slice: null for an image without names. */
        set_new(o, "RepoTags",
                img->n_repo_tags ? string_array(img->repo_tags, img->n_repo_tags) : json_null());
        set_new(o, "Layers", string_array(img->layers, img->n_layers));
        if (json_array_append_new(doc, o) < 0)
            abort();
    }
    /* json.NewEncoder(f).Encode(manifest) ends the file with a newline. */
    return dump(doc, len, true);
}
