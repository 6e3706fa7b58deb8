/* manifest.c: reads a model's manifest (JSON) and its labels file.
 *
 * Owns the rules that decide whether a manifest is usable: which fields are
 * required, their types, their ranges and their defaults. Everything the rest
 * of vidsift reads from a vs_manifest has been checked here, so no other file
 * re-validates it. Every rejection names the file and the field (or the line,
 * for labels) in a single line, because the message is all a user sees.
 *
 * Must never: keep state between calls, print, or read anything but the
 * manifest, its labels file and (for existence only) the model file.
 *
 * Unknown fields are ignored on purpose: converters add provenance fields
 * ("source", hashes, notes) and a manifest must stay loadable by an older
 * vidsift. Known fields, however, are checked strictly. */
#include "manifest.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "detect.h"

/* A manifest or labels file larger than this is not one: refusing it early
 * keeps a mistaken path (a video, the model itself) from being read whole. */
#define MANIFEST_MAX_BYTES (1 << 20)
#define LABELS_MAX_BYTES (1 << 20)

#define INPUT_SIZE_MIN 16
#define INPUT_SIZE_MAX 4096
#define STRIDE_MAX 64

/* Parsing context: where errors go and what they are prefixed with. */
typedef struct parse_ctx {
    const char *file;
    vs_error *err;
} parse_ctx;

const char *vs_decoder_name(vs_decoder_kind kind)
{
    switch (kind) {
    case VS_DECODER_CENTERNET: return "centernet";
    case VS_DECODER_YOLOV5: return "yolov5";
    case VS_DECODER_YOLOV8: return "yolov8";
    }
    return "unknown";
}

/* Copies at most 40 bytes of a user-supplied string for an error message,
 * replacing control bytes, so that a hostile value cannot break the
 * one-line rule or flood the terminal. */
static const char *printable(const char *text, char *buf, size_t size)
{
    size_t n = 0;
    for (; text[n] && n < 40 && n + 4 < size; n++) {
        unsigned char c = (unsigned char)text[n];
        buf[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (text[n] && n + 4 < size)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = 0;
    return buf;
}

static int field_error(const parse_ctx *ctx, const char *field, const char *what)
{
    return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s': %s", ctx->file, field, what);
}

static const char *json_type_name(const cJSON *item)
{
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsArray(item))
        return "an array";
    if (cJSON_IsObject(item))
        return "an object";
    return "an invalid value";
}

static int type_error(const parse_ctx *ctx, const char *field, const char *expected,
                      const cJSON *got)
{
    return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s': expected %s, got %s", ctx->file, field,
                   expected, json_type_name(got));
}

static int missing(const parse_ctx *ctx, const char *field)
{
    return field_error(ctx, field, "missing (required)");
}

static const cJSON *member(const cJSON *object, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(object, key);
}

/* cJSON silently keeps the first of two equal keys; a manifest that says
 * "classes" twice is ambiguous, so a known key given twice is an error.
 * Cost: keys x known fields, which stays linear however large the object. */
static int check_duplicates(const parse_ctx *ctx, const cJSON *object, const char *prefix,
                            const char *const *known)
{
    for (int k = 0; known[k]; k++) {
        int seen = 0;
        for (const cJSON *child = object->child; child; child = child->next)
            if (child->string && !strcmp(child->string, known[k]) && ++seen > 1)
                return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s%s': given twice", ctx->file,
                               prefix, known[k]);
    }
    return VS_OK;
}

/* Integer fields: JSON has only doubles, so 512.0 is accepted and 512.5 is
 * not. The range is checked in double first so that 1e300 cannot overflow
 * the conversion to int. */
static int get_int(const parse_ctx *ctx, const cJSON *object, const char *key, const char *field,
                   int required, int fallback, int lo, int hi, int *out)
{
    const cJSON *item = member(object, key);
    if (!item) {
        if (required)
            return missing(ctx, field);
        *out = fallback;
        return VS_OK;
    }
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
        item->valuedouble != floor(item->valuedouble))
        return type_error(ctx, field, "an integer", item);
    double value = item->valuedouble;
    if (value < lo || value > hi)
        return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s': %.17g is out of range %d..%d",
                       ctx->file, field, value, lo, hi);
    *out = (int)value;
    return VS_OK;
}

