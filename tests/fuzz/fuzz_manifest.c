/* fuzz_manifest.c: libFuzzer target for vs_manifest_parse.
 *
 * Beyond "does not crash" (ASan/UBSan do that part), it checks the promises
 * the rest of vidsift relies on: a parse that succeeds leaves every field in
 * range, and a parse that fails leaves a one-line message that names the
 * file. Any broken promise aborts, so libFuzzer keeps the input.
 *
 * Built by tests/fuzz/run.sh (clang -fsanitize=fuzzer); the same function is
 * replayed over the corpus by tests/unit/test_fuzz_replay.c in every ctest
 * run, which defines VS_FUZZ_NO_ENTRY to leave out libFuzzer's entry point. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "manifest.h"

#ifndef VS_FUZZ_CHECK
#define VS_FUZZ_CHECK(condition)                                                                   \
    do {                                                                                           \
        if (!(condition))                                                                          \
            abort();                                                                               \
    } while (0)
#endif

/* The message is one non-empty line that starts with the file name. */
static void fuzz_check_message(const vs_error *err, const char *file)
{
    size_t len = strnlen(err->msg, sizeof err->msg);
    VS_FUZZ_CHECK(len > 0 && len < sizeof err->msg);
    VS_FUZZ_CHECK(!strchr(err->msg, '\n') && !strchr(err->msg, '\r'));
    VS_FUZZ_CHECK(!strncmp(err->msg, file, strlen(file)));
}

int vs_fuzz_manifest_one(const uint8_t *data, size_t size);
int vs_fuzz_manifest_one(const uint8_t *data, size_t size)
{
    /* The parser takes C text: copy and terminate (an embedded NUL ends it early). */
    char *text = malloc(size + 1);
    vs_manifest *m = malloc(sizeof *m);
    if (!text || !m) {
        free(text);
        free(m);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = 0;
    vs_error err;
    memset(&err, 0, sizeof err);
    int status = vs_manifest_parse(m, text, "models", "fuzz.json", &err);
    if (status == VS_OK) {
        VS_FUZZ_CHECK(m->name[0] && strnlen(m->name, sizeof m->name) < sizeof m->name);
        VS_FUZZ_CHECK(strnlen(m->model_path, sizeof m->model_path) < sizeof m->model_path);
        VS_FUZZ_CHECK(strnlen(m->labels_path, sizeof m->labels_path) < sizeof m->labels_path);
        VS_FUZZ_CHECK(m->input_width >= 16 && m->input_width <= 4096);
        VS_FUZZ_CHECK(m->input_height >= 16 && m->input_height <= 4096);
        VS_FUZZ_CHECK(m->classes >= 1 && m->classes <= VS_MAX_CLASSES);
        VS_FUZZ_CHECK(m->conf >= 0.0f && m->conf <= 1.0f);
        VS_FUZZ_CHECK(m->iou >= 0.0f && m->iou <= 1.0f);
        VS_FUZZ_CHECK(m->max_detections >= 1 && m->max_detections <= VS_MAX_DETECTIONS);
        VS_FUZZ_CHECK(m->stride >= 1 && m->stride <= 64);
        VS_FUZZ_CHECK(m->scale > 0.0f && isfinite(m->scale));
        for (int c = 0; c < 3; c++)
            VS_FUZZ_CHECK(m->std[c] != 0.0f && isfinite(m->std[c]) && isfinite(m->mean[c]));
        VS_FUZZ_CHECK(m->decoder == VS_DECODER_CENTERNET || m->decoder == VS_DECODER_YOLOV5 ||
                      m->decoder == VS_DECODER_YOLOV8);
        VS_FUZZ_CHECK(m->resize == VS_RESIZE_STRETCH || m->resize == VS_RESIZE_LETTERBOX);
        VS_FUZZ_CHECK(m->bgr == 0 || m->bgr == 1);
        if (m->decoder == VS_DECODER_CENTERNET)
            VS_FUZZ_CHECK(m->input_width % m->stride == 0 && m->input_height % m->stride == 0);
        /* What the pipeline does next with a valid manifest must work too. */
        VS_FUZZ_CHECK(vs_detect_scratch_size(m, NULL) > 0);
    } else {
        VS_FUZZ_CHECK(status < 0);
        fuzz_check_message(&err, "fuzz.json");
        VS_FUZZ_CHECK(m->classes == 0 && m->name[0] == 0);
    }
    free(m);
    free(text);
    return 0;
}

#ifndef VS_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return vs_fuzz_manifest_one(data, size);
}
#endif
