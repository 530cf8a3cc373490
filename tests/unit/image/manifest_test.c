/* Tests for image manifests, indexes and docker-archive manifest.json
 * (src/image/manifest.c): validation of untrusted documents with errors that
 * name the field, round trips, byte-exact encoding, platform choice. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "image/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX_CONFIG "b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"
#define HEX_LAYER1 "77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
#define HEX_LAYER2 "95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"
#define HEX_MANIFEST "05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f"
#define D_CONFIG "sha256:" HEX_CONFIG
#define D_LAYER1 "sha256:" HEX_LAYER1
#define D_LAYER2 "sha256:" HEX_LAYER2
#define D_MANIFEST "sha256:" HEX_MANIFEST

/* What BuildKit writes for a two-layer image (compact, Go's key order). */
static const char *const oci_manifest =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CONFIG
    "\",\"size\":1470},"
    "\"layers\":[{\"mediaType\":\"application/"
    "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D_LAYER1 "\",\"size\":3623807},"
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D_LAYER2
    "\",\"size\":32}],"
    "\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"}}";

/* A registry's Docker schema 2 manifest: pretty-printed, size before digest. */
static const char *const docker_manifest =
    "{\n   \"schemaVersion\": 2,\n"
    "   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
    "   \"config\": {\n      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
    "      \"size\": 1457,\n      \"digest\": \"" D_CONFIG "\"\n   },\n"
    "   \"layers\": [\n      {\n"
    "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
    "         \"size\": 2814446,\n         \"digest\": \"" D_LAYER1 "\"\n      }\n   ]\n}";

/* index.json as docker save (v25+) writes it: annotations before platform. */
static const char *const docker_save_index =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":[{\"mediaType\":\"application/"
    "vnd.oci.image.manifest.v1+json\",\"digest\":\"" D_MANIFEST
    "\",\"size\":483,\"annotations\":{\"io.containerd.image.name\":"
    "\"docker.io/library/busybox:latest\",\"org.opencontainers.image.ref.name\":\"latest\"},"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";

static void parse_manifest_ok(const char *text, kn_manifest *m)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (kn_manifest_parse(text, strlen(text), m, &err) < 0)
        fail_msg("parse %s: %s", text, err.msg);
}

static void parse_index_ok(const char *text, kn_index *idx)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    if (kn_index_parse(text, strlen(text), idx, &err) < 0)
        fail_msg("parse %s: %s", text, err.msg);
}

static bool platform_eq(const kn_platform *a, const kn_platform *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a->os, b->os) && !strcmp(a->arch, b->arch) &&
           (a->variant && b->variant ? !strcmp(a->variant, b->variant) : a->variant == b->variant);
}

static bool descriptor_eq(const kn_descriptor *a, const kn_descriptor *b)
{
    return !strcmp(a->media_type, b->media_type) && kn_digest_eq(&a->digest, &b->digest) &&
           a->size == b->size && platform_eq(a->platform, b->platform) &&
           (a->annotations && b->annotations ? json_equal(a->annotations, b->annotations)
                                             : a->annotations == b->annotations);
}

static void assert_manifest_eq(const kn_manifest *a, const kn_manifest *b)
{
    assert_string_equal(a->media_type, b->media_type);
    assert_true(descriptor_eq(&a->config, &b->config));
    assert_int_equal(a->n_layers, b->n_layers);
    for (size_t i = 0; i < a->n_layers; i++)
        assert_true(descriptor_eq(&a->layers[i], &b->layers[i]));
    if (a->annotations || b->annotations)
        assert_true(a->annotations && b->annotations && json_equal(a->annotations, b->annotations));
}

/* ---- manifests ---- */

static void test_manifest_parses_oci_fields(void **state)
{
    kn_manifest m;
    parse_manifest_ok(oci_manifest, &m);
    assert_string_equal(m.media_type, KN_MT_OCI_MANIFEST);
    assert_string_equal(m.config.media_type, KN_MT_OCI_CONFIG);
    assert_string_equal(m.config.digest.str, D_CONFIG);
    assert_int_equal(m.config.size, 1470);
    assert_int_equal(m.n_layers, 2);
    assert_string_equal(m.layers[0].digest.str, D_LAYER1);
    assert_int_equal(m.layers[0].size, 3623807);
    assert_string_equal(m.layers[1].media_type, KN_MT_OCI_LAYER_ZSTD);
    assert_null(m.layers[1].platform);
    assert_string_equal(
        json_string_value(json_object_get(m.annotations, "org.opencontainers.image.created")),
        "2024-01-01T00:00:00Z");
    kn_manifest_free(&m);
}

