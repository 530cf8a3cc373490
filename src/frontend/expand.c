/* Word expansion, SEMANTICS part 2 (X-1 .. X-19).
 *
 * kiln reproduces the behaviour of BuildKit's shell lexer
 * (frontend/dockerfile/shell/lex.go), written from its rules and test tables.
 * The lexer makes one pass over the word. The text of a nested ${...} word is
 * lexed into the tail of the same output buffer and cut back when it is not
 * used, so a plain word costs one allocation.
 *
 * BuildKit reads the word as Go runes: an invalid UTF-8 byte of the word
 * itself comes out as U+FFFD, while variable values are copied as they are
 * (except where BuildKit itself re-reads them as runes: Words splitting and the
 * suffix patterns). Patterns of ${n#p}, ${n%p} and ${n/p/r} become Go regular
 * expressions there; here they run on a small Pike machine with the same
 * leftmost-first semantics (stars never cross a newline, as Go's `.` does not). */
#include "frontend/expand.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nested ${...} words deeper than this fail instead of growing the C stack. */
#define MAX_DEPTH 64
/* Largest result (and largest intermediate word) an expansion may build. */
#define MAX_RESULT ((size_t)16 << 20)

#define NO_STOP (-1)

static const char replacement_char[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* --- Unicode classes (Go's unicode.IsLetter / IsDigit, Unicode 15.0.0) --- */

struct rune_range {
    uint32_t lo, hi;
};

/* Category L above U+007F. */
static const struct rune_range letter_ranges[] = {
    {0xAA, 0xAA},       {0xB5, 0xB5},       {0xBA, 0xBA},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x2C1},      {0x2C6, 0x2D1},     {0x2E0, 0x2E4},
    {0x2EC, 0x2EC},     {0x2EE, 0x2EE},     {0x370, 0x374},     {0x376, 0x377},
    {0x37A, 0x37D},     {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},
    {0x38C, 0x38C},     {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},
    {0x48A, 0x52F},     {0x531, 0x556},     {0x559, 0x559},     {0x560, 0x588},
    {0x5D0, 0x5EA},     {0x5EF, 0x5F2},     {0x620, 0x64A},     {0x66E, 0x66F},
    {0x671, 0x6D3},     {0x6D5, 0x6D5},     {0x6E5, 0x6E6},     {0x6EE, 0x6EF},
    {0x6FA, 0x6FC},     {0x6FF, 0x6FF},     {0x710, 0x710},     {0x712, 0x72F},
    {0x74D, 0x7A5},     {0x7B1, 0x7B1},     {0x7CA, 0x7EA},     {0x7F4, 0x7F5},
    {0x7FA, 0x7FA},     {0x800, 0x815},     {0x81A, 0x81A},     {0x824, 0x824},
    {0x828, 0x828},     {0x840, 0x858},     {0x860, 0x86A},     {0x870, 0x887},
    {0x889, 0x88E},     {0x8A0, 0x8C9},     {0x904, 0x939},     {0x93D, 0x93D},
    {0x950, 0x950},     {0x958, 0x961},     {0x971, 0x980},     {0x985, 0x98C},
    {0x98F, 0x990},     {0x993, 0x9A8},     {0x9AA, 0x9B0},     {0x9B2, 0x9B2},
    {0x9B6, 0x9B9},     {0x9BD, 0x9BD},     {0x9CE, 0x9CE},     {0x9DC, 0x9DD},
    {0x9DF, 0x9E1},     {0x9F0, 0x9F1},     {0x9FC, 0x9FC},     {0xA05, 0xA0A},
    {0xA0F, 0xA10},     {0xA13, 0xA28},     {0xA2A, 0xA30},     {0xA32, 0xA33},
    {0xA35, 0xA36},     {0xA38, 0xA39},     {0xA59, 0xA5C},     {0xA5E, 0xA5E},
    {0xA72, 0xA74},     {0xA85, 0xA8D},     {0xA8F, 0xA91},     {0xA93, 0xAA8},
    {0xAAA, 0xAB0},     {0xAB2, 0xAB3},     {0xAB5, 0xAB9},     {0xABD, 0xABD},
    {0xAD0, 0xAD0},     {0xAE0, 0xAE1},     {0xAF9, 0xAF9},     {0xB05, 0xB0C},
    {0xB0F, 0xB10},     {0xB13, 0xB28},     {0xB2A, 0xB30},     {0xB32, 0xB33},
    {0xB35, 0xB39},     {0xB3D, 0xB3D},     {0xB5C, 0xB5D},     {0xB5F, 0xB61},
    {0xB71, 0xB71},     {0xB83, 0xB83},     {0xB85, 0xB8A},     {0xB8E, 0xB90},
    {0xB92, 0xB95},     {0xB99, 0xB9A},     {0xB9C, 0xB9C},     {0xB9E, 0xB9F},
    {0xBA3, 0xBA4},     {0xBA8, 0xBAA},     {0xBAE, 0xBB9},     {0xBD0, 0xBD0},
    {0xC05, 0xC0C},     {0xC0E, 0xC10},     {0xC12, 0xC28},     {0xC2A, 0xC39},
    {0xC3D, 0xC3D},     {0xC58, 0xC5A},     {0xC5D, 0xC5D},     {0xC60, 0xC61},
    {0xC80, 0xC80},     {0xC85, 0xC8C},     {0xC8E, 0xC90},     {0xC92, 0xCA8},
    {0xCAA, 0xCB3},     {0xCB5, 0xCB9},     {0xCBD, 0xCBD},     {0xCDD, 0xCDE},
    {0xCE0, 0xCE1},     {0xCF1, 0xCF2},     {0xD04, 0xD0C},     {0xD0E, 0xD10},
    {0xD12, 0xD3A},     {0xD3D, 0xD3D},     {0xD4E, 0xD4E},     {0xD54, 0xD56},
    {0xD5F, 0xD61},     {0xD7A, 0xD7F},     {0xD85, 0xD96},     {0xD9A, 0xDB1},
    {0xDB3, 0xDBB},     {0xDBD, 0xDBD},     {0xDC0, 0xDC6},     {0xE01, 0xE30},
    {0xE32, 0xE33},     {0xE40, 0xE46},     {0xE81, 0xE82},     {0xE84, 0xE84},
    {0xE86, 0xE8A},     {0xE8C, 0xEA3},     {0xEA5, 0xEA5},     {0xEA7, 0xEB0},
    {0xEB2, 0xEB3},     {0xEBD, 0xEBD},     {0xEC0, 0xEC4},     {0xEC6, 0xEC6},
    {0xEDC, 0xEDF},     {0xF00, 0xF00},     {0xF40, 0xF47},     {0xF49, 0xF6C},
    {0xF88, 0xF8C},     {0x1000, 0x102A},   {0x103F, 0x103F},   {0x1050, 0x1055},
    {0x105A, 0x105D},   {0x1061, 0x1061},   {0x1065, 0x1066},   {0x106E, 0x1070},
    {0x1075, 0x1081},   {0x108E, 0x108E},   {0x10A0, 0x10C5},   {0x10C7, 0x10C7},
    {0x10CD, 0x10CD},   {0x10D0, 0x10FA},   {0x10FC, 0x1248},   {0x124A, 0x124D},
    {0x1250, 0x1256},   {0x1258, 0x1258},   {0x125A, 0x125D},   {0x1260, 0x1288},
    {0x128A, 0x128D},   {0x1290, 0x12B0},   {0x12B2, 0x12B5},   {0x12B8, 0x12BE},
    {0x12C0, 0x12C0},   {0x12C2, 0x12C5},   {0x12C8, 0x12D6},   {0x12D8, 0x1310},
    {0x1312, 0x1315},   {0x1318, 0x135A},   {0x1380, 0x138F},   {0x13A0, 0x13F5},
    {0x13F8, 0x13FD},   {0x1401, 0x166C},   {0x166F, 0x167F},   {0x1681, 0x169A},
    {0x16A0, 0x16EA},   {0x16F1, 0x16F8},   {0x1700, 0x1711},   {0x171F, 0x1731},
    {0x1740, 0x1751},   {0x1760, 0x176C},   {0x176E, 0x1770},   {0x1780, 0x17B3},
    {0x17D7, 0x17D7},   {0x17DC, 0x17DC},   {0x1820, 0x1878},   {0x1880, 0x1884},
    {0x1887, 0x18A8},   {0x18AA, 0x18AA},   {0x18B0, 0x18F5},   {0x1900, 0x191E},
    {0x1950, 0x196D},   {0x1970, 0x1974},   {0x1980, 0x19AB},   {0x19B0, 0x19C9},
    {0x1A00, 0x1A16},   {0x1A20, 0x1A54},   {0x1AA7, 0x1AA7},   {0x1B05, 0x1B33},
    {0x1B45, 0x1B4C},   {0x1B83, 0x1BA0},   {0x1BAE, 0x1BAF},   {0x1BBA, 0x1BE5},
    {0x1C00, 0x1C23},   {0x1C4D, 0x1C4F},   {0x1C5A, 0x1C7D},   {0x1C80, 0x1C88},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1CE9, 0x1CEC},   {0x1CEE, 0x1CF3},
    {0x1CF5, 0x1CF6},   {0x1CFA, 0x1CFA},   {0x1D00, 0x1DBF},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},
    {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},
    {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},   {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},
    {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2071, 0x2071},   {0x207F, 0x207F},
    {0x2090, 0x209C},   {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},
    {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0x2D00, 0x2D25},   {0x2D27, 0x2D27},
    {0x2D2D, 0x2D2D},   {0x2D30, 0x2D67},   {0x2D6F, 0x2D6F},   {0x2D80, 0x2D96},
    {0x2DA0, 0x2DA6},   {0x2DA8, 0x2DAE},   {0x2DB0, 0x2DB6},   {0x2DB8, 0x2DBE},
    {0x2DC0, 0x2DC6},   {0x2DC8, 0x2DCE},   {0x2DD0, 0x2DD6},   {0x2DD8, 0x2DDE},
    {0x2E2F, 0x2E2F},   {0x3005, 0x3006},   {0x3031, 0x3035},   {0x303B, 0x303C},
    {0x3041, 0x3096},   {0x309D, 0x309F},   {0x30A1, 0x30FA},   {0x30FC, 0x30FF},
    {0x3105, 0x312F},   {0x3131, 0x318E},   {0x31A0, 0x31BF},   {0x31F0, 0x31FF},
    {0x3400, 0x4DBF},   {0x4E00, 0xA48C},   {0xA4D0, 0xA4FD},   {0xA500, 0xA60C},
    {0xA610, 0xA61F},   {0xA62A, 0xA62B},   {0xA640, 0xA66E},   {0xA67F, 0xA69D},
    {0xA6A0, 0xA6E5},   {0xA717, 0xA71F},   {0xA722, 0xA788},   {0xA78B, 0xA7CA},
    {0xA7D0, 0xA7D1},   {0xA7D3, 0xA7D3},   {0xA7D5, 0xA7D9},   {0xA7F2, 0xA801},
    {0xA803, 0xA805},   {0xA807, 0xA80A},   {0xA80C, 0xA822},   {0xA840, 0xA873},
    {0xA882, 0xA8B3},   {0xA8F2, 0xA8F7},   {0xA8FB, 0xA8FB},   {0xA8FD, 0xA8FE},
    {0xA90A, 0xA925},   {0xA930, 0xA946},   {0xA960, 0xA97C},   {0xA984, 0xA9B2},
    {0xA9CF, 0xA9CF},   {0xA9E0, 0xA9E4},   {0xA9E6, 0xA9EF},   {0xA9FA, 0xA9FE},
    {0xAA00, 0xAA28},   {0xAA40, 0xAA42},   {0xAA44, 0xAA4B},   {0xAA60, 0xAA76},
    {0xAA7A, 0xAA7A},   {0xAA7E, 0xAAAF},   {0xAAB1, 0xAAB1},   {0xAAB5, 0xAAB6},
    {0xAAB9, 0xAABD},   {0xAAC0, 0xAAC0},   {0xAAC2, 0xAAC2},   {0xAADB, 0xAADD},
    {0xAAE0, 0xAAEA},   {0xAAF2, 0xAAF4},   {0xAB01, 0xAB06},   {0xAB09, 0xAB0E},
    {0xAB11, 0xAB16},   {0xAB20, 0xAB26},   {0xAB28, 0xAB2E},   {0xAB30, 0xAB5A},
    {0xAB5C, 0xAB69},   {0xAB70, 0xABE2},   {0xAC00, 0xD7A3},   {0xD7B0, 0xD7C6},
    {0xD7CB, 0xD7FB},   {0xF900, 0xFA6D},   {0xFA70, 0xFAD9},   {0xFB00, 0xFB06},
    {0xFB13, 0xFB17},   {0xFB1D, 0xFB1D},   {0xFB1F, 0xFB28},   {0xFB2A, 0xFB36},
    {0xFB38, 0xFB3C},   {0xFB3E, 0xFB3E},   {0xFB40, 0xFB41},   {0xFB43, 0xFB44},
    {0xFB46, 0xFBB1},   {0xFBD3, 0xFD3D},   {0xFD50, 0xFD8F},   {0xFD92, 0xFDC7},
    {0xFDF0, 0xFDFB},   {0xFE70, 0xFE74},   {0xFE76, 0xFEFC},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0xFF66, 0xFFBE},   {0xFFC2, 0xFFC7},   {0xFFCA, 0xFFCF},
    {0xFFD2, 0xFFD7},   {0xFFDA, 0xFFDC},   {0x10000, 0x1000B}, {0x1000D, 0x10026},
    {0x10028, 0x1003A}, {0x1003C, 0x1003D}, {0x1003F, 0x1004D}, {0x10050, 0x1005D},
    {0x10080, 0x100FA}, {0x10280, 0x1029C}, {0x102A0, 0x102D0}, {0x10300, 0x1031F},
    {0x1032D, 0x10340}, {0x10342, 0x10349}, {0x10350, 0x10375}, {0x10380, 0x1039D},
    {0x103A0, 0x103C3}, {0x103C8, 0x103CF}, {0x10400, 0x1049D}, {0x104B0, 0x104D3},
    {0x104D8, 0x104FB}, {0x10500, 0x10527}, {0x10530, 0x10563}, {0x10570, 0x1057A},
    {0x1057C, 0x1058A}, {0x1058C, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105A1},
    {0x105A3, 0x105B1}, {0x105B3, 0x105B9}, {0x105BB, 0x105BC}, {0x10600, 0x10736},
    {0x10740, 0x10755}, {0x10760, 0x10767}, {0x10780, 0x10785}, {0x10787, 0x107B0},
    {0x107B2, 0x107BA}, {0x10800, 0x10805}, {0x10808, 0x10808}, {0x1080A, 0x10835},
    {0x10837, 0x10838}, {0x1083C, 0x1083C}, {0x1083F, 0x10855}, {0x10860, 0x10876},
    {0x10880, 0x1089E}, {0x108E0, 0x108F2}, {0x108F4, 0x108F5}, {0x10900, 0x10915},
    {0x10920, 0x10939}, {0x10980, 0x109B7}, {0x109BE, 0x109BF}, {0x10A00, 0x10A00},
    {0x10A10, 0x10A13}, {0x10A15, 0x10A17}, {0x10A19, 0x10A35}, {0x10A60, 0x10A7C},
    {0x10A80, 0x10A9C}, {0x10AC0, 0x10AC7}, {0x10AC9, 0x10AE4}, {0x10B00, 0x10B35},
    {0x10B40, 0x10B55}, {0x10B60, 0x10B72}, {0x10B80, 0x10B91}, {0x10C00, 0x10C48},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x10D00, 0x10D23}, {0x10E80, 0x10EA9},
    {0x10EB0, 0x10EB1}, {0x10F00, 0x10F1C}, {0x10F27, 0x10F27}, {0x10F30, 0x10F45},
    {0x10F70, 0x10F81}, {0x10FB0, 0x10FC4}, {0x10FE0, 0x10FF6}, {0x11003, 0x11037},
    {0x11071, 0x11072}, {0x11075, 0x11075}, {0x11083, 0x110AF}, {0x110D0, 0x110E8},
    {0x11103, 0x11126}, {0x11144, 0x11144}, {0x11147, 0x11147}, {0x11150, 0x11172},
    {0x11176, 0x11176}, {0x11183, 0x111B2}, {0x111C1, 0x111C4}, {0x111DA, 0x111DA},
    {0x111DC, 0x111DC}, {0x11200, 0x11211}, {0x11213, 0x1122B}, {0x1123F, 0x11240},
    {0x11280, 0x11286}, {0x11288, 0x11288}, {0x1128A, 0x1128D}, {0x1128F, 0x1129D},
    {0x1129F, 0x112A8}, {0x112B0, 0x112DE}, {0x11305, 0x1130C}, {0x1130F, 0x11310},
    {0x11313, 0x11328}, {0x1132A, 0x11330}, {0x11332, 0x11333}, {0x11335, 0x11339},
    {0x1133D, 0x1133D}, {0x11350, 0x11350}, {0x1135D, 0x11361}, {0x11400, 0x11434},
    {0x11447, 0x1144A}, {0x1145F, 0x11461}, {0x11480, 0x114AF}, {0x114C4, 0x114C5},
    {0x114C7, 0x114C7}, {0x11580, 0x115AE}, {0x115D8, 0x115DB}, {0x11600, 0x1162F},
    {0x11644, 0x11644}, {0x11680, 0x116AA}, {0x116B8, 0x116B8}, {0x11700, 0x1171A},
    {0x11740, 0x11746}, {0x11800, 0x1182B}, {0x118A0, 0x118DF}, {0x118FF, 0x11906},
    {0x11909, 0x11909}, {0x1190C, 0x11913}, {0x11915, 0x11916}, {0x11918, 0x1192F},
    {0x1193F, 0x1193F}, {0x11941, 0x11941}, {0x119A0, 0x119A7}, {0x119AA, 0x119D0},
    {0x119E1, 0x119E1}, {0x119E3, 0x119E3}, {0x11A00, 0x11A00}, {0x11A0B, 0x11A32},
    {0x11A3A, 0x11A3A}, {0x11A50, 0x11A50}, {0x11A5C, 0x11A89}, {0x11A9D, 0x11A9D},
    {0x11AB0, 0x11AF8}, {0x11C00, 0x11C08}, {0x11C0A, 0x11C2E}, {0x11C40, 0x11C40},
    {0x11C72, 0x11C8F}, {0x11D00, 0x11D06}, {0x11D08, 0x11D09}, {0x11D0B, 0x11D30},
    {0x11D46, 0x11D46}, {0x11D60, 0x11D65}, {0x11D67, 0x11D68}, {0x11D6A, 0x11D89},
    {0x11D98, 0x11D98}, {0x11EE0, 0x11EF2}, {0x11F02, 0x11F02}, {0x11F04, 0x11F10},
    {0x11F12, 0x11F33}, {0x11FB0, 0x11FB0}, {0x12000, 0x12399}, {0x12480, 0x12543},
    {0x12F90, 0x12FF0}, {0x13000, 0x1342F}, {0x13441, 0x13446}, {0x14400, 0x14646},
    {0x16800, 0x16A38}, {0x16A40, 0x16A5E}, {0x16A70, 0x16ABE}, {0x16AD0, 0x16AED},
    {0x16B00, 0x16B2F}, {0x16B40, 0x16B43}, {0x16B63, 0x16B77}, {0x16B7D, 0x16B8F},
    {0x16E40, 0x16E7F}, {0x16F00, 0x16F4A}, {0x16F50, 0x16F50}, {0x16F93, 0x16F9F},
    {0x16FE0, 0x16FE1}, {0x16FE3, 0x16FE3}, {0x17000, 0x187F7}, {0x18800, 0x18CD5},
    {0x18D00, 0x18D08}, {0x1AFF0, 0x1AFF3}, {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE},
    {0x1B000, 0x1B122}, {0x1B132, 0x1B132}, {0x1B150, 0x1B152}, {0x1B155, 0x1B155},
    {0x1B164, 0x1B167}, {0x1B170, 0x1B2FB}, {0x1BC00, 0x1BC6A}, {0x1BC70, 0x1BC7C},
    {0x1BC80, 0x1BC88}, {0x1BC90, 0x1BC99}, {0x1D400, 0x1D454}, {0x1D456, 0x1D49C},
    {0x1D49E, 0x1D49F}, {0x1D4A2, 0x1D4A2}, {0x1D4A5, 0x1D4A6}, {0x1D4A9, 0x1D4AC},
    {0x1D4AE, 0x1D4B9}, {0x1D4BB, 0x1D4BB}, {0x1D4BD, 0x1D4C3}, {0x1D4C5, 0x1D505},
    {0x1D507, 0x1D50A}, {0x1D50D, 0x1D514}, {0x1D516, 0x1D51C}, {0x1D51E, 0x1D539},
    {0x1D53B, 0x1D53E}, {0x1D540, 0x1D544}, {0x1D546, 0x1D546}, {0x1D54A, 0x1D550},
    {0x1D552, 0x1D6A5}, {0x1D6A8, 0x1D6C0}, {0x1D6C2, 0x1D6DA}, {0x1D6DC, 0x1D6FA},
    {0x1D6FC, 0x1D714}, {0x1D716, 0x1D734}, {0x1D736, 0x1D74E}, {0x1D750, 0x1D76E},
    {0x1D770, 0x1D788}, {0x1D78A, 0x1D7A8}, {0x1D7AA, 0x1D7C2}, {0x1D7C4, 0x1D7CB},
    {0x1DF00, 0x1DF1E}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E100, 0x1E12C},
    {0x1E137, 0x1E13D}, {0x1E14E, 0x1E14E}, {0x1E290, 0x1E2AD}, {0x1E2C0, 0x1E2EB},
    {0x1E4D0, 0x1E4EB}, {0x1E7E0, 0x1E7E6}, {0x1E7E8, 0x1E7EB}, {0x1E7ED, 0x1E7EE},
    {0x1E7F0, 0x1E7FE}, {0x1E800, 0x1E8C4}, {0x1E900, 0x1E943}, {0x1E94B, 0x1E94B},
    {0x1EE00, 0x1EE03}, {0x1EE05, 0x1EE1F}, {0x1EE21, 0x1EE22}, {0x1EE24, 0x1EE24},
    {0x1EE27, 0x1EE27}, {0x1EE29, 0x1EE32}, {0x1EE34, 0x1EE37}, {0x1EE39, 0x1EE39},
    {0x1EE3B, 0x1EE3B}, {0x1EE42, 0x1EE42}, {0x1EE47, 0x1EE47}, {0x1EE49, 0x1EE49},
    {0x1EE4B, 0x1EE4B}, {0x1EE4D, 0x1EE4F}, {0x1EE51, 0x1EE52}, {0x1EE54, 0x1EE54},
    {0x1EE57, 0x1EE57}, {0x1EE59, 0x1EE59}, {0x1EE5B, 0x1EE5B}, {0x1EE5D, 0x1EE5D},
    {0x1EE5F, 0x1EE5F}, {0x1EE61, 0x1EE62}, {0x1EE64, 0x1EE64}, {0x1EE67, 0x1EE6A},
    {0x1EE6C, 0x1EE72}, {0x1EE74, 0x1EE77}, {0x1EE79, 0x1EE7C}, {0x1EE7E, 0x1EE7E},
    {0x1EE80, 0x1EE89}, {0x1EE8B, 0x1EE9B}, {0x1EEA1, 0x1EEA3}, {0x1EEA5, 0x1EEA9},
    {0x1EEAB, 0x1EEBB}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B739}, {0x2B740, 0x2B81D},
    {0x2B820, 0x2CEA1}, {0x2CEB0, 0x2EBE0}, {0x2F800, 0x2FA1D}, {0x30000, 0x3134A},
    {0x31350, 0x323AF},
};

