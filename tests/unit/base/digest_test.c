/* Tests for SHA-256 and content digests (src/base/digest.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/digest.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* FIPS 180-2 test vectors, and the empty string. */
static const struct {
    const char *text;
    const char *hex;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", ABC_HEX},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static void test_sha256_hex_matches_known_vectors(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(vectors); i++) {
        char hex[KN_SHA256_HEX_SIZE];
        kn_sha256_hex(vectors[i].text, strlen(vectors[i].text), hex);
        if (strcmp(hex, vectors[i].hex) != 0)
            fail_msg("sha256(\"%s\") = %s, want %s", vectors[i].text, hex, vectors[i].hex);
    }
}

static void test_sha256_streaming_equals_one_shot_for_any_split(void **state)
{
    const char *text = vectors[2].text;
    size_t len = strlen(text);
    for (size_t split = 0; split <= len; split += 7) {
        kn_autosha256 kn_sha256 h;
        kn_sha256_init(&h);
        kn_sha256_update(&h, text, split);
        kn_sha256_update(&h, "", 0);
        kn_sha256_update(&h, text + split, len - split);
        kn_digest d;
        kn_sha256_final_digest(&h, &d);
        assert_string_equal(kn_digest_hex(&d), vectors[2].hex);
    }
}

static void test_sha256_hashes_a_million_bytes(void **state)
{
    enum { N = 1000000 };
    char *a = kn_xmalloc(N);
    memset(a, 'a', N);
    kn_autosha256 kn_sha256 h;
    kn_sha256_init(&h);
    for (size_t off = 0; off < N; off += 1000)
        kn_sha256_update(&h, a + off, 1000);
    unsigned char raw[KN_SHA256_SIZE];
    kn_sha256_final(&h, raw);
    assert_int_equal(raw[0], 0xcd);
    assert_int_equal(raw[31], 0xd0);
    kn_digest d;
    kn_sha256_digest(a, N, &d);
    assert_string_equal(d.str,
                        "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

static int temp_file_with(const void *data, size_t len)
{
    char name[] = "/tmp/kn-digest-XXXXXX";
    int fd = mkostemp(name, O_CLOEXEC);
    assert_true(fd >= 0);
    unlink(name);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void test_sha256_fd_hashes_whole_file_and_counts_bytes(void **state)
{
    enum { N = 3 * 1024 * 1024 + 5 }; /* several read chunks, and a partial one */
    unsigned char *data = kn_xmalloc(N);
    for (size_t i = 0; i < N; i++)
        data[i] = (unsigned char)(i * 31 + 7);
    kn_autoclose int fd = temp_file_with(data, N);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_digest from_fd, from_memory;
    uint64_t size = 0;
    assert_int_equal(kn_sha256_fd(fd, &from_fd, &size, &err), 0);
    kn_sha256_digest(data, N, &from_memory);
    assert_true(kn_digest_eq(&from_fd, &from_memory));
    assert_int_equal(size, N);
    free(data);
}

static void test_sha256_fd_of_empty_file_is_empty_digest(void **state)
{
    kn_autoclose int fd = temp_file_with("", 0);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_digest d;
    assert_int_equal(kn_sha256_fd(fd, &d, NULL, &err), 0);
    assert_string_equal(kn_digest_hex(&d), vectors[0].hex);
}

static void test_sha256_fd_reports_read_errors(void **state)
{
    kn_autoclose int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_digest d;
    assert_int_equal(kn_sha256_fd(fd, &d, NULL, &err), -1);
    assert_int_equal(err.code, EISDIR);
    assert_non_null(strstr(err.msg, "hash"));
}

static void test_digest_parse_accepts_canonical_sha256(void **state)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_digest d;
    assert_int_equal(kn_digest_parse(&d, "sha256:" ABC_HEX, &err), 0);
    assert_string_equal(d.str, "sha256:" ABC_HEX);
    assert_string_equal(kn_digest_hex(&d), ABC_HEX);
    assert_true(kn_digest_is_valid(d.str));
    kn_digest e;
    kn_sha256_digest("abc", 3, &e);
    assert_true(kn_digest_eq(&d, &e));
    kn_sha256_digest("abd", 3, &e);
    assert_false(kn_digest_eq(&d, &e));
}

static void test_digest_parse_rejects_malformed_digests(void **state)
{
    static const struct {
        const char *in;
        const char *why; /* a piece of the message */
    } rows[] = {
        {"", "want sha256:"},
        {ABC_HEX, "want sha256:"},
        {"sha512:" ABC_HEX, "unsupported algorithm"},
        {"SHA256:" ABC_HEX, "unsupported algorithm"},
        {"sha256:", "0 hex digits"},
        {"sha256:abc", "3 hex digits"},
        {"sha256:" ABC_HEX "0", "65 hex digits"},
        {"sha256:" ABC_HEX " ", "65 hex digits"},
        {"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
         "uppercase hex digit at offset 7"},
        {"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
         "not a hex digit at offset 70"},
        {"sha256:\n" ABC_HEX, "\\x0a"},
    };
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_digest d;
        if (kn_digest_parse(&d, rows[i].in, &err) != -1)
            fail_msg("row %zu: \"%s\" was accepted", i, rows[i].in);
        assert_int_equal(err.code, KN_EINPUT);
        if (!strstr(err.msg, rows[i].why))
            fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err.msg, rows[i].why);
        assert_non_null(strstr(err.msg, "invalid digest"));
        assert_false(kn_digest_is_valid(rows[i].in));
    }
}

static void test_digest_parse_shortens_long_input_in_message(void **state)
{
    char *long_input = kn_xmalloc(10001);
    memset(long_input, 'x', 10000);
    long_input[10000] = '\0';
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_digest d;
    assert_int_equal(kn_digest_parse(&d, long_input, &err), -1);
    assert_true(strlen(err.msg) < 200);
    assert_non_null(strstr(err.msg, "\"..."));
    free(long_input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_hex_matches_known_vectors),
        cmocka_unit_test(test_sha256_streaming_equals_one_shot_for_any_split),
        cmocka_unit_test(test_sha256_hashes_a_million_bytes),
        cmocka_unit_test(test_sha256_fd_hashes_whole_file_and_counts_bytes),
        cmocka_unit_test(test_sha256_fd_of_empty_file_is_empty_digest),
        cmocka_unit_test(test_sha256_fd_reports_read_errors),
        cmocka_unit_test(test_digest_parse_accepts_canonical_sha256),
        cmocka_unit_test(test_digest_parse_rejects_malformed_digests),
        cmocka_unit_test(test_digest_parse_shortens_long_input_in_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
