/* stats.c: stage timing; see stats.h. */
#include "stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double vs_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

void vs_stats_init(vs_stage_stats *stats, const char *name, const char *unit)
{
    memset(stats, 0, sizeof *stats);
    stats->name = name;
    stats->unit = unit;
}

void vs_stats_add(vs_stage_stats *stats, double ms, int frames)
{
    stats->samples_ms[stats->count % VS_STATS_SAMPLES] = (float)ms;
    stats->count++;
    stats->frames += frames;
    stats->total_ms += ms;
    if (ms > stats->max_ms)
        stats->max_ms = ms;
}

void vs_stats_merge(vs_stage_stats *stats, const vs_stage_stats *other)
{
    int64_t kept = other->count < VS_STATS_SAMPLES ? other->count : VS_STATS_SAMPLES;
    for (int64_t i = 0; i < kept; i++)
        stats->samples_ms[(stats->count + i) % VS_STATS_SAMPLES] = other->samples_ms[i];
    stats->count += other->count;
    stats->frames += other->frames;
    stats->total_ms += other->total_ms;
    if (other->max_ms > stats->max_ms)
        stats->max_ms = other->max_ms;
}

static int compare_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void vs_stats_summary(const vs_stage_stats *stats, vs_stage_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    summary->name = stats->name;
    summary->unit = stats->unit;
    summary->count = stats->count;
    summary->frames = stats->frames;
    summary->total_ms = stats->total_ms;
    summary->max_ms = stats->max_ms;
    if (stats->count == 0)
        return;
    summary->avg_ms = stats->total_ms / (double)stats->count;
    if (stats->frames > 0)
        summary->ms_per_frame = stats->total_ms / (double)stats->frames;
    int64_t kept = stats->count < VS_STATS_SAMPLES ? stats->count : VS_STATS_SAMPLES;
    /* Runs once per report, after the run: a copy here is not per frame. */
    float *sorted = malloc((size_t)kept * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, stats->samples_ms, (size_t)kept * sizeof *sorted);
    qsort(sorted, (size_t)kept, sizeof *sorted, compare_float);
    int64_t rank = (kept * 95 + 99) / 100 - 1;
    summary->p95_ms = sorted[rank < 0 ? 0 : rank];
    free(sorted);
}

const char *vs_stats_bottleneck(const vs_stage_summary *stages, int count)
{
    const char *name = NULL;
    double worst = 0; /* strictly more than nothing: a stage of zeros is no bottleneck */
    for (int s = 0; s < count; s++)
        if (stages[s].ms_per_frame > worst) {
            worst = stages[s].ms_per_frame;
            name = stages[s].name;
        }
    return name;
}
