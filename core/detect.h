/* detect.h: turning model outputs into boxes, and non-maximum suppression.
 *
 * Pure functions over float arrays: no threads, no allocation (callers pass
 * scratch space sized by vs_detect_scratch_size). Boxes come out in model
 * input pixels; vs_detect_to_source maps them back to the source frame. */
#ifndef VS_DETECT_H
#define VS_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

#define VS_MAX_DETECTIONS 100

typedef struct vs_detection {
    float x1, y1, x2, y2; /* pixels; x2/y2 exclusive edge */
    float score;
    int class_id;
    int track_id; /* the tracker's id in this video (from 1); 0: none (tracking off or unmatched) */
} vs_detection;

typedef struct vs_detect_params {
    float conf;                   /* candidates need a score > conf */
    float iou;                    /* NMS IoU threshold */
    int max_detections;           /* <= VS_MAX_DETECTIONS */
    int class_agnostic;           /* NMS across classes */
    const uint8_t *class_allowed; /* NULL = all; else [classes] 0/1 filter */
} vs_detect_params;

/* Scratch bytes that vs_detect_frame needs for a manifest (allocate once).
 * output_shape: shape of output 0 as the model returns it (after warmup);
 * YOLO scratch grows with its anchor count. NULL assumes the standard YOLO
 * heads (strides 8/16/32) for the manifest's input size. CenterNet needs a
 * small fixed amount whatever the shape. */
size_t vs_detect_scratch_size(const vs_manifest *manifest, const int64_t *output_shape);

/* Checks once (after warmup) that the model's outputs fit the manifest's
 * decoder: centernet [N,C,H/s,W/s] + [N,4,H/s,W/s]; yolov5 [N,A,5+C];
 * yolov8 [N,4+C,A]. ranks (the shim's ndim per output) may be NULL.
 * A mismatch is VS_EMODEL with a one-line message naming the model file. */
int vs_detect_check_outputs(const vs_manifest *manifest, const int64_t (*shapes)[4],
                            const int *ranks, int output_count, vs_error *err);

/* Decodes one frame (index `frame` of a batch) of outputs.
 * outputs/shapes: as returned by the shim (batch-major float32); for 3-D
 * outputs shape[3] is ignored. params NULL uses the manifest's defaults;
 * max_detections outside 1..VS_MAX_DETECTIONS means VS_MAX_DETECTIONS.
 * class_allowed drops candidates of other classes before top-K and NMS.
 * scratch: vs_detect_scratch_size bytes for this model's output shape.
 * Returns the number of detections written to out (<= params->max_detections),
 * sorted by score, or negative (VS_EMODEL if the shapes do not fit). */
int vs_detect_frame(const vs_manifest *manifest, const float *const *outputs,
                    const int64_t (*shapes)[4], int output_count, int frame,
                    const vs_detect_params *params, void *scratch, vs_detection *out);

/* Greedy NMS in place, sorted by score; returns the kept count. A box is
 * dropped when its IoU with a better kept box (same class unless
 * class_agnostic) is > iou. max_keep <= 0 keeps all survivors. */
int vs_nms(vs_detection *dets, int count, float iou, int class_agnostic, int max_keep);
float vs_iou(const vs_detection *a, const vs_detection *b);

/* The COCO category id (instances_*.json "category_id": person 1, dog 18,
 * toothbrush 90; 91 ids, 80 used) of a label spelt as in models/coco.labels,
 * so detections can be scored against COCO ground truth; 0 when the label is
 * not one of COCO's 80 (case matters: COCO spells them in lower case). */
int vs_coco_category_id(const char *label);

/* Geometry of the preprocess mapping from source to model input. */
typedef struct vs_letterbox {
    float scale_x, scale_y;   /* input pixels per source pixel */
    float pad_x, pad_y;       /* input pixels of padding on the left/top (whole pixels) */
    int resized_w, resized_h; /* the source resized to this, placed at (pad_x, pad_y) */
    int rotation; /* clockwise turn (0/90/180/270) applied to the source before the model */
} vs_letterbox;

/* Letterbox: one scale min(in_w/src_w, in_h/src_h), the picture rounded to
 * whole pixels and centred (odd pixel of padding right/bottom); scale_x/y are
 * then resized/src exactly, so round(src * scale) == resized. Stretch: the
 * whole input, no padding. */

vs_letterbox vs_letterbox_for(int src_w, int src_h, int in_w, int in_h, vs_resize_mode mode);
/* Maps boxes from model input to the source's coded pixels, clamped to the
 * frame: src_w x src_h is the coded size. When box->rotation is set the model
 * saw the picture upright (as displayed), so src_w/src_h above are swapped
 * for the mapping and the boxes are then turned back into coded pixels. */
void vs_detect_to_source(vs_detection *dets, int count, const vs_letterbox *box, int src_w,
                         int src_h);

#endif
