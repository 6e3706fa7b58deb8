/* paths.c: where vidsift finds its installed files. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_models_dir(char *out, size_t size)
{
    const char *env = getenv("VIDSIFT_MODELS");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(out, size, "%s/models", exe);
            if (access(out, R_OK) == 0)
                return;
            snprintf(out, size, "%s/../share/vidsift/models", exe);
            if (access(out, R_OK) == 0)
                return;
        }
    }
    snprintf(out, size, "/usr/local/share/vidsift/models");
}

/* Length of name without its model-file extension, or 0 if it has none. */
static size_t model_file_stem(const char *name)
{
    static const char *const extensions[] = {".pt", ".torchscript", NULL};
    size_t length = strlen(name);
    for (int i = 0; extensions[i]; i++) {
        size_t ext = strlen(extensions[i]);
        if (length > ext && !strcmp(name + length - ext, extensions[i]))
            return length - ext;
    }
    return 0;
}

void cli_manifest_path(const char *name, const char *dir, char *out, size_t size)
{
    size_t stem = model_file_stem(name);
    if (stem) {
        snprintf(out, size, "%.*s.manifest.json", (int)stem, name);
        return;
    }
    if (strchr(name, '/') || strstr(name, ".json")) {
        snprintf(out, size, "%s", name);
        return;
    }
    char models[PATH_MAX];
    if (!dir) {
        cli_models_dir(models, sizeof models);
        dir = models;
    }
    snprintf(out, size, "%s/%s.manifest.json", dir, name);
    if (access(out, F_OK) != 0) {
        char plain[PATH_MAX];
        int length = snprintf(plain, sizeof plain, "%s/%s.json", dir, name);
        if (length > 0 && (size_t)length < sizeof plain && access(plain, F_OK) == 0)
            snprintf(out, size, "%s", plain);
    }
}

int cli_model_without_manifest(const char *command, const char *name, const char *manifest)
{
    if (!model_file_stem(name) || access(manifest, F_OK) == 0)
        return 0;
    fprintf(stderr,
            "%s: %s is a model file without a manifest: vidsift reads %s to know the model's "
            "input size, normalisation, decoder and labels; write it with `vidsift models init "
            "%s --decoder yolov8` (or yolov5, yolo11, centernet; see models/README.md), then "
            "check it with `vidsift models verify %s`\n",
            command, name, manifest, name, manifest);
    return 1;
}

const char *cli_default_model(void)
{
    /* The environment lets a site or a test suite pin another default (the
     * test suite keeps the faster CenterNet where any model will do). */
    const char *env = getenv("VIDSIFT_DEFAULT_MODEL");
    return env && *env ? env : "yolov5s";
}
