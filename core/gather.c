/* gather.c: the gather stage. Preprocess workers send a batch on when its
 * last position is filled, so batches reach this stage in any order; it
 * holds those that come before their turn and sends batches on in the order
 * the batch stage sealed them, so inference, the tracker and every sink see
 * each video's frames in order. A batch marked by a decoder's wait for
 * memory is followed by a NULL, which tells inference to hold nothing back.
 *
 * No more batches than the pool holds can be between the batch stage and
 * here, and their sequences follow each other, so sequence modulo the pool
 * size is a free place to hold one. Owns the batches it holds; never
 * allocates. */
#include <assert.h>
#include <string.h>

#include "stages.h"

/* A frame the scaler could not take left its position empty: later
 * positions move down, so the k-th analysed entry is still frame k. */
static void close_gaps(vs_gather_stage *stage, vs_batch *batch)
{
    int filled = 0;
    for (int position = 0; position < batch->frames; position++) {
        if (batch->tasks[position].failed)
            continue;
        if (filled != position) {
            memcpy(batch->input + (size_t)filled * stage->frame_floats,
                   batch->input + (size_t)position * stage->frame_floats,
                   stage->frame_floats * sizeof *batch->input);
            batch->geometry[filled] = batch->geometry[position];
        }
        filled++;
    }
    batch->frames = filled;
}

static int send_on(vs_gather_stage *stage, vs_batch *batch)
{
    int wake = batch->wake; /* read before the batch is another stage's */
    close_gaps(stage, batch);
    int status = VS_OK;
    if (batch->entry_count > 0)
        status = vs_queue_push(stage->out, batch);
    else
        vs_pool_put(stage->batches, batch); /* it only carried the wake */
    if (status == VS_OK && wake)
        status = vs_queue_push(stage->out, NULL);
    return status;
}

void *vs_gather_thread(void *arg)
{
    vs_gather_stage *stage = arg;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        vs_batch *batch = item;
        assert(batch->sequence >= stage->next && batch->sequence < stage->next + stage->held_count);
        int place = (int)(batch->sequence % stage->held_count);
        assert(!stage->held[place]);
        stage->held[place] = batch;
        /* Send every batch whose turn has come. */
        while ((batch = stage->held[place = (int)(stage->next % stage->held_count)])) {
            stage->held[place] = NULL;
            stage->next++;
            if (send_on(stage, batch) != VS_OK)
                return NULL;
        }
    }
    return NULL; /* the stage table closes stage->out (core/graph.c) */
}
