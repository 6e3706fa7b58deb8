/* sink.c: the sink stage. For each frame, in order per video: detections to
 * the store, the picture to the video's annotator, crops to its snapshots;
 * then the frame slot and, at the end of a batch, the batch slot go back to
 * their pools. A video's files are opened at its START marker and finalized
 * at its END marker, so several videos (--jobs) can be open at once.
 *
 * A failing annotator or snapshot fails that video only; a failing store
 * stops the run (the database is the record of what was done).
 *
 * A video's output_name is settled by the store when its row is recorded
 * (vs_store_begin_video), so that no two videos of a database share an
 * annotated file or a snapshot directory; the outputs are opened after. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libavutil/frame.h>

#include "annotate.h"
#include "snapshot.h"
#include "stages.h"
#include "store.h"

void vs_frame_release(vs_pool *frames, vs_frame *frame)
{
    if (frame->picture)
        av_frame_unref(frame->picture);
    if (frame->budget_bytes > 0)
        vs_budget_give(frame->budget, frame->budget_bytes);
    frame->budget_bytes = 0;
    vs_pool_put(frames, frame);
}

/* The decoder owns video->status until the END marker; until then the sink
 * keeps its own record of a failure and merges it at the end. */
static void fail_video(vs_sink_video *state, const vs_error *error)
{
    if (state->failed)
        return; /* keep the first reason */
    state->failed = 1;
    state->error = *error;
}

/* Mirrors the input tree; ".mp4" is appended unless already there, so a.mkv
 * and a.mp4 side by side never collide. */
static void annotated_path(const vs_sink_stage *stage, const vs_video *video, char *path,
                           size_t size)
{
    size_t length = strlen(video->output_name);
    int has_mp4 = length > 4 && !strcasecmp(video->output_name + length - 4, ".mp4");
    snprintf(path, size, "%s/annotated/%s%s", stage->out_dir, video->output_name,
             has_mp4 ? "" : ".mp4");
}

static int start_video(vs_sink_stage *stage, vs_video *video, vs_sink_video *state)
{
    vs_error error = {{0}};
    state->started = 1;
    if (stage->store && vs_store_begin_video(stage->store, stage->run_id, video, &state->video_id,
                                             &stage->error) != VS_OK)
        return VS_EIO;
    if (stage->annotate) {
        char path[8400];
        annotated_path(stage, video, path, sizeof path);
        if (vs_annotate_open(&state->annotate, video, path, &error) != VS_OK)
            fail_video(state, &error);
        else
            vs_annotate_set_zones(state->annotate, stage->zones);
    }
    if (stage->snapshots) {
        char dir[8400];
        snprintf(dir, sizeof dir, "%s/snapshots/%s", stage->out_dir, video->output_name);
        if (vs_snapshot_open(&state->snapshot, video, dir, &error) != VS_OK)
            fail_video(state, &error);
    }
    return VS_OK;
}

static int add_picture(vs_sink_stage *stage, const vs_frame *frame, vs_sink_video *state)
{
    vs_error error = {{0}};
    if (stage->store && (frame->analysed || frame->carried) &&
        vs_store_add_frame(stage->store, state->video_id, frame, stage->labels, &stage->error) !=
            VS_OK)
        return VS_EIO;
    if (state->annotate &&
        vs_annotate_frame(state->annotate, frame, stage->labels, &error) != VS_OK) {
        fail_video(state, &error);
        vs_annotate_close(state->annotate, 0, &error);
        state->annotate = NULL;
    }
    if (state->snapshot && frame->analysed &&
        vs_snapshot_frame(state->snapshot, frame, stage->labels, &error) != VS_OK) {
        fail_video(state, &error);
        vs_snapshot_close(state->snapshot, NULL, 0, &error);
        state->snapshot = NULL;
    }
    __atomic_add_fetch(&stage->detections, frame->detection_count, __ATOMIC_RELAXED);
    return VS_OK;
}

