/* test_manifest.c: manifest and labels parsing. Every rejection is checked for
 * its status and for a message that names the file and the field (or line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "detect.h"
#include "manifest.h"
#include "testutil.h"

/* The default model's manifest, as the brief gives it. */
static const char *const full_json =
    "{\"name\":\"centernet\",\"file\":\"centernet.pt\",\"input\":{\"width\":512,\"height\":384,"
    "\"layout\":\"nchw\",\"colour\":\"bgr\",\"scale\":0.5,\"mean\":[1,2,3],\"std\":[4,5,6],"
    "\"resize\":\"letterbox\"},\"decoder\":\"centernet\",\"outputs\":[\"heatmap\",\"boxes\"],"
    "\"stride\":4,\"labels\":\"coco.labels\",\"classes\":80,\"conf\":0.2,\"iou\":0.4,"
    "\"max_detections\":50,\"class_agnostic_nms\":true,\"source\":\"npm @vladmandic/human\"}";

/* Only the required fields; NO_CLASSES leaves "classes" to `rest`. */
#define NO_CLASSES(input, rest)                                                                    \
    "{\"name\":\"m\",\"file\":\"m.pt\",\"input\":{" input "},\"decoder\":\"yolov8\","              \
    "\"labels\":\"m.labels\"" rest "}"
#define MINIMAL(input, rest) NO_CLASSES(input, ",\"classes\":3" rest)
#define MIN_INPUT "\"width\":640,\"height\":640"

static vs_manifest *new_manifest(void)
{
    vs_manifest *m = calloc(1, sizeof *m);
    assert_non_null(m);
    return m;
}

/* Parses json and expects a failure whose message is exactly `message`. */
static void expect_reject(const char *json, const char *message)
{
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    int status = vs_manifest_parse(m, json, "models", "models/x.json", &err);
    if (status != VS_EINVAL || strcmp(err.msg, message) != 0)
        fail_msg("for %s\n  got status %d, '%s'\n  expected '%s'", json, status, err.msg, message);
    assert_null(strchr(err.msg, '\n'));
    /* A rejected manifest is left zeroed, never half-filled. */
    assert_int_equal(m->classes, 0);
    assert_string_equal(m->name, "");
    free(m);
}

static void test_full_manifest(void **state)
{
    (void)state;
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(vs_manifest_parse(m, full_json, "/opt/models", "x.json", &err), VS_OK);
    assert_string_equal(m->name, "centernet");
    assert_string_equal(m->model_path, "/opt/models/centernet.pt");
    assert_string_equal(m->labels_path, "/opt/models/coco.labels");
    assert_int_equal(m->input_width, 512);
    assert_int_equal(m->input_height, 384);
    assert_int_equal(m->bgr, 1);
    assert_float_equal(m->scale, 0.5f, 0);
    assert_float_equal(m->mean[0], 1, 0);
    assert_float_equal(m->mean[2], 3, 0);
    assert_float_equal(m->std[1], 5, 0);
    assert_int_equal(m->resize, VS_RESIZE_LETTERBOX);
    assert_int_equal(m->decoder, VS_DECODER_CENTERNET);
    assert_int_equal(m->stride, 4);
    assert_int_equal(m->classes, 80);
    assert_float_equal(m->conf, 0.2f, 1e-7);
    assert_float_equal(m->iou, 0.4f, 1e-7);
    assert_int_equal(m->max_detections, 50);
    assert_int_equal(m->class_agnostic_nms, 1);
    assert_string_equal(vs_decoder_name(m->decoder), "centernet");
    free(m);
}