/* Number fields that must be finite; the range check is left to the caller
 * because each field has its own rule (closed interval, non-zero, positive). */
static int get_number(const parse_ctx *ctx, const cJSON *item, const char *field, float *out)
{
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
        return type_error(ctx, field, "a number", item);
    /* Values beyond float's range would become infinities in the pipeline. */
    if (fabs(item->valuedouble) > 1e30)
        return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s': %g is too large", ctx->file, field,
                       item->valuedouble);
    *out = (float)item->valuedouble;
    return VS_OK;
}

static int get_unit_interval(const parse_ctx *ctx, const cJSON *object, const char *key,
                             float fallback, float *out)
{
    const cJSON *item = member(object, key);
    if (!item) {
        *out = fallback;
        return VS_OK;
    }
    int status = get_number(ctx, item, key, out);
    if (status != VS_OK)
        return status;
    if (*out < 0.0f || *out > 1.0f)
        return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s': %g is out of range 0..1", ctx->file,
                       key, item->valuedouble);
    return VS_OK;
}

/* String fields; returns the string in *out (owned by the cJSON tree). */
static int get_string(const parse_ctx *ctx, const cJSON *object, const char *key, const char *field,
                      int required, const char **out)
{
    const cJSON *item = member(object, key);
    if (!item) {
        if (required)
            return missing(ctx, field);
        *out = NULL;
        return VS_OK;
    }
    if (!cJSON_IsString(item) || !item->valuestring)
        return type_error(ctx, field, "a string", item);
    if (!item->valuestring[0])
        return field_error(ctx, field, "must not be empty");
    *out = item->valuestring;
    return VS_OK;
}

/* Picks one of `choices` (NULL-terminated); the index lands in *out. */
static int get_choice(const parse_ctx *ctx, const cJSON *object, const char *key, const char *field,
                      int required, const char *const *choices, const char *expected, int fallback,
                      int *out)
{
    const char *value;
    int status = get_string(ctx, object, key, field, required, &value);
    if (status != VS_OK)
        return status;
    if (!value) {
        *out = fallback;
        return VS_OK;
    }
    for (int i = 0; choices[i]; i++)
        if (!strcmp(value, choices[i])) {
            *out = i;
            return VS_OK;
        }
    char shown[64];
    return vs_fail(ctx->err, VS_EINVAL, "%s: field '%s': '%s' is not one of %s", ctx->file, field,
                   printable(value, shown, sizeof shown), expected);
}

/* mean and std: an array of three numbers (one per channel, in the tensor's
 * channel order) or one number for all three. */
static int get_triple(const parse_ctx *ctx, const cJSON *input, const char *key, const char *field,
                      float fallback, int nonzero, float out[3])
{
    const cJSON *item = member(input, key);
    if (!item) {
        out[0] = out[1] = out[2] = fallback;
        return VS_OK;
    }
    if (cJSON_IsNumber(item)) {
        int status = get_number(ctx, item, field, &out[0]);
        if (status != VS_OK)
            return status;
        out[1] = out[2] = out[0];
    } else if (cJSON_IsArray(item)) {
        if (cJSON_GetArraySize(item) != 3)
            return vs_fail(ctx->err, VS_EINVAL,
                           "%s: field '%s': expected 3 numbers (one per channel), got %d",
                           ctx->file, field, cJSON_GetArraySize(item));
        for (int c = 0; c < 3; c++) {
            char element[64];
            snprintf(element, sizeof element, "%s[%d]", field, c);
            int status = get_number(ctx, cJSON_GetArrayItem(item, c), element, &out[c]);
            if (status != VS_OK)
                return status;
        }
    } else {
        return type_error(ctx, field, "an array of 3 numbers", item);
    }
    for (int c = 0; c < 3; c++)
        if (nonzero && out[c] == 0.0f)
            return field_error(ctx, field, "must not be 0 (values are divided by it)");
    return VS_OK;
}

/* Resolves a file name against the manifest's directory: models ship as a
 * directory and must work wherever it is installed. */
