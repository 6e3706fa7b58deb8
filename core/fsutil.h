/* fsutil.h: small file-system helpers shared by the sinks and the CLI. */
#ifndef VS_FSUTIL_H
#define VS_FSUTIL_H

#include "vs_error.h"

/* mkdir -p: creates dir and its missing parents. A file in the way is an
 * error ("Not a directory"), not success. */
int vs_make_dirs(const char *dir, vs_error *err);

#endif