static void test_manifest_parses_docker_schema2(void **state)
{
    kn_manifest m;
    parse_manifest_ok(docker_manifest, &m);
    assert_string_equal(m.media_type, KN_MT_DOCKER_MANIFEST);
    assert_string_equal(m.config.media_type, KN_MT_DOCKER_CONFIG);
    assert_int_equal(m.config.size, 1457);
    assert_int_equal(m.n_layers, 1);
    kn_comp comp = KN_COMP_NONE;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_layer_media_type_comp(m.layers[0].media_type, &comp, &err), 0);
    assert_int_equal(comp, KN_COMP_GZIP);
    assert_null(m.annotations);
    kn_manifest_free(&m);
}

static void test_manifest_infers_oci_media_type_when_absent(void **state)
{
    const char *text = "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
                       "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CONFIG
                       "\",\"size\":2},\"layers\":[]}";
    kn_manifest m;
    parse_manifest_ok(text, &m);
    assert_string_equal(m.media_type, KN_MT_OCI_MANIFEST);
    assert_int_equal(m.n_layers, 0);
    kn_manifest_free(&m);
}

static void test_manifest_encodes_known_oci_bytes_identically(void **state)
{
    kn_manifest m;
    parse_manifest_ok(oci_manifest, &m);
    size_t len = 0;
    kn_autofree char *out = kn_manifest_encode(&m, &len);
    assert_string_equal(out, oci_manifest);
    assert_int_equal(len, strlen(oci_manifest));
    kn_manifest_free(&m);
}

static void test_manifest_encodes_docker_manifest_compactly_in_fixed_order(void **state)
{
    kn_manifest m;
    parse_manifest_ok(docker_manifest, &m);
    kn_autofree char *out = kn_manifest_encode(&m, NULL);
    assert_string_equal(
        out, "{\"schemaVersion\":2,\"mediaType\":"
             "\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":"
             "\"application/vnd.docker.container.image.v1+json\",\"digest\":\"" D_CONFIG
             "\",\"size\":1457},\"layers\":[{\"mediaType\":"
             "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" D_LAYER1
             "\",\"size\":2814446}]}");
    kn_manifest_free(&m);
}

static void test_manifest_encode_sorts_annotations_like_go(void **state)
{
    const char *text = "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
                       "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CONFIG
                       "\",\"size\":2},\"layers\":[],\"annotations\":{\"z\":\"1\",\"a\":\"2\","
                       "\"m\":\"3\"}}";
    kn_manifest m;
    parse_manifest_ok(text, &m);
    kn_autofree char *out = kn_manifest_encode(&m, NULL);
    assert_non_null(strstr(out, "\"annotations\":{\"a\":\"2\",\"m\":\"3\",\"z\":\"1\"}}"));
    kn_manifest_free(&m);
}

/* Good manifests: parse -> encode -> parse gives an equal manifest, and the
 * second encoding is byte-identical to the first. */
static void test_manifest_round_trips(void **state)
{
    static const char *const rows[] = {
        oci_manifest,
        docker_manifest,
        /* no mediaType, empty layers, platform on the config (docker save) */
        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
        "vnd.oci.image.config.v1+json\","
        "\"digest\":\"" D_CONFIG "\",\"size\":0,\"platform\":{\"architecture\":\"arm\",\"os\":"
        "\"linux\",\"variant\":\"v7\",\"os.version\":\"x\"}},\"layers\":[]}",
        /* unknown keys are dropped, null annotations are absent */
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"artifactType\":\"x\",\"config\":{\"mediaType\":\"application/"
        "vnd.oci.image.config.v1+json\","
        "\"digest\":\"" D_CONFIG "\",\"size\":9223372036854775807,\"annotations\":null},"
        "\"layers\":[{\"mediaType\":\"application/"
        "vnd.oci.image.layer.v1.tar\",\"digest\":\"" D_LAYER1
        "\",\"size\":1,\"urls\":[],\"annotations\":{\"k\":\"\\u00e9\\n\"}}],\"annotations\":{}}",
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_manifest a, b;
        parse_manifest_ok(rows[i], &a);
        size_t len = 0;
        kn_autofree char *first = kn_manifest_encode(&a, &len);
        assert_int_equal(len, strlen(first));
        parse_manifest_ok(first, &b);
        assert_manifest_eq(&a, &b);
        kn_autofree char *second = kn_manifest_encode(&b, NULL);
        if (strcmp(first, second) != 0)
            fail_msg("row %zu: encodings differ:\n%s\n%s", i, first, second);
        kn_manifest_free(&a);
        kn_manifest_free(&b);
    }
}