/* Category Nd above U+007F. */
static const struct rune_range digit_ranges[] = {
    {0x660, 0x669},     {0x6F0, 0x6F9},     {0x7C0, 0x7C9},     {0x966, 0x96F},
    {0x9E6, 0x9EF},     {0xA66, 0xA6F},     {0xAE6, 0xAEF},     {0xB66, 0xB6F},
    {0xBE6, 0xBEF},     {0xC66, 0xC6F},     {0xCE6, 0xCEF},     {0xD66, 0xD6F},
    {0xDE6, 0xDEF},     {0xE50, 0xE59},     {0xED0, 0xED9},     {0xF20, 0xF29},
    {0x1040, 0x1049},   {0x1090, 0x1099},   {0x17E0, 0x17E9},   {0x1810, 0x1819},
    {0x1946, 0x194F},   {0x19D0, 0x19D9},   {0x1A80, 0x1A89},   {0x1A90, 0x1A99},
    {0x1B50, 0x1B59},   {0x1BB0, 0x1BB9},   {0x1C40, 0x1C49},   {0x1C50, 0x1C59},
    {0xA620, 0xA629},   {0xA8D0, 0xA8D9},   {0xA900, 0xA909},   {0xA9D0, 0xA9D9},
    {0xA9F0, 0xA9F9},   {0xAA50, 0xAA59},   {0xABF0, 0xABF9},   {0xFF10, 0xFF19},
    {0x104A0, 0x104A9}, {0x10D30, 0x10D39}, {0x11066, 0x1106F}, {0x110F0, 0x110F9},
    {0x11136, 0x1113F}, {0x111D0, 0x111D9}, {0x112F0, 0x112F9}, {0x11450, 0x11459},
    {0x114D0, 0x114D9}, {0x11650, 0x11659}, {0x116C0, 0x116C9}, {0x11730, 0x11739},
    {0x118E0, 0x118E9}, {0x11950, 0x11959}, {0x11C50, 0x11C59}, {0x11D50, 0x11D59},
    {0x11DA0, 0x11DA9}, {0x11F50, 0x11F59}, {0x16A60, 0x16A69}, {0x16AC0, 0x16AC9},
    {0x16B50, 0x16B59}, {0x1D7CE, 0x1D7FF}, {0x1E140, 0x1E149}, {0x1E2F0, 0x1E2F9},
    {0x1E4F0, 0x1E4F9}, {0x1E950, 0x1E959}, {0x1FBF0, 0x1FBF9},
};

