/* Tests for the error convention (src/base/err.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_errf_returns_minus_one_and_sets_code_and_message(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_errf(&err, KN_EINPUT, "bad %s %d", "thing", 3), -1);
    assert_int_equal(err.code, KN_EINPUT);
    assert_string_equal(err.msg, "bad thing 3");
    assert_null(err.file);
    assert_int_equal(err.line, 0);
}

static void test_errf_appends_strerror_for_errno_codes(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_errf(&err, ENOENT, "open %s", "x");
    assert_int_equal(err.code, ENOENT);
    char want[256];
    snprintf(want, sizeof(want), "open x: %s", strerror(ENOENT));
    assert_string_equal(err.msg, want);
}

static void test_errf_leaves_kiln_codes_without_strerror(void **state)
{
    static const int codes[] = {KN_EINPUT, KN_EUSAGE, KN_EFAILED, KN_ECORRUPT};
    for (size_t i = 0; i < KN_ARRAY_LEN(codes); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_errf(&err, codes[i], "plain");
        assert_string_equal(err.msg, "plain");
    }
}

static void test_errf_replaces_a_previous_error(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_errf_at(&err, KN_EINPUT, "Dockerfile", 3, "first");
    kn_errf(&err, KN_EFAILED, "second");
    assert_int_equal(err.code, KN_EFAILED);
    assert_string_equal(err.msg, "second");
    assert_null(err.file);
    assert_int_equal(err.line, 0);
}

static void test_errf_can_reraise_its_own_message_and_file(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_errf_at(&err, KN_EINPUT, "Dockerfile", 7, "inner");
    kn_errf_at(&err, KN_ECORRUPT, err.file, err.line + 1, "outer: %s", err.msg);
    assert_int_equal(err.code, KN_ECORRUPT);
    assert_string_equal(err.msg, "outer: inner");
    assert_string_equal(err.file, "Dockerfile");
    assert_int_equal(err.line, 8);
}

static void test_errf_at_copies_the_position(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    char file[] = "sub/Dockerfile";
    kn_errf_at(&err, KN_EINPUT, file, 12, "unknown instruction: %s", "FRUM");
    file[0] = 'X';
    assert_string_equal(err.file, "sub/Dockerfile");
    assert_int_equal(err.line, 12);
    assert_string_equal(err.msg, "unknown instruction: FRUM");
}

static void test_err_wrap_prefixes_context_and_keeps_code(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_errf(&err, KN_ECORRUPT, "entry ../x escapes the layer");
    assert_int_equal(kn_err_wrap(&err, "layer %d", 3), -1);
    kn_err_wrap(&err, "load %s", "bb.tar");
    assert_string_equal(err.msg, "load bb.tar: layer 3: entry ../x escapes the layer");
    assert_int_equal(err.code, KN_ECORRUPT);
}

static void test_err_wrap_on_unset_error_marks_it_failed(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_err_wrap(&err, "step");
    assert_int_equal(err.code, KN_EFAILED);
    assert_string_equal(err.msg, "step: unknown error");
}

static void test_err_set_pos_only_fills_a_missing_position(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_errf(&err, KN_EINPUT, "bad");
    kn_err_set_pos(&err, NULL, 4);
    assert_null(err.file);
    kn_err_set_pos(&err, "Dockerfile", 4);
    kn_err_set_pos(&err, "other", 9);
    assert_string_equal(err.file, "Dockerfile");
    assert_int_equal(err.line, 4);
}

static void test_err_format_shows_file_and_line_when_known(void **state)
{
    struct {
        const char *file;
        int line;
        const char *want;
    } rows[] = {
        {NULL, 0, "boom"},
        {"Dockerfile", 0, "Dockerfile: boom"},
        {"Dockerfile", 5, "Dockerfile:5: boom"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_errf_at(&err, KN_EINPUT, rows[i].file, rows[i].line, "boom");
        kn_autofree char *s = kn_err_format(&err);
        if (strcmp(s, rows[i].want) != 0)
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, s, rows[i].want);
    }
    kn_err empty = KN_ERR_INIT;
    kn_autofree char *s = kn_err_format(&empty);
    assert_string_equal(s, "unknown error");
}

static void test_err_clear_resets_to_init(void **state)
{
    kn_err err = KN_ERR_INIT;
    kn_errf_at(&err, ENOENT, "f", 1, "x");
    kn_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_null(err.msg);
    assert_null(err.file);
    assert_int_equal(err.line, 0);
    kn_err_clear(&err); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errf_returns_minus_one_and_sets_code_and_message),
        cmocka_unit_test(test_errf_appends_strerror_for_errno_codes),
        cmocka_unit_test(test_errf_leaves_kiln_codes_without_strerror),
        cmocka_unit_test(test_errf_replaces_a_previous_error),
        cmocka_unit_test(test_errf_can_reraise_its_own_message_and_file),
        cmocka_unit_test(test_errf_at_copies_the_position),
        cmocka_unit_test(test_err_wrap_prefixes_context_and_keeps_code),
        cmocka_unit_test(test_err_wrap_on_unset_error_marks_it_failed),
        cmocka_unit_test(test_err_set_pos_only_fills_a_missing_position),
        cmocka_unit_test(test_err_format_shows_file_and_line_when_known),
        cmocka_unit_test(test_err_clear_resets_to_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