#define CFG_DESC                                                                                   \
    "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CONFIG           \
    "\",\"size\":2}"
#define MANIFEST_WITH_LAYERS(layers)                                                               \
    "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[" layers "]}"
#define LAYER(mt, digest, size)                                                                    \
    "{\"mediaType\":\"" mt "\",\"digest\":\"" digest "\",\"size\":" size "}"
#define GZ "application/vnd.oci.image.layer.v1.tar+gzip"

typedef struct bad_row {
    const char *name;
    const char *input;
    const char *want; /* substring of the error */
} bad_row;

static void check_bad_rows(const bad_row *rows, size_t n,
                           int (*parse)(const char *, size_t, kn_err *))
{
    for (size_t i = 0; i < n; i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (parse(rows[i].input, strlen(rows[i].input), &err) == 0)
            fail_msg("%s: accepted %s", rows[i].name, rows[i].input);
        assert_int_equal(err.code, KN_EINPUT);
        if (!err.msg || !strstr(err.msg, rows[i].want))
            fail_msg("%s: error \"%s\" lacks \"%s\"", rows[i].name, err.msg, rows[i].want);
    }
}

static int parse_manifest_and_free(const char *s, size_t len, kn_err *err)
{
    kn_manifest m;
    int rc = kn_manifest_parse(s, len, &m, err);
    kn_manifest_free(&m); /* also after a failure: must be safe */
    return rc;
}

static void test_manifest_rejects_bad_documents(void **state)
{
    static const bad_row rows[] = {
        {"not JSON", "{", "manifest: invalid JSON"},
        {"array", "[]", "manifest: expected an object, got array"},
        {"schemaVersion missing", "{}", "manifest: schemaVersion: missing"},
        {"schemaVersion 1", "{\"schemaVersion\":1}", "manifest: schemaVersion: expected 2, got 1"},
        {"schemaVersion string", "{\"schemaVersion\":\"2\"}",
         "schemaVersion: expected integer, got string"},
        {"mediaType an index",
         "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"}",
         "mediaType: application/vnd.oci.image.index.v1+json is an index, not a manifest"},
        {"mediaType unknown", "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}",
         "mediaType: unsupported manifest type \"text/plain\""},
        {"mediaType number", "{\"schemaVersion\":2,\"mediaType\":1}",
         "mediaType: expected string, got integer"},
        {"index without mediaType", "{\"schemaVersion\":2,\"manifests\":[]}",
         "an index, not a manifest"},
        {"config missing", "{\"schemaVersion\":2,\"layers\":[]}", "manifest: config: missing"},
        {"config null", "{\"schemaVersion\":2,\"config\":null,\"layers\":[]}",
         "config: expected object, got null"},
        {"config not an image config",
         "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
         "\"digest\":\"" D_CONFIG "\",\"size\":2},\"layers\":[]}",
         "config.mediaType: \"application/vnd.oci.empty.v1+json\" is not an image config"},
        {"config digest missing",
         "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
         "vnd.oci.image.config.v1+json\","
         "\"size\":2},\"layers\":[]}",
         "manifest: config.digest: missing"},
        {"layers missing", "{\"schemaVersion\":2,\"config\":" CFG_DESC "}",
         "manifest: layers: missing"},
        {"layers an object", "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":{}}",
         "layers: expected array, got object"},
        {"layer not an object", MANIFEST_WITH_LAYERS("1"),
         "layers[0]: expected object, got integer"},
        {"bad layer digest",
         MANIFEST_WITH_LAYERS(LAYER(GZ, D_LAYER1, "1") "," LAYER(GZ, D_LAYER2, "1") "," LAYER(
             GZ, "sha256:abc", "1")),
         "manifest: layers[2].digest: not a sha256 digest: \"sha256:abc\""},
        {"sha512 layer digest",
         MANIFEST_WITH_LAYERS(LAYER(GZ, "sha512:" HEX_LAYER1 HEX_LAYER2, "1")),
         "layers[0].digest: not a sha256 digest: \"sha512:"},
        {"uppercase digest",
         MANIFEST_WITH_LAYERS(
             LAYER(GZ,
                   "sha256:"
                   "B79606FB3AFEA5BD1609ED40B622142F1C98125ABCFE89A76A661B0E8E343910",
                   "1")),
         "layers[0].digest: not a sha256 digest"},
        {"negative size", MANIFEST_WITH_LAYERS(LAYER(GZ, D_LAYER1, "-1")),
         "layers[0].size: negative (-1)"},
        {"fractional size", MANIFEST_WITH_LAYERS(LAYER(GZ, D_LAYER1, "1.5")),
         "layers[0].size: expected integer, got number"},
        {"size beyond int64", MANIFEST_WITH_LAYERS(LAYER(GZ, D_LAYER1, "9223372036854775808")),
         "invalid JSON"},
        {"size a string", MANIFEST_WITH_LAYERS(LAYER(GZ, D_LAYER1, "\"1\"")),
         "layers[0].size: expected integer, got string"},
        {"foreign layer",
         MANIFEST_WITH_LAYERS(
             LAYER("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", D_LAYER1, "1")),
         "layers[0].mediaType: unsupported layer media type "
         "\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\" (foreign layers"},
        {"encrypted layer",
         MANIFEST_WITH_LAYERS(
             LAYER("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", D_LAYER1, "1")),
         "(encrypted layers are not supported)"},
        {"empty layer media type", MANIFEST_WITH_LAYERS(LAYER("", D_LAYER1, "1")),
         "layers[0].mediaType: empty"},
        {"annotations an array",
         "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[],\"annotations\":[]}",
         "manifest: annotations: expected object, got array"},
        {"annotation value a number",
         "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[],\"annotations\":{\"a\":1}}",
         "annotations: value of \"a\": expected string, got integer"},
        {"layer annotation value null",
         MANIFEST_WITH_LAYERS("{\"mediaType\":\"" GZ "\",\"digest\":\"" D_LAYER1
                              "\",\"size\":1,\"annotations\":{\"a\":null}}"),
         "layers[0].annotations: value of \"a\": expected string, got null"},
        {"platform without os",
         "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
         "vnd.oci.image.config.v1+json\","
         "\"digest\":\"" D_CONFIG
         "\",\"size\":2,\"platform\":{\"architecture\":\"amd64\"}},\"layers\":[]}",
         "config.platform.os: missing"},
        {"platform with empty arch",
         "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
         "vnd.oci.image.config.v1+json\","
         "\"digest\":\"" D_CONFIG
         "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"\"}},\"layers\":[]}",
         "config.platform.architecture: empty"},
        {"platform variant a number",
         "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
         "vnd.oci.image.config.v1+json\","
         "\"digest\":\"" D_CONFIG "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":"
         "\"arm\",\"variant\":7}},\"layers\":[]}",
         "config.platform.variant: expected string, got integer"},
        {"platform a string",
         "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
         "vnd.oci.image.config.v1+json\","
         "\"digest\":\"" D_CONFIG "\",\"size\":2,\"platform\":\"linux/amd64\"},\"layers\":[]}",
         "config.platform: expected object, got string"},
        {"trailing garbage", "{\"schemaVersion\":2} x", "invalid JSON"},
    };
    check_bad_rows(rows, KN_ARRAY_LEN(rows), parse_manifest_and_free);
}

