/* test_track.c: ByteTrack on synthetic boxes whose right answers are known:
 * constant velocity, noise, dropped detections, two objects crossing, low
 * scores kept by the second pass, --every, separate videos, majority class,
 * bounded memory, and the assignment solver against brute force. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "track.h"

#define FPS 30.0

static vs_tracker *make_tracker(int capacity)
{
    vs_track_params params = vs_track_params_default();
    vs_tracker *t = NULL;
    vs_error err = {{0}};
    if (vs_tracker_create(&params, capacity, VS_MAX_DETECTIONS, &t, &err) != VS_OK)
        fail_msg("tracker: %s", err.msg);
    return t;
}

static vs_detection box_at(double cx, double cy, double w, double h, float score, int class_id)
{
    vs_detection d = {.x1 = (float)(cx - w / 2),
                      .y1 = (float)(cy - h / 2),
                      .x2 = (float)(cx + w / 2),
                      .y2 = (float)(cy + h / 2),
                      .score = score,
                      .class_id = class_id};
    return d;
}

/* Deterministic noise in [-1, 1]. */
static double noise(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return ((*state >> 8) / (double)(1u << 24)) * 2 - 1;
}

/* ---- assignment ---------------------------------------------------------- */

static double brute_force(const double *cost, int rows, int cols, double limit, int row,
                          unsigned used)
{
    if (row == rows) {
        int unmatched_cols = cols - __builtin_popcount(used);
        return unmatched_cols * limit / 2;
    }
    double best = limit / 2 + brute_force(cost, rows, cols, limit, row + 1, used);
    for (int c = 0; c < cols; c++)
        if (!(used & (1u << c)) && cost[row * cols + c] <= limit) {
            double v = cost[row * cols + c] +
                       brute_force(cost, rows, cols, limit, row + 1, used | (1u << c));
            if (v < best)
                best = v;
        }
    return best;
}

static void test_assign_matches_brute_force(void **state)
{
    (void)state;
    uint32_t seed = 7;
    double scratch[256];
    for (int trial = 0; trial < 300; trial++) {
        int rows = 1 + trial % 5, cols = 1 + (trial / 5) % 6;
        double cost[36];
        for (int i = 0; i < rows * cols; i++)
            cost[i] = (noise(&seed) + 1) / 2;
        double limit = 0.3 + 0.5 * (trial % 3) / 2.0;
        int match[8];
        assert_true(vs_assign_scratch_doubles(rows, cols) <= 256);
        vs_assign(cost, rows, cols, limit, match, scratch);
        double total = 0;
        int used_cols = 0;
        for (int r = 0; r < rows; r++) {
            if (match[r] < 0) {
                total += limit / 2;
                continue;
            }
            assert_true(cost[r * cols + match[r]] <= limit);
            total += cost[r * cols + match[r]];
            used_cols++;
        }
        total += (cols - used_cols) * limit / 2;
        assert_float_equal(total, brute_force(cost, rows, cols, limit, 0, 0), 1e-9);
    }
}

static void test_assign_known(void **state)
{
    (void)state;
    /* greedy would take (0,0)=0.1 and leave row 1 with 0.9; optimal is 0.2 + 0.3 */
    double cost[] = {0.1, 0.2, 0.3, 0.9};
    int match[2];
    double scratch[64];
    assert_int_equal(vs_assign(cost, 2, 2, 0.95, match, scratch), 2);
    assert_int_equal(match[0], 1);
    assert_int_equal(match[1], 0);
    /* with a limit of 0.25, only one pair is worth taking: the cheapest */
    assert_int_equal(vs_assign(cost, 2, 2, 0.25, match, scratch), 1);
    assert_int_equal(match[0], 0);
    assert_int_equal(match[1], -1);
}

/* ---- single objects ------------------------------------------------------ */

