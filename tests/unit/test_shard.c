/* Static sharding: every video in exactly one shard, a new file moves no
 * other, the hash is the fixed FNV-1a, --shard K/N and auto parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shard.h"

#define VIDEO_COUNT 500

static vs_video *make_videos(int count)
{
    vs_video *videos = calloc((size_t)count, sizeof *videos);
    assert_non_null(videos);
    for (int i = 0; i < count; i++) {
        snprintf(videos[i].relative_path, sizeof videos[i].relative_path,
                 "cam%d/day%02d/clip%04d.mp4", i % 7, i % 31, i);
        snprintf(videos[i].path, sizeof videos[i].path, "/mnt/site-%d/%s", i % 3,
                 videos[i].relative_path);
        videos[i].index = i;
    }
    return videos;
}

static void hash_is_fixed_fnv1a(void **state)
{
    (void)state;
    /* Published FNV-1a 64 values: the split must never depend on the build. */
    assert_true(vs_shard_hash("") == 0xcbf29ce484222325ull);
    assert_true(vs_shard_hash("a") == 0xaf63dc4c8601ec8cull);
    assert_true(vs_shard_hash("foobar") == 0x85944171f73967e8ull);
    assert_int_equal(vs_shard_of("anything", 1), 0);
}

static void every_video_in_exactly_one_shard(void **state)
{
    (void)state;
    for (int count = 1; count <= 9; count += 4) {
        int seen[VIDEO_COUNT] = {0};
        int total = 0, smallest = VIDEO_COUNT, largest = 0;
        for (int index = 0; index < count; index++) {
            vs_video *videos = make_videos(VIDEO_COUNT);
            vs_shard shard = {index, count};
            int kept = vs_shard_select(&shard, videos, VIDEO_COUNT);
            for (int i = 0; i < kept; i++) {
                int original = atoi(strstr(videos[i].relative_path, "clip") + 4);
                seen[original]++;
                assert_int_equal(videos[i].index, i);
                if (i > 0) /* input order kept */
                    assert_true(atoi(strstr(videos[i - 1].relative_path, "clip") + 4) < original);
            }
            total += kept;
            smallest = kept < smallest ? kept : smallest;
            largest = kept > largest ? kept : largest;
            free(videos);
        }
        assert_int_equal(total, VIDEO_COUNT);
        for (int i = 0; i < VIDEO_COUNT; i++)
            assert_int_equal(seen[i], 1);
        /* Roughly even: no shard gets twice its share. */
        assert_true(largest <= 2 * VIDEO_COUNT / count + 10);
        assert_true(count == 1 || smallest >= VIDEO_COUNT / count / 2);
    }
}

static void key_is_relative_path_and_new_files_move_nothing(void **state)
{
    (void)state;
    vs_video *videos = make_videos(VIDEO_COUNT);
    int before[VIDEO_COUNT];
    for (int i = 0; i < VIDEO_COUNT; i++)
        before[i] = vs_shard_of(videos[i].relative_path, 5);
    /* The same tree mounted elsewhere, with 100 files added in between. */
    vs_video *grown = calloc(VIDEO_COUNT + 100, sizeof *grown);
    assert_non_null(grown);
    for (int i = 0, j = 0; i < VIDEO_COUNT; i++) {
        if (i % 5 == 0) {
            snprintf(grown[j].relative_path, sizeof grown[j].relative_path, "new/extra%d.mp4", i);
            j++;
        }
        grown[j] = videos[i];
        snprintf(grown[j].path, sizeof grown[j].path, "/elsewhere/%s", videos[i].relative_path);
        j++;
    }
    for (int shard_index = 0; shard_index < 5; shard_index++) {
        vs_video *copy = malloc((VIDEO_COUNT + 100) * sizeof *copy);
        assert_non_null(copy);
        memcpy(copy, grown, (VIDEO_COUNT + 100) * sizeof *copy);
        vs_shard shard = {shard_index, 5};
        int kept = vs_shard_select(&shard, copy, VIDEO_COUNT + 100);
        for (int i = 0; i < kept; i++) {
            const char *clip = strstr(copy[i].relative_path, "clip");
            if (clip)
                assert_int_equal(before[atoi(clip + 4)], shard_index);
        }
        free(copy);
    }
    free(grown);
    free(videos);
}

static const char *fake_env[8][2];

static const char *fake_getenv(const char *name)
{
    for (int i = 0; i < 8 && fake_env[i][0]; i++)
        if (!strcmp(fake_env[i][0], name))
            return fake_env[i][1];
    return NULL;
}

static void set_env(const char *a, const char *va, const char *b, const char *vb, const char *c,
                    const char *vc)
{
    memset(fake_env, 0, sizeof fake_env);
    fake_env[0][0] = a, fake_env[0][1] = va;
    fake_env[1][0] = b, fake_env[1][1] = vb;
    fake_env[2][0] = c, fake_env[2][1] = vc;
}

static void parses_k_of_n_and_auto(void **state)
{
    (void)state;
    vs_shard shard;
    vs_error err = {{0}};
    set_env(NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(vs_shard_parse("2/3", 0, fake_getenv, &shard, &err), VS_OK);
    assert_int_equal(shard.index, 2);
    assert_int_equal(shard.count, 3);
    const char *bad[] = {"3/3", "-1/3", "1/0", "1", "a/b", "1/3x", "/3", "1/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(vs_shard_parse(bad[i], 0, fake_getenv, &shard, &err), VS_EINVAL);
        assert_non_null(strstr(err.msg, "--shard"));
    }
    assert_int_equal(vs_shard_parse("1/3", 4, fake_getenv, &shard, &err), VS_EINVAL);
    assert_int_equal(vs_shard_parse("auto", 0, fake_getenv, &shard, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "SLURM_ARRAY_TASK_ID"));

    /* sbatch --array=1-4: ids 1..4, min 1, count 4. */
    set_env("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "4");
    assert_int_equal(vs_shard_parse("auto", 0, fake_getenv, &shard, &err), VS_OK);
    assert_int_equal(shard.index, 2);
    assert_int_equal(shard.count, 4);
    set_env("SLURM_ARRAY_TASK_ID", "9", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_COUNT", "4");
    assert_int_equal(vs_shard_parse("auto", 0, fake_getenv, &shard, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "--array=0-3"));

    set_env("JOB_COMPLETION_INDEX", "4", NULL, NULL, NULL, NULL);
    assert_int_equal(vs_shard_parse("auto", 0, fake_getenv, &shard, &err), VS_EINVAL);
    assert_non_null(strstr(err.msg, "--shards N"));
    assert_int_equal(vs_shard_parse("auto", 5, fake_getenv, &shard, &err), VS_OK);
    assert_int_equal(shard.index, 4);
    assert_int_equal(shard.count, 5);
    assert_int_equal(vs_shard_parse("auto", 4, fake_getenv, &shard, &err), VS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_is_fixed_fnv1a),
        cmocka_unit_test(every_video_in_exactly_one_shard),
        cmocka_unit_test(key_is_relative_path_and_new_files_move_nothing),
        cmocka_unit_test(parses_k_of_n_and_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