static void test_manifest_refuses_documents_over_4_mib(void **state)
{
    size_t len = (4u << 20) + 1;
    kn_autofree char *big = kn_xmalloc(len);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_manifest m;
    assert_int_equal(kn_manifest_parse(big, len, &m, &err), -1);
    assert_non_null(strstr(err.msg, "more than 4194304"));
    kn_index idx;
    kn_err_clear(&err);
    assert_int_equal(kn_index_parse(big, len, &idx, &err), -1);
    assert_non_null(strstr(err.msg, "more than 4194304"));
    kn_archive_image *images;
    size_t n;
    kn_err_clear(&err);
    assert_int_equal(kn_archive_manifest_parse(big, len, &images, &n, &err), -1);
    assert_non_null(strstr(err.msg, "more than 4194304"));
}

static char *manifest_with_n_layers(size_t n)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[");
    for (size_t i = 0; i < n; i++)
        kn_buf_addf(&b, "%s" LAYER(GZ, D_LAYER1, "1"), i ? "," : "");
    kn_buf_adds(&b, "]}");
    return kn_buf_release(&b);
}

static void test_manifest_refuses_more_than_10000_layers(void **state)
{
    kn_autofree char *ok = manifest_with_n_layers(10000);
    kn_manifest m;
    parse_manifest_ok(ok, &m);
    assert_int_equal(m.n_layers, 10000);
    kn_manifest_free(&m);

    kn_autofree char *bad = manifest_with_n_layers(10001);
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_manifest_parse(bad, strlen(bad), &m, &err), -1);
    assert_non_null(strstr(err.msg, "manifest: layers: 10001 entries, more than 10000"));
}

