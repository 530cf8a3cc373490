/* Small string helpers: prefixes, ASCII case, Go's TrimSpace, and the edit
 * distance behind "did you mean X?" suggestions (SEMANTICS E-3).
 *
 * Case folding is ASCII only: Dockerfile keywords, flags and the names kiln
 * suggests are ASCII, and kiln carries no Unicode case tables. */
#ifndef KN_BASE_STR_H
#define KN_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>

bool kn_str_has_prefix(const char *s, const char *prefix);
bool kn_str_has_suffix(const char *s, const char *suffix);

/* A copy of s with ASCII letters lowered / raised; other bytes unchanged.
 * Returns a new string; caller frees. */
char *kn_str_lower(const char *s);
char *kn_str_upper(const char *s);

/* True when a and b are equal ignoring ASCII case (locale-independent). */
bool kn_str_eq_nocase(const char *a, const char *b);

/* Levenshtein distance between a and b counted in characters, as Go's
 * []rune sees them (an invalid UTF-8 byte is one U+FFFD), like the
 * agext/levenshtein package BuildKit uses. Bounded: returns max + 1 as soon as
 * the distance is known to exceed max (max >= 0), so it costs
 * O(len * max) however long the strings are. */
int kn_str_distance(const char *a, const char *b, int max);

/* The candidate closest to word ignoring ASCII case, if within max_distance
 * (BuildKit suggests within 2); the earliest wins a tie. A candidate equal to
 * word (ignoring case) is returned too: the caller decides whether that is
 * worth suggesting. Returns a pointer into candidates (borrowed) or NULL.
 * NULL entries in candidates are skipped. */
const char *kn_str_suggest(const char *word, const char *const *candidates, size_t n,
                           int max_distance);

/* Go's strings.TrimSpace: a copy of s without leading and trailing Unicode
 * white space (unicode.IsSpace). Returns a new string; caller frees. */
char *kn_str_trim_space(const char *s);

/* Same, narrowing the span (*s, *len) in place; nothing is allocated. */
void kn_str_trim_space_span(const char **s, size_t *len);

#endif
