#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/map.h"
#include "base/mem.h"

static int remove_children(int fd, kn_err *err);

static int remove_entry(int dirfd, const char *name, kn_err *err)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return kn_errf(err, errno, "remove %s", name);
    kn_autoclose int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : kn_errf(err, errno, "open %s", name);
    if (remove_children(fd, err) < 0)
        return kn_err_wrap(err, "%s", name);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return kn_errf(err, errno, "remove %s", name);
    return 0;
}

static int remove_children(int fd, kn_err *err)
{
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0)
        return kn_errf(err, errno, "dup");
    DIR *dir = fdopendir(dupfd);
    if (!dir) {
        close(dupfd);
        return kn_errf(err, errno, "opendir");
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (remove_entry(fd, de->d_name, err) < 0) {
            rc = -1;
            break;
        }
    }
    closedir(dir);
    return rc;
}

int kn_remove_tree(int dirfd, const char *name, kn_err *err)
{
    return remove_entry(dirfd, name, err);
}

typedef struct inode_key {
    dev_t dev;
    ino_t ino;
} inode_key;

static int sum_tree(int fd, kn_map *seen, uint64_t *size, kn_err *err)
{
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0)
        return kn_errf(err, errno, "dup");
    DIR *dir = fdopendir(dupfd);
    if (!dir) {
        close(dupfd);
        return kn_errf(err, errno, "opendir");
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = kn_errf(err, errno, "stat %s", de->d_name);
        } else if (S_ISDIR(st.st_mode)) {
            kn_autoclose int sub =
                openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                rc = kn_errf(err, errno, "open %s", de->d_name);
            else
                rc = sum_tree(sub, seen, size, err);
        } else if (S_ISREG(st.st_mode)) {
            if (st.st_nlink > 1) {
                inode_key k = {st.st_dev, st.st_ino};
                if (kn_map_hasn(seen, (const char *)&k, sizeof(k)))
                    continue;
                kn_map_setn(seen, (const char *)&k, sizeof(k), (void *)1);
            }
            *size += (uint64_t)st.st_size;
        }
    }
    closedir(dir);
    return rc;
}

int kn_tree_size(int dirfd, uint64_t *size, kn_err *err)
{
    kn_map seen;
    kn_map_init(&seen, NULL);
    *size = 0;
    int rc = sum_tree(dirfd, &seen, size, err);
    kn_map_free(&seen);
    return rc;
}

int kn_write_all(int fd, const void *data, size_t len, kn_err *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kn_errf(err, errno, "write");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
