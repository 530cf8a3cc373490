/* Tests for string helpers and suggestions (src/base/str.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/str.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_str_has_prefix_and_suffix(void **state)
{
    struct {
        const char *s, *affix;
        bool prefix, suffix;
    } rows[] = {
        {"docker-image://x", "docker-image://", true, false},
        {"abc", "", true, true},
        {"", "", true, true},
        {"", "a", false, false},
        {"ab", "abc", false, false},
        {"file.tar.gz", ".gz", false, true},
        {"aa", "a", true, true},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        if (kn_str_has_prefix(rows[i].s, rows[i].affix) != rows[i].prefix)
            fail_msg("row %zu: has_prefix(\"%s\", \"%s\")", i, rows[i].s, rows[i].affix);
        if (kn_str_has_suffix(rows[i].s, rows[i].affix) != rows[i].suffix)
            fail_msg("row %zu: has_suffix(\"%s\", \"%s\")", i, rows[i].s, rows[i].affix);
    }
}

static void test_str_lower_and_upper_change_ascii_only(void **state)
{
    kn_autofree char *lower = kn_str_lower("FROM Ünïcode-X_9");
    assert_string_equal(lower, "from Ünïcode-x_9");
    kn_autofree char *upper = kn_str_upper("copy --from=é");
    assert_string_equal(upper, "COPY --FROM=é");
    kn_autofree char *empty = kn_str_lower("");
    assert_string_equal(empty, "");
}

static void test_str_eq_nocase_ignores_ascii_case_only(void **state)
{
    assert_true(kn_str_eq_nocase("Builder", "bUILDER"));
    assert_true(kn_str_eq_nocase("", ""));
    assert_false(kn_str_eq_nocase("build", "builder"));
    assert_false(kn_str_eq_nocase("builder", "build"));
    assert_false(kn_str_eq_nocase("É", "é"));
    assert_false(kn_str_eq_nocase("[", "{")); /* 0x5b and 0x7b differ by the case bit */
}

static void test_str_distance_counts_edits(void **state)
{
    struct {
        const char *a, *b;
        int want;
    } rows[] = {
        {"", "", 0},
        {"abc", "abc", 0},
        {"", "abc", 3},
        {"abc", "", 3},
        {"kitten", "sitting", 3},
        {"flaw", "lawn", 2},
        {"FROM", "FRUM", 1},
        {"from", "FROM", 4}, /* case counts here */
        {"copy", "cpoy", 2}, /* a swap is two edits, not one */
        {"gumbo", "gambol", 2},
        {"saturday", "sunday", 3},
        {"héllo", "hello", 1}, /* one character, two bytes */
        {"日本", "日本語", 1},
        {"\xff", "\xfe", 0}, /* invalid bytes are both U+FFFD, as in Go */
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        int d = kn_str_distance(rows[i].a, rows[i].b, 10);
        if (d != rows[i].want)
            fail_msg("row %zu: distance(\"%s\", \"%s\") = %d, want %d", i, rows[i].a, rows[i].b, d,
                     rows[i].want);
    }
}

static void test_str_distance_stops_past_max(void **state)
{
    assert_int_equal(kn_str_distance("kitten", "sitting", 2), 3);
    assert_int_equal(kn_str_distance("kitten", "sitting", 3), 3);
    assert_int_equal(kn_str_distance("a", "abcdefgh", 2), 3);
    assert_int_equal(kn_str_distance("abc", "xyz", 0), 1);
    assert_int_equal(kn_str_distance("abc", "abc", 0), 0);
    assert_int_equal(kn_str_distance("abc", "abd", -5), 1); /* negative max acts as 0 */
}

static void test_str_distance_is_cheap_for_long_strings(void **state)
{
    enum { N = 1 << 20 };
    char *a = kn_xmalloc(N + 1), *b = kn_xmalloc(N + 1);
    memset(a, 'a', N);
    memset(b, 'a', N);
    a[N] = b[N] = '\0';
    b[N / 2] = 'b';
    clock_t start = clock();
    assert_int_equal(kn_str_distance(a, b, 2), 1);
    b[N / 3] = 'c';
    b[N / 4] = 'd';
    assert_int_equal(kn_str_distance(a, b, 2), 3);
    /* A full table would be 2^40 cells; the band is a few million. */
    assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 5.0);
    free(a);
    free(b);
}

