/* test_zones.c: geometry (segments, polygons, homography round trip), the
 * zones file, and counts worked out by hand: crossings per class and
 * direction through the tracker, a flicker on the line counted once,
 * --every 3, a pass beside the line's end, polygon visits and dwell, and
 * a speed through a known homography within 2%. */
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
#include "zones.h"

static const char *const labels[] = {"person", "bicycle", "car"};
#define LABELS 3
#define PERSON 0
#define CAR 2

static vs_detection box_at(double cx, double cy, double w, double h, int class_id)
{
    vs_detection d = {.x1 = (float)(cx - w / 2),
                      .y1 = (float)(cy - h / 2),
                      .x2 = (float)(cx + w / 2),
                      .y2 = (float)(cy + h / 2),
                      .score = 0.9f,
                      .class_id = class_id};
    return d;
}

/* A box whose bottom centre (the default anchor) is at (x, y). */
static vs_detection foot_at(double x, double y, int class_id)
{
    return box_at(x, y - 40, 30, 80, class_id);
}

static void parse_ok(const char *json, vs_zones_config *config)
{
    vs_error err = {{0}};
    if (vs_zones_parse(json, "zones.json", labels, LABELS, config, &err) != VS_OK)
        fail_msg("zones: %s", err.msg);
}

static vs_zones_state *state_for(const vs_zones_config *config, int width, int height)
{
    vs_zones_state *s = NULL;
    vs_error err = {{0}};
    assert_int_equal(vs_zones_state_create(config, 64, LABELS, &s, &err), VS_OK);
    if (vs_zones_state_reset(s, width, height, &err) != VS_OK)
        fail_msg("reset: %s", err.msg);
    return s;
}

/* ---- geometry ------------------------------------------------------------ */

static void test_segments(void **state)
{
    (void)state;
    double a[2] = {0, 0}, b[2] = {10, 0};
    struct {
        double p[2], q[2];
        int expected;
    } cases[] = {
        {{5, -5}, {5, 5}, 1},   /* proper crossing */
        {{5, 1}, {5, 5}, 0},    /* above, not reaching */
        {{5, 0}, {5, 5}, 1},    /* touching at an end */
        {{11, -5}, {11, 5}, 0}, /* beside the segment's end */
        {{10, -5}, {10, 5}, 1}, /* through its end point */
        {{-5, 0}, {-1, 0}, 0},  /* collinear, apart */
        {{-5, 0}, {1, 0}, 1},   /* collinear, overlapping */
        {{0, 1}, {10, 1}, 0},   /* parallel */
        {{-1, -1}, {11, 1}, 1}, /* diagonal through the middle */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(vs_segments_intersect(cases[i].p, cases[i].q, a, b), cases[i].expected);
        assert_int_equal(vs_segments_intersect(a, b, cases[i].q, cases[i].p), cases[i].expected);
    }
    double below[2] = {5, 3}, above[2] = {5, -3};
    assert_true(vs_side(a, b, below) > 0); /* y down: below a left-to-right line is its right */
    assert_true(vs_side(a, b, above) < 0);
}

