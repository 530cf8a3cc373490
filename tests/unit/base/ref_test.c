/* Tests for image references (src/frontend/ref.c), SEMANTICS G-8 and G-15. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
    const char *rule;
    const char *in;
    const char *full;     /* kn_ref_string after the default tag; NULL: error */
    const char *familiar; /* kn_ref_familiar after the default tag */
    const char *err;      /* exact error when full is NULL */
};

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct row rows[] = {
    {"G-8 short name", "alpine", "docker.io/library/alpine:latest", "alpine:latest", NULL},
    {"G-8 tag kept", "alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19", NULL},
    {"G-8 user repo", "user/app", "docker.io/user/app:latest", "user/app:latest", NULL},
    {"G-8 full name", "docker.io/library/alpine", "docker.io/library/alpine:latest",
     "alpine:latest", NULL},
    {"G-8 legacy index", "index.docker.io/library/alpine:1", "docker.io/library/alpine:1",
     "alpine:1", NULL},
    {"G-8 registry with port", "host:5000/x", "host:5000/x:latest", "host:5000/x:latest", NULL},
    {"G-8 localhost", "localhost/x:1", "localhost/x:1", "localhost/x:1", NULL},
    {"G-8 uppercase registry allowed", "Host.io/x", "Host.io/x:latest", "Host.io/x:latest", NULL},
    {"G-8 IPv6 registry", "[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest", NULL},
    {"G-8 digest only: no latest", "alpine@sha256:" D64, "docker.io/library/alpine@sha256:" D64,
     "alpine@sha256:" D64, NULL},
    {"G-8 tag and digest kept", "alpine:3@sha256:" D64, "docker.io/library/alpine:3@sha256:" D64,
     "alpine:3@sha256:" D64, NULL},
    {"G-8 separators", "a_b__c-d---e/g.h", "docker.io/a_b__c-d---e/g.h:latest",
     "a_b__c-d---e/g.h:latest", NULL},
    {"G-8 tag charset", "a:V1.2_x-y", "docker.io/library/a:V1.2_x-y", "a:V1.2_x-y", NULL},
    {"G-6 uppercase repository", "Alpine", NULL, NULL,
     "invalid reference format: repository name (library/Alpine) must be lowercase"},
    {"G-8 uppercase path", "user/App", NULL, NULL,
     "invalid reference format: repository name (user/App) must be lowercase"},
    {"G-8 empty", "", NULL, NULL, "invalid reference format"},
    {"G-8 trailing separator", "a-", NULL, NULL, "invalid reference format"},
    {"G-8 triple underscore", "a___b", NULL, NULL, "invalid reference format"},
    {"G-8 tag starting with dot", "a:.x", NULL, NULL, "invalid reference format"},
    {"G-8 two tags", "a:b:c", NULL, NULL, "invalid reference format"},
    {"G-8 64-hex name", D64, NULL, NULL,
     "invalid repository name (" D64 "), cannot specify 64-byte hexadecimal strings"},
    {"G-8 short digest", "a@sha256:abc", NULL, NULL, "invalid reference format"},
    {"G-8 wrong digest length", "a@sha256:" D64 "00", NULL, NULL, "invalid checksum digest length"},
    {"G-8 unknown digest algorithm", "a@md5:" D64, NULL, NULL, "unsupported digest algorithm"},
    {"G-8 uppercase digest hex",
     "a@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL, NULL,
     "invalid checksum digest format"},
};

static void test_ref_rows(void **state)
{
    for (size_t i = 0; i < KN_ARRAY_LEN(rows); i++) {
        const struct row *r = &rows[i];
        kn_autoerr kn_err err = KN_ERR_INIT;
        kn_ref ref;
        int rc = kn_ref_parse(r->in, &ref, &err);
        if (!r->full) {
            if (rc == 0) {
                kn_autofree char *s = kn_ref_string(&ref);
                kn_ref_free(&ref);
                fail_msg("[%s] %s parsed as %s, want error", r->rule, r->in, s);
            }
            if (strcmp(err.msg, r->err) != 0)
                fail_msg("[%s] %s: error\n  got  %s\n  want %s", r->rule, r->in, err.msg, r->err);
            continue;
        }
        if (rc < 0)
            fail_msg("[%s] %s: %s", r->rule, r->in, err.msg);
        kn_ref_default_tag(&ref);
        kn_autofree char *full = kn_ref_string(&ref);
        kn_autofree char *fam = kn_ref_familiar(&ref);
        kn_ref_free(&ref);
        if (strcmp(full, r->full) != 0 || strcmp(fam, r->familiar) != 0)
            fail_msg("[%s] %s -> %s / %s, want %s / %s", r->rule, r->in, full, fam, r->full,
                     r->familiar);
    }
}

static void test_ref_name_too_long(void **state)
{
    char name[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_ref ref;
    assert_int_equal(kn_ref_parse(name, &ref, &err), -1);
    assert_string_equal(err.msg, "repository name must not be more than 255 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_rows),
        cmocka_unit_test(test_ref_name_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
