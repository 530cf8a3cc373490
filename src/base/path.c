#include "base/path.h"

#include "base/mem.h"
#include "base/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- lexical ---- */

char *kn_path_clean(const char *path)
{
    /* Go's path.Clean, step for step: the output never outgrows the input. */
    size_t n = strlen(path);
    if (n == 0)
        return kn_xstrdup(".");
    char *out = kn_xmalloc(n + 1);
    bool rooted = path[0] == '/';
    size_t r = 0, w = 0, dotdot = 0; /* read index, write index, where ".." can stop */
    if (rooted) {
        out[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++; /* empty element */
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++; /* "." element */
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2; /* ".." element: drop the last name, or keep it when none can go */
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && path[r] != '/'; r++)
                out[w++] = path[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

char *kn_path_join(const char *a, const char *b)
{
    if (!*a && !*b)
        return kn_xstrdup("");
    if (!*a || !*b)
        return kn_path_clean(*a ? a : b);
    kn_buf joined = KN_BUF_INIT;
    kn_buf_addf(&joined, "%s/%s", a, b);
    char *clean = kn_path_clean(joined.data);
    kn_buf_free(&joined);
    return clean;
}

bool kn_path_is_within(const char *path)
{
    if (path[0] == '/')
        return false;
    size_t depth = 0;
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (depth == 0)
                return false;
            depth--;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            depth++;
        }
        p += len;
        p += *p == '/';
    }
    return true;
}

/* ---- opening inside a root ---- */

#define MAX_SYMLINKS 40 /* the kernel's MAXSYMLINKS */

static atomic_bool force_walk;

void kn_path_force_walk(bool force)
{
    atomic_store(&force_walk, force);
}

/* Whether openat2 can be called at all, probed once. A kernel without it
 * says ENOSYS; seccomp filters that predate it (older container runtimes)
 * say EPERM, which a plain open of "/" can otherwise never return. */
static bool have_openat2(void)
{
    enum { UNKNOWN, YES, NO };
    static atomic_int state = UNKNOWN;
    int s = atomic_load(&state);
    if (s == UNKNOWN) {
        struct open_how how = {.flags = O_PATH | O_CLOEXEC};
        long fd = syscall(SYS_openat2, -1, "/", &how, sizeof(how));
        s = fd >= 0 || (errno != ENOSYS && errno != EPERM) ? YES : NO;
        if (fd >= 0)
            close((int)fd);
        atomic_store(&state, s);
    }
    return s == YES;
}

static int openat2_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
        /* openat2 rejects a mode that cannot apply. */
        .mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    /* EAGAIN: a rename or mount raced with a ".." lookup; the kernel asks
     * for a retry rather than risk leaving the root. */
    for (int attempt = 0; attempt < 32; attempt++) {
        long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno != EAGAIN && errno != EINTR)
            break;
    }
    return -1;
}

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

/* State of the fallback walk. `stack` holds the identity of the root and of
 * every directory descended into since, so ".." can stop at the root and
 * check that it landed where the descent came from. */
typedef struct walk {
    int rootfd;
    int cur;     /* O_PATH fd of the directory reached; owned */
    kn_buf rest; /* the path still to resolve, from `pos` */
    size_t pos;
    int n_links;
    KN_VEC(dir_id) stack;
} walk;

static dir_id id_of(const struct stat *st)
{
    return (dir_id){st->st_dev, st->st_ino};
}

static void set_cur(walk *w, int fd)
{
    kn_closep(&w->cur);
    w->cur = fd;
}

static int start_at_root(walk *w)
{
    int fd = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        kn_closep(&fd);
        return -1;
    }
    set_cur(w, fd);
    w->stack.len = 0;
    kn_vec_push(&w->stack, id_of(&st));
    return 0;
}

