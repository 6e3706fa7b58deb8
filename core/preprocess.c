/* preprocess.c: swscale into the model's planar float input; see preprocess.h.
 * Never allocates per frame: the scaler is re-made only when the source
 * geometry, pixel format, colour range or matrix changes. */
#include "preprocess.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "vs_torch.h"

int vs_preprocess_init(vs_preprocess *pre, const vs_manifest *manifest, vs_error *err)
{
    (void)err;
    memset(pre, 0, sizeof *pre);
    pre->manifest = manifest;
    /* swscale writes float planes (0..1) itself when it can; that saves a copy. */
    pre->direct_float = sws_isSupportedOutput(AV_PIX_FMT_GBRPF32) > 0;
    return VS_OK;
}

void vs_preprocess_free(vs_preprocess *pre)
{
    vs_scaler_free(&pre->scaler);
    free(pre->rgb_scratch);
    free(pre->upright_scratch);
    memset(pre, 0, sizeof *pre);
}

/* Grows a scratch buffer when a bigger picture arrives: never per frame. */
static int reserve(unsigned char **buffer, size_t *size, size_t needed, vs_error *err)
{
    if (needed <= *size)
        return VS_OK;
    unsigned char *grown = realloc(*buffer, needed);
    if (!grown)
        return vs_fail(err, VS_ENOMEM, "out of memory for a %zu-byte picture", needed);
    *buffer = grown;
    *size = needed;
    return VS_OK;
}

/* Converts picture to packed RGB24 of out_w x out_h in rgb_scratch. */
static int to_rgb(vs_preprocess *pre, const struct AVFrame *picture, int out_w, int out_h,
                  int flags, vs_error *err)
{
    int status = reserve(&pre->rgb_scratch, &pre->rgb_scratch_size, (size_t)out_w * out_h * 3, err);
    if (status != VS_OK)
        return status;
    struct SwsContext *scaler =
        vs_scaler_get(&pre->scaler, picture, out_w, out_h, AV_PIX_FMT_RGB24, flags);
    if (!scaler)
        return vs_fail(err, VS_EINVAL, "cannot convert %dx%d %s frames", picture->width,
                       picture->height, av_get_pix_fmt_name(picture->format));
    uint8_t *planes[4] = {pre->rgb_scratch, NULL, NULL, NULL};
    int strides[4] = {out_w * 3, 0, 0, 0};
    sws_scale(scaler, (const uint8_t *const *)picture->data, picture->linesize, 0, picture->height,
              planes, strides);
    return VS_OK;
}

void vs_rgb_turn_upright(const unsigned char *coded, int w, int h, size_t coded_pitch, int rotation,
                         unsigned char *shown, size_t shown_pitch)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int tx = rotation == 90 ? h - 1 - y : rotation == 180 ? w - 1 - x : y;
            int ty = rotation == 90 ? x : rotation == 180 ? h - 1 - y : w - 1 - x;
            memcpy(shown + (size_t)ty * shown_pitch + (size_t)tx * 3,
                   coded + (size_t)y * coded_pitch + (size_t)x * 3, 3);
        }
}

/* Points *upright at rgb_scratch (w x h, as coded) as a player shows it,
 * turned into upright_scratch when rotation asks for it. */
static int turn_upright(vs_preprocess *pre, int w, int h, int rotation,
                        const unsigned char **upright, vs_error *err)
{
    *upright = pre->rgb_scratch;
    if (rotation != 90 && rotation != 180 && rotation != 270)
        return VS_OK;
    int status = reserve(&pre->upright_scratch, &pre->upright_scratch_size, (size_t)w * h * 3, err);
    if (status != VS_OK)
        return status;
    int shown_w = rotation == 180 ? w : h;
    vs_rgb_turn_upright(pre->rgb_scratch, w, h, (size_t)w * 3, rotation, pre->upright_scratch,
                        (size_t)shown_w * 3);
    *upright = pre->upright_scratch;
    return VS_OK;
}

/* The padded area of a letterboxed input: grey 114, as YOLO exporters expect. */
static void fill_padding(float *plane, int width, int height, float value)
{
    for (int i = 0; i < width * height; i++)
        plane[i] = value;
}

/* The stretch path's RGB conversion at the source size. */
#define STRETCH_RGB_FLAGS (SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)

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

