/* Input scanning: recursion, stable order, probing, loops, bad paths,
 * duplicates, output directories, output names. */
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
                             "echo 'let x = 1;' > a/app.ts && : > 'b dir/zz empty.mkv' && "
                             "ln -s .. a/é/loop",
                             dir),
                     0);
    const char *paths[] = {dir};
    problems p = {0};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 1, NULL, collect, &p, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 4);
    assert_string_equal(result.videos[0].relative_path, "a/first.mkv");
    /* Outputs mirror the argument's own name: scan/a/first.mkv. */
    assert_string_equal(result.videos[0].output_name, "scan/a/first.mkv");
    assert_string_equal(result.videos[1].relative_path, "a/é/renamed.bin"); /* by content */
    assert_string_equal(result.videos[2].relative_path, "b dir/clip two.mp4");
    /* empty, but named as a video: kept so that the run reports it */
    assert_string_equal(result.videos[3].relative_path, "b dir/zz empty.mkv");
    for (int i = 0; i < 4; i++)
        assert_int_equal(result.videos[i].index, i);
    assert_int_equal(p.count, 1);
    assert_non_null(strstr(p.last, "loop"));
    assert_int_equal(result.files_skipped, 3); /* notes.mp4.txt, fake.txt, app.ts */
    assert_int_equal(vs_fingerprint(&result.videos[0], &err), VS_OK);
    assert_int_equal(strlen(result.videos[0].fingerprint), 32);
    vs_video copy = result.videos[2];
    assert_int_equal(vs_fingerprint(&copy, &err), VS_OK);
    assert_string_equal(copy.fingerprint, result.videos[0].fingerprint); /* same bytes */
    vs_scan_free(&result);
}

/* A missing path, a FIFO or a device among the arguments fails that input
 * (a video already FAILED, its error naming it), never the scan; the FIFO
 * is not opened (the test would hang). */
static void bad_arguments_are_failed_videos(void **state)
{
    (void)state;
    const char *dir = test_tmpdir("scan-bad-args");
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/pipe.mp4", dir);
    assert_int_equal(test_sh("mkfifo '%s'", fifo), 0);
    const char *paths[] = {"/nonexistent/clip.mp4", fifo, "/dev/null"};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 3, NULL, NULL, NULL, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(result.videos[i].status, VS_VIDEO_FAILED);
        assert_non_null(strstr(result.videos[i].error.msg, paths[i]));
    }
    assert_non_null(strstr(result.videos[1].error.msg, "FIFO"));
    assert_non_null(strstr(result.videos[2].error.msg, "device"));
    vs_scan_free(&result);
}

/* One file, one video: the same file by another name is dropped, with a note. */
static void the_same_file_twice_is_one_video(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("scan-same"));
    assert_int_equal(test_sh("cd '%s' && mkdir d && "
                             "ffmpeg -loglevel error -f lavfi -i testsrc=size=64x48:rate=5 -t 0.4 "
                             "-pix_fmt yuv420p d/a.mp4 && ln d/a.mp4 d/hard.mp4 && "
                             "ln -s d/a.mp4 soft.mp4 && cp d/a.mp4 copy.mp4",
                             dir),
                     0);
    char plain[4200], dotted[4200], soft[4200], copy[4200], sub[4200];
    snprintf(plain, sizeof plain, "%s/d/a.mp4", dir);
    snprintf(dotted, sizeof dotted, "%s/./d/a.mp4", dir);
    snprintf(soft, sizeof soft, "%s/soft.mp4", dir);
    snprintf(copy, sizeof copy, "%s/copy.mp4", dir);
    snprintf(sub, sizeof sub, "%s/d", dir);
    const char *paths[] = {plain, plain, dotted, soft, copy, sub};
    problems p = {0};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 6, NULL, collect, &p, &result, &err), VS_OK);
    /* a.mp4 once, and copy.mp4: the same bytes, but another file */
    assert_int_equal(result.video_count, 2);
    assert_string_equal(result.videos[0].path, plain);
    assert_string_equal(result.videos[1].path, copy);
    assert_int_equal(result.videos[1].index, 1);
    assert_int_equal(result.duplicates, 5); /* plain, dotted, soft, d/a.mp4, d/hard.mp4 */
    assert_non_null(strstr(p.last, "the same file as"));
    vs_scan_free(&result);
}

/* The run's --out (by inode, whatever the spelling) and any directory
 * holding vidsift outputs are not walked. */
