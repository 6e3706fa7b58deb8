/* test_preprocess_torch.c: preprocessing with torch operations in the shim
 * (vs_torch_preprocess, `--preprocess torch`) against the C path
 * (core/preprocess.c: swscale, and TF's legacy bilinear for stretch models),
 * on CPU, on generated YUV 4:2:0 pictures of several sizes: odd, portrait,
 * smaller and larger than the model input, turned by a display matrix.
 *
 * What must agree, and how closely (values compared in 0..1 pixel units,
 * before the model's mean/std):
 * - the geometry (letterbox scale and padding) exactly, and the padding value;
 * - stretch models (TF's legacy bilinear after an RGB conversion at the source
 *   size): within 1/255 everywhere;
 * - letterbox models, smooth content: within 1/255 everywhere;
 * - letterbox models, content with sharp edges and noise: swscale's bilinear
 *   filter is antialiased bilinear (a triangle widened by the shrink factor, as
 *   torch's antialias=True), but in 14-bit fixed point with its own edge
 *   handling, so single values at edges differ by a few levels: the mean
 *   difference stays below 1/255 and the largest below 8/255 (measured: see
 *   SHARP_MAX_LEVELS). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavutil/frame.h>

#include "preprocess.h"
#include "testutil.h"
#include "vs_torch.h"

#define IN_W 320
#define IN_H 256
#define FRAME_FLOATS ((size_t)3 * IN_W * IN_H)
#define SHARP_MAX_LEVELS 8.0
#define SHARP_MEAN_LEVELS 0.5
#define STRETCH_YUV_SMOOTH_MEAN 1.5
#define STRETCH_YUV_SHARP_MEAN 6.0

static vs_torch *torch;

typedef enum { SMOOTH, SHARP } content;

/* A picture of w x h in yuv420p: smooth gradients in all three planes, or the
 * same with hard-edged blocks and pixel noise on top. Deterministic. */
static AVFrame *make_picture(int w, int h, content kind, int full_range)
{
    AVFrame *picture = av_frame_alloc();
    assert_non_null(picture);
    picture->format = full_range ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
    picture->width = w;
    picture->height = h;
    picture->color_range = full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    picture->colorspace = AVCOL_SPC_BT709;
    assert_int_equal(av_frame_get_buffer(picture, 0), 0);
    unsigned seed = (unsigned)(w * 131 + h);
    for (int plane = 0; plane < 3; plane++) {
        int pw = plane ? (w + 1) / 2 : w, ph = plane ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                double fx = (double)x / pw, fy = (double)y / ph;
                double value = plane == 0
                                   ? 40 + 170 * (0.5 + 0.5 * sin(6.0 * fx + 3.0 * fy))
                                   : 128 + 90 * sin((plane == 1 ? 4.0 : 5.0) * fy - 3.0 * fx);
                if (kind == SHARP) {
                    if (((x * 8 / pw) + (y * 6 / ph)) % 2)
                        value = plane == 0 ? 235 - value * 0.5 : 256 - value;
                    seed = seed * 1103515245u + 12345u;
                    value += (double)((seed >> 16) % 41) - 20.0;
                }
                picture->data[plane][(size_t)y * picture->linesize[plane] + x] =
                    (uint8_t)(value < 0     ? 0
                              : value > 255 ? 255
                                            : value);
            }
    }
    return picture;
}

static void make_manifest(vs_manifest *m, vs_resize_mode resize, int bgr, int imagenet)
{
    memset(m, 0, sizeof *m);
    m->input_width = IN_W;
    m->input_height = IN_H;
    m->bgr = bgr;
    m->scale = 1.0f / 255.0f;
    m->resize = resize;
    for (int c = 0; c < 3; c++) {
        m->mean[c] = imagenet ? 0.45f + 0.01f * c : 0.0f;
        m->std[c] = imagenet ? 0.225f + 0.005f * c : 1.0f;
    }
}

typedef struct difference {
    double max_levels, mean_levels;
    double beyond_one; /* share of values more than 1 level (1/255) apart */
} difference;

/* Runs both paths on one picture and returns how far apart they are, in
 * levels of 0..255 (the model's normalisation undone). */
