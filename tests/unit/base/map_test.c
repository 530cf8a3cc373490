/* Tests for the string-keyed hash map (src/base/map.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/map.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A free function that counts its calls, to check who frees what. */
static int n_freed;

static void counting_free(void *p)
{
    n_freed++;
    free(p);
}

static void test_map_get_on_empty_map_returns_null(void **state)
{
    kn_automap kn_map m;
    kn_map_init(&m, NULL);
    assert_null(kn_map_get(&m, "x"));
    assert_false(kn_map_has(&m, "x"));
    assert_false(kn_map_del(&m, "x"));
    assert_null(kn_map_take(&m, "x"));
    assert_int_equal(kn_map_len(&m), 0);
    size_t pos = 0;
    assert_false(kn_map_next(&m, &pos, NULL, NULL));
}

static void test_map_set_then_get_returns_value(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    int a = 1, b = 2;
    kn_map_set(&m, "alpha", &a);
    kn_map_set(&m, "beta", &b);
    assert_ptr_equal(kn_map_get(&m, "alpha"), &a);
    assert_ptr_equal(kn_map_get(&m, "beta"), &b);
    assert_null(kn_map_get(&m, "gamma"));
    assert_null(kn_map_get(&m, "alph"));
    assert_int_equal(kn_map_len(&m), 2);
}

static void test_map_copies_keys(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    char key[] = "name";
    int v = 0;
    kn_map_set(&m, key, &v);
    key[0] = 'g';
    assert_ptr_equal(kn_map_get(&m, "name"), &v);
    assert_null(kn_map_get(&m, "game"));
}

static void test_map_getn_looks_up_a_slice(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    int v = 0;
    kn_map_set(&m, "HOME", &v);
    const char *word = "${HOME}/bin";
    assert_ptr_equal(kn_map_getn(&m, word + 2, 4), &v);
    assert_true(kn_map_hasn(&m, word + 2, 4));
    assert_null(kn_map_getn(&m, word + 2, 3));
    assert_null(kn_map_getn(&m, "HOME\0x", 6));
}

static void test_map_setn_stores_a_slice_as_key(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    int v = 0;
    kn_map_setn(&m, "PATH=/bin", 4, &v);
    assert_ptr_equal(kn_map_get(&m, "PATH"), &v);
    size_t pos = 0;
    const char *key;
    assert_true(kn_map_next(&m, &pos, &key, NULL));
    assert_string_equal(key, "PATH");
}

static void test_map_empty_key_is_a_key(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    int v = 0;
    kn_map_set(&m, "", &v);
    assert_ptr_equal(kn_map_get(&m, ""), &v);
    assert_true(kn_map_del(&m, ""));
    assert_false(kn_map_has(&m, ""));
}

static void test_map_has_tells_stored_null_from_missing(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(free);
    kn_map_set(&m, "unset", NULL);
    assert_null(kn_map_get(&m, "unset"));
    assert_true(kn_map_has(&m, "unset"));
    assert_false(kn_map_has(&m, "other"));
    assert_int_equal(kn_map_len(&m), 1);
}

static void test_map_set_replaces_and_frees_old_value(void **state)
{
    n_freed = 0;
    kn_map m = KN_MAP_INIT(counting_free);
    kn_map_set(&m, "k", kn_xstrdup("old"));
    char *new_value = kn_xstrdup("new");
    kn_map_set(&m, "k", new_value);
    assert_int_equal(n_freed, 1);
    assert_int_equal(kn_map_len(&m), 1);
    assert_string_equal(kn_map_get(&m, "k"), "new");
    kn_map_set(&m, "k", new_value); /* same pointer: nothing to free */
    assert_int_equal(n_freed, 1);
    kn_map_free(&m);
    assert_int_equal(n_freed, 2);
}

static void test_map_del_frees_value_and_take_does_not(void **state)
{
    n_freed = 0;
    kn_automap kn_map m = KN_MAP_INIT(counting_free);
    kn_map_set(&m, "a", kn_xstrdup("1"));
    kn_map_set(&m, "b", kn_xstrdup("2"));
    assert_true(kn_map_del(&m, "a"));
    assert_int_equal(n_freed, 1);
    assert_false(kn_map_del(&m, "a"));
    char *v = kn_map_take(&m, "b");
    assert_string_equal(v, "2");
    assert_int_equal(n_freed, 1);
    assert_int_equal(kn_map_len(&m), 0);
    free(v);
}

static void test_map_next_iterates_in_insertion_order(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    static const char *const keys[] = {"zeta", "alpha", "mid", "beta", "omega"};
    int values[KN_ARRAY_LEN(keys)];
    for (size_t i = 0; i < KN_ARRAY_LEN(keys); i++)
        kn_map_set(&m, keys[i], &values[i]);
    kn_map_set(&m, "alpha", &values[1]); /* replacing keeps the place */
    size_t pos = 0, i = 0;
    const char *key;
    void *value;
    while (kn_map_next(&m, &pos, &key, &value)) {
        assert_true(i < KN_ARRAY_LEN(keys));
        assert_string_equal(key, keys[i]);
        assert_ptr_equal(value, &values[i]);
        i++;
    }
    assert_int_equal(i, KN_ARRAY_LEN(keys));
}

