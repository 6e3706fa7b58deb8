/* detect.c: model outputs to boxes. Decoders (CenterNet, YOLOv5, YOLOv8),
 * greedy non-maximum suppression, and the geometry between source frames and
 * model input.
 *
 * Runs once per analysed frame on the postprocess thread, so it must never
 * allocate, lock or keep state: everything it needs beyond the outputs lives
 * in the caller's scratch (vs_detect_scratch_size). It never sorts with
 * qsort either, because glibc's qsort may call malloc.
 *
 * Thresholds follow the reference implementations: a candidate needs a
 * score strictly above conf (TF.js nonMaxSuppression's scoreThreshold,
 * YOLOv5/v8's `> conf_thres`), and NMS drops a box whose IoU with a better
 * kept one is strictly above iou (TF.js keeps `iou <= iouThreshold`;
 * torchvision's nms discards `> iou_threshold`).
 *
 * Ordering is deterministic: candidates are ranked by score, and ties are
 * broken by a key that does not depend on the order of the scan (the
 * reference's flattening order for CenterNet, the box itself for NMS), so a
 * run gives the same boxes on any machine and with any thread count. */
#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- geometry -------------------------------------------------------- */

float vs_iou(const vs_detection *a, const vs_detection *b)
{
    /* Corners are normalised so that a flipped box still has its true area,
     * as TensorFlow's NMS (the CenterNet reference) does. */
    float ax1 = fminf(a->x1, a->x2), ax2 = fmaxf(a->x1, a->x2);
    float ay1 = fminf(a->y1, a->y2), ay2 = fmaxf(a->y1, a->y2);
    float bx1 = fminf(b->x1, b->x2), bx2 = fmaxf(b->x1, b->x2);
    float by1 = fminf(b->y1, b->y2), by2 = fmaxf(b->y1, b->y2);
    float iw = fminf(ax2, bx2) - fmaxf(ax1, bx1);
    float ih = fminf(ay2, by2) - fmaxf(ay1, by1);
    if (!(iw > 0.0f) || !(ih > 0.0f))
        return 0.0f;
    float inter = iw * ih;
    float uni = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
    if (!(uni > 0.0f))
        return 0.0f;
    return inter / uni;
}

vs_letterbox vs_letterbox_for(int src_w, int src_h, int in_w, int in_h, vs_resize_mode mode)
{
    vs_letterbox box = {1.0f, 1.0f, 0.0f, 0.0f, in_w, in_h, 0};
    if (src_w <= 0 || src_h <= 0 || in_w <= 0 || in_h <= 0)
        return box; /* nothing sensible to map; identity keeps callers safe */
    if (mode != VS_RESIZE_LETTERBOX) {
        box.scale_x = (float)((double)in_w / src_w);
        box.scale_y = (float)((double)in_h / src_h);
        return box;
    }
    /* Same rule as the YOLO exporters' letterbox: one scale for both axes,
     * the resized picture rounded to whole pixels (ties to even, like
     * Python's round), padding split evenly with the odd pixel on the
     * right/bottom. The scales reported are those of the whole-pixel resize,
     * so mapping back is exact rather than off by the rounding. */
    double scale = fmin((double)in_w / src_w, (double)in_h / src_h);
    int resized_w = (int)nearbyint(src_w * scale), resized_h = (int)nearbyint(src_h * scale);
    resized_w = resized_w < 1 ? 1 : resized_w > in_w ? in_w : resized_w;
    resized_h = resized_h < 1 ? 1 : resized_h > in_h ? in_h : resized_h;
    box.resized_w = resized_w;
    box.resized_h = resized_h;
    box.scale_x = (float)((double)resized_w / src_w);
    box.scale_y = (float)((double)resized_h / src_h);
    box.pad_x = (float)((in_w - resized_w) / 2);
    box.pad_y = (float)((in_h - resized_h) / 2);
    return box;
}

static float clampf(float value, float hi)
{
    /* fmaxf/fminf turn a NaN coordinate into an edge instead of passing it on. */
    return fminf(fmaxf(value, 0.0f), hi);
}

