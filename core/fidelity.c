/* fidelity.c: output and detection comparison against a reference run (see
 * fidelity.h). The reference's files are read by cli/models.c; this file
 * only compares, so its rules are unit-tested (tests/unit/test_fidelity.c). */
#include <assert.h>
#include <math.h>

#include "fidelity.h"

vs_tensor_difference vs_fidelity_compare(const float *got, const float *want, size_t count)
{
    vs_tensor_difference difference = {0, 0};
    for (size_t k = 0; k < count; k++) {
        double d = fabs((double)got[k] - want[k]);
        double rel = d / fmax(1.0, fabs((double)want[k]));
        if (isnan(d))
            d = rel = INFINITY;
        if (d > difference.max_abs)
            difference.max_abs = d;
        if (rel > difference.max_rel)
            difference.max_rel = rel;
    }
    return difference;
}

int vs_fidelity_within(const vs_tensor_difference *difference)
{
    return difference->max_rel <= VS_FIDELITY_OUTPUT_TOLERANCE;
}

int vs_fidelity_match_detections(const vs_detection *expected, int expected_count,
                                 const vs_detection *found, int found_count,
                                 const char (*labels)[VS_LABEL_MAX], int class_count, int frame,
                                 FILE *report, vs_detection_agreement *agreement)
{
    assert(expected_count >= 0 && expected_count <= VS_MAX_DETECTIONS);
    assert(found_count >= 0 && found_count <= VS_MAX_DETECTIONS);
    int problems = 0;
    int paired[VS_MAX_DETECTIONS] = {0};
    if (found_count != expected_count) {
        if (report)
            fprintf(report, "MISMATCH        frame %d: %d detections, the reference has %d\n",
                    frame, found_count, expected_count);
        problems++;
    }
    for (int e = 0; e < expected_count; e++) {
        const vs_detection *want = &expected[e];
        int best = -1;
        float best_iou = -1;
        for (int k = 0; k < found_count; k++) {
            if (paired[k] || found[k].class_id != want->class_id)
                continue;
            float overlap = vs_iou(&found[k], want);
            if (overlap > best_iou) {
                best_iou = overlap;
                best = k;
            }
        }
        const char *label =
            want->class_id >= 0 && want->class_id < class_count ? labels[want->class_id] : "?";
        if (best < 0) {
            if (report)
                fprintf(report,
                        "MISMATCH        frame %d: reference %s %.4f [%.1f %.1f %.1f %.1f] not "
                        "found\n",
                        frame, label, want->score, want->x1, want->y1, want->x2, want->y2);
            problems++;
            agreement->worst_iou = 0;
            continue;
        }
        paired[best] = 1;
        double score_d = fabs((double)found[best].score - want->score);
        if (score_d > agreement->worst_score)
            agreement->worst_score = score_d;
        if (best_iou < agreement->worst_iou)
            agreement->worst_iou = best_iou;
        if (!(score_d <= VS_FIDELITY_SCORE_TOLERANCE) || !(best_iou >= VS_FIDELITY_IOU_MINIMUM)) {
            if (report)
                fprintf(report,
                        "MISMATCH        frame %d: %s %.4f [%.1f %.1f %.1f %.1f], reference "
                        "%.4f [%.1f %.1f %.1f %.1f]: score |d| %.4f, IoU %.4f\n",
                        frame, label, found[best].score, found[best].x1, found[best].y1,
                        found[best].x2, found[best].y2, want->score, want->x1, want->y1, want->x2,
                        want->y2, score_d, best_iou);
            problems++;
        }
    }
    return problems;
}
