/* stats.h: per-stage timing (count, average, p95, max) without allocation.
 *
 * Each stage owns one vs_stage_stats and is its only writer; the report reads
 * it after the stage's thread has been joined. p95 is computed over the last
 * VS_STATS_SAMPLES samples, which keeps memory flat over hours of video. */
#ifndef VS_STATS_H
#define VS_STATS_H

#include <stdint.h>

#define VS_STATS_SAMPLES 8192

typedef struct vs_stage_stats {
    const char *name;
    const char *unit; /* "frame" or "batch": what one sample timed */
    int64_t count;    /* samples taken */
    int64_t frames;   /* frames those samples covered */
    double total_ms, max_ms;
    float samples_ms[VS_STATS_SAMPLES];
} vs_stage_stats;

typedef struct vs_stage_summary {
    const char *name, *unit;
    int64_t count, frames;
    double total_ms, avg_ms, p95_ms, max_ms;
    double ms_per_frame; /* total_ms / frames: what the stage costs per frame */
} vs_stage_summary;

void vs_stats_init(vs_stage_stats *stats, const char *name, const char *unit);
void vs_stats_add(vs_stage_stats *stats, double ms, int frames);
/* Folds other into stats (for stages that run as several threads). */
void vs_stats_merge(vs_stage_stats *stats, const vs_stage_stats *other);
void vs_stats_summary(const vs_stage_stats *stats, vs_stage_summary *summary);
/* The name of the stage that costs most wall time per frame, or NULL when no
 * stage recorded any: a run that analysed no frame has no bottleneck. */
const char *vs_stats_bottleneck(const vs_stage_summary *stages, int count);
double vs_now_ms(void); /* monotonic clock */

#endif
