/* libFuzzer harness for layer extraction: any bytes, read as a tar, must
 * extract or fail cleanly into a fresh directory, and leave nothing beside
 * it. Each input gets T/in below one mkdtemp directory T per process; once
 * T/in is removed, T must be empty again, or an entry escaped. */
#include "base/err.h"
#include "base/fs.h"
#include "store/extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mem_reader {
    const uint8_t *data;
    size_t len, pos, chunk;
} mem_reader;

static ssize_t read_mem(void *ctx, void *buf, size_t len, kn_err *err)
{
    mem_reader *r = ctx;
    size_t n = r->len - r->pos;
    if (n > len)
        n = len;
    if (n > r->chunk)
        n = r->chunk;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    return (ssize_t)n;
}

static char base_path[256];

static void remove_base(void)
{
    rmdir(base_path);
}

static int base_dir(void)
{
    static int fd = -1;
    if (fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(base_path, sizeof(base_path), "%s/kn-fuzz-extract-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(base_path))
            abort();
        fd = open(base_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            abort();
        atexit(remove_base);
    }
    return fd;
}

static bool is_empty(int dirfd)
{
    DIR *d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!d)
        abort();
    rewinddir(d);
    bool empty = true;
    for (struct dirent *de; (de = readdir(d));)
        empty = empty && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
    closedir(d);
    return empty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int base = base_dir();
    if (mkdirat(base, "in", 0755) < 0)
        abort();
    int in = openat(base, "in", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (in < 0)
        abort();
    /* Odd-sized reads when the input asks for them, so headers straddle. */
    mem_reader r = {data, size, 0, size && data[size - 1] & 1 ? 511 : SIZE_MAX};
    kn_extract_opts opts = {.as_root = false};
    kn_err err = KN_ERR_INIT;
    if (kn_extract_tar(in, read_mem, &r, &opts, NULL, &err) < 0 && (!err.msg || !err.code))
        abort(); /* a failure always says why */
    kn_err_clear(&err);
    close(in);
    if (kn_remove_tree(base, "in", &err) < 0 || !is_empty(base))
        abort();
    return 0;
}
