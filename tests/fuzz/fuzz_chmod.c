/* libFuzzer harness for COPY/ADD --chmod values (F-18): parsing must fail
 * cleanly (KN_EINPUT with a message) or give a mode that, applied to any
 * old mode, stays within 07777; an octal value ignores the old mode. */
#include "base/mem.h"
#include "worker/copy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    kn_autofree char *text = kn_xstrndup((const char *)data, size);
    kn_err err = KN_ERR_INIT;
    kn_chmod c;
    if (kn_chmod_parse(text, &c, &err) < 0) {
        if (!err.msg || err.code != KN_EINPUT)
            abort();
        kn_err_clear(&err);
        return 0;
    }
    for (mode_t old = 0; old <= 07777; old += 0111) {
        for (int is_dir = 0; is_dir < 2; is_dir++) {
            mode_t m = kn_chmod_apply(&c, old, is_dir);
            if (m & ~(mode_t)07777)
                abort();
            if (c.is_octal && m != kn_chmod_apply(&c, 0, is_dir))
                abort();
        }
    }
    return 0;
}
