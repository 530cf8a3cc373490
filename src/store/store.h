/* kiln's embedded image store: an OCI image layout plus SQLite.
 *
 *   STORE/oci-layout, index.json   OCI image layout; index.json names every
 *                                  tagged image (ref.name annotation)
 *   STORE/blobs/sha256/<hex>       content-addressed blobs
 *   STORE/layers/<hex>/            unpacked layer trees (hex of the diff ID)
 *   STORE/meta.db                  SQLite (WAL): what is trusted
 *   STORE/locks/                   flock files (gc, one per layer unpacking)
 *   STORE/tmp/<work>/              one work directory per process
 *
 * Nothing is trusted until SQLite records it, and nothing is recorded until
 * it is complete on disk: files are written in the work directory, renamed
 * into place, synced, then recorded in one transaction. A killed process
 * leaves at most unrecorded files, which `kn_store_gc` removes, and its work
 * directory, which the next open sweeps (work directories are flocked while
 * their process lives).
 *
 * Concurrency: SQLite serialises writers (busy timeout, BEGIN IMMEDIATE);
 * processes that add content hold the gc lock shared, collection takes it
 * exclusive, so nothing is deleted while another process is about to
 * reference it. */
#ifndef KN_STORE_STORE_H
#define KN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/digest.h"
#include "base/err.h"
#include "store/compress.h"

struct sqlite3;

typedef struct kn_store {
    char *path; /* owned */
    int rootfd, blobsfd, layersfd, locksfd, tmpfd;
    int workfd;      /* this process's directory under tmp/ (flocked) */
    char *work_name; /* its name in tmp/; owned */
    unsigned long n_work;
    int gc_lockfd;
    int gc_lock; /* 0, LOCK_SH or LOCK_EX */
    struct sqlite3 *db;
} kn_store;

/* --store DIR, else $KILN_STORE, else /var/lib/kiln as root, else
 * $XDG_DATA_HOME/kiln (~/.local/share/kiln). Returns a new string. */
char *kn_store_default_path(void);

/* Opens the store at `path`, creating it when missing. Sweeps the work
 * directories of dead processes and repairs index.json from the database.
 * A directory that exists, is not empty and is not a store is refused. */
kn_store *kn_store_open(const char *path, kn_err *err);
/* Removes this process's work directory and closes everything. NULL is ok. */
void kn_store_close(kn_store *s);
#define kn_autostore __attribute__((cleanup(kn_store_closep)))
void kn_store_closep(kn_store **s);

/* With `is_deferred`, commits stop waiting for the disk (SQLite's
 * synchronous=NORMAL in WAL mode) until it is turned off again; the next
 * commit then makes them all durable at once. Files are still synced before
 * their records, so a power loss can only drop recent records, never leave
 * one for missing data. A build defers the records of its steps' layers and
 * makes them durable with its images. */
int kn_store_defer_sync(kn_store *s, bool is_deferred, kn_err *err);

/* A new unique name for a file or directory in s->workfd. Caller frees. */
char *kn_store_work_name(kn_store *s, const char *prefix);

/* Takes the gc lock shared (for the rest of the process): call before
 * writing content that will be recorded. Idempotent. */
int kn_store_hold(kn_store *s, kn_err *err);

/* ---- blobs ---- */

/* Streams bytes into a new file in the work directory, hashing them. */
typedef struct kn_blob_writer {
    kn_store *store;
    int fd;
    char *name; /* in the work directory; owned */
    kn_sha256 hash;
    uint64_t size;
} kn_blob_writer;

int kn_blob_writer_open(kn_store *s, kn_blob_writer *w, kn_err *err);
int kn_blob_writer_write(kn_blob_writer *w, const void *data, size_t len, kn_err *err);
/* Gives the digest and size; the file stays in the work directory under
 * w->name until kn_store_blob_place moves it. */
