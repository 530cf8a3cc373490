/* libFuzzer harness for image references (src/frontend/ref.c): any input
 * either fails cleanly or normalises to a reference that parses again to
 * the same full form (normalisation is idempotent). The familiar form is
 * not checked: as in Docker, `docker.io/a.b/c` shortens to `a.b/c`, which
 * reads back with a.b as the registry. */
#include "base/mem.h"
#include "base/ref.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 || memchr(data, '\0', size))
        return 0;
    kn_autofree char *s = kn_xstrndup((const char *)data, size);
    kn_err err = KN_ERR_INIT;
    kn_ref r;
    if (kn_ref_parse(s, &r, &err) < 0) {
        if (!err.msg)
            abort();
        kn_err_clear(&err);
        return 0;
    }
    kn_autofree char *full = kn_ref_string(&r);
    kn_autofree char *fam = kn_ref_familiar(&r);
    if (!*fam)
        abort();
    kn_ref_free(&r);
    kn_ref again;
    if (kn_ref_parse(full, &again, &err) < 0)
        abort();
    kn_autofree char *full2 = kn_ref_string(&again);
    kn_ref_free(&again);
    if (strcmp(full, full2) != 0)
        abort();
    return 0;
}
