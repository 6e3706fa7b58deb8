/* test_detect.c: decoders, NMS, IoU and letterbox geometry on hand-built
 * outputs whose right answers were worked out on paper (see each comment). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "detect.h"
#include "manifest.h"

#define EPS 1e-5f

static vs_manifest *manifest_from(const char *json)
{
    vs_manifest *m = malloc(sizeof *m);
    assert_non_null(m);
    vs_error err = {{0}};
    int status = vs_manifest_parse(m, json, NULL, "test.json", &err);
    if (status != VS_OK)
        fail_msg("manifest: %s", err.msg);
    return m;
}

static vs_detection box(float x1, float y1, float x2, float y2, float score, int class_id)
{
    vs_detection d = {.x1 = x1, .y1 = y1, .x2 = x2, .y2 = y2, .score = score, .class_id = class_id};
    return d;
}

static void assert_det(const vs_detection *d, float x1, float y1, float x2, float y2, float score,
                       int class_id)
{
    assert_float_equal(d->x1, x1, EPS);
    assert_float_equal(d->y1, y1, EPS);
    assert_float_equal(d->x2, x2, EPS);
    assert_float_equal(d->y2, y2, EPS);
    assert_float_equal(d->score, score, EPS);
    assert_int_equal(d->class_id, class_id);
}

/* ---- IoU ------------------------------------------------------------- */

static void test_iou_values(void **state)
{
    (void)state;
    vs_detection a = box(0, 0, 10, 10, 1, 0);
    vs_detection half = box(5, 0, 15, 10, 1, 0); /* 50 / (100 + 100 - 50) */
    vs_detection inside = box(0, 0, 5, 5, 1, 0); /* 25 / 100 */
    vs_detection apart = box(20, 20, 30, 30, 1, 0);
    vs_detection touching = box(10, 0, 20, 10, 1, 0); /* shares an edge, no area */
    vs_detection empty = box(3, 3, 3, 3, 1, 0);
    vs_detection flipped = box(15, 10, 5, 0, 1, 0); /* same as half, corners swapped */
    assert_float_equal(vs_iou(&a, &a), 1.0f, EPS);
    assert_float_equal(vs_iou(&a, &half), 1.0f / 3.0f, EPS);
    assert_float_equal(vs_iou(&half, &a), 1.0f / 3.0f, EPS);
    assert_float_equal(vs_iou(&a, &inside), 0.25f, EPS);
    assert_float_equal(vs_iou(&a, &apart), 0.0f, EPS);
    assert_float_equal(vs_iou(&a, &touching), 0.0f, EPS);
    assert_float_equal(vs_iou(&a, &empty), 0.0f, EPS);
    assert_float_equal(vs_iou(&empty, &empty), 0.0f, EPS);
    assert_float_equal(vs_iou(&a, &flipped), 1.0f / 3.0f, EPS);
}

/* ---- NMS ------------------------------------------------------------- */

static void test_nms_same_class_suppressed(void **state)
{
    (void)state;
    /* b overlaps a with IoU 1/3 (> 0.3), c is apart: expect a, c. */
    vs_detection d[3] = {box(5, 0, 15, 10, 0.8f, 0), box(0, 0, 10, 10, 0.9f, 0),
                         box(50, 50, 60, 60, 0.7f, 0)};
    int kept = vs_nms(d, 3, 0.3f, 0, 10);
    assert_int_equal(kept, 2);
    assert_det(&d[0], 0, 0, 10, 10, 0.9f, 0);
    assert_det(&d[1], 50, 50, 60, 60, 0.7f, 0);
}

static void test_nms_threshold_is_strict(void **state)
{
    (void)state;
    /* IoU exactly 1/3 is not > 1/3: both kept; at 0.33 the second goes. */
    vs_detection d[2] = {box(0, 0, 10, 10, 0.9f, 0), box(5, 0, 15, 10, 0.8f, 0)};
    assert_int_equal(vs_nms(d, 2, 0.5f, 0, 10), 2);
    vs_detection e[2] = {box(0, 0, 10, 10, 0.9f, 0), box(5, 0, 15, 10, 0.8f, 0)};
    assert_int_equal(vs_nms(e, 2, 0.33f, 0, 10), 1);
}

static void test_nms_class_aware_keeps_other_class(void **state)
{
    (void)state;
    vs_detection d[2] = {box(0, 0, 10, 10, 0.9f, 0), box(1, 0, 11, 10, 0.8f, 1)};
    assert_int_equal(vs_nms(d, 2, 0.45f, 0, 10), 2);
    assert_int_equal(d[0].class_id, 0);
    assert_int_equal(d[1].class_id, 1);
}

static void test_nms_agnostic_suppresses_other_class(void **state)
{
    (void)state;
    vs_detection d[2] = {box(1, 0, 11, 10, 0.8f, 1), box(0, 0, 10, 10, 0.9f, 0)};
    assert_int_equal(vs_nms(d, 2, 0.45f, 1, 10), 1);
    assert_det(&d[0], 0, 0, 10, 10, 0.9f, 0);
}