/* Turns a box in displayed pixels (display_w x display_h) back into coded
 * pixels; rotation is the clockwise turn a player applies to the coded
 * picture (for 90: displayed x = coded height - coded y, displayed y = coded x). */
static void unrotate(vs_detection *d, int rotation, float display_w, float display_h)
{
    float x1 = d->x1, y1 = d->y1, x2 = d->x2, y2 = d->y2;
    if (rotation == 90) {
        d->x1 = y1, d->x2 = y2, d->y1 = display_w - x2, d->y2 = display_w - x1;
    } else if (rotation == 180) {
        d->x1 = display_w - x2, d->x2 = display_w - x1;
        d->y1 = display_h - y2, d->y2 = display_h - y1;
    } else if (rotation == 270) {
        d->x1 = display_h - y2, d->x2 = display_h - y1, d->y1 = x1, d->y2 = x2;
    }
}

void vs_detect_to_source(vs_detection *dets, int count, const vs_letterbox *box, int src_w,
                         int src_h)
{
    int quarter = box->rotation == 90 || box->rotation == 270;
    float w = (float)(src_w > 0 ? src_w : 0), h = (float)(src_h > 0 ? src_h : 0);
    if (quarter) {
        float swap = w;
        w = h;
        h = swap;
    }
    for (int i = 0; i < count; i++) {
        vs_detection *d = &dets[i];
        d->x1 = clampf((d->x1 - box->pad_x) / box->scale_x, w);
        d->x2 = clampf((d->x2 - box->pad_x) / box->scale_x, w);
        d->y1 = clampf((d->y1 - box->pad_y) / box->scale_y, h);
        d->y2 = clampf((d->y2 - box->pad_y) / box->scale_y, h);
        unrotate(d, box->rotation, w, h);
    }
}

/* ---- ranking and NMS ------------------------------------------------- */

/* NaN ranks below everything so that a broken output cannot reorder real boxes. */
static float rank_score(float score)
{
    return score == score ? score : -INFINITY;
}

/* Total order for NMS: higher score first; ties by class, then position, so
 * the result does not depend on how the candidates were produced. */
static int ranks_before(const vs_detection *a, const vs_detection *b)
{
    float sa = rank_score(a->score), sb = rank_score(b->score);
    if (sa != sb)
        return sa > sb;
    if (a->class_id != b->class_id)
        return a->class_id < b->class_id;
    if (a->y1 != b->y1)
        return a->y1 < b->y1;
    if (a->x1 != b->x1)
        return a->x1 < b->x1;
    if (a->y2 != b->y2)
        return a->y2 < b->y2;
    return a->x2 < b->x2;
}

/* Heap sort, best first: O(n log n), in place, no allocation. The heap keeps
 * the worst candidate at the root; moving the root to the end each round
 * leaves the array ordered best first. */
static void sift_down_dets(vs_detection *dets, int root, int count)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && ranks_before(&dets[child], &dets[child + 1]))
            child++;
        if (!ranks_before(&dets[root], &dets[child]))
            return;
        vs_detection tmp = dets[root];
        dets[root] = dets[child];
        dets[child] = tmp;
        root = child;
    }
}

static void sort_dets(vs_detection *dets, int count)
{
    for (int i = count / 2 - 1; i >= 0; i--)
        sift_down_dets(dets, i, count);
    for (int end = count - 1; end > 0; end--) {
        vs_detection tmp = dets[0];
        dets[0] = dets[end];
        dets[end] = tmp;
        sift_down_dets(dets, 0, end);
    }
}

/* Greedy suppression over candidates already ranked best first: a box
 * survives unless it overlaps a better survivor by more than iou. Survivors
 * are compacted to the front; kept <= i, so the write never overtakes the
 * read. */
static int nms_ranked(vs_detection *dets, int count, float iou, int class_agnostic, int max_keep)
{
    int kept = 0;
    for (int i = 0; i < count && kept < max_keep; i++) {
        vs_detection candidate = dets[i];
        int suppressed = 0;
        for (int j = 0; j < kept && !suppressed; j++)
            if ((class_agnostic || dets[j].class_id == candidate.class_id) &&
                vs_iou(&dets[j], &candidate) > iou)
                suppressed = 1;
        if (!suppressed)
            dets[kept++] = candidate;
    }
    return kept;
}

