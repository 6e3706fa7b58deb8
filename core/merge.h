/* merge.h: `vidsift merge` - many shard databases into one.
 *
 * The databases of an array job's shards, or of Redis workers, become one
 * database with the schema of a single-machine run: every run copied (ids
 * remapped), each video once. When several databases hold the same video
 * (same canonical path: a requeued shard, a redelivered queue entry), the
 * copy kept is the best one: 'done' beats 'failed' beats anything else
 * (a row left 'running' by a killed process), and among equals the newest
 * (ended_at). Two 'done' copies that disagree (content fingerprint,
 * analysis, frames analysed or detection count) are reported through the
 * callback: the newer one is kept, and the user learns that the file or
 * the options changed between the shards.
 *
 * Safe to rerun with the same or more shards: a run already merged
 * (same start time, host and options) is not copied again, and a video's
 * row is only replaced by a strictly better copy, so a second merge of the
 * same inputs changes nothing. Each shard is merged in one transaction: a
 * merge killed half-way leaves OUT as it was after the last whole shard.
 *
 * Implemented in core/store.c, which owns the schema the merge copies. */
#ifndef VS_MERGE_H
#define VS_MERGE_H

#include <stdint.h>

#include "vs_error.h"

typedef void (*vs_merge_report)(void *context, const char *line);

typedef struct vs_merge_result {
    int shards;          /* databases read */
    int runs_added;      /* runs copied (already merged runs are not) */
    int videos_added;    /* videos new to OUT */
    int videos_replaced; /* better copies that replaced OUT's row */
    int videos_kept;     /* copies no better than OUT's row, left out */
    int disagreements;   /* 'done' copies that differ, reported */
    int64_t detections_added;
} vs_merge_result;

/* Merges shard_paths[0 .. shard_count - 1] into out_path (created when
 * missing, migrated when older). A shard must be a vidsift database of
 * schema v2 (a run of this build writes one; an older database becomes v2
 * by running `vidsift run` on it once) and must not be out_path itself.
 * Errors: VS_EIO naming the database at fault; OUT keeps every shard merged
 * before it. */
int vs_merge(const char *out_path, const char *const *shard_paths, int shard_count,
             vs_merge_report report, void *context, vs_merge_result *result, vs_error *err);

#endif
