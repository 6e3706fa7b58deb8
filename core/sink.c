/* sink.c: the sink stage. For each frame, in order per video, the outputs
 * (output.h: the store, the annotated video, the snapshots) each take it;
 * then the frame slot and, at the end of a batch, the batch slot go back to
 * their pools. A video's outputs are opened at its START marker and ended
 * at its END marker, so several videos (--jobs) can be open at once; their
 * state lives in a table of the videos in flight (inflight.h), claimed at a
 * video's first marker and released at its END.
 *
 * A failing output fails that video only, unless it is one whose failure
 * stops the run (the store: the database is the record of what was done).
 *
 * A video's output_name is settled by the store when its row is recorded
 * (vs_store_begin_video), so that no two videos of a database share an
 * annotated file or a snapshot directory: the store is the first output,
 * and the others open after it. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/frame.h>

#include "stages.h"
#include "store.h"

void vs_frame_hold(vs_frame *frame)
{
    __atomic_add_fetch(&frame->holds, 1, __ATOMIC_RELAXED);
}

void vs_frame_release(vs_pool *frames, vs_frame *frame)
{
    /* Another holder still reads the frame: the last release returns it.
     * Acquire-release: its reads are done before the slot is reused. */
    if (__atomic_fetch_sub(&frame->holds, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    frame->holds = 0;
    if (frame->picture)
        av_frame_unref(frame->picture);
    if (frame->budget_bytes > 0)
        vs_budget_give(frame->budget, frame->budget_bytes);
    frame->budget_bytes = 0;
    vs_pool_put(frames, frame);
}

int vs_sink_init(vs_sink_stage *stage, int videos_in_flight, vs_error *err)
{
    assert(stage->output_count <= VS_SINK_OUTPUTS_MAX);
    vs_stats_init(&stage->stats, "sinks", "frame");
    return vs_inflight_init(&stage->videos, videos_in_flight, sizeof(vs_sink_video), err);
}

void vs_sink_free(vs_sink_stage *stage)
{
    for (int i = 0; i < stage->output_count; i++)
        if (stage->outputs[i].ops->close)
            stage->outputs[i].ops->close(stage->outputs[i].self);
    stage->output_count = 0;
    vs_inflight_free(&stage->videos);
}

/* The decoder owns video->status until the END marker; until then the sink
 * keeps its own record of a failure and merges it at the end. */
static void fail_video(vs_sink_video *state, const vs_error *error)
{
    if (state->shared.failed)
        return; /* keep the first reason */
    state->shared.failed = 1;
    state->shared.error = *error;
}

/* The store failed: nothing more can be recorded, the decoders stop. */
static int fail_run(vs_sink_stage *stage, const vs_error *error)
{
    if (!stage->failed)
        stage->error = *error;
    __atomic_store_n(&stage->failed, 1, __ATOMIC_RELAXED);
    if (stage->halt)
        __atomic_store_n(stage->halt, 1, __ATOMIC_RELAXED);
    return VS_EIO;
}

/* An output that failed on a video sees no more of it: its file is dropped
 * (keep 0) and the video fails with the output's reason. */
static int output_failed(vs_sink_stage *stage, vs_sink_video *state, int i, const vs_frame *marker,
                         const vs_error *error)
{
    const vs_output *output = &stage->outputs[i];
    if (output->ops->fails_run)
        return fail_run(stage, error);
    fail_video(state, error);
    vs_error ignored;
    output->ops->end_video(output->self, state->states[i], &state->shared, marker, 0, &ignored);
    state->states[i] = NULL;
    state->closed[i] = 1;
    return VS_OK;
}

static int start_video(vs_sink_stage *stage, const vs_frame *marker, vs_sink_video *state)
{
    state->started = 1;
    for (int i = 0; i < stage->output_count; i++) {
        const vs_output *output = &stage->outputs[i];
        vs_error error = {{0}};
        if (output->ops->open_video(output->self, &state->shared, &state->states[i], &error) !=
                VS_OK &&
            output_failed(stage, state, i, marker, &error) != VS_OK)
            return VS_EIO;
    }
    return VS_OK;
}

static int add_picture(vs_sink_stage *stage, vs_frame *frame, vs_sink_video *state)
{
    for (int i = 0; i < stage->output_count; i++) {
        const vs_output *output = &stage->outputs[i];
        vs_error error = {{0}};
        if (state->closed[i])
            continue;
        if (output->ops->add_frame(output->self, state->states[i], &state->shared, frame, &error) !=
                VS_OK &&
            output_failed(stage, state, i, frame, &error) != VS_OK)
            return VS_EIO;
    }
    __atomic_add_fetch(&stage->detections, frame->detection_count, __ATOMIC_RELAXED);
    return VS_OK;
}

/* An output's failure becomes the video's, once the decoder is done with it. */
static void settle_status(vs_sink_video *state)
{
    vs_video *video = state->shared.video;
    if (state->shared.failed && video->status == VS_VIDEO_DONE) {
        __atomic_store_n(&video->status, VS_VIDEO_FAILED, __ATOMIC_RELAXED); /* progress reads it */
        video->error = state->shared.error;
    }
}

/* Outputs end in reverse order: the store, first to open, records the video
 * last, with the rows of the others in and its final status settled. */
static int end_video(vs_sink_stage *stage, const vs_frame *marker, vs_sink_video *state)
{
    for (int i = stage->output_count - 1; i >= 0; i--) {
        const vs_output *output = &stage->outputs[i];
        vs_error error = {{0}};
        if (state->closed[i])
            continue;
        if (output->ops->fails_run)
            settle_status(state);
        void *output_state = state->states[i];
        state->states[i] = NULL; /* freed by end_video: abandon_video must not see it again */
        state->closed[i] = 1;
        int status =
            output->ops->end_video(output->self, output_state, &state->shared, marker, 1, &error);
        if (status != VS_OK) {
            if (output->ops->fails_run)
                return fail_run(stage, &error);
            fail_video(state, &error);
        }
    }
    settle_status(state);
    return VS_OK;
}

/* Once the store has failed no frame is consumed, yet a video open at that
 * moment still holds its outputs: drop them (the .part file goes too), and
 * say in memory that the video's rows are not in the database, so that the
 * report and the exit status never call it done. */
static void abandon_video(vs_sink_stage *stage, const vs_frame *marker, vs_sink_video *state)
{
    vs_video *video = marker->video;
    for (int i = stage->output_count - 1; state && i >= 0; i--) {
        vs_error ignored;
        if (!state->closed[i])
            stage->outputs[i].ops->end_video(stage->outputs[i].self, state->states[i],
                                             &state->shared, marker, 0, &ignored);
        state->states[i] = NULL;
        state->closed[i] = 1;
    }
    if (video->status == VS_VIDEO_DONE) {
        __atomic_store_n(&video->status, VS_VIDEO_FAILED, __ATOMIC_RELAXED); /* progress reads it */
        video->error = stage->error;
        vs_error_prefix(&video->error, "%s: not recorded", VS_NAME(video->path));
    }
}

/* The video's slot, claimed at its first marker: START, or END for a video
 * that never opened. NULL only when out of memory. */
static vs_sink_video *video_state(vs_sink_stage *stage, vs_video *video)
{
    vs_sink_video *state = vs_inflight_find(&stage->videos, video->index);
    if (!state && (state = vs_inflight_claim(&stage->videos, video->index)))
        state->shared.video = video;
    return state;
}

static int consume(vs_sink_stage *stage, vs_frame *frame)
{
    vs_video *video = frame->video;
    vs_sink_video *state = video_state(stage, video);
    if (!state) {
        vs_error error;
        vs_fail(&error, VS_ENOMEM, "%s: out of memory for its outputs", VS_NAME(video->path));
        return fail_run(stage, &error);
    }
    switch (frame->kind) {
    case VS_FRAME_VIDEO_START: return start_video(stage, frame, state);
    case VS_FRAME_VIDEO_END: {
        __atomic_store_n(&video->sink_ended, 1, __ATOMIC_RELAXED);
        int status = end_video(stage, frame, state);
        vs_inflight_release(&stage->videos, video->index);
        return status;
    }
    case VS_FRAME_PICTURE: {
        assert(state->started); /* the decoder sends START before any picture */
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
            if (batch->failed && frame->kind == VS_FRAME_PICTURE && frame->analysed) {
                vs_sink_video *state = vs_inflight_find(&stage->videos, frame->video->index);
                if (state)
                    fail_video(state, &batch->error);
            }
            /* Keep draining so upstream never blocks; the decoders see the
             * halt flag and stop. */
            if (!stage->failed)
                consume(stage, frame);
            if (stage->failed && frame->kind == VS_FRAME_VIDEO_END) {
                abandon_video(stage, frame, vs_inflight_find(&stage->videos, frame->video->index));
                vs_inflight_release(&stage->videos, frame->video->index);
            }
            vs_frame_release(stage->frames, frame);
        }
        vs_pool_put(stage->batches, batch);
        /* Commit before waiting for the next batch: a write transaction never
         * spans an inference, so another run sharing the database waits for
         * one batch's rows at most, never for the model. */
        vs_error error = {{0}};
        if (stage->store && !stage->failed && vs_store_commit(stage->store, &error) != VS_OK)
            fail_run(stage, &error);
    }
    return NULL;
}