static int end_video(vs_sink_stage *stage, vs_video *video, vs_sink_video *state)
{
    vs_error error = {{0}};
    /* A video that never opened has no START marker: its row still records why. */
    if (!state->started && stage->store &&
        vs_store_begin_video(stage->store, stage->run_id, video, &state->video_id, &stage->error) !=
            VS_OK)
        return VS_EIO;
    int finalize = video->status == VS_VIDEO_DONE || video->status == VS_VIDEO_FAILED;
    if (state->annotate) {
        /* An annotated copy the encoder cannot take is a warning, not a failure. */
        int skipped = vs_annotate_skipped(state->annotate);
        const char *note = vs_annotate_note(state->annotate);
        size_t used = strlen(video->warning); /* the tracker may have said something */
        if (note)
            snprintf(video->warning + used, sizeof video->warning - used, "%s%s", used ? "; " : "",
                     note);
        int closed = vs_annotate_close(state->annotate, finalize, &error);
        state->annotate = NULL; /* freed: abandon_video must not see it again */
        if (closed != VS_OK) {
            fail_video(state, &error);
        } else if (finalize && stage->store && !skipped) {
            char path[8400];
            annotated_path(stage, video, path, sizeof path);
            if (vs_store_set_annotated(stage->store, state->video_id, path, &stage->error) != VS_OK)
                return VS_EIO;
        }
    }
    /* Snapshot rows go into the store before the video's status does, so a
     * video marked 'done' has all of its rows. */
    if (state->snapshot &&
        vs_snapshot_close(state->snapshot, stage->store, state->video_id, &error) != VS_OK)
        fail_video(state, &error);
    state->snapshot = NULL;
    if (state->failed && video->status == VS_VIDEO_DONE) {
        __atomic_store_n(&video->status, VS_VIDEO_FAILED, __ATOMIC_RELAXED); /* progress reads it */
        video->error = state->error;
    }
    if (stage->store &&
        vs_store_end_video(stage->store, state->video_id, video, &stage->error) != VS_OK)
        return VS_EIO;
    return VS_OK;
}

/* Once the store has failed no frame is consumed, yet the video open at that
 * moment still holds its annotator and snapshots: drop them (the .part file
 * goes too), and say in memory that the video's rows are not in the
 * database, so that the report and the exit status never call it done. */
static void abandon_video(vs_sink_stage *stage, vs_video *video)
{
    vs_sink_video *state = &stage->per_video[video->index];
    vs_error ignored;
    vs_annotate_close(state->annotate, 0, &ignored);
    state->annotate = NULL;
    vs_snapshot_close(state->snapshot, NULL, 0, &ignored);
    state->snapshot = NULL;
    if (video->status == VS_VIDEO_DONE) {
        __atomic_store_n(&video->status, VS_VIDEO_FAILED, __ATOMIC_RELAXED); /* progress reads it */
        video->error = stage->error;
        vs_error_prefix(&video->error, "%s: not recorded", VS_NAME(video->path));
    }
}

static int consume(vs_sink_stage *stage, vs_frame *frame)
{
    vs_video *video = frame->video;
    vs_sink_video *state = &stage->per_video[video->index];
    switch (frame->kind) {
    case VS_FRAME_VIDEO_START: return start_video(stage, video, state);
    case VS_FRAME_VIDEO_END:
        /* The tracker's last events (visits it closed, speeds) ride on the marker. */
        if (stage->store && state->started && frame->event_count > 0 &&
            vs_store_add_frame(stage->store, state->video_id, frame, stage->labels,
                               &stage->error) != VS_OK)
            return VS_EIO;
        __atomic_store_n(&video->sink_ended, 1, __ATOMIC_RELAXED);
        return end_video(stage, video, state);
    case VS_FRAME_PICTURE: {
        double started = vs_now_ms();
        int status = add_picture(stage, frame, state);
        vs_stats_add(&stage->stats, vs_now_ms() - started, 1);
        __atomic_add_fetch(&stage->frames_done, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&video->frames_finished, frame->index + 1, __ATOMIC_RELAXED);
        return status;
    }
    }
    return VS_OK;
}

void *vs_sink_thread(void *arg)
{
    vs_sink_stage *stage = arg;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        vs_batch *batch = item;
        for (int i = 0; i < batch->entry_count; i++) {
            vs_frame *frame = batch->entries[i];
            if (batch->failed && frame->kind == VS_FRAME_PICTURE && frame->analysed)
                fail_video(&stage->per_video[frame->video->index], &batch->error);
            if (!stage->failed && consume(stage, frame) != VS_OK) {
                /* Keep draining so upstream never blocks; the decoders see the flag and stop. */
                __atomic_store_n(&stage->failed, 1, __ATOMIC_RELAXED);
            }
            if (stage->failed && frame->kind == VS_FRAME_VIDEO_END)
                abandon_video(stage, frame->video);
            vs_frame_release(stage->frames, frame);
        }
        vs_pool_put(stage->batches, batch);
        /* Commit before waiting for the next batch: a write transaction never
         * spans an inference, so another run sharing the database waits for
         * one batch's rows at most, never for the model. */
        if (stage->store && !stage->failed && vs_store_commit(stage->store, &stage->error) != VS_OK)
            __atomic_store_n(&stage->failed, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}