static void test_point_in_polygon(void **state)
{
    (void)state;
    /* a U shape: the notch (4..6, 0..6) is outside */
    const double u[8][2] = {{0, 0}, {4, 0}, {4, 6}, {6, 6}, {6, 0}, {10, 0}, {10, 10}, {0, 10}};
    struct {
        double p[2];
        int inside;
    } cases[] = {{{2, 2}, 1},  {{5, 3}, 0}, {{8, 2}, 1},   {{5, 8}, 1}, {{11, 5}, 0},
                 {{-1, 5}, 0}, {{0, 5}, 1}, {{10, 10}, 1}, {{5, 6}, 1}, {{5, 10.001}, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(vs_point_in_polygon(cases[i].p, u, 8), cases[i].inside);
}

static void test_homography_round_trip(void **state)
{
    (void)state;
    /* a road seen in perspective: a trapezoid on the picture is a 3.5 m x 20 m rectangle */
    const double image[4][2] = {{420, 700}, {860, 700}, {700, 300}, {580, 300}};
    const double ground[4][2] = {{0, 0}, {3.5, 0}, {3.5, 20}, {0, 20}};
    double h[9], back[9];
    vs_error err = {{0}};
    assert_int_equal(vs_homography_solve(image, ground, h, &err), VS_OK);
    assert_int_equal(vs_homography_solve(ground, image, back, &err), VS_OK);
    for (int i = 0; i < 4; i++) {
        double out[2];
        vs_homography_apply(h, image[i], out);
        assert_float_equal(out[0], ground[i][0], 1e-6);
        assert_float_equal(out[1], ground[i][1], 1e-6);
    }
    for (double x = 300; x <= 1000; x += 70)
        for (double y = 320; y <= 720; y += 40) {
            double p[2] = {x, y}, g[2], q[2];
            vs_homography_apply(h, p, g);
            vs_homography_apply(back, g, q);
            assert_float_equal(q[0], x, 1e-6);
            assert_float_equal(q[1], y, 1e-6);
        }
    const double collinear[4][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 5}};
    assert_int_equal(vs_homography_solve(collinear, ground, h, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "one line"));
}

/* ---- the file -------------------------------------------------------------- */

static void test_parse(void **state)
{
    (void)state;
    vs_zones_config c;
    parse_ok("{\"units\": \"fractions\", \"classes\": [\"person\", \"car\"], \"zones\": ["
             " {\"name\": \"door\", \"type\": \"line\", \"points\": [[0, 0.5], [1, 0.5]],"
             "  \"directions\": [\"enter\", \"leave\"], \"classes\": [\"car\"]},"
             " {\"name\": \"yard\", \"type\": \"polygon\", \"units\": \"pixels\","
             "  \"anchor\": \"center\", \"points\": [[0, 0], [100, 0], [100, 50]]}],"
             " \"calibration\": {\"image\": [[0, 0], [1, 0], [1, 1], [0, 1]],"
             "  \"ground\": [[0, 0], [10, 0], [10, 10], [0, 10]]}}",
             &c);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.zones[0].name, "door");
    assert_int_equal(c.zones[0].kind, VS_ZONE_LINE);
    assert_true(c.zones[0].fractions);
    assert_int_equal(c.zones[0].class_count, 1);
    assert_int_equal(c.zones[0].class_ids[0], CAR);
    assert_string_equal(c.zones[0].directions[0], "enter");
    assert_int_equal(c.zones[0].anchor, VS_ANCHOR_BOTTOM_CENTER);
    assert_int_equal(c.zones[1].kind, VS_ZONE_POLYGON);
    assert_false(c.zones[1].fractions);
    assert_int_equal(c.zones[1].anchor, VS_ANCHOR_CENTER);
    assert_int_equal(c.zones[1].class_count, 2); /* inherited from the top */
    assert_true(c.calibrated);
    vs_zones_state *s = state_for(&c, 640, 480);
    assert_float_equal(vs_zones_pixels(s, 0)[1][0], 640, 1e-9);
    assert_float_equal(vs_zones_pixels(s, 0)[1][1], 240, 1e-9);
    assert_float_equal(vs_zones_pixels(s, 1)[1][0], 100, 1e-9);
    vs_zones_state_destroy(s);
    vs_zones_config_free(&c);

    struct {
        const char *json, *message;
    } bad[] = {
        {"{", "not valid JSON"},
        {"{\"zones\": []}", "at least one zone"},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"circle\", \"points\": []}]}", "\"type\""},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"line\", \"points\": [[0,0],[1,1],[2,2]]}]}",
         "2 [x, y]"},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"polygon\", \"points\": [[0,0],[1,1]]}]}",
         "at least 3"},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"line\", \"points\": [[0,0],[1,1]],"
         " \"classes\": [\"zebra\"]}]}",
         "class zebra"},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"line\", \"points\": [[0,0],[1,1]]},"
         " {\"name\": \"a\", \"type\": \"line\", \"points\": [[0,0],[2,1]]}]}",
         "two zones are named a"},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"line\", \"points\": [[0,0],[0,0]]}]}",
         "the same"},
        {"{\"zones\": [{\"name\": \"a\", \"type\": \"line\", \"points\": [[0,0],[1,1]]}],"
         " \"calibration\": {\"image\": [[0,0],[1,1],[2,2],[0,5]],"
         " \"ground\": [[0,0],[1,0],[1,1],[0,1]]}}",
         "one line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vs_error err = {{0}};
        assert_int_equal(vs_zones_parse(bad[i].json, "cam\x1b.json", labels, LABELS, &c, &err),
                         VS_EINVAL);
        if (!strstr(err.msg, bad[i].message) || !strstr(err.msg, "cam\\x1b.json"))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].message);
        assert_null(c.zones);
    }
}

