/* batch.c: the batch stage. Takes frame slots in arrival order (frames of
 * several videos interleave), gives each analysed frame the next position of
 * the current batch's input buffer and hands (frame, position) to the
 * preprocess workers (core/preprocess_stage.c), which write straight into
 * that position. It seals the batch - no more positions - when it holds
 * max_batch analysed frames, when its entry list is full, or at the end of
 * input - so short clips still fill batches - and whenever a decoder waits
 * for memory (the run's budget, which the frames held here take: holding
 * them for a full batch would never end). The gather stage (core/gather.c)
 * sends sealed batches on once every position is filled, in sealing order.
 *
 * A waiting decoder also sends a NULL item, which wakes this stage to seal
 * what it holds; the batch is marked so that gather passes a NULL on to the
 * inference stage, which holds one batch back. With nothing held, an empty
 * batch carries the mark.
 *
 * It owns the batch it is filling until the seal; nothing else. Never
 * allocates: tasks live in the batch slot, one per position. */
#include <assert.h>

#include "stages.h"

static vs_batch *start_batch(vs_batch_stage *stage)
{
    vs_batch *batch = vs_pool_get(stage->batches);
    if (!batch)
        return NULL; /* the pool was aborted */
    batch->frames = batch->entry_count = batch->output_count = batch->failed = batch->wake = 0;
    batch->pending = 1; /* the seal */
    return batch;
}

/* Hands the batch to the workers for the last time: whichever of them
 * finishes its last task sends it to gather. */
static int seal(vs_batch_stage *stage, vs_batch **batch)
{
    (*batch)->sequence = stage->sealed++;
    int status = vs_queue_push(stage->out, &(*batch)->seal);
    *batch = NULL;
    return status;
}

static int add_frame(vs_batch_stage *stage, vs_batch *batch, vs_frame *frame)
{
    assert(batch->entry_count < stage->entry_capacity);
    batch->entries[batch->entry_count++] = frame;
    if (frame->kind != VS_FRAME_PICTURE || !frame->analysed)
        return VS_OK;
    assert(batch->frames < stage->max_batch);
    vs_batch_task *task = &batch->tasks[batch->frames++];
    task->frame = frame;
    task->failed = 0;
    __atomic_add_fetch(&batch->pending, 1, __ATOMIC_RELAXED); /* before a worker can see it */
    return vs_queue_push(stage->out, task);
}

void *vs_batch_thread(void *arg)
{
    vs_batch_stage *stage = arg;
    vs_batch *batch = NULL;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        if (!batch && !(batch = start_batch(stage)))
            return NULL;
        if (!item) { /* a decoder waits for memory: send what is held, wake inference */
            batch->wake = 1;
            if (seal(stage, &batch) != VS_OK)
                return NULL;
            continue;
        }
        if (add_frame(stage, batch, item) != VS_OK)
            return NULL;
        if (batch->frames == stage->max_batch || batch->entry_count == stage->entry_capacity ||
            vs_budget_waiting(stage->budget))
            if (seal(stage, &batch) != VS_OK)
                return NULL;
    }
    if (batch && batch->entry_count > 0)
        seal(stage, &batch);
    else if (batch)
        vs_pool_put(stage->batches, batch);
    return NULL; /* the stage table closes stage->out (core/graph.c) */
}
