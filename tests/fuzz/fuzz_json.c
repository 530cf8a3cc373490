/* libFuzzer harness for the JSON helpers: any bytes parse or fail with an
 * error; a parsed value dumps canonically, and the dump parses back to an
 * equal value that dumps to the same bytes. */
#include "base/json.h"
#include "base/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_autojson json_t *v = kn_json_parse((const char *)data, size, &err);
    if (!v) {
        if (!err.msg || err.code != KN_EINPUT)
            abort();
        return 0;
    }
    kn_autofree char *s = kn_json_dump_canonical(v, &err);
    if (!s)
        abort(); /* what jansson parsed, it can encode */
    kn_autojson json_t *back = kn_json_parse(s, strlen(s), &err);
    if (!back || !json_equal(v, back))
        abort();
    kn_autofree char *s2 = kn_json_dump_canonical(back, &err);
    if (!s2 || strcmp(s, s2) != 0)
        abort();
    return 0;
}