/* ---- lines ------------------------------------------------------------------ */

static const char *door_line = "{\"zones\": [{\"name\": \"door\", \"type\": \"line\","
                               " \"points\": [[100, 300], [500, 300]]}]}";

/* Objects walk through the tracker and the zones: the counts are exact. */
static void crossings_through_tracker(int every)
{
    vs_zones_config c;
    parse_ok(door_line, &c);
    vs_zones_state *s = state_for(&c, 640, 480);
    vs_track_params params = vs_track_params_default();
    vs_tracker *t = NULL;
    vs_error err = {{0}};
    assert_int_equal(vs_tracker_create(&params, 64, VS_MAX_DETECTIONS, &t, &err), VS_OK);
    /* 3 people walk down (in), 1 walks up (out), 2 cars drive down (in),
     * 1 person walks down beside the line's end (not counted). Each object
     * starts 30 frames after the previous, 4 px per frame, 120 px apart. */
    struct {
        double x, y0, dy;
        int class_id;
    } objects[] = {{150, 150, 4, PERSON}, {250, 150, 4, PERSON}, {350, 450, -4, PERSON},
                   {400, 150, 4, CAR},    {200, 150, 4, PERSON}, {300, 150, 4, CAR},
                   {600, 150, 4, PERSON}};
    int n_objects = sizeof objects / sizeof *objects;
    vs_zone_event events[32];
    int in[LABELS] = {0}, out[LABELS] = {0}, frames = 30 * n_objects + 90;
    for (int f = 0; f < frames; f += every) {
        vs_detection d[8];
        int n = 0;
        for (int o = 0; o < n_objects; o++) {
            int age = f - 30 * o;
            if (age >= 0 && age < 75)
                d[n++] =
                    foot_at(objects[o].x, objects[o].y0 + objects[o].dy * age, objects[o].class_id);
        }
        int ids[8];
        vs_tracker_update(t, d, n, f, f / 30.0, ids);
        int e = vs_zones_update(s, d, ids, n, f, f / 30.0, events, 32);
        for (int k = 0; k < e; k++) {
            assert_int_equal(events[k].kind, VS_ZONE_CROSSING);
            (events[k].direction == 0 ? in : out)[events[k].class_id]++;
        }
    }
    assert_int_equal(in[PERSON], 3);
    assert_int_equal(out[PERSON], 1);
    assert_int_equal(in[CAR], 2);
    assert_int_equal(out[CAR], 0);
    assert_int_equal(vs_zones_crossings(s, 0, 0, PERSON), 3);
    assert_int_equal(vs_zones_crossings(s, 0, 1, PERSON), 1);
    assert_int_equal(vs_zones_crossings(s, 0, 0, CAR), 2);
    vs_tracker_destroy(t);
    vs_zones_state_destroy(s);
    vs_zones_config_free(&c);
}

static void test_crossings_per_class_through_tracker(void **state)
{
    (void)state;
    crossings_through_tracker(1);
}

/* --every 3: 12 px between analysed frames, the same counts */
static void test_crossings_every_third_frame(void **state)
{
    (void)state;
    crossings_through_tracker(3);
}