static void run_single(double step_px, int every, double noise_px, int *ids_seen)
{
    vs_tracker *t = make_tracker(64);
    uint32_t seed = 11;
    for (int f = 0; f < 150; f += every) {
        vs_detection d =
            box_at(50 + step_px * f + noise_px * noise(&seed), 200 + noise_px * noise(&seed),
                   40 + noise_px * noise(&seed), 80 + noise_px * noise(&seed), 0.9f, 0);
        int id = -9;
        vs_tracker_update(t, &d, 1, f, f / FPS, &id);
        assert_int_equal(id, 1); /* confirmed on the first frame, never switched */
        (*ids_seen)++;
    }
    const vs_track_summary *ended;
    assert_int_equal(vs_tracker_finish(t), 1);
    vs_tracker_ended(t, &ended);
    assert_int_equal(ended[0].id, 1);
    assert_int_equal(ended[0].detections, *ids_seen);
    assert_int_equal(ended[0].first_frame, 0);
    vs_tracker_destroy(t);
}

static void test_constant_velocity(void **state)
{
    (void)state;
    int seen = 0;
    run_single(4, 1, 0, &seen);
    assert_int_equal(seen, 150);
}

static void test_noise(void **state)
{
    (void)state;
    int seen = 0;
    run_single(4, 1, 3, &seen);
    assert_int_equal(seen, 150);
}

static void test_every_third_frame(void **state)
{
    (void)state;
    /* 5 px per frame (3.75 box widths per second): 15 px between analysed
     * frames, so the first prediction (no velocity yet) still overlaps */
    int seen = 0;
    run_single(5, 3, 1, &seen);
    assert_int_equal(seen, 50);
}

static void test_prediction_follows(void **state)
{
    (void)state;
    vs_tracker *t = make_tracker(8);
    for (int f = 0; f < 60; f++) {
        vs_detection d = box_at(100 + 5 * f, 100, 40, 80, 0.9f, 0);
        int id;
        vs_tracker_update(t, &d, 1, f, f / FPS, &id);
    }
    /* after 2 s at 5 px per frame the filter's box sits on the last detection */
    vs_detection box;
    assert_true(vs_tracker_box(t, 1, &box));
    assert_float_equal((box.x1 + box.x2) / 2, 100 + 5 * 59, 1.0);
    assert_float_equal(box.y2 - box.y1, 80, 1.0);
    vs_tracker_destroy(t);
}

static void test_dropped_detections(void **state)
{
    (void)state;
    vs_tracker *t = make_tracker(8);
    int id;
    int f = 0;
    for (; f < 30; f++) {
        vs_detection d = box_at(100 + 3 * f, 100, 40, 80, 0.9f, 0);
        vs_tracker_update(t, &d, 1, f, f / FPS, &id);
        assert_int_equal(id, 1);
    }
    for (; f < 45; f++) /* half a second unseen: lost, within the 1 s buffer */
        assert_int_equal(vs_tracker_update(t, NULL, 0, f, f / FPS, &id), 0);
    for (; f < 60; f++) {
        vs_detection d = box_at(100 + 3 * f, 100, 40, 80, 0.9f, 0);
        vs_tracker_update(t, &d, 1, f, f / FPS, &id);
        assert_int_equal(id, 1); /* found again where it was heading */
    }
    int ended = 0;
    for (; f < 120; f++) /* two seconds unseen: removed and reported once */
        ended += vs_tracker_update(t, NULL, 0, f, f / FPS, &id);
    assert_int_equal(ended, 1);
    assert_int_equal(vs_tracker_live(t), 0);
    vs_detection d = box_at(100 + 3 * f, 100, 40, 80, 0.9f, 0);
    vs_tracker_update(t, &d, 1, f, f / FPS, &id);
    assert_int_equal(id, 0); /* a new track waits for its second box */
    f++;
    d = box_at(100 + 3 * f, 100, 40, 80, 0.9f, 0);
    vs_tracker_update(t, &d, 1, f, f / FPS, &id);
    assert_int_equal(id, 2);
    vs_tracker_destroy(t);
}