static void test_defaults(void **state)
{
    (void)state;
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(vs_manifest_parse(m, MINIMAL(MIN_INPUT, ""), NULL, "x.json", &err), VS_OK);
    assert_string_equal(m->model_path, "m.pt"); /* no dir: as written */
    assert_int_equal(m->bgr, 0);
    assert_float_equal(m->scale, 1, 0);
    for (int c = 0; c < 3; c++) {
        assert_float_equal(m->mean[c], 0, 0);
        assert_float_equal(m->std[c], 1, 0);
    }
    assert_int_equal(m->resize, VS_RESIZE_STRETCH);
    assert_int_equal(m->decoder, VS_DECODER_YOLOV8);
    assert_int_equal(m->stride, 4);
    assert_float_equal(m->conf, 0.25f, 0);
    assert_float_equal(m->iou, 0.45f, 0);
    assert_int_equal(m->max_detections, VS_MAX_DETECTIONS);
    assert_int_equal(m->class_agnostic_nms, 0);

    /* One number for mean/std applies to all channels; an absolute path stays. */
    assert_int_equal(
        vs_manifest_parse(m,
                          "{\"name\":\"m\",\"file\":\"/abs/m.pt\",\"input\":{" MIN_INPUT
                          ",\"mean\":127.5,\"std\":127.5},"
                          "\"decoder\":\"yolo11\",\"labels\":\"m.labels\","
                          "\"classes\":3,\"extra\":{\"ignored\":[1,2]}}",
                          "models", "x.json", &err),
        VS_OK);
    assert_string_equal(m->model_path, "/abs/m.pt");
    assert_string_equal(m->labels_path, "models/m.labels");
    assert_float_equal(m->mean[2], 127.5f, 0);
    assert_float_equal(m->std[1], 127.5f, 0);
    assert_int_equal(m->decoder, VS_DECODER_YOLOV8); /* yolo11 is an alias */
    free(m);
}

static void test_required_fields(void **state)
{
    (void)state;
    static const char *const fields[] = {"name", "file", "input", "decoder", "labels", "classes"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        /* Remove "FIELD": value from the minimal manifest by rebuilding it. */
        char json[1024] = "{";
        const char *parts[][2] = {
            {"name", "\"m\""},         {"file", "\"m.pt\""},       {"input", "{" MIN_INPUT "}"},
            {"decoder", "\"yolov5\""}, {"labels", "\"m.labels\""}, {"classes", "3"}};
        int first = 1;
        for (size_t k = 0; k < 6; k++) {
            if (!strcmp(parts[k][0], fields[i]))
                continue;
            snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"%s\":%s",
                     first ? "" : ",", parts[k][0], parts[k][1]);
            first = 0;
        }
        strcat(json, "}");
        char message[256];
        snprintf(message, sizeof message, "models/x.json: field '%s': missing (required)",
                 fields[i]);
        expect_reject(json, message);
    }
    expect_reject(MINIMAL("\"height\":640", ""),
                  "models/x.json: field 'input.width': missing (required)");
    expect_reject(MINIMAL("\"width\":640", ""),
                  "models/x.json: field 'input.height': missing (required)");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_reject("[1,2]", "models/x.json: expected a JSON object at the top level, got an array");
    expect_reject("{\"name\":5}", "models/x.json: field 'name': expected a string, got a number");
    expect_reject("{\"name\":\"\"}", "models/x.json: field 'name': must not be empty");
    expect_reject("{\"name\":\"m\",\"file\":null}",
                  "models/x.json: field 'file': expected a string, got null");
    expect_reject("{\"name\":\"m\",\"file\":\"m.pt\",\"input\":[512,512]}",
                  "models/x.json: field 'input': expected an object, got an array");
    expect_reject(MINIMAL("\"width\":\"512\",\"height\":512", ""),
                  "models/x.json: field 'input.width': expected an integer, got a string");
    expect_reject(MINIMAL("\"width\":512.5,\"height\":512", ""),
                  "models/x.json: field 'input.width': expected an integer, got a number");
    expect_reject(MINIMAL("\"width\":512,\"height\":true", ""),
                  "models/x.json: field 'input.height': expected an integer, got a boolean");
    expect_reject(MINIMAL(MIN_INPUT ",\"mean\":[0,0]", ""),
                  "models/x.json: field 'input.mean': expected 3 numbers (one per channel), got 2");
    expect_reject(MINIMAL(MIN_INPUT ",\"mean\":[0,\"a\",0]", ""),
                  "models/x.json: field 'input.mean[1]': expected a number, got a string");
    expect_reject(MINIMAL(MIN_INPUT ",\"std\":{}", ""),
                  "models/x.json: field 'input.std': expected an array of 3 numbers, got an "
                  "object");
    expect_reject(MINIMAL(MIN_INPUT ",\"scale\":\"1/255\"", ""),
                  "models/x.json: field 'input.scale': expected a number, got a string");
    expect_reject(NO_CLASSES(MIN_INPUT, ",\"classes\":\"80\""),
                  "models/x.json: field 'classes': expected an integer, got a string");
    expect_reject(MINIMAL(MIN_INPUT, ",\"conf\":\"high\""),
                  "models/x.json: field 'conf': expected a number, got a string");
    expect_reject(MINIMAL(MIN_INPUT, ",\"class_agnostic_nms\":1"),
                  "models/x.json: field 'class_agnostic_nms': expected a boolean, got a number");
    expect_reject(MINIMAL(MIN_INPUT, ",\"outputs\":\"output0\""),
                  "models/x.json: field 'outputs': expected an array of strings, got a string");
    expect_reject(MINIMAL(MIN_INPUT, ",\"source\":[]"),
                  "models/x.json: field 'source': expected a string, got an array");
    expect_reject(MINIMAL(MIN_INPUT, ",\"max_detections\":1e300"),
                  "models/x.json: field 'max_detections': 1.0000000000000001e+300 is out of "
                  "range 1..100");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_reject(MINIMAL(MIN_INPUT, ",\"classes\":80"),
                  "models/x.json: field 'classes': given twice");
    expect_reject(MINIMAL(MIN_INPUT ",\"width\":320", ""),
                  "models/x.json: field 'input.width': given twice");
    /* Unknown keys are not checked, even twice. */
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(
        vs_manifest_parse(m, MINIMAL(MIN_INPUT, ",\"note\":1,\"note\":2"), NULL, "x.json", &err),
        VS_OK);
    free(m);
}