static void output_directories_are_not_walked(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("scan-out"));
    assert_int_equal(test_sh("cd '%s' && mkdir -p out/annotated old/annotated marked && "
                             "ffmpeg -loglevel error -f lavfi -i testsrc=size=64x48:rate=5 -t 0.4 "
                             "-pix_fmt yuv420p clip.mp4 && cp clip.mp4 out/annotated/clip.mp4 && "
                             "cp clip.mp4 old/annotated/clip.mp4 && : > old/results.db && "
                             "cp clip.mp4 marked/clip.mp4 && mkdir marked/annotated && "
                             "cp clip.mp4 marked/annotated/clip.mp4",
                             dir),
                     0);
    char marked[4200], out_other_spelling[4200];
    snprintf(marked, sizeof marked, "%s/marked", dir);
    vs_error err;
    assert_int_equal(vs_mark_output_dir(marked, &err), VS_OK);
    assert_true(vs_is_output_dir(marked));
    snprintf(out_other_spelling, sizeof out_other_spelling, "%s/./out/", dir);
    const char *paths[] = {dir};
    problems p = {0};
    vs_scan_result result;
    assert_int_equal(vs_scan(paths, 1, out_other_spelling, collect, &p, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 1);
    assert_string_equal(result.videos[0].relative_path, "clip.mp4");
    assert_int_equal(p.count, 3); /* marked, old, out */
    vs_scan_free(&result);

    /* Given as the argument (`vidsift run --out . .`): its own files are
     * walked, its annotated/ and snapshots/ are not. */
    const char *outputs[] = {marked};
    assert_int_equal(vs_scan(outputs, 1, marked, collect, &p, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 1);
    assert_string_equal(result.videos[0].relative_path, "clip.mp4");
    vs_scan_free(&result);
}

/* No output path component beyond NAME_MAX, whatever the input's name:
 * a readable prefix, a hash, the extension. */
static void long_names_are_shortened_with_a_hash(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir("scan-long"));
    char name[256];
    memset(name, 'n', 246);
    memcpy(name + 246, "é.mp4", 7); /* 252 bytes; the cut falls inside no character */
    name[253] = 0;
    char other[256];
    snprintf(other, sizeof other, "%s", name);
    other[0] = 'o';
    assert_int_equal(test_sh("cd '%s' && : > '%s' && : > '%s'", dir, name, other), 0);
    char first[4400], second[4400];
    snprintf(first, sizeof first, "%s/%s", dir, name);
    snprintf(second, sizeof second, "%s/%s", dir, other);
    const char *paths[] = {first, second};
    vs_scan_result result;
    vs_error err;
    assert_int_equal(vs_scan(paths, 2, "/tmp/out", NULL, NULL, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 2);
    const char *short_name = result.videos[0].output_name;
    assert_true(strlen(short_name) <= VS_OUTPUT_COMPONENT_MAX);
    assert_int_equal(strncmp(short_name, "nnnnnnnnnn", 10), 0);
    assert_string_equal(short_name + strlen(short_name) - 4, ".mp4");
    assert_non_null(strchr(short_name, '~'));
    assert_string_not_equal(result.videos[0].output_name, result.videos[1].output_name);
    vs_scan_free(&result);

    /* A tree so deep that OUT/snapshots/<name> would pass PATH_MAX. */
    char deep[4096];
    int length = snprintf(deep, sizeof deep, "%s", dir);
    char level[200];
    memset(level, 'd', sizeof level - 1);
    level[sizeof level - 1] = 0;
    while (length < 3880)
        length += snprintf(deep + length, sizeof deep - (size_t)length, "/%s", level);
    assert_int_equal(test_sh("mkdir -p '%s' && cp '%s' '%s/clip.mp4'", deep, first, deep), 0);
    const char *roots[] = {dir};
    assert_int_equal(vs_scan(roots, 1, "/tmp/out", NULL, NULL, &result, &err), VS_OK);
    int found = 0;
    for (int i = 0; i < result.video_count; i++) {
        const char *output = result.videos[i].output_name;
        assert_true(strlen(output) + strlen("/tmp/out/snapshots/") + 160 < 4096);
        found += strstr(output, "/clip~") != NULL; /* folded: scan-long/clip~HASH.mp4 */
    }
    assert_int_equal(found, 1);
    vs_scan_free(&result);
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
    assert_int_equal(vs_scan(paths, 1, NULL, NULL, NULL, &result, &err), VS_OK);
    assert_int_equal(result.video_count, 1); /* so the run reports it by name */
    vs_scan_free(&result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_videos_by_content_in_stable_order),
        cmocka_unit_test(bad_arguments_are_failed_videos),
        cmocka_unit_test(the_same_file_twice_is_one_video),
        cmocka_unit_test(output_directories_are_not_walked),
        cmocka_unit_test(long_names_are_shortened_with_a_hash),
        cmocka_unit_test(explicit_file_is_kept_whatever_its_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
