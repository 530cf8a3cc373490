/* OCI and Docker image manifests, indexes, and the manifest.json of a
 * docker-archive (`docker save`): parsing with validation, and encoding.
 *
 * Parsers take untrusted bytes: every digest is checked for form, every size
 * for range, every media type against the kinds kiln can store; errors say
 * which field is wrong ("manifest: layers[2].digest: not a sha256 digest"). */
#ifndef KN_IMAGE_MANIFEST_H
#define KN_IMAGE_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/digest.h"
#include "base/err.h"
#include "store/compress.h"

#define KN_MT_OCI_LAYOUT_VERSION "1.0.0"
#define KN_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define KN_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define KN_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define KN_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define KN_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define KN_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define KN_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define KN_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define KN_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define KN_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define KN_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Annotation keys naming an image in an index. */
#define KN_ANNOT_REF_NAME "org.opencontainers.image.ref.name"
#define KN_ANNOT_CONTAINERD_NAME "io.containerd.image.name"

typedef struct kn_platform {
    char *os;      /* owned */
    char *arch;    /* owned */
    char *variant; /* owned; NULL when absent */
} kn_platform;

typedef struct kn_descriptor {
    char *media_type; /* owned */
    kn_digest digest;
    int64_t size;          /* >= 0 */
    kn_platform *platform; /* owned; NULL when absent */
    json_t *annotations;   /* owned reference to an object of strings; NULL when absent */
} kn_descriptor;

typedef struct kn_manifest {
    char *media_type; /* KN_MT_OCI_MANIFEST or KN_MT_DOCKER_MANIFEST; owned */
    kn_descriptor config;
    kn_descriptor *layers; /* owned array */
    size_t n_layers;
    json_t *annotations; /* owned reference; NULL when absent */
} kn_manifest;

typedef struct kn_index {
    kn_descriptor *manifests; /* owned array */
    size_t n_manifests;
    json_t *annotations; /* owned reference; NULL when absent */
} kn_index;

/* An image listed in a docker-archive's manifest.json. Paths are as written
 * in the archive (relative, checked to be clean: no "..", not absolute). */
typedef struct kn_archive_image {
    char *config;     /* owned */
    char **repo_tags; /* owned array of owned strings */
    size_t n_repo_tags;
    char **layers; /* owned array of owned strings */
    size_t n_layers;
} kn_archive_image;

/* Parses an image manifest (OCI, or Docker schema 2). Layer media types must
 * be one of the tar kinds above (foreign or encrypted layers are refused). */
int kn_manifest_parse(const void *data, size_t len, kn_manifest *out, kn_err *err);
/* Encodes as compact JSON with keys in a fixed order (schemaVersion,
 * mediaType, config, layers, annotations), so the same manifest always gives
 * the same bytes and digest. Returns a new string; caller frees. */
char *kn_manifest_encode(const kn_manifest *m, size_t *len);
void kn_manifest_free(kn_manifest *m);

/* Parses an OCI index or a Docker manifest list (`index.json` of a layout). */
int kn_index_parse(const void *data, size_t len, kn_index *out, kn_err *err);
char *kn_index_encode(const kn_index *idx, size_t *len);
void kn_index_free(kn_index *idx);
/* Chooses the manifest for os/arch/variant (variant NULL matches any; an
 * entry without platform matches anything). Returns its position, or -1 with
 * `err` listing the platforms there are. Nested indexes are the caller's. */
int kn_index_pick(const kn_index *idx, const char *os, const char *arch, const char *variant,
                  size_t *pos, kn_err *err);

/* Parses a docker-archive manifest.json (an array of images). */
int kn_archive_manifest_parse(const void *data, size_t len, kn_archive_image **out, size_t *n,
                              kn_err *err);
void kn_archive_images_free(kn_archive_image *images, size_t n);
/* Encodes a manifest.json as `docker save` writes it. Caller frees. */
char *kn_archive_manifest_encode(const kn_archive_image *images, size_t n, size_t *len);

/* The compression a layer media type says (-1 with err for other types). */
int kn_layer_media_type_comp(const char *media_type, kn_comp *out, kn_err *err);
/* The OCI layer media type for a compression. */
const char *kn_layer_media_type(kn_comp comp);

void kn_descriptor_free(kn_descriptor *d);
/* Deep copy. */
void kn_descriptor_copy(kn_descriptor *dst, const kn_descriptor *src);

#endif
