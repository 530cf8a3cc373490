#include "worker/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/path.h"
#include "store/compress.h"
#include "store/extract.h"

static bool is_pattern(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* `path` is rooted ("/dir/file"); the matcher wants "dir/file". */
static bool excluded(const kn_copy_opts *o, const char *path)
{
    if (!o || !o->is_excluded)
        return false;
    while (*path == '/')
        path++;
    return *path && o->is_excluded(o->exclude_ctx, path);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Matches the components comps[i..] below `dir` (path prefix `at`). */
static int glob_walk(int dirfd, const char *at, char **comps, size_t i, size_t n,
                     const kn_copy_opts *o, kn_strvec *out, kn_err *err)
{
    if (i == n) {
        kn_strvec_push(out, at);
        return 0;
    }
    if (!is_pattern(comps[i])) {
        kn_autofree char *next = kn_path_join(at, comps[i]);
        struct stat st;
        if (fstatat(dirfd, comps[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
            return 0;
        if (i + 1 == n)
            return glob_walk(-1, next, comps, i + 1, n, o, out, err);
        if (!S_ISDIR(st.st_mode))
            return 0;
        kn_autoclose int sub =
            openat(dirfd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return sub < 0 ? 0 : glob_walk(sub, next, comps, i + 1, n, o, out, err);
    }
    kn_strvec names = KN_STRVEC_INIT;
    if (kn_dir_names(dirfd, &names, err) < 0)
        return -1;
    if (names.len)
        qsort(names.items, names.len, sizeof(char *), compare_strings);
    int rc = 0;
    for (size_t k = 0; k < names.len && rc == 0; k++) {
        if (fnmatch(comps[i], names.items[k], FNM_PATHNAME) != 0)
            continue;
        kn_autofree char *next = kn_path_join(at, names.items[k]);
        if (excluded(o, next) && !(o && o->may_reinclude))
            continue;
        if (i + 1 == n) {
            if (!excluded(o, next))
                kn_strvec_push(out, next);
            continue;
        }
        kn_autoclose int sub =
            openat(dirfd, names.items[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            rc = glob_walk(sub, next, comps, i + 1, n, o, out, err);
    }
    kn_strvec_free(&names);
    return rc;
}

int kn_copy_expand(int srcroot, const char *source, const kn_copy_opts *opts, kn_strvec *out,
                   kn_err *err)
{
    kn_autofree char *rooted = kn_path_join("/", source);
    kn_autofree char *clean = kn_path_clean(rooted);
    if (!is_pattern(clean)) {
        kn_strvec_push(out, clean);
        return 0;
    }
    kn_strvec comps = KN_STRVEC_INIT;
    for (char *p = strtok(clean + 1, "/"); p; p = strtok(NULL, "/"))
        kn_strvec_push(&comps, p);
    kn_autoclose int root = openat(srcroot, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = root < 0 ? kn_errf(err, errno, "open source root")
                      : glob_walk(root, "/", comps.items, 0, comps.len, opts, out, err);
    kn_strvec_free(&comps);
    return rc;
}

/* ---- --chmod (F-18) ----
 * BuildKit reads a symbolic mode with tonistiigi/dchapes-mode, BSD's
 * setmode(3) with a umask of 0: each clause becomes set, clear, X and
 * copy-a-class commands, applied in order. Here each command is applied as
 * it is parsed to the effect kept in kn_chmod (copy.h says why that holds
 * everything). */

#define SPECIAL_BITS 07000
#define STANDARD_BITS 06777 /* "a": everything but sticky */

static void chmod_set(kn_chmod *c, mode_t bits)
{
    for (int x = 0; x < 2; x++)
        for (int p = 0; p < 8; p++)
            c->to[x][p] |= (uint16_t)(bits & 0777);
    c->set_special |= bits & SPECIAL_BITS;
    c->clear_special &= ~bits;
}

static void chmod_clear(kn_chmod *c, mode_t bits)
{
    for (int x = 0; x < 2; x++)
        for (int p = 0; p < 8; p++)
            c->to[x][p] &= (uint16_t)~bits;
    c->clear_special |= bits & SPECIAL_BITS;
    c->set_special &= ~bits;
}

/* `+X`: only where X applies. */
static void chmod_set_x(kn_chmod *c, mode_t bits)
{
    for (int p = 0; p < 8; p++)
        c->to[1][p] |= (uint16_t)(bits & 0111);
}

/* `op` with permissions `perm` for the classes in `who` (0: all). */
static void chmod_cmd(kn_chmod *c, char op, mode_t who, mode_t perm)
{
    mode_t bits = who ? who & perm : perm;
    if (op == '=')
        chmod_clear(c, who ? who : STANDARD_BITS);
    if (op == '=' || op == '+')
        chmod_set(c, bits);
    else if (op == '-')
        chmod_clear(c, bits);
    else
        chmod_set_x(c, bits);
}

/* `u=g`, `go+u`, ...: the rwx of class `from`, as it is at this point. */
static void chmod_copy(kn_chmod *c, char from, mode_t who, char op)
{
    int shift = from == 'u' ? 6 : from == 'g' ? 3 : 0;
    for (int x = 0; x < 2; x++) {
        for (int p = 0; p < 8; p++) {
            mode_t m = c->to[x][p];
            mode_t value = (m >> shift) & 7;
            mode_t cleared = op == '=' ? 7 : value;
            for (int dst = 6; dst >= 0; dst -= 3) {
                if (who && !(who & (04u << dst))) /* the class's r bit stands for it */
                    continue;
                if (op != '+')
                    m &= ~(cleared << dst);
                if (op != '-')
                    m |= value << dst;
            }
            c->to[x][p] = (uint16_t)m;
        }
    }
}

/* One op and its permission letters at *s (`+rw`, `=u`, `-X`), advancing *s;
 * false when *s holds no op. */
static bool chmod_op(kn_chmod *c, const char **s, mode_t who, bool *equal_done)
{
    char op = **s;
    if (op != '+' && op != '-' && op != '=')
        return false;
    if (op == '=')
        *equal_done = false;
    mode_t perm = 0, perm_x = 0;
    for (const char *p = *s + 1;; p++) {
        switch (*p) {
        case 'r':
            perm |= 0444;
            break;
        case 'w':
            perm |= 0222;
            break;
        case 'x':
            perm |= 0111;
            break;
        case 'X':
            /* as in BuildKit's parser: `-X` clears x like `-x` */
            if (op == '-')
                perm |= 0111;
            else
                perm_x = 0111;
            break;
        case 's':
            if (!who || (who & ~(mode_t)0007)) /* not for "o" alone */
                perm |= 06000;
            break;
        case 't':
            /* BSD quirk kept: with no class given, the sticky bit narrows the
             * clause to itself, so `+xt` sets only sticky. */
            if (!who || (who & ~(mode_t)0007)) {
                who |= 01000;
                perm |= 01000;
            }
            break;
        case 'u':
        case 'g':
        case 'o':
            if (perm)
                chmod_cmd(c, op, who, perm);
            perm = 0;
            if (op == '=')
                *equal_done = true;
            if (perm_x)
                chmod_cmd(c, 'X', who, perm_x);
            perm_x = 0;
            chmod_copy(c, *p, who, op);
            break;
        default:
            /* `u=` alone clears, unless a class copy already did the `=`. */
            if (perm || (op == '=' && !*equal_done)) {
                if (op == '=')
                    *equal_done = true;
                chmod_cmd(c, op, who, perm);
            }
            if (perm_x)
                chmod_cmd(c, 'X', who, perm_x);
            *s = p;
            return true;
        }
    }
}

/* Clauses separated by ','; each: classes [augo]*, then one or more ops. */
static bool chmod_symbolic(kn_chmod *c, const char *s)
{
    bool equal_done = false;
    for (;;) {
        mode_t who = 0;
        for (;; s++) {
            if (*s == 'a')
                who |= STANDARD_BITS;
            else if (*s == 'u')
                who |= 04700;
            else if (*s == 'g')
                who |= 02070;
            else if (*s == 'o')
                who |= 0007;
            else
                break;
        }
        do {
            if (!chmod_op(c, &s, who, &equal_done))
                return false;
        } while (*s && *s != ',');
        if (!*s)
            return true;
        s++;
    }
}

int kn_chmod_parse(const char *text, kn_chmod *out, kn_err *err)
{
    kn_chmod c = {0};
    for (int p = 0; p < 8; p++) {
        /* pattern p in all three columns */
        mode_t m = (p & 4 ? 0700 : 0) | (p & 2 ? 0070 : 0) | (p & 1 ? 0007 : 0);
        c.to[0][p] = c.to[1][p] = (uint16_t)m;
    }
    if (*text >= '0' && *text <= '9') {
        /* F-18: what looks numeric must be octal, whatever follows. */
        unsigned long mode = 0;
        const char *p = text;
        for (; *p >= '0' && *p <= '7' && mode <= 07777; p++)
            mode = mode * 8 + (unsigned long)(*p - '0');
        if (*p || mode > 07777)
            return kn_errf(err, KN_EINPUT,
                           "invalid chmod parameter: '%s'. it should be octal string and between 0 "
                           "and 07777",
                           text);
        chmod_clear(&c, 07777);
        chmod_set(&c, (mode_t)mode);
        c.is_octal = true;
        c.octal = (mode_t)mode;
    } else if (!*text || !chmod_symbolic(&c, text)) {
        return kn_errf(err, KN_EINPUT, "invalid chmod parameter: '%s': invalid syntax", text);
    }
    *out = c;
    return 0;
}

mode_t kn_chmod_apply(const kn_chmod *c, mode_t old_mode, bool is_dir)
{
    const uint16_t *to = c->to[is_dir || (old_mode & 0111)];
    mode_t mode = (old_mode & SPECIAL_BITS & ~c->clear_special) | c->set_special;
    for (int bit = 0; bit < 3; bit++) {
        unsigned p = ((old_mode >> (6 + bit)) & 1) << 2 | ((old_mode >> (3 + bit)) & 1) << 1 |
                     ((old_mode >> bit) & 1);
        mode |= to[p] & (0111u << bit);
    }
    return mode;
}

static void apply_owner(int fd, const char *name, const struct stat *st, const kn_copy_opts *o)
{
    uid_t uid = o->has_chown ? o->uid : o->keep_owner ? st->st_uid : 0;
    gid_t gid = o->has_chown ? o->gid : o->keep_owner ? st->st_gid : 0;
    if (fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0) {
        /* best effort without privileges */
    }
}

static void apply_meta(int dirfd, const char *name, const struct stat *st, const kn_copy_opts *o)
{
    apply_owner(dirfd, name, st, o);
    if (!S_ISLNK(st->st_mode)) {
        mode_t mode = o->has_chmod ? kn_chmod_apply(&o->chmod, st->st_mode, S_ISDIR(st->st_mode))
                                   : (st->st_mode & 07777);
        fchmodat(dirfd, name, mode, 0);
    }
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
}

static int copy_data(int in, int out, kn_err *err)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return kn_errf(err, errno, "copy");
        break;
    }
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kn_errf(err, errno, "read");
        }
        if (kn_write_all(out, buf, (size_t)n, err) < 0)
            return -1;
    }
    return 0;
}

static int copy_entry(int sdir, const char *sname, int ddir, const char *dname, const char *shown,
                      const kn_copy_opts *o, kn_err *err);

static int copy_children(int sfd, int dfd, const char *shown, const kn_copy_opts *o, kn_err *err)
{
    kn_strvec names = KN_STRVEC_INIT;
    int rc = kn_dir_names(sfd, &names, err);
    if (names.len)
        qsort(names.items, names.len, sizeof(char *), compare_strings);
    for (size_t i = 0; i < names.len && rc == 0; i++) {
        kn_autofree char *sub = kn_path_join(shown, names.items[i]);
        if (excluded(o, sub)) {
            struct stat st;
            bool is_dir =
                fstatat(sfd, names.items[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
            if (!is_dir || !o->may_reinclude)
                continue;
        }
        rc = copy_entry(sfd, names.items[i], dfd, names.items[i], sub, o, err);
    }
    kn_strvec_free(&names);
    return rc;
}

/* Copies one entry, not following a symlink at sname; the destination name
 * is replaced unless both are directories (then merged). */
static int copy_entry(int sdir, const char *sname, int ddir, const char *dname, const char *shown,
                      const kn_copy_opts *o, kn_err *err)
{
    struct stat st, dst;
    if (o->cancel && *o->cancel)
        return kn_errf(err, EINTR, "interrupted");
    if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return kn_errf(err, errno, "stat %s", shown);
    bool has_dst = fstatat(ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(st.st_mode)) {
        if (has_dst && !S_ISDIR(dst.st_mode) && unlinkat(ddir, dname, 0) < 0)
            return kn_errf(err, errno, "replace %s", shown);
        bool is_new = !has_dst || !S_ISDIR(dst.st_mode);
        if (is_new && mkdirat(ddir, dname, 0755) < 0)
            return kn_errf(err, errno, "create %s", shown);
        kn_autoclose int sfd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        kn_autoclose int dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0 || dfd < 0)
            return kn_errf(err, errno, "open %s", shown);
        if (copy_children(sfd, dfd, shown, o, err) < 0)
            return -1;
        if (is_new)
            apply_meta(ddir, dname, &st, o);
        return 0;
    }
    if (has_dst && S_ISDIR(dst.st_mode))
        return kn_errf(err, KN_EFAILED, "cannot replace to directory %s with file", shown);
    if (has_dst && unlinkat(ddir, dname, 0) < 0)
        return kn_errf(err, errno, "replace %s", shown);
    if (S_ISREG(st.st_mode)) {
        kn_autoclose int in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        kn_autoclose int out =
            openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (in < 0 || out < 0)
            return kn_errf(err, errno, "copy %s", shown);
        if (copy_data(in, out, err) < 0)
            return kn_err_wrap(err, "%s", shown);
    } else if (S_ISLNK(st.st_mode)) {
        kn_autofree char *target = kn_xmalloc((size_t)st.st_size + 2);
        ssize_t n = readlinkat(sdir, sname, target, (size_t)st.st_size + 1);
        if (n < 0)
            return kn_errf(err, errno, "read link %s", shown);
        target[n] = '\0';
        if (symlinkat(target, ddir, dname) < 0)
            return kn_errf(err, errno, "create link %s", shown);
    } else if (mknodat(ddir, dname, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0) {
        return kn_errf(err, errno, "create %s", shown);
    }
    apply_meta(ddir, dname, &st, o);
    return 0;
}

static int make_parents(int dstroot, const char *dir, const kn_copy_opts *o, kn_err *err)
{
    /* F-12: missing parents 0755 (or an octal --chmod; a symbolic one is for
     * the entries copied only), owned 0:0 or --chown. */
    bool is_octal = o->has_chmod && o->chmod.is_octal;
    kn_autofree char *clean = kn_path_clean(dir);
    kn_autobuf kn_buf at = KN_BUF_INIT;
    for (const char *p = clean; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        if (end == p)
            break;
        kn_buf_addc(&at, '/');
        kn_buf_add(&at, p, (size_t)(end - p));
        kn_autoerr kn_err probe = KN_ERR_INIT;
        kn_autoclose int fd =
            kn_openat_in_root(dstroot, at.data, O_RDONLY | O_DIRECTORY, 0, &probe);
        if (fd < 0) {
            if (kn_mkdirat_p(dstroot, at.data, is_octal ? o->chmod.octal : 0755, err) < 0)
                return -1;
            kn_autoclose int made =
                kn_openat_in_root(dstroot, at.data, O_RDONLY | O_DIRECTORY, 0, err);
            if (made < 0)
                return -1;
            if (is_octal)
                fchmod(made, o->chmod.octal);
            if (fchown(made, o->has_chown ? o->uid : 0, o->has_chown ? o->gid : 0) < 0) {
                /* best effort without privileges */
            }
        }
        p = end;
    }
    return 0;
}

int kn_copy(int srcroot, const char *src, int dstroot, const char *dest, bool dest_is_dir,
            const kn_copy_opts *o, kn_err *err)
{
    kn_autofree char *rooted = kn_path_join("/", src);
    kn_autofree char *clean = kn_path_clean(rooted);
    /* F-6: the source itself is followed (inside the root). */
    kn_autoclose int sfd =
        excluded(o, clean) ? -1 : kn_openat_in_root(srcroot, clean, O_PATH, 0, err);
    if (sfd < 0) {
        kn_err_clear(err);
        return kn_errf(err, KN_EFAILED, "\"%s\": not found", clean);
    }
    struct stat st;
    if (fstat(sfd, &st) < 0)
        return kn_errf(err, errno, "stat %s", clean);
    kn_autofree char *dclean = kn_path_clean(dest);
    if (S_ISDIR(st.st_mode)) {
        /* F-7: a directory's contents go into dest. */
        if (make_parents(dstroot, dclean, o, err) < 0)
            return -1;
        kn_autoclose int dfd = kn_openat_in_root(dstroot, dclean, O_RDONLY | O_DIRECTORY, 0, err);
        if (dfd < 0) {
            kn_err_clear(err);
            return kn_errf(err, KN_EFAILED, "cannot copy to non-directory: %s", dclean);
        }
        kn_autoclose int sdir = kn_openat_in_root(srcroot, clean, O_RDONLY | O_DIRECTORY, 0, err);
        if (sdir < 0)
            return -1;
        return copy_children(sdir, dfd, clean, o, err);
    }
    /* A file: into dest when dest is a directory (or must be one). */
    const char *base = strrchr(clean, '/');
    base = base ? base + 1 : clean;
    kn_autoerr kn_err probe = KN_ERR_INIT;
    kn_autoclose int existing =
        kn_openat_in_root(dstroot, dclean, O_RDONLY | O_DIRECTORY, 0, &probe);
    kn_autofree char *dir = NULL, *name = NULL;
    if (dest_is_dir || existing >= 0) {
        dir = kn_xstrdup(dclean);
        name = kn_xstrdup(base);
    } else {
        const char *slash = strrchr(dclean, '/');
        dir = slash && slash != dclean ? kn_xstrndup(dclean, (size_t)(slash - dclean))
                                       : kn_xstrdup("/");
        name = kn_xstrdup(slash ? slash + 1 : dclean);
    }
    if (make_parents(dstroot, dir, o, err) < 0)
        return -1;
    kn_autoclose int dfd = kn_openat_in_root(dstroot, dir, O_RDONLY | O_DIRECTORY, 0, err);
    if (dfd < 0)
        return kn_err_wrap(err, "destination %s", dir);
    /* Read through the fd resolved inside the root, never the path again. */
    kn_autobuf kn_buf self = KN_BUF_INIT;
    kn_buf_addf(&self, "/proc/self/fd/%d", sfd);
    kn_autoclose int srcfile = open(self.data, O_RDONLY | O_CLOEXEC);
    if (srcfile < 0)
        return kn_errf(err, errno, "open %s", clean);
    struct stat dst;
    if (fstatat(dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(dst.st_mode))
            return kn_errf(err, KN_EFAILED, "cannot replace to directory %s with file", dclean);
        if (unlinkat(dfd, name, 0) < 0)
            return kn_errf(err, errno, "replace %s", dclean);
    }
    if (!S_ISREG(st.st_mode))
        return kn_errf(err, KN_EFAILED, "\"%s\": not a regular file or directory", clean);
    kn_autoclose int out =
        openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return kn_errf(err, errno, "create %s/%s", dir, name);
    if (copy_data(srcfile, out, err) < 0)
        return kn_err_wrap(err, "%s", clean);
    apply_meta(dfd, name, &st, o);
    return 0;
}

static ssize_t read_decomp(void *ctx, void *buf, size_t len, kn_err *err)
{
    return kn_decomp_read(ctx, buf, len, err);
}

/* Whether fd (rewound afterwards) holds a tar, maybe compressed. */
static int sniff_tar(int fd, kn_comp *comp, bool *is_tar, kn_err *err)
{
    unsigned char head[512];
    ssize_t n = pread(fd, head, 8, 0);
    *comp = n > 0 ? kn_comp_detect(head, (size_t)n) : KN_COMP_NONE;
    *is_tar = false;
    kn_decomp *d = kn_decomp_new(fd, *comp, err);
    if (!d)
        return -1;
    size_t got = 0;
    kn_autoerr kn_err ignored = KN_ERR_INIT;
    while (got < sizeof(head)) {
        ssize_t r = kn_decomp_read(d, head + got, sizeof(head) - got, &ignored);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    kn_decomp_free(d);
    /* ustar and GNU tar both carry "ustar" at offset 257. */
    *is_tar = got == sizeof(head) && !memcmp(head + 257, "ustar", 5);
    if (lseek(fd, 0, SEEK_SET) < 0)
        return kn_errf(err, errno, "rewind");
    return 0;
}

int kn_copy_unpack(int srcroot, const char *src, int dstroot, const char *dest,
                   const kn_copy_opts *o, bool *is_archive, kn_err *err)
{
    *is_archive = false;
    kn_autofree char *rooted = kn_path_join("/", src);
    kn_autofree char *clean = kn_path_clean(rooted);
    if (excluded(o, clean))
        return 0;
    kn_autoerr kn_err probe = KN_ERR_INIT;
    kn_autoclose int fd = kn_openat_in_root(srcroot, clean, O_RDONLY, 0, &probe);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0; /* not a regular file: kn_copy reports what is wrong */
    kn_comp comp;
    bool is_tar;
    if (sniff_tar(fd, &comp, &is_tar, err) < 0)
        return kn_err_wrap(err, "%s", clean);
    if (!is_tar)
        return 0;
    *is_archive = true;
    kn_autofree char *dclean = kn_path_clean(dest);
    if (make_parents(dstroot, dclean, o, err) < 0)
        return -1;
    kn_autoclose int dfd = kn_openat_in_root(dstroot, dclean, O_RDONLY | O_DIRECTORY, 0, err);
    if (dfd < 0) {
        kn_err_clear(err);
        return kn_errf(err, KN_EFAILED, "cannot copy to non-directory: %s", dclean);
    }
    kn_decomp *d = kn_decomp_new(fd, comp, err);
    if (!d)
        return -1;
    kn_extract_opts xo = {.as_root = geteuid() == 0};
    int rc = kn_extract_tar(dfd, read_decomp, d, &xo, NULL, err);
    kn_decomp_free(d);
    return rc < 0 ? kn_err_wrap(err, "extract %s", clean) : 0;
}
