/* Tests for --chmod (SEMANTICS F-18, F-12) in src/worker/copy.c: parsing
 * octal and symbolic values as BuildKit does, the mode each entry gets, and
 * kn_copy applying it to the files and directories it copies. Expected modes
 * were checked against tonistiigi/dchapes-mode, the parser BuildKit uses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/mem.h"
#include "worker/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mode_row {
    const char *text;
    mode_t old_mode;
    bool is_dir;
    mode_t want;
} mode_row;

static void check_mode_rows(const mode_row *rows, size_t n, const char *what)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const mode_row *r = &rows[i];
        kn_chmod c;
        kn_autoerr kn_err err = KN_ERR_INIT;
        if (kn_chmod_parse(r->text, &c, &err) < 0) {
            failed++;
            print_error("%s row %zu: '%s' failed: %s\n", what, i, r->text, err.msg);
            continue;
        }
        mode_t got = kn_chmod_apply(&c, r->old_mode, r->is_dir);
        if (got != r->want) {
            failed++;
            print_error("%s row %zu: '%s' on %s %04o: want %04o, got %04o\n", what, i, r->text,
                        r->is_dir ? "dir" : "file", (unsigned)r->old_mode, (unsigned)r->want,
                        (unsigned)got);
        }
    }
    assert_int_equal(failed, 0);
}

static const mode_row octal_rows[] = {
    {"755", 0644, false, 0755},          /* F-18 */
    {"0644", 0755, false, 0644},         /* F-18 */
    {"0644", 0755, true, 0644},          /* F-18: directories too */
    {"4755", 0644, false, 04755},        /* F-18: setuid */
    {"07777", 0, false, 07777},          /* F-18: the largest */
    {"0", 07777, true, 0},               /* F-18: every bit replaced */
    {"755", 06777, false, 0755},         /* F-18: special bits cleared */
    {"1777", 0700, true, 01777},         /* F-18: sticky */
    {"000000000000644", 0, false, 0644}, /* F-18: leading zeros are fine */
};

static void test_chmod_octal_replaces_all_bits(void **state)
{
    (void)state;
    check_mode_rows(octal_rows, KN_ARRAY_LEN(octal_rows), "octal");
}

static const mode_row symbolic_rows[] = {
    {"+x", 0644, false, 0755},               /* F-18: no class = all, no umask */
    {"a-w", 0777, false, 0555},              /* F-18 */
    {"go-w", 0777, true, 0755},              /* F-18 */
    {"go=", 0777, false, 0700},              /* F-18: = with nothing clears */
    {"=rw", 0777, false, 0666},              /* F-18 */
    {"u=rwx,g=,o=", 0644, false, 0700},      /* F-18: several clauses */
    {"a=r,ug=rw,u+x", 0, false, 0764},       /* F-18: clauses apply in order */
    {"o-rwx,g+x", 0644, false, 0650},        /* F-18 */
    {"u+rw,g+r,o-x,o+w", 0501, false, 0742}, /* F-18 */
    {"u+w-x", 0500, false, 0600},            /* F-18: two ops, one class list */
    {"u=r", 04755, false, 0455},             /* F-18: u= also clears setuid */
};

static void test_chmod_symbolic_clauses(void **state)
{
    (void)state;
    check_mode_rows(symbolic_rows, KN_ARRAY_LEN(symbolic_rows), "symbolic");
}

static const mode_row x_rows[] = {
    {"u=rwX,go=rX", 0700, true, 0755},  /* F-18: X for a directory */
    {"u=rwX,go=rX", 0500, true, 0755},  /* F-18 */
    {"u=rwX,go=rX", 0600, false, 0644}, /* F-18: not for a plain file */
    {"u=rwX,go=rX", 0700, false, 0755}, /* F-18: for an executable file */
    {"u=rwX,go=rX", 0610, false, 0755}, /* F-18: executable by someone */
    {"u=rwX,go=rX", 04700, true, 0755}, /* F-18: = clears setuid */
    {"+X", 0644, true, 0755},           /* F-18 */
    {"+X", 0644, false, 0644},          /* F-18 */
    {"a+X", 0001, false, 0111},         /* F-18 */
    {"u=X", 0644, false, 0044},         /* F-18 */
    {"u=X", 0744, false, 0144},         /* F-18 */
    {"-X", 0777, true, 0666},           /* F-18: -X is -x, also for files */
    {"-X", 0777, false, 0666},          /* F-18 */
    {"=rw,+X", 0766, false, 0777},      /* F-18 */
    /* X looks at the mode before the change, as BuildKit does */
    {"a-x,a+X", 0755, false, 0755}, /* F-18 */
    {"a-x,a+X", 0644, false, 0644}, /* F-18 */
};

static void test_chmod_x_for_dirs_and_executables(void **state)
{
    (void)state;
    check_mode_rows(x_rows, KN_ARRAY_LEN(x_rows), "X");
}