static void test_nms_suppressed_box_does_not_suppress(void **state)
{
    (void)state;
    /* a suppresses b; b would have suppressed c, but b is gone, and c does not
     * overlap a enough: greedy keeps a and c. IoU(a,b)=IoU(b,c)=1/3, IoU(a,c)=0. */
    vs_detection d[3] = {box(0, 0, 10, 10, 0.9f, 0), box(5, 0, 15, 10, 0.8f, 0),
                         box(10, 0, 20, 10, 0.7f, 0)};
    assert_int_equal(vs_nms(d, 3, 0.3f, 0, 10), 2);
    assert_float_equal(d[0].score, 0.9f, EPS);
    assert_float_equal(d[1].score, 0.7f, EPS);
}

static void test_nms_max_keep_and_order(void **state)
{
    (void)state;
    vs_detection d[5];
    float scores[5] = {0.2f, 0.9f, 0.5f, 0.7f, 0.3f};
    for (int i = 0; i < 5; i++)
        d[i] = box(i * 20.0f, 0, i * 20.0f + 10, 10, scores[i], 0);
    assert_int_equal(vs_nms(d, 5, 0.5f, 0, 3), 3);
    assert_float_equal(d[0].score, 0.9f, EPS);
    assert_float_equal(d[1].score, 0.7f, EPS);
    assert_float_equal(d[2].score, 0.5f, EPS);
    assert_int_equal(vs_nms(d, 0, 0.5f, 0, 3), 0);
    /* max_keep <= 0: no cap. */
    for (int i = 0; i < 5; i++)
        d[i] = box(i * 20.0f, 0, i * 20.0f + 10, 10, scores[i], 0);
    assert_int_equal(vs_nms(d, 5, 0.5f, 0, 0), 5);
    assert_float_equal(d[4].score, 0.2f, EPS);
}

static void test_nms_ties_are_deterministic(void **state)
{
    (void)state;
    /* Equal scores: class then position decide, whatever the input order. */
    vs_detection a[3] = {box(20, 0, 30, 10, 0.5f, 1), box(0, 0, 10, 10, 0.5f, 1),
                         box(40, 0, 50, 10, 0.5f, 0)};
    vs_detection b[3] = {a[2], a[0], a[1]};
    assert_int_equal(vs_nms(a, 3, 0.5f, 0, 10), 3);
    assert_int_equal(vs_nms(b, 3, 0.5f, 0, 10), 3);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(a[0].class_id, 0);
    assert_float_equal(a[1].x1, 0, EPS);
    assert_float_equal(a[2].x1, 20, EPS);
}

static void test_nms_nan_score_ranks_last(void **state)
{
    (void)state;
    vs_detection d[3] = {box(0, 0, 10, 10, NAN, 0), box(20, 0, 30, 10, 0.1f, 0),
                         box(40, 0, 50, 10, 0.2f, 0)};
    assert_int_equal(vs_nms(d, 3, 0.5f, 0, 2), 2);
    assert_float_equal(d[0].score, 0.2f, EPS);
    assert_float_equal(d[1].score, 0.1f, EPS);
}

/* ---- CenterNet ------------------------------------------------------- */

/* 2 classes, input 32x32, stride 4: maps are 8x8. */
#define CN_JSON(extra)                                                                             \
    "{\"name\":\"cn\",\"file\":\"cn.pt\",\"input\":{\"width\":32,\"height\":32},"                  \
    "\"decoder\":\"centernet\",\"labels\":\"l\",\"classes\":2,\"conf\":0.2,\"iou\":1.0" extra "}"

#define CN_W 8
#define CN_H 8
#define CN_PLANE (CN_W * CN_H)

typedef struct cn_outputs {
    float heat[2][2 * CN_PLANE]; /* batch of 2 frames */
    float boxes[2][4 * CN_PLANE];
} cn_outputs;

static void cn_set(float *heat, int c, int x, int y, float v)
{
    heat[c * CN_PLANE + y * CN_W + x] = v;
}

static void cn_set_box(float *boxes, int x, int y, float l, float t, float r, float b)
{
    boxes[0 * CN_PLANE + y * CN_W + x] = l;
    boxes[1 * CN_PLANE + y * CN_W + x] = t;
    boxes[2 * CN_PLANE + y * CN_W + x] = r;
    boxes[3 * CN_PLANE + y * CN_W + x] = b;
}

/* Frame 0 of the hand-made maps:
 *   class 0: peak 0.9 at (2,3); its neighbour (3,3) 0.8 is above conf but no peak;
 *            0.1 at (6,6) is a peak below conf 0.2.
 *   class 1: peak 0.7 at (5,1); 0.5 at corner (0,0) is a peak (outside = -inf);
 *            a plateau of two equal 0.6 at (7,6) and (7,7): both are peaks.
 * Class planes do not compete: (2,3) in class 1 holds 0.85, a peak there too. */
