/* Tests for the image config (src/image/config.c): validation of untrusted
 * configs, Docker's edit semantics, canonical bytes, RFC 3339 times as Go
 * writes them, and the `docker image inspect` shape. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/json.h"
#include "base/mem.h"
#include "image/config.h"

#include <stdlib.h>
#include <string.h>

#define D_LAYER1 "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
#define D_LAYER2 "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"
#define D_CONFIG "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"
#define D_MANIFEST "sha256:05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f"

/* A config as BuildKit writes it (fields docker adds, like container_config,
 * must survive too). */
static const char *const buildkit_config =
    "{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:"
    "/usr/sbin:/usr/bin:/sbin:/bin\",\"A=1\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\","
    "\"Labels\":{\"l\":\"v\"},\"ExposedPorts\":{\"80/tcp\":{}},\"ArgsEscaped\":true,"
    "\"OnBuild\":null},\"container_config\":{\"Hostname\":\"x\"},"
    "\"created\":\"2024-05-14T10:12:34.123456789+02:00\",\"history\":["
    "{\"created\":\"2024-05-14T08:00:00Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:x in / \"},"
    "{\"created\":\"2024-05-14T08:00:01Z\",\"created_by\":\"ENV A=1\",\"comment\":"
    "\"buildkit.dockerfile.v0\",\"empty_layer\":true},"
    "{\"created\":\"2024-05-14T08:00:02Z\",\"created_by\":\"RUN /bin/sh -c true # buildkit\","
    "\"comment\":\"buildkit.dockerfile.v0\"}],"
    "\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D_LAYER1 "\",\"" D_LAYER2
    "\"]}}";

static json_t *parse_ok(const char *text)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    json_t *cfg = NULL;
    if (kn_config_parse(text, strlen(text), &cfg, &err) < 0)
        fail_msg("parse %s: %s", text, err.msg);
    return cfg;
}

static const char *env_at(const json_t *cfg, size_t i)
{
    return json_string_value(
        json_array_get(json_object_get(json_object_get(cfg, "config"), "Env"), i));
}

static void test_config_parses_buildkit_config(void **state)
{
    kn_autojson json_t *cfg = parse_ok(buildkit_config);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree kn_digest *ids = NULL;
    size_t n = 0;
    assert_int_equal(kn_config_diff_ids(cfg, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0].str, D_LAYER1);
    assert_string_equal(ids[1].str, D_LAYER2);
    /* 10:12:34+02:00 is 08:12:34 UTC */
    assert_int_equal(kn_config_created(cfg), 1715674354);
    assert_string_equal(kn_config_get_env(cfg, "A"), "1");
}

static void test_config_accepts_no_layers_written_as_null_or_missing(void **state)
{
    static const char *const rows[] = {
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":null}}",
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"},"
        "\"config\":null,\"history\":null}",
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autojson json_t *cfg = parse_ok(rows[i]);
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_autofree kn_digest *ids = NULL;
        size_t n = 99;
        assert_int_equal(kn_config_diff_ids(cfg, &ids, &n, &err), 0);
        assert_int_equal(n, 0);
        assert_int_equal(kn_config_created(cfg), 0); /* absent */
    }
}

#define BASE "\"architecture\":\"amd64\",\"os\":\"linux\""
#define ROOTFS(ids) "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" ids "]}"
#define WITH(extra) "{" BASE "," ROOTFS("") "," extra "}"