static difference compare(const vs_manifest *m, const AVFrame *picture, int rotation)
{
    vs_error err = {{0}};
    vs_preprocess c_path, torch_path;
    assert_int_equal(vs_preprocess_init(&c_path, m, &err), VS_OK);
    assert_int_equal(vs_preprocess_init(&torch_path, m, &err), VS_OK);
    vs_preprocess_use_torch(&torch_path, torch);

    float *expected = malloc(FRAME_FLOATS * sizeof *expected);
    float *actual = malloc(FRAME_FLOATS * sizeof *actual);
    assert_non_null(expected);
    assert_non_null(actual);
    float *slot_input = vs_torch_input(torch, 1) + FRAME_FLOATS; /* slot 1, position 1 */
    for (size_t i = 0; i < FRAME_FLOATS; i++)
        slot_input[i] = NAN; /* on CPU every value must be written */
    vs_letterbox c_box, torch_box;
    assert_int_equal(vs_preprocess_frame(&c_path, picture, rotation, expected, &c_box, &err),
                     VS_OK);
    int status = vs_preprocess_frame(&torch_path, picture, rotation, slot_input, &torch_box, &err);
    if (status != VS_OK)
        fail_msg("torch path: %s", err.msg);
    assert_memory_equal(&c_box, &torch_box, sizeof c_box);
    /* What the model would get: from the GPU when the shim left it there. */
    assert_int_equal(vs_torch_read_input(torch, slot_input, actual, &err), VS_OK);

    difference d = {0, 0, 0};
    size_t plane = (size_t)IN_W * IN_H;
    for (int c = 0; c < 3; c++) {
        double levels_per_unit = m->std[c] / m->scale; /* undo (pixel*scale - mean)/std */
        for (size_t i = 0; i < plane; i++) {
            double e = expected[c * plane + i], a = actual[c * plane + i];
            assert_false(isnan(a));
            double levels = fabs(a - e) * levels_per_unit;
            d.mean_levels += levels;
            d.beyond_one += levels > 1.0;
            if (levels > d.max_levels)
                d.max_levels = levels;
        }
    }
    d.mean_levels /= 3.0 * plane;
    d.beyond_one /= 3.0 * plane;
    free(expected);
    free(actual);
    vs_preprocess_free(&c_path);
    vs_preprocess_free(&torch_path);
    return d;
}

static const int sizes[][2] = {
    {640, 360},  /* landscape, shrunk */
    {1281, 721}, /* odd, shrunk by an odd factor */
    {360, 640},  /* portrait */
    {177, 99},   /* odd, smaller than the input: enlarged */
    {96, 250},   /* portrait, smaller */
    {320, 256},  /* exactly the input */
};

/* Variants: plain; BGR with a mean/std; full-range (yuvj) pictures; turned
 * by a display matrix, which stays on the C path (exactly equal). */
enum { VARIANTS = 5 };

static void check_all(vs_resize_mode resize, content kind, double max_levels, double mean_levels,
                      double beyond_one)
{
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int variant = 0; variant < VARIANTS; variant++) {
            int rotation = variant == 3 ? 90 : variant == 4 ? 270 : 0;
            /* Turned pictures take the C path (into the host input), which
             * the CPU group checks; on CUDA the position's earlier frame,
             * preprocessed on the device, would be what submit uses, as
             * no submit comes between them here. */
            if (rotation && vs_torch_is_cuda(torch))
                continue;
            int bgr = variant == 1, imagenet = variant >= 1, full_range = variant == 2;
            vs_manifest m;
            make_manifest(&m, resize, bgr, imagenet);
            AVFrame *picture = make_picture(sizes[s][0], sizes[s][1], kind, full_range);
            difference d = compare(&m, picture, rotation);
            print_message("%s %s %dx%d rot %d bgr %d imagenet %d full %d: max %.3f mean %.4f "
                          "levels, %.4f%% beyond 1\n",
                          resize == VS_RESIZE_STRETCH ? "stretch" : "letterbox",
                          kind == SMOOTH ? "smooth" : "sharp", sizes[s][0], sizes[s][1], rotation,
                          bgr, imagenet, full_range, d.max_levels, d.mean_levels,
                          100 * d.beyond_one);
            if (rotation) {
                assert_true(d.max_levels == 0.0);
            } else {
                assert_true(d.max_levels <= max_levels);
                assert_true(d.mean_levels <= mean_levels);
                assert_true(d.beyond_one <= beyond_one);
            }
            av_frame_free(&picture);
        }
}

/* Smooth content: 99.9% of values within 1/255, none beyond 1.5/255. */
static void letterbox_smooth_within_one_level(void **state)
{
    (void)state;
    check_all(VS_RESIZE_LETTERBOX, SMOOTH, 1.5, 0.5, 0.001);
}

static void letterbox_sharp_close(void **state)
{
    (void)state;
    check_all(VS_RESIZE_LETTERBOX, SHARP, SHARP_MAX_LEVELS, SHARP_MEAN_LEVELS, 0.01);
}

/* Host pictures: swscale's RGB uploaded, TF's taps on the device: the same
 * float arithmetic, so equal but for rounding. */
static void stretch_equal(void **state)
{
    (void)state;
    check_all(VS_RESIZE_STRETCH, SMOOTH, 0.01, 0.001, 0.0);
    check_all(VS_RESIZE_STRETCH, SHARP, 0.01, 0.001, 0.0);
}