static void cn_fill(cn_outputs *o)
{
    memset(o, 0, sizeof *o);
    float *heat = o->heat[0], *boxes = o->boxes[0];
    cn_set(heat, 0, 2, 3, 0.9f);
    cn_set(heat, 0, 3, 3, 0.8f);
    cn_set(heat, 0, 6, 6, 0.1f);
    cn_set(heat, 1, 5, 1, 0.7f);
    cn_set(heat, 1, 0, 0, 0.5f);
    cn_set(heat, 1, 7, 6, 0.6f);
    cn_set(heat, 1, 7, 7, 0.6f);
    cn_set(heat, 1, 2, 3, 0.85f);
    /* Boxes are left/top/right/bottom distances in input pixels from 4 * (x, y).
     * (2,3): centre (8,12); (8-16, 12-8, 8+32, 12+16) = (-8,4,40,28). */
    cn_set_box(boxes, 2, 3, 16, 8, 32, 16);
    /* (5,1): centre (20,4); (20-4, 4-2, 20+8, 4+4) = (16,2,28,8). */
    cn_set_box(boxes, 5, 1, 4, 2, 8, 4);
    /* (0,0): centre (0,0); (-16,-16,16,16). */
    cn_set_box(boxes, 0, 0, 16, 16, 16, 16);
    /* (7,6): centre (28,24); (24,20,32,28). (7,7): centre (28,28); all zero: a point. */
    cn_set_box(boxes, 7, 6, 4, 4, 4, 4);
    /* Frame 1: a single peak of class 1 at (4,4), 8 all round: (8,8,24,24). */
    cn_set(o->heat[1], 1, 4, 4, 0.95f);
    cn_set_box(o->boxes[1], 4, 4, 8, 8, 8, 8);
}

static int cn_detect(const vs_manifest *m, const cn_outputs *o, int frame,
                     const vs_detect_params *params, vs_detection *out)
{
    /* Batch of 2: frame 1 lives right after frame 0 in each output. */
    static float heat[2 * 2 * CN_PLANE], boxes[2 * 4 * CN_PLANE];
    memcpy(heat, o->heat[0], sizeof o->heat[0]);
    memcpy(heat + 2 * CN_PLANE, o->heat[1], sizeof o->heat[1]);
    memcpy(boxes, o->boxes[0], sizeof o->boxes[0]);
    memcpy(boxes + 4 * CN_PLANE, o->boxes[1], sizeof o->boxes[1]);
    const float *outputs[2] = {heat, boxes};
    int64_t shapes[2][4] = {{2, 2, CN_H, CN_W}, {2, 4, CN_H, CN_W}};
    size_t size = vs_detect_scratch_size(m, shapes[0]);
    void *scratch = malloc(size);
    assert_non_null(scratch);
    int count =
        vs_detect_frame(m, outputs, (const int64_t(*)[4])shapes, 2, frame, params, scratch, out);
    free(scratch);
    return count;
}

static void test_centernet_peaks_and_boxes(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(CN_JSON(""));
    cn_outputs *o = malloc(sizeof *o);
    cn_fill(o);
    vs_detection out[VS_MAX_DETECTIONS];
    int count = cn_detect(m, o, 0, NULL, out);
    assert_int_equal(count, 6);
    assert_det(&out[0], -8, 4, 40, 28, 0.9f, 0);
    assert_det(&out[1], -8, 4, 40, 28, 0.85f, 1);
    assert_det(&out[2], 16, 2, 28, 8, 0.7f, 1);
    /* Equal scores: (7,6) before (7,7), the reference's flattening order. */
    assert_det(&out[3], 24, 20, 32, 28, 0.6f, 1);
    assert_det(&out[4], 28, 28, 28, 28, 0.6f, 1);
    assert_det(&out[5], -16, -16, 16, 16, 0.5f, 1);

    count = cn_detect(m, o, 1, NULL, out);
    assert_int_equal(count, 1);
    assert_det(&out[0], 8, 8, 24, 24, 0.95f, 1);
    free(o);
    free(m);
}

static void test_centernet_conf_is_exclusive(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(CN_JSON(""));
    cn_outputs *o = malloc(sizeof *o);
    cn_fill(o);
    /* A score equal to conf is out, as in TF.js's scoreThreshold. */
    vs_detect_params p = {0.7f, 1.0f, 100, 0, NULL};
    vs_detection out[VS_MAX_DETECTIONS];
    assert_int_equal(cn_detect(m, o, 0, &p, out), 2); /* 0.9, 0.85 */
    p.conf = 0.69f;
    assert_int_equal(cn_detect(m, o, 0, &p, out), 3);
    assert_float_equal(out[2].score, 0.7f, EPS);
    p.conf = 0.05f; /* now the 0.1 peak of class 0 counts, the 0.8 neighbour still not */
    int count = cn_detect(m, o, 0, &p, out);
    assert_int_equal(count, 7);
    for (int i = 0; i < count; i++)
        assert_true(out[i].score != 0.8f);
    assert_det(&out[6], 24, 24, 24, 24, 0.1f, 0);
    /* conf 0: every positive peak, never the zero background. */
    p.conf = 0.0f;
    assert_int_equal(cn_detect(m, o, 0, &p, out), 7);
    free(o);
    free(m);
}

static void test_centernet_top_k_and_cap(void **state)
{
    (void)state;
    /* The manifest's max_detections is the top-K of the reference graph. */
    vs_manifest *m = manifest_from(CN_JSON(",\"max_detections\":2"));
    cn_outputs *o = malloc(sizeof *o);
    cn_fill(o);
    vs_detection out[VS_MAX_DETECTIONS];
    assert_int_equal(cn_detect(m, o, 0, NULL, out), 2);
    assert_float_equal(out[0].score, 0.9f, EPS);
    assert_float_equal(out[1].score, 0.85f, EPS);
    free(m);
    /* The run's max_detections caps after NMS. */
    m = manifest_from(CN_JSON(""));
    vs_detect_params p = {0.2f, 1.0f, 4, 0, NULL};
    assert_int_equal(cn_detect(m, o, 0, &p, out), 4);
    assert_float_equal(out[3].score, 0.6f, EPS);
    free(o);
    free(m);
}

