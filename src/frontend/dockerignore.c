/* .dockerignore reading and matching (SEMANTICS F-27 .. F-31), after
 * moby/patternmatcher: ignorefile.ReadAll reads the lines, New checks each
 * pattern with filepath.Match's syntax, and a pattern compiles to an exact,
 * prefix, suffix or regular-expression match. The regular expression is
 * evaluated here as a small token machine (no backtracking: one pass per
 * token over the set of reachable positions, O(tokens * path)). */
#include "frontend/dockerignore.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/path.h"
#include "base/str.h"
#include "base/utf8.h"
#include "base/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* bufio.Scanner's default limit: a longer line fails ReadAll. */
#define MAX_LINE 65536
#define MAX_FILE (16u << 20)

typedef enum match_type { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_REGEXP } match_type;

typedef enum tok_kind {
    TOK_LIT,         /* one byte */
    TOK_ANY,         /* ? : one character but '/' */
    TOK_STAR,        /* * : a run without '/' */
    TOK_DSTAR_SLASH, /* ** not at the end: any run ending in a slash, or nothing */
    TOK_DSTAR_ALL,   /* ** at the end: anything */
    TOK_CLASS,       /* [...] */
} tok_kind;

typedef struct range32 {
    uint32_t lo, hi;
} range32;

typedef struct tok {
    tok_kind kind;
    unsigned char c;              /* TOK_LIT */
    bool negate;                  /* TOK_CLASS */
    size_t first_range, n_ranges; /* TOK_CLASS: into pattern.ranges */
} tok;

typedef struct pattern {
    char *text; /* cleaned, without '!' */
    bool is_exception;
    match_type type;
    KN_VEC(tok) toks;
    KN_VEC(range32) ranges;
} pattern;

struct kn_dockerignore {
    KN_VEC(pattern) patterns;
    bool has_exclusions;
};

/* One character of a class (filepath.Match's getEsc): an escaped or plain
 * rune, never an unescaped '-' or ']'. Returns bytes used, 0 when bad. */
static size_t class_char(const char *p, size_t len, uint32_t *r)
{
    size_t i = 0;
    if (len == 0 || p[0] == '-' || p[0] == ']')
        return 0;
    if (p[0] == '\\') {
        i = 1;
        if (i == len)
            return 0;
    }
    bool valid;
    size_t n = kn_utf8_decode(p + i, len - i, &valid);
    *r = valid ? kn_utf8_rune(p + i, n) : 0xFFFD;
    return i + n;
}

/* Parse the class at p (just after '['); returns bytes used up to and
 * including ']', 0 when malformed. Ranges go to pat (may be NULL). */
static size_t parse_class(const char *p, size_t len, pattern *pat, bool *negate)
{
    size_t i = 0, n_ranges = 0;
    *negate = false;
    if (i < len && p[i] == '^') {
        *negate = true;
        i++;
    }
    for (;;) {
        if (i < len && p[i] == ']' && n_ranges > 0)
            return i + 1;
        uint32_t lo, hi;
        size_t n = class_char(p + i, len - i, &lo);
        if (n == 0)
            return 0;
        i += n;
        hi = lo;
        if (i < len && p[i] == '-') {
            n = class_char(p + i + 1, len - i - 1, &hi);
            if (n == 0)
                return 0;
            i += 1 + n;
        }
        if (i >= len)
            return 0; /* unclosed */
        if (pat) {
            range32 rg = {lo, hi};
            kn_vec_push(&pat->ranges, rg);
        }
        n_ranges++;
    }
}

/* filepath.Match's syntax check: classes well formed, no trailing '\'. */
static bool pattern_syntax_ok(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\\') {
            if (++i >= len)
                return false;
        } else if (p[i] == '[') {
            bool negate;
            size_t n = parse_class(p + i + 1, len - i - 1, NULL, &negate);
            if (n == 0)
                return false;
            i += n;
        }
    }
    return true;
}

static void push_tok(pattern *pat, tok_kind kind, unsigned char c)
{
    tok t = {kind, c, false, 0, 0};
    kn_vec_push(&pat->toks, t);
}

/* patternmatcher's Pattern.compile, with classes kept as filepath.Match reads
 * them. The syntax was checked already. */
