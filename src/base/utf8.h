/* UTF-8 decoding with Go's rules (BuildKit is written in Go, and kiln must
 * split and quote text exactly as it does): an invalid or overlong sequence,
 * a surrogate, or a truncated sequence decodes as one invalid byte. */
#ifndef KN_BASE_UTF8_H
#define KN_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kn_buf;

/* Length in bytes of the character at p (len > 0): 1..4; 1 when invalid
 * (*valid false). */
size_t kn_utf8_decode(const char *p, size_t len, bool *valid);

/* Same length, ignoring validity. */
size_t kn_utf8_char_len(const char *p, size_t len);

/* The code point of a valid sequence of n bytes (from kn_utf8_decode). */
uint32_t kn_utf8_rune(const char *p, size_t n);

/* Bytes taken by the Unicode space at p (Go's unicode.IsSpace), or 0.
 * Inline for ASCII: the parser asks this of nearly every byte. */
size_t kn_utf8_space_len_slow(const char *p, size_t len);
static inline size_t kn_utf8_space_len(const char *p, size_t len)
{
    unsigned char c = (unsigned char)p[0];
    if (c < 0x80)
        return c == ' ' || (c >= '\t' && c <= '\r');
    return kn_utf8_space_len_slow(p, len);
}

/* Go's unicode.IsSpace / IsPrint for a code point. IsPrint treats unassigned
 * code points as printable (kiln carries no full Unicode table). */
bool kn_utf8_is_space(uint32_t r);
bool kn_utf8_is_print(uint32_t r);

/* Append code point r as UTF-8 (invalid r becomes U+FFFD). */
void kn_utf8_append(struct kn_buf *b, uint32_t r);

#endif