static void test_centernet_nms_and_class_filter(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(CN_JSON(""));
    cn_outputs *o = malloc(sizeof *o);
    cn_fill(o);
    vs_detection out[VS_MAX_DETECTIONS];
    /* Agnostic NMS: the class-1 box at (2,3) is identical to the class-0 one. */
    vs_detect_params p = {0.2f, 0.4f, 100, 1, NULL};
    int count = cn_detect(m, o, 0, &p, out);
    assert_int_equal(count, 5);
    assert_det(&out[0], -8, 4, 40, 28, 0.9f, 0);
    assert_float_equal(out[1].score, 0.7f, EPS);
    /* Class-aware: both kept. */
    p.class_agnostic = 0;
    assert_int_equal(cn_detect(m, o, 0, &p, out), 6);
    /* Only class 1: the class-0 peak is gone before NMS, so class 1's survives. */
    uint8_t allowed[2] = {0, 1};
    p.class_agnostic = 1;
    p.class_allowed = allowed;
    count = cn_detect(m, o, 0, &p, out);
    assert_int_equal(count, 5);
    for (int i = 0; i < count; i++)
        assert_int_equal(out[i].class_id, 1);
    assert_det(&out[0], -8, 4, 40, 28, 0.85f, 1);
    free(o);
    free(m);
}

static void test_centernet_shape_mismatch(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(CN_JSON(""));
    float data[4 * 3 * CN_PLANE] = {0};
    const float *outputs[2] = {data, data};
    vs_detection out[VS_MAX_DETECTIONS];
    void *scratch = malloc(vs_detect_scratch_size(m, NULL));
    int64_t wrong_classes[2][4] = {{1, 3, CN_H, CN_W}, {1, 4, CN_H, CN_W}};
    int64_t wrong_size[2][4] = {{1, 2, 16, 16}, {1, 4, 16, 16}};
    int64_t good[2][4] = {{1, 2, CN_H, CN_W}, {1, 4, CN_H, CN_W}};
    assert_int_equal(
        vs_detect_frame(m, outputs, (const int64_t(*)[4])wrong_classes, 2, 0, NULL, scratch, out),
        VS_EMODEL);
    assert_int_equal(
        vs_detect_frame(m, outputs, (const int64_t(*)[4])wrong_size, 2, 0, NULL, scratch, out),
        VS_EMODEL);
    assert_int_equal(
        vs_detect_frame(m, outputs, (const int64_t(*)[4])good, 1, 0, NULL, scratch, out),
        VS_EMODEL);
    /* Frame index beyond the batch. */
    assert_int_equal(
        vs_detect_frame(m, outputs, (const int64_t(*)[4])good, 2, 1, NULL, scratch, out),
        VS_EINVAL);
    assert_int_equal(
        vs_detect_frame(m, outputs, (const int64_t(*)[4])good, 2, 0, NULL, scratch, out), 0);

    vs_error err = {{0}};
    assert_int_equal(vs_detect_check_outputs(m, (const int64_t(*)[4])good, NULL, 2, &err), VS_OK);
    assert_int_equal(vs_detect_check_outputs(m, (const int64_t(*)[4])wrong_classes, NULL, 2, &err),
                     VS_EMODEL);
    assert_string_equal(err.msg, "cn.pt: output 0 has shape [1,3,8,8], decoder centernet expects "
                                 "heatmap [N,2,8,8] (classes, input / stride)");
    assert_int_equal(vs_detect_check_outputs(m, (const int64_t(*)[4])good, NULL, 1, &err),
                     VS_EMODEL);
    assert_string_equal(err.msg,
                        "cn.pt: decoder centernet expects 2 outputs (heatmap, boxes), got 1");
    int ranks[2] = {4, 3};
    assert_int_equal(vs_detect_check_outputs(m, (const int64_t(*)[4])good, ranks, 2, &err),
                     VS_EMODEL);
    assert_non_null(strstr(err.msg, "output 1 has shape [1,4,8]"));
    free(scratch);
    free(m);
}

/* Brute force: every value equal to its 3x3 SAME max-pool, sorted by score
 * then NHWC index, first K. Checks the fast scan on large random maps. */
typedef struct ref_peak {
    float score;
    long order;
} ref_peak;

