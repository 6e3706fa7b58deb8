/* shard.h: static sharding of a run's videos for array jobs.
 *
 * `vidsift run --shard K/N` keeps the videos whose stable key hashes to
 * shard K of N. The key is the video's path relative to the input root it
 * was found under (vs_video.relative_path), never its absolute path, so the
 * same tree mounted elsewhere shards the same way; and each video's shard
 * depends on its own key only, so adding or removing a file moves no other
 * file to another shard. The hash is FNV-1a 64, fixed and unseeded: every
 * machine of an array computes the same split. */
#ifndef VS_SHARD_H
#define VS_SHARD_H

#include <stdint.h>

#include "frame.h"
#include "vs_error.h"

#define VS_SHARD_MAX 1000000 /* shards in one array: more is a typo */

typedef struct vs_shard {
    int index; /* 0 .. count - 1 */
    int count; /* 1 = no sharding */
} vs_shard;

/* FNV-1a 64 of the key's bytes. */
uint64_t vs_shard_hash(const char *key);
/* The shard (0 .. count - 1) a key belongs to; count >= 1. */
int vs_shard_of(const char *key, int count);

/* Parses --shard's value: "K/N" (0 <= K < N), or "auto", which reads the
 * array index from the environment: SLURM_ARRAY_TASK_ID minus
 * SLURM_ARRAY_TASK_MIN (0 when unset) of SLURM_ARRAY_TASK_COUNT, else
 * JOB_COMPLETION_INDEX (Kubernetes Indexed Job) of shards_option (--shards N;
 * 0 when not given). getenv_fn reads a variable (tests pass their own;
 * NULL: getenv). VS_EINVAL with a line saying what is missing or wrong. */
int vs_shard_parse(const char *text, int shards_option, const char *(*getenv_fn)(const char *name),
                   vs_shard *shard, vs_error *err);

/* Keeps, in order, the videos of this shard at the front of videos[] and
 * returns how many. A video the scan already failed (a missing argument)
 * is sharded by its key like any other: it is reported by one shard only. */
int vs_shard_select(const vs_shard *shard, vs_video *videos, int video_count);

#endif
