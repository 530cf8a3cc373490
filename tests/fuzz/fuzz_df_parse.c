/* libFuzzer harness for the Dockerfile parser: any bytes must parse or fail
 * with an error, never crash, hang or leak; a parsed file must dump. */
#include "base/mem.h"
#include "frontend/df.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_autoerr kn_err err = KN_ERR_INIT;
    kn_df *df = kn_df_parse("Dockerfile", (const char *)data, size, &err);
    if (!df) {
        if (!err.msg || err.code != KN_EINPUT)
            abort(); /* every failure must explain itself as bad input */
        return 0;
    }
    free(kn_df_dump(df));
    kn_df_free(df);
    return 0;
}