/* Hardware-decoded pictures of stretch models are converted from YUV on the
 * device (no host copy to convert): swscale's RGB24 conversion upsamples the
 * chroma vertically with weights of its own (0, 1/2, 1 in a pattern that
 * depends on the height, measured with impulses), the device centre-sited,
 * so values differ where the chroma changes sharply. Measured here, on the
 * host, by handing the shim the YUV planes directly. */
static void stretch_from_yuv_measured(void **state)
{
    (void)state;
    vs_manifest m;
    make_manifest(&m, VS_RESIZE_STRETCH, 0, 0);
    for (int kind = SMOOTH; kind <= SHARP; kind++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            AVFrame *picture = make_picture(sizes[s][0], sizes[s][1], (content)kind, 0);
            vs_error err = {{0}};
            vs_preprocess c_path;
            assert_int_equal(vs_preprocess_init(&c_path, &m, &err), VS_OK);
            float *expected = vs_torch_input(torch, 0), *actual = expected + FRAME_FLOATS;
            vs_letterbox box;
            assert_int_equal(vs_preprocess_frame(&c_path, picture, 0, expected, &box, &err), VS_OK);
            const int *matrix = vs_scaler_matrix(picture->colorspace);
            vs_torch_picture yuv = {.layout = VS_TORCH_YUV420P,
                                    .width = picture->width,
                                    .height = picture->height,
                                    .y_offset = 16,
                                    .y_gain = 255.0f / 219.0f,
                                    .v_to_r = matrix[0] / 65536.0f,
                                    .u_to_b = matrix[1] / 65536.0f,
                                    .u_to_g = matrix[2] / 65536.0f,
                                    .v_to_g = matrix[3] / 65536.0f};
            for (int i = 0; i < 3; i++) {
                yuv.planes[i] = picture->data[i];
                yuv.strides[i] = picture->linesize[i];
            }
            vs_torch_placement at = {.stretch_legacy = 1, .pad_value = -1};
            for (int c = 0; c < 3; c++)
                at.gain[c] = 1;
            assert_int_equal(vs_torch_preprocess(torch, actual, &yuv, &at, &err), VS_OK);
            assert_int_equal(vs_torch_read_input(torch, actual, actual, &err), VS_OK);
            double max_levels = 0, mean_levels = 0;
            for (size_t i = 0; i < FRAME_FLOATS; i++) {
                double levels = fabs(actual[i] - expected[i]) * 255.0;
                mean_levels += levels;
                max_levels = levels > max_levels ? levels : max_levels;
            }
            mean_levels /= FRAME_FLOATS;
            print_message("stretch from YUV %s %dx%d: max %.3f mean %.4f levels\n",
                          kind == SMOOTH ? "smooth" : "sharp", sizes[s][0], sizes[s][1], max_levels,
                          mean_levels);
            assert_true(mean_levels <=
                        (kind == SMOOTH ? STRETCH_YUV_SMOOTH_MEAN : STRETCH_YUV_SHARP_MEAN));
            vs_preprocess_free(&c_path);
            av_frame_free(&picture);
        }
}

/* NV12 (what NVDEC and av_hwframe_transfer_data give) reads as yuv420p does. */
static void nv12_as_yuv420p(void **state)
{
    (void)state;
    vs_manifest m;
    make_manifest(&m, VS_RESIZE_LETTERBOX, 0, 0);
    AVFrame *planar = make_picture(641, 359, SHARP, 0);
    AVFrame *nv12 = av_frame_alloc();
    nv12->format = AV_PIX_FMT_NV12;
    nv12->width = planar->width;
    nv12->height = planar->height;
    nv12->colorspace = planar->colorspace;
    nv12->color_range = planar->color_range;
    assert_int_equal(av_frame_get_buffer(nv12, 0), 0);
    for (int y = 0; y < nv12->height; y++)
        memcpy(nv12->data[0] + (size_t)y * nv12->linesize[0],
               planar->data[0] + (size_t)y * planar->linesize[0], (size_t)nv12->width);
    for (int y = 0; y < (nv12->height + 1) / 2; y++)
        for (int x = 0; x < (nv12->width + 1) / 2; x++) {
            nv12->data[1][(size_t)y * nv12->linesize[1] + 2 * x] =
                planar->data[1][(size_t)y * planar->linesize[1] + x];
            nv12->data[1][(size_t)y * nv12->linesize[1] + 2 * x + 1] =
                planar->data[2][(size_t)y * planar->linesize[2] + x];
        }
    vs_error err = {{0}};
    vs_preprocess pre;
    assert_int_equal(vs_preprocess_init(&pre, &m, &err), VS_OK);
    vs_preprocess_use_torch(&pre, torch);
    float *from_planar = vs_torch_input(torch, 0), *from_nv12 = from_planar + FRAME_FLOATS;
    vs_letterbox box;
    assert_int_equal(vs_preprocess_frame(&pre, planar, 0, from_planar, &box, &err), VS_OK);
    assert_int_equal(vs_preprocess_frame(&pre, nv12, 0, from_nv12, &box, &err), VS_OK);
    assert_int_equal(vs_torch_read_input(torch, from_planar, from_planar, &err), VS_OK);
    assert_int_equal(vs_torch_read_input(torch, from_nv12, from_nv12, &err), VS_OK);
    assert_memory_equal(from_planar, from_nv12, FRAME_FLOATS * sizeof(float));
    vs_preprocess_free(&pre);
    av_frame_free(&planar);
    av_frame_free(&nv12);
}

