/* Moving images in and out of the store: docker-archive and OCI archive
 * (`kiln load`, `kiln save`) and root filesystems (`kiln import`). */
#ifndef KN_IMAGE_ARCHIVE_H
#define KN_IMAGE_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/digest.h"
#include "base/err.h"
#include "store/store.h"

/* Which image of a multi-platform index to take. Borrowed strings. */
typedef struct kn_platform_want {
    const char *os, *arch, *variant; /* variant may be NULL */
} kn_platform_want;

/* One image that a load recorded. */
typedef struct kn_loaded {
    char **names; /* normalised references; owned */
    size_t n_names;
    kn_digest id; /* the config digest */
} kn_loaded;

/* Reads a docker-archive (as `docker save` writes it, legacy or OCI-style)
 * or an OCI archive, compressed or not, from `fd` (borrowed; a pipe is fine:
 * it is read once). Every blob is verified against its digest and every
 * layer against its diff ID before anything is recorded; on error the
 * store's records are unchanged. Caller frees *out with kn_loaded_free. */
int kn_archive_load(kn_store *s, int fd, const kn_platform_want *platform, kn_loaded **out,
                    size_t *n, kn_err *err);
void kn_loaded_free(kn_loaded *images, size_t n);

/* Splits "os/arch[/variant]" in place. */
void kn_platform_want_parse(char *platform, kn_platform_want *out);

/* Loads one image of the OCI image layout in the directory dirfd
 * (borrowed; every path resolved inside it): the one `digest` names when
 * given, else the one index.json lists with the ref.name annotation `tag`;
 * an index is resolved for `platform`. Only the blobs that image needs are
 * read, each verified as kn_archive_load does. The image is recorded
 * without a name; *id gets its ID. */
int kn_layout_load(kn_store *s, int dirfd, const char *tag, const char *digest,
                   const kn_platform_want *platform, kn_digest *id, kn_err *err);

typedef enum kn_archive_format {
    KN_ARCHIVE_DOCKER, /* manifest.json plus an OCI layout: docker load and skopeo read it */
    KN_ARCHIVE_OCI,    /* an OCI image layout */
} kn_archive_format;

/* Writes the images `refs` (names or IDs, resolved in the store) as one tar
 * to `out_fd`. The bytes depend only on the images and the refs: entries are
 * sorted, owned by 0:0, dated 0. Each blob is checked against its digest as
 * it is copied. */
int kn_archive_save(kn_store *s, const char *const *refs, size_t n_refs, kn_archive_format format,
                    int out_fd, kn_err *err);

/* kn_archive_save into the file `path`, written beside it and renamed over
 * it when complete, so a failed or killed save leaves no truncated file;
 * "-" writes standard output. */
int kn_archive_save_file(kn_store *s, const char *const *refs, size_t n_refs,
                         kn_archive_format format, const char *path, kn_err *err);

/* Imports a root filesystem as a one-layer image: `fd` is a directory
 * (is_dir) or a tar stream, plain, gzip or zstd. `cfg` (borrowed, changed:
 * the layer and its history are appended) is the config to give it; `comment`
 * is the layer's history comment. The layer is stored gzip-compressed.
 * Records the image under `names` (normalised). *id gets the image ID. */
int kn_image_import(kn_store *s, int fd, bool is_dir, const char *comment, json_t *cfg,
                    const char *const *names, size_t n_names, kn_digest *id, kn_err *err);

#endif