static int ref_cmp(const void *a, const void *b)
{
    const ref_peak *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void test_centernet_matches_brute_force(void **state)
{
    (void)state;
    enum { C = 5, H = 40, W = 37, K = 100 };
    vs_manifest *m = manifest_from(
        "{\"name\":\"cn\",\"file\":\"cn.pt\",\"input\":{\"width\":148,\"height\":160},"
        "\"decoder\":\"centernet\",\"labels\":\"l\",\"classes\":5,\"conf\":0.3,\"iou\":1.0}");
    float *heat = malloc(sizeof(float) * C * H * W), *boxes = calloc(4 * H * W, sizeof(float));
    ref_peak *ref = malloc(sizeof *ref * C * H * W);
    void *scratch = malloc(vs_detect_scratch_size(m, NULL));
    vs_detection out[VS_MAX_DETECTIONS];
    unsigned seed = 12345;
    for (int round = 0; round < 20; round++) {
        /* Coarse values (multiples of 1/16) make plateaus and ties common. */
        for (int i = 0; i < C * H * W; i++) {
            seed = seed * 1103515245u + 12345u;
            heat[i] = (float)((seed >> 16) % 17) / 16.0f * (round % 2 ? 1.0f : 0.6f);
        }
        int n = 0;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float v = heat[(c * H + y) * W + x], max = v;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++) {
                            int nx = x + dx, ny = y + dy;
                            if (nx >= 0 && nx < W && ny >= 0 && ny < H &&
                                heat[(c * H + ny) * W + nx] > max)
                                max = heat[(c * H + ny) * W + nx];
                        }
                    if (v == max && v > 0.3f)
                        ref[n++] = (ref_peak){v, ((long)y * W + x) * C + c};
                }
        qsort(ref, (size_t)n, sizeof *ref, ref_cmp);
        const float *outputs[2] = {heat, boxes};
        int64_t shapes[2][4] = {{1, C, H, W}, {1, 4, H, W}};
        int count =
            vs_detect_frame(m, outputs, (const int64_t(*)[4])shapes, 2, 0, NULL, scratch, out);
        assert_int_equal(count, n < K ? n : K);
        for (int i = 0; i < count; i++) {
            long cell = ref[i].order / C;
            assert_float_equal(out[i].score, ref[i].score, 0);
            assert_int_equal(out[i].class_id, ref[i].order % C);
            assert_float_equal(out[i].x1, 4.0f * (cell % W), 0);
            assert_float_equal(out[i].y1, 4.0f * (cell / W), 0);
        }
    }
    free(scratch);
    free(ref);
    free(boxes);
    free(heat);
    free(m);
}

/* The tiny_centernet test model of models/README.md, decoded from its table:
 * 80 classes, 16x16 cells, every cell's box distances 4,4,4,4 unless listed. */
static void test_centernet_tiny_model_table(void **state)
{
    (void)state;
    enum { C = 80, G = 16 };
    vs_manifest *m = manifest_from(
        "{\"name\":\"tiny_centernet\",\"file\":\"t.pt\",\"input\":{\"width\":64,\"height\":64},"
        "\"decoder\":\"centernet\",\"labels\":\"l\",\"classes\":80,\"conf\":0.2,\"iou\":0.4,"
        "\"class_agnostic_nms\":true}");
    float *heat = calloc(C * G * G, sizeof(float)), *boxes = malloc(4 * G * G * sizeof(float));
    for (int i = 0; i < 4 * G * G; i++)
        boxes[i] = 4;
    const struct {
        int c, x, y;
        float score, l, t, r, b;
    } cells[] = {
        {0, 4, 4, 0.72f, 4, 4, 4, 4},     {0, 5, 4, 0.63f, 4, 4, 4, 4},
        {2, 12, 4, 0.60f, 8, 4, 8, 4},    {7, 12, 4, 0.40f, 8, 4, 8, 4},
        {79, 8, 12, 0.40f, 10, 6, 10, 6}, {1, 8, 12, 0.30f, 10, 6, 10, 6},
        {5, 2, 14, 0.09f, 4, 4, 4, 4},
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        heat[(cells[i].c * G + cells[i].y) * G + cells[i].x] = cells[i].score;
        float d[4] = {cells[i].l, cells[i].t, cells[i].r, cells[i].b};
        for (int k = 0; k < 4; k++)
            boxes[(k * G + cells[i].y) * G + cells[i].x] = d[k];
    }
    const float *outputs[2] = {heat, boxes};
    int64_t shapes[2][4] = {{1, C, G, G}, {1, 4, G, G}};
    void *scratch = malloc(vs_detect_scratch_size(m, shapes[0]));
    vs_detection out[VS_MAX_DETECTIONS];
    int count = vs_detect_frame(m, outputs, (const int64_t(*)[4])shapes, 2, 0, NULL, scratch, out);
    assert_int_equal(count, 3);
    assert_det(&out[0], 12, 12, 20, 20, 0.72f, 0);
    assert_det(&out[1], 40, 12, 56, 20, 0.60f, 2);
    assert_det(&out[2], 22, 42, 42, 54, 0.40f, 79);
    free(scratch);
    free(boxes);
    free(heat);
    free(m);
}

/* ---- YOLOv5 ---------------------------------------------------------- */

#define YOLO_JSON(decoder, classes)                                                                \
    "{\"name\":\"y\",\"file\":\"y.pt\",\"input\":{\"width\":64,\"height\":64,"                     \
    "\"resize\":\"letterbox\"},\"decoder\":\"" decoder "\",\"labels\":\"l\",\"classes\":" classes  \
    ",\"conf\":0.25,\"iou\":0.45}"

static int run_yolo(const vs_manifest *m, const float *data, const int64_t shape[4], int frame,
                    const vs_detect_params *params, vs_detection *out)
{
    const float *outputs[1] = {data};
    int64_t shapes[1][4];
    memcpy(shapes[0], shape, sizeof shapes[0]);
    void *scratch = malloc(vs_detect_scratch_size(m, shape));
    assert_non_null(scratch);
    int count =
        vs_detect_frame(m, outputs, (const int64_t(*)[4])shapes, 1, frame, params, scratch, out);
    free(scratch);
    return count;
}