void kn_blob_writer_finish(kn_blob_writer *w, kn_digest *digest, uint64_t *size);
/* Closes and deletes whatever is still in the work directory. */
void kn_blob_writer_free(kn_blob_writer *w);

/* Moves the verified file `work_name` (in the work directory) to
 * blobs/sha256/<hex of digest>. The caller has checked the digest. */
int kn_store_blob_place(kn_store *s, const char *work_name, const kn_digest *digest, kn_err *err);
/* Writes `data` as a blob and places it; gives its digest. */
int kn_store_blob_put(kn_store *s, const void *data, size_t len, kn_digest *digest, kn_err *err);
/* Opens a blob for reading (O_RDONLY); -1 with ENOENT when absent. */
int kn_store_blob_open(kn_store *s, const kn_digest *digest, kn_err *err);
/* Reads a whole blob of at most max_size bytes, checking its digest. */
int kn_store_blob_read(kn_store *s, const kn_digest *digest, size_t max_size, char **data,
                       size_t *len, kn_err *err);

/* ---- layers ---- */

/* The layers one image needs, locked for the duration of an import: each
 * diff ID's lock file is flocked (in sorted order, so two processes cannot
 * deadlock), and the layers not yet recorded are extracted into the work
 * directory and verified. kn_store_image_add then moves them into layers/
 * and records them with the image, in one transaction. */
typedef struct kn_layer_set kn_layer_set;

/* Locks the layers `diff_ids` (duplicates allowed) for this process. */
kn_layer_set *kn_layer_set_lock(kn_store *s, const kn_digest *diff_ids, size_t n, kn_err *err);
/* Whether `diff_id` (one of the set) still has to be extracted. */
bool kn_layer_set_needs(const kn_layer_set *ls, const kn_digest *diff_id);
/* Decompresses `blob_fd` (borrowed, read from its current offset), checks
 * the plain bytes hash to `diff_id`, and extracts them into the work
 * directory. Does nothing when the layer is not needed. */
int kn_layer_set_extract(kn_layer_set *ls, const kn_digest *diff_id, int blob_fd, kn_comp comp,
                         kn_err *err);
/* Releases the locks and removes extracted trees that were not recorded. */
void kn_layer_set_free(kn_layer_set *ls);

/* Records a layer tree prepared in the work directory: `work_path` (relative
 * to s->workfd, e.g. "snap-3/upper") holds the tree in overlay lower form
 * and hashes, as a tar, to `diff_id`. Under the layer's lock it is moved to
 * layers/<hex> and recorded, unless that layer is recorded already (then
 * the tree is left for the caller to remove). `size` is its bytes. The
 * caller holds the store (kn_store_hold) until an image references it. */
int kn_store_layer_adopt(kn_store *s, const kn_digest *diff_id, const char *work_path,
                         uint64_t size, kn_err *err);

/* Whether the layer is recorded (so its tree is complete). */
int kn_store_layer_has(kn_store *s, const kn_digest *diff_id, bool *has, kn_err *err);
/* Whether an image records the blob `blob` as the layer `diff_id` (the
 * pair was verified when recorded). */
int kn_store_layer_blob_known(kn_store *s, const kn_digest *blob, const kn_digest *diff_id,
                              bool *is_known, kn_err *err);
/* Opens layers/<hex> as a directory. */
int kn_store_layer_open(kn_store *s, const kn_digest *diff_id, kn_err *err);

/* ---- images ---- */

typedef struct kn_store_layer {
    kn_digest blob;
    uint64_t blob_size;
    const char *media_type; /* borrowed */
    kn_digest diff_id;
} kn_store_layer;

/* An image as recorded: the manifest, the config and its layers. */
typedef struct kn_store_image {
    kn_digest manifest;
    uint64_t manifest_size;
    const char *manifest_media_type; /* borrowed */
    kn_digest config;                /* the image ID */
    uint64_t config_size;
    const char *config_media_type; /* borrowed */
    const kn_store_layer *layers;  /* borrowed */
    size_t n_layers;
    int64_t created;                 /* seconds since the epoch, from the config */
    const char *os, *arch, *variant; /* borrowed; variant may be NULL */
    const char *const *names;        /* normalised references to point at it; borrowed */
    size_t n_names;
} kn_store_image;

