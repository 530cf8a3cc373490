/* libFuzzer harness for .dockerignore parsing and matching: the input is the
 * file, up to the first NUL byte, then a path; parsing must either fail
 * cleanly or give a matcher that answers for any path without crashing,
 * and a clean relative path excluded by a file without exceptions stays
 * excluded under its children (a matched directory covers its subtree, F-30). */
#include "base/buf.h"
#include "base/mem.h"
#include "base/path.h"
#include "frontend/dockerignore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t file_len = nul ? (size_t)(nul - text) : size;
    kn_autofree char *path = nul ? kn_xstrndup(nul + 1, size - file_len - 1) : kn_xstrdup("a/b/c");
    kn_err err = KN_ERR_INIT;
    kn_dockerignore *di = kn_dockerignore_parse(text, file_len, &err);
    if (!di) {
        if (!err.msg || err.code != KN_EINPUT)
            abort();
        kn_err_clear(&err);
        return 0;
    }
    bool m = kn_dockerignore_matches(di, path);
    kn_autofree char *clean = kn_path_clean(path);
    bool is_plain =
        path[0] && strcmp(path, ".") != 0 && strcmp(clean, path) == 0 && kn_path_is_within(path);
    if (m && is_plain && !kn_dockerignore_has_exclusions(di) && strlen(path) < 4096) {
        kn_buf child = KN_BUF_INIT;
        kn_buf_addf(&child, "%s/zz", path);
        if (!kn_dockerignore_matches(di, child.data))
            abort();
        kn_buf_free(&child);
    }
    for (size_t i = 0; i < kn_dockerignore_n_patterns(di); i++) {
        bool exc;
        (void)kn_dockerignore_pattern(di, i, &exc);
    }
    kn_dockerignore_free(di);
    return 0;
}
