#include "base/err.h"

#include "base/buf.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_addvf(&b, fmt, ap);
    return kn_buf_release(&b);
}

__attribute__((format(printf, 5, 0))) static int set(kn_err *err, int code, const char *file,
                                                     int line, const char *fmt, va_list ap)
{
    /* Build the new message and position before dropping the old ones: the
     * arguments may point into them (re-raising err->msg or err->file). */
    char *msg = vformat(fmt, ap);
    if (code > 0 && code < KN_EINPUT) {
        kn_buf b = KN_BUF_INIT;
        kn_buf_addf(&b, "%s: %s", msg, strerror(code));
        free(msg);
        msg = kn_buf_release(&b);
    }
    char *file_copy = file ? kn_xstrdup(file) : NULL;
    kn_err_clear(err);
    err->code = code;
    err->msg = msg;
    err->file = file_copy;
    err->line = line;
    return -1;
}

int kn_errf(kn_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(err, code, NULL, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int kn_errf_at(kn_err *err, int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(err, code, file, line, fmt, ap);
    va_end(ap);
    return -1;
}

int kn_err_wrap(kn_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *ctx = vformat(fmt, ap);
    va_end(ap);
    kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "%s: %s", ctx, err->msg ? err->msg : "unknown error");
    free(ctx);
    free(err->msg);
    err->msg = kn_buf_release(&b);
    if (!err->code)
        err->code = KN_EFAILED;
    return -1;
}

void kn_err_set_pos(kn_err *err, const char *file, int line)
{
    if (err->file || !file)
        return;
    err->file = kn_xstrdup(file);
    err->line = line;
}

char *kn_err_format(const kn_err *err)
{
    kn_buf b = KN_BUF_INIT;
    if (err->file && err->line > 0)
        kn_buf_addf(&b, "%s:%d: ", err->file, err->line);
    else if (err->file)
        kn_buf_addf(&b, "%s: ", err->file);
    kn_buf_adds(&b, err->msg ? err->msg : "unknown error");
    return kn_buf_release(&b);
}

void kn_err_clear(kn_err *err)
{
    free(err->msg);
    free(err->file);
    *err = (kn_err)KN_ERR_INIT;
}
