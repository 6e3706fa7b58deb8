/* fuzz_labels.c: libFuzzer target for vs_labels_parse.
 *
 * The first two bytes choose the manifest's class count (1..VS_MAX_CLASSES),
 * the rest is the labels file. Checks the promises callers rely on: on
 * success exactly `classes` labels, each non-empty, trimmed, shorter than
 * VS_LABEL_MAX and free of control bytes; on failure a one-line message
 * naming the file. See fuzz_manifest.c for how it is built and replayed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

#ifndef VS_FUZZ_CHECK
#define VS_FUZZ_CHECK(condition)                                                                   \
    do {                                                                                           \
        if (!(condition))                                                                          \
            abort();                                                                               \
    } while (0)
#endif

int vs_fuzz_labels_one(const uint8_t *data, size_t size);
int vs_fuzz_labels_one(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int classes = 1 + (int)((data[0] | (unsigned)data[1] << 8) % VS_MAX_CLASSES);
    char *text = malloc(size - 1);
    vs_manifest *m = calloc(1, sizeof *m);
    if (!text || !m) {
        free(text);
        free(m);
        return 0;
    }
    memcpy(text, data + 2, size - 2);
    text[size - 2] = 0;
    m->classes = classes;
    vs_error err;
    memset(&err, 0, sizeof err);
    int status = vs_labels_parse(m, text, "fuzz.labels", &err);
    if (status == VS_OK) {
        for (int c = 0; c < classes; c++) {
            const char *label = m->labels[c];
            size_t len = strnlen(label, VS_LABEL_MAX);
            VS_FUZZ_CHECK(len > 0 && len < VS_LABEL_MAX);
            VS_FUZZ_CHECK(label[0] != ' ' && label[len - 1] != ' ');
            for (size_t k = 0; k < len; k++)
                VS_FUZZ_CHECK((unsigned char)label[k] >= 0x20 && label[k] != 0x7f);
        }
    } else {
        size_t len = strnlen(err.msg, sizeof err.msg);
        VS_FUZZ_CHECK(status < 0 && len > 0 && len < sizeof err.msg);
        VS_FUZZ_CHECK(!strchr(err.msg, '\n') && !strchr(err.msg, '\r'));
        VS_FUZZ_CHECK(!strncmp(err.msg, "fuzz.labels", 11));
    }
    free(m);
    free(text);
    return 0;
}

#ifndef VS_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return vs_fuzz_labels_one(data, size);
}
#endif
