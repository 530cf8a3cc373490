#include "base/str.h"

#include "base/mem.h"
#include "base/utf8.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool kn_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool kn_str_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return k <= n && memcmp(s + n - k, suffix, k) == 0;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

char *kn_str_lower(const char *s)
{
    char *d = kn_xstrdup(s);
    for (char *p = d; *p; p++)
        *p = ascii_lower(*p);
    return d;
}

char *kn_str_upper(const char *s)
{
    char *d = kn_xstrdup(s);
    for (char *p = d; *p; p++)
        *p = ascii_upper(*p);
    return d;
}

bool kn_str_eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower(*a) != ascii_lower(*b))
            return false;
    return *a == *b;
}

/* ---- edit distance ---- */

typedef struct runes {
    uint32_t *items;
    size_t len;
} runes;

/* Decode s the way Go's []rune(s) does, lowering ASCII letters when fold. */
static runes to_runes(const char *s, bool fold)
{
    size_t len = strlen(s);
    runes r = {kn_xreallocarray(NULL, len ? len : 1, sizeof(uint32_t)), 0};
    for (size_t i = 0; i < len;) {
        bool valid;
        size_t k = kn_utf8_decode(s + i, len - i, &valid);
        uint32_t c = valid ? kn_utf8_rune(s + i, k) : 0xFFFD;
        if (fold && c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        r.items[r.len++] = c;
        i += k;
    }
    return r;
}

/* Ukkonen's banded Levenshtein: only cells within `max` of the diagonal can
 * hold a distance <= max, so each row computes at most 2 * max + 1 cells and
 * the loop stops once a whole row exceeds max. Returns max + 1 past max. */
static int distance(runes a, runes b, int max)
{
    if (a.len < b.len) {
        runes t = a;
        a = b;
        b = t; /* b is the shorter: rows are b.len + 1 long */
    }
    size_t bound = (size_t)max, inf = bound + 1;
    if (a.len - b.len > bound)
        return max + 1;
    if (b.len == 0)
        return (int)a.len;
    kn_autofree size_t *prev = kn_xreallocarray(NULL, b.len + 1, sizeof(size_t));
    kn_autofree size_t *cur = kn_xreallocarray(NULL, b.len + 1, sizeof(size_t));
    for (size_t j = 0; j <= b.len; j++)
        prev[j] = j <= bound ? j : inf;
    for (size_t i = 1; i <= a.len; i++) {
        size_t lo = i > bound ? i - bound : 1;
        size_t hi = i + bound < b.len ? i + bound : b.len;
        cur[lo - 1] = lo == 1 && i <= bound ? i : inf;
        size_t row_min = cur[lo - 1];
        for (size_t j = lo; j <= hi; j++) {
            size_t v = prev[j - 1] + (a.items[i - 1] != b.items[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            cur[j] = v < inf ? v : inf;
            if (cur[j] < row_min)
                row_min = cur[j];
        }
        if (hi < b.len)
            cur[hi + 1] = inf; /* the next row reads one cell further right */
        if (row_min > bound)
            return max + 1;
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    return prev[b.len] > bound ? max + 1 : (int)prev[b.len];
}

static int clamp_max(int max)
{
    return max < 0 ? 0 : max == INT_MAX ? INT_MAX - 1 : max;
}

int kn_str_distance(const char *a, const char *b, int max)
{
    runes ra = to_runes(a, false), rb = to_runes(b, false);
    int d = distance(ra, rb, clamp_max(max));
    free(ra.items);
    free(rb.items);
    return d;
}

const char *kn_str_suggest(const char *word, const char *const *candidates, size_t n,
                           int max_distance)
{
    if (max_distance < 0)
        return NULL;
    runes w = to_runes(word, true);
    const char *best = NULL;
    int best_dist = clamp_max(max_distance) + 1;
    for (size_t i = 0; i < n && best_dist > 0; i++) {
        if (!candidates[i])
            continue;
        runes c = to_runes(candidates[i], true);
        /* Only a strictly closer candidate replaces the best: ties go first. */
        int d = distance(w, c, best_dist - 1);
        free(c.items);
        if (d < best_dist) {
            best_dist = d;
            best = candidates[i];
        }
    }
    free(w.items);
    return best;
}

/* ---- trimming ---- */

void kn_str_trim_space_span(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len, k;
    while (n > 0 && (k = kn_utf8_space_len(p, n)) > 0) {
        p += k;
        n -= k;
    }
    /* Scan forward for the end of the last non-space character: decoding
     * backwards would need its own rules for invalid sequences. */
    size_t end = 0;
    for (size_t i = 0; i < n;) {
        k = kn_utf8_space_len(p + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        i += kn_utf8_char_len(p + i, n - i);
        end = i;
    }
    *s = p;
    *len = end;
}

char *kn_str_trim_space(const char *s)
{
    size_t len = strlen(s);
    kn_str_trim_space_span(&s, &len);
    return kn_xstrndup(s, len);
}
