/* Tests for growable arrays and string vectors (src/base/vec.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/vec.h"

#include <stdlib.h>
#include <string.h>

static void test_vec_push_grows_and_keeps_order(void **state)
{
    KN_VEC(int) v = {0};
    for (int i = 0; i < 1000; i++)
        kn_vec_push(&v, i * 3);
    assert_int_equal(v.len, 1000);
    assert_true(v.cap >= v.len);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v.items[i], i * 3);
    kn_vec_free(&v);
    assert_null(v.items);
    assert_int_equal(v.len, 0);
    assert_int_equal(v.cap, 0);
}

static void test_vec_reserve_makes_room_without_changing_len(void **state)
{
    KN_VEC(double) v = {0};
    kn_vec_reserve(&v, 37);
    assert_true(v.cap >= 37);
    assert_int_equal(v.len, 0);
    size_t cap = v.cap;
    kn_vec_reserve(&v, 3); /* never shrinks */
    assert_int_equal(v.cap, cap);
    kn_vec_free(&v);
}

static void test_vec_push_holds_structs(void **state)
{
    struct pair {
        int a;
        const char *b;
    };
    KN_VEC(struct pair) v = {0};
    kn_vec_push(&v, ((struct pair){1, "one"}));
    kn_vec_push(&v, ((struct pair){2, "two"}));
    assert_int_equal(v.items[1].a, 2);
    assert_string_equal(v.items[0].b, "one");
    kn_vec_free(&v);
}

static void test_strvec_push_copies_and_stays_null_terminated(void **state)
{
    kn_autostrvec kn_strvec v = KN_STRVEC_INIT;
    char word[] = "echo";
    kn_strvec_push(&v, word);
    word[0] = 'X';
    kn_strvec_push(&v, "hi");
    assert_int_equal(v.len, 2);
    assert_string_equal(v.items[0], "echo");
    assert_string_equal(v.items[1], "hi");
    assert_null(v.items[2]); /* usable as an argv */
    assert_int_equal(v.lens[0], 4);
}

static void test_strvec_push_owned_takes_the_pointer(void **state)
{
    kn_autostrvec kn_strvec v = KN_STRVEC_INIT;
    char *s = kn_xstrdup("mine");
    kn_strvec_push_owned(&v, s);
    assert_ptr_equal(v.items[0], s); /* freed by kn_strvec_free */
}

static void test_strvec_pushn_keeps_nul_bytes_and_reports_them(void **state)
{
    kn_autostrvec kn_strvec v = KN_STRVEC_INIT;
    kn_strvec_pushn(&v, "abcdef", 3);
    kn_strvec_pushn(&v, "a\0b", 3);
    assert_string_equal(v.items[0], "abc");
    assert_false(kn_strvec_has_nul(&v, 0));
    assert_int_equal(v.lens[1], 3);
    assert_memory_equal(v.items[1], "a\0b", 4);
    assert_true(kn_strvec_has_nul(&v, 1));
}

static void test_strvec_keeps_lengths_through_growth(void **state)
{
    kn_autostrvec kn_strvec v = KN_STRVEC_INIT;
    char word[32];
    for (int i = 0; i < 500; i++) {
        size_t n = (size_t)(i % 20);
        memset(word, 'w', n);
        word[n] = '\0';
        kn_strvec_push(&v, word);
    }
    for (int i = 0; i < 500; i++) {
        assert_int_equal(v.lens[i], (size_t)(i % 20));
        assert_int_equal(strlen(v.items[i]), (size_t)(i % 20));
    }
    assert_null(v.items[500]);
}

static void test_strvec_find_returns_first_index_or_minus_one(void **state)
{
    kn_autostrvec kn_strvec v = KN_STRVEC_INIT;
    assert_int_equal(kn_strvec_find(&v, "a"), -1);
    kn_strvec_push(&v, "a");
    kn_strvec_push(&v, "b");
    kn_strvec_push(&v, "a");
    assert_int_equal(kn_strvec_find(&v, "a"), 0);
    assert_int_equal(kn_strvec_find(&v, "b"), 1);
    assert_int_equal(kn_strvec_find(&v, "c"), -1);
}

static void test_strvec_free_resets_for_reuse(void **state)
{
    kn_strvec v = KN_STRVEC_INIT;
    kn_strvec_push(&v, "x");
    kn_strvec_free(&v);
    assert_null(v.items);
    assert_null(v.lens);
    assert_int_equal(v.len, 0);
    kn_strvec_push(&v, "y");
    assert_string_equal(v.items[0], "y");
    kn_strvec_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_push_grows_and_keeps_order),
        cmocka_unit_test(test_vec_reserve_makes_room_without_changing_len),
        cmocka_unit_test(test_vec_push_holds_structs),
        cmocka_unit_test(test_strvec_push_copies_and_stays_null_terminated),
        cmocka_unit_test(test_strvec_push_owned_takes_the_pointer),
        cmocka_unit_test(test_strvec_pushn_keeps_nul_bytes_and_reports_them),
        cmocka_unit_test(test_strvec_keeps_lengths_through_growth),
        cmocka_unit_test(test_strvec_find_returns_first_index_or_minus_one),
        cmocka_unit_test(test_strvec_free_resets_for_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
