/* postprocess.c: the postprocess stage. Turns a batch's outputs into boxes
 * per analysed frame (decoder + NMS + class filter), maps them back to source
 * pixels, and copies the last analysed frame's boxes onto frames that were
 * not analysed (carried by --skip-similar, or skipped by --every / --sample-fps
 * and kept only so the annotator draws every frame).
 *
 * Owns the last analysed boxes of each video in flight (START to END here),
 * in a table sized by the pipeline from its pools, not by the run's videos. */
#include <string.h>

#include <libavutil/frame.h>

#include "stages.h"

static void carry(vs_postprocess_stage *stage, vs_frame *frame)
{
    const vs_postprocess_video *last = vs_inflight_find(&stage->last, frame->video->index);
    frame->detection_count = last ? last->detection_count : 0;
    if (last)
        memcpy(frame->detections, last->detections,
               (size_t)frame->detection_count * sizeof *frame->detections);
}

static void remember(vs_postprocess_stage *stage, const vs_frame *frame)
{
    vs_postprocess_video *last = vs_inflight_find(&stage->last, frame->video->index);
    if (!last)
        return; /* no slot (out of memory at its START): frames are carried empty */
    last->detection_count = frame->detection_count;
    memcpy(last->detections, frame->detections,
           (size_t)frame->detection_count * sizeof *frame->detections);
}

static void detect(vs_postprocess_stage *stage, vs_batch *batch, int position, vs_frame *frame)
{
    const float *outputs[VS_TORCH_MAX_OUTPUTS];
    int64_t shapes[VS_TORCH_MAX_OUTPUTS][4];
    if (batch->output_count == 0) { /* no-op inference (the bench's ceiling): no boxes */
        frame->detection_count = 0;
        return;
    }
    for (int i = 0; i < batch->output_count; i++) {
        outputs[i] = batch->outputs[i].data;
        memcpy(shapes[i], batch->outputs[i].shape, sizeof shapes[i]);
    }
    int count =
        vs_detect_frame(stage->manifest, outputs, (const int64_t(*)[4])shapes, batch->output_count,
                        position, &stage->params, stage->scratch, frame->detections);
    frame->detection_count = count > 0 ? count : 0;
    vs_detect_to_source(frame->detections, frame->detection_count, &batch->geometry[position],
                        frame->picture->width, frame->picture->height);
}

void *vs_postprocess_thread(void *arg)
{
    vs_postprocess_stage *stage = arg;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        vs_batch *batch = item;
        int position = 0;
        for (int i = 0; i < batch->entry_count; i++) {
            vs_frame *frame = batch->entries[i];
            if (frame->kind == VS_FRAME_VIDEO_START) {
                /* Zeroed: a frame carried before any analysed one has no boxes.
                 * Out of memory (a few KiB): its pictures go on without boxes. */
                vs_inflight_claim(&stage->last, frame->video->index);
                continue;
            }
            if (frame->kind == VS_FRAME_VIDEO_END) {
                vs_inflight_release(&stage->last, frame->video->index);
                continue;
            }
            if (frame->kind != VS_FRAME_PICTURE)
                continue;
            if (!frame->analysed) {
                carry(stage, frame);
                continue;
            }
            double started = vs_now_ms();
            if (!batch->failed)
                detect(stage, batch, position, frame);
            position++;
            remember(stage, frame);
            vs_stats_add(&stage->stats, vs_now_ms() - started, 1);
        }
        if (vs_queue_push(stage->out, batch) != VS_OK)
            return NULL;
    }
    return NULL; /* the stage table closes stage->out (core/graph.c) */
}
