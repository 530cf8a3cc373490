/* libFuzzer harness for the image documents: any bytes go to the manifest,
 * index, docker-archive manifest.json and config parsers. Each parses or
 * fails with a KN_EINPUT message; whatever parses encodes, parses back, and
 * encodes to the same bytes. Configs are also edited the way a build edits
 * them, and must still validate. */
#include "base/json.h"
#include "base/mem.h"
#include "image/config.h"
#include "image/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_failure(const kn_err *err)
{
    if (!err->msg || err->code != KN_EINPUT)
        abort();
}

static void fuzz_manifest(const char *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_manifest m, back;
    if (kn_manifest_parse(data, size, &m, &err) < 0) {
        check_failure(&err);
        kn_manifest_free(&m);
        return;
    }
    for (size_t i = 0; i < m.n_layers; i++) {
        kn_comp comp;
        if (kn_layer_media_type_comp(m.layers[i].media_type, &comp, &err) < 0)
            abort(); /* the parser let through a layer kiln cannot store */
    }
    size_t len = 0;
    kn_autofree char *first = kn_manifest_encode(&m, &len);
    if (len != strlen(first) || kn_manifest_parse(first, len, &back, &err) < 0)
        abort();
    kn_autofree char *second = kn_manifest_encode(&back, NULL);
    if (strcmp(first, second) != 0 || back.n_layers != m.n_layers)
        abort();
    kn_manifest_free(&m);
    kn_manifest_free(&back);
}

static void fuzz_index(const char *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_index idx, back;
    if (kn_index_parse(data, size, &idx, &err) < 0) {
        check_failure(&err);
        return;
    }
    size_t pos = SIZE_MAX;
    if (kn_index_pick(&idx, "linux", "amd64", NULL, &pos, &err) == 0) {
        if (pos >= idx.n_manifests)
            abort();
    } else {
        check_failure(&err);
        kn_err_clear(&err);
    }
    for (size_t i = 0; i < idx.n_manifests; i++) {
        kn_descriptor copy;
        kn_descriptor_copy(&copy, &idx.manifests[i]);
        kn_descriptor_free(&copy);
    }
    size_t len = 0;
    kn_autofree char *first = kn_index_encode(&idx, &len);
    if (len != strlen(first) || kn_index_parse(first, len, &back, &err) < 0)
        abort();
    kn_autofree char *second = kn_index_encode(&back, NULL);
    if (strcmp(first, second) != 0)
        abort();
    kn_index_free(&idx);
    kn_index_free(&back);
}

static void fuzz_archive_manifest(const char *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_archive_image *images = NULL, *back = NULL;
    size_t n = 0, n_back = 0;
    if (kn_archive_manifest_parse(data, size, &images, &n, &err) < 0) {
        check_failure(&err);
        if (images || n)
            abort();
        return;
    }
    size_t len = 0;
    kn_autofree char *first = kn_archive_manifest_encode(images, n, &len);
    if (len != strlen(first) || kn_archive_manifest_parse(first, len, &back, &n_back, &err) < 0)
        abort();
    kn_autofree char *second = kn_archive_manifest_encode(back, n_back, NULL);
    if (strcmp(first, second) != 0 || n != n_back)
        abort();
    kn_archive_images_free(images, n);
    kn_archive_images_free(back, n_back);
}

/* Encode, parse back (must validate), encode again to the same bytes. */
static void check_config_round_trip(const json_t *cfg)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    size_t len = 0;
    kn_autofree char *first = kn_config_encode(cfg, &len);
    kn_autojson json_t *back = NULL;
    if (len != strlen(first) || kn_config_parse(first, len, &back, &err) < 0)
        abort();
    kn_autofree char *second = kn_config_encode(back, NULL);
    if (strcmp(first, second) != 0)
        abort();
}

static void fuzz_config(const char *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autojson json_t *cfg = NULL;
    if (kn_config_parse(data, size, &cfg, &err) < 0) {
        check_failure(&err);
        return;
    }
    kn_autofree kn_digest *ids = NULL;
    size_t n = 0;
    if (kn_config_diff_ids(cfg, &ids, &n, &err) < 0)
        abort(); /* validated configs have valid diff IDs */
    (void)kn_config_created(cfg);
    kn_inspect_info info = {.config_digest = n ? &ids[0] : NULL, .size = 1};
    kn_autojson json_t *inspect = kn_image_inspect(cfg, &info);
    if (!json_is_object(inspect))
        abort();
    check_config_round_trip(cfg);
    /* The edits add a layer and two history entries: stay under the caps. */
    if (n >= 9999 || json_array_size(json_object_get(cfg, "history")) >= 9998)
        return;

    kn_digest diff_id;
    kn_sha256_digest(data, size, &diff_id);
    const char *const argv[] = {"/bin/sh", "-c", "true"};
    kn_config_set_env(cfg, "PATH", "/bin");
    if (!kn_config_get_env(cfg, "PATH") || strcmp(kn_config_get_env(cfg, "PATH"), "/bin") != 0)
        abort();
    kn_config_set_label(cfg, "fuzz", "1");
    kn_config_add_exposed_port(cfg, "80/tcp");
    kn_config_add_volume(cfg, "/data");
    kn_config_set_cmd(cfg, argv, 3);
    kn_config_set_entrypoint(cfg, NULL, 0);
    kn_config_set_string(cfg, "User", "nobody");
    kn_config_add_layer(cfg, &diff_id, 1700000000, "RUN true # buildkit", "buildkit.dockerfile.v0");
    kn_config_add_empty_history(cfg, 1700000001, "ENV PATH=/bin", NULL);
    kn_config_set_created(cfg, 1700000002);
    if (kn_config_created(cfg) != 1700000002)
        abort();
    check_config_round_trip(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    fuzz_manifest(text, size);
    fuzz_index(text, size);
    fuzz_archive_manifest(text, size);
    fuzz_config(text, size);
    return 0;
}
