/* The fidelity rules of `vidsift models verify --reference` (core/fidelity.c):
 * the output tolerance (absolute for scores, relative for pixel maps, NaN
 * always fails) and the pairing of detections by class and overlap, with
 * worked cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fidelity.h"

static const char labels[3][VS_LABEL_MAX] = {"person", "car", "dog"};

static vs_detection box(float x1, float y1, float x2, float y2, float score, int class_id)
{
    return (vs_detection){x1, y1, x2, y2, score, class_id, 0};
}

static void tolerance_is_absolute_for_scores_relative_for_pixels(void **state)
{
    (void)state;
    /* A score of 0.5 off by 9e-4: within; by 2e-3: not. */
    float want_score[2] = {0.5f, 0.1f}, close_score[2] = {0.5009f, 0.1f},
          far_score[2] = {0.502f, 0.1f};
    vs_tensor_difference d = vs_fidelity_compare(close_score, want_score, 2);
    assert_true(d.max_abs > 8e-4 && d.max_abs < 1e-3);
    assert_true(vs_fidelity_within(&d));
    d = vs_fidelity_compare(far_score, want_score, 2);
    assert_false(vs_fidelity_within(&d));
    /* 300 px off by 0.2 px: 6.7e-4 relative, within; off by 0.5 px: 1.7e-3, not. */
    float want_px[1] = {300.0f}, close_px[1] = {300.2f}, far_px[1] = {300.5f};
    d = vs_fidelity_compare(close_px, want_px, 1);
    assert_true(d.max_abs > 0.19 && d.max_rel < 1e-3);
    assert_true(vs_fidelity_within(&d));
    d = vs_fidelity_compare(far_px, want_px, 1);
    assert_false(vs_fidelity_within(&d));
}

static void nan_never_passes(void **state)
{
    (void)state;
    float want[3] = {1, 2, 3}, got[3] = {1, NAN, 3};
    vs_tensor_difference d = vs_fidelity_compare(got, want, 3);
    assert_true(isinf(d.max_abs) && isinf(d.max_rel));
    assert_false(vs_fidelity_within(&d));
    d = vs_fidelity_compare(want, got, 3); /* a NaN in the reference fails too */
    assert_false(vs_fidelity_within(&d));
    d = vs_fidelity_compare(want, want, 3);
    assert_true(d.max_abs == 0 && vs_fidelity_within(&d));
}

static void swapped_ranks_still_pair(void **state)
{
    (void)state;
    /* Two cars whose scores swap between runtimes: paired by overlap, no problem. */
    vs_detection expected[2] = {box(0, 0, 100, 100, 0.800f, 1), box(200, 0, 300, 100, 0.799f, 1)};
    vs_detection found[2] = {box(200, 0, 300, 100, 0.801f, 1), box(0, 0, 100, 100, 0.798f, 1)};
    vs_detection_agreement agreement = {.worst_score = 0, .worst_iou = 1};
    assert_int_equal(
        vs_fidelity_match_detections(expected, 2, found, 2, labels, 3, 0, NULL, &agreement), 0);
    assert_true(fabs(agreement.worst_score - 0.002) < 1e-4);
    assert_true(agreement.worst_iou == 1);
}

static void each_problem_counted_and_reported(void **state)
{
    (void)state;
    vs_detection expected[3] = {box(0, 0, 100, 100, 0.9f, 0), box(200, 0, 300, 100, 0.7f, 1),
                                box(0, 200, 100, 300, 0.6f, 2)};
    /* person: score off by 0.05; car: box shifted (IoU 0.6); dog: found as a car. */
    vs_detection found[3] = {box(0, 0, 100, 100, 0.85f, 0), box(225, 0, 325, 100, 0.7f, 1),
                             box(0, 200, 100, 300, 0.6f, 1)};
    vs_detection_agreement agreement = {.worst_score = 0, .worst_iou = 1};
    FILE *report = tmpfile();
    assert_non_null(report);
    assert_int_equal(
        vs_fidelity_match_detections(expected, 3, found, 3, labels, 3, 7, report, &agreement), 3);
    assert_true(agreement.worst_iou == 0); /* the dog has no pair */
    assert_true(fabs(agreement.worst_score - 0.05) < 1e-4);
    rewind(report);
    char text[2048] = {0};
    size_t length = fread(text, 1, sizeof text - 1, report);
    fclose(report);
    assert_true(length > 0);
    assert_non_null(strstr(text, "frame 7: person 0.8500"));
    assert_non_null(strstr(text, "IoU 0.6"));
    assert_non_null(strstr(text, "reference dog 0.6000 [0.0 200.0 100.0 300.0] not found"));
}

static void a_missing_detection_is_a_count_mismatch(void **state)
{
    (void)state;
    vs_detection expected[2] = {box(0, 0, 100, 100, 0.9f, 0), box(200, 0, 300, 100, 0.7f, 1)};
    vs_detection found[1] = {box(0, 0, 100, 100, 0.9f, 0)};
    vs_detection_agreement agreement = {.worst_score = 0, .worst_iou = 1};
    /* One problem for the count, one for the car left unpaired. */
    assert_int_equal(
        vs_fidelity_match_detections(expected, 2, found, 1, labels, 3, 0, NULL, &agreement), 2);
    /* An extra detection: the count alone. */
    agreement = (vs_detection_agreement){.worst_score = 0, .worst_iou = 1};
    assert_int_equal(
        vs_fidelity_match_detections(found, 1, expected, 2, labels, 3, 0, NULL, &agreement), 1);
    assert_true(agreement.worst_iou == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tolerance_is_absolute_for_scores_relative_for_pixels),
        cmocka_unit_test(nan_never_passes),
        cmocka_unit_test(swapped_ranks_still_pair),
        cmocka_unit_test(each_problem_counted_and_reported),
        cmocka_unit_test(a_missing_detection_is_a_count_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
