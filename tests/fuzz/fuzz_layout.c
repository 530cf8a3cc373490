/* libFuzzer harness for oci-layout:// build contexts (kn_layout_load): an
 * OCI image layout directory made from the input must load one image or
 * fail cleanly, and leave a store that passes its own check.
 *
 * Input: parts separated by "\n--\n". The first is index.json; every
 * other part is a blob, stored under its own digest, so a seed can hold a
 * whole valid layout. The image asked for is the one tagged "v1", or, when
 * the input starts with a space (which JSON allows), the second part's
 * digest. */
#include "base/digest.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/path.h"
#include "image/archive.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEPARATOR "\n--\n"

static char root[256];

static void remove_root(void)
{
    kn_err err = KN_ERR_INIT;
    kn_remove_tree(AT_FDCWD, root, &err);
    kn_err_clear(&err);
}

static void put(int dirfd, const char *name, const uint8_t *data, size_t len)
{
    kn_err err = KN_ERR_INIT;
    if (kn_write_file_atomic(dirfd, name, data, len, 0644, &err) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof(root), "%s/kn-fuzz-layout-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(root))
            abort();
        atexit(remove_root);
    }
    kn_err err = KN_ERR_INIT;
    char store_path[300], layout_path[300];
    snprintf(store_path, sizeof(store_path), "%s/store", root);
    snprintf(layout_path, sizeof(layout_path), "%s/layout", root);
    kn_remove_tree(AT_FDCWD, layout_path, &err);
    kn_err_clear(&err);
    if (mkdir(layout_path, 0755) < 0)
        abort();
    int dirfd = open(layout_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || mkdirat(dirfd, "blobs", 0755) < 0)
        abort();
    int blobfd = -1;
    if (mkdirat(dirfd, "blobs/sha256", 0755) < 0 ||
        (blobfd = openat(dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        abort();
    bool by_digest = size > 0 && data[0] == ' ';
    kn_digest second = {0};
    const uint8_t *p = data, *end = data + size;
    for (size_t part = 0; p <= end; part++) {
        const uint8_t *sep = memmem(p, (size_t)(end - p), SEPARATOR, strlen(SEPARATOR));
        size_t len = (size_t)((sep ? sep : end) - p);
        if (part == 0) {
            put(dirfd, "index.json", p, len);
        } else {
            kn_digest d;
            kn_sha256_digest(p, len, &d);
            put(blobfd, d.str + strlen(KN_DIGEST_PREFIX), p, len);
            if (part == 1)
                second = d;
        }
        if (!sep)
            break;
        p = sep + strlen(SEPARATOR);
    }
    kn_store *s = kn_store_open(store_path, &err);
    if (!s)
        abort();
    kn_platform_want want = {"linux", "amd64", NULL};
    kn_digest id;
    const char *digest = by_digest && second.str[0] ? second.str : NULL;
    if (kn_layout_load(s, dirfd, "v1", digest, &want, &id, &err) < 0 && !err.msg)
        abort(); /* every failure says why */
    kn_err_clear(&err);
    kn_store_close(s);
    close(blobfd);
    close(dirfd);
    s = kn_store_open(store_path, &err);
    size_t n_problems = 0;
    if (!s || kn_store_check(s, NULL, NULL, &n_problems, &err) < 0 || n_problems)
        abort();
    kn_store_close(s);
    return 0;
}
