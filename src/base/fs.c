#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/map.h"
#include "base/mem.h"
#include "base/vec.h"

int kn_dir_names(int dirfd, kn_strvec *out, kn_err *err)
{
    int dupfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dupfd >= 0 ? fdopendir(dupfd) : NULL;
    if (!dir) {
        int e = errno;
        if (dupfd >= 0)
            close(dupfd);
        return kn_errf(err, e, "read directory");
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(dir)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            kn_strvec_push(out, de->d_name);
    int e = errno;
    closedir(dir);
    return e ? kn_errf(err, e, "read directory") : 0;
}

static int remove_entry(int dirfd, const char *name, kn_err *err)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return kn_errf(err, errno, "remove %s", name);
    kn_autoclose int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : kn_errf(err, errno, "open %s", name);
    /* Never delete through a mount (an overlay a killed build left behind):
     * detach it, and leave the directory if that is not possible. */
    struct stat st, parent;
    if (fstat(fd, &st) == 0 && fstat(dirfd, &parent) == 0 && st.st_dev != parent.st_dev) {
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        if (umount2(self, MNT_DETACH) < 0)
            return kn_errf(err, EBUSY, "remove %s: a file system is mounted there", name);
        close(fd);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
            return errno == ENOENT ? 0 : kn_errf(err, errno, "open %s", name);
    }
    /* A layer may hold read-only directories (0555): without root, their
     * entries cannot go until the owner may write. */
    if ((st.st_mode & 0700) != 0700)
        fchmod(fd, (st.st_mode & 07777) | 0700);
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(fd, &names, err);
    for (size_t i = 0; rc == 0 && i < names.len; i++)
        rc = remove_entry(fd, names.items[i], err);
    kn_strvec_free(&names);
    if (rc < 0)
        return kn_err_wrap(err, "%s", name);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return kn_errf(err, errno, "remove %s", name);
    return 0;
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
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(fd, &names, err);
    for (size_t i = 0; rc == 0 && i < names.len; i++) {
        const char *name = names.items[i];
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = kn_errf(err, errno, "stat %s", name);
        } else if (S_ISDIR(st.st_mode)) {
            kn_autoclose int sub =
                openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                rc = kn_errf(err, errno, "open %s", name);
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
    kn_strvec_free(&names);
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
