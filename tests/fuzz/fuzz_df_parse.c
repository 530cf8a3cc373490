/* libFuzzer harness for the Dockerfile frontend: any bytes must parse or fail
 * with an input error, never crash, hang or leak. A parsed file goes on
 * through the dump, the instruction layer and its JSON output. */
#include "base/mem.h"
#include "frontend/df.h"
#include "frontend/instr.h"

#include <jansson.h>
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
    kn_dockerfile *d = kn_instr_parse_dockerfile(df, &err);
    if (d) {
        json_t *j = kn_instr_dockerfile_to_json(d);
        free(json_dumps(j, JSON_COMPACT));
        json_decref(j);
        kn_instr_free_dockerfile(d);
    } else if (!err.msg || err.code != KN_EINPUT) {
        abort();
    }
    kn_df_free(df);
    return 0;
}
