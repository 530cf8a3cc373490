/* Tests for the bounded growable buffer (src/base/buf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_buf_starts_as_empty_string(void **state)
{
    kn_buf b = KN_BUF_INIT;
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    kn_buf_free(&b);
}

static void test_buf_add_appends_and_stays_nul_terminated(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    assert_int_equal(kn_buf_add(&b, "abc", 3), 0);
    assert_int_equal(kn_buf_adds(&b, "de"), 0);
    assert_int_equal(kn_buf_addc(&b, 'f'), 0);
    assert_int_equal(kn_buf_add(&b, "ignored", 0), 0);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    assert_true(b.cap > b.len);
}

static void test_buf_add_keeps_nul_bytes(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_add(&b, "a\0b", 3);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 4);
}

static void test_buf_grows_through_many_appends(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        assert_int_equal(kn_buf_addc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 100000);
    assert_int_equal(strlen(b.data), 100000);
    for (int i = 0; i < 100000; i += 997)
        assert_int_equal(b.data[i], 'a' + i % 26);
}

static void test_buf_add_copies_from_itself_across_growth(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "0123456789");
    for (int i = 0; i < 10; i++)
        assert_int_equal(kn_buf_add(&b, b.data, b.len), 0); /* doubles, reallocating */
    assert_int_equal(b.len, 10 << 10);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] != (char)('0' + i % 10))
            fail_msg("byte %zu is %c", i, b.data[i]);
    kn_buf_add(&b, b.data + 3, 2);
    assert_string_equal(b.data + b.len - 2, "34");
}

static void test_buf_add_fails_past_max_and_leaves_buffer_unchanged(void **state)
{
    kn_autobuf kn_buf b;
    kn_buf_init(&b, 5);
    assert_int_equal(kn_buf_adds(&b, "abcd"), 0);
    errno = 0;
    assert_int_equal(kn_buf_adds(&b, "ef"), -1);
    assert_int_equal(errno, E2BIG);
    assert_string_equal(b.data, "abcd");
    assert_int_equal(b.len, 4);
    assert_int_equal(kn_buf_addc(&b, 'e'), 0); /* exactly max is fine */
    assert_int_equal(kn_buf_addc(&b, 'f'), -1);
    assert_string_equal(b.data, "abcde");
}

static void test_buf_grow_rejects_size_overflow(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "x");
    errno = 0;
    assert_int_equal(kn_buf_grow(&b, SIZE_MAX), -1);
    assert_int_equal(errno, E2BIG);
    assert_int_equal(kn_buf_grow(&b, SIZE_MAX - 1), -1); /* no room left for the NUL */
    assert_string_equal(b.data, "x");
}

static void test_buf_addf_formats(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    assert_int_equal(kn_buf_addf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(kn_buf_addf(&b, "%s", ""), 0);
    assert_int_equal(kn_buf_addf(&b, ";%05.1f", 2.5), 0);
    assert_string_equal(b.data, "n=42;002.5");
    assert_int_equal(b.len, strlen("n=42;002.5"));
}

static void test_buf_addf_fails_past_max(void **state)
{
    kn_autobuf kn_buf b;
    kn_buf_init(&b, 8);
    kn_buf_adds(&b, "12345");
    assert_int_equal(kn_buf_addf(&b, "%d", 6789), -1);
    assert_string_equal(b.data, "12345");
}

static void test_buf_truncate_shortens_only(void **state)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "hello");
    kn_buf_truncate(&b, 10);
    assert_string_equal(b.data, "hello");
    kn_buf_truncate(&b, 2);
    assert_string_equal(b.data, "he");
    assert_int_equal(b.len, 2);
    kn_buf_reset(&b);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
}

static void test_buf_release_hands_over_a_string_and_resets(void **state)
{
    kn_autobuf kn_buf b;
    kn_buf_init(&b, 100);
    kn_buf_adds(&b, "owned");
    char *s = kn_buf_release(&b);
    assert_string_equal(s, "owned");
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    assert_string_equal(b.data, "");
    free(s);

    char *empty = kn_buf_release(&b); /* never NULL, always freeable */
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
}

static void test_buf_free_keeps_the_cap_and_allows_reuse(void **state)
{
    kn_buf b;
    kn_buf_init(&b, 3);
    kn_buf_adds(&b, "abc");
    kn_buf_free(&b);
    assert_int_equal(b.max, 3);
    assert_int_equal(b.len, 0);
    assert_int_equal(kn_buf_adds(&b, "abcd"), -1);
    assert_int_equal(kn_buf_adds(&b, "xyz"), 0);
    kn_buf_free(&b);
}

static void test_buf_addf_of_its_own_data_survives_growth(void **state)
{
    /* Each round doubles the buffer, so it grows (and may move) mid-call. */
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_adds(&b, "ab");
    for (int i = 0; i < 12; i++)
        assert_int_equal(kn_buf_addf(&b, "%s", b.data), 0);
    assert_int_equal(b.len, 2u << 12);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], i % 2 ? 'b' : 'a');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_starts_as_empty_string),
        cmocka_unit_test(test_buf_add_appends_and_stays_nul_terminated),
        cmocka_unit_test(test_buf_add_keeps_nul_bytes),
        cmocka_unit_test(test_buf_grows_through_many_appends),
        cmocka_unit_test(test_buf_add_copies_from_itself_across_growth),
        cmocka_unit_test(test_buf_add_fails_past_max_and_leaves_buffer_unchanged),
        cmocka_unit_test(test_buf_grow_rejects_size_overflow),
        cmocka_unit_test(test_buf_addf_formats),
        cmocka_unit_test(test_buf_addf_fails_past_max),
        cmocka_unit_test(test_buf_addf_of_its_own_data_survives_growth),
        cmocka_unit_test(test_buf_truncate_shortens_only),
        cmocka_unit_test(test_buf_release_hands_over_a_string_and_resets),
        cmocka_unit_test(test_buf_free_keeps_the_cap_and_allows_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