static void test_map_allows_deleting_while_iterating(void **state)
{
    kn_automap kn_map m = KN_MAP_INIT(free);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        kn_map_set(&m, key, kn_xstrdup(key));
    }
    size_t pos = 0, seen = 0;
    const char *k;
    while (kn_map_next(&m, &pos, &k, NULL)) {
        seen++;
        if (atoi(k + 1) % 2 == 0) {
            snprintf(key, sizeof(key), "%s", k);
            assert_true(kn_map_del(&m, key)); /* k dies with the entry */
        }
    }
    assert_int_equal(seen, 100);
    assert_int_equal(kn_map_len(&m), 50);
    pos = 0;
    while (kn_map_next(&m, &pos, &k, NULL))
        assert_int_equal(atoi(k + 1) % 2, 1);
}

static void test_map_grows_and_keeps_entries(void **state)
{
    enum { N = 200000 };
    kn_automap kn_map m = KN_MAP_INIT(free);
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "layer/%d", i);
        int *v = kn_xmalloc(sizeof(int));
        *v = i;
        kn_map_set(&m, key, v);
    }
    assert_int_equal(kn_map_len(&m), N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "layer/%d", i);
        int *v = kn_map_get(&m, key);
        if (!v || *v != i)
            fail_msg("lost %s", key);
    }
    size_t pos = 0;
    void *value;
    for (int i = 0; kn_map_next(&m, &pos, NULL, &value); i++)
        assert_int_equal(*(int *)value, i);
}

/* A deterministic generator, so a failure can be replayed. */
static uint32_t next_random(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_map_matches_a_reference_under_random_set_and_delete(void **state)
{
    enum { N_KEYS = 4096, N_OPS = 300000 };
    kn_automap kn_map m = KN_MAP_INIT(NULL);
    static int reference[N_KEYS]; /* value + 1, or 0 when absent */
    static int values[N_KEYS];
    memset(reference, 0, sizeof(reference));
    size_t live = 0;
    uint32_t seed = 12345;
    char key[16];
    for (int op = 0; op < N_OPS; op++) {
        uint32_t r = next_random(&seed);
        int k = (int)(r % N_KEYS);
        snprintf(key, sizeof(key), "%x", k);
        if ((r >> 16) % 3 == 0) {
            bool had = reference[k] != 0;
            assert_int_equal(kn_map_del(&m, key), had);
            live -= had;
            reference[k] = 0;
        } else {
            values[k] = op;
            live += reference[k] == 0;
            reference[k] = 1;
            kn_map_set(&m, key, &values[k]);
        }
        if (op % 1000 == 0) {
            assert_int_equal(kn_map_len(&m), live);
            for (int j = 0; j < N_KEYS; j++) {
                snprintf(key, sizeof(key), "%x", j);
                if (kn_map_has(&m, key) != (reference[j] != 0))
                    fail_msg("op %d: key %s presence differs", op, key);
            }
        }
    }
    size_t pos = 0, n = 0;
    const char *k;
    void *v;
    while (kn_map_next(&m, &pos, &k, &v)) {
        int j = (int)strtol(k, NULL, 16);
        assert_true(reference[j]);
        assert_ptr_equal(v, &values[j]);
        n++;
    }
    assert_int_equal(n, live);
}

static void test_map_free_frees_all_values_and_allows_reuse(void **state)
{
    n_freed = 0;
    kn_map m;
    kn_map_init(&m, counting_free);
    char key[16];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "%d", i);
        kn_map_set(&m, key, kn_xstrdup(key));
    }
    kn_map_set(&m, "null", NULL); /* NULL values are not passed to free_fn */
    kn_map_free(&m);
    assert_int_equal(n_freed, 50);
    assert_int_equal(kn_map_len(&m), 0);
    assert_null(kn_map_get(&m, "1"));
    kn_map_set(&m, "again", kn_xstrdup("x"));
    assert_string_equal(kn_map_get(&m, "again"), "x");
    kn_map_free(&m);
    assert_int_equal(n_freed, 51);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_get_on_empty_map_returns_null),
        cmocka_unit_test(test_map_set_then_get_returns_value),
        cmocka_unit_test(test_map_copies_keys),
        cmocka_unit_test(test_map_getn_looks_up_a_slice),
        cmocka_unit_test(test_map_setn_stores_a_slice_as_key),
        cmocka_unit_test(test_map_empty_key_is_a_key),
        cmocka_unit_test(test_map_has_tells_stored_null_from_missing),
        cmocka_unit_test(test_map_set_replaces_and_frees_old_value),
        cmocka_unit_test(test_map_del_frees_value_and_take_does_not),
        cmocka_unit_test(test_map_next_iterates_in_insertion_order),
        cmocka_unit_test(test_map_allows_deleting_while_iterating),
        cmocka_unit_test(test_map_grows_and_keeps_entries),
        cmocka_unit_test(test_map_matches_a_reference_under_random_set_and_delete),
        cmocka_unit_test(test_map_free_frees_all_values_and_allows_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
