/* libFuzzer harness for `kiln load`: any bytes, read as an image archive
 * (outer tar, manifest.json or index.json, blobs, layers), must load or fail
 * cleanly. After each input the store must pass its own check: a failed
 * load records nothing, a successful one records a consistent image. */
#include "base/err.h"
#include "base/fs.h"
#include "image/archive.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char store_path[256];

static void remove_store(void)
{
    kn_err err = KN_ERR_INIT;
    kn_remove_tree(AT_FDCWD, store_path, &err);
    kn_err_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store_path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(store_path, sizeof(store_path), "%s/kn-fuzz-load-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(store_path))
            abort();
        atexit(remove_store);
    }
    int fd = memfd_create("archive", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) < 0)
        abort();
    kn_err err = KN_ERR_INIT;
    kn_store *s = kn_store_open(store_path, &err);
    if (!s)
        abort();
    kn_platform_want want = {"linux", "amd64", NULL};
    kn_loaded *images = NULL;
    size_t n = 0;
    if (kn_archive_load(s, fd, &want, &images, &n, &err) == 0)
        kn_loaded_free(images, n);
    else if (!err.msg)
        abort(); /* every failure says why */
    kn_err_clear(&err);
    kn_store_close(s);
    close(fd);
    /* A fresh handle: the load's locks are gone, so check may run. */
    s = kn_store_open(store_path, &err);
    size_t n_problems = 0;
    if (!s || kn_store_check(s, NULL, NULL, &n_problems, &err) < 0 || n_problems)
        abort();
    kn_store_close(s);
    return 0;
}
