/* error.c: formatting of vs_error messages. Owns no state. */
#include "vs_error.h"

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
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Long messages lose their tail, never their head: the file name comes first. */
    snprintf(err->msg, sizeof err->msg, "%s: %.*s", prefix,
             (int)(sizeof err->msg - sizeof prefix - 3), old);
}