static void test_config_rejects_bad_configs(void **state)
{
    static const struct {
        const char *name, *input, *want;
    } rows[] = {
        {"not JSON", "{", "image config: invalid JSON"},
        {"an array", "[]", "image config: expected an object, got array"},
        {"architecture missing", "{\"os\":\"linux\"," ROOTFS("") "}",
         "image config: architecture: missing"},
        {"os a number", "{\"architecture\":\"amd64\",\"os\":1," ROOTFS("") "}",
         "image config: os: expected string, got integer"},
        {"variant a number", WITH("\"variant\":8"), "variant: expected string, got integer"},
        {"rootfs missing", "{" BASE "}", "image config: rootfs: missing"},
        {"rootfs type other", "{" BASE ",\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}",
         "rootfs.type: expected \"layers\", got \"tar\""},
        {"rootfs type missing", "{" BASE ",\"rootfs\":{\"diff_ids\":[]}}", "rootfs.type: missing"},
        {"diff_ids an object", "{" BASE ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}}",
         "rootfs.diff_ids: expected array of strings, got object"},
        {"diff_id a number", "{" BASE "," ROOTFS("1") "}",
         "rootfs.diff_ids: [0]: expected string, got integer"},
        {"diff_id not sha256", "{" BASE "," ROOTFS("\"" D_LAYER1 "\",\"md5:00\"") "}",
         "image config: rootfs.diff_ids[1]: not a sha256 digest: \"md5:00\""},
        {"created not a time", WITH("\"created\":\"yesterday\""),
         "image config: created: \"yesterday\" is not an RFC 3339 time"},
        {"created a number", WITH("\"created\":0"), "created: expected string, got integer"},
        {"config an array", WITH("\"config\":[]"),
         "image config: config: expected object, got array"},
        {"Env a string", WITH("\"config\":{\"Env\":\"A=1\"}"),
         "config.Env: expected array of strings, got string"},
        {"Env entry a number", WITH("\"config\":{\"Env\":[\"A=1\",2]}"),
         "config.Env: [1]: expected string, got integer"},
        {"Cmd a string", WITH("\"config\":{\"Cmd\":\"sh\"}"),
         "config.Cmd: expected array of strings, got string"},
        {"Entrypoint entry null", WITH("\"config\":{\"Entrypoint\":[null]}"),
         "config.Entrypoint: [0]: expected string, got null"},
        {"Labels value a number", WITH("\"config\":{\"Labels\":{\"a\":1}}"),
         "config.Labels: value of \"a\": expected string, got integer"},
        {"ExposedPorts an array", WITH("\"config\":{\"ExposedPorts\":[\"80/tcp\"]}"),
         "config.ExposedPorts: expected object, got array"},
        {"User a number", WITH("\"config\":{\"User\":0}"),
         "config.User: expected string, got integer"},
        {"ArgsEscaped a string", WITH("\"config\":{\"ArgsEscaped\":\"true\"}"),
         "config.ArgsEscaped: expected boolean, got string"},
        {"history an object", WITH("\"history\":{}"), "history: expected array, got object"},
        {"history entry a string", WITH("\"history\":[\"x\"]"),
         "history[0]: expected object, got string"},
        {"history created bad",
         WITH("\"history\":[{\"empty_layer\":true},{\"created\":\"2024-13-01T00:00:00Z\",\"empty_"
              "layer\":true}]"),
         "history[1].created: \"2024-13-01T00:00:00Z\" is not an RFC 3339 time"},
        {"history empty_layer a string", WITH("\"history\":[{\"empty_layer\":\"yes\"}]"),
         "history[0].empty_layer: expected boolean, got string"},
        {"more history layers than diff_ids",
         "{" BASE "," ROOTFS("\"" D_LAYER1 "\"") ",\"history\":[{},{\"empty_layer\":true},{}]}",
         "image config: history: 2 entries add a layer, but rootfs.diff_ids lists 1"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        json_t *cfg = NULL;
        if (kn_config_parse(rows[i].input, strlen(rows[i].input), &cfg, &err) == 0) {
            json_decref(cfg);
            fail_msg("%s: accepted %s", rows[i].name, rows[i].input);
        }
        assert_int_equal(err.code, KN_EINPUT);
        if (!strstr(err.msg, rows[i].want))
            fail_msg("%s: error \"%s\" lacks \"%s\"", rows[i].name, err.msg, rows[i].want);
    }
}

static void test_config_refuses_more_than_8_mib(void **state)
{
    size_t len = (8u << 20) + 1;
    kn_autofree char *big = kn_xmalloc(len);
    memset(big, ' ', len);
    kn_autoerr kn_err err = KN_ERR_INIT;
    json_t *cfg = NULL;
    assert_int_equal(kn_config_parse(big, len, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "image config: 8388609 bytes, more than 8388608"));
}

static void test_config_new_encodes_canonically(void **state)
{
    kn_autojson json_t *cfg = kn_config_new("linux", "arm64", "v8", 1700000000);
    size_t len = 0;
    kn_autofree char *out = kn_config_encode(cfg, &len);
    assert_string_equal(out,
                        "{\"architecture\":\"arm64\",\"config\":{},\"created\":"
                        "\"2023-11-14T22:13:20Z\",\"history\":[],\"os\":\"linux\","
                        "\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"},\"variant\":\"v8\"}");
    assert_int_equal(len, strlen(out));
    /* What kiln writes, kiln reads back. */
    kn_autojson json_t *back = parse_ok(out);
    assert_true(json_equal(cfg, back));

    kn_autojson json_t *plain = kn_config_new("linux", "amd64", NULL, 0);
    assert_null(json_object_get(plain, "variant"));
}