static void test_yolov5_rows(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(YOLO_JSON("yolov5", "3"));
    /* cx, cy, w, h, obj, cls0, cls1, cls2 */
    const float rows[5 * 8] = {
        10,    20, 4,  6,  0.9f, 0.1f, 0.8f, 0.3f,  /* 0.72 class 1, box (8,17,12,23) */
        30,    30, 4,  4,  0.1f, 1.0f, 1.0f, 1.0f,  /* objectness below conf */
        40,    40, 10, 20, 0.8f, 0.5f, 0.2f, 0.5f,  /* tie: class 0 wins, 0.4, (35,30,45,50) */
        10.5f, 20, 4,  6,  0.7f, 0,    0.9f, 0,     /* 0.63 class 1, IoU 21/27 with row 0 */
        50,    10, 2,  2,  0.5f, 0.4f, 0.4f, 0.45f, /* 0.225 < 0.25 */
    };
    int64_t shape[4] = {1, 5, 8, 0};
    vs_detection out[VS_MAX_DETECTIONS];
    int count = run_yolo(m, rows, shape, 0, NULL, out);
    assert_int_equal(count, 2);
    assert_det(&out[0], 8, 17, 12, 23, 0.72f, 1);
    assert_det(&out[1], 35, 30, 45, 50, 0.4f, 0);

    /* IoU 0.9: row 3 survives. */
    vs_detect_params p = {0.25f, 0.9f, 100, 0, NULL};
    count = run_yolo(m, rows, shape, 0, &p, out);
    assert_int_equal(count, 3);
    assert_det(&out[1], 8.5f, 17, 12.5f, 23, 0.63f, 1);

    /* Filter class 1 out: row 0 and 3 dropped, not re-labelled as another class. */
    uint8_t allowed[3] = {1, 0, 1};
    p.class_allowed = allowed;
    count = run_yolo(m, rows, shape, 0, &p, out);
    assert_int_equal(count, 1);
    assert_det(&out[0], 35, 30, 45, 50, 0.4f, 0);

    /* Wrong width of a row. */
    int64_t bad[4] = {1, 5, 7, 0};
    assert_int_equal(run_yolo(m, rows, bad, 0, NULL, out), VS_EMODEL);
    free(m);
}

static void test_yolov5_batch_and_cap(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(YOLO_JSON("yolov5", "1"));
    enum { A = 50 };
    float *data = calloc(2 * A * 6, sizeof(float));
    /* Frame 1: 50 disjoint boxes, scores 0.50 .. 0.99. */
    for (int a = 0; a < A; a++) {
        float *r = data + (A + a) * 6;
        r[0] = 5.0f + 12 * a;
        r[1] = 5;
        r[2] = r[3] = 10;
        r[4] = 0.5f + 0.01f * a;
        r[5] = 1;
    }
    int64_t shape[4] = {2, A, 6, 1};
    vs_detection out[VS_MAX_DETECTIONS];
    assert_int_equal(run_yolo(m, data, shape, 0, NULL, out), 0);
    assert_int_equal(run_yolo(m, data, shape, 1, NULL, out), A);
    assert_float_equal(out[0].score, 0.99f, EPS);
    vs_detect_params p = {0.25f, 0.45f, 3, 0, NULL};
    assert_int_equal(run_yolo(m, data, shape, 1, &p, out), 3);
    assert_float_equal(out[2].score, 0.97f, EPS);
    assert_det(&out[0], 588, 0, 598, 10, 0.99f, 0);
    free(data);
    free(m);
}

static void test_yolo_max_detections_out_of_range(void **state)
{
    (void)state;
    /* 150 disjoint boxes; max_detections above the limit means the limit. */
    vs_manifest *m = manifest_from(YOLO_JSON("yolov5", "1"));
    enum { A = 150 };
    float *data = calloc(A * 6, sizeof(float));
    for (int a = 0; a < A; a++) {
        float *r = data + a * 6;
        r[0] = 20.0f * a;
        r[2] = r[3] = 5;
        r[4] = r[5] = 1;
    }
    int64_t shape[4] = {1, A, 6, 0};
    vs_detection out[VS_MAX_DETECTIONS];
    vs_detect_params p = {0.25f, 0.45f, 1000, 0, NULL};
    assert_int_equal(run_yolo(m, data, shape, 0, &p, out), VS_MAX_DETECTIONS);
    free(data);
    free(m);
}

/* ---- YOLOv8 ---------------------------------------------------------- */

