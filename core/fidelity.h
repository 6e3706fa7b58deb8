/* fidelity.h: how close a model run through vidsift is to a reference run of
 * the same model in its original runtime (`vidsift models verify --reference`,
 * tests/fidelity/README.md).
 *
 * Two comparisons, both pure: raw output tensors against the reference's
 * within a tolerance that is absolute for scores (0..1) and relative for
 * maps in pixels, and detections paired by class and overlap (not position:
 * two scores a hair apart may swap ranks between runtimes). */
#ifndef VS_FIDELITY_H
#define VS_FIDELITY_H

#include <stddef.h>
#include <stdio.h>

#include "detect.h"
#include "manifest.h"

/* |model - ref| <= VS_FIDELITY_OUTPUT_TOLERANCE * max(1, |ref|): float32
 * summation order alone moves values of ~300 px by a few 1e-3 px. */
#define VS_FIDELITY_OUTPUT_TOLERANCE 1e-3
#define VS_FIDELITY_SCORE_TOLERANCE 0.01 /* |score - ref score| of a paired detection */
#define VS_FIDELITY_IOU_MINIMUM 0.95     /* box IoU of a paired detection */

/* The largest differences between two tensors of count floats. */
typedef struct vs_tensor_difference {
    double max_abs; /* max |got - want| */
    double max_rel; /* max |got - want| / max(1, |want|): what the tolerance applies to */
} vs_tensor_difference;

/* Compares count floats; a NaN on either side counts as an infinite
 * difference, so that it fails rather than compare as "not bigger". */
vs_tensor_difference vs_fidelity_compare(const float *got, const float *want, size_t count);

/* Whether a difference is within VS_FIDELITY_OUTPUT_TOLERANCE. */
int vs_fidelity_within(const vs_tensor_difference *difference);

/* The worst figures over the detections compared so far. Start from
 * {.worst_iou = 1}: each pairing only widens worst_score and lowers worst_iou. */
typedef struct vs_detection_agreement {
    double worst_score; /* largest |score - ref score| of a pair */
    double worst_iou;   /* smallest IoU of a pair; 0 once a reference box is unpaired */
} vs_detection_agreement;

/* Pairs each expected detection of one frame with the unpaired found one of
 * the same class that overlaps it most. The counts must match and each pair
 * be within the score and IoU limits. Returns the number of problems; writes
 * one "MISMATCH" line per problem to report (NULL: silent), naming classes
 * by labels[class_id] (class_count of them). */
int vs_fidelity_match_detections(const vs_detection *expected, int expected_count,
                                 const vs_detection *found, int found_count,
                                 const char (*labels)[VS_LABEL_MAX], int class_count, int frame,
                                 FILE *report, vs_detection_agreement *agreement);

#endif