static void compile(pattern *pat)
{
    const char *p = pat->text;
    size_t len = strlen(p);
    match_type type = MATCH_EXACT;
    for (size_t i = 0, iter = 0; i < len; iter++) {
        char ch = p[i++];
        if (ch == '*') {
            if (i < len && p[i] == '*') {
                i++;
                if (i < len && p[i] == '/')
                    i++;
                if (i == len) {
                    if (type == MATCH_EXACT) {
                        type = MATCH_PREFIX;
                    } else {
                        push_tok(pat, TOK_DSTAR_ALL, 0);
                        type = MATCH_REGEXP;
                    }
                } else {
                    push_tok(pat, TOK_DSTAR_SLASH, 0);
                    type = MATCH_REGEXP;
                }
                if (iter == 0)
                    type = MATCH_SUFFIX;
            } else {
                push_tok(pat, TOK_STAR, 0);
                type = MATCH_REGEXP;
            }
        } else if (ch == '?') {
            push_tok(pat, TOK_ANY, 0);
            type = MATCH_REGEXP;
        } else if (ch == '\\') {
            if (i < len) {
                push_tok(pat, TOK_LIT, (unsigned char)p[i++]);
                type = MATCH_REGEXP;
            } else {
                push_tok(pat, TOK_LIT, '\\');
            }
        } else if (ch == '[') {
            tok t = {TOK_CLASS, 0, false, pat->ranges.len, 0};
            i += parse_class(p + i, len - i, pat, &t.negate);
            t.n_ranges = pat->ranges.len - t.first_range;
            kn_vec_push(&pat->toks, t);
            type = MATCH_REGEXP;
        } else if (ch == ']') {
            push_tok(pat, TOK_LIT, ']');
            type = MATCH_REGEXP;
        } else {
            push_tok(pat, TOK_LIT, (unsigned char)ch);
        }
    }
    pat->type = type;
}

static bool class_has(const pattern *pat, const tok *t, uint32_t r)
{
    bool in = false;
    for (size_t k = 0; k < t->n_ranges && !in; k++) {
        const range32 *rg = &pat->ranges.items[t->first_range + k];
        in = r >= rg->lo && r <= rg->hi;
    }
    return in != t->negate;
}

/* The regular expression, anchored at both ends, over path. */
static bool regexp_match(const pattern *pat, const char *s, size_t n)
{
    kn_autofree bool *cur = kn_xcalloc(n + 1, sizeof(bool));
    kn_autofree bool *next = kn_xcalloc(n + 1, sizeof(bool));
    kn_autofree bool *star = kn_xcalloc(n + 1, sizeof(bool));
    cur[0] = true;
    for (size_t ti = 0; ti < pat->toks.len; ti++) {
        const tok *t = &pat->toks.items[ti];
        memset(next, 0, n + 1);
        bool any = false;
        for (size_t q = 0; q <= n; q++) {
            switch (t->kind) {
            case TOK_LIT:
                if (q > 0 && cur[q - 1] && (unsigned char)s[q - 1] == t->c)
                    next[q] = true;
                break;
            case TOK_STAR:
                next[q] = cur[q] || (q > 0 && next[q - 1] && s[q - 1] != '/');
                break;
            case TOK_DSTAR_ALL:
                next[q] = cur[q] || (q > 0 && next[q - 1] && s[q - 1] != '\n');
                break;
            case TOK_DSTAR_SLASH:
                star[q] = cur[q] || (q > 0 && star[q - 1] && s[q - 1] != '\n');
                next[q] = next[q] || cur[q] || (q > 0 && s[q - 1] == '/' && star[q - 1]);
                break;
            case TOK_ANY:
            case TOK_CLASS:
                if (cur[q] && q < n) {
                    bool valid;
                    size_t k = kn_utf8_decode(s + q, n - q, &valid);
                    uint32_t r = valid ? kn_utf8_rune(s + q, k) : 0xFFFD;
                    if (t->kind == TOK_ANY ? s[q] != '/' : class_has(pat, t, r))
                        next[q + k] = true;
                }
                break;
            }
        }
        for (size_t q = 0; q <= n; q++)
            any = any || next[q];
        if (!any)
            return false;
        bool *tmp = cur;
        cur = next;
        next = tmp;
    }
    return cur[n];
}

static bool pattern_match(const pattern *pat, const char *s, size_t n)
{
    size_t plen = strlen(pat->text);
    switch (pat->type) {
    case MATCH_EXACT:
        return n == plen && memcmp(s, pat->text, n) == 0;
    case MATCH_PREFIX:
        return n >= plen - 2 && memcmp(s, pat->text, plen - 2) == 0;
    case MATCH_SUFFIX: {
        /* "**" first: HasSuffix(path, pattern[2:]), or the path is the
         * suffix without its leading '/'. */
        const char *suf = pat->text + 2;
        size_t slen = plen - 2;
        if (n >= slen && memcmp(s + n - slen, suf, slen) == 0)
            return true;
        return slen > 0 && suf[0] == '/' && n == slen - 1 && memcmp(s, suf + 1, n) == 0;
    }
    case MATCH_REGEXP:
        return regexp_match(pat, s, n);
    }
    return false;
}

static void pattern_free(pattern *pat)
{
    free(pat->text);
    kn_vec_free(&pat->toks);
    kn_vec_free(&pat->ranges);
}

