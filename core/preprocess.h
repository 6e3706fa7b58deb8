/* preprocess.h: one decoded picture into one frame of the model's input.
 *
 * Letterbox (YOLO-style models): swscale converts and resizes straight into
 * the batch buffer (planar float, NCHW). Stretch (the default CenterNet):
 * swscale converts to RGB at the source size, then the resize is TF's legacy
 * bilinear (align_corners=false, half_pixel_centers=false), which is what the
 * model's reference runtime does: swscale's bilinear filters when it shrinks,
 * and on the 1080p dog clip that lost the dog in 2 of 41 frames. One pass
 * then applies the manifest's scale/mean/std. Scalers are cached per source
 * geometry, pixel format, colour range and matrix (core/scaler.h), and the
 * conversion uses the matrix and range each picture is tagged with, so a
 * stream whose size changes mid-way works and no video's pixels depend on
 * the video before it.
 *
 * A rotated source (a phone clip's display matrix) is turned upright first,
 * on packed RGB: the model sees what a player shows, as detectors are not
 * trained on sideways pictures. */
#ifndef VS_PREPROCESS_H
#define VS_PREPROCESS_H

#include "detect.h"
#include "manifest.h"
#include "scaler.h"

struct AVFrame;
struct SwsContext;
struct vs_torch;

typedef struct vs_preprocess {
    const vs_manifest *manifest;
    /* Non-NULL: YUV 4:2:0 pictures are preprocessed by the shim with torch
     * operations on the model's device (vs_torch_preprocess), others here. */
    struct vs_torch *torch;
    vs_scaler scaler; /* keyed on size, format, range and matrix: no video sees another's */
    int direct_float; /* swscale writes planar float itself (else via packed RGB scratch) */
    unsigned char *rgb_scratch;
    size_t rgb_scratch_size;
    unsigned char *upright_scratch; /* rgb_scratch turned upright (rotated sources only) */
    size_t upright_scratch_size;
    /* legacy bilinear taps for the current source size */
    int taps_src_w, taps_src_h;
    int x0[4096], x1[4096], y0[4096], y1[4096];
    float x_lerp[4096], y_lerp[4096];
} vs_preprocess;

int vs_preprocess_init(vs_preprocess *pre, const vs_manifest *manifest, vs_error *err);
void vs_preprocess_free(vs_preprocess *pre);
/* Writes 3*H*W floats at input; geometry receives the mapping used.
 * rotation: the clockwise turn (0, 90, 180, 270) a player applies. */
int vs_preprocess_frame(vs_preprocess *pre, const struct AVFrame *picture, int rotation,
                        float *input, vs_letterbox *geometry, vs_error *err);

/* From now on, frames the shim can take are preprocessed by torch on the
 * model's device (`--preprocess torch`); input must then be a frame position
 * of one of torch's slot input buffers. Same values as the C path, within
 * the tolerance tests/unit/test_preprocess_torch.c measures. */
void vs_preprocess_use_torch(vs_preprocess *pre, struct vs_torch *torch);

/* Copies packed RGB (w x h as coded, coded_pitch bytes a row) into shown
 * turned clockwise by rotation (90, 180 or 270), as a player shows it: for
 * 90, coded (x, y) lands at shown (h-1-y, x); shown is h x w for 90 and 270. */
void vs_rgb_turn_upright(const unsigned char *coded, int w, int h, size_t coded_pitch, int rotation,
                         unsigned char *shown, size_t shown_pitch);

#endif
