/* Tests for the jansson helpers (src/base/json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/json.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    json_t *v = kn_json_parse(text, strlen(text), &err);
    if (!v)
        fail_msg("parse %s: %s", text, err.msg);
    return v;
}

static const char *doc = "{\"name\": \"kiln\", \"size\": 1234, \"big\": -9007199254740993,"
                         " \"ok\": true, \"nil\": null, \"real\": 1.5,"
                         " \"config\": {\"Env\": [\"A=1\"]}, \"layers\": [1, 2]}";

static void test_json_parse_accepts_any_value(void **state)
{
    kn_autojson json_t *obj = parse(doc);
    assert_true(json_is_object(obj));
    kn_autojson json_t *arr = parse(" [\"CMD\", \"x\"] ");
    assert_int_equal(json_array_size(arr), 2);
    kn_autojson json_t *str = parse("\"just a string\"");
    assert_string_equal(json_string_value(str), "just a string");
}

static void test_json_parse_reads_only_len_bytes(void **state)
{
    const char *text = "{\"a\": 1}garbage";
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autojson json_t *v = kn_json_parse(text, 8, &err);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
}

static void test_json_parse_error_names_line_and_column(void **state)
{
    const char *text = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    kn_autoerr kn_err err = KN_ERR_INIT;
    assert_null(kn_json_parse(text, strlen(text), &err));
    assert_int_equal(err.code, KN_EINPUT);
    if (!strstr(err.msg, "invalid JSON at line 3, column"))
        fail_msg("message: %s", err.msg);
}

static void test_json_parse_rejects_trailing_data_and_empty_input(void **state)
{
    static const char *const bad[] = {"", "   ", "{} {}", "[1,]", "{\"a\" 1}", "\"\\u0000\""};
    for (size_t i = 0; i < KN_ARRAY_LEN(bad); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        json_t *v = kn_json_parse(bad[i], strlen(bad[i]), &err);
        if (v) {
            json_decref(v);
            fail_msg("\"%s\" was accepted", bad[i]);
        }
        assert_non_null(strstr(err.msg, "invalid JSON"));
    }
}

static void test_json_parse_keeps_last_duplicate_key_like_go(void **state)
{
    kn_autojson json_t *v = parse("{\"a\": 1, \"a\": 2}");
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 2);
}

static void test_json_getters_return_typed_members(void **state)
{
    kn_autojson json_t *obj = parse(doc);
    kn_autoerr kn_err err = KN_ERR_INIT;
    const char *name = NULL;
    int64_t size = 0, big = 0;
    bool ok = false;
    json_t *config = NULL, *layers = NULL;
    assert_int_equal(kn_json_get_string(obj, "name", &name, &err), 0);
    assert_string_equal(name, "kiln");
    assert_int_equal(kn_json_get_int(obj, "size", &size, &err), 0);
    assert_int_equal(size, 1234);
    assert_int_equal(kn_json_get_int(obj, "big", &big, &err), 0);
    assert_true(big == -9007199254740993LL);
    assert_int_equal(kn_json_get_bool(obj, "ok", &ok, &err), 0);
    assert_true(ok);
    assert_int_equal(kn_json_get_object(obj, "config", &config, &err), 0);
    assert_ptr_equal(config, json_object_get(obj, "config")); /* borrowed */
    assert_int_equal(kn_json_get_array(obj, "layers", &layers, &err), 0);
    assert_int_equal(json_array_size(layers), 2);
}

static void test_json_get_fails_on_missing_key(void **state)
{
    kn_autojson json_t *obj = parse(doc);
    kn_autoerr kn_err err = KN_ERR_INIT;
    const char *s = "unchanged";
    assert_int_equal(kn_json_get_string(obj, "tag", &s, &err), -1);
    assert_int_equal(err.code, KN_EINPUT);
    assert_string_equal(err.msg, "missing \"tag\"");
    assert_string_equal(s, "unchanged");
}

