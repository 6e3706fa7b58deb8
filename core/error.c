/* error.c: formatting of vs_error messages. Owns no state. */
#include "vs_error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vs_fail(vs_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void vs_error_prefix(vs_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[sizeof err->msg], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Long messages lose their tail, never their head: the file name comes first. */
    size_t used = strlen(prefix);
    memcpy(err->msg, prefix, used);
    size_t room = sizeof err->msg - 1 - used;
    size_t rest = strnlen(old, sizeof old - 1) + 2;
    if (rest > room)
        rest = room; /* the tail goes */
    memcpy(err->msg + used, ": ", rest < 2 ? rest : 2);
    if (rest > 2)
        memcpy(err->msg + used + 2, old, rest - 2);
    err->msg[used + rest] = 0;
}

/* Length of the valid UTF-8 sequence at text (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static int utf8_sequence(const unsigned char *text)
{
    unsigned char c = text[0];
    int length = c < 0x80                 ? 1
                 : c >= 0xc2 && c <= 0xdf ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    for (int i = 1; i < length; i++)
        if ((text[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && text[1] < 0xa0) || (c == 0xed && text[1] > 0x9f) ||
        (c == 0xf0 && text[1] < 0x90) || (c == 0xf4 && text[1] > 0x8f))
        return 0;
    return length;
}

/* One piece of a name: its input bytes, and whether it is written as \xNN. */
static size_t safe_piece(const unsigned char *in, int *escape)
{
    int length = utf8_sequence(in);
    /* C1 controls are valid UTF-8 (0xc2 0x80..0x9f) yet act as escapes. */
    *escape = length == 0 || (length == 1 && (*in < 0x20 || *in == 0x7f)) ||
              (length == 2 && in[0] == 0xc2 && in[1] < 0xa0);
    return length ? (size_t)length : 1;
}

char *vs_safe_name(const char *name, char *out, size_t size)
{
    assert(out && size >= 4);
    static const char hex[] = "0123456789abcdef";
    const unsigned char *in = (const unsigned char *)(name ? name : "(null)");
    size_t total = 0; /* the escaped length: does it all fit? */
    int escape;
    for (const unsigned char *p = in; *p;) {
        size_t step = safe_piece(p, &escape);
        total += escape ? 4 * step : step;
        p += step;
    }
    int cut = total + 1 > size;
    size_t used = 0;
    while (*in) {
        size_t step = safe_piece(in, &escape);
        size_t need = escape ? 4 * step : step;
        /* When it does not all fit, stop where "..." still does. */
        if (cut && used + need + 4 > size) {
            memcpy(out + used, "...", 4);
            return out;
        }
        if (escape) {
            for (size_t i = 0; i < step; i++) {
                out[used++] = '\\';
                out[used++] = 'x';
                out[used++] = hex[in[i] >> 4];
                out[used++] = hex[in[i] & 15];
            }
        } else {
            memcpy(out + used, in, step);
            used += step;
        }
        in += step;
    }
    out[used] = 0;
    return out;
}
