/* preprocess_stage.c: the preprocess workers. N threads (core/plan.c says
 * how many) take tasks from the batch stage in order: each task is one
 * analysed frame and its position in a batch, and the worker letterboxes or
 * stretches and normalises the picture straight into that position of the
 * batch slot's input buffer (core/preprocess.h) - no copy, no allocation.
 * A batch's seal is a task too. Whoever finishes a batch's last task sends
 * the batch on; batches may leave in any order, and the gather stage puts
 * them back in the order they were sealed.
 *
 * Each worker owns its preprocess state (scalers, scratch), so no two
 * workers share anything but the queues and the positions they were given. */
#include <libavutil/frame.h>

#include "stages.h"

static void fill_position(vs_preprocess_stage *stage, vs_batch_task *task)
{
    vs_batch *batch = task->batch;
    vs_frame *frame = task->frame;
    double started = vs_now_ms();
    vs_error ignored;
    int status = vs_preprocess_frame(&stage->preprocess, frame->picture, frame->video->rotation,
                                     batch->input + (size_t)task->position * stage->frame_floats,
                                     &batch->geometry[task->position], &ignored);
    if (status != VS_OK) {
        /* A frame the scaler cannot take is analysed as empty rather than dropped. */
        frame->analysed = 0;
        task->failed = 1;
        return;
    }
    vs_stats_add(&stage->stats, vs_now_ms() - started, 1);
}

void *vs_preprocess_thread(void *arg)
{
    vs_preprocess_stage *stage = arg;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        vs_batch_task *task = item;
        vs_batch *batch = task->batch;
        if (task->position >= 0)
            fill_position(stage, task);
        /* Release: the pixels written here are seen by whoever sends the batch. */
        if (__atomic_sub_fetch(&batch->pending, 1, __ATOMIC_ACQ_REL) == 0 &&
            vs_queue_push(stage->out, batch) != VS_OK)
            return NULL;
    }
    return NULL; /* the stage table closes stage->out when the last worker returns */
}
