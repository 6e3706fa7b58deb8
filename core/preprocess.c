/* preprocess.c: swscale into the model's planar float input; see preprocess.h.
 * Never allocates per frame: the scaler is re-made only when the source
 * geometry or pixel format changes. */
#include "preprocess.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

int vs_preprocess_init(vs_preprocess *pre, const vs_manifest *manifest, vs_error *err)
{
    memset(pre, 0, sizeof *pre);
    pre->manifest = manifest;
    /* swscale writes float planes (0..1) itself when it can; that saves a copy. */
    pre->direct_float = sws_isSupportedOutput(AV_PIX_FMT_GBRPF32) > 0;
    if (!pre->direct_float) {
        pre->rgb_scratch = malloc((size_t)manifest->input_width * manifest->input_height * 3);
        if (!pre->rgb_scratch)
            return vs_fail(err, VS_ENOMEM, "out of memory for the preprocess scratch");
    }
    return VS_OK;
}

void vs_preprocess_free(vs_preprocess *pre)
{
    sws_freeContext(pre->scaler);
    free(pre->rgb_scratch);
    memset(pre, 0, sizeof *pre);
}

/* The padded area of a letterboxed input: grey 114, as YOLO exporters expect. */
static void fill_padding(float *plane, int width, int height, float value)
{
    for (int i = 0; i < width * height; i++)
        plane[i] = value;
}

int vs_preprocess_frame(vs_preprocess *pre, const struct AVFrame *picture, float *input,
                        vs_letterbox *geometry, vs_error *err)
{
    const vs_manifest *m = pre->manifest;
    int in_w = m->input_width, in_h = m->input_height;
    size_t plane = (size_t)in_w * in_h;
    *geometry = vs_letterbox_for(picture->width, picture->height, in_w, in_h, m->resize);
    int out_w = (int)(picture->width * geometry->scale_x + 0.5f);
    int out_h = (int)(picture->height * geometry->scale_y + 0.5f);
    if (out_w > in_w) out_w = in_w;
    if (out_h > in_h) out_h = in_h;
    int pad_x = (int)geometry->pad_x, pad_y = (int)geometry->pad_y;

    pre->scaler = sws_getCachedContext(pre->scaler, picture->width, picture->height,
                                       picture->format, out_w, out_h,
                                       pre->direct_float ? AV_PIX_FMT_GBRPF32 : AV_PIX_FMT_RGB24,
                                       SWS_BILINEAR, NULL, NULL, NULL);
    if (!pre->scaler)
        return vs_fail(err, VS_EINVAL, "cannot scale %dx%d %s frames", picture->width,
                       picture->height, av_get_pix_fmt_name(picture->format));

    float *red = input, *green = input + plane, *blue = input + 2 * plane;
    if (m->bgr) {
        red = input + 2 * plane;
        blue = input;
    }
    if (m->resize == VS_RESIZE_LETTERBOX)
        fill_padding(input, in_w, in_h * 3, 114.0f / 255.0f);

    size_t offset = (size_t)pad_y * in_w + pad_x;
    if (pre->direct_float) {
        /* GBRP plane order: G, B, R. */
        uint8_t *planes[4] = {(uint8_t *)(green + offset), (uint8_t *)(blue + offset),
                              (uint8_t *)(red + offset), NULL};
        int strides[4] = {in_w * 4, in_w * 4, in_w * 4, 0};
        sws_scale(pre->scaler, (const uint8_t *const *)picture->data, picture->linesize, 0,
                  picture->height, planes, strides);
    } else {
        uint8_t *planes[4] = {pre->rgb_scratch, NULL, NULL, NULL};
        int strides[4] = {out_w * 3, 0, 0, 0};
        sws_scale(pre->scaler, (const uint8_t *const *)picture->data, picture->linesize, 0,
                  picture->height, planes, strides);
        for (int y = 0; y < out_h; y++)
            for (int x = 0; x < out_w; x++) {
                const uint8_t *px = pre->rgb_scratch + ((size_t)y * out_w + x) * 3;
                size_t at = offset + (size_t)y * in_w + x;
                red[at] = px[0] / 255.0f;
                green[at] = px[1] / 255.0f;
                blue[at] = px[2] / 255.0f;
            }
    }

    /* One pass from 0..1 to the model's range: value = (pixel * scale - mean) / std,
     * with pixel in 0..255; mean and std are in the tensor's channel order. */
    for (int c = 0; c < 3; c++) {
        float gain = 255.0f * m->scale / m->std[c], bias = -m->mean[c] / m->std[c];
        float *p = input + c * plane;
        for (size_t i = 0; i < plane; i++)
            p[i] = p[i] * gain + bias;
    }
    return VS_OK;
}