static void test_low_scores_second_pass(void **state)
{
    (void)state;
    vs_tracker *t = make_tracker(8);
    int ids[2];
    for (int f = 0; f < 40; f++) {
        /* the object fades to 0.3 (occluded) for frames 10-29; a lone 0.2
         * box far away never belongs to anything */
        vs_detection d[2] = {box_at(100 + 2 * f, 100, 40, 80, f >= 10 && f < 30 ? 0.3f : 0.9f, 0),
                             box_at(500, 400, 30, 30, 0.2f, 0)};
        vs_tracker_update(t, d, 2, f, f / FPS, ids);
        assert_int_equal(ids[0], 1);
        assert_int_equal(ids[1], -1);
    }
    /* a box between the thresholds never starts a track: 0.55 < new_track 0.6 */
    vs_detection weak = box_at(300, 300, 40, 80, 0.55f, 0);
    for (int f = 40; f < 45; f++) {
        vs_detection d[2] = {box_at(100 + 2 * f, 100, 40, 80, 0.9f, 0), weak};
        vs_tracker_update(t, d, 2, f, f / FPS, ids);
        assert_int_equal(ids[0], 1);
        assert_int_equal(ids[1], 0); /* kept (above high), without an id */
    }
    vs_tracker_destroy(t);
}

/* ---- several objects ------------------------------------------------------ */

static void test_two_objects_crossing(void **state)
{
    (void)state;
    /* A walks right, B walks left, 10 px apart vertically: their boxes
     * overlap almost fully around frame 50. Once apart, each keeps its id. */
    vs_tracker *t = make_tracker(16);
    uint32_t seed = 5;
    int id_a = 0, id_b = 0;
    for (int f = 0; f < 100; f++) {
        vs_detection d[2] = {
            box_at(100 + 4 * f + noise(&seed), 200 + noise(&seed), 40, 90, 0.9f, 0),
            box_at(500 - 4 * f + noise(&seed), 210 + noise(&seed), 44, 96, 0.85f, 0)};
        int ids[2];
        vs_tracker_update(t, d, 2, f, f / FPS, ids);
        if (f == 0) {
            id_a = ids[0];
            id_b = ids[1];
            assert_int_not_equal(id_a, id_b);
        }
        double gap = fabs((double)(d[0].x1 - d[1].x1));
        if (gap > 44) { /* separated: the ids are the ones they started with */
            assert_int_equal(ids[0], id_a);
            assert_int_equal(ids[1], id_b);
        }
    }
    assert_int_equal(vs_tracker_finish(t), 2);
    vs_tracker_destroy(t);
}

static void test_videos_keep_separate_ids(void **state)
{
    (void)state;
    /* two videos interleaved frame by frame, one tracker each */
    vs_tracker *a = make_tracker(8), *b = make_tracker(8);
    for (int f = 0; f < 20; f++) {
        vs_detection da[2] = {box_at(50 + f, 50, 20, 40, 0.9f, 0),
                              box_at(300, 50 + f, 20, 40, 0.9f, 2)};
        vs_detection db = box_at(100, 100 + 2 * f, 30, 60, 0.9f, 0);
        int ia[2], ib;
        vs_tracker_update(a, da, 2, f, f / FPS, ia);
        vs_tracker_update(b, &db, 1, f, f / FPS, &ib);
        assert_int_equal(ia[0], 1);
        assert_int_equal(ia[1], 2);
        assert_int_equal(ib, 1);
    }
    vs_tracker_finish(a);
    vs_tracker_reset(b); /* the next video starts from 1 again */
    vs_detection d = box_at(10, 10, 20, 40, 0.9f, 0);
    int id;
    vs_tracker_update(b, &d, 1, 0, 0, &id);
    assert_int_equal(id, 1);
    vs_tracker_destroy(a);
    vs_tracker_destroy(b);
}