static void test_choices(void **state)
{
    (void)state;
    expect_reject("{\"name\":\"m\",\"file\":\"m.pt\",\"input\":{" MIN_INPUT "},"
                  "\"decoder\":\"yolov7\"}",
                  "models/x.json: field 'decoder': 'yolov7' is not one of "
                  "centernet|yolov5|yolov8|yolo11");
    expect_reject(MINIMAL(MIN_INPUT ",\"resize\":\"fit\"", ""),
                  "models/x.json: field 'input.resize': 'fit' is not one of stretch|letterbox");
    expect_reject(MINIMAL(MIN_INPUT ",\"colour\":\"rgba\"", ""),
                  "models/x.json: field 'input.colour': 'rgba' is not one of rgb|bgr");
    expect_reject(MINIMAL(MIN_INPUT ",\"layout\":\"nhwc\"", ""),
                  "models/x.json: field 'input.layout': 'nhwc' is not one of nchw");
    /* A hostile value cannot break the one-line message. */
    expect_reject(MINIMAL(MIN_INPUT ",\"layout\":\"a\\nb\"", ""),
                  "models/x.json: field 'input.layout': 'a?b' is not one of nchw");
    expect_reject("{\"name\":\"m\",\"file\":\"m.pt\",\"input\":{\"width\":32,\"height\":32},"
                  "\"decoder\":\"centernet\",\"outputs\":[\"boxes\",\"heatmap\"]}",
                  "models/x.json: field 'outputs': the centernet decoder expects "
                  "[\"heatmap\", \"boxes\"] in that order");
    expect_reject(MINIMAL(MIN_INPUT, ",\"outputs\":[\"a\",\"b\"]"),
                  "models/x.json: field 'outputs': decoder yolov8 expects 1 output, got 2");
}