static void test_layer_media_types_map_to_compression(void **state)
{
    static const struct {
        const char *media_type;
        kn_comp comp;
    } rows[] = {
        {KN_MT_OCI_LAYER, KN_COMP_NONE},         {KN_MT_OCI_LAYER_GZIP, KN_COMP_GZIP},
        {KN_MT_OCI_LAYER_ZSTD, KN_COMP_ZSTD},    {KN_MT_DOCKER_LAYER, KN_COMP_NONE},
        {KN_MT_DOCKER_LAYER_GZIP, KN_COMP_GZIP},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_comp comp = (kn_comp)-1;
        assert_int_equal(kn_layer_media_type_comp(rows[i].media_type, &comp, &err), 0);
        assert_int_equal(comp, rows[i].comp);
    }
    assert_string_equal(kn_layer_media_type(KN_COMP_NONE), KN_MT_OCI_LAYER);
    assert_string_equal(kn_layer_media_type(KN_COMP_GZIP), KN_MT_OCI_LAYER_GZIP);
    assert_string_equal(kn_layer_media_type(KN_COMP_ZSTD), KN_MT_OCI_LAYER_ZSTD);

    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_comp comp;
    assert_int_equal(kn_layer_media_type_comp(KN_MT_OCI_CONFIG, &comp, &err), -1);
    assert_string_equal(
        err.msg, "unsupported layer media type \"application/vnd.oci.image.config.v1+json\"");
}

static void test_layer_media_type_error_quotes_control_characters(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_comp comp;
    assert_int_equal(kn_layer_media_type_comp("a\n\x1b[31mb", &comp, &err), -1);
    assert_string_equal(err.msg, "unsupported layer media type \"a\\u000a\\u001b[31mb\"");
}

/* ---- indexes ---- */

static void test_index_parses_docker_save_index_and_encodes_it_identically(void **state)
{
    kn_index idx;
    parse_index_ok(docker_save_index, &idx);
    assert_int_equal(idx.n_manifests, 1);
    const kn_descriptor *d = &idx.manifests[0];
    assert_string_equal(d->media_type, KN_MT_OCI_MANIFEST);
    assert_string_equal(d->digest.str, D_MANIFEST);
    assert_int_equal(d->size, 483);
    assert_string_equal(d->platform->os, "linux");
    assert_string_equal(d->platform->arch, "amd64");
    assert_null(d->platform->variant);
    assert_string_equal(json_string_value(json_object_get(d->annotations, KN_ANNOT_REF_NAME)),
                        "latest");
    size_t len = 0;
    kn_autofree char *out = kn_index_encode(&idx, &len);
    assert_string_equal(out, docker_save_index);
    assert_int_equal(len, strlen(docker_save_index));
    kn_index_free(&idx);
}

static void test_index_reads_docker_manifest_list_and_writes_oci(void **state)
{
    const char *text =
        "{\"schemaVersion\":2,\"mediaType\":"
        "\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":["
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":528,"
        "\"digest\":\"" D_LAYER1 "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
        "\"variant\":\"v6\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":528,"
        "\"digest\":\"" D_LAYER2 "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
    kn_index a, b;
    parse_index_ok(text, &a);
    assert_int_equal(a.n_manifests, 2);
    assert_string_equal(a.manifests[0].platform->variant, "v6");
    kn_autofree char *out = kn_index_encode(&a, NULL);
    assert_non_null(strstr(out, "\"mediaType\":\"application/vnd.oci.image.index.v1+json\""));
    parse_index_ok(out, &b);
    assert_int_equal(b.n_manifests, 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(descriptor_eq(&a.manifests[i], &b.manifests[i]));
    kn_index_free(&a);
    kn_index_free(&b);
}

static int parse_index_and_free(const char *s, size_t len, kn_err *err)
{
    kn_index idx;
    int rc = kn_index_parse(s, len, &idx, err);
    kn_index_free(&idx);
    return rc;
}

static void test_index_rejects_bad_documents(void **state)
{
    static const bad_row rows[] = {
        {"schemaVersion 1", "{\"schemaVersion\":1,\"manifests\":[]}",
         "index: schemaVersion: expected 2, got 1"},
        {"a manifest",
         "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}",
         "index: mediaType: application/vnd.oci.image.manifest.v1+json is a manifest, not an "
         "index"},
        {"unknown mediaType", "{\"schemaVersion\":2,\"mediaType\":\"x\",\"manifests\":[]}",
         "index: mediaType: unsupported index type \"x\""},
        {"manifests missing", "{\"schemaVersion\":2}", "index: manifests: missing"},
        {"entry of another type",
         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
         "vnd.oci.image.layer.v1.tar\","
         "\"digest\":\"" D_LAYER1 "\",\"size\":1}]}",
         "manifests[0].mediaType: \"application/vnd.oci.image.layer.v1.tar\" is not a manifest or "
         "an index"},
        {"entry digest bad",
         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
         "vnd.oci.image.manifest.v1+json\","
         "\"digest\":\"sha256:" HEX_LAYER1 "0\",\"size\":1}]}",
         "index: manifests[0].digest: not a sha256 digest: \"sha256:" HEX_LAYER1 "0\": 65 hex "
         "digits, want 64"},
        {"entry platform bad",
         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
         "vnd.oci.image.manifest.v1+json\","
         "\"digest\":\"" D_LAYER1
         "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":1}}]}",
         "index: manifests[0].platform.architecture: expected string, got integer"},
        {"annotations not strings",
         "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":[]}}",
         "index: annotations: value of \"a\": expected string, got array"},
    };
    check_bad_rows(rows, KN_ARRAY_LEN(rows), parse_index_and_free);
}

