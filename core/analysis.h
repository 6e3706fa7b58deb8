/* analysis.h: what produced a video's rows, as one canonical text.
 *
 * The store keeps, per video, the model (manifest, weights and labels, by
 * hash) and every option that changes which rows are written (conf, iou,
 * classes, sampling, precision), as a JSON object with a fixed key order.
 * Resume reuses a video only when that text is equal to this run's; when it
 * is not, vs_analysis_difference names what changed, for the report.
 *
 * Options that change scores only at float rounding (device, batch size,
 * threads, jobs) are left out on purpose: they would make every rerun on
 * another machine redo everything for no change of result. */
#ifndef VS_ANALYSIS_H
#define VS_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "vs_error.h"

/* The options that change rows, as the run resolved them. */
typedef struct vs_analysis_options {
    const char *manifest_path;    /* the manifest file, hashed as it is on disk */
    float conf, iou;              /* effective: the manifest's default already applied */
    const uint8_t *class_allowed; /* per class id, 1 = kept; NULL = every class */
    int every;
    double sample_fps, skip_similar; /* 0 = off */
    int half;
    /* Tracking changes detections.track_id and which low-score boxes are
     * kept: its parameters as one canonical text; NULL = no tracking. */
    const char *tracking;
    const char *zones_path; /* a zones file, hashed as it is on disk; NULL = none */
    /* Outputs asked for. A video done with an output counts as done for a
     * run that does not ask for it, not the other way round: the snapshots
     * table has rows only with --snapshots. */
    int annotate, snapshots;
} vs_analysis_options;

/* The canonical JSON text (malloc'd) for a run of manifest with options.
 * Reads and hashes the manifest and the weights file (SHA-256): once per run.
 * Errors: VS_EIO (a file cannot be read), VS_ENOMEM. */
int vs_analysis_describe(const vs_manifest *manifest, const vs_analysis_options *options,
                         char **text, vs_error *err);

/* Writes why a video analysed as `was` is redone now, under `now`: e.g.
 * "options changed (conf 0.3 -> 0.6, classes all -> person)" or "model
 * changed (weights 1a2b3c4d5e6f -> 0f9e8d7c6b5a)". was == NULL: the record
 * predates stored options. "" when nothing that changes rows differs: equal
 * values, or a key that `was` lacks (added by a later vidsift) whose value
 * now is its "off" value (false, 0, "off", "none", "all"), so that a new
 * option, unused, redoes nothing. The outputs (annotate, snapshots) differ
 * only when asked for now and not then. */
void vs_analysis_difference(const char *was, const char *now, char *reason, size_t size);

/* SHA-256 of a file's bytes as 64 hex digits (out: 65 bytes). */
int vs_file_sha256(const char *path, char *out, vs_error *err);

#endif