static void test_ranges(void **state)
{
    (void)state;
    expect_reject(MINIMAL("\"width\":15,\"height\":640", ""),
                  "models/x.json: field 'input.width': 15 is out of range 16..4096");
    expect_reject(MINIMAL("\"width\":640,\"height\":4097", ""),
                  "models/x.json: field 'input.height': 4097 is out of range 16..4096");
    expect_reject(NO_CLASSES(MIN_INPUT, ",\"classes\":0"),
                  "models/x.json: field 'classes': 0 is out of range 1..1024");
    expect_reject(NO_CLASSES(MIN_INPUT, ",\"classes\":1025"),
                  "models/x.json: field 'classes': 1025 is out of range 1..1024");
    expect_reject(MINIMAL(MIN_INPUT, ",\"conf\":1.5"),
                  "models/x.json: field 'conf': 1.5 is out of range 0..1");
    expect_reject(MINIMAL(MIN_INPUT, ",\"conf\":-0.1"),
                  "models/x.json: field 'conf': -0.1 is out of range 0..1");
    expect_reject(MINIMAL(MIN_INPUT, ",\"iou\":2"),
                  "models/x.json: field 'iou': 2 is out of range 0..1");
    expect_reject(MINIMAL(MIN_INPUT, ",\"max_detections\":0"),
                  "models/x.json: field 'max_detections': 0 is out of range 1..100");
    expect_reject(MINIMAL(MIN_INPUT, ",\"max_detections\":101"),
                  "models/x.json: field 'max_detections': 101 is out of range 1..100");
    expect_reject(MINIMAL(MIN_INPUT, ",\"stride\":0"),
                  "models/x.json: field 'stride': 0 is out of range 1..64");
    expect_reject(MINIMAL(MIN_INPUT ",\"std\":0", ""),
                  "models/x.json: field 'input.std': must not be 0 (values are divided by it)");
    expect_reject(MINIMAL(MIN_INPUT ",\"std\":[1,0,1]", ""),
                  "models/x.json: field 'input.std': must not be 0 (values are divided by it)");
    expect_reject(MINIMAL(MIN_INPUT ",\"scale\":0", ""),
                  "models/x.json: field 'input.scale': 0 must be > 0");
    expect_reject(MINIMAL(MIN_INPUT ",\"mean\":[0,1e39,0]", ""),
                  "models/x.json: field 'input.mean[1]': 1e+39 is too large");
    expect_reject("{\"name\":\"m\",\"file\":\"m.pt\",\"input\":{\"width\":30,\"height\":32},"
                  "\"decoder\":\"centernet\",\"labels\":\"l\",\"classes\":1}",
                  "models/x.json: field 'stride': 4 does not divide the input size 30x32");
    char long_name[200];
    snprintf(long_name, sizeof long_name, "{\"name\":\"%070d\"}", 0);
    expect_reject(long_name, "models/x.json: field 'name': longer than 63 bytes");
    /* The bounds themselves are valid. */
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(vs_manifest_parse(m,
                                       MINIMAL("\"width\":16,\"height\":4096",
                                               ",\"conf\":0,\"iou\":1,\"max_detections\":100"),
                                       NULL, "x.json", &err),
                     VS_OK);
    free(m);
}

static void test_invalid_json(void **state)
{
    (void)state;
    expect_reject("{\"name\":\"m\",\n  \"file\": oops}",
                  "models/x.json: invalid JSON at line 2, column 11");
    expect_reject("", "models/x.json: invalid JSON at line 1, column 1");
    expect_reject("{} trailing", "models/x.json: invalid JSON at line 1, column 4");
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(vs_manifest_parse(m, NULL, NULL, NULL, &err), VS_EINVAL);
    assert_string_equal(err.msg, "manifest: no manifest text");
    free(m);
}

/* ---- labels ---------------------------------------------------------- */

static int parse_labels(vs_manifest *m, int classes, const char *text, vs_error *err)
{
    m->classes = classes;
    return vs_labels_parse(m, text, "models/x.labels", err);
}

