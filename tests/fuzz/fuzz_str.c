/* libFuzzer harness for the bounded edit distance: for any two strings and
 * bound, the banded computation must agree with the unbounded one, and the
 * distance must be symmetric. */
#include "base/mem.h"
#include "base/str.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 2048)
        return 0;
    int max = data[0] % 6;
    kn_autofree char *text = kn_xstrndup((const char *)data + 1, size - 1);
    char *nl = strchr(text, '\n');
    const char *a = text, *b = "";
    if (nl) {
        *nl = '\0';
        b = nl + 1;
    }
    int full = kn_str_distance(a, b, INT_MAX);
    int bounded = kn_str_distance(a, b, max);
    if (bounded != (full > max ? max + 1 : full))
        abort();
    if (kn_str_distance(b, a, INT_MAX) != full || kn_str_distance(a, a, max) != 0)
        abort();
    const char *cands[] = {a, b};
    const char *best = kn_str_suggest(a, cands, 2, max);
    if (best != a)
        abort(); /* a word is always closest to itself, and it comes first */
    return 0;
}
