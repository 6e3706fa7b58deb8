/* exporter.h: detections of a results database in the formats other tools
 * load (`vidsift export`), and its tracks, line crossings and visits as csv
 * or jsonl. Every format reads through the store's cursors
 * with one vs_store_filter (run, video pattern, classes, minimum score) and
 * streams: memory stays flat however many detections there are. */
#ifndef VS_EXPORTER_H
#define VS_EXPORTER_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "vs_error.h"

/* A frame's COCO image id, the same in every format and export of one
 * database: video id x 10^8 + frame index (a frame index stays below 10^8:
 * 38 days at 30 fps). */
#define VS_EXPORT_IMAGE_ID(video_id, frame_index) ((video_id)*100000000LL + (frame_index))
/* The category id of a label that is not a COCO name: the model's class id
 * plus this. */
#define VS_EXPORT_OTHER_CATEGORY_BASE 1000

/* csv: a header row, then one row per detection (columns in the header). */
int vs_export_csv(vs_store *store, const vs_store_filter *filter, FILE *out, vs_error *err);
/* jsonl: one JSON object per detection and line. */
int vs_export_jsonl(vs_store *store, const vs_store_filter *filter, FILE *out, vs_error *err);
/* What `--table` exports as csv or jsonl. */
typedef enum vs_export_table {
    VS_EXPORT_DETECTIONS,
    VS_EXPORT_TRACKS,
    VS_EXPORT_CROSSINGS,
    VS_EXPORT_VISITS
} vs_export_table;
/* The table's name ("tracks"), as `--table` takes it. */
const char *vs_export_table_name(vs_export_table table);
/* The rows of a table, detections as vs_export_csv / vs_export_jsonl write
 * them, the others with their table's columns (README.md) after "video"
 * (the video's path) and "video_id"; a NULL column is an empty field in csv
 * and null in JSON. The tracking tables take the filter but its min_score
 * (they have no score): callers refuse one. */
int vs_export_table_csv(vs_store *store, vs_export_table table, const vs_store_filter *filter,
                        FILE *out, vs_error *err);
int vs_export_table_jsonl(vs_store *store, vs_export_table table, const vs_store_filter *filter,
                          FILE *out, vs_error *err);
/* coco: the COCO results list that pycocotools' COCO.loadRes takes:
 * [{"image_id", "category_id" (COCO id), "bbox": [x, y, w, h], "score"}]. */
int vs_export_coco_results(vs_store *store, const vs_store_filter *filter, FILE *out,
                           vs_error *err);
/* coco-dataset: {"info", "images", "annotations", "categories"}: every
 * analysed frame an image (see the README for how they are known), every
 * detection an annotation (with its score), every class seen a category. */
int vs_export_coco_dataset(vs_store *store, const vs_store_filter *filter, const char *db_path,
                           FILE *out, vs_error *err);
/* yolo: dir/classes.txt (one label per class id, in order) and, per video,
 * dir/<video id>/<frame index>.txt: "class_id x_center y_center width
 * height score" per detection, normalised to the frame's size. */
int vs_export_yolo(vs_store *store, const vs_store_filter *filter, const char *dir, vs_error *err);
/* mot: the MOTChallenge results of one video's tracks, a line per tracked
 * detection (carried copies left out): "frame (1-based),track id,left,top,
 * width,height,score,-1,-1,-1". More than one video with tracks among the
 * filter's is VS_EINVAL, nothing written, the message naming db_path. */
int vs_export_mot(vs_store *store, const vs_store_filter *filter, const char *db_path, FILE *out,
                  vs_error *err);

#endif