static void expect_labels_reject(int classes, const char *text, const char *message)
{
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    int status = parse_labels(m, classes, text, &err);
    if (status != VS_EINVAL || strcmp(err.msg, message) != 0)
        fail_msg("got status %d, '%s'\n  expected '%s'", status, err.msg, message);
    free(m);
}

static void test_labels_valid(void **state)
{
    (void)state;
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(parse_labels(m, 3, "person\nbicycle\ncar", &err), VS_OK);
    assert_string_equal(m->labels[0], "person");
    assert_string_equal(m->labels[2], "car");
    /* Trimmed, CRLF, BOM, trailing blank lines, spaces inside kept, UTF-8 kept. */
    assert_int_equal(
        parse_labels(m, 3, "\xef\xbb\xbf  traffic light \r\n\tcaf\xc3\xa9\r\nz\n\n \n", &err),
        VS_OK);
    assert_string_equal(m->labels[0], "traffic light");
    assert_string_equal(m->labels[1], "caf\xc3\xa9");
    assert_string_equal(m->labels[2], "z");
    /* The longest allowed label. */
    char text[128];
    memset(text, 'a', VS_LABEL_MAX - 1);
    text[VS_LABEL_MAX - 1] = 0;
    assert_int_equal(parse_labels(m, 1, text, &err), VS_OK);
    assert_int_equal(strlen(m->labels[0]), VS_LABEL_MAX - 1);
    free(m);
}

static void test_labels_rejected(void **state)
{
    (void)state;
    expect_labels_reject(3, "a\nb\n",
                         "models/x.labels: 2 labels, but the manifest gives classes 3");
    expect_labels_reject(1, "a\nb\nc\n",
                         "models/x.labels: 3 labels, but the manifest gives classes 1");
    expect_labels_reject(2, "", "models/x.labels: 0 labels, but the manifest gives classes 2");
    expect_labels_reject(3, "a\n\nb\nc\n",
                         "models/x.labels: line 2: empty label (blank lines are allowed only at "
                         "the end, a gap would shift the class ids)");
    expect_labels_reject(1, "a\x01b", "models/x.labels: line 1: control character in label");
    expect_labels_reject(2, "ok\nbad\xff", "models/x.labels: line 2: invalid UTF-8 in label");
    expect_labels_reject(1, "\xc3", "models/x.labels: line 1: invalid UTF-8 in label");
    expect_labels_reject(1, "\xc0\xaf", "models/x.labels: line 1: invalid UTF-8 in label");
    expect_labels_reject(1, "\xed\xa0\x80", "models/x.labels: line 1: invalid UTF-8 in label");
    char text[128];
    memset(text, 'a', VS_LABEL_MAX);
    text[VS_LABEL_MAX] = 0;
    expect_labels_reject(1, text, "models/x.labels: line 1: label is 48 bytes, at most 47");
    expect_labels_reject(0, "a", "models/x.labels: manifest gives 0 classes, expected 1..1024");
}

/* ---- loading from files ---------------------------------------------- */

static char dir[4096];

