/* libFuzzer harness for the lexical path helpers: Go's path.Clean laws must
 * hold for any bytes, and kn_path_is_within and kn_path_join must agree with
 * the cleaned path. */
#include "base/buf.h"
#include "base/mem.h"
#include "base/path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool has_dotdot_name(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_autofree char *p = kn_xstrndup((const char *)data, size);
    size_t len = strlen(p);
    kn_autofree char *c = kn_path_clean(p);
    kn_autofree char *again = kn_path_clean(c);
    if (strcmp(c, again) != 0)
        abort(); /* idempotent */
    if (strlen(c) > (len ? len : 1) || strstr(c, "//") || strstr(c, "/./"))
        abort(); /* never longer; no empty or "." names */
    if (strlen(c) > 1 && c[strlen(c) - 1] == '/')
        abort(); /* no trailing slash but in "/" */
    bool escapes = strcmp(c, "..") == 0 || strncmp(c, "../", 3) == 0;
    if (kn_path_is_within(p) != (p[0] != '/' && !escapes))
        abort();

    kn_autofree char *rooted = kn_path_join("/", p);
    if (rooted[0] != '/' || has_dotdot_name(rooted))
        abort(); /* under "/", nothing climbs */
    if (len) {
        kn_autofree char *joined = kn_path_join(p, p);
        kn_buf b = KN_BUF_INIT;
        kn_buf_addf(&b, "%s/%s", p, p);
        kn_autofree char *want = kn_path_clean(b.data);
        kn_buf_free(&b);
        if (strcmp(joined, want) != 0)
            abort();
    }
    return 0;
}
