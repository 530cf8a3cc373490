/* Tests for .dockerignore reading and matching (src/frontend/dockerignore.c),
 * SEMANTICS F-28 .. F-31, with moby/patternmatcher's behaviour. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/mem.h"
#include "frontend/dockerignore.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct row {
    const char *id;
    const char *file; /* .dockerignore contents */
    const char *path; /* context-relative path */
    bool excluded;
} row;

static const row rows[] = {
    {"F-28 plain", "secret.txt\n", "secret.txt", true},
    {"F-28 other file", "secret.txt\n", "app.txt", false},
    {"F-28 comment", "#secret.txt\n", "#secret.txt", false},
    {"F-28 comment only at byte 0", " #x\n", "#x", true},
    {"F-28 trimmed", "  secret.txt  \r\n", "secret.txt", true},
    {"F-28 cleaned", "./a/../b/\n", "b", true},
    {"F-28 leading slash", "/a\n", "a", true},
    {"F-28 BOM",
     "\xEF\xBB\xBF"
     "a\n",
     "a", true},
    {"F-29 star", "*.md\n", "README.md", true},
    {"F-29 star is one level", "*.md\n", "docs/README.md", false},
    {"F-29 star dir subtree", "*.md\n", "x.md/file", true},
    {"F-29 double star", "**/foo\n", "a/b/foo", true},
    {"F-29 double star zero dirs", "**/foo\n", "foo", true},
    {"F-29 double star mid", "a/**/z\n", "a/z", true},
    {"F-29 double star mid deep", "a/**/z\n", "a/b/c/z", true},
    {"F-29 double star end", "a/**\n", "a/b/c", true},
    {"F-29 question", "?.txt\n", "a.txt", true},
    {"F-29 question not slash", "a?b\n", "a/b", false},
    {"F-29 class", "[ab].txt\n", "b.txt", true},
    {"F-29 class miss", "[ab].txt\n", "c.txt", false},
    {"F-29 class range", "file[0-9]\n", "file7", true},
    {"F-29 negated class", "file[^0-9]\n", "filex", true},
    {"F-29 negated class miss", "file[^0-9]\n", "file7", false},
    {"F-29 escape", "a\\*b\n", "a*b", true},
    {"F-29 escape literal", "a\\*b\n", "axb", false},
    {"F-29 dot literal", "a.b\n", "axb", false},
    {"F-30 parent dir", "dir\n", "dir/sub/file", true},
    {"F-30 last wins", "*.txt\n!keep.txt\n", "keep.txt", false},
    {"F-30 last wins again", "*.txt\n!keep.txt\nkeep.txt\n", "keep.txt", true},
    {"F-31 exception inside excluded dir", "docs\n!docs/README.md\n", "docs/README.md", false},
    {"F-31 rest still excluded", "docs\n!docs/README.md\n", "docs/other.md", true},
    {"F-31 star then exception", "*\n!src\n", "src/main.c", false},
    {"F-31 star then exception others", "*\n!src\n", "Makefile", true},
    {"quirk: **x suffix match", "**foo\n", "xfoo", true},
    {"quirk: x** prefix match", "foo**\n", "foobar", true},
};

static void test_dockerignore_match_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_dockerignore *di = kn_dockerignore_parse(rows[i].file, strlen(rows[i].file), &err);
        if (!di) {
            fprintf(stderr, "[%s] parse failed: %s\n", rows[i].id, err.msg);
            failures++;
            continue;
        }
        bool got = kn_dockerignore_matches(di, rows[i].path);
        if (got != rows[i].excluded) {
            fprintf(stderr, "[%s] %s: got %d, want %d\n", rows[i].id, rows[i].path, got,
                    rows[i].excluded);
            failures++;
        }
        kn_dockerignore_free(di);
    }
    assert_int_equal(failures, 0);
}

static void test_dockerignore_rejects_bad_patterns(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"!\n", "illegal exclusion pattern: \"!\""},
        {"  !  \n", "illegal exclusion pattern: \"!\""},
        {"[abc\n", "syntax error in pattern"},
        {"a[]\n", "syntax error in pattern"},
        {"a\\\n", "syntax error in pattern"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_dockerignore *di = kn_dockerignore_parse(bad[i][0], strlen(bad[i][0]), &err);
        assert_null(di);
        assert_int_equal(err.code, KN_EINPUT);
        assert_non_null(strstr(err.msg, bad[i][1]));
    }
}

static void test_dockerignore_patterns_and_exclusions(void **state)
{
    (void)state;
    kn_autoerr kn_err err = KN_ERR_INIT;
    const char *text = "# comment\n\n./a/\n!b\n";
    kn_dockerignore *di = kn_dockerignore_parse(text, strlen(text), &err);
    assert_non_null(di);
    assert_int_equal(kn_dockerignore_n_patterns(di), 2);
    bool exc;
    assert_string_equal(kn_dockerignore_pattern(di, 0, &exc), "a");
    assert_false(exc);
    assert_string_equal(kn_dockerignore_pattern(di, 1, &exc), "b");
    assert_true(exc);
    assert_true(kn_dockerignore_has_exclusions(di));
    kn_dockerignore_free(di);
}

static void test_dockerignore_load_missing_is_null(void **state)
{
    (void)state;
    char dir[] = "/tmp/kn-di-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_dockerignore *di = (kn_dockerignore *)1;
    assert_int_equal(kn_dockerignore_load(dfd, ".dockerignore", &di, &err), 0);
    assert_null(di);
    int fd = openat(dfd, ".dockerignore", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
    assert_int_equal(kn_dockerignore_load(dfd, ".dockerignore", &di, &err), 0);
    assert_non_null(di);
    assert_true(kn_dockerignore_matches(di, "x"));
    kn_dockerignore_free(di);
    unlinkat(dfd, ".dockerignore", 0);
    close(dfd);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dockerignore_match_table),
        cmocka_unit_test(test_dockerignore_rejects_bad_patterns),
        cmocka_unit_test(test_dockerignore_patterns_and_exclusions),
        cmocka_unit_test(test_dockerignore_load_missing_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