static void write_file(const char *name, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_dir(void **state)
{
    (void)state;
    const char *tmp = test_tmpdir("test_manifest");
    if (!tmp)
        return -1;
    snprintf(dir, sizeof dir, "%s", tmp);
    return 0;
}

static void test_load(void **state)
{
    (void)state;
    write_file("m.json", MINIMAL(MIN_INPUT, ""));
    write_file("m.pt", "not really a model");
    write_file("m.labels", "a\nb\nc\n");
    char path[8192];
    snprintf(path, sizeof path, "%s/m.json", dir);
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    assert_int_equal(vs_manifest_load(m, path, &err), VS_OK);
    char expected[8192];
    snprintf(expected, sizeof expected, "%s/m.pt", dir);
    assert_string_equal(m->model_path, expected);
    assert_string_equal(m->labels[1], "b");

    /* Relative to the working directory: the manifest's dir is its own. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    int status = vs_manifest_load(m, "m.json", &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(status, VS_OK);
    assert_string_equal(m->model_path, "./m.pt");
    free(m);
}

static void expect_load_reject(const char *manifest_name, int status, const char *suffix)
{
    char path[8192], message[16384];
    snprintf(path, sizeof path, "%s/%s", dir, manifest_name);
    snprintf(message, sizeof message, suffix, dir, dir);
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    int got = vs_manifest_load(m, path, &err);
    if (got != status || strcmp(err.msg, message) != 0)
        fail_msg("got %d '%s'\n  expected %d '%s'", got, err.msg, status, message);
    assert_int_equal(m->classes, 0);
    free(m);
}

static void test_load_failures(void **state)
{
    (void)state;
    write_file("m.pt", "x");
    write_file("short.labels", "a\nb\n");
    write_file("bad.json", "{\"name\": 3}");
    write_file("nomodel.json", "{\"name\":\"m\",\"file\":\"absent.pt\",\"input\":{" MIN_INPUT "},"
                               "\"decoder\":\"yolov8\",\"labels\":\"m.labels\",\"classes\":3}");
    write_file("nolabels.json",
               "{\"name\":\"m\",\"file\":\"m.pt\",\"input\":{" MIN_INPUT "},"
               "\"decoder\":\"yolov8\",\"labels\":\"absent.labels\",\"classes\":3}");
    write_file("short.json", "{\"name\":\"m\",\"file\":\"m.pt\",\"input\":{" MIN_INPUT "},"
                             "\"decoder\":\"yolov8\",\"labels\":\"short.labels\",\"classes\":3}");
    write_file("dirmodel.json", "{\"name\":\"m\",\"file\":\".\",\"input\":{" MIN_INPUT "},"
                                "\"decoder\":\"yolov8\",\"labels\":\"m.labels\",\"classes\":3}");

    expect_load_reject("nomodel.json", VS_EMODEL,
                       "%s/nomodel.json: field 'file': model file %s/absent.pt not found");
    expect_load_reject("dirmodel.json", VS_EMODEL,
                       "%s/dirmodel.json: field 'file': model file %s/. is not a regular file");
    expect_load_reject("nolabels.json", VS_EIO,
                       "%s/nolabels.json: field 'labels': labels file %s/absent.labels not found");
    expect_load_reject("short.json", VS_EINVAL,
                       "%s/short.labels: 2 labels, but the manifest gives classes 3");
    expect_load_reject("bad.json", VS_EINVAL,
                       "%s/bad.json: field 'name': expected a string, got a number");
    expect_load_reject("absent.json", VS_EIO,
                       "%s/absent.json: cannot open: No such file or "
                       "directory");
}

static void test_load_refuses_binary_and_huge(void **state)
{
    (void)state;
    char path[8192];
    snprintf(path, sizeof path, "%s/nul.json", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("{\"a\":\0}", 1, 7, f);
    fclose(f);
    expect_load_reject("nul.json", VS_EINVAL, "%s/nul.json: contains NUL bytes, not a text file");

    snprintf(path, sizeof path, "%s/huge.json", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < (1 << 20) + 1; i++)
        fputc(' ', f);
    fclose(f);
    expect_load_reject("huge.json", VS_EINVAL,
                       "%s/huge.json: larger than 1048576 bytes, not a manifest or labels file");
}

/* The shipped default model, when the build has prepared it. */
static void test_default_model(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/centernet.manifest.json", test_models_dir());
    if (access(path, R_OK) != 0)
        skip();
    vs_manifest *m = new_manifest();
    vs_error err = {{0}};
    if (vs_manifest_load(m, path, &err) != VS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(m->decoder, VS_DECODER_CENTERNET);
    assert_int_equal(m->classes, 80);
    assert_string_equal(m->labels[0], "person");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_manifest),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_choices),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_labels_valid),
        cmocka_unit_test(test_labels_rejected),
        cmocka_unit_test(test_default_model),
        cmocka_unit_test_setup(test_load, setup_dir),
        cmocka_unit_test_setup(test_load_failures, setup_dir),
        cmocka_unit_test_setup(test_load_refuses_binary_and_huge, setup_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