/* Records images whose blobs are placed, in one transaction: moves the
 * extracted trees of `layers` into place, then records them, the blobs,
 * the images and their names (normalised references,
 * "docker.io/library/bb:latest"), and rewrites index.json. Every layer of
 * the images must be in `layers` (locked) or recorded already. A name that
 * pointed at another image moves (that image stays, unnamed, until
 * collected). */
int kn_store_image_add(kn_store *s, const kn_store_image *imgs, size_t n, kn_layer_set *layers,
                       kn_err *err);

/* What a name resolves to. Strings owned by the struct. */
typedef struct kn_store_entry {
    kn_digest manifest;
    char *manifest_media_type;
    uint64_t manifest_size;
    kn_digest config;
    int64_t created;
    uint64_t size; /* bytes of the unpacked layers */
    char **names;  /* normalised; sorted */
    int64_t *tagged_at;
    size_t n_names;
    int64_t last_used;
} kn_store_entry;
void kn_store_entry_free(kn_store_entry *e);

/* Finds an image by name ("bb", "bb:1", "docker.io/library/bb:1"), by
 * NAME@sha256:<manifest digest>, or by ID (sha256:<hex>, or a unique prefix
 * of the hex of at least 4 digits). Not found: KN_EINPUT with "no such image:
 * NAME" (and a suggestion when a name is close). */
int kn_store_image_find(kn_store *s, const char *ref, kn_store_entry *out, kn_err *err);

/* Every image, newest first (an image without names is listed once). */
int kn_store_image_list(kn_store *s, kn_store_entry **out, size_t *n, kn_err *err);

/* The layers of an image in order (media types owned by the caller's
 * array: free with kn_store_layers_free). */
int kn_store_image_layers(kn_store *s, const kn_digest *manifest, kn_store_layer **out, size_t *n,
                          kn_err *err);
void kn_store_layers_free(kn_store_layer *layers, size_t n);

/* Points the normalised name `name` at the image `manifest`. */
int kn_store_tag(kn_store *s, const kn_digest *manifest, const char *name, kn_err *err);
/* Removes a name, when `manifest` is not NULL only if it still points at
 * that image (another process may have moved it). *removed_image is set
 * when that was the image's last name and the image itself was removed
 * from the records. */
int kn_store_untag(kn_store *s, const char *name, const kn_digest *manifest, bool *removed_image,
                   kn_err *err);
/* Removes an image and all its names from the records. */
int kn_store_image_remove(kn_store *s, const kn_digest *manifest, kn_err *err);

/* ---- collection and checking ---- */

typedef struct kn_gc_stats {
    uint64_t n_images, n_blobs, n_layers, n_files;
    uint64_t bytes; /* freed */
} kn_gc_stats;

/* Removes unnamed images (when `dangling`), then every blob and layer no
 * image references, and files the records do not know (left by killed
 * processes). With `wait` false it gives up quietly (*ran false) when
 * another process holds the store. `report` gets one line per removal. */
typedef void (*kn_gc_report_fn)(void *ctx, const char *what);
int kn_store_gc(kn_store *s, bool dangling, bool wait, bool *ran, kn_gc_report_fn report, void *ctx,
                kn_gc_stats *stats, kn_err *err);

/* Verifies every recorded blob's digest and size, that each image's
 * manifest, config and layers are recorded and present, each layer tree is
 * there, and index.json matches the records. Problems go to `report`;
 * *n_problems counts them. Returns -1 only when checking itself failed. */
int kn_store_check(kn_store *s, kn_gc_report_fn report, void *ctx, size_t *n_problems, kn_err *err);

#endif
