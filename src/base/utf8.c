#include "base/utf8.h"

#include "base/buf.h"

size_t kn_utf8_decode(const char *p, size_t len, bool *valid)
{
    const unsigned char *s = (const unsigned char *)p;
    unsigned char c = s[0];
    *valid = true;
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        *valid = false;
        return 1;
    }
    if (len < n || s[1] < lo || s[1] > hi) {
        *valid = false;
        return 1;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            *valid = false;
            return 1;
        }
    }
    return n;
}

size_t kn_utf8_char_len(const char *p, size_t len)
{
    bool valid;
    return kn_utf8_decode(p, len, &valid);
}

uint32_t kn_utf8_rune(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    switch (n) {
    case 1:
        return s[0];
    case 2:
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3:
        return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    default:
        return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
               ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
}

bool kn_utf8_is_space(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

size_t kn_utf8_space_len_slow(const char *p, size_t len)
{
    bool valid;
    size_t n = kn_utf8_decode(p, len, &valid);
    if (!valid)
        return 0;
    return kn_utf8_is_space(kn_utf8_rune(p, n)) ? n : 0;
}

bool kn_utf8_is_print(uint32_t r)
{
    if (r < 0x80)
        return r >= 0x20 && r < 0x7F;
    if (r < 0xA0)
        return false; /* C1 controls */
    if (r == 0xAD)
        return false; /* soft hyphen (Cf) */
    if (kn_utf8_is_space(r))
        return false; /* Zs other than U+0020, Zl, Zp */
    /* Format characters (Cf). */
    if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x890 ||
        r == 0x891 || r == 0x8E2 || r == 0x180E || (r >= 0x200B && r <= 0x200F) ||
        (r >= 0x202A && r <= 0x202E) || (r >= 0x2060 && r <= 0x2064) ||
        (r >= 0x2066 && r <= 0x206F) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
        r == 0x110BD || r == 0x110CD || (r >= 0x13430 && r <= 0x1343F) ||
        (r >= 0x1BCA0 && r <= 0x1BCA3) || (r >= 0x1D173 && r <= 0x1D17A) || r == 0xE0001 ||
        (r >= 0xE0020 && r <= 0xE007F))
        return false;
    /* Surrogates, private use and noncharacters. */
    if ((r >= 0xD800 && r <= 0xF8FF) || (r >= 0xF0000) || (r >= 0xFDD0 && r <= 0xFDEF) ||
        (r & 0xFFFE) == 0xFFFE)
        return false;
    return true;
}

void kn_utf8_append(kn_buf *b, uint32_t r)
{
    char out[4];
    if (r > 0x10FFFF || (r >= 0xD800 && r < 0xE000))
        r = 0xFFFD;
    if (r < 0x80) {
        out[0] = (char)r;
        kn_buf_add(b, out, 1);
    } else if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        kn_buf_add(b, out, 2);
    } else if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        kn_buf_add(b, out, 3);
    } else {
        out[0] = (char)(0xF0 | (r >> 18));
        out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[3] = (char)(0x80 | (r & 0x3F));
        kn_buf_add(b, out, 4);
    }
}
