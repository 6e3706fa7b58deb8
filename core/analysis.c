/* analysis.c: the canonical text of what produced a video's rows; see
 * analysis.h. Owns nothing between calls. */
#include "analysis.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#define HASH_CHUNK (1 << 20)
#define SHORT_HASH 12 /* hex digits shown in a reason: enough to tell two files apart */

static void hex_digest(const uint8_t digest[32], char *out)
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int vs_file_sha256(const char *path, char *out, vs_error *err)
{
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail(err, VS_EIO, "%s: cannot read: %s", path, strerror(errno));
    struct AVSHA *sha = av_sha_alloc();
    uint8_t *buffer = malloc(HASH_CHUNK);
    int status = VS_OK;
    if (!sha || !buffer)
        status = vs_fail(err, VS_ENOMEM, "%s: out of memory to hash it", path);
    if (status == VS_OK)
        av_sha_init(sha, 256);
    while (status == VS_OK) {
        ssize_t n = read(fd, buffer, HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            status = vs_fail(err, VS_EIO, "%s: cannot read: %s", path, strerror(errno));
        if (n <= 0)
            break;
        av_sha_update(sha, buffer, (size_t)n);
    }
    if (status == VS_OK) {
        uint8_t digest[32];
        av_sha_final(sha, digest);
        hex_digest(digest, out);
    }
    close(fd);
    free(buffer);
    av_free(sha);
    return status;
}

/* The labels as the store writes them: a renamed class changes the rows. */
static int labels_sha256(const vs_manifest *manifest, char *out, vs_error *err)
{
    struct AVSHA *sha = av_sha_alloc();
    if (!sha)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    av_sha_init(sha, 256);
    for (int c = 0; c < manifest->classes; c++)
        av_sha_update(sha, (const uint8_t *)manifest->labels[c], strlen(manifest->labels[c]) + 1);
    uint8_t digest[32];
    av_sha_final(sha, digest);
    av_free(sha);
    hex_digest(digest, out);
    return VS_OK;
}

/* A float option as the user wrote it: 0.3f is stored as 0.3, not
 * 0.30000001192092896, so that the text compares and reads the same. */
static double rounded(double value)
{
    char text[32];
    snprintf(text, sizeof text, "%.6g", value);
    return strtod(text, NULL);
}

int vs_analysis_describe(const vs_manifest *manifest, const vs_analysis_options *options,
                         char **text, vs_error *err)
{
    *text = NULL;
    char manifest_hash[65], weights_hash[65], labels_hash[65];
    char zones_hash[65] = "none";
    int status = vs_file_sha256(options->manifest_path, manifest_hash, err);
    if (status == VS_OK && options->zones_path)
        status = vs_file_sha256(options->zones_path, zones_hash, err);
    if (status == VS_OK)
        status = vs_file_sha256(manifest->model_path, weights_hash, err);
    if (status == VS_OK)
        status = labels_sha256(manifest, labels_hash, err);
    if (status != VS_OK)
        return status;
    /* Kept classes by id, in the model's order: "--classes car,person" and
     * "--classes person,car" are the same analysis. */
    size_t classes_size = 4;
    for (int c = 0; c < manifest->classes; c++)
        classes_size += strlen(manifest->labels[c]) + 1;
    char *classes = calloc(1, classes_size);
    if (!classes)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    if (!options->class_allowed) {
        strcpy(classes, "all");
    } else {
        for (int c = 0; c < manifest->classes; c++)
            if (options->class_allowed[c]) {
                if (*classes)
                    strcat(classes, ",");
                strcat(classes, manifest->labels[c]);
            }
    }
    char input[32];
    snprintf(input, sizeof input, "%dx%d", manifest->input_width, manifest->input_height);
    cJSON *root = cJSON_CreateObject();
    if (root) {
        cJSON_AddStringToObject(root, "model", manifest->name);
        cJSON_AddStringToObject(root, "manifest", manifest_hash);
        cJSON_AddStringToObject(root, "weights", weights_hash);
        cJSON_AddStringToObject(root, "labels", labels_hash);
        cJSON_AddStringToObject(root, "input", input);
        cJSON_AddNumberToObject(root, "conf", rounded(options->conf));
        cJSON_AddNumberToObject(root, "iou", rounded(options->iou));
        cJSON_AddStringToObject(root, "classes", classes);
        cJSON_AddNumberToObject(root, "every", options->every > 1 ? options->every : 1);
        cJSON_AddNumberToObject(root, "sample_fps", rounded(options->sample_fps));
        cJSON_AddNumberToObject(root, "skip_similar", rounded(options->skip_similar));
        cJSON_AddBoolToObject(root, "half", options->half != 0);
        cJSON_AddStringToObject(root, "track", options->tracking ? options->tracking : "off");
        cJSON_AddStringToObject(root, "zones", zones_hash);
        cJSON_AddBoolToObject(root, "annotate", options->annotate != 0);
        cJSON_AddBoolToObject(root, "snapshots", options->snapshots != 0);
        *text = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
    }
    free(classes);
    return *text ? VS_OK : vs_fail(err, VS_ENOMEM, "out of memory");
}

/* A value that means "not used": a key a later vidsift added, absent from an
 * older record, with such a value now changes nothing. */
static int is_off_value(const cJSON *item)
{
    if (cJSON_IsFalse(item))
        return 1;
    if (cJSON_IsNumber(item))
        return item->valuedouble == 0;
    if (cJSON_IsString(item))
        return !strcmp(item->valuestring, "off") || !strcmp(item->valuestring, "none") ||
               !strcmp(item->valuestring, "all");
    return 0;
}

/* An output asked for: having made it before is enough when it is not asked for now. */
static int is_output_key(const char *key)
{
    return !strcmp(key, "annotate") || !strcmp(key, "snapshots");
}

static int is_model_key(const char *key)
{
    static const char *const keys[] = {"model", "manifest", "weights", "labels", "input"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

/* One value as a reason shows it: strings bare, hashes shortened. */
static void show_value(const cJSON *item, const char *key, char *out, size_t size)
{
    if (!item) {
        snprintf(out, size, "none");
    } else if (cJSON_IsString(item)) {
        int hash = !strcmp(key, "manifest") || !strcmp(key, "weights") || !strcmp(key, "labels") ||
                   (!strcmp(key, "zones") && strcmp(item->valuestring, "none"));
        snprintf(out, size, "%.*s", hash ? SHORT_HASH : (int)size, item->valuestring);
    } else if (cJSON_IsBool(item)) {
        snprintf(out, size, "%s", cJSON_IsTrue(item) ? "on" : "off");
    } else if (cJSON_IsNumber(item)) {
        snprintf(out, size, "%g", item->valuedouble);
    } else {
        char *printed = cJSON_PrintUnformatted(item);
        snprintf(out, size, "%s", printed ? printed : "?");
        free(printed);
    }
}

void vs_analysis_difference(const char *was, const char *now, char *reason, size_t size)
{
    if (size == 0)
        return;
    reason[0] = 0;
    if (!was) {
        snprintf(reason, size, "options not recorded (analysed by an older vidsift)");
        return;
    }
    if (now && !strcmp(was, now))
        return;
    cJSON *old_root = cJSON_Parse(was), *new_root = now ? cJSON_Parse(now) : NULL;
    if (!old_root || !new_root) {
        snprintf(reason, size, "options changed");
        cJSON_Delete(old_root);
        cJSON_Delete(new_root);
        return;
    }
    char changes[2][400] = {"", ""}; /* [0] model, [1] options */
    const cJSON *item;
    cJSON_ArrayForEach(item, new_root)
    {
        const cJSON *old_item = cJSON_GetObjectItemCaseSensitive(old_root, item->string);
        char old_text[128], new_text[128];
        show_value(old_item, item->string, old_text, sizeof old_text);
        show_value(item, item->string, new_text, sizeof new_text);
        if ((old_item && cJSON_Compare(old_item, item, 1)) || (!old_item && is_off_value(item)) ||
            (is_output_key(item->string) && (cJSON_IsTrue(old_item) || !cJSON_IsTrue(item))))
            continue;
        char *list = changes[!is_model_key(item->string)];
        size_t used = strlen(list);
        snprintf(list + used, sizeof changes[0] - used, "%s%s %s -> %s", used ? ", " : "",
                 item->string, old_text, new_text);
    }
    cJSON_Delete(old_root);
    cJSON_Delete(new_root);
    if (*changes[0] && *changes[1])
        snprintf(reason, size, "model changed (%s), options changed (%s)", changes[0], changes[1]);
    else if (*changes[0])
        snprintf(reason, size, "model changed (%s)", changes[0]);
    else if (*changes[1])
        snprintf(reason, size, "options changed (%s)", changes[1]);
    /* else: the same values (a key added since, unused): nothing to redo */
}
