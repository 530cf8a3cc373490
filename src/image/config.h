/* The image config (OCI image-spec config.json, which Docker shares): parsed
 * and validated from untrusted bytes, edited in place, encoded canonically.
 *
 * A config is kept as a jansson object so fields kiln does not model
 * survive a round trip; the functions here are its typed face. */
#ifndef KN_IMAGE_CONFIG_H
#define KN_IMAGE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/digest.h"
#include "base/err.h"

/* Parses and validates a config: an object with string `architecture` and
 * `os`, `rootfs.type` "layers" and `rootfs.diff_ids` valid sha256 digests;
 * `config` when present an object whose known fields have the right types.
 * Returns a new reference in *out. */
int kn_config_parse(const void *data, size_t len, json_t **out, kn_err *err);

/* A new config for an image with no layers yet: os, architecture (and
 * variant when not NULL), `created` from `created_sec` (RFC 3339), empty
 * rootfs and history, and `config` {} . Caller owns the reference. */
json_t *kn_config_new(const char *os, const char *arch, const char *variant, int64_t created_sec);

/* Reads rootfs.diff_ids into a new array (caller frees *out). */
int kn_config_diff_ids(const json_t *cfg, kn_digest **out, size_t *n, kn_err *err);

/* Appends a layer: rootfs.diff_ids gets `diff_id`, history gets
 * {created, created_by, comment?}. `comment` may be NULL. */
void kn_config_add_layer(json_t *cfg, const kn_digest *diff_id, int64_t created_sec,
                         const char *created_by, const char *comment);
/* Appends a history entry with "empty_layer": true (a config-only step). */
void kn_config_add_empty_history(json_t *cfg, int64_t created_sec, const char *created_by,
                                 const char *comment);
/* Sets `created`. */
void kn_config_set_created(json_t *cfg, int64_t created_sec);
/* `created` as seconds since the epoch; 0 when absent or unparseable. */
int64_t kn_config_created(const json_t *cfg);

/* Edits of `config` (the runtime part), each as Docker applies it:
 * Env replaces an existing KEY=... entry or appends; Labels, ExposedPorts
 * ("80/tcp") and Volumes are sets; Cmd/Entrypoint take arrays (NULL clears). */
void kn_config_set_env(json_t *cfg, const char *key, const char *value);
/* The value of KEY in config.Env, or NULL. Borrowed from cfg. */
const char *kn_config_get_env(const json_t *cfg, const char *key);
void kn_config_set_label(json_t *cfg, const char *key, const char *value);
void kn_config_add_exposed_port(json_t *cfg, const char *port);
void kn_config_add_volume(json_t *cfg, const char *path);
void kn_config_set_cmd(json_t *cfg, const char *const *argv, size_t argc);
void kn_config_set_entrypoint(json_t *cfg, const char *const *argv, size_t argc);
/* A string field of `config`: User, WorkingDir, StopSignal (NULL removes it). */
void kn_config_set_string(json_t *cfg, const char *field, const char *value);

/* Canonical bytes: compact JSON with sorted keys, as kiln writes every config
 * (so an image's ID is stable). Caller frees. */
char *kn_config_encode(const json_t *cfg, size_t *len);

/* Formats seconds since the epoch as Go's time.RFC3339Nano in UTC
 * ("2026-11-25T08:10:47Z"); parses the same (any offset, any fraction).
 * The parser returns -1 for malformed text. */
char *kn_time_format(int64_t sec, long nsec);
int kn_time_parse(const char *s, int64_t *sec, long *nsec);

/* What `kiln inspect` prints for one image, shaped like `docker image
 * inspect`: Id, RepoTags, RepoDigests, Parent, Comment, Created,
 * DockerVersion, Author, Config, Architecture, Variant, Os, Size, RootFS,
 * Metadata.LastTagTime, plus kiln's own "Manifest" digest. Borrows
 * everything; returns a new object. */
typedef struct kn_inspect_info {
    const kn_digest *config_digest; /* the image ID */
    const kn_digest *manifest_digest;
    const char *const *repo_tags; /* familiar names, "bb:latest" */
    size_t n_repo_tags;
    const char *const *repo_digests; /* "bb@sha256:..." */
    size_t n_repo_digests;
    int64_t size;          /* bytes of unpacked layers */
    int64_t last_tag_time; /* seconds; 0 for none */
} kn_inspect_info;
json_t *kn_image_inspect(const json_t *cfg, const kn_inspect_info *info);

#endif