static void test_config_encode_is_stable_across_key_order(void **state)
{
    kn_autojson json_t *a =
        parse_ok("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":"
                 "{\"diff_ids\":[],\"type\":\"layers\"},\"z\":{\"b\":1,\"a\":2}}");
    kn_autojson json_t *b =
        parse_ok("{\"z\":{\"a\":2,\"b\":1},\"rootfs\":{\"type\":\"layers\","
                 "\"diff_ids\":[]},\"architecture\":\"amd64\",\"os\":\"linux\"}");
    kn_autofree char *ea = kn_config_encode(a, NULL);
    kn_autofree char *eb = kn_config_encode(b, NULL);
    assert_string_equal(ea, eb);
    assert_string_equal(ea, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
                            "{\"diff_ids\":[],\"type\":\"layers\"},\"z\":{\"a\":2,\"b\":1}}");
}

static void test_config_add_layer_appends_diff_id_and_history(void **state)
{
    kn_autojson json_t *cfg = kn_config_new("linux", "amd64", NULL, 0);
    kn_digest d1, d2;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_digest_parse(&d1, D_LAYER1, &err), 0);
    assert_int_equal(kn_digest_parse(&d2, D_LAYER2, &err), 0);
    kn_config_add_layer(cfg, &d1, 1700000000, "COPY a b # buildkit", "buildkit.dockerfile.v0");
    kn_config_add_empty_history(cfg, 1700000001, "ENV A=1", "buildkit.dockerfile.v0");
    kn_config_add_layer(cfg, &d2, 1700000002, "", NULL);
    kn_autofree char *out = kn_config_encode(json_object_get(cfg, "history"), NULL);
    assert_string_equal(out,
                        "[{\"comment\":\"buildkit.dockerfile.v0\",\"created\":"
                        "\"2023-11-14T22:13:20Z\",\"created_by\":\"COPY a b # buildkit\"},"
                        "{\"comment\":\"buildkit.dockerfile.v0\",\"created\":"
                        "\"2023-11-14T22:13:21Z\",\"created_by\":\"ENV A=1\",\"empty_layer\":true},"
                        "{\"created\":\"2023-11-14T22:13:22Z\"}]");
    kn_autofree kn_digest *ids = NULL;
    size_t n = 0;
    assert_int_equal(kn_config_diff_ids(cfg, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[1].str, D_LAYER2);
    /* The result still validates (two layers, two non-empty history entries). */
    kn_autofree char *all = kn_config_encode(cfg, NULL);
    kn_autojson json_t *back = parse_ok(all);
    assert_true(json_equal(cfg, back));
}

static void test_config_add_layer_repairs_null_rootfs_and_history(void **state)
{
    kn_autojson json_t *cfg = parse_ok("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
                                       "{\"type\":\"layers\",\"diff_ids\":null},\"history\":null}");
    kn_digest d;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_digest_parse(&d, D_LAYER1, &err), 0);
    kn_config_add_layer(cfg, &d, 0, "RUN x", NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")),
                     1);
    assert_int_equal(json_array_size(json_object_get(cfg, "history")), 1);
}

static void test_config_set_env_replaces_same_key_in_place(void **state)
{
    kn_autojson json_t *cfg = parse_ok(buildkit_config);
    kn_config_set_env(cfg, "PATH", "/bin");
    kn_config_set_env(cfg, "B", "two=2");
    kn_config_set_env(cfg, "A", "");
    assert_string_equal(env_at(cfg, 0), "PATH=/bin"); /* SEMANTICS C-5: in place */
    assert_string_equal(env_at(cfg, 1), "A=");
    assert_string_equal(env_at(cfg, 2), "B=two=2");
    assert_null(env_at(cfg, 3));
    assert_string_equal(kn_config_get_env(cfg, "B"), "two=2");
    assert_string_equal(kn_config_get_env(cfg, "A"), "");
    assert_null(kn_config_get_env(cfg, "PAT")); /* a prefix is not a key */
    assert_null(kn_config_get_env(cfg, "a"));   /* keys are case-sensitive */
}

