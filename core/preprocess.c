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
        pre->rgb_scratch_size = (size_t)manifest->input_width * manifest->input_height * 3;
        pre->rgb_scratch = malloc(pre->rgb_scratch_size);
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

/* TF's legacy sampling: source = destination * (in / out), no half-pixel shift. */
static void make_taps(int in, int out, int *lo, int *hi, float *lerp)
{
    float scale = (float)in / (float)out;
    for (int i = 0; i < out; i++) {
        float source = (float)i * scale;
        int low = (int)source; /* floor: source >= 0 */
        lo[i] = low;
        hi[i] = low + 1 < in ? low + 1 : in - 1;
        lerp[i] = source - (float)low;
    }
}

static int stretch_tf_legacy(vs_preprocess *pre, const struct AVFrame *picture, float *input,
                             vs_error *err)
{
    const vs_manifest *m = pre->manifest;
    int w = picture->width, h = picture->height, in_w = m->input_width, in_h = m->input_height;
    size_t needed = (size_t)w * h * 3;
    if (needed > pre->rgb_scratch_size) {
        /* Grows only when a bigger source arrives: not per frame. */
        unsigned char *grown = realloc(pre->rgb_scratch, needed);
        if (!grown)
            return vs_fail(err, VS_ENOMEM, "out of memory for a %dx%d picture", w, h);
        pre->rgb_scratch = grown;
        pre->rgb_scratch_size = needed;
    }
    pre->scaler = sws_getCachedContext(pre->scaler, w, h, picture->format, w, h, AV_PIX_FMT_RGB24,
                                       SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL,
                                       NULL, NULL);
    if (!pre->scaler)
        return vs_fail(err, VS_EINVAL, "cannot convert %dx%d %s frames", w, h,
                       av_get_pix_fmt_name(picture->format));
    uint8_t *planes[4] = {pre->rgb_scratch, NULL, NULL, NULL};
    int strides[4] = {w * 3, 0, 0, 0};
    sws_scale(pre->scaler, (const uint8_t *const *)picture->data, picture->linesize, 0, h, planes,
              strides);
    if (pre->taps_src_w != w || pre->taps_src_h != h) {
        make_taps(w, in_w, pre->x0, pre->x1, pre->x_lerp);
        make_taps(h, in_h, pre->y0, pre->y1, pre->y_lerp);
        pre->taps_src_w = w;
        pre->taps_src_h = h;
    }
    size_t plane = (size_t)in_w * in_h;
    int order[3] = {0, 1, 2}; /* source channel for tensor channel c */
    if (m->bgr) {
        order[0] = 2;
        order[2] = 0;
    }
    for (int y = 0; y < in_h; y++) {
        const unsigned char *top = pre->rgb_scratch + (size_t)pre->y0[y] * w * 3;
        const unsigned char *bottom = pre->rgb_scratch + (size_t)pre->y1[y] * w * 3;
        float y_lerp = pre->y_lerp[y];
        for (int x = 0; x < in_w; x++) {
            int left = pre->x0[x] * 3, right = pre->x1[x] * 3;
            float x_lerp = pre->x_lerp[x];
            for (int c = 0; c < 3; c++) {
                int k = order[c];
                /* The same arithmetic, in the same order, as TF's kernel. */
                float tl = top[left + k], tr = top[right + k];
                float bl = bottom[left + k], br = bottom[right + k];
                float upper = tl + (tr - tl) * x_lerp, lower = bl + (br - bl) * x_lerp;
                input[c * plane + (size_t)y * in_w + x] =
                    (upper + (lower - upper) * y_lerp) / 255.0f;
            }
        }
    }
    return VS_OK;
}

int vs_preprocess_frame(vs_preprocess *pre, const struct AVFrame *picture, float *input,
                        vs_letterbox *geometry, vs_error *err)
{
    const vs_manifest *m = pre->manifest;
    int in_w = m->input_width, in_h = m->input_height;
    size_t plane = (size_t)in_w * in_h;
    *geometry = vs_letterbox_for(picture->width, picture->height, in_w, in_h, m->resize);
    if (m->resize == VS_RESIZE_STRETCH) {
        int status = stretch_tf_legacy(pre, picture, input, err);
        if (status != VS_OK)
            return status;
        goto normalize;
    }
    int out_w = (int)(picture->width * geometry->scale_x + 0.5f);
    int out_h = (int)(picture->height * geometry->scale_y + 0.5f);
    if (out_w > in_w)
        out_w = in_w;
    if (out_h > in_h)
        out_h = in_h;
    int pad_x = (int)geometry->pad_x, pad_y = (int)geometry->pad_y;

    pre->scaler = sws_getCachedContext(
        pre->scaler, picture->width, picture->height, picture->format, out_w, out_h,
        pre->direct_float ? AV_PIX_FMT_GBRPF32 : AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
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

normalize:
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