static int go_up(walk *w)
{
    if (w->stack.len == 1)
        return 0; /* ".." at the root is the root */
    kn_autoclose int fd = openat(w->cur, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -1;
    dir_id want = w->stack.items[w->stack.len - 2];
    if (st.st_dev != want.dev || st.st_ino != want.ino) {
        errno = EXDEV; /* a directory on the way was moved meanwhile */
        return -1;
    }
    set_cur(w, kn_steal_fd(&fd));
    w->stack.len--;
    return 0;
}

static int read_link(int fd, kn_buf *target)
{
    for (size_t size = 256;; size *= 2) {
        if (size > 1 << 20) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (kn_buf_grow(target, size) < 0)
            return -1;
        ssize_t n = readlinkat(fd, "", target->data, size);
        if (n < 0)
            return -1;
        if ((size_t)n < size) {
            target->len = (size_t)n;
            target->data[n] = '\0';
            return 0;
        }
    }
}

/* Continue with the target of the symlink open at linkfd in place of the
 * component that ended at `end`: absolute targets restart at the root. */
static int follow(walk *w, int linkfd, size_t end)
{
    if (++w->n_links > MAX_SYMLINKS) {
        errno = ELOOP;
        return -1;
    }
    kn_buf rest = KN_BUF_INIT;
    if (read_link(linkfd, &rest) < 0 ||
        kn_buf_add(&rest, w->rest.data + end, w->rest.len - end) < 0) {
        int e = errno;
        kn_buf_free(&rest);
        errno = e;
        return -1;
    }
    kn_buf_free(&w->rest);
    w->rest = rest;
    w->pos = 0;
    return rest.data[0] == '/' ? start_at_root(w) : 0;
}

static bool is_symlink(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
}

/* A component with more to come: enter it if it is a directory, follow it if
 * it is a symlink. */
static int step(walk *w, const char *name, size_t end)
{
    kn_autoclose int fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -1;
    if (S_ISLNK(st.st_mode))
        return follow(w, fd, end);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    set_cur(w, kn_steal_fd(&fd));
    kn_vec_push(&w->stack, id_of(&st));
    return 0;
}

/* The last component: open it with the caller's flags, never following a
 * symlink in the kernel. Returns 1 with *out set when done, 0 when a symlink
 * was followed and the walk goes on, -1 on error. */
static int open_last(walk *w, const char *name, size_t end, int flags, mode_t mode, int *out)
{
    bool nofollow = flags & O_NOFOLLOW;
    kn_autoclose int fd = openat(w->cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
        /* O_PATH | O_NOFOLLOW opens a symlink itself instead of failing. */
        if (nofollow || !(flags & O_PATH) || !is_symlink(fd)) {
            *out = kn_steal_fd(&fd);
            return 1;
        }
        return follow(w, fd, end);
    }
    /* A symlink fails with ELOOP, or ENOTDIR under O_DIRECTORY. */
    if (nofollow || (errno != ELOOP && errno != ENOTDIR))
        return -1;
    int e = errno;
    fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !is_symlink(fd)) {
        errno = e;
        return -1;
    }
    return follow(w, fd, end);
}

static int run_walk(walk *w, int flags, mode_t mode)
{
    if (start_at_root(w) < 0)
        return -1;
    for (;;) {
        const char *s = w->rest.data;
        while (s[w->pos] == '/')
            w->pos++;
        if (!s[w->pos]) /* nothing left: the directory reached is the answer */
            return openat(w->cur, ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
        size_t start = w->pos, end = start + strcspn(s + start, "/");
        kn_autofree char *name = kn_xstrndup(s + start, end - start);
        w->pos = end;
        int r = 0, fd = -1;
        if (strcmp(name, ".") == 0)
            r = 0;
        else if (strcmp(name, "..") == 0)
            r = go_up(w);
        else if (s[end] == '/') /* more to come, or a trailing slash: a directory */
            r = step(w, name, end);
        else if ((r = open_last(w, name, end, flags, mode, &fd)) == 1)
            return fd;
        if (r < 0)
            return -1;
    }
}

static int walk_in_root(int rootfd, const char *path, int flags, mode_t mode, kn_err *err)
{
    if (!*path)
        return kn_errf(err, ENOENT, "open %s", path);
    walk w = {.rootfd = rootfd, .cur = -1, .rest = KN_BUF_INIT};
    kn_buf_adds(&w.rest, path);
    int fd = run_walk(&w, flags, mode);
    int e = errno;
    kn_closep(&w.cur);
    kn_buf_free(&w.rest);
    kn_vec_free(&w.stack);
    if (fd < 0)
        return kn_errf(err, e, "open %s", path);
    return fd;
}

int kn_openat_in_root(int rootfd, const char *path, int flags, mode_t mode, kn_err *err)
{
    if (atomic_load(&force_walk) || !have_openat2())
        return walk_in_root(rootfd, path, flags, mode, err);
    int fd = openat2_in_root(rootfd, path, flags, mode);
    if (fd < 0)
        return kn_errf(err, errno, "open %s", path);
    return fd;
}

/* ---- directories and files inside a root ---- */

static bool is_dot_or_dotdot(const char *name, size_t len)
{
    return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

int kn_mkdirat_p(int rootfd, const char *path, mode_t mode, kn_err *err)
{
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    kn_autoclose int fd = kn_openat_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0, &ignored);
    if (fd >= 0)
        return 0; /* already there */

    /* Create each name in its parent, resolving the parent afresh inside the
     * root every time: whatever a component turns out to be (a symlink, even
     * one swapped in meanwhile), resolution never leaves the root. */
    kn_autofree char *prefix = kn_xstrdup(path);
    for (size_t i = 0; path[i];) {
        i += strspn(path + i, "/");
        size_t start = i, len = strcspn(path + i, "/");
        i += len;
        if (len == 0 || is_dot_or_dotdot(path + start, len))
            continue;
        prefix[start] = '\0';
        kn_autoclose int parent =
            kn_openat_in_root(rootfd, start ? prefix : "/", O_PATH | O_DIRECTORY, 0, err);
        prefix[start] = path[start];
        kn_autofree char *name = kn_xstrndup(path + start, len);
        if (parent < 0)
            return kn_errf(err, err->code, "mkdir %.*s", (int)i, path);
        if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
            return kn_errf(err, errno, "mkdir %.*s", (int)i, path);
    }
    fd = kn_openat_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0, err);
    if (fd < 0)
        return kn_errf(err, err->code, "mkdir %s", path);
    return 0;
}