void kn_dockerignore_free(kn_dockerignore *di)
{
    if (!di)
        return;
    for (size_t i = 0; i < di->patterns.len; i++)
        pattern_free(&di->patterns.items[i]);
    kn_vec_free(&di->patterns);
    free(di);
}

/* One line of the file, as ReadAll and New treat it; adds nothing for
 * comments and blank lines. */
static int add_line(kn_dockerignore *di, const char *line, size_t len, kn_err *err)
{
    if (len > 0 && line[0] == '#')
        return 0;
    kn_autofree char *raw = kn_xstrndup(line, len);
    kn_autofree char *trimmed = kn_str_trim_space(raw);
    if (trimmed[0] == '\0')
        return 0;
    bool is_exception = trimmed[0] == '!';
    kn_autofree char *body = kn_str_trim_space(trimmed + (is_exception ? 1 : 0));
    kn_autofree char *clean = NULL;
    if (body[0] != '\0') {
        clean = kn_path_clean(body);
        if (strlen(clean) > 1 && clean[0] == '/')
            memmove(clean, clean + 1, strlen(clean));
    } else {
        clean = kn_xstrdup("");
    }
    /* New cleans "!" + pattern once more: "!/" becomes "!" too. */
    if (is_exception && (clean[0] == '\0' || strcmp(clean, "/") == 0))
        return kn_errf(err, KN_EINPUT, "illegal exclusion pattern: \"!\"");
    if (!pattern_syntax_ok(clean, strlen(clean)))
        return kn_errf(err, KN_EINPUT, "syntax error in pattern: %s", clean);
    pattern pat = {kn_steal_pointer(&clean), is_exception, MATCH_EXACT, {NULL, 0, 0}, {NULL, 0, 0}};
    compile(&pat);
    kn_vec_push(&di->patterns, pat);
    di->has_exclusions = di->has_exclusions || is_exception;
    return 0;
}

kn_dockerignore *kn_dockerignore_parse(const char *data, size_t len, kn_err *err)
{
    kn_dockerignore *di = kn_xcalloc(1, sizeof(*di));
    size_t pos = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t n = end - pos;
        if (n >= MAX_LINE) {
            kn_dockerignore_free(di);
            kn_errf(err, KN_EINPUT, "bufio.Scanner: token too long");
            return NULL;
        }
        if (n > 0 && data[end - 1] == '\r')
            n--;
        if (add_line(di, data + pos, n, err) < 0) {
            kn_dockerignore_free(di);
            return NULL;
        }
        pos = end + 1;
    }
    return di;
}

int kn_dockerignore_load(int dirfd, const char *name, kn_dockerignore **out, kn_err *err)
{
    *out = NULL;
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_err rerr = KN_ERR_INIT;
    if (kn_read_fileat(dirfd, name, MAX_FILE, &b, &rerr) < 0) {
        if (rerr.code == ENOENT) {
            kn_err_clear(&rerr);
            return 0;
        }
        *err = rerr;
        return kn_err_wrap(err, "read %s", name);
    }
    *out = kn_dockerignore_parse(b.data, b.len, err);
    if (!*out)
        return kn_err_wrap(err, "%s", name);
    return 0;
}

bool kn_dockerignore_matches(const kn_dockerignore *di, const char *path)
{
    /* filepath.Dir: the cleaned part before the last '/', "." when none. */
    const char *slash = strrchr(path, '/');
    kn_autofree char *head = slash ? kn_xstrndup(path, (size_t)(slash - path) + 1) : kn_xstrdup("");
    kn_autofree char *parent = kn_path_clean(head);
    bool has_parent = strcmp(parent, ".") != 0;
    size_t n = strlen(path), plen = strlen(parent);
    bool matched = false;
    for (size_t i = 0; i < di->patterns.len; i++) {
        const pattern *pat = &di->patterns.items[i];
        if (pat->is_exception != matched)
            continue;
        bool m = pattern_match(pat, path, n);
        /* Then each parent directory: "a", "a/b", ... (split on '/'). */
        for (size_t j = 0; !m && has_parent && j <= plen; j++)
            if (j == plen || parent[j] == '/')
                m = pattern_match(pat, parent, j);
        if (m)
            matched = !pat->is_exception;
    }
    return matched;
}

bool kn_dockerignore_has_exclusions(const kn_dockerignore *di)
{
    return di->has_exclusions;
}

size_t kn_dockerignore_n_patterns(const kn_dockerignore *di)
{
    return di->patterns.len;
}

const char *kn_dockerignore_pattern(const kn_dockerignore *di, size_t i, bool *is_exception)
{
    *is_exception = di->patterns.items[i].is_exception;
    return di->patterns.items[i].text;
}