static void test_str_suggest_finds_the_closest_candidate(void **state)
{
    static const char *const names[] = {"builder", "runtime", "test", "base"};
    assert_string_equal(kn_str_suggest("buidler", names, 4, 2), "builder");
    assert_string_equal(kn_str_suggest("tset", names, 4, 2), "test");
    assert_string_equal(kn_str_suggest("bse", names, 4, 2), "base");
    assert_null(kn_str_suggest("compiler", names, 4, 2));
    assert_null(kn_str_suggest("builder", names, 0, 2));
}

static void test_str_suggest_ignores_case(void **state)
{
    static const char *const instrs[] = {"from", "run", "copy", "workdir"};
    assert_string_equal(kn_str_suggest("FRUM", instrs, 4, 2), "from");
    assert_string_equal(kn_str_suggest("WorkDri", instrs, 4, 2), "workdir");
    assert_string_equal(kn_str_suggest("COPY", instrs, 4, 2), "copy"); /* exact, any case */
}

static void test_str_suggest_ties_go_to_the_first(void **state)
{
    static const char *const names[] = {"cat", "bat", "hat"};
    assert_string_equal(kn_str_suggest("rat", names, 3, 2), "cat");
    static const char *const later_exact[] = {"cat", "rat"};
    assert_string_equal(kn_str_suggest("rat", later_exact, 2, 2), "rat");
}

static void test_str_suggest_respects_max_distance_and_skips_null(void **state)
{
    static const char *const names[] = {NULL, "abcd"};
    assert_null(kn_str_suggest("ab", names, 2, 1));
    assert_string_equal(kn_str_suggest("ab", names, 2, 2), "abcd");
    assert_null(kn_str_suggest("abcd", names, 2, -1));
}

static void test_str_trim_space_trims_unicode_white_space(void **state)
{
    struct {
        const char *in, *want;
    } rows[] = {
        {"", ""},
        {"   ", ""},
        {"abc", "abc"},
        {" \t\r\n\v\fabc \n", "abc"},
        {"a b", "a b"},
        {"\xc2\xa0x\xc2\x85", "x"},             /* NBSP, NEL */
        {"\xe3\x80\x80x y\xe2\x80\xa8", "x y"}, /* ideographic space, line separator */
        {"\xff ", "\xff"},                      /* an invalid byte is not space */
        {" \xe2\x80", "\xe2\x80"},              /* nor is a truncated sequence */
        {"\xe2\x80\x8b", "\xe2\x80\x8b"},       /* zero width space is not white space in Go */
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autofree char *got = kn_str_trim_space(rows[i].in);
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, got, rows[i].want);
    }
}

static void test_str_trim_space_span_narrows_without_copying(void **state)
{
    const char *line = "  ENV a=b  \n#rest";
    const char *s = line;
    size_t len = 12;
    kn_str_trim_space_span(&s, &len);
    assert_ptr_equal(s, line + 2);
    assert_int_equal(len, 7);
    assert_memory_equal(s, "ENV a=b", 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_has_prefix_and_suffix),
        cmocka_unit_test(test_str_lower_and_upper_change_ascii_only),
        cmocka_unit_test(test_str_eq_nocase_ignores_ascii_case_only),
        cmocka_unit_test(test_str_distance_counts_edits),
        cmocka_unit_test(test_str_distance_stops_past_max),
        cmocka_unit_test(test_str_distance_is_cheap_for_long_strings),
        cmocka_unit_test(test_str_suggest_finds_the_closest_candidate),
        cmocka_unit_test(test_str_suggest_ignores_case),
        cmocka_unit_test(test_str_suggest_ties_go_to_the_first),
        cmocka_unit_test(test_str_suggest_respects_max_distance_and_skips_null),
        cmocka_unit_test(test_str_trim_space_trims_unicode_white_space),
        cmocka_unit_test(test_str_trim_space_span_narrows_without_copying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