/* A pointer that is no frame of a slot, and a picture in GPU memory on a CPU
 * model, are refused with a message naming the model; nothing is written. */
static void refusals(void **state)
{
    (void)state;
    vs_error err = {{0}};
    AVFrame *picture = make_picture(64, 48, SMOOTH, 0);
    vs_torch_picture yuv = {.layout = VS_TORCH_YUV420P, .width = 64, .height = 48};
    for (int i = 0; i < 3; i++) {
        yuv.planes[i] = picture->data[i];
        yuv.strides[i] = picture->linesize[i];
    }
    vs_torch_placement at = {.resized_w = 64, .resized_h = 48, .pad_value = -1};
    for (int c = 0; c < 3; c++)
        at.gain[c] = 1;
    float elsewhere[16];
    assert_int_equal(vs_torch_preprocess(torch, elsewhere, &yuv, &at, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "yolov5s.pt"));
    assert_int_equal(vs_torch_preprocess(torch, vs_torch_input(torch, 0) + 1, &yuv, &at, &err),
                     VS_EINVAL);
    yuv.on_device = 1;
    assert_int_equal(vs_torch_preprocess(torch, vs_torch_input(torch, 0), &yuv, &at, &err),
                     VS_EINVAL);
    assert_non_null(strstr(err.msg, "GPU memory"));
    yuv.on_device = 0;
    at.pad_x = IN_W - 10; /* does not fit */
    assert_int_equal(vs_torch_preprocess(torch, vs_torch_input(torch, 0), &yuv, &at, &err),
                     VS_EINVAL);
    av_frame_free(&picture);
}

static int open_torch(const char *device)
{
    char model[4096];
    snprintf(model, sizeof model, "%s/yolov5s.pt", test_models_dir());
    vs_torch_options options = {
        .model_path = model,
        .device = device,
        .max_batch = 2,
        .slots = 2,
        .channels = 3,
        .height = IN_H,
        .width = IN_W,
        .cpu_threads = 1,
        .warmup = 0, /* only the input buffers are used */
    };
    vs_error err = {{0}};
    if (vs_torch_open(&torch, &options, &err) != VS_OK) {
        fprintf(stderr, "test_preprocess_torch: cannot open %s on %s: %s (run models/prepare.sh)\n",
                model, device, err.msg);
        return 0;
    }
    return 1;
}

/* The CPU group runs everywhere (CI); the same comparisons run again on the
 * GPU where libtorch sees one (the prepared GPU run, bench/gpu.sh), reading
 * back what the device computed. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(letterbox_smooth_within_one_level),
        cmocka_unit_test(letterbox_sharp_close),
        cmocka_unit_test(stretch_equal),
        cmocka_unit_test(stretch_from_yuv_measured),
        cmocka_unit_test(nv12_as_yuv420p),
        cmocka_unit_test(refusals),
    };
    if (!open_torch("cpu"))
        return 1;
    int failed = cmocka_run_group_tests_name("cpu", tests, NULL, NULL);
    vs_torch_close(torch);
    if (vs_torch_cuda_available()) {
        if (!open_torch("cuda"))
            return 1;
        /* Not refusals: a picture in GPU memory is not refused on CUDA. */
        const struct CMUnitTest cuda_tests[] = {
            cmocka_unit_test(letterbox_smooth_within_one_level),
            cmocka_unit_test(letterbox_sharp_close),
            cmocka_unit_test(stretch_equal),
            cmocka_unit_test(stretch_from_yuv_measured),
            cmocka_unit_test(nv12_as_yuv420p),
        };
        failed += cmocka_run_group_tests_name("cuda", cuda_tests, NULL, NULL);
        vs_torch_close(torch);
    } else {
        printf("test_preprocess_torch: no CUDA device for libtorch: the cuda group did not run\n");
    }
    return failed;
}