static bool in_ranges(const struct rune_range *t, size_t n, uint32_t r)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r < t[mid].lo)
            hi = mid;
        else if (r > t[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static bool is_digit(uint32_t r)
{
    if (r < 0x80)
        return r >= '0' && r <= '9';
    return in_ranges(digit_ranges, KN_ARRAY_LEN(digit_ranges), r);
}

static bool is_letter(uint32_t r)
{
    if (r < 0x80)
        return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
    return in_ranges(letter_ranges, KN_ARRAY_LEN(letter_ranges), r);
}

static bool is_name_char(uint32_t r)
{
    return is_letter(r) || is_digit(r) || r == '_';
}

/* --- Reading text as Go does --- */

/* One character of text: its code point (U+FFFD for an invalid byte) and
 * the bytes it takes. */
typedef struct uchar {
    uint32_t r;
    size_t n;
    bool valid;
} uchar;

static uchar decode_at(const char *s, size_t len)
{
    unsigned char b = (unsigned char)s[0];
    if (b < 0x80)
        return (uchar){b, 1, true};
    uchar c;
    c.n = kn_utf8_decode(s, len, &c.valid);
    c.r = c.valid ? kn_utf8_rune(s, c.n) : 0xFFFD;
    return c;
}

/* Append the character c read at s, as Go's WriteRune would write it. */
static int add_uchar(kn_buf *b, const char *s, uchar c)
{
    return c.valid ? kn_buf_add(b, s, c.n) : kn_buf_add(b, replacement_char, 3);
}

/* Append s as Go writes the runes read from it: invalid bytes become U+FFFD. */
static int add_runes_of(kn_buf *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && (unsigned char)s[j] < 0x80)
            j++;
        if (kn_buf_add(b, s + i, j - i) < 0)
            return -1;
        if (j == len)
            break;
        uchar c = decode_at(s + j, len - j);
        if (add_uchar(b, s + j, c) < 0)
            return -1;
        i = j + c.n;
    }
    return 0;
}