static void test_json_get_fails_on_wrong_type_naming_both(void **state)
{
    kn_autojson json_t *obj = parse(doc);
    static const struct {
        const char *key;
        int getter; /* 0 string, 1 int, 2 object, 3 array, 4 bool */
        const char *want;
    } rows[] = {
        {"size", 0, "\"size\": expected string, got integer"},
        {"name", 1, "\"name\": expected integer, got string"},
        {"real", 1, "\"real\": expected integer, got number"},
        {"layers", 2, "\"layers\": expected object, got array"},
        {"config", 3, "\"config\": expected array, got object"},
        {"nil", 4, "\"nil\": expected boolean, got null"},
        {"nil", 0, "\"nil\": expected string, got null"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        const char *s;
        int64_t n;
        json_t *j;
        bool b;
        int r = rows[i].getter == 0   ? kn_json_get_string(obj, rows[i].key, &s, &err)
                : rows[i].getter == 1 ? kn_json_get_int(obj, rows[i].key, &n, &err)
                : rows[i].getter == 2 ? kn_json_get_object(obj, rows[i].key, &j, &err)
                : rows[i].getter == 3 ? kn_json_get_array(obj, rows[i].key, &j, &err)
                                      : kn_json_get_bool(obj, rows[i].key, &b, &err);
        assert_int_equal(r, -1);
        if (strcmp(err.msg, rows[i].want) != 0)
            fail_msg("row %zu: \"%s\", want \"%s\"", i, err.msg, rows[i].want);
    }
}

static void test_json_get_fails_when_not_an_object(void **state)
{
    kn_autojson json_t *arr = parse("[1]");
    kn_autoerr kn_err err = KN_ERR_INIT;
    const char *s;
    assert_int_equal(kn_json_get_string(arr, "a", &s, &err), -1);
    assert_string_equal(err.msg, "reading \"a\": expected an object, got array");
}

static void test_json_opt_leaves_default_when_missing_or_null(void **state)
{
    kn_autojson json_t *obj = parse(doc);
    kn_autoerr kn_err err = KN_ERR_INIT;
    const char *s = "default";
    int64_t n = 7;
    bool b = true;
    json_t *j = NULL;
    assert_int_equal(kn_json_opt_string(obj, "missing", &s, &err), 0);
    assert_int_equal(kn_json_opt_string(obj, "nil", &s, &err), 0);
    assert_string_equal(s, "default");
    assert_int_equal(kn_json_opt_int(obj, "nil", &n, &err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(kn_json_opt_bool(obj, "missing", &b, &err), 0);
    assert_true(b);
    assert_int_equal(kn_json_opt_object(obj, "missing", &j, &err), 0);
    assert_int_equal(kn_json_opt_array(obj, "nil", &j, &err), 0);
    assert_null(j);
    assert_int_equal(err.code, 0);

    assert_int_equal(kn_json_opt_string(obj, "name", &s, &err), 0);
    assert_string_equal(s, "kiln");
    assert_int_equal(kn_json_opt_int(obj, "size", &n, &err), 0);
    assert_int_equal(n, 1234);
    assert_int_equal(kn_json_opt_array(obj, "layers", &j, &err), 0);
    assert_true(json_is_array(j));
}

static void test_json_opt_still_fails_on_wrong_type(void **state)
{
    kn_autojson json_t *obj = parse(doc);
    kn_autoerr kn_err err = KN_ERR_INIT;
    int64_t n = 7;
    assert_int_equal(kn_json_opt_int(obj, "name", &n, &err), -1);
    assert_string_equal(err.msg, "\"name\": expected integer, got string");
    assert_int_equal(n, 7);
    json_t *j = NULL;
    assert_int_equal(kn_json_opt_object(obj, "layers", &j, &err), -1);
    assert_null(j);
}

static void test_json_dump_canonical_sorts_keys_compactly(void **state)
{
    kn_autojson json_t *v = parse("{ \"b\": [ 1, {\"z\": 1, \"a\": \"x\"} ], \"a\": null,"
                                  " \"B\": \"\\u00e9\" }");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree char *s = kn_json_dump_canonical(v, &err);
    assert_string_equal(s, "{\"B\":\"\xc3\xa9\",\"a\":null,\"b\":[1,{\"a\":\"x\",\"z\":1}]}");
}

static void test_json_dump_canonical_is_stable_across_insertion_order(void **state)
{
    kn_autojson json_t *a = parse("{\"x\": 1, \"y\": 2, \"z\": {\"q\": 1, \"p\": 2}}");
    kn_autojson json_t *b = parse("{\"z\": {\"p\": 2, \"q\": 1}, \"y\": 2, \"x\": 1}");
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autofree char *sa = kn_json_dump_canonical(a, &err);
    kn_autofree char *sb = kn_json_dump_canonical(b, &err);
    assert_string_equal(sa, sb);
    kn_autojson json_t *scalar = json_integer(5);
    kn_autofree char *s5 = kn_json_dump_canonical(scalar, &err);
    assert_string_equal(s5, "5");
    /* Round trip. */
    kn_autojson json_t *again = parse(sa);
    assert_true(json_equal(again, a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parse_accepts_any_value),
        cmocka_unit_test(test_json_parse_reads_only_len_bytes),
        cmocka_unit_test(test_json_parse_error_names_line_and_column),
        cmocka_unit_test(test_json_parse_rejects_trailing_data_and_empty_input),
        cmocka_unit_test(test_json_parse_keeps_last_duplicate_key_like_go),
        cmocka_unit_test(test_json_getters_return_typed_members),
        cmocka_unit_test(test_json_get_fails_on_missing_key),
        cmocka_unit_test(test_json_get_fails_on_wrong_type_naming_both),
        cmocka_unit_test(test_json_get_fails_when_not_an_object),
        cmocka_unit_test(test_json_opt_leaves_default_when_missing_or_null),
        cmocka_unit_test(test_json_opt_still_fails_on_wrong_type),
        cmocka_unit_test(test_json_dump_canonical_sorts_keys_compactly),
        cmocka_unit_test(test_json_dump_canonical_is_stable_across_insertion_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