static const mode_row copy_rows[] = {
    {"g=u", 0740, false, 0770},     /* F-18 */
    {"u=g-w", 0762, false, 0462},   /* F-18 */
    {"u=g-w", 0722, false, 0022},   /* F-18 */
    {"go=u-w", 0770, true, 0755},   /* F-18 */
    {"go=u-w", 0370, false, 0311},  /* F-18 */
    {"u+go", 0021, false, 0321},    /* F-18 */
    {"go=u,u=", 0750, false, 0077}, /* F-18: copies the mode as changed so far */
    {"=u", 0640, false, 0666},      /* F-18 */
};

static void test_chmod_class_copies(void **state)
{
    (void)state;
    check_mode_rows(copy_rows, KN_ARRAY_LEN(copy_rows), "copy");
}

static const mode_row special_rows[] = {
    {"u+s", 0755, false, 04755},                  /* F-18 */
    {"g+s", 0755, true, 02755},                   /* F-18 */
    {"+s", 0644, false, 06644},                   /* F-18 */
    {"o+s", 0755, false, 0755},                   /* F-18: ignored for o */
    {"+t", 0755, true, 01755},                    /* F-18 */
    {"-t", 01777, true, 0777},                    /* F-18 */
    {"o=t", 0644, false, 0640},                   /* F-18: t ignored for o */
    {"+xt", 0644, false, 01644},                  /* F-18: BSD quirk */
    {"=rw", 04777, false, 0666},                  /* F-18: = clears set-id */
    {"=rw", 01777, true, 01666},                  /* F-18: but keeps sticky */
    {"u-s,g=o", 06754, false, 02744},             /* F-18 */
    {"o+r,g+w,a+t,g-s,u+og", 06000, true, 05624}, /* F-18 */
    {"a=r,ug=rw,u+x", 07777, false, 01764},       /* F-18 */
};

static void test_chmod_special_bits(void **state)
{
    (void)state;
    check_mode_rows(special_rows, KN_ARRAY_LEN(special_rows), "special");
}

static void test_chmod_apply_ignores_file_type_bits(void **state)
{
    (void)state;
    kn_chmod c;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_chmod_parse("go-r", &c, &err), 0);
    assert_int_equal(kn_chmod_apply(&c, S_IFREG | 0644, false), 0600);
    assert_int_equal(kn_chmod_apply(&c, S_IFDIR | 0755, true), 0711);
}

static void test_chmod_only_octal_makes_parents(void **state)
{
    (void)state;
    kn_chmod c;
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_chmod_parse("0710", &c, &err), 0);
    assert_true(c.is_octal);
    assert_int_equal(c.octal, 0710);
    assert_int_equal(kn_chmod_parse("u=rwx", &c, &err), 0);
    assert_false(c.is_octal);
}

#define NON_OCTAL "'. it should be octal string and between 0 and 07777"

static void test_chmod_rejects_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } rows[] = {
        /* F-18: a value starting with a digit must be octal <= 07777 */
        {"64a", "invalid chmod parameter: '64a" NON_OCTAL},
        {"10000", "invalid chmod parameter: '10000" NON_OCTAL},
        {"017777", "invalid chmod parameter: '017777" NON_OCTAL},
        {"8", "invalid chmod parameter: '8" NON_OCTAL},
        {"9", "invalid chmod parameter: '9" NON_OCTAL},
        {"0o755", "invalid chmod parameter: '0o755" NON_OCTAL},
        {"755 ", "invalid chmod parameter: '755 " NON_OCTAL},
        {"0,u+x", "invalid chmod parameter: '0,u+x" NON_OCTAL},
        {"99999999999999999999", "invalid chmod parameter: '99999999999999999999" NON_OCTAL},
        /* F-18: anything else must be symbolic */
        {"", "invalid chmod parameter: '': invalid syntax"},
        {"u", "invalid chmod parameter: 'u': invalid syntax"},
        {"go", "invalid chmod parameter: 'go': invalid syntax"},
        {",", "invalid chmod parameter: ',': invalid syntax"},
        {"u+r,", "invalid chmod parameter: 'u+r,': invalid syntax"},
        {"+r,,+w", "invalid chmod parameter: '+r,,+w': invalid syntax"},
        {"q+r", "invalid chmod parameter: 'q+r': invalid syntax"},
        {"ux", "invalid chmod parameter: 'ux': invalid syntax"},
        {"u+rq", "invalid chmod parameter: 'u+rq': invalid syntax"},
        {"+755", "invalid chmod parameter: '+755': invalid syntax"},
        {"-1", "invalid chmod parameter: '-1': invalid syntax"},
        {" 755", "invalid chmod parameter: ' 755': invalid syntax"},
        {"U+x", "invalid chmod parameter: 'U+x': invalid syntax"},
    };
    int failed = 0;
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_chmod c;
        kn_autoerr kn_err err = KN_ERR_INIT;
        int rc = kn_chmod_parse(rows[i].text, &c, &err);
        if (rc != -1 || err.code != KN_EINPUT || !err.msg || strcmp(err.msg, rows[i].msg) != 0) {
            failed++;
            print_error("row %zu: '%s': want error \"%s\", got rc %d \"%s\"\n", i, rows[i].text,
                        rows[i].msg, rc, err.msg ? err.msg : "");
        }
    }
    assert_int_equal(failed, 0);
}