int vs_nms(vs_detection *dets, int count, float iou, int class_agnostic, int max_keep)
{
    if (count <= 0)
        return 0;
    if (max_keep <= 0 || max_keep > count)
        max_keep = count;
    sort_dets(dets, count);
    return nms_ranked(dets, count, iou, class_agnostic, max_keep);
}

/* ---- scratch layout -------------------------------------------------- */

/* A CenterNet top-K entry. `order` is the position of the value in the
 * reference's NHWC flattening ((y * W + x) * C + c): TensorFlow's top_k
 * prefers the lower index among equal scores, and so do we. */
typedef struct peak {
    float score;
    int64_t order;
} peak;

/* Every region starts on a 16-byte boundary (malloc gives at least that). */
static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* YOLO anchors in one frame's output; 0 when the shape is unknown. */
static int64_t yolo_anchors(const vs_manifest *m, const int64_t *shape)
{
    if (shape)
        return m->decoder == VS_DECODER_YOLOV5 ? shape[1] : shape[2];
    /* The standard heads: strides 8, 16 and 32; YOLOv5 has 3 anchors per cell. */
    int64_t cells = 0;
    for (int s = 8; s <= 32; s *= 2)
        cells += (int64_t)((m->input_width + s - 1) / s) * ((m->input_height + s - 1) / s);
    return m->decoder == VS_DECODER_YOLOV5 ? 3 * cells : cells;
}

size_t vs_detect_scratch_size(const vs_manifest *manifest, const int64_t *output_shape)
{
    if (manifest->decoder == VS_DECODER_CENTERNET) {
        size_t k = VS_MAX_DETECTIONS;
        return align16(k * sizeof(peak)) + align16(k * sizeof(vs_detection));
    }
    int64_t anchors = yolo_anchors(manifest, output_shape);
    if (anchors < 1)
        anchors = 1;
    size_t n = (size_t)anchors;
    size_t size = align16(n * sizeof(vs_detection));
    if (manifest->decoder == VS_DECODER_YOLOV8)
        size += align16(n * sizeof(float)) + align16(n * sizeof(int32_t));
    return size;
}

/* ---- output checks --------------------------------------------------- */

