/* preprocess.h: one decoded picture into one frame of the model's input.
 *
 * swscale converts and resizes straight into the batch buffer (planar float,
 * NCHW), then one pass applies the manifest's scale/mean/std. The scaler is
 * cached per source geometry, so a stream whose size changes mid-way works. */
#ifndef VS_PREPROCESS_H
#define VS_PREPROCESS_H

#include "detect.h"
#include "manifest.h"

struct AVFrame;
struct SwsContext;

typedef struct vs_preprocess {
    const vs_manifest *manifest;
    struct SwsContext *scaler;
    int direct_float; /* swscale writes planar float itself (else via packed RGB scratch) */
    unsigned char *rgb_scratch;
} vs_preprocess;

int vs_preprocess_init(vs_preprocess *pre, const vs_manifest *manifest, vs_error *err);
void vs_preprocess_free(vs_preprocess *pre);
/* Writes 3*H*W floats at input; geometry receives the mapping used. */
int vs_preprocess_frame(vs_preprocess *pre, const struct AVFrame *picture, float *input,
                        vs_letterbox *geometry, vs_error *err);

#endif
