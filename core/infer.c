/* infer.c: the inference stage. Submits each batch to the shim and keeps one
 * more batch in flight while waiting for the previous one, so on CUDA the
 * copy and compute of batch k+1 overlap the wait for batch k - except when
 * a decoder waits for memory (budget.h): the frames of the batch held back
 * may be what it waits for, so the batch goes on at once. A NULL item from
 * the batch stage says a decoder has started to wait.
 *
 * Owns nothing: batches pass through. A failed batch is marked, not dropped:
 * its frames still reach the sinks (with no detections) and their videos are
 * failed there with the shim's message.
 *
 * With noop set (`vidsift bench`'s ceiling) batches pass without a model
 * call and without outputs: the rest of the pipeline runs as it would with
 * an infinitely fast model. */
#include "stages.h"

static void finish(vs_infer_stage *stage, vs_batch *batch, double started)
{
    if (batch->frames > 0 && !batch->failed) {
        int status = vs_torch_wait(stage->torch, batch->slot, batch->outputs, &batch->output_count,
                                   &batch->error);
        batch->failed = status != VS_OK;
        double ms = vs_now_ms() - started;
        batch->inferred_ms = ms;
        vs_stats_add(&stage->stats, ms, batch->frames);
        stage->batches_run++;
    }
}

/* Waits for *batch and sends it on; *batch is then NULL. */
static int send_on(vs_infer_stage *stage, vs_batch **batch, double started)
{
    finish(stage, *batch, started);
    int status = vs_queue_push(stage->out, *batch);
    *batch = NULL;
    return status;
}

void *vs_infer_thread(void *arg)
{
    vs_infer_stage *stage = arg;
    vs_batch *pending = NULL;
    double pending_started = 0;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        vs_batch *batch = item;
        if (!batch) {
            if (pending && send_on(stage, &pending, pending_started) != VS_OK)
                return NULL;
            continue;
        }
        double started = vs_now_ms();
        if (stage->noop) { /* the ceiling: everything but the model; postprocess finds no boxes */
            batch->output_count = 0;
            vs_stats_add(&stage->stats, vs_now_ms() - started, batch->frames);
            if (vs_queue_push(stage->out, batch) != VS_OK)
                return NULL;
            continue;
        }
        if (batch->frames > 0) {
            int status = vs_torch_submit(stage->torch, batch->slot, batch->frames, &batch->error);
            batch->failed = status != VS_OK;
        }
        if (pending) {
            finish(stage, pending, pending_started);
            if (vs_queue_push(stage->out, pending) != VS_OK)
                return NULL;
            /* The next batch's clock starts when the device is free for it. */
            started = vs_now_ms();
        }
        pending = batch;
        pending_started = started;
        if (vs_budget_waiting(stage->budget) && send_on(stage, &pending, started) != VS_OK)
            return NULL;
    }
    if (pending) {
        finish(stage, pending, pending_started);
        vs_queue_push(stage->out, pending);
    }
    return NULL; /* the stage table closes stage->out (core/graph.c) */
}