static void index_of_platforms(kn_index *idx, const char *const *platforms, size_t n)
{
    memset(idx, 0, sizeof(*idx));
    idx->manifests = kn_xcalloc(n, sizeof(*idx->manifests));
    idx->n_manifests = n;
    for (size_t i = 0; i < n; i++) {
        kn_descriptor *d = &idx->manifests[i];
        d->media_type = kn_xstrdup(KN_MT_OCI_MANIFEST);
        if (!platforms[i])
            continue;
        d->platform = kn_xcalloc(1, sizeof(*d->platform));
        char *copy = kn_xstrdup(platforms[i]);
        char *arch = strchr(copy, '/');
        *arch++ = '\0';
        char *variant = strchr(arch, '/');
        if (variant)
            *variant++ = '\0';
        d->platform->os = kn_xstrdup(copy);
        d->platform->arch = kn_xstrdup(arch);
        d->platform->variant = variant ? kn_xstrdup(variant) : NULL;
        free(copy);
    }
}

static void test_index_pick_matches_platforms(void **state)
{
    static const char *const list[] = {"unknown/unknown", "linux/arm/v6", "linux/arm/v7",
                                       "linux/arm64",     "linux/amd64",  NULL};
    static const struct {
        const char *os, *arch, *variant;
        size_t n; /* entries of `list` in the index */
        long want;
    } rows[] = {
        {"linux", "amd64", NULL, 5, 4},   {"linux", "arm", "v7", 5, 2},
        {"linux", "arm", NULL, 5, 1},   /* no variant asked: the first arm */
        {"linux", "arm64", "v8", 5, 3}, /* arm64 without a variant is v8 */
        {"linux", "arm", "v5", 5, -1},    {"windows", "amd64", NULL, 5, -1},
        {"windows", "amd64", NULL, 6, 5}, /* an entry without platform matches anything */
        {"linux", "amd64", NULL, 6, 4},   /* ... but a named platform comes first */
        {"linux", "amd64", NULL, 0, -1},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_index idx;
        index_of_platforms(&idx, list, rows[i].n);
        kn_autoerr kn_err err = KN_ERR_INIT;
        size_t pos = 99;
        int rc = kn_index_pick(&idx, rows[i].os, rows[i].arch, rows[i].variant, &pos, &err);
        if (rows[i].want < 0 ? rc != -1 : rc != 0 || (long)pos != rows[i].want)
            fail_msg("row %zu (%s/%s): rc %d pos %zu, want %ld (%s)", i, rows[i].os, rows[i].arch,
                     rc, pos, rows[i].want, err.msg ? err.msg : "");
        kn_index_free(&idx);
    }
}

static void test_index_pick_error_lists_the_platforms(void **state)
{
    static const char *const list[] = {"linux/amd64", "linux/arm/v7"};
    kn_index idx;
    index_of_platforms(&idx, list, 2);
    kn_autoerr kn_err err = KN_ERR_INIT;
    size_t pos;
    assert_int_equal(kn_index_pick(&idx, "linux", "s390x", NULL, &pos, &err), -1);
    assert_string_equal(err.msg,
                        "no manifest for linux/s390x (the index has linux/amd64, linux/arm/v7)");
    kn_index_free(&idx);

    index_of_platforms(&idx, list, 0);
    kn_err_clear(&err);
    assert_int_equal(kn_index_pick(&idx, "linux", "arm", "v7", &pos, &err), -1);
    assert_string_equal(err.msg, "no manifest for linux/arm/v7: the index is empty");
    kn_index_free(&idx);
}