static void test_yolov8_columns(void **state)
{
    (void)state;
    vs_manifest *m = manifest_from(YOLO_JSON("yolov8", "2"));
    /* 3 anchors, rows: cx, cy, w, h, class 0, class 1. */
    const float data[6 * 3] = {
        10,   40,   30,   /* cx */
        10,   40,   30,   /* cy */
        4,    8,    2,    /* w */
        2,    8,    2,    /* h */
        0.3f, 0.1f, 0.2f, /* class 0 */
        0.6f, 0.9f, 0.2f, /* class 1 */
    };
    /* anchor 0: class 1, 0.6, (8,9,12,11); anchor 1: class 1, 0.9, (36,36,44,44);
     * anchor 2: best 0.2 (tie, class 0) < conf. */
    int64_t shape[4] = {1, 6, 3, 0};
    vs_detection out[VS_MAX_DETECTIONS];
    int count = run_yolo(m, data, shape, 0, NULL, out);
    assert_int_equal(count, 2);
    assert_det(&out[0], 36, 36, 44, 44, 0.9f, 1);
    assert_det(&out[1], 8, 9, 12, 11, 0.6f, 1);

    uint8_t allowed[2] = {1, 0};
    vs_detect_params p = {0.25f, 0.45f, 100, 0, allowed};
    assert_int_equal(run_yolo(m, data, shape, 0, &p, out), 0);
    p.conf = 0.2f; /* anchor 2 scores exactly 0.2: not above */
    p.class_allowed = NULL;
    assert_int_equal(run_yolo(m, data, shape, 0, &p, out), 2);
    p.conf = 0.19f;
    count = run_yolo(m, data, shape, 0, &p, out);
    assert_int_equal(count, 3);
    assert_det(&out[2], 29, 29, 31, 31, 0.2f, 0);

    int64_t transposed[4] = {1, 3, 6, 0}; /* the YOLOv5 layout fed to a v8 manifest */
    assert_int_equal(run_yolo(m, data, transposed, 0, NULL, out), VS_EMODEL);
    vs_error err = {{0}};
    int64_t shapes[1][4] = {{1, 3, 6, 0}};
    assert_int_equal(vs_detect_check_outputs(m, (const int64_t(*)[4])shapes, NULL, 1, &err),
                     VS_EMODEL);
    assert_string_equal(err.msg, "y.pt: output 0 has shape [1,3,6], decoder yolov8 expects "
                                 "[N,6,A] (4 + 2 classes, A anchors)");
    free(m);
}

static void test_scratch_size(void **state)
{
    (void)state;
    vs_manifest *v5 = manifest_from(YOLO_JSON("yolov5", "80"));
    vs_manifest *v8 = manifest_from(YOLO_JSON("yolov8", "80"));
    int64_t v5_shape[4] = {1, 25200, 85, 0}, v8_shape[4] = {1, 84, 8400, 0};
    assert_true(vs_detect_scratch_size(v5, v5_shape) >= 25200 * sizeof(vs_detection));
    assert_true(vs_detect_scratch_size(v8, v8_shape) >= 8400 * (sizeof(vs_detection) + 8));
    /* Without a shape: the standard heads for 64x64 are 64 + 16 + 4 cells. */
    assert_true(vs_detect_scratch_size(v5, NULL) >= 3 * 84 * sizeof(vs_detection));
    assert_true(vs_detect_scratch_size(v8, NULL) >= 84 * sizeof(vs_detection));
    free(v5);
    free(v8);
}

/* ---- geometry -------------------------------------------------------- */

static void test_letterbox_geometry(void **state)
{
    (void)state;
    vs_letterbox g = vs_letterbox_for(1280, 720, 640, 640, VS_RESIZE_LETTERBOX);
    assert_float_equal(g.scale_x, 0.5f, EPS);
    assert_float_equal(g.scale_y, 0.5f, EPS);
    assert_float_equal(g.pad_x, 0, 0);
    assert_float_equal(g.pad_y, 140, 0);
    assert_int_equal(g.resized_w, 640);
    assert_int_equal(g.resized_h, 360);

    /* Portrait. */
    g = vs_letterbox_for(720, 1280, 640, 640, VS_RESIZE_LETTERBOX);
    assert_float_equal(g.pad_x, 140, 0);
    assert_float_equal(g.pad_y, 0, 0);

    /* 100x30 into 64x64: scale 0.64, height round(19.2) = 19, padding 45 split 22 + 23. */
    g = vs_letterbox_for(100, 30, 64, 64, VS_RESIZE_LETTERBOX);
    assert_int_equal(g.resized_w, 64);
    assert_int_equal(g.resized_h, 19);
    assert_float_equal(g.pad_y, 22, 0);
    assert_float_equal(g.scale_y, 19.0f / 30.0f, EPS);
    /* The preprocess rounds src * scale back to the resized size. */
    assert_int_equal((int)(30 * g.scale_y + 0.5f), 19);
    assert_int_equal((int)(100 * g.scale_x + 0.5f), 64);

    g = vs_letterbox_for(1920, 1080, 512, 512, VS_RESIZE_STRETCH);
    assert_float_equal(g.scale_x, 512.0f / 1920.0f, EPS);
    assert_float_equal(g.scale_y, 512.0f / 1080.0f, EPS);
    assert_float_equal(g.pad_x, 0, 0);
    assert_float_equal(g.pad_y, 0, 0);

    /* Degenerate source: identity, never a division by zero. */
    g = vs_letterbox_for(0, 0, 512, 512, VS_RESIZE_LETTERBOX);
    assert_float_equal(g.scale_x, 1, 0);
}