static void test_config_setters_create_missing_config(void **state)
{
    kn_autojson json_t *cfg = parse_ok("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
                                       "{\"type\":\"layers\"},\"config\":null}");
    assert_null(kn_config_get_env(cfg, "A"));
    kn_config_set_env(cfg, "A", "1");
    kn_config_set_label(cfg, "k", "v");
    kn_config_add_exposed_port(cfg, "80/tcp");
    kn_config_add_volume(cfg, "/data");
    kn_config_set_string(cfg, "User", "nobody");
    kn_autofree char *out = kn_config_encode(json_object_get(cfg, "config"), NULL);
    assert_string_equal(out, "{\"Env\":[\"A=1\"],\"ExposedPorts\":{\"80/tcp\":{}},\"Labels\":"
                             "{\"k\":\"v\"},\"User\":\"nobody\",\"Volumes\":{\"/data\":{}}}");
}

static void test_config_labels_ports_and_volumes_are_sets(void **state)
{
    kn_autojson json_t *cfg = kn_config_new("linux", "amd64", NULL, 0);
    kn_config_set_label(cfg, "a", "1");
    kn_config_set_label(cfg, "a", "2");
    kn_config_add_exposed_port(cfg, "80/tcp");
    kn_config_add_exposed_port(cfg, "80/tcp");
    kn_config_add_exposed_port(cfg, "53/udp");
    kn_config_add_volume(cfg, "/v");
    kn_config_add_volume(cfg, "/v");
    kn_autofree char *out = kn_config_encode(json_object_get(cfg, "config"), NULL);
    assert_string_equal(out, "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{}},\"Labels\":"
                             "{\"a\":\"2\"},\"Volumes\":{\"/v\":{}}}");
}

static void test_config_cmd_and_entrypoint_take_arrays_and_null_clears(void **state)
{
    kn_autojson json_t *cfg = parse_ok(buildkit_config);
    const char *const argv[] = {"/bin/sh", "-c", "echo \"hi\""};
    kn_config_set_entrypoint(cfg, argv, 3);
    kn_config_set_cmd(cfg, NULL, 0);
    json_t *c = json_object_get(cfg, "config");
    assert_null(json_object_get(c, "Cmd"));
    kn_autofree char *ep = kn_config_encode(json_object_get(c, "Entrypoint"), NULL);
    assert_string_equal(ep, "[\"/bin/sh\",\"-c\",\"echo \\\"hi\\\"\"]");
    kn_config_set_cmd(cfg, argv, 0); /* CMD [] is an empty array, not null */
    assert_int_equal(json_array_size(json_object_get(c, "Cmd")), 0);
    assert_true(json_is_array(json_object_get(c, "Cmd")));
    kn_config_set_string(cfg, "WorkingDir", "/app");
    kn_config_set_string(cfg, "StopSignal", "SIGTERM");
    assert_string_equal(json_string_value(json_object_get(c, "WorkingDir")), "/app");
    kn_config_set_string(cfg, "StopSignal", NULL);
    assert_null(json_object_get(c, "StopSignal"));
}

static void test_config_edits_replace_bytes_that_are_not_utf8(void **state)
{
    kn_autojson json_t *cfg = kn_config_new("linux", "amd64", NULL, 0);
    kn_config_set_env(cfg, "N", "caf\xe9");
    kn_config_set_label(cfg, "k\xff", "v");
    assert_string_equal(kn_config_get_env(cfg, "N"), "caf\xef\xbf\xbd");
    kn_autofree char *out = kn_config_encode(cfg, NULL);
    assert_non_null(strstr(out, "\"k\xef\xbf\xbd\":\"v\""));
}

static void test_config_created_get_and_set(void **state)
{
    kn_autojson json_t *cfg = kn_config_new("linux", "amd64", NULL, 5);
    assert_int_equal(kn_config_created(cfg), 5);
    kn_config_set_created(cfg, 1715674354);
    assert_string_equal(json_string_value(json_object_get(cfg, "created")), "2024-05-14T08:12:34Z");
    assert_int_equal(kn_config_created(cfg), 1715674354);
    json_object_set_new(cfg, "created", json_string("garbage"));
    assert_int_equal(kn_config_created(cfg), 0);
}