static void format_shape(char *buf, size_t size, const int64_t *shape, int rank)
{
    size_t used = 0;
    buf[0] = 0;
    for (int d = 0; d < rank && used < size; d++) {
        int n = snprintf(buf + used, size - used, "%s%lld", d ? "," : "[", (long long)shape[d]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* The shape rules, shared by the one-time check (with a message) and the
 * per-frame guard (without). Returns NULL when the outputs fit, else what
 * was expected. ranks may be NULL: 3-D outputs then ignore shape[3]. */
static const char *outputs_problem(const vs_manifest *m, const int64_t (*shapes)[4],
                                   const int *ranks, int output_count, int *bad_output,
                                   char *expected, size_t size)
{
    *bad_output = 0;
    if (m->decoder == VS_DECODER_CENTERNET) {
        int64_t h = m->input_height / m->stride, w = m->input_width / m->stride;
        if (output_count != 2) {
            snprintf(expected, size, "2 outputs (heatmap, boxes), got %d", output_count);
            *bad_output = -1;
            return expected;
        }
        for (int i = 0; i < 2; i++) {
            int64_t channels = i == 0 ? m->classes : 4;
            if ((ranks && ranks[i] != 4) || shapes[i][0] < 1 || shapes[i][1] != channels ||
                shapes[i][2] != h || shapes[i][3] != w || shapes[i][0] != shapes[0][0]) {
                snprintf(expected, size, "%s [N,%lld,%lld,%lld] (%s)", i == 0 ? "heatmap" : "boxes",
                         (long long)channels, (long long)h, (long long)w,
                         i == 0 ? "classes, input / stride" : "4 box values, input / stride");
                *bad_output = i;
                return expected;
            }
        }
        return NULL;
    }
    if (output_count != 1) {
        snprintf(expected, size, "1 output, got %d", output_count);
        *bad_output = -1;
        return expected;
    }
    const int64_t *s = shapes[0];
    int yolov5 = m->decoder == VS_DECODER_YOLOV5;
    int64_t values = yolov5 ? 5 + m->classes : 4 + m->classes;
    int64_t anchors = yolov5 ? s[1] : s[2];
    int64_t per_anchor = yolov5 ? s[2] : s[1];
    if ((ranks && ranks[0] != 3) || s[0] < 1 || anchors < 1 || per_anchor != values ||
        anchors > (int64_t)1 << 24) {
        snprintf(expected, size,
                 yolov5 ? "[N,A,%lld] (A anchors of 5 + %d classes)"
                        : "[N,%lld,A] (4 + %d classes, A anchors)",
                 (long long)values, m->classes);
        return expected;
    }
    return NULL;
}

int vs_detect_check_outputs(const vs_manifest *manifest, const int64_t (*shapes)[4],
                            const int *ranks, int output_count, vs_error *err)
{
    char expected[160];
    int bad;
    if (output_count < 0 || output_count > 4)
        return vs_fail(err, VS_EMODEL, "%s: %d outputs, decoder %s cannot use them",
                       manifest->model_path, output_count, vs_decoder_name(manifest->decoder));
    if (!outputs_problem(manifest, shapes, ranks, output_count, &bad, expected, sizeof expected))
        return VS_OK;
    if (bad < 0)
        return vs_fail(err, VS_EMODEL, "%s: decoder %s expects %s", manifest->model_path,
                       vs_decoder_name(manifest->decoder), expected);
    char got[96];
    int rank = ranks ? ranks[bad] : (manifest->decoder == VS_DECODER_CENTERNET ? 4 : 3);
    format_shape(got, sizeof got, shapes[bad], rank < 0 ? 0 : rank > 4 ? 4 : rank);
    return vs_fail(err, VS_EMODEL, "%s: output %d has shape %s, decoder %s expects %s",
                   manifest->model_path, bad, got, vs_decoder_name(manifest->decoder), expected);
}

/* ---- CenterNet ------------------------------------------------------- */

/* The box of a CenterNet peak at grid cell (gx, gy) from the four values of
 * the boxes map at that cell: distances in input pixels to the left, top,
 * right and bottom edges, measured from the cell's position stride * (gx, gy).
 * This is the graph's own gather (tower_0/wh at the peak) as the converter
 * documents it (models/convert_centernet.py, models/centernet_decode.py
 * decode_topk). Every CenterNet box goes through this one function. */
static void centernet_box(int stride, int gx, int gy, const float b[4], vs_detection *d)
{
    float cx = (float)(stride * gx), cy = (float)(stride * gy);
    d->x1 = cx - b[0];
    d->y1 = cy - b[1];
    d->x2 = cx + b[2];
    d->y2 = cy + b[3];
}

/* Min-heap on rank: the root is the worst of the best K seen so far. */
static int peak_worse(const peak *a, const peak *b)
{
    return a->score < b->score || (a->score == b->score && a->order > b->order);
}

static void peak_sift_down(peak *heap, int root, int count)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && peak_worse(&heap[child + 1], &heap[child]))
            child++;
        if (!peak_worse(&heap[child], &heap[root]))
            return;
        peak tmp = heap[root];
        heap[root] = heap[child];
        heap[child] = tmp;
        root = child;
    }
}

static void peak_offer(peak *heap, int *count, int capacity, float score, int64_t order)
{
    peak p = {score, order};
    if (*count < capacity) {
        /* Sift up. */
        int at = (*count)++;
        while (at > 0) {
            int parent = (at - 1) / 2;
            if (!peak_worse(&p, &heap[parent]))
                break;
            heap[at] = heap[parent];
            at = parent;
        }
        heap[at] = p;
    } else if (peak_worse(&heap[0], &p)) {
        heap[0] = p;
        peak_sift_down(heap, 0, *count);
    }
}

/* 3x3 max-pool peak with SAME padding: outside the map counts as -inf, so a
 * border cell needs only its in-map neighbours. Equal neighbours are both
 * peaks, exactly as `value == maxpool(value)` in the reference. */