static int stretch_tf_legacy(vs_preprocess *pre, const struct AVFrame *picture, int rotation,
                             float *input, vs_error *err)
{
    const vs_manifest *m = pre->manifest;
    int in_w = m->input_width, in_h = m->input_height;
    const unsigned char *rgb;
    int status = to_rgb(pre, picture, picture->width, picture->height, STRETCH_RGB_FLAGS, err);
    if (status == VS_OK)
        status = turn_upright(pre, picture->width, picture->height, rotation, &rgb, err);
    if (status != VS_OK)
        return status;
    int quarter = rotation == 90 || rotation == 270;
    int w = quarter ? picture->height : picture->width,
        h = quarter ? picture->width : picture->height;
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
        const unsigned char *top = rgb + (size_t)pre->y0[y] * w * 3;
        const unsigned char *bottom = rgb + (size_t)pre->y1[y] * w * 3;
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

void vs_preprocess_use_torch(vs_preprocess *pre, struct vs_torch *torch)
{
    pre->torch = torch;
}

/* The picture as the shim takes it: 8-bit YUV 4:2:0, planar or NV12, in host
 * memory or (hardware-decoded) in GPU memory, with swscale's conversion
 * constants for its matrix and range. 0 for any other layout. */
static int describe_yuv420(const struct AVFrame *picture, vs_torch_picture *yuv)
{
    int format = picture->format, on_device = 0;
    if (format == AV_PIX_FMT_CUDA && picture->hw_frames_ctx) {
        format = ((const AVHWFramesContext *)picture->hw_frames_ctx->data)->sw_format;
        on_device = 1;
    }
    int layout = format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P ? VS_TORCH_YUV420P
                 : format == AV_PIX_FMT_NV12                                   ? VS_TORCH_NV12
                                                                               : 0;
    if (!layout)
        return 0;
    *yuv = (vs_torch_picture){.layout = layout,
                              .on_device = on_device,
                              .width = picture->width,
                              .height = picture->height};
    for (int i = 0; i < 3; i++) {
        yuv->planes[i] = picture->data[i];
        yuv->strides[i] = picture->linesize[i];
    }
    /* swscale's table is for limited-range chroma (224 levels); full-range
     * chroma spans 255 levels, full-range luma needs no stretch. */
    const int *matrix = vs_scaler_matrix(picture->colorspace);
    int full = vs_picture_full_range(picture);
    float chroma = (full ? 224.0f / 255.0f : 1.0f) / 65536.0f;
    yuv->y_offset = full ? 0.0f : 16.0f;
    yuv->y_gain = full ? 1.0f : 255.0f / 219.0f;
    yuv->v_to_r = matrix[0] * chroma;
    yuv->u_to_b = matrix[1] * chroma;
    yuv->u_to_g = matrix[2] * chroma;
    yuv->v_to_g = matrix[3] * chroma;
    return 1;
}

/* The C path's geometry and normalisation, handed to the shim. */
static int preprocess_with_torch(vs_preprocess *pre, const vs_torch_picture *yuv,
                                 const vs_letterbox *geometry, int out_w, int out_h, float *input,
                                 vs_error *err)
{
    const vs_manifest *m = pre->manifest;
    vs_torch_placement placement = {
        .rotation = geometry->rotation,
        .stretch_legacy = m->resize == VS_RESIZE_STRETCH,
        .resized_w = out_w,
        .resized_h = out_h,
        .pad_x = (int)geometry->pad_x,
        .pad_y = (int)geometry->pad_y,
        .pad_value = m->resize == VS_RESIZE_LETTERBOX ? 114.0f / 255.0f : -1.0f,
        .bgr = m->bgr,
    };
    for (int c = 0; c < 3; c++) {
        placement.gain[c] = 255.0f * m->scale / m->std[c];
        placement.bias[c] = -m->mean[c] / m->std[c];
    }
    return vs_torch_preprocess(pre->torch, input, yuv, &placement, err);
}

int vs_preprocess_frame(vs_preprocess *pre, const struct AVFrame *picture, int rotation,
                        float *input, vs_letterbox *geometry, vs_error *err)
{
    const vs_manifest *m = pre->manifest;
    int in_w = m->input_width, in_h = m->input_height;
    size_t plane = (size_t)in_w * in_h;
    if (rotation != 90 && rotation != 180 && rotation != 270)
        rotation = 0;
    int quarter = rotation == 90 || rotation == 270;
    int shown_w = quarter ? picture->height : picture->width;
    int shown_h = quarter ? picture->width : picture->height;
    *geometry = vs_letterbox_for(shown_w, shown_h, in_w, in_h, m->resize);
    geometry->rotation = rotation;
    /* Rotated pictures stay here: the C path turns packed RGB whose chroma
     * swscale does not interpolate, which torch's resize cannot reproduce. */
    int on_torch = pre->torch && rotation == 0;
    vs_torch_picture yuv;
    if (on_torch && m->resize == VS_RESIZE_STRETCH) {
        if (describe_yuv420(picture, &yuv) && yuv.on_device)
            return preprocess_with_torch(pre, &yuv, geometry, in_w, in_h, input, err);
        /* On the host: swscale's RGB, as below; the device resizes it. */
        int status = to_rgb(pre, picture, picture->width, picture->height, STRETCH_RGB_FLAGS, err);
        if (status != VS_OK)
            return status;
        vs_torch_picture rgb = {.layout = VS_TORCH_RGB24,
                                .width = picture->width,
                                .height = picture->height,
                                .planes = {pre->rgb_scratch},
                                .strides = {picture->width * 3}};
        return preprocess_with_torch(pre, &rgb, geometry, in_w, in_h, input, err);
    }
    on_torch = on_torch && describe_yuv420(picture, &yuv);
    if (m->resize == VS_RESIZE_STRETCH) {
        int status = stretch_tf_legacy(pre, picture, rotation, input, err);
        if (status != VS_OK)
            return status;
        goto normalize;
    }
    int out_w = (int)(shown_w * geometry->scale_x + 0.5f);
    int out_h = (int)(shown_h * geometry->scale_y + 0.5f);
    if (out_w > in_w)
        out_w = in_w;
    if (out_h > in_h)
        out_h = in_h;
    int pad_x = (int)geometry->pad_x, pad_y = (int)geometry->pad_y;
    if (on_torch)
        return preprocess_with_torch(pre, &yuv, geometry, out_w, out_h, input, err);

    float *red = input, *green = input + plane, *blue = input + 2 * plane;
    if (m->bgr) {
        red = input + 2 * plane;
        blue = input;
    }
    if (m->resize == VS_RESIZE_LETTERBOX)
        fill_padding(input, in_w, in_h * 3, 114.0f / 255.0f);

    size_t offset = (size_t)pad_y * in_w + pad_x;
    /* swscale's float writer (x86 SIMD) writes whole groups of 8 values, up
     * to 7 past the width asked for (measured: 98 wide writes 104). Those
     * land in the right padding and are painted over below; where that
     * padding is narrower, they would reach the next row or past the buffer,
     * and the packed path, which writes exactly, is taken instead. */
    int right_margin = in_w - pad_x - out_w;
    int overrun = out_w % 8 ? 8 - out_w % 8 : 0;
    if (pre->direct_float && rotation == 0 && right_margin >= overrun) {
        struct SwsContext *scaler =
            vs_scaler_get(&pre->scaler, picture, out_w, out_h, AV_PIX_FMT_GBRPF32, SWS_BILINEAR);
        if (!scaler)
            return vs_fail(err, VS_EINVAL, "cannot scale %dx%d %s frames", picture->width,
                           picture->height, av_get_pix_fmt_name(picture->format));
        /* GBRP plane order: G, B, R. */
        uint8_t *planes[4] = {(uint8_t *)(green + offset), (uint8_t *)(blue + offset),
                              (uint8_t *)(red + offset), NULL};
        int strides[4] = {in_w * 4, in_w * 4, in_w * 4, 0};
        sws_scale(scaler, (const uint8_t *const *)picture->data, picture->linesize, 0,
                  picture->height, planes, strides);
        if (overrun && m->resize == VS_RESIZE_LETTERBOX)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < out_h; y++)
                    fill_padding(input + c * plane + offset + (size_t)y * in_w + out_w, overrun, 1,
                                 114.0f / 255.0f);
    } else {
        /* Scaled as coded, then turned: the packed copy is small (input size). */
        const unsigned char *rgb;
        int coded_w = quarter ? out_h : out_w, coded_h = quarter ? out_w : out_h;
        int status = to_rgb(pre, picture, coded_w, coded_h, SWS_BILINEAR, err);
        if (status == VS_OK)
            status = turn_upright(pre, coded_w, coded_h, rotation, &rgb, err);
        if (status != VS_OK)
            return status;
        for (int y = 0; y < out_h; y++)
            for (int x = 0; x < out_w; x++) {
                const uint8_t *px = rgb + ((size_t)y * out_w + x) * 3;
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