static int resolve_path(const parse_ctx *ctx, const char *field, const char *dir, const char *name,
                        char *out, size_t size)
{
    int n;
    if (name[0] == '/' || !dir || !dir[0])
        n = snprintf(out, size, "%s", name);
    else
        n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return field_error(ctx, field, "path too long");
    return VS_OK;
}

/* The "outputs" field is informational for YOLO (one output) but fixes the
 * order for CenterNet, whose decoder reads output 0 as the heatmap and output
 * 1 as the boxes: another order must fail here, not decode garbage later. */
static int check_outputs(const parse_ctx *ctx, const cJSON *root, vs_decoder_kind decoder)
{
    const cJSON *outputs = member(root, "outputs");
    if (!outputs)
        return VS_OK;
    if (!cJSON_IsArray(outputs))
        return type_error(ctx, "outputs", "an array of strings", outputs);
    int count = cJSON_GetArraySize(outputs);
    for (int i = 0; i < count; i++)
        if (!cJSON_IsString(cJSON_GetArrayItem(outputs, i)))
            return type_error(ctx, "outputs", "an array of strings",
                              cJSON_GetArrayItem(outputs, i));
    if (decoder == VS_DECODER_CENTERNET &&
        (count != 2 || strcmp(cJSON_GetArrayItem(outputs, 0)->valuestring, "heatmap") ||
         strcmp(cJSON_GetArrayItem(outputs, 1)->valuestring, "boxes")))
        return field_error(ctx, "outputs",
                           "the centernet decoder expects [\"heatmap\", \"boxes\"] in that order");
    if (decoder != VS_DECODER_CENTERNET && count != 1)
        return vs_fail(ctx->err, VS_EINVAL,
                       "%s: field 'outputs': decoder %s expects 1 output, got %d", ctx->file,
                       vs_decoder_name(decoder), count);
    return VS_OK;
}

static int parse_input(const parse_ctx *ctx, const cJSON *root, vs_manifest *m)
{
    const cJSON *input = member(root, "input");
    if (!input)
        return missing(ctx, "input");
    if (!cJSON_IsObject(input))
        return type_error(ctx, "input", "an object", input);

    static const char *const known[] = {"width", "height", "layout", "colour", "scale",
                                        "mean",  "std",    "resize", NULL};
    int status = check_duplicates(ctx, input, "input.", known);
    if (status != VS_OK)
        return status;
    static const char *const layouts[] = {"nchw", NULL};
    static const char *const colours[] = {"rgb", "bgr", NULL};
    static const char *const resizes[] = {"stretch", "letterbox", NULL};
    int layout, colour, resize;
    if ((status = get_int(ctx, input, "width", "input.width", 1, 0, INPUT_SIZE_MIN, INPUT_SIZE_MAX,
                          &m->input_width)) ||
        (status = get_int(ctx, input, "height", "input.height", 1, 0, INPUT_SIZE_MIN,
                          INPUT_SIZE_MAX, &m->input_height)) ||
        (status =
             get_choice(ctx, input, "layout", "input.layout", 0, layouts, "nchw", 0, &layout)) ||
        (status =
             get_choice(ctx, input, "colour", "input.colour", 0, colours, "rgb|bgr", 0, &colour)) ||
        (status = get_choice(ctx, input, "resize", "input.resize", 0, resizes, "stretch|letterbox",
                             VS_RESIZE_STRETCH, &resize)) ||
        (status = get_triple(ctx, input, "mean", "input.mean", 0.0f, 0, m->mean)) ||
        (status = get_triple(ctx, input, "std", "input.std", 1.0f, 1, m->std)))
        return status;
    m->bgr = colour == 1;
    m->resize = (vs_resize_mode)resize;

    const cJSON *scale = member(input, "scale");
    m->scale = 1.0f;
    if (scale) {
        if ((status = get_number(ctx, scale, "input.scale", &m->scale)))
            return status;
        if (!(m->scale > 0.0f))
            return vs_fail(ctx->err, VS_EINVAL, "%s: field 'input.scale': %g must be > 0",
                           ctx->file, scale->valuedouble);
    }
    return VS_OK;
}