typedef KN_VEC(uint32_t) rune_vec;
typedef KN_VEC(size_t) size_vec;

/* Decode s into code points; offs (when not NULL) gets the byte offset of
 * each, plus len at the end. */
static void decode_all(const char *s, size_t len, rune_vec *runes, size_vec *offs)
{
    kn_vec_reserve(runes, len + 1);
    if (offs)
        kn_vec_reserve(offs, len + 1);
    size_t i = 0;
    while (i < len) {
        uchar c = decode_at(s + i, len - i);
        runes->items[runes->len++] = c.r;
        if (offs)
            offs->items[offs->len++] = i;
        i += c.n;
    }
    if (offs)
        offs->items[offs->len++] = len;
}

/* Append code point r (never invalid here) as UTF-8. */
static int add_rune(kn_buf *b, uint32_t r)
{
    char u[4];
    size_t n;
    if (r < 0x80) {
        u[0] = (char)r;
        n = 1;
    } else if (r < 0x800) {
        u[0] = (char)(0xC0 | (r >> 6));
        u[1] = (char)(0x80 | (r & 0x3F));
        n = 2;
    } else if (r < 0x10000) {
        u[0] = (char)(0xE0 | (r >> 12));
        u[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[2] = (char)(0x80 | (r & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (r >> 18));
        u[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[3] = (char)(0x80 | (r & 0x3F));
        n = 4;
    }
    return kn_buf_add(b, u, n);
}

/* --- Patterns (X-10 .. X-13) --- */

/* A compiled pattern: code points to match literally, or these two. */
#define PAT_ANY (-1)  /* `?`: one character other than a newline */
#define PAT_STAR (-2) /* `*`: any run of characters without a newline */

typedef KN_VEC(int32_t) pat_prog;

/* Compile the pattern's characters. Consecutive stars are one star: they
 * match the same spans with the same preference. On a bad escape returns -1
 * with *bad set to the character after the backslash (U+FFFD at the end). */
static int compile_pattern(const uint32_t *p, size_t n, pat_prog *prog, uint32_t *bad)
{
    size_t i = 0;
    if (n > 0 && p[0] == 0xFEFF)
        i = 1; /* Go's text/scanner drops a leading byte order mark */
    kn_vec_reserve(prog, n + 1);
    while (i < n) {
        uint32_t c = p[i++];
        int32_t item;
        if (c == '*') {
            if (prog->len > 0 && prog->items[prog->len - 1] == PAT_STAR)
                continue;
            item = PAT_STAR;
        } else if (c == '?') {
            item = PAT_ANY;
        } else if (c == '\\') {
            /* `\}` and `\/` protect the ${} syntax; the backslash goes. */
            if (i < n && (p[i] == '}' || p[i] == '/'))
                continue;
            uint32_t e = i < n ? p[i++] : 0xFFFD;
            if (e != '*' && e != '?' && e != '\\') {
                *bad = e;
                return -1;
            }
            item = (int32_t)e;
        } else {
            item = (int32_t)c;
        }
        prog->items[prog->len++] = item;
    }
    return 0;
}

/* A Pike machine over a compiled pattern: leftmost-first (Perl) semantics,
 * as Go's regexp, in O(text * pattern) time and O(pattern) memory. A thread
 * at a star's index stands for the star's loop. */
typedef struct thread {
    size_t pc, start;
} thread;

typedef struct matcher {
    const int32_t *prog;
    size_t m; /* pattern length; pc == m means a match */
    bool greedy;
    thread *cur, *next;
    size_t n_cur, n_next;
    size_t *mark; /* generation in which each pc was last added */
    size_t gen;
} matcher;

static void matcher_init(matcher *vm, const pat_prog *prog, bool greedy)
{
    vm->prog = prog->items;
    vm->m = prog->len;
    vm->greedy = greedy;
    vm->cur = kn_xreallocarray(NULL, vm->m + 1, sizeof(thread));
    vm->next = kn_xreallocarray(NULL, vm->m + 1, sizeof(thread));
    vm->mark = kn_xcalloc(vm->m + 1, sizeof(size_t));
    vm->gen = 0;
}

static void matcher_free(matcher *vm)
{
    free(vm->cur);
    free(vm->next);
    free(vm->mark);
    vm->cur = vm->next = NULL;
    vm->mark = NULL;
}

static void push_thread(matcher *vm, thread *list, size_t *n, size_t pc, size_t start)
{
    if (vm->mark[pc] == vm->gen)
        return;
    vm->mark[pc] = vm->gen;
    list[(*n)++] = (thread){pc, start};
}

/* Add the thread at pc and what it reaches without reading, in priority
 * order. A star is never followed by another star. */
static void add_thread(matcher *vm, thread *list, size_t *n, size_t pc, size_t start)
{
    if (vm->mark[pc] == vm->gen)
        return;
    if (pc < vm->m && vm->prog[pc] == PAT_STAR) {
        if (vm->greedy) {
            push_thread(vm, list, n, pc, start);
            push_thread(vm, list, n, pc + 1, start);
        } else {
            vm->mark[pc] = vm->gen;
            push_thread(vm, list, n, pc + 1, start);
            list[(*n)++] = (thread){pc, start};
        }
        return;
    }
    push_thread(vm, list, n, pc, start);
}

/* Find the leftmost-first match in text[from..n) (read backwards when
 * reverse: index k is text[n-1-k]); anchored matches only at from. Returns
 * true with [*ms, *me) in character indexes. */
static bool matcher_search(matcher *vm, const uint32_t *text, size_t n, bool reverse, size_t from,
                           bool anchored, size_t *ms, size_t *me)
{
    bool matched = false;
    vm->n_cur = 0;
    vm->gen++;
    for (size_t k = from;; k++) {
        if (!matched && (!anchored || k == from))
            add_thread(vm, vm->cur, &vm->n_cur, 0, k);
        if (vm->n_cur == 0)
            break;
        vm->gen++;
        vm->n_next = 0;
        uint32_t c = k < n ? text[reverse ? n - 1 - k : k] : 0;
        for (size_t i = 0; i < vm->n_cur; i++) {
            thread t = vm->cur[i];
            if (t.pc == vm->m) {
                matched = true;
                *ms = t.start;
                *me = k;
                break; /* lower-priority threads cannot win any more */
            }
            if (k == n)
                continue;
            int32_t op = vm->prog[t.pc];
            if (op == PAT_STAR) {
                if (c != '\n')
                    add_thread(vm, vm->next, &vm->n_next, t.pc, t.start);
            } else if (op == PAT_ANY ? c != '\n' : c == (uint32_t)op) {
                add_thread(vm, vm->next, &vm->n_next, t.pc + 1, t.start);
            }
        }
        thread *swap = vm->cur;
        vm->cur = vm->next;
        vm->next = swap;
        vm->n_cur = vm->n_next;
        if (k == n)
            break;
    }
    return matched;
}

/* --- The lexer --- */

typedef struct lexer {
    const char *src;
    size_t len, pos;
    char escape;
    bool process_quotes; /* false in heredoc mode (X-18) */
    bool raw_quotes, skip_unset;
    const kn_expand_env *env;
    kn_buf out;       /* the result; nested words are lexed into its tail */
    kn_buf name;      /* NUL-terminated name being looked up */
    kn_strvec *words; /* Words mode: finished words; NULL in Word mode */
    kn_buf word;      /* Words mode: the word being built */
    bool in_word;
    int depth;    /* ${...} words being lexed inside each other */
    bool too_big; /* some append went past MAX_RESULT */
    kn_err *err;
} lexer;

static int lex_fail(lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int lex_fail(lexer *lx, const char *fmt, ...)
{
    kn_autobuf kn_buf msg = KN_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    kn_buf_addvf(&msg, fmt, ap);
    va_end(ap);
    return kn_errf(lx->err, KN_EINPUT, "%s", msg.data);
}

static int fail_too_big(lexer *lx)
{
    return lex_fail(lx, "expansion result is larger than %zu bytes", MAX_RESULT);
}

static void put(lexer *lx, const void *p, size_t n)
{
    if (kn_buf_add(&lx->out, p, n) < 0)
        lx->too_big = true;
}

static void put_str(lexer *lx, const char *s)
{
    put(lx, s, strlen(s));
}

/* Append the character u read at s (U+FFFD when invalid). */
static void put_uchar(lexer *lx, const char *s, uchar u)
{
    if (add_uchar(&lx->out, s, u) < 0)
        lx->too_big = true;
}

/* Insert n bytes at offset at of the output. */
static void insert(lexer *lx, size_t at, const void *p, size_t n)
{
    kn_buf *b = &lx->out;
    if (kn_buf_grow(b, n) < 0) {
        lx->too_big = true;
        return;
    }
    memmove(b->data + at + n, b->data + at, b->len - at);
    memcpy(b->data + at, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Words mode (X-14). Finish the current word when it has bytes. */
static void end_word(lexer *lx)
{
    if (lx->word.len > 0) {
        kn_strvec_pushn(lx->words, lx->word.data, lx->word.len);
        kn_buf_reset(&lx->word);
    }
    lx->in_word = false;
}

/* Bytes that belong to the word whatever they are (quoted or escaped). */
static void word_add_raw(lexer *lx, const char *s, size_t n)
{
    if (kn_buf_add(&lx->word, s, n) < 0)
        lx->too_big = true;
    lx->in_word = true;
}

/* One character of unquoted text: whitespace ends a word, except that
 * whitespace right after an empty quoted string makes no word. */
static void word_add_char(lexer *lx, const char *s, uchar c)
{
    bool is_space = c.valid && kn_utf8_is_space(c.r);
    if (is_space) {
        if (lx->in_word && lx->word.len > 0)
            end_word(lx);
        return;
    }
    if (c.valid)
        word_add_raw(lx, s, c.n);
    else
        word_add_raw(lx, replacement_char, 3);
}

/* The result of an unquoted $ expansion, split as unquoted text. */
static void word_add_expansion(lexer *lx, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uchar c = decode_at(s + i, len - i);
        word_add_char(lx, s + i, c);
        i += c.n;
    }
}

static const char *get_env(lexer *lx, size_t name_off, size_t name_len)
{
    kn_buf_reset(&lx->name);
    kn_buf_add(&lx->name, lx->src + name_off, name_len);
    const kn_expand_env *env = lx->env;
    const char *v = env && env->lookup ? env->lookup(env->ctx, lx->name.data) : NULL;
    if (env && env->used)
        env->used(env->ctx, lx->name.data, v != NULL);
    return v;
}

static bool at_end(const lexer *lx)
{
    return lx->pos >= lx->len;
}

static bool is_special_param(uint32_t r)
{
    return r == '@' || r == '*' || r == '#' || r == '?' || r == '-' || r == '$' || r == '!' ||
           r == '0';
}

/* X-4: a run of digits, one special character, or a run of letters, digits
 * and `_`. Returns the name's length; it starts where pos was. */
static size_t scan_name(lexer *lx)
{
    size_t start = lx->pos;
    if (at_end(lx))
        return 0;
    uchar c = decode_at(lx->src + lx->pos, lx->len - lx->pos);
    if (is_digit(c.r)) {
        while (!at_end(lx)) {
            c = decode_at(lx->src + lx->pos, lx->len - lx->pos);
            if (!is_digit(c.r))
                break;
            lx->pos += c.n;
        }
        return lx->pos - start;
    }
    if (is_special_param(c.r)) {
        lx->pos++;
        return 1;
    }
    while (!at_end(lx)) {
        c = decode_at(lx->src + lx->pos, lx->len - lx->pos);
        if (!is_name_char(c.r))
            break;
        lx->pos += c.n;
    }
    return lx->pos - start;
}

static int lex_until(lexer *lx, int stop, bool raw_escapes);

/* Lex a ${...} word up to stop (X-9). */
static int lex_nested(lexer *lx, int stop, bool raw_escapes)
{
    if (lx->depth >= MAX_DEPTH)
        return lex_fail(lx, "syntax error: ${} nested more than %d levels deep", MAX_DEPTH);
    /* [quirk] BuildKit's lexer shares one word buffer between the levels
     * and every ${...} word starts by emptying it: in Words mode, the part
     * of a word before a ${n<modifier>...} is lost (`a${x:-b}` gives `b`). */
    if (lx->words)
        kn_buf_reset(&lx->word);
    lx->depth++;
    int r = lex_until(lx, stop, raw_escapes);
    lx->depth--;
    return r;
}

/* --- Pattern operations; each leaves its result in res --- */

static int pattern_error(lexer *lx, const char *pat, size_t pat_len, uint32_t bad)
{
    kn_autobuf kn_buf e = KN_BUF_INIT;
    add_rune(&e, bad);
    return lex_fail(lx, "invalid pattern (%.*s) in substitution: invalid escape '\\%s'",
                    (int)pat_len, pat, e.data);
}

/* Scratch memory of one pattern operation; released by its cleanup. */
typedef struct pat_work {
    rune_vec pat, rev, text;
    size_vec offs;
    pat_prog prog;
    matcher vm;
} pat_work;

static void pat_work_free(pat_work *w)
{
    kn_vec_free(&w->pat);
    kn_vec_free(&w->rev);
    kn_vec_free(&w->text);
    kn_vec_free(&w->offs);
    kn_vec_free(&w->prog);
    matcher_free(&w->vm);
}

#define auto_pat_work __attribute__((cleanup(pat_work_free)))

/* ${n#p}, ${n##p}: strip the shortest / longest matching prefix. */
static int trim_prefix(lexer *lx, const char *pat, size_t pat_len, bool greedy, const char *val,
                       size_t val_len, kn_buf *res)
{
    auto_pat_work pat_work w = {0};
    uint32_t bad;
    decode_all(pat, pat_len, &w.pat, NULL);
    if (compile_pattern(w.pat.items, w.pat.len, &w.prog, &bad) < 0)
        return pattern_error(lx, pat, pat_len, bad);
    decode_all(val, val_len, &w.text, &w.offs);
    matcher_init(&w.vm, &w.prog, greedy);
    size_t ms, me, cut = 0;
    if (matcher_search(&w.vm, w.text.items, w.text.len, false, 0, true, &ms, &me))
        cut = w.offs.items[me];
    if (kn_buf_add(res, val + cut, val_len - cut) < 0)
        lx->too_big = true;
    return 0;
}

/* ${n%p}, ${n%%p}: BuildKit reverses the pattern (keeping each `\x` pair in
 * order) and the value, strips a prefix, and reverses back (X-10); the value
 * goes through Go runes, so its invalid bytes come back as U+FFFD. */
static int trim_suffix(lexer *lx, const char *pat, size_t pat_len, bool greedy, const char *val,
                       size_t val_len, kn_buf *res)
{
    auto_pat_work pat_work w = {0};
    uint32_t bad;
    decode_all(pat, pat_len, &w.pat, NULL);
    const uint32_t *p = w.pat.items;
    size_t n = w.pat.len;
    kn_vec_reserve(&w.rev, n + 1);
    w.rev.len = n;
    for (size_t i = 0; i < n;) {
        size_t o = n - 1 - i;
        if (p[i] == '\\' && i + 1 < n) {
            w.rev.items[o - 1] = '\\';
            w.rev.items[o] = p[i + 1];
            i += 2;
        } else {
            w.rev.items[o] = p[i++];
        }
    }
    if (compile_pattern(w.rev.items, w.rev.len, &w.prog, &bad) < 0) {
        kn_autobuf kn_buf shown = KN_BUF_INIT;
        for (size_t i = 0; i < w.rev.len; i++)
            add_rune(&shown, w.rev.items[i]);
        return pattern_error(lx, shown.data, shown.len, bad);
    }
    decode_all(val, val_len, &w.text, NULL);
    matcher_init(&w.vm, &w.prog, greedy);
    size_t ms, me, keep = w.text.len;
    if (matcher_search(&w.vm, w.text.items, w.text.len, true, 0, true, &ms, &me))
        keep = w.text.len - me;
    for (size_t i = 0; i < keep; i++) {
        if (add_rune(res, w.text.items[i]) < 0) {
            lx->too_big = true;
            break;
        }
    }
    return 0;
}

/* The replacement of ${n//p/r}, read once as a Go regexp template (X-12):
 * `$$` is `$`, `$0`/`${0}` the match, other `$name`/`${name}` nothing, a
 * malformed `$` stays. Kept as literal pieces and match references, with
 * empty pieces dropped, so each match costs no more than it writes. */
typedef struct tmpl_piece {
    size_t off, len; /* into the template's text; len SIZE_MAX: the match */
} tmpl_piece;

typedef struct tmpl {
    kn_buf text;
    KN_VEC(tmpl_piece) pieces;
    kn_buf literal_only; /* the expansion for an empty match */
} tmpl;

static void tmpl_literal(tmpl *t, const char *s, size_t n)
{
    if (n == 0)
        return;
    size_t off = t->text.len;
    kn_buf_add(&t->text, s, n);
    kn_buf_add(&t->literal_only, s, n);
    if (t->pieces.len > 0) {
        tmpl_piece *last = &t->pieces.items[t->pieces.len - 1];
        if (last->len != SIZE_MAX && last->off + last->len == off) {
            last->len += n;
            return;
        }
    }
    kn_vec_push(&t->pieces, ((tmpl_piece){off, n}));
}

static void tmpl_parse(tmpl *t, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *d = memchr(s + i, '$', n - i);
        if (!d) {
            tmpl_literal(t, s + i, n - i);
            break;
        }
        size_t j = (size_t)(d - s);
        tmpl_literal(t, s + i, j - i);
        i = j + 1;
        if (i < n && s[i] == '$') {
            tmpl_literal(t, "$", 1);
            i++;
            continue;
        }
        size_t p = i;
        bool brace = p < n && s[p] == '{';
        if (brace)
            p++;
        size_t q = p;
        while (q < n) {
            uchar c = decode_at(s + q, n - q);
            if (!c.valid || !is_name_char(c.r))
                break;
            q += c.n;
        }
        if (q == p || (brace && (q >= n || s[q] != '}'))) {
            tmpl_literal(t, "$", 1); /* malformed: the `$` is text */
            continue;
        }
        bool is_match = q - p == 1 && s[p] == '0';
        i = brace ? q + 1 : q;
        if (is_match)
            kn_vec_push(&t->pieces, ((tmpl_piece){0, SIZE_MAX}));
    }
}

static void tmpl_free(tmpl *t)
{
    kn_buf_free(&t->text);
    kn_buf_free(&t->literal_only);
    kn_vec_free(&t->pieces);
}

static int tmpl_expand(const tmpl *t, const char *match, size_t match_len, kn_buf *res)
{
    if (match_len == 0)
        return kn_buf_add(res, t->literal_only.data, t->literal_only.len);
    for (size_t i = 0; i < t->pieces.len; i++) {
        const tmpl_piece *pc = &t->pieces.items[i];
        int r = pc->len == SIZE_MAX ? kn_buf_add(res, match, match_len)
                                    : kn_buf_add(res, t->text.data + pc->off, pc->len);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* ${n/p/r} and ${n//p/r}: replace the first / every match of p (stars
 * greedy) by r. Go's ReplaceAllString: after a match the search goes on at
 * its end, or one character further for an empty match, and an empty match
 * right after a match is not replaced. */
static int replace(lexer *lx, const char *pat, size_t pat_len, const char *repl, size_t repl_len,
                   bool all, const char *val, size_t val_len, kn_buf *res)
{
    auto_pat_work pat_work w = {0};
    uint32_t bad;
    decode_all(pat, pat_len, &w.pat, NULL);
    if (compile_pattern(w.pat.items, w.pat.len, &w.prog, &bad) < 0)
        return pattern_error(lx, pat, pat_len, bad);
    decode_all(val, val_len, &w.text, &w.offs);
    matcher_init(&w.vm, &w.prog, true);
    const size_t *offs = w.offs.items;
    size_t n = w.text.len, ms, me;
    if (!all) {
        bool found = matcher_search(&w.vm, w.text.items, n, false, 0, false, &ms, &me);
        size_t a0 = found ? offs[ms] : val_len, a1 = found ? offs[me] : val_len;
        if (kn_buf_add(res, val, a0) < 0 || (found && kn_buf_add(res, repl, repl_len) < 0) ||
            kn_buf_add(res, val + a1, val_len - a1) < 0)
            lx->too_big = true;
        return 0;
    }
    __attribute__((cleanup(tmpl_free))) tmpl t = {KN_BUF_INIT, {0}, KN_BUF_INIT};
    tmpl_parse(&t, repl, repl_len);
    size_t last_end = 0; /* byte offset */
    size_t k = 0;        /* character index where the next search starts */
    while (k <= n && !lx->too_big) {
        if (!matcher_search(&w.vm, w.text.items, n, false, k, false, &ms, &me))
            break;
        size_t a0 = offs[ms], a1 = offs[me];
        if (kn_buf_add(res, val + last_end, a0 - last_end) < 0)
            lx->too_big = true;
        if ((a1 > last_end || a0 == 0) && tmpl_expand(&t, val + a0, a1 - a0, res) < 0)
            lx->too_big = true;
        last_end = a1;
        if (k == n || offs[k + 1] > a1)
            k++; /* an empty match, or one ending inside this character */
        else
            k = me;
    }
    if (kn_buf_add(res, val + last_end, val_len - last_end) < 0)
        lx->too_big = true;
    return 0;
}

/* Replace the output from offset at with res. */
static void replace_tail(lexer *lx, size_t at, const kn_buf *res)
{
    kn_buf_truncate(&lx->out, at);
    put(lx, res->data, res->len);
}

/* --- $ forms (X-4 .. X-13) --- */

/* After `${name` and the modifier chs (":" and/or one character), with mod
 * the modifier character proper (-1 at the end of the word). */
static int lex_modifier(lexer *lx, size_t name_off, size_t name_len, const char *chs,
                        size_t chs_len, int mod, bool null_is_unset)
{
    bool is_pattern = mod == '#' || mod == '%';
    if (null_is_unset && is_pattern)
        return lex_fail(lx, "unsupported modifier (%.*s) in substitution", (int)chs_len, chs);
    size_t at = lx->out.len;
    if (lex_nested(lx, '}', is_pattern) < 0) {
        if (at_end(lx))
            lex_fail(lx, "syntax error: missing '}'");
        return -1;
    }
    /* X-9: the word was lexed (and could fail) even if it goes unused. */
    const char *v = get_env(lx, name_off, name_len);
    if (!v && lx->skip_unset) {
        kn_autobuf kn_buf prefix = KN_BUF_INIT;
        kn_buf_adds(&prefix, "${");
        kn_buf_add(&prefix, lx->src + name_off, name_len);
        kn_buf_add(&prefix, chs, chs_len);
        insert(lx, at, prefix.data, prefix.len);
        put_str(lx, "}");
        return 0;
    }
    bool is_null = !v || (null_is_unset && !*v);
    switch (mod) {
    case '-':
        if (!is_null) {
            kn_buf_truncate(&lx->out, at);
            put_str(lx, v);
        }
        return 0;
    case '+':
        if (is_null)
            kn_buf_truncate(&lx->out, at);
        return 0;
    case '?':
        if (is_null) {
            const char *word = lx->out.data + at;
            size_t word_len = lx->out.len - at;
            if (word_len == 0) {
                word = v ? "is not allowed to be empty" : "is not allowed to be unset";
                word_len = strlen(word);
            }
            return lex_fail(lx, "%.*s: %.*s", (int)name_len, lx->src + name_off, (int)word_len,
                            word);
        }
        kn_buf_truncate(&lx->out, at);
        put_str(lx, v);
        return 0;
    case '#':
    case '%': {
        size_t pat_at = at;
        bool greedy = lx->out.len > at && lx->out.data[at] == mod;
        if (greedy)
            pat_at++;
        kn_autobuf kn_buf res = KN_BUF_INIT;
        kn_buf_init(&res, MAX_RESULT);
        const char *val = v ? v : "";
        int r = (mod == '#' ? trim_prefix : trim_suffix)(
            lx, lx->out.data + pat_at, lx->out.len - pat_at, greedy, val, strlen(val), &res);
        if (r == 0)
            replace_tail(lx, at, &res);
        return r;
    }
    default:
        return lex_fail(lx, "unsupported modifier (%.*s) in substitution", (int)chs_len, chs);
    }
}

/* After `${name/`. */
static int lex_replace(lexer *lx, size_t name_off, size_t name_len)
{
    bool all = !at_end(lx) && lx->src[lx->pos] == '/';
    if (all)
        lx->pos++;
    size_t at = lx->out.len;
    if (lex_nested(lx, '/', true) < 0) {
        if (at_end(lx))
            lex_fail(lx, "syntax error: missing '/' in ${}");
        return -1;
    }
    size_t repl_at = lx->out.len;
    if (lex_nested(lx, '}', true) < 0) {
        if (at_end(lx))
            lex_fail(lx, "syntax error: missing '}'");
        return -1;
    }
    const char *v = get_env(lx, name_off, name_len);
    if (!v && lx->skip_unset) {
        /* BuildKit writes one `/` back, for `//` too. */
        insert(lx, repl_at, "/", 1);
        kn_autobuf kn_buf prefix = KN_BUF_INIT;
        kn_buf_adds(&prefix, "${");
        kn_buf_add(&prefix, lx->src + name_off, name_len);
        kn_buf_adds(&prefix, "/");
        insert(lx, at, prefix.data, prefix.len);
        put_str(lx, "}");
        return 0;
    }
    if (lx->too_big)
        return 0; /* the expansion fails anyway (lex_until): skip the work */
    kn_autobuf kn_buf res = KN_BUF_INIT;
    kn_buf_init(&res, MAX_RESULT);
    const char *val = v ? v : "";
    int r = replace(lx, lx->out.data + at, repl_at - at, lx->out.data + repl_at,
                    lx->out.len - repl_at, all, val, strlen(val), &res);
    if (r == 0)
        replace_tail(lx, at, &res);
    return r;
}

/* At `$`: append the expansion to the output. */
static int lex_dollar(lexer *lx)
{
    lx->pos++;
    if (at_end(lx) || lx->src[lx->pos] != '{') {
        size_t name_off = lx->pos;
        size_t name_len = scan_name(lx);
        if (name_len == 0) {
            put_str(lx, "$"); /* X-5 */
            return 0;
        }
        const char *v = get_env(lx, name_off, name_len);
        if (v) {
            put_str(lx, v);
        } else if (lx->skip_unset) {
            put_str(lx, "$");
            put(lx, lx->src + name_off, name_len);
        }
        return 0;
    }
    lx->pos++;
    if (at_end(lx))
        return lex_fail(lx, "syntax error: missing '}'");
    char c = lx->src[lx->pos];
    if (c == '{' || c == '}' || c == ':')
        return lex_fail(lx, "syntax error: bad substitution");
    size_t name_off = lx->pos;
    size_t name_len = scan_name(lx);
    /* SEMANTICS X-8: `${n` at the end is a missing `}` (BuildKit itself
     * reports an unsupported modifier U+FFFD here). */
    if (at_end(lx))
        return lex_fail(lx, "syntax error: missing '}'");

    /* The modifier as BuildKit names it in messages: ":" and/or one
     * character (U+FFFD for an invalid byte or the end of the word). */
    char chs[8];
    size_t chs_len = 0;
    bool null_is_unset = false;
    int mod = -1;
    for (int i = 0; i < 2; i++) {
        if (at_end(lx)) {
            memcpy(chs + chs_len, replacement_char, 3);
            chs_len += 3;
            mod = -1;
            break;
        }
        uchar u = decode_at(lx->src + lx->pos, lx->len - lx->pos);
        if (u.valid)
            memcpy(chs + chs_len, lx->src + lx->pos, u.n);
        else
            memcpy(chs + chs_len, replacement_char, 3);
        chs_len += u.valid ? u.n : 3;
        lx->pos += u.n;
        mod = u.r < 0x80 ? (int)u.r : -1;
        if (i == 0 && mod == ':') {
            null_is_unset = true;
            continue;
        }
        break;
    }
    if (!null_is_unset) {
        switch (mod) {
        case '}': {
            const char *v = get_env(lx, name_off, name_len);
            if (v) {
                put_str(lx, v);
            } else if (lx->skip_unset) {
                put_str(lx, "${");
                put(lx, lx->src + name_off, name_len);
                put_str(lx, "}");
            }
            return 0;
        }
        case '/':
            return lex_replace(lx, name_off, name_len);
        case '+':
        case '-':
        case '?':
        case '#':
        case '%':
            break;
        default:
            return lex_fail(lx, "unsupported modifier (%.*s) in substitution", (int)chs_len, chs);
        }
    }
    return lex_modifier(lx, name_off, name_len, chs, chs_len, mod, null_is_unset);
}

/* X-2: single quotes take everything up to the next `'` literally. */
static int lex_single_quote(lexer *lx)
{
    lx->pos++;
    if (lx->raw_quotes)
        put_str(lx, "'");
    const char *q = memchr(lx->src + lx->pos, '\'', lx->len - lx->pos);
    if (!q) {
        lx->pos = lx->len; /* read to the end, as BuildKit does (see lex_modifier) */
        return lex_fail(lx, "unexpected end of statement while looking for matching single-quote");
    }
    size_t n = (size_t)(q - (lx->src + lx->pos));
    if (add_runes_of(&lx->out, lx->src + lx->pos, n) < 0)
        lx->too_big = true;
    lx->pos += n + 1;
    if (lx->raw_quotes)
        put_str(lx, "'");
    return 0;
}

/* X-2: in double quotes, `$` expands and ESC escapes only `"`, `$`, ESC. */
static int lex_double_quote(lexer *lx, bool raw_escapes)
{
    lx->pos++;
    if (lx->raw_quotes)
        put_str(lx, "\"");
    for (;;) {
        if (at_end(lx))
            return lex_fail(lx,
                            "unexpected end of statement while looking for matching double-quote");
        char c = lx->src[lx->pos];
        if (c == '"') {
            lx->pos++;
            if (lx->raw_quotes)
                put_str(lx, "\"");
            return 0;
        }
        if (c == '$') {
            if (lex_dollar(lx) < 0)
                return -1;
            continue;
        }
        if (c == lx->escape) {
            lx->pos++;
            if (raw_escapes)
                put(lx, &lx->escape, 1);
            if (at_end(lx))
                continue;
            char e = lx->src[lx->pos];
            if (e == '"' || e == '$' || e == lx->escape) {
                lx->pos++;
                put(lx, &e, 1);
            } else {
                put(lx, &lx->escape, 1);
            }
            continue;
        }
        size_t i = lx->pos;
        while (i < lx->len) {
            unsigned char b = (unsigned char)lx->src[i];
            if (b == '"' || b == '$' || b == (unsigned char)lx->escape || b >= 0x80)
                break;
            i++;
        }
        if (i > lx->pos) {
            put(lx, lx->src + lx->pos, i - lx->pos);
            lx->pos = i;
            continue;
        }
        uchar u = decode_at(lx->src + lx->pos, lx->len - lx->pos);
        put_uchar(lx, lx->src + lx->pos, u);
        lx->pos += u.n;
    }
}

/* `<<` and the blanks after it stay together: BuildKit's parser finds
 * heredoc markers this way (`<< EOF` is one word). */
static void lex_angle(lexer *lx)
{
    lx->pos++;
    if (at_end(lx) || lx->src[lx->pos] != '<') {
        put_str(lx, "<");
        return;
    }
    lx->pos++;
    size_t start = lx->pos;
    while (!at_end(lx) &&
           (lx->src[lx->pos] == ' ' || lx->src[lx->pos] == '\t' || lx->src[lx->pos] == '\r'))
        lx->pos++;
    put_str(lx, "<<");
    put(lx, lx->src + start, lx->pos - start);
}

static bool is_plain(const lexer *lx, unsigned char b, int stop)
{
    return b < 0x80 && b != '$' && b != '<' && b != '\'' && b != '"' &&
           b != (unsigned char)lx->escape && (int)b != stop;
}

static bool is_ascii_space(unsigned char b)
{
    return b == ' ' || (b >= '\t' && b <= '\r');
}

/* Lex up to stop (consumed) or, with NO_STOP, to the end; append to the
 * output. At the top level of Words mode, text goes to the words instead. */
static int lex_until(lexer *lx, int stop, bool raw_escapes)
{
    bool split = lx->words && lx->depth == 0;
    while (!at_end(lx)) {
        if (lx->too_big)
            return fail_too_big(lx);
        unsigned char c = (unsigned char)lx->src[lx->pos];
        if (stop != NO_STOP && (int)c == stop) {
            lx->pos++;
            return 0;
        }
        size_t at = lx->out.len;
        bool special = true, is_expansion = false;
        if (c == '$') {
            if (lex_dollar(lx) < 0)
                return -1;
            is_expansion = true;
        } else if (c == '<') {
            lex_angle(lx);
        } else if (c == '\'' && lx->process_quotes) {
            if (lex_single_quote(lx) < 0)
                return -1;
        } else if (c == '"' && lx->process_quotes) {
            if (lex_double_quote(lx, raw_escapes) < 0)
                return -1;
        } else {
            special = false;
        }
        if (special) {
            if (split) {
                if (lx->too_big)
                    return fail_too_big(lx);
                if (is_expansion)
                    word_add_expansion(lx, lx->out.data + at, lx->out.len - at);
                else
                    word_add_raw(lx, lx->out.data + at, lx->out.len - at);
                kn_buf_truncate(&lx->out, at);
            }
            continue;
        }

        if (c == (unsigned char)lx->escape) {
            lx->pos++;
            if (raw_escapes) {
                if (split)
                    word_add_raw(lx, &lx->escape, 1);
                else
                    put(lx, &lx->escape, 1);
            }
            if (at_end(lx))
                break; /* X-2: a final lone ESC is dropped */
            uchar u = decode_at(lx->src + lx->pos, lx->len - lx->pos);
            if (split) {
                if (u.valid)
                    word_add_raw(lx, lx->src + lx->pos, u.n);
                else
                    word_add_raw(lx, replacement_char, 3);
            } else {
                put_uchar(lx, lx->src + lx->pos, u);
            }
            lx->pos += u.n;
            continue;
        }

        /* A run of plain ASCII (not blanks, in Words mode) in one append. */
        size_t i = lx->pos;
        while (i < lx->len && is_plain(lx, (unsigned char)lx->src[i], stop) &&
               !(split && is_ascii_space((unsigned char)lx->src[i])))
            i++;
        if (i > lx->pos) {
            if (split)
                word_add_raw(lx, lx->src + lx->pos, i - lx->pos);
            else
                put(lx, lx->src + lx->pos, i - lx->pos);
            lx->pos = i;
            continue;
        }
        uchar u = decode_at(lx->src + lx->pos, lx->len - lx->pos);
        if (split)
            word_add_char(lx, lx->src + lx->pos, u);
        else
            put_uchar(lx, lx->src + lx->pos, u);
        lx->pos += u.n;
    }
    if (stop != NO_STOP)
        return lex_fail(lx, "unexpected end of statement while looking for matching %c", stop);
    return 0;
}

/* --- Entry points --- */

static int lex_run(const char *word, size_t len, char escape, const kn_expand_env *env,
                   bool process_quotes, const kn_lex_opts *opts, kn_strvec *words, kn_buf *out,
                   kn_err *err)
{
    if (escape != '\\' && escape != '`')
        return kn_errf(err, KN_EINPUT, "invalid escape character '%c': must be '\\' or '`'",
                       escape);
    lexer lx = {
        .src = word,
        .len = len,
        .escape = escape,
        .process_quotes = process_quotes,
        .raw_quotes = opts && opts->raw_quotes,
        .skip_unset = opts && opts->skip_unset,
        .env = env,
        .words = words,
        .err = err,
    };
    kn_buf_init(&lx.out, MAX_RESULT);
    kn_buf_init(&lx.name, SIZE_MAX);
    kn_buf_init(&lx.word, MAX_RESULT);
    /* Go's text/scanner skips a byte order mark at the very start. */
    if (len >= 3 && memcmp(word, "\xEF\xBB\xBF", 3) == 0)
        lx.pos = 3;
    if (!words && kn_buf_grow(&lx.out, len) < 0)
        lx.too_big = true;
    int r = lex_until(&lx, NO_STOP, opts && opts->raw_escapes);
    if (r == 0 && lx.too_big)
        r = fail_too_big(&lx);
    if (r == 0 && words && lx.word.len > 0)
        kn_strvec_pushn(words, lx.word.data, lx.word.len);
    kn_buf_free(&lx.name);
    kn_buf_free(&lx.word);
    if (r == 0)
        *out = lx.out;
    else
        kn_buf_free(&lx.out);
    return r;
}

const char *kn_expand_lookup_kv(void *ctx, const char *name)
{
    const kn_strvec *kv = ctx;
    size_t n = strlen(name);
    for (size_t i = kv->len; i-- > 0;) {
        const char *e = kv->items[i];
        if (strncmp(e, name, n) != 0)
            continue;
        if (e[n] == '=')
            return e + n + 1;
        if (e[n] == '\0')
            return e + n; /* "KEY" alone: set and empty, as BuildKit reads it */
    }
    return NULL;
}

int kn_expand_word_len(const char *word, size_t len, char escape, const kn_expand_env *env,
                       char **out, size_t *out_len, kn_err *err)
{
    kn_buf res;
    if (lex_run(word, len, escape, env, true, NULL, NULL, &res, err) < 0)
        return -1;
    if (out_len)
        *out_len = res.len;
    *out = kn_buf_release(&res);
    return 0;
}

int kn_expand_word(const char *word, char escape, const kn_expand_env *env, char **out, kn_err *err)
{
    return kn_expand_word_len(word, strlen(word), escape, env, out, NULL, err);
}

int kn_expand_words_opts(const char *word, char escape, const kn_expand_env *env,
                         const kn_lex_opts *opts, kn_strvec *out, kn_err *err)
{
    size_t n_before = out->len;
    kn_buf res;
    if (lex_run(word, strlen(word), escape, env, true, opts, out, &res, err) < 0) {
        /* A failure appends nothing. */
        while (out->len > n_before)
            free(out->items[--out->len]);
        if (out->items)
            out->items[out->len] = NULL;
        return -1;
    }
    kn_buf_free(&res);
    return 0;
}

int kn_expand_words(const char *word, char escape, const kn_expand_env *env, kn_strvec *out,
                    kn_err *err)
{
    return kn_expand_words_opts(word, escape, env, NULL, out, err);
}

int kn_expand_heredoc(const char *body, const kn_expand_env *env, char **out, kn_err *err)
{
    kn_buf res;
    if (lex_run(body, strlen(body), '\\', env, false, NULL, NULL, &res, err) < 0)
        return -1;
    *out = kn_buf_release(&res);
    return 0;
}