static int is_peak(const float *plane, int w, int h, int x, int y, float value)
{
    int x0 = x > 0 ? x - 1 : x, x1 = x < w - 1 ? x + 1 : x;
    int y0 = y > 0 ? y - 1 : y, y1 = y < h - 1 ? y + 1 : y;
    for (int ny = y0; ny <= y1; ny++) {
        const float *row = plane + (size_t)ny * w;
        for (int nx = x0; nx <= x1; nx++)
            if (row[nx] > value)
                return 0;
    }
    return 1;
}

/* Scans one class plane for peaks with a score above conf. Most of the 1.3M
 * values of a frame are far below the threshold, so blocks of 16 are
 * rejected with one vectorisable comparison against `bar` before any
 * neighbour is read. */
static void centernet_scan_plane(const float *plane, int w, int h, int cls, int classes, float conf,
                                 peak *heap, int *count, int capacity)
{
    /* Once the heap is full a value must at least equal its worst entry (an
     * equal one can still win on the tie-break order): raise the bar. */
    float bar = conf;
    if (*count == capacity && heap[0].score > bar)
        bar = heap[0].score;
    for (int y = 0; y < h; y++) {
        const float *row = plane + (size_t)y * w;
        for (int x0 = 0; x0 < w; x0 += 16) {
            int n = w - x0 < 16 ? w - x0 : 16;
            int any = 0;
            if (n == 16) {
                for (int k = 0; k < 16; k++)
                    any |= row[x0 + k] >= bar;
            } else {
                for (int k = 0; k < n; k++)
                    any |= row[x0 + k] >= bar;
            }
            if (!any)
                continue;
            for (int k = 0; k < n; k++) {
                float value = row[x0 + k];
                if (!(value > conf) || !(value >= bar) || !is_peak(plane, w, h, x0 + k, y, value))
                    continue;
                int64_t order = ((int64_t)y * w + x0 + k) * classes + cls;
                peak_offer(heap, count, capacity, value, order);
                if (*count == capacity && heap[0].score > bar)
                    bar = heap[0].score;
            }
        }
    }
}

static int decode_centernet(const vs_manifest *m, const float *const *outputs,
                            const int64_t (*shapes)[4], int frame, float conf,
                            const uint8_t *allowed, void *scratch, vs_detection **dets_out)
{
    int classes = (int)shapes[0][1], h = (int)shapes[0][2], w = (int)shapes[0][3];
    size_t plane = (size_t)h * w;
    const float *heat = outputs[0] + (size_t)frame * classes * plane;
    const float *boxes = outputs[1] + (size_t)frame * 4 * plane;
    int capacity = m->max_detections;
    if (capacity < 1 || capacity > VS_MAX_DETECTIONS)
        capacity = VS_MAX_DETECTIONS;
    peak *heap = scratch;
    vs_detection *dets =
        (vs_detection *)((char *)scratch + align16(VS_MAX_DETECTIONS * sizeof(peak)));

    int count = 0;
    for (int c = 0; c < classes; c++)
        if (!allowed || allowed[c])
            centernet_scan_plane(heat + (size_t)c * plane, w, h, c, classes, conf, heap, &count,
                                 capacity);

    /* Pop the heap worst-first into the back of the list: best ends up first. */
    for (int i = count - 1; i >= 0; i--) {
        peak best_of_rest = heap[0];
        heap[0] = heap[i];
        peak_sift_down(heap, 0, i);
        int64_t cell = best_of_rest.order / classes;
        int cls = (int)(best_of_rest.order % classes);
        int gx = (int)(cell % w), gy = (int)(cell / w);
        float b[4];
        for (int k = 0; k < 4; k++)
            b[k] = boxes[(size_t)k * plane + (size_t)gy * w + gx];
        vs_detection *d = &dets[i];
        centernet_box(m->stride, gx, gy, b, d);
        if (d->x1 > d->x2) {
            float t = d->x1;
            d->x1 = d->x2;
            d->x2 = t;
        }
        if (d->y1 > d->y2) {
            float t = d->y1;
            d->y1 = d->y2;
            d->y2 = t;
        }
        d->score = best_of_rest.score;
        d->class_id = cls;
    }
    *dets_out = dets;
    return count;
}