/* ---- kn_copy applies it (F-12, F-18) ---- */

typedef struct fixture {
    char dir[64];
    int src, dst;
} fixture;

static int setup(void **state)
{
    fixture *f = kn_xmalloc(sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/kn-chmod-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    int dir = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || mkdirat(dir, "src", 0700) < 0 || mkdirat(dir, "dst", 0755) < 0)
        return -1;
    f->src = openat(dir, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->dst = openat(dir, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dir);
    *state = f;
    return f->src < 0 || f->dst < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kn_autoerr kn_err err = KN_ERR_INIT;
    close(f->src);
    close(f->dst);
    kn_remove_tree(AT_FDCWD, f->dir, &err);
    free(f);
    return 0;
}

/* Creates `path` in dirfd with exactly `mode` (no umask). */
static void make(int dirfd, const char *path, bool is_dir, mode_t mode)
{
    if (is_dir) {
        assert_int_equal(mkdirat(dirfd, path, 0700), 0);
    } else {
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
    }
    assert_int_equal(fchmodat(dirfd, path, mode, 0), 0);
}

static mode_t mode_of(int dirfd, const char *path)
{
    struct stat st;
    if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

static void copy_tree(fixture *f, const char *chmod, const char *dest)
{
    kn_copy_opts o = {.has_chmod = true};
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_chmod_parse(chmod, &o.chmod, &err), 0);
    if (kn_copy(f->src, "/d", f->dst, dest, false, &o, &err) < 0)
        fail_msg("copy: %s", err.msg);
}

static void test_copy_applies_symbolic_chmod_per_entry(void **state)
{
    fixture *f = *state;
    make(f->src, "d", true, 0700);
    make(f->src, "d/plain", false, 0600);
    make(f->src, "d/tool", false, 0700);
    make(f->src, "d/sub", true, 0500);
    make(f->src, "d/sub/setuid", false, 04711);
    copy_tree(f, "u=rwX,go=rX", "/p/out");
    assert_int_equal(mode_of(f->dst, "p"), 0755);     /* F-12: parents 0755 */
    assert_int_equal(mode_of(f->dst, "p/out"), 0755); /* created like a parent */
    assert_int_equal(mode_of(f->dst, "p/out/plain"), 0644);
    assert_int_equal(mode_of(f->dst, "p/out/tool"), 0755);
    assert_int_equal(mode_of(f->dst, "p/out/sub"), 0755);
    assert_int_equal(mode_of(f->dst, "p/out/sub/setuid"), 0755);
}

static void test_copy_applies_octal_chmod_to_everything(void **state)
{
    fixture *f = *state;
    make(f->src, "d", true, 0755);
    make(f->src, "d/plain", false, 0644);
    make(f->src, "d/sub", true, 0755);
    copy_tree(f, "0710", "/p/out");
    assert_int_equal(mode_of(f->dst, "p"), 0710); /* F-12 quirk: parents too */
    assert_int_equal(mode_of(f->dst, "p/out"), 0710);
    assert_int_equal(mode_of(f->dst, "p/out/plain"), 0710);
    assert_int_equal(mode_of(f->dst, "p/out/sub"), 0710);
}

static void test_copy_applies_chmod_to_a_single_file(void **state)
{
    fixture *f = *state;
    make(f->src, "d", false, 0644);
    copy_tree(f, "+x", "/f");
    assert_int_equal(mode_of(f->dst, "f"), 0755);
    assert_int_equal(mode_of(f->src, "d"), 0644); /* the source is untouched */
}

int main(void)
{
    umask(022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chmod_octal_replaces_all_bits),
        cmocka_unit_test(test_chmod_symbolic_clauses),
        cmocka_unit_test(test_chmod_x_for_dirs_and_executables),
        cmocka_unit_test(test_chmod_class_copies),
        cmocka_unit_test(test_chmod_special_bits),
        cmocka_unit_test(test_chmod_apply_ignores_file_type_bits),
        cmocka_unit_test(test_chmod_only_octal_makes_parents),
        cmocka_unit_test(test_chmod_rejects_bad_values),
        cmocka_unit_test_setup_teardown(test_copy_applies_symbolic_chmod_per_entry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_copy_applies_octal_chmod_to_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_copy_applies_chmod_to_a_single_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