static void test_time_format_writes_go_rfc3339nano(void **state)
{
    static const struct {
        int64_t sec;
        long nsec;
        const char *want;
    } rows[] = {
        {0, 0, "1970-01-01T00:00:00Z"},
        {1715674354, 0, "2024-05-14T08:12:34Z"},
        {1715674354, 500000000, "2024-05-14T08:12:34.5Z"},
        {1715674354, 123456789, "2024-05-14T08:12:34.123456789Z"},
        {1715674354, 120, "2024-05-14T08:12:34.00000012Z"},
        {-1, 0, "1969-12-31T23:59:59Z"},
        {951782400, 0, "2000-02-29T00:00:00Z"},
        {0, 1500000000, "1970-01-01T00:00:01.5Z"}, /* nsec carries into seconds */
        {0, -1, "1969-12-31T23:59:59.999999999Z"},
        {-62135596800, 0, "0001-01-01T00:00:00Z"},
        {INT64_MIN, 0, "0000-01-01T00:00:00Z"}, /* clamped to what Go can parse */
        {INT64_MAX, 0, "9999-12-31T23:59:59.999999999Z"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autofree char *s = kn_time_format(rows[i].sec, rows[i].nsec);
        if (strcmp(s, rows[i].want) != 0)
            fail_msg("row %zu: %s, want %s", i, s, rows[i].want);
    }
}

static void test_time_parse_accepts_offsets_and_fractions(void **state)
{
    static const struct {
        const char *text;
        int64_t sec;
        long nsec;
    } rows[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2024-05-14T10:12:34+02:00", 1715674354, 0},
        {"2024-05-14T03:42:34-04:30", 1715674354, 0},
        {"2024-05-14T08:12:34.5Z", 1715674354, 500000000},
        {"2024-05-14T08:12:34.123456789123Z", 1715674354, 123456789}, /* Go drops digits 10+ */
        {"2024-05-14T08:12:34.000Z", 1715674354, 0},
        {"0001-01-01T00:00:00Z", -62135596800, 0},
        {"2000-02-29T23:59:59Z", 951868799, 0},
        {"1970-01-01T00:00:00+00:00", 0, 0},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        int64_t sec = -7;
        long nsec = -7;
        if (kn_time_parse(rows[i].text, &sec, &nsec) < 0)
            fail_msg("row %zu: %s refused", i, rows[i].text);
        if (sec != rows[i].sec || nsec != rows[i].nsec)
            fail_msg("row %zu: %s gives %lld.%09ld", i, rows[i].text, (long long)sec, nsec);
    }
}

static void test_time_parse_rejects_malformed_text(void **state)
{
    static const char *const rows[] = {
        "",
        "2024-05-14",
        "2024-05-14 08:12:34Z",  /* space for T */
        "2024-05-14T08:12:34",   /* no zone */
        "2024-05-14T08:12:34z",  /* lowercase zone */
        "2024-05-14T08:12:34.Z", /* empty fraction */
        "2024-05-14T08:12:34Z ", /* trailing data */
        "2024-02-30T00:00:00Z",  /* no such day */
        "2023-02-29T00:00:00Z",  /* not a leap year */
        "2024-00-01T00:00:00Z",
        "2024-05-14T24:00:00Z",
        "2024-05-14T08:60:00Z",
        "2024-05-14T08:12:60Z", /* Go refuses leap seconds */
        "2024-05-14T08:12:34+0200",
        "2024-05-14T08:12:34+24:00",
        "2024-05-14T08:12:34+02",
        "24-05-14T08:12:34Z",
        "+2024-05-14T08:12:34Z",
        "2024-5-14T08:12:34Z",
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        int64_t sec;
        long nsec;
        if (kn_time_parse(rows[i], &sec, &nsec) == 0)
            fail_msg("row %zu: \"%s\" accepted", i, rows[i]);
    }
}

static void test_time_format_and_parse_round_trip(void **state)
{
    for (int64_t sec = -62167219200; sec < 253402300799; sec += 987654321) {
        long nsec = (long)(sec % 1000000000);
        if (nsec < 0)
            nsec = -nsec;
        kn_autofree char *s = kn_time_format(sec, nsec);
        int64_t back;
        long back_nsec;
        assert_int_equal(kn_time_parse(s, &back, &back_nsec), 0);
        assert_int_equal(back, sec);
        assert_int_equal(back_nsec, nsec);
    }
}

static void test_image_inspect_has_docker_shape(void **state)
{
    kn_autojson json_t *cfg = parse_ok(buildkit_config);
    json_object_set_new(cfg, "author", json_string("me"));
    json_object_set_new(cfg, "variant", json_string("v2"));
    kn_digest config_digest, manifest_digest;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_digest_parse(&config_digest, D_CONFIG, &err), 0);
    assert_int_equal(kn_digest_parse(&manifest_digest, D_MANIFEST, &err), 0);
    const char *const tags[] = {"bb:latest"};
    const char *const digests[] = {"bb@" D_MANIFEST};
    kn_inspect_info info = {
        .config_digest = &config_digest,
        .manifest_digest = &manifest_digest,
        .repo_tags = tags,
        .n_repo_tags = 1,
        .repo_digests = digests,
        .n_repo_digests = 1,
        .size = 4096,
        .last_tag_time = 1715674354,
    };
    kn_autojson json_t *out = kn_image_inspect(cfg, &info);
    kn_autofree char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(
        text,
        "{\"Id\":\"" D_CONFIG "\",\"RepoTags\":[\"bb:latest\"],\"RepoDigests\":[\"bb@" D_MANIFEST
        "\"],\"Parent\":\"\",\"Comment\":\"buildkit.dockerfile.v0\",\"Created\":"
        "\"2024-05-14T10:12:34.123456789+02:00\",\"DockerVersion\":\"\",\"Author\":\"me\","
        "\"Config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
        "bin\","
        "\"A=1\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\",\"Labels\":{\"l\":\"v\"},\"ExposedPorts\":"
        "{\"80/tcp\":{}},\"ArgsEscaped\":true,\"OnBuild\":null},\"Architecture\":\"amd64\","
        "\"Variant\":\"v2\",\"Os\":\"linux\",\"Size\":4096,\"RootFS\":{\"Type\":\"layers\","
        "\"Layers\":[\"" D_LAYER1 "\",\"" D_LAYER2 "\"]},\"Metadata\":{\"LastTagTime\":"
        "\"2024-05-14T08:12:34Z\"},\"Manifest\":\"" D_MANIFEST "\"}");
}