/* ---- YOLO ------------------------------------------------------------ */

static void yolo_box(float cx, float cy, float bw, float bh, float score, int cls, vs_detection *d)
{
    /* Negative sizes would flip the box; the magnitude is what the head meant. */
    bw = fabsf(bw) * 0.5f;
    bh = fabsf(bh) * 0.5f;
    d->x1 = cx - bw;
    d->y1 = cy - bh;
    d->x2 = cx + bw;
    d->y2 = cy + bh;
    d->score = score;
    d->class_id = cls;
}

/* [N, A, 5+C]: one contiguous row per anchor. The best class is the argmax
 * over all classes (first on ties); a box whose best class is filtered out
 * is dropped, as in YOLOv5's own `classes=` filter, not re-labelled. */
static int decode_yolov5(const float *output, const int64_t *shape, int frame, float conf,
                         const uint8_t *allowed, int classes, vs_detection *dets)
{
    int64_t anchors = shape[1], values = shape[2];
    const float *rows = output + (size_t)frame * anchors * values;
    int count = 0;
    for (int64_t a = 0; a < anchors; a++) {
        const float *r = rows + a * values;
        float objectness = r[4];
        /* Class scores are at most 1, so objectness bounds the score. */
        if (!(objectness > conf))
            continue;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (r[5 + c] > r[5 + best])
                best = c;
        float score = objectness * r[5 + best];
        if (!(score > conf) || (allowed && !allowed[best]))
            continue;
        yolo_box(r[0], r[1], r[2], r[3], score, best, &dets[count++]);
    }
    return count;
}

/* [N, 4+C, A]: one row per value, anchors along it. Scanning row by row keeps
 * the reads contiguous (84 rows of 8400 floats rather than 8400 strided
 * walks); the running best per anchor lives in scratch. */
static int decode_yolov8(const float *output, const int64_t *shape, int frame, float conf,
                         const uint8_t *allowed, int classes, void *scratch, vs_detection *dets)
{
    int64_t anchors = shape[2];
    const float *rows = output + (size_t)frame * shape[1] * anchors;
    float *best_score =
        (float *)((char *)scratch + align16((size_t)anchors * sizeof(vs_detection)));
    int32_t *best_class =
        (int32_t *)((char *)best_score + align16((size_t)anchors * sizeof(float)));
    const float *first = rows + 4 * anchors;
    for (int64_t a = 0; a < anchors; a++) {
        best_score[a] = first[a];
        best_class[a] = 0;
    }
    for (int c = 1; c < classes; c++) {
        const float *row = rows + (4 + (int64_t)c) * anchors;
        for (int64_t a = 0; a < anchors; a++)
            if (row[a] > best_score[a]) {
                best_score[a] = row[a];
                best_class[a] = c;
            }
    }
    int count = 0;
    for (int64_t a = 0; a < anchors; a++) {
        if (!(best_score[a] > conf) || (allowed && !allowed[best_class[a]]))
            continue;
        yolo_box(rows[a], rows[anchors + a], rows[2 * anchors + a], rows[3 * anchors + a],
                 best_score[a], best_class[a], &dets[count++]);
    }
    return count;
}

/* ---- COCO category ids ----------------------------------------------- */

/* The 80 detection classes in id order: COCO numbers 91 categories and
 * leaves 11 ids unused (12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91). */