static int parse_tree(const parse_ctx *ctx, const cJSON *root, vs_manifest *m, const char *dir)
{
    if (!cJSON_IsObject(root))
        return vs_fail(ctx->err, VS_EINVAL, "%s: expected a JSON object at the top level, got %s",
                       ctx->file, json_type_name(root));

    static const char *const known[] = {
        "name",   "file",    "input", "decoder", "outputs",        "stride",
        "labels", "classes", "conf",  "iou",     "max_detections", "class_agnostic_nms",
        "source", "licence", NULL};
    const char *name, *file, *labels;
    int status;
    if ((status = check_duplicates(ctx, root, "", known)) ||
        (status = get_string(ctx, root, "name", "name", 1, &name)))
        return status;
    if (strlen(name) >= sizeof m->name)
        return vs_fail(ctx->err, VS_EINVAL, "%s: field 'name': longer than %zu bytes", ctx->file,
                       sizeof m->name - 1);
    snprintf(m->name, sizeof m->name, "%s", name);

    if ((status = get_string(ctx, root, "file", "file", 1, &file)) ||
        (status = resolve_path(ctx, "file", dir, file, m->model_path, sizeof m->model_path)) ||
        (status = parse_input(ctx, root, m)))
        return status;

    /* "yolo11" shares YOLOv8's head and output layout, so it is an alias. */
    static const char *const decoders[] = {"centernet", "yolov5", "yolov8", "yolo11", NULL};
    int decoder;
    if ((status = get_choice(ctx, root, "decoder", "decoder", 1, decoders,
                             "centernet|yolov5|yolov8|yolo11", 0, &decoder)))
        return status;
    m->decoder = decoder == 3 ? VS_DECODER_YOLOV8 : (vs_decoder_kind)decoder;

    int agnostic = 0;
    const cJSON *agnostic_item = member(root, "class_agnostic_nms");
    if (agnostic_item) {
        if (!cJSON_IsBool(agnostic_item))
            return type_error(ctx, "class_agnostic_nms", "a boolean", agnostic_item);
        agnostic = cJSON_IsTrue(agnostic_item);
    }
    m->class_agnostic_nms = agnostic;

    if ((status = check_outputs(ctx, root, m->decoder)) ||
        (status = get_int(ctx, root, "stride", "stride", 0, 4, 1, STRIDE_MAX, &m->stride)) ||
        (status = get_string(ctx, root, "labels", "labels", 1, &labels)) ||
        (status =
             resolve_path(ctx, "labels", dir, labels, m->labels_path, sizeof m->labels_path)) ||
        (status = get_int(ctx, root, "classes", "classes", 1, 0, 1, VS_MAX_CLASSES, &m->classes)) ||
        (status = get_unit_interval(ctx, root, "conf", 0.25f, &m->conf)) ||
        (status = get_unit_interval(ctx, root, "iou", 0.45f, &m->iou)) ||
        (status = get_int(ctx, root, "max_detections", "max_detections", 0, VS_MAX_DETECTIONS, 1,
                          VS_MAX_DETECTIONS, &m->max_detections)))
        return status;

    /* CenterNet's grid must tile the input exactly, or box positions drift. */
    if (m->decoder == VS_DECODER_CENTERNET &&
        (m->input_width % m->stride || m->input_height % m->stride))
        return vs_fail(ctx->err, VS_EINVAL,
                       "%s: field 'stride': %d does not divide the input size %dx%d", ctx->file,
                       m->stride, m->input_width, m->input_height);

    /* Shown by `models list`/`models info`, never interpreted. */
    const char *source, *licence;
    if ((status = get_string(ctx, root, "source", "source", 0, &source)) ||
        (status = get_string(ctx, root, "licence", "licence", 0, &licence)))
        return status;
    snprintf(m->source, sizeof m->source, "%s", source ? source : "");
    snprintf(m->licence, sizeof m->licence, "%s", licence ? licence : "");
    return VS_OK;
}

