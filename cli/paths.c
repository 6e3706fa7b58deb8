/* paths.c: where vidsift finds its installed files. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_models_dir(void)
{
    static char dir[PATH_MAX]; /* written once, before any thread starts */
    const char *env = getenv("VIDSIFT_MODELS");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(dir, sizeof dir, "%s/models", exe);
            if (access(dir, R_OK) == 0)
                return dir;
            snprintf(dir, sizeof dir, "%s/../share/vidsift/models", exe);
            if (access(dir, R_OK) == 0)
                return dir;
        }
    }
    return "/usr/local/share/vidsift/models";
}
