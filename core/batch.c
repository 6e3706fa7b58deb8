/* batch.c: the batch stage. Takes frame slots in arrival order (frames of
 * several videos interleave), preprocesses each analysed frame straight into
 * the next free position of the current batch's input buffer, and sends the
 * batch on when it holds max_batch analysed frames, when its entry list is
 * full, or at the end of input - so short clips still fill batches - and
 * whenever a decoder waits for memory (the run's budget, which the frames
 * held here take: holding them for a full batch would never end). A waiting
 * decoder also sends a NULL item, which wakes this stage to do that; it
 * passes it on to the inference stage, which holds one batch back.
 *
 * It owns the batch it is filling; nothing else. Never allocates. */
#include <libavutil/frame.h>

#include "stages.h"

static int send_batch(vs_batch_stage *stage, vs_batch **batch)
{
    int status = vs_queue_push(stage->out, *batch);
    *batch = NULL;
    return status;
}

void *vs_batch_thread(void *arg)
{
    vs_batch_stage *stage = arg;
    vs_batch *batch = NULL;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        if (!item) {
            if (batch && batch->entry_count > 0 && send_batch(stage, &batch) != VS_OK)
                return NULL;
            if (vs_queue_push(stage->out, NULL) != VS_OK) /* inference holds a batch too */
                return NULL;
            continue;
        }
        vs_frame *frame = item;
        if (!batch) {
            batch = vs_pool_get(stage->batches);
            if (!batch)
                return NULL;
            batch->frames = batch->entry_count = batch->output_count = batch->failed = 0;
        }
        if (frame->kind == VS_FRAME_PICTURE && frame->analysed) {
            double started = vs_now_ms();
            int position = batch->frames;
            int status =
                vs_preprocess_frame(&stage->preprocess, frame->picture, frame->video->rotation,
                                    batch->input + position * stage->frame_floats,
                                    &batch->geometry[position], &stage->error);
            if (status != VS_OK) {
                /* A frame the scaler cannot take is analysed as empty rather than dropped. */
                frame->analysed = 0;
            } else {
                batch->frames++;
                vs_stats_add(&stage->stats, vs_now_ms() - started, 1);
            }
        }
        batch->entries[batch->entry_count++] = frame;
        if (batch->frames == stage->max_batch || batch->entry_count == stage->entry_capacity ||
            vs_budget_waiting(stage->budget))
            if (send_batch(stage, &batch) != VS_OK)
                return NULL;
    }
    if (batch && batch->entry_count > 0)
        send_batch(stage, &batch);
    else if (batch)
        vs_pool_put(stage->batches, batch);
    return NULL; /* the stage table closes stage->out (core/graph.c) */
}
