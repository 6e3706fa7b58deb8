/* core/stats.c: stage timings and the bottleneck the summary names. The
 * bottleneck is the stage with the most time per frame; a run in which no
 * stage recorded any time (no frame decoded: every video failed to open, or
 * none was given work) names none, rather than the first row of zeros. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stats.h"

static void summary_counts_frames_and_time(void **state)
{
    (void)state;
    static vs_stage_stats stats; /* 32 KiB of samples: not on the stack */
    vs_stats_init(&stats, "inference", "batch");
    vs_stats_add(&stats, 40, 8);
    vs_stats_add(&stats, 20, 2);
    vs_stage_summary summary;
    vs_stats_summary(&stats, &summary);
    assert_string_equal(summary.name, "inference");
    assert_int_equal(summary.count, 2);
    assert_int_equal(summary.frames, 10);
    assert_true(summary.avg_ms == 30);
    assert_true(summary.ms_per_frame == 6);
    assert_true(summary.max_ms == 40);
}

static void the_costliest_stage_per_frame_is_the_bottleneck(void **state)
{
    (void)state;
    vs_stage_summary stages[3] = {
        {.name = "decode", .ms_per_frame = 0.5},
        {.name = "inference", .ms_per_frame = 12},
        {.name = "sinks", .ms_per_frame = 3},
    };
    assert_string_equal(vs_stats_bottleneck(stages, 3), "inference");
}

static void no_time_recorded_no_bottleneck(void **state)
{
    (void)state;
    static vs_stage_stats empty;
    vs_stage_summary stages[4];
    const char *names[4] = {"decode", "preprocess", "inference", "sinks"};
    for (int s = 0; s < 4; s++) {
        vs_stats_init(&empty, names[s], "frame");
        vs_stats_summary(&empty, &stages[s]);
    }
    assert_null(vs_stats_bottleneck(stages, 4));
    assert_null(vs_stats_bottleneck(stages, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(summary_counts_frames_and_time),
        cmocka_unit_test(the_costliest_stage_per_frame_is_the_bottleneck),
        cmocka_unit_test(no_time_recorded_no_bottleneck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