static int count_crossings(vs_zones_state *s, const double *ys, int n, int step, int *direction)
{
    vs_zone_event events[8];
    int total = 0;
    for (int i = 0; i < n; i += step) {
        vs_detection d = foot_at(300, ys[i], PERSON);
        int id = 1;
        int e = vs_zones_update(s, &d, &id, 1, i, i / 30.0, events, 8);
        for (int k = 0; k < e; k++)
            *direction = events[k].direction;
        total += e;
    }
    return total;
}

static void test_flicker_counted_once(void **state)
{
    (void)state;
    vs_zones_config c;
    parse_ok(door_line, &c);
    /* walks down to the line, jitters across it (+-3 px, the band is 8 px
     * for an 80 px box) for 20 frames, then walks on down: one "in" */
    double ys[60];
    int n = 0;
    for (int i = 0; i < 20; i++)
        ys[n++] = 240 + 3 * i;
    for (int i = 0; i < 20; i++)
        ys[n++] = 300 + (i % 2 ? 3 : -3);
    for (int i = 0; i < 20; i++)
        ys[n++] = 303 + 4 * i;
    vs_zones_state *s = state_for(&c, 640, 480);
    int direction = -1;
    assert_int_equal(count_crossings(s, ys, n, 1, &direction), 1);
    assert_int_equal(direction, 0);
    /* the same walk seen on every 3rd frame: still one */
    vs_zones_state_reset(s, 640, 480, NULL);
    assert_int_equal(count_crossings(s, ys, n, 3, &direction), 1);
    /* and a jump over the line between two analysed frames counts too */
    vs_zones_state_reset(s, 640, 480, NULL);
    double jump[2] = {250, 350};
    assert_int_equal(count_crossings(s, jump, 2, 1, &direction), 1);
    /* a real return (down, then back up well past the band) is two */
    vs_zones_state_reset(s, 640, 480, NULL);
    double back[3] = {250, 350, 250};
    assert_int_equal(count_crossings(s, back, 3, 1, &direction), 2);
    assert_int_equal(direction, 1);
    vs_zones_state_destroy(s);
    vs_zones_config_free(&c);
}

static void test_class_filter(void **state)
{
    (void)state;
    vs_zones_config c;
    parse_ok("{\"zones\": [{\"name\": \"road\", \"type\": \"line\", \"classes\": [\"car\"],"
             " \"points\": [[100, 300], [500, 300]]}]}",
             &c);
    vs_zones_state *s = state_for(&c, 640, 480);
    vs_zone_event events[4];
    int ids[2] = {1, 2}, total = 0;
    for (int f = 0; f < 2; f++) {
        vs_detection d[2] = {foot_at(200, 250 + 100 * f, PERSON), foot_at(400, 250 + 100 * f, CAR)};
        total += vs_zones_update(s, d, ids, 2, f, f, events, 4);
    }
    assert_int_equal(total, 1);
    assert_int_equal(events[0].class_id, CAR);
    assert_int_equal(events[0].track_id, 2);
    vs_zones_state_destroy(s);
    vs_zones_config_free(&c);
}

/* ---- polygons --------------------------------------------------------------- */