static void test_majority_class(void **state)
{
    (void)state;
    vs_tracker *t = make_tracker(8);
    for (int f = 0; f < 10; f++) {
        /* car (2) 6 times, truck (7) 4 times: association ignores the class */
        vs_detection d = box_at(100 + 3 * f, 100, 80, 50, 0.9f, f % 5 < 2 ? 7 : 2);
        int id;
        vs_tracker_update(t, &d, 1, f, f / FPS, &id);
        assert_int_equal(id, 1);
    }
    const vs_track_summary *ended;
    vs_tracker_finish(t);
    vs_tracker_ended(t, &ended);
    assert_int_equal(ended[0].class_id, 2);
    assert_int_equal(ended[0].detections, 10);
    assert_float_equal(ended[0].score_sum / ended[0].detections, 0.9, 1e-6);
    assert_float_equal(ended[0].last_s, 9 / FPS, 1e-9);
    vs_tracker_destroy(t);
}

static void test_false_positive_gets_no_id(void **state)
{
    (void)state;
    vs_tracker *t = make_tracker(8);
    int ids[2];
    for (int f = 0; f < 12; f++) {
        vs_detection d[2] = {box_at(100 + f, 100, 40, 80, 0.9f, 0),
                             box_at(400, 300, 40, 40, 0.9f, 0)};
        int n = f == 5 ? 2 : 1; /* one flash on frame 5 */
        vs_tracker_update(t, d, n, f, f / FPS, ids);
        assert_int_equal(ids[0], 1);
        if (n == 2)
            assert_int_equal(ids[1], 0);
    }
    /* the next real object is 2: the flash used no id */
    for (int f = 12; f < 15; f++) {
        vs_detection d[2] = {box_at(100 + f, 100, 40, 80, 0.9f, 0),
                             box_at(600, 300, 40, 40, 0.9f, 0)};
        vs_tracker_update(t, d, 2, f, f / FPS, ids);
        if (f > 12)
            assert_int_equal(ids[1], 2);
    }
    vs_tracker_destroy(t);
}

static void test_memory_bounded(void **state)
{
    (void)state;
    /* an object appears somewhere new on every frame for 2000 frames:
     * tracks come and go, live ones never exceed the capacity, every
     * confirmed one is reported once */
    vs_tracker *t = make_tracker(32);
    int64_t ended = 0, max_id = 0;
    for (int f = 0; f < 2000; f++) {
        vs_detection d[4];
        int n = 0;
        for (int k = 0; k < 4; k++) /* each object lives 4 frames */
            if (f - k >= 0)
                d[n++] = box_at(20 + ((f - k) % 40) * 50, 20 + ((f - k) / 40 % 20) * 50, 30, 30,
                                0.9f, 0);
        int ids[4];
        ended += vs_tracker_update(t, d, n, f, f / FPS, ids);
        for (int k = 0; k < n; k++)
            if (ids[k] > max_id)
                max_id = ids[k];
        assert_true(vs_tracker_live(t) <= 32);
    }
    ended += vs_tracker_finish(t);
    assert_true(max_id > 1000);
    assert_int_equal(ended, max_id);
    vs_tracker_destroy(t);
}

static void test_params_checked(void **state)
{
    (void)state;
    vs_track_params p = vs_track_params_default();
    vs_error err = {{0}};
    assert_int_equal(vs_track_params_check(&p, &err), VS_OK);
    p.low = 0.7f;
    assert_int_equal(vs_track_params_check(&p, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "--track-low"));
    p = vs_track_params_default();
    p.buffer_s = -1;
    assert_int_equal(vs_track_params_check(&p, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "--track-buffer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_known),
        cmocka_unit_test(test_assign_matches_brute_force),
        cmocka_unit_test(test_constant_velocity),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_every_third_frame),
        cmocka_unit_test(test_prediction_follows),
        cmocka_unit_test(test_dropped_detections),
        cmocka_unit_test(test_low_scores_second_pass),
        cmocka_unit_test(test_two_objects_crossing),
        cmocka_unit_test(test_videos_keep_separate_ids),
        cmocka_unit_test(test_majority_class),
        cmocka_unit_test(test_false_positive_gets_no_id),
        cmocka_unit_test(test_memory_bounded),
        cmocka_unit_test(test_params_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
