/* manifest.h: a model's manifest (JSON beside the TorchScript file) and its labels.
 *
 * The manifest is the contract between a model file and the C side: input
 * geometry and normalisation, which decoder turns outputs into boxes, the
 * labels file and default thresholds. Parsing is strict: a missing field or a
 * wrong type is an error naming the file and the field. */
#ifndef VS_MANIFEST_H
#define VS_MANIFEST_H

#include "vs_error.h"

#define VS_MAX_CLASSES 1024
#define VS_LABEL_MAX 48

typedef enum vs_decoder_kind {
    VS_DECODER_CENTERNET, /* outputs: heatmap [N,C,H/s,W/s] (sigmoid), boxes [N,4,H/s,W/s] */
    VS_DECODER_YOLOV5,    /* output [N,A,5+C]: cx,cy,w,h,objectness,class scores */
    VS_DECODER_YOLOV8,    /* output [N,4+C,A]: cx,cy,w,h,class scores */
} vs_decoder_kind;

typedef enum vs_resize_mode {
    VS_RESIZE_STRETCH,   /* aspect ratio not kept */
    VS_RESIZE_LETTERBOX, /* kept, padded (grey 114) centred */
} vs_resize_mode;

typedef struct vs_manifest {
    char name[64];
    char model_path[4096]; /* resolved against the manifest's directory */
    char labels_path[4096];
    int input_width, input_height;
    int bgr;                      /* colour order: 0 rgb, 1 bgr */
    float scale, mean[3], std[3]; /* value = (pixel * scale - mean) / std */
    vs_resize_mode resize;
    vs_decoder_kind decoder;
    int stride; /* CenterNet output stride */
    int classes;
    float conf, iou;
    int max_detections;
    int class_agnostic_nms;
    char labels[VS_MAX_CLASSES][VS_LABEL_MAX];
    int coco_ids[VS_MAX_CLASSES]; /* per label: its COCO category id, 0 if not a COCO name */
    /* Informational, shown by `models list`/`info` ("" when absent; cut at the size). */
    char source[256], licence[160];
} vs_manifest;

/* Loads path (a manifest .json) and its labels file. */
int vs_manifest_load(vs_manifest *manifest, const char *path, vs_error *err);
/* Parses manifest text; dir resolves relative file names; labels not read. */
int vs_manifest_parse(vs_manifest *manifest, const char *json_text, const char *dir,
                      const char *name_for_errors, vs_error *err);
/* Parses a labels file's text: one label per line; must give exactly `classes` labels. */
int vs_labels_parse(vs_manifest *manifest, const char *text, const char *name_for_errors,
                    vs_error *err);
const char *vs_decoder_name(vs_decoder_kind kind);
/* Runs a YOLO model at width x height instead of the manifest's input size
 * (`--imgsz`): both multiples of 32, the largest YOLO stride. CenterNet
 * models are refused: their exported graphs fix the input size. */
int vs_manifest_set_input_size(vs_manifest *manifest, int width, int height, vs_error *err);
/* Parses an --imgsz value, "S" (S x S) or "WxH", into width and height. */
int vs_parse_input_size(const char *text, int *width, int *height, vs_error *err);

#endif