static void test_visits_and_occupancy(void **state)
{
    (void)state;
    vs_zones_config c;
    parse_ok("{\"units\": \"fractions\", \"zones\": [{\"name\": \"queue\", \"type\": \"polygon\","
             " \"points\": [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]}]}",
             &c);
    vs_zones_state *s = state_for(&c, 400, 400); /* the square 100..300 */
    vs_zone_event events[8];
    int visits = 0;
    for (int f = 0; f <= 100; f++) { /* 10 fps: 0.1 s per frame */
        /* track 1 walks right along y=200 at 4 px/frame: inside x 100..300 */
        vs_detection d[2] = {foot_at(4 * f, 200, PERSON), foot_at(150, 200, CAR)};
        int ids[2] = {1, 2};
        int n = f <= 60 ? 2 : 1; /* the car stands inside until frame 60, then its track ends */
        int e = vs_zones_update(s, d, ids, n, f, f / 10.0, events, 8);
        if (f == 30)
            assert_int_equal(vs_zones_occupancy(s, 0, PERSON) + vs_zones_occupancy(s, 0, CAR), 2);
        if (f == 61) {
            double speed;
            e = vs_zones_track_ended(s, 2, &speed, events, 8);
            assert_int_equal(e, 1);
            assert_true(isnan(speed)); /* no calibration */
            assert_int_equal(events[0].track_id, 2);
            assert_int_equal(events[0].enter_frame, 0);
            assert_int_equal(events[0].frame, 60); /* its last frame */
            assert_float_equal(events[0].time_s - events[0].enter_s, 6.0, 1e-9);
            visits++;
            continue;
        }
        for (int k = 0; k < e; k++) {
            assert_int_equal(events[k].kind, VS_ZONE_VISIT);
            assert_int_equal(events[k].track_id, 1);
            assert_int_equal(events[k].enter_frame, 25); /* x = 100: on the edge counts */
            assert_int_equal(events[k].frame, 76);       /* x = 304: first frame outside */
            assert_float_equal(events[k].time_s - events[k].enter_s, 5.1, 1e-9);
            visits++;
        }
    }
    assert_int_equal(visits, 2);
    assert_int_equal(vs_zones_occupancy(s, 0, PERSON), 0);
    vs_zones_state_destroy(s);
    vs_zones_config_free(&c);
}

/* ---- speed ------------------------------------------------------------------ */

static void test_speed_through_homography(void **state)
{
    (void)state;
    /* a car at 50 km/h along a road seen in perspective; its image
     * positions are computed through the inverse homography, then jittered
     * by up to 1 px as a detector would */
    vs_zones_config c;
    parse_ok("{\"zones\": [{\"name\": \"l\", \"type\": \"line\", \"points\": [[0, 0], [1, 1]]}],"
             " \"calibration\": {\"image\": [[420, 700], [860, 700], [700, 300], [580, 300]],"
             " \"ground\": [[0, 0], [3.5, 0], [3.5, 20], [0, 20]]}}",
             &c);
    vs_zones_state *s = state_for(&c, 1280, 720);
    double to_image[9];
    assert_int_equal(vs_homography_solve(c.ground, c.image, to_image, NULL), VS_OK);
    double speed_ms = 50 / 3.6;
    uint32_t seed = 3;
    double last = NAN;
    for (int f = 0; f < 40; f++) { /* 25 fps: 1.6 s, 22 m */
        double t = f / 25.0, ground[2] = {1.75, 0 + speed_ms * t}, px[2];
        vs_homography_apply(to_image, ground, px);
        seed = seed * 1664525u + 1013904223u;
        double jitter = ((seed >> 8) / (double)(1u << 24)) * 2 - 1;
        vs_detection d = box_at(px[0] + jitter, px[1] - 30, 60, 60, CAR);
        int id = 1;
        vs_zone_event events[4];
        vs_zones_update(s, &d, &id, 1, f, t, events, 4);
        last = vs_zones_speed(s, 1);
        if (f < 12) /* under half a second of history: unknown */
            assert_true(isnan(last));
    }
    assert_float_equal(last, 50, 50 * 0.02);
    double mean;
    vs_zone_event events[4];
    vs_zones_track_ended(s, 1, &mean, events, 4);
    assert_float_equal(mean, 50, 50 * 0.02);
    vs_zones_state_destroy(s);
    vs_zones_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_point_in_polygon),
        cmocka_unit_test(test_homography_round_trip),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_crossings_per_class_through_tracker),
        cmocka_unit_test(test_crossings_every_third_frame),
        cmocka_unit_test(test_flicker_counted_once),
        cmocka_unit_test(test_class_filter),
        cmocka_unit_test(test_visits_and_occupancy),
        cmocka_unit_test(test_speed_through_homography),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