static void test_descriptor_copy_is_deep(void **state)
{
    kn_index idx;
    parse_index_ok(docker_save_index, &idx);
    kn_descriptor copy;
    kn_descriptor_copy(&copy, &idx.manifests[0]);
    assert_true(descriptor_eq(&copy, &idx.manifests[0]));
    assert_ptr_not_equal(copy.media_type, idx.manifests[0].media_type);
    assert_ptr_not_equal(copy.platform, idx.manifests[0].platform);
    assert_ptr_not_equal(copy.annotations, idx.manifests[0].annotations);
    kn_index_free(&idx); /* the copy outlives the original */
    assert_string_equal(copy.platform->arch, "amd64");
    assert_string_equal(json_string_value(json_object_get(copy.annotations, KN_ANNOT_REF_NAME)),
                        "latest");
    kn_descriptor_free(&copy);
    kn_descriptor_free(&copy); /* freeing twice is harmless: the first one zeroes */
}

/* ---- docker-archive manifest.json ---- */

/* docker save of one tagged image (docker 25+: blobs/sha256 paths). */
static const char *const docker_save_manifest =
    "[{\"Config\":\"blobs/sha256/" HEX_CONFIG "\",\"RepoTags\":[\"busybox:latest\"],"
    "\"Layers\":[\"blobs/sha256/" HEX_LAYER1 "\",\"blobs/sha256/" HEX_LAYER2 "\"]}]\n";