/* Turns cJSON's failure position into "line L, column C" for the message. */
static void locate(const char *text, const char *at, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (const char *p = text; at && p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

int vs_manifest_parse(vs_manifest *manifest, const char *json_text, const char *dir,
                      const char *name_for_errors, vs_error *err)
{
    parse_ctx ctx = {name_for_errors ? name_for_errors : "manifest", err};
    memset(manifest, 0, sizeof *manifest);
    if (!json_text)
        return vs_fail(err, VS_EINVAL, "%s: no manifest text", ctx.file);

    /* ParseWithOpts reports where it stopped without touching cJSON's global
     * error pointer, which would not be safe if two threads loaded models. */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json_text, &end, 1);
    if (!root) {
        int line, column;
        locate(json_text, end, &line, &column);
        return vs_fail(err, VS_EINVAL, "%s: invalid JSON at line %d, column %d", ctx.file, line,
                       column);
    }
    int status = parse_tree(&ctx, root, manifest, dir);
    cJSON_Delete(root);
    if (status != VS_OK) {
        /* A half-filled manifest must not look usable to a caller that ignores the status. */
        memset(manifest, 0, sizeof *manifest);
    }
    return status;
}

/* Validates one label's bytes: printable, and UTF-8, because labels end up in
 * JSON, CSV and SQLite text where broken sequences turn into garbage. */
static const char *label_problem(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x20 || c == 0x7f)
            return "control character in label";
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t extra;
        unsigned int min;
        if ((c & 0xe0) == 0xc0)
            extra = 1, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            extra = 2, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            extra = 3, min = 0x10000;
        else
            return "invalid UTF-8 in label";
        if (i + extra >= len)
            return "invalid UTF-8 in label";
        unsigned int code = c & (0x3f >> extra);
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return "invalid UTF-8 in label";
            code = (code << 6) | (s[i + k] & 0x3f);
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return "invalid UTF-8 in label";
        i += extra + 1;
    }
    return NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int vs_labels_parse(vs_manifest *manifest, const char *text, const char *name_for_errors,
                    vs_error *err)
{
    const char *file = name_for_errors ? name_for_errors : "labels";
    int classes = manifest->classes;
    if (classes < 1 || classes > VS_MAX_CLASSES)
        return vs_fail(err, VS_EINVAL, "%s: manifest gives %d classes, expected 1..%d", file,
                       classes, VS_MAX_CLASSES);
    if (!text)
        return vs_fail(err, VS_EINVAL, "%s: no labels text", file);

    /* Editors on Windows save a byte order mark; it is not part of the first label. */
    if (!strncmp(text, "\xef\xbb\xbf", 3))
        text += 3;

    /* Blank lines are allowed only at the end: one in the middle would shift
     * every later class id by one, so it is refused rather than skipped. */
    int count = 0, line_number = 0, blank_line = 0;
    const char *line = text;
    while (*line) {
        line_number++;
        const char *newline = strchr(line, '\n');
        const char *line_end = newline ? newline : line + strlen(line);
        const char *start = line, *stop = line_end;
        while (start < stop && is_space(*start))
            start++;
        while (stop > start && is_space(stop[-1]))
            stop--;
        size_t len = (size_t)(stop - start);
        if (len == 0) {
            if (!blank_line)
                blank_line = line_number;
        } else {
            if (blank_line)
                return vs_fail(err, VS_EINVAL,
                               "%s: line %d: empty label (blank lines are allowed only at the "
                               "end, a gap would shift the class ids)",
                               file, blank_line);
            if (len >= VS_LABEL_MAX)
                return vs_fail(err, VS_EINVAL, "%s: line %d: label is %zu bytes, at most %d", file,
                               line_number, len, VS_LABEL_MAX - 1);
            const char *problem = label_problem((const unsigned char *)start, len);
            if (problem)
                return vs_fail(err, VS_EINVAL, "%s: line %d: %s", file, line_number, problem);
            if (count < classes) {
                memcpy(manifest->labels[count], start, len);
                manifest->labels[count][len] = 0;
                manifest->coco_ids[count] = vs_coco_category_id(manifest->labels[count]);
            }
            count++;
        }
        if (!newline)
            break;
        line = newline + 1;
    }
    if (count != classes)
        return vs_fail(err, VS_EINVAL, "%s: %d labels, but the manifest gives classes %d", file,
                       count, classes);
    return VS_OK;
}