static const struct {
    int id;
    const char *name;
} coco_categories[] = {
    {1, "person"},         {2, "bicycle"},       {3, "car"},
    {4, "motorcycle"},     {5, "airplane"},      {6, "bus"},
    {7, "train"},          {8, "truck"},         {9, "boat"},
    {10, "traffic light"}, {11, "fire hydrant"}, {13, "stop sign"},
    {14, "parking meter"}, {15, "bench"},        {16, "bird"},
    {17, "cat"},           {18, "dog"},          {19, "horse"},
    {20, "sheep"},         {21, "cow"},          {22, "elephant"},
    {23, "bear"},          {24, "zebra"},        {25, "giraffe"},
    {27, "backpack"},      {28, "umbrella"},     {31, "handbag"},
    {32, "tie"},           {33, "suitcase"},     {34, "frisbee"},
    {35, "skis"},          {36, "snowboard"},    {37, "sports ball"},
    {38, "kite"},          {39, "baseball bat"}, {40, "baseball glove"},
    {41, "skateboard"},    {42, "surfboard"},    {43, "tennis racket"},
    {44, "bottle"},        {46, "wine glass"},   {47, "cup"},
    {48, "fork"},          {49, "knife"},        {50, "spoon"},
    {51, "bowl"},          {52, "banana"},       {53, "apple"},
    {54, "sandwich"},      {55, "orange"},       {56, "broccoli"},
    {57, "carrot"},        {58, "hot dog"},      {59, "pizza"},
    {60, "donut"},         {61, "cake"},         {62, "chair"},
    {63, "couch"},         {64, "potted plant"}, {65, "bed"},
    {67, "dining table"},  {70, "toilet"},       {72, "tv"},
    {73, "laptop"},        {74, "mouse"},        {75, "remote"},
    {76, "keyboard"},      {77, "cell phone"},   {78, "microwave"},
    {79, "oven"},          {80, "toaster"},      {81, "sink"},
    {82, "refrigerator"},  {84, "book"},         {85, "clock"},
    {86, "vase"},          {87, "scissors"},     {88, "teddy bear"},
    {89, "hair drier"},    {90, "toothbrush"},
};

int vs_coco_category_id(const char *label)
{
    if (!label)
        return 0;
    for (size_t i = 0; i < sizeof coco_categories / sizeof coco_categories[0]; i++)
        if (!strcmp(label, coco_categories[i].name))
            return coco_categories[i].id;
    return 0;
}

/* ---- entry ----------------------------------------------------------- */

int vs_detect_frame(const vs_manifest *manifest, const float *const *outputs,
                    const int64_t (*shapes)[4], int output_count, int frame,
                    const vs_detect_params *params, void *scratch, vs_detection *out)
{
    if (!manifest || !outputs || !shapes || !scratch || !out || output_count < 0 ||
        output_count > 4)
        return VS_EINVAL;
    char expected[160];
    int bad;
    /* Cheap per-frame guard; the message-bearing check runs once at open. */
    if (outputs_problem(manifest, shapes, NULL, output_count, &bad, expected, sizeof expected))
        return VS_EMODEL;
    if (frame < 0 || frame >= shapes[0][0])
        return VS_EINVAL;
    for (int i = 0; i < output_count; i++)
        if (!outputs[i])
            return VS_EINVAL;

    float conf = params ? params->conf : manifest->conf;
    float iou = params ? params->iou : manifest->iou;
    int max_keep = params ? params->max_detections : manifest->max_detections;
    int agnostic = params ? params->class_agnostic : manifest->class_agnostic_nms;
    const uint8_t *allowed = params ? params->class_allowed : NULL;
    if (max_keep < 1 || max_keep > VS_MAX_DETECTIONS)
        max_keep = VS_MAX_DETECTIONS;

    vs_detection *dets;
    int count;
    switch (manifest->decoder) {
    case VS_DECODER_CENTERNET:
        /* Top-K already ranked the peaks in the reference's order (score,
         * then NHWC index); re-sorting would break its ties differently. */
        count = decode_centernet(manifest, outputs, shapes, frame, conf, allowed, scratch, &dets);
        count = nms_ranked(dets, count, iou, agnostic, max_keep);
        memcpy(out, dets, (size_t)count * sizeof *out);
        return count;
    case VS_DECODER_YOLOV5:
        dets = scratch;
        count = decode_yolov5(outputs[0], shapes[0], frame, conf, allowed, manifest->classes, dets);
        break;
    case VS_DECODER_YOLOV8:
        dets = scratch;
        count = decode_yolov8(outputs[0], shapes[0], frame, conf, allowed, manifest->classes,
                              scratch, dets);
        break;
    default: return VS_EINVAL;
    }
    count = vs_nms(dets, count, iou, agnostic, max_keep);
    memcpy(out, dets, (size_t)count * sizeof *out);
    return count;
}