int kn_read_fileat(int dirfd, const char *path, size_t max_size, kn_buf *out, kn_err *err)
{
    /* O_NONBLOCK: opening a FIFO must not hang before fstat can reject it. */
    kn_autoclose int fd = kn_openat_in_root(dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, err);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return kn_errf(err, errno, "stat %s", path);
    if (!S_ISREG(st.st_mode))
        return kn_errf(err, EINVAL, "read %s: not a regular file", path);
    if ((uint64_t)st.st_size > max_size)
        return kn_errf(err, EFBIG, "read %s: larger than %zu bytes", path, max_size);

    size_t old_len = out->len, n_read = 0;
    /* Room for the whole file plus one byte, so EOF shows in the first round. */
    size_t want = (size_t)st.st_size + 1;
    for (;;) {
        size_t room = max_size - n_read; /* n_read <= max_size */
        if (room < SIZE_MAX && want > room + 1)
            want = room + 1; /* one byte past the limit is enough to see it */
        if (kn_buf_grow(out, want) < 0) {
            int e = errno;
            kn_buf_truncate(out, old_len);
            return kn_errf(err, e, "read %s", path);
        }
        ssize_t n = read(fd, out->data + out->len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            kn_buf_truncate(out, old_len);
            return kn_errf(err, e, "read %s", path);
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->data[out->len] = '\0';
        n_read += (size_t)n;
        if (n_read > max_size) {
            kn_buf_truncate(out, old_len);
            return kn_errf(err, EFBIG, "read %s: larger than %zu bytes", path, max_size);
        }
        want = 64 * 1024;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int create_temp(int dirfd, char *name, size_t size)
{
    static atomic_ulong counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(name, size, ".kn-tmp-%ld-%lu", (long)getpid(), atomic_fetch_add(&counter, 1));
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int kn_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         kn_err *err)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    if (!*base || is_dot_or_dotdot(base, strlen(base)))
        return kn_errf(err, EINVAL, "write %s: not a file name", name);
    kn_autofree char *dir = slash ? kn_xstrndup(name, (size_t)(slash - name) + 1) : kn_xstrdup(".");
    kn_autoclose int dfd = kn_openat_in_root(dirfd, dir, O_RDONLY | O_DIRECTORY, 0, err);
    if (dfd < 0)
        return kn_err_wrap(err, "write %s", name);

    char tmp[64]; /* our own name, not input */
    kn_autoclose int fd = create_temp(dfd, tmp, sizeof(tmp));
    if (fd < 0)
        return kn_errf(err, errno, "write %s: create a temporary file", name);
    const char *what;
    if (fchmod(fd, mode & 07777) < 0)
        what = "chmod";
    else if (write_all(fd, data, len) < 0)
        what = "write";
    else if (fsync(fd) < 0)
        what = "fsync";
    else if (close(kn_steal_fd(&fd)) < 0)
        what = "close";
    else if (renameat(dfd, tmp, dfd, base) < 0)
        what = "rename";
    else if (fsync(dfd) < 0)
        return kn_errf(err, errno, "write %s: fsync directory", name);
    else
        return 0;
    int e = errno;
    unlinkat(dfd, tmp, 0);
    return kn_errf(err, e, "write %s: %s", name, what);
}
