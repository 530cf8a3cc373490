#include "solver/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/ref.h"
#include "image/archive.h"
#include "store/compress.h"
#include "store/extract.h"
#include "worker/copy.h"
#include "worker/snapshot.h"

void kn_export_spec_free(kn_export_spec *spec)
{
    free(spec->dest);
    free(spec->name);
    memset(spec, 0, sizeof(*spec));
}

int kn_export_parse(const char *value, kn_export_spec *out, kn_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!strchr(value, '=')) {
        /* docker build -o DIR */
        out->kind = KN_EXPORT_LOCAL;
        out->dest = kn_xstrdup(value);
        return 0;
    }
    kn_autofree char *copy = kn_xstrdup(value);
    const char *type = NULL;
    char *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            kn_export_spec_free(out);
            return kn_errf(err, KN_EUSAGE, "--output %s: %s is not KEY=VALUE", value, kv);
        }
        *eq = '\0';
        if (!strcmp(kv, "type")) {
            type = eq + 1;
        } else if (!strcmp(kv, "dest")) {
            free(out->dest);
            out->dest = kn_xstrdup(eq + 1);
        } else if (!strcmp(kv, "name")) {
            kn_ref r = KN_REF_INIT;
            if (kn_ref_parse(eq + 1, &r, err) < 0) {
                kn_export_spec_free(out);
                return kn_err_wrap(err, "--output name");
            }
            kn_ref_default_tag(&r);
            free(out->name);
            out->name = kn_ref_string(&r);
            kn_ref_free(&r);
        } else if (strcmp(kv, "push")) {
            kn_export_spec_free(out);
            return kn_errf(err, KN_EUSAGE, "--output %s: unknown key %s", value, kv);
        }
    }
    static const struct {
        const char *name;
        kn_export_kind kind;
    } kinds[] = {{"image", KN_EXPORT_IMAGE},
                 {"docker", KN_EXPORT_DOCKER},
                 {"oci", KN_EXPORT_OCI},
                 {"oci-layout", KN_EXPORT_OCI_LAYOUT},
                 {"local", KN_EXPORT_LOCAL}};
    bool is_known = false;
    for (size_t i = 0; type && i < KN_ARRAY_LEN(kinds); i++)
        if (!strcmp(type, kinds[i].name)) {
            out->kind = kinds[i].kind;
            is_known = true;
        }
    if (!is_known) {
        kn_export_spec_free(out);
        return kn_errf(err, KN_EUSAGE,
                       "--output %s: type must be image, docker, oci, oci-layout or local", value);
    }
    if (out->kind != KN_EXPORT_IMAGE && !out->dest) {
        kn_export_spec_free(out);
        return kn_errf(err, KN_EUSAGE, "--output %s: dest=... is required", value);
    }
    return 0;
}

static ssize_t read_fd(void *ctx, void *buf, size_t len, kn_err *err)
{
    ssize_t n = read(*(int *)ctx, buf, len);
    if (n < 0)
        kn_errf(err, errno, "read the layout archive");
    return n;
}

static int make_dir(const char *dest, kn_err *err)
{
    if (mkdir(dest, 0755) < 0 && errno != EEXIST)
        return kn_errf(err, errno, "create %s", dest);
    int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return kn_errf(err, errno, "open %s", dest);
    return fd;
}

/* The OCI archive, unpacked into dest by the safe extractor. */
static int export_layout(kn_store *s, const char *ref, const char *dest, kn_err *err)
{
    kn_autoclose int tmp = open("/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    if (tmp < 0)
        return kn_errf(err, errno, "create a temporary file");
    if (kn_archive_save(s, &ref, 1, KN_ARCHIVE_OCI, tmp, err) < 0)
        return -1;
    if (lseek(tmp, 0, SEEK_SET) < 0)
        return kn_errf(err, errno, "rewind");
    kn_autoclose int dir = make_dir(dest, err);
    if (dir < 0)
        return -1;
    kn_extract_opts xo = {.as_root = geteuid() == 0};
    return kn_extract_tar(dir, read_fd, &tmp, &xo, NULL, err);
}

/* The image's files: its layers mounted, copied out with owners kept. */
static int export_local(kn_store *s, const char *ref, const char *dest, kn_err *err)
{
    kn_store_entry e;
    if (kn_store_image_find(s, ref, &e, err) < 0)
        return -1;
    kn_store_layer *layers = NULL;
    size_t n = 0;
    int rc = kn_store_image_layers(s, &e.manifest, &layers, &n, err);
    kn_store_entry_free(&e);
    if (rc < 0)
        return -1;
    kn_digest *ids = kn_xcalloc(n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = layers[i].diff_id;
    kn_store_layers_free(layers, n);
    kn_snapshot *snap = kn_snapshot_mount(s, ids, n, err);
    free(ids);
    if (!snap)
        return -1;
    kn_autoclose int root = open(snap->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    kn_autoclose int dir = root < 0 ? -1 : make_dir(dest, err);
    if (root < 0)
        rc = kn_errf(err, errno, "open %s", snap->merged);
    else if (dir < 0)
        rc = -1;
    kn_copy_opts o = {.keep_owner = true};
    if (rc == 0)
        rc = kn_copy(root, "/", dir, "/", true, &o, err);
    kn_snapshot_free(snap);
    return rc;
}

int kn_export_run(kn_store *s, const char *ref, const kn_export_spec *spec, kn_err *err)
{
    int rc = 0;
    switch (spec->kind) {
    case KN_EXPORT_IMAGE:
        return 0;
    case KN_EXPORT_DOCKER:
        rc = kn_archive_save_file(s, &ref, 1, KN_ARCHIVE_DOCKER, spec->dest, err);
        break;
    case KN_EXPORT_OCI:
        rc = kn_archive_save_file(s, &ref, 1, KN_ARCHIVE_OCI, spec->dest, err);
        break;
    case KN_EXPORT_OCI_LAYOUT:
        rc = export_layout(s, ref, spec->dest, err);
        break;
    case KN_EXPORT_LOCAL:
        rc = export_local(s, ref, spec->dest, err);
        break;
    }
    return rc < 0 ? kn_err_wrap(err, "export to %s", spec->dest) : 0;
}