static void test_to_source_round_trip(void **state)
{
    (void)state;
    const struct {
        int w, h, in_w, in_h;
        vs_resize_mode mode;
    } cases[] = {
        {1280, 720, 640, 640, VS_RESIZE_LETTERBOX}, {720, 1280, 640, 640, VS_RESIZE_LETTERBOX},
        {1920, 1080, 512, 512, VS_RESIZE_STRETCH},  {333, 777, 512, 320, VS_RESIZE_LETTERBOX},
        {640, 480, 640, 640, VS_RESIZE_LETTERBOX},  {100, 30, 64, 64, VS_RESIZE_STRETCH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vs_letterbox g =
            vs_letterbox_for(cases[i].w, cases[i].h, cases[i].in_w, cases[i].in_h, cases[i].mode);
        /* A source box, forward to input pixels, back again. */
        float sx1 = cases[i].w * 0.1f, sy1 = cases[i].h * 0.2f;
        float sx2 = cases[i].w * 0.7f, sy2 = cases[i].h * 0.9f;
        vs_detection d = box(sx1 * g.scale_x + g.pad_x, sy1 * g.scale_y + g.pad_y,
                             sx2 * g.scale_x + g.pad_x, sy2 * g.scale_y + g.pad_y, 0.5f, 3);
        vs_detect_to_source(&d, 1, &g, cases[i].w, cases[i].h);
        float tolerance = 1e-3f * (cases[i].w > cases[i].h ? cases[i].w : cases[i].h);
        assert_float_equal(d.x1, sx1, tolerance);
        assert_float_equal(d.y1, sy1, tolerance);
        assert_float_equal(d.x2, sx2, tolerance);
        assert_float_equal(d.y2, sy2, tolerance);
        assert_float_equal(d.score, 0.5f, 0);
        assert_int_equal(d.class_id, 3);
    }
}

static void test_to_source_letterbox_values_and_clamp(void **state)
{
    (void)state;
    vs_letterbox g = vs_letterbox_for(1280, 720, 640, 640, VS_RESIZE_LETTERBOX);
    vs_detection d[3] = {
        box(100, 190, 200, 240, 0.9f, 0), /* (200, 100, 400, 200) */
        box(-10, 100, 700, 150, 0.8f, 1), /* x clamps to 0..1280; y in top padding: 0 */
        box(10, 600, 20, 650, 0.7f, 2),   /* below the picture: y clamps to 720 */
    };
    vs_detect_to_source(d, 3, &g, 1280, 720);
    assert_det(&d[0], 200, 100, 400, 200, 0.9f, 0);
    assert_det(&d[1], 0, 0, 1280, 20, 0.8f, 1);
    assert_det(&d[2], 20, 720, 40, 720, 0.7f, 2);

    vs_detection nan_box = box(NAN, 0, 10, NAN, 0.5f, 0);
    vs_detect_to_source(&nan_box, 1, &g, 1280, 720);
    assert_true(nan_box.x1 >= 0 && nan_box.x1 <= 1280);
    assert_true(nan_box.y2 >= 0 && nan_box.y2 <= 720);
}

/* The model saw the picture upright; boxes go back into coded pixels. A
 * coded 640x360 picture, shown turned by 90/180/270 degrees clockwise, and
 * the box (10, 20)-(110, 220) in shown pixels (stretch at scale 1). */
static void test_to_source_rotated(void **state)
{
    (void)state;
    const struct {
        int rotation;
        float x1, y1, x2, y2; /* expected, coded pixels */
    } cases[] = {
        {0, 10, 20, 110, 220},
        {90, 20, 250, 220, 350},   /* shown (x, y) is coded (y, 360 - x) */
        {180, 530, 140, 630, 340}, /* shown (x, y) is coded (640 - x, 360 - y) */
        {270, 420, 10, 620, 110},  /* shown (x, y) is coded (640 - y, x) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int quarter = cases[i].rotation % 180 != 0;
        int shown_w = quarter ? 360 : 640, shown_h = quarter ? 640 : 360;
        vs_letterbox g = vs_letterbox_for(shown_w, shown_h, shown_w, shown_h, VS_RESIZE_STRETCH);
        g.rotation = cases[i].rotation;
        vs_detection d = box(10, 20, 110, 220, 0.5f, 1);
        vs_detect_to_source(&d, 1, &g, 640, 360);
        assert_det(&d, cases[i].x1, cases[i].y1, cases[i].x2, cases[i].y2, 0.5f, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iou_values),
        cmocka_unit_test(test_nms_same_class_suppressed),
        cmocka_unit_test(test_nms_threshold_is_strict),
        cmocka_unit_test(test_nms_class_aware_keeps_other_class),
        cmocka_unit_test(test_nms_agnostic_suppresses_other_class),
        cmocka_unit_test(test_nms_suppressed_box_does_not_suppress),
        cmocka_unit_test(test_nms_max_keep_and_order),
        cmocka_unit_test(test_nms_ties_are_deterministic),
        cmocka_unit_test(test_nms_nan_score_ranks_last),
        cmocka_unit_test(test_centernet_peaks_and_boxes),
        cmocka_unit_test(test_centernet_conf_is_exclusive),
        cmocka_unit_test(test_centernet_top_k_and_cap),
        cmocka_unit_test(test_centernet_nms_and_class_filter),
        cmocka_unit_test(test_centernet_shape_mismatch),
        cmocka_unit_test(test_centernet_matches_brute_force),
        cmocka_unit_test(test_centernet_tiny_model_table),
        cmocka_unit_test(test_yolov5_rows),
        cmocka_unit_test(test_yolov5_batch_and_cap),
        cmocka_unit_test(test_yolo_max_detections_out_of_range),
        cmocka_unit_test(test_yolov8_columns),
        cmocka_unit_test(test_scratch_size),
        cmocka_unit_test(test_letterbox_geometry),
        cmocka_unit_test(test_to_source_round_trip),
        cmocka_unit_test(test_to_source_letterbox_values_and_clamp),
        cmocka_unit_test(test_to_source_rotated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
