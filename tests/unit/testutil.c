#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "manifest.h"

const char *test_tmpdir(const char *name)
{
    static char path[4096];
    const char *base = getenv("VS_TEST_TMP");
    snprintf(path, sizeof path, "%s/%s", base && *base ? base : "/tmp/vidsift-test", name);
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0)
        return NULL;
    return path;
}

int test_sh(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *test_models_dir(void)
{
    const char *dir = getenv("VS_MODELS_DIR");
    return dir && *dir ? dir : "build/models";
}

void test_load_model(vs_manifest *manifest, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/test/%s.manifest.json", test_models_dir(), name);
    vs_error err = {{0}};
    if (vs_manifest_load(manifest, path, &err) != VS_OK)
        fail_msg("%s: %s (run models/prepare.sh BUILD/models)", path, err.msg);
}
