/* Input scanning: recursion, stable order, probing, loops, bad paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scan.h"
#include "testutil.h"

typedef struct problems {
    int count;
    char last[512];
} problems;

static void collect(void *context, const char *path, const char *problem)
{
    problems *p = context;
    p->count++;
    snprintf(p->last, sizeof p->last, "%s: %s", path, problem);
}

static void finds_videos_by_content_in_stable_order(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("scan"));
    assert_int_equal(test_sh("cd '%s' && mkdir -p 'b dir' a/é && "
                             "ffmpeg -loglevel error -f lavfi -i testsrc=size=64x48:rate=5 -t 0.4 "
                             "-pix_fmt yuv420p 'b dir/clip two.mp4' && "
                             "cp 'b dir/clip two.mp4' a/é/renamed.bin && "
                             "cp 'b dir/clip two.mp4' a/first.mkv && "
                             "echo hello > a/notes.mp4.txt && echo not a video > a/fake.txt && "
                             "ln -s .. a/é/loop",
                             dir),
                     0);
    const char *paths[] = {dir};
    problems p = {0};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 1, collect, &p, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 3);
    assert_string_equal(result.videos[0].relative_path, "a/first.mkv");
    assert_string_equal(result.videos[1].relative_path, "a/é/renamed.bin"); /* by content */
    assert_string_equal(result.videos[2].relative_path, "b dir/clip two.mp4");
    for (int i = 0; i < 3; i++)
        assert_int_equal(result.videos[i].index, i);
    assert_int_equal(p.count, 1);
    assert_non_null(strstr(p.last, "loop"));
    assert_int_equal(vs_fingerprint(&result.videos[0], &err), VS_OK);
    assert_int_equal(strlen(result.videos[0].fingerprint), 32);
    vs_video copy = result.videos[2];
    assert_int_equal(vs_fingerprint(&copy, &err), VS_OK);
    assert_string_equal(copy.fingerprint, result.videos[0].fingerprint); /* same bytes */
    vs_scan_free(&result);
}

static void explicit_missing_path_is_an_error_naming_it(void **state)
{
    (void)state;
    const char *paths[] = {"/nonexistent/clip.mp4"};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 1, NULL, NULL, &result, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "/nonexistent/clip.mp4"));
}

static void explicit_file_is_kept_whatever_its_content(void **state)
{
    (void)state;
    const char *dir = test_tmpdir("scan-explicit");
    char path[4200];
    snprintf(path, sizeof path, "%s/random.mp4", dir);
    assert_int_equal(test_sh("head -c 1000 /dev/urandom > '%s'", path), 0);
    const char *paths[] = {path};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 1, NULL, NULL, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 1); /* so the run reports it by name */
    vs_scan_free(&result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_videos_by_content_in_stable_order),
        cmocka_unit_test(explicit_missing_path_is_an_error_naming_it),
        cmocka_unit_test(explicit_file_is_kept_whatever_its_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