static void test_archive_manifest_parses_docker_save_output(void **state)
{
    /* Older docker: <id>.json and <id>/layer.tar; LayerSources and Parent ignored. */
    const char *old =
        "[{\"Config\":\"" HEX_CONFIG ".json\",\"RepoTags\":null,\"Layers\":[\"" HEX_LAYER1
        "/layer.tar\"],\"Parent\":\"sha256:x\",\"LayerSources\":{}},"
        "{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\",\"b:2\"],\"Layers\":[]}]";
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_archive_image *images = NULL;
    size_t n = 0;
    if (kn_archive_manifest_parse(old, strlen(old), &images, &n, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 2);
    assert_string_equal(images[0].config, HEX_CONFIG ".json");
    assert_int_equal(images[0].n_repo_tags, 0);
    assert_int_equal(images[0].n_layers, 1);
    assert_string_equal(images[0].layers[0], HEX_LAYER1 "/layer.tar");
    assert_int_equal(images[1].n_repo_tags, 2);
    assert_string_equal(images[1].repo_tags[1], "b:2");
    assert_int_equal(images[1].n_layers, 0);
    kn_archive_images_free(images, n);
}

static void test_archive_manifest_encodes_like_docker_save(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_archive_image *images = NULL;
    size_t n = 0;
    assert_int_equal(kn_archive_manifest_parse(docker_save_manifest, strlen(docker_save_manifest),
                                               &images, &n, &err),
                     0);
    size_t len = 0;
    kn_autofree char *out = kn_archive_manifest_encode(images, n, &len);
    assert_string_equal(out, docker_save_manifest);
    assert_int_equal(len, strlen(docker_save_manifest));
    kn_archive_images_free(images, n);

    /* No names: docker writes "RepoTags":null. */
    char *layers[] = {"blobs/sha256/" HEX_LAYER1};
    kn_archive_image untagged = {
        .config = "blobs/sha256/" HEX_CONFIG, .layers = layers, .n_layers = 1};
    kn_autofree char *out2 = kn_archive_manifest_encode(&untagged, 1, NULL);
    assert_string_equal(out2,
                        "[{\"Config\":\"blobs/sha256/" HEX_CONFIG
                        "\",\"RepoTags\":null,\"Layers\":[\"blobs/sha256/" HEX_LAYER1 "\"]}]\n");
    kn_autofree char *none = kn_archive_manifest_encode(NULL, 0, NULL);
    assert_string_equal(none, "[]\n");
}

static int parse_archive_and_free(const char *s, size_t len, kn_err *err)
{
    kn_archive_image *images = NULL;
    size_t n = 0;
    int rc = kn_archive_manifest_parse(s, len, &images, &n, err);
    if (rc == 0)
        kn_archive_images_free(images, n);
    else if (images || n)
        fail_msg("a failed parse left %zu images", n);
    return rc;
}

#define ARCHIVE_WITH_LAYER(path)                                                                   \
    "[{\"Config\":\"c.json\",\"RepoTags\":[],\"Layers\":[\"" path "\"]}]"

static void test_archive_manifest_rejects_unclean_paths_and_bad_shapes(void **state)
{
    static const bad_row rows[] = {
        {"an object", "{}", "expected an array of images, got object"},
        {"image a string", "[\"x\"]", "[0]: expected object, got string"},
        {"Config missing", "[{\"Layers\":[]}]", "[0].Config: missing"},
        {"Config null", "[{\"Config\":null,\"Layers\":[]}]",
         "[0].Config: expected string, got null"},
        {"Layers missing", "[{\"Config\":\"c.json\"}]", "[0].Layers: missing"},
        {"RepoTags a string", "[{\"Config\":\"c.json\",\"RepoTags\":\"a\",\"Layers\":[]}]",
         "[0].RepoTags: expected array, got string"},
        {"RepoTags entry a number", "[{\"Config\":\"c.json\",\"RepoTags\":[1],\"Layers\":[]}]",
         "[0].RepoTags[0]: expected string, got integer"},
        {"layer a number", "[{\"Config\":\"c.json\",\"Layers\":[\"a\",2]}]",
         "[0].Layers[1]: expected string, got integer"},
        {"absolute config", "[{\"Config\":\"/etc/passwd\",\"Layers\":[]}]",
         "[0].Config: path \"/etc/passwd\" is not clean and relative"},
        {"dot-dot layer", ARCHIVE_WITH_LAYER("../x/layer.tar"),
         "[0].Layers[0]: path \"../x/layer.tar\" is not clean and relative"},
        {"inner dot-dot", ARCHIVE_WITH_LAYER("a/../../b"), "is not clean and relative"},
        {"trailing dot-dot", ARCHIVE_WITH_LAYER("a/.."), "is not clean and relative"},
        {"dot", ARCHIVE_WITH_LAYER("."), "is not clean and relative"},
        {"dot component", ARCHIVE_WITH_LAYER("./a"), "is not clean and relative"},
        {"double slash", ARCHIVE_WITH_LAYER("a//b"), "is not clean and relative"},
        {"trailing slash", ARCHIVE_WITH_LAYER("a/"), "is not clean and relative"},
        {"empty", ARCHIVE_WITH_LAYER(""), "[0].Layers[0]: path \"\" is not clean and relative"},
        {"second image bad",
         "[{\"Config\":\"a\",\"Layers\":[]},{\"Config\":\"b\",\"Layers\":[\"/x\"]}]",
         "[1].Layers[0]: path \"/x\""},
    };
    check_bad_rows(rows, KN_ARRAY_LEN(rows), parse_archive_and_free);
}

static void test_archive_manifest_accepts_dots_inside_names(void **state)
{
    const char *text = ARCHIVE_WITH_LAYER("..a/b..c/.d/layer.tar");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_archive_image *images = NULL;
    size_t n = 0;
    if (kn_archive_manifest_parse(text, strlen(text), &images, &n, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(images[0].layers[0], "..a/b..c/.d/layer.tar");
    kn_archive_images_free(images, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_parses_oci_fields),
        cmocka_unit_test(test_manifest_parses_docker_schema2),
        cmocka_unit_test(test_manifest_infers_oci_media_type_when_absent),
        cmocka_unit_test(test_manifest_encodes_known_oci_bytes_identically),
        cmocka_unit_test(test_manifest_encodes_docker_manifest_compactly_in_fixed_order),
        cmocka_unit_test(test_manifest_encode_sorts_annotations_like_go),
        cmocka_unit_test(test_manifest_round_trips),
        cmocka_unit_test(test_manifest_rejects_bad_documents),
        cmocka_unit_test(test_manifest_refuses_documents_over_4_mib),
        cmocka_unit_test(test_manifest_refuses_more_than_10000_layers),
        cmocka_unit_test(test_layer_media_types_map_to_compression),
        cmocka_unit_test(test_layer_media_type_error_quotes_control_characters),
        cmocka_unit_test(test_index_parses_docker_save_index_and_encodes_it_identically),
        cmocka_unit_test(test_index_reads_docker_manifest_list_and_writes_oci),
        cmocka_unit_test(test_index_rejects_bad_documents),
        cmocka_unit_test(test_index_pick_matches_platforms),
        cmocka_unit_test(test_index_pick_error_lists_the_platforms),
        cmocka_unit_test(test_descriptor_copy_is_deep),
        cmocka_unit_test(test_archive_manifest_parses_docker_save_output),
        cmocka_unit_test(test_archive_manifest_encodes_like_docker_save),
        cmocka_unit_test(test_archive_manifest_rejects_unclean_paths_and_bad_shapes),
        cmocka_unit_test(test_archive_manifest_accepts_dots_inside_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