static void test_image_inspect_of_a_bare_image_fills_docker_defaults(void **state)
{
    kn_autojson json_t *cfg = parse_ok("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
                                       "{\"type\":\"layers\"},\"history\":[{\"comment\":\"x\","
                                       "\"empty_layer\":true},{\"empty_layer\":true}]}");
    kn_digest id;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_digest_parse(&id, D_CONFIG, &err), 0);
    kn_inspect_info info = {.config_digest = &id, .manifest_digest = &id};
    kn_autojson json_t *out = kn_image_inspect(cfg, &info);
    kn_autofree char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"Id\":\"" D_CONFIG "\",\"RepoTags\":[],\"RepoDigests\":[],"
                              "\"Parent\":\"\",\"Comment\":\"\",\"DockerVersion\":\"\","
                              "\"Author\":\"\",\"Config\":{},\"Architecture\":\"amd64\",\"Os\":"
                              "\"linux\",\"Size\":0,\"RootFS\":{\"Type\":\"layers\"},\"Metadata\":"
                              "{\"LastTagTime\":\"0001-01-01T00:00:00Z\"},\"Manifest\":\"" D_CONFIG
                              "\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_parses_buildkit_config),
        cmocka_unit_test(test_config_accepts_no_layers_written_as_null_or_missing),
        cmocka_unit_test(test_config_rejects_bad_configs),
        cmocka_unit_test(test_config_refuses_more_than_8_mib),
        cmocka_unit_test(test_config_new_encodes_canonically),
        cmocka_unit_test(test_config_encode_is_stable_across_key_order),
        cmocka_unit_test(test_config_add_layer_appends_diff_id_and_history),
        cmocka_unit_test(test_config_add_layer_repairs_null_rootfs_and_history),
        cmocka_unit_test(test_config_set_env_replaces_same_key_in_place),
        cmocka_unit_test(test_config_setters_create_missing_config),
        cmocka_unit_test(test_config_labels_ports_and_volumes_are_sets),
        cmocka_unit_test(test_config_cmd_and_entrypoint_take_arrays_and_null_clears),
        cmocka_unit_test(test_config_edits_replace_bytes_that_are_not_utf8),
        cmocka_unit_test(test_config_created_get_and_set),
        cmocka_unit_test(test_time_format_writes_go_rfc3339nano),
        cmocka_unit_test(test_time_parse_accepts_offsets_and_fractions),
        cmocka_unit_test(test_time_parse_rejects_malformed_text),
        cmocka_unit_test(test_time_format_and_parse_round_trip),
        cmocka_unit_test(test_image_inspect_has_docker_shape),
        cmocka_unit_test(test_image_inspect_of_a_bare_image_fills_docker_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