/* Reads a whole (small) file into a NUL-terminated buffer the caller frees. */
static int read_text(const char *path, size_t limit, char **out, vs_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vs_fail(err, VS_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(limit + 1);
    if (!buf) {
        fclose(f);
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, limit + 1, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(buf);
        return vs_fail(err, VS_EIO, "%s: read error", path);
    }
    if (n > limit) {
        free(buf);
        return vs_fail(err, VS_EINVAL, "%s: larger than %zu bytes, not a manifest or labels file",
                       path, limit);
    }
    if (memchr(buf, 0, n)) {
        free(buf);
        return vs_fail(err, VS_EINVAL, "%s: contains NUL bytes, not a text file", path);
    }
    buf[n] = 0;
    *out = buf;
    return VS_OK;
}

int vs_manifest_load(vs_manifest *manifest, const char *path, vs_error *err)
{
    char *text;
    int status = read_text(path, MANIFEST_MAX_BYTES, &text, err);
    if (status != VS_OK) {
        memset(manifest, 0, sizeof *manifest);
        return status;
    }
    /* File names inside the manifest are relative to its own directory. */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);

    status = vs_manifest_parse(manifest, text, dir, path, err);
    free(text);
    if (status != VS_OK)
        return status;

    /* Only existence here: opening the model is the shim's job, but a missing
     * file is the commonest install mistake and deserves this precise message. */
    struct stat st;
    int found = stat(manifest->model_path, &st) == 0;
    if (!found || !S_ISREG(st.st_mode)) {
        status = vs_fail(err, VS_EMODEL, "%s: field 'file': model file %s %s", path,
                         manifest->model_path, found ? "is not a regular file" : "not found");
        memset(manifest, 0, sizeof *manifest);
        return status;
    }

    if (access(manifest->labels_path, F_OK) != 0) {
        status = vs_fail(err, VS_EIO, "%s: field 'labels': labels file %s not found", path,
                         manifest->labels_path);
    } else if ((status = read_text(manifest->labels_path, LABELS_MAX_BYTES, &text, err)) == VS_OK) {
        status = vs_labels_parse(manifest, text, manifest->labels_path, err);
        free(text);
    } else {
        vs_error_prefix(err, "%s: field 'labels'", path);
    }
    if (status != VS_OK)
        memset(manifest, 0, sizeof *manifest);
    return status;
}

int vs_manifest_set_input_size(vs_manifest *m, int width, int height, vs_error *err)
{
    assert(m);
    if (m->decoder == VS_DECODER_CENTERNET)
        return vs_fail(err, VS_EINVAL,
                       "model %s: --imgsz is for YOLO models; the centernet decoder's input size "
                       "is fixed by its model (%dx%d)",
                       m->name, m->input_width, m->input_height);
    if (width % 32 || height % 32 || width < 32 || height < 32 || width > INPUT_SIZE_MAX ||
        height > INPUT_SIZE_MAX)
        return vs_fail(err, VS_EINVAL,
                       "model %s: input size %dx%d: width and height must be multiples of 32 "
                       "from 32 to %d",
                       m->name, width, height, INPUT_SIZE_MAX);
    m->input_width = width;
    m->input_height = height;
    return VS_OK;
}

int vs_parse_input_size(const char *text, int *width, int *height, vs_error *err)
{
    char *end;
    long w = strtol(text, &end, 10), h = w;
    int ok = end != text;
    if (ok && (*end == 'x' || *end == 'X')) {
        const char *rest = end + 1;
        h = strtol(rest, &end, 10);
        ok = end != rest; /* "640x": no height */
    }
    if (!ok || *end || w < 1 || h < 1 || w > INPUT_SIZE_MAX || h > INPUT_SIZE_MAX)
        return vs_fail(err, VS_EINVAL,
                       "--imgsz '%s': expected S or WxH in pixels (e.g. 640 or 640x384)", text);
    *width = (int)w;
    *height = (int)h;
    return VS_OK;
}
