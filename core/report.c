/* report.c: formats a vs_run_result; owns nothing, computes nothing that the
 * pipeline has not measured. */
#include "report.h"

#include <cjson/cJSON.h>

const char *vs_video_status_name(vs_video_status status)
{
    switch (status) {
    case VS_VIDEO_PENDING: return "pending";
    case VS_VIDEO_DONE: return "done";
    case VS_VIDEO_FAILED: return "failed";
    case VS_VIDEO_SKIPPED: return "skipped";
    case VS_VIDEO_INTERRUPTED: return "interrupted";
    }
    return "?";
}

static double mib(int64_t bytes)
{
    return bytes / (1024.0 * 1024.0);
}

char *vs_report_json(const vs_run_result *r, const vs_video *videos, int video_count)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "device", r->device);
    cJSON_AddNumberToObject(root, "wall_s", r->wall_s);
    cJSON_AddNumberToObject(root, "frames_decoded", (double)r->frames_decoded);
    cJSON_AddNumberToObject(root, "frames_analysed", (double)r->frames_analysed);
    cJSON_AddNumberToObject(root, "detections", (double)r->detections);
    cJSON_AddNumberToObject(root, "fps_decoded", r->fps_decoded);
    cJSON_AddNumberToObject(root, "fps_analysed", r->fps_analysed);
    cJSON_AddBoolToObject(root, "interrupted", r->interrupted);
    cJSON *counts = cJSON_AddObjectToObject(root, "videos");
    cJSON_AddNumberToObject(counts, "done", r->videos_done);
    cJSON_AddNumberToObject(counts, "failed", r->videos_failed);
    cJSON_AddNumberToObject(counts, "skipped", r->videos_skipped);
    cJSON_AddNumberToObject(counts, "interrupted", r->videos_interrupted);
    cJSON *inputs = cJSON_AddObjectToObject(root, "inputs");
    cJSON_AddNumberToObject(inputs, "files_skipped", r->files_skipped);
    cJSON_AddNumberToObject(inputs, "duplicates_dropped", r->duplicates_dropped);
    cJSON *list = cJSON_AddArrayToObject(root, "video_list");
    for (int i = 0; i < video_count; i++) {
        const vs_video *v = &videos[i];
        cJSON *item = cJSON_CreateObject();
        /* JSON must be UTF-8: a name that is not, or holds control bytes,
         * is given as messages give it (vs_safe_name); any other is as is. */
        char path[4 * sizeof v->path];
        cJSON_AddStringToObject(item, "path", vs_safe_name(v->path, path, sizeof path));
        cJSON_AddStringToObject(item, "status", vs_video_status_name(v->status));
        cJSON_AddNumberToObject(item, "frames_decoded", (double)v->frames_decoded);
        cJSON_AddNumberToObject(item, "frames_analysed", (double)v->frames_analysed);
        if (v->status == VS_VIDEO_FAILED || v->status == VS_VIDEO_INTERRUPTED)
            cJSON_AddStringToObject(item, "error", VS_NAME(v->error.msg));
        if (v->warning[0])
            cJSON_AddStringToObject(item, "warning", VS_NAME(v->warning));
        if (v->redo_reason[0] && v->status != VS_VIDEO_SKIPPED)
            cJSON_AddStringToObject(item, "redone", v->redo_reason);
        cJSON_AddItemToArray(list, item);
    }
    cJSON *stages = cJSON_AddArrayToObject(root, "stages");
    for (int s = 0; s < VS_STAGE_COUNT; s++) {
        const vs_stage_summary *st = &r->stages[s];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", st->name ? st->name : "?");
        cJSON_AddStringToObject(item, "unit", st->unit ? st->unit : "?");
        cJSON_AddNumberToObject(item, "count", (double)st->count);
        cJSON_AddNumberToObject(item, "avg_ms", st->avg_ms);
        cJSON_AddNumberToObject(item, "p95_ms", st->p95_ms);
        cJSON_AddNumberToObject(item, "max_ms", st->max_ms);
        cJSON_AddNumberToObject(item, "ms_per_frame", st->ms_per_frame);
        cJSON_AddItemToArray(stages, item);
    }
    cJSON_AddStringToObject(root, "bottleneck", r->bottleneck ? r->bottleneck : "none");
    cJSON *queues = cJSON_AddArrayToObject(root, "queues");
    for (int q = 0; q < VS_QUEUE_COUNT; q++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", r->queues[q].name ? r->queues[q].name : "?");
        cJSON_AddNumberToObject(item, "capacity", r->queues[q].capacity);
        cJSON_AddNumberToObject(item, "average", r->queues[q].average);
        cJSON_AddNumberToObject(item, "max", r->queues[q].max);
        cJSON_AddNumberToObject(item, "full_waits", (double)r->queues[q].full_waits);
        cJSON_AddItemToArray(queues, item);
    }
    cJSON *memory = cJSON_AddObjectToObject(root, "memory");
    cJSON_AddNumberToObject(memory, "rss_peak_bytes", (double)r->rss_peak_bytes);
    cJSON_AddNumberToObject(memory, "rss_final_bytes", (double)r->rss_final_bytes);
    cJSON_AddNumberToObject(memory, "frame_pool_slots", r->frame_pool_size);
    cJSON_AddNumberToObject(memory, "frame_pool_max_in_use", r->frame_pool_max_in_use);
    cJSON_AddNumberToObject(memory, "batch_pool_slots", r->batch_pool_size);
    cJSON *gpu = cJSON_AddObjectToObject(root, "gpu");
    cJSON_AddBoolToObject(gpu, "monitored", r->gpu_monitored);
    if (r->gpu_monitored) {
        cJSON_AddNumberToObject(gpu, "utilization_avg", r->gpu_util_avg);
        cJSON_AddNumberToObject(gpu, "utilization_p95", r->gpu_util_p95);
        cJSON_AddNumberToObject(gpu, "memory_peak_bytes", (double)r->gpu_memory_peak_bytes);
        cJSON_AddNumberToObject(gpu, "memory_used_bytes", (double)r->gpu_memory_used_bytes);
        cJSON_AddNumberToObject(gpu, "torch_peak_allocated_bytes",
                                (double)r->torch_cuda_peak_bytes);
    } else {
        cJSON_AddStringToObject(gpu, "note", r->gpu_note);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

void vs_report_print(FILE *out, const vs_run_result *r, const vs_video *videos, int video_count)
{
    fprintf(out, "\nvidsift report (%s)\n", r->device);
    fprintf(out, "  videos: %d done, %d failed, %d skipped, %d interrupted\n", r->videos_done,
            r->videos_failed, r->videos_skipped, r->videos_interrupted);
    for (int i = 0; i < video_count; i++)
        if (videos[i].status == VS_VIDEO_FAILED || videos[i].status == VS_VIDEO_INTERRUPTED)
            fprintf(out, "    %s: %s\n", vs_video_status_name(videos[i].status),
                    VS_NAME(videos[i].error.msg)); /* escaped already: this is a last guard */
    /* Not failures: what a done video lacks (an annotated copy, its audio). */
    for (int i = 0; i < video_count; i++)
        if (videos[i].warning[0])
            fprintf(out, "    warning: %s: %s\n", VS_NAME(videos[i].path),
                    VS_NAME(videos[i].warning));
    /* A video analysed before but not reused says why, so that a rerun that
     * takes long, or one that changed what is stored, never surprises. */
    for (int i = 0; i < video_count; i++)
        if (videos[i].redo_reason[0] && videos[i].status != VS_VIDEO_SKIPPED)
            fprintf(out, "    redone: %s: %s\n", VS_NAME(videos[i].path), videos[i].redo_reason);
    if (r->files_skipped || r->duplicates_dropped)
        fprintf(out, "  inputs: %d files skipped (not videos), %d duplicates analysed once\n",
                r->files_skipped, r->duplicates_dropped);
    fprintf(out, "  frames: %lld decoded, %lld analysed, %lld detections in %.2f s\n",
            (long long)r->frames_decoded, (long long)r->frames_analysed, (long long)r->detections,
            r->wall_s);
    fprintf(out, "  throughput: %.1f frames/s decoded, %.1f frames/s analysed\n", r->fps_decoded,
            r->fps_analysed);
    fprintf(out, "  %-12s %8s %9s %9s %9s %11s\n", "stage", "count", "avg ms", "p95 ms", "max ms",
            "ms/frame");
    for (int s = 0; s < VS_STAGE_COUNT; s++) {
        const vs_stage_summary *st = &r->stages[s];
        fprintf(out, "  %-12s %8lld %9.2f %9.2f %9.2f %11.2f%s\n", st->name ? st->name : "?",
                (long long)st->count, st->avg_ms, st->p95_ms, st->max_ms, st->ms_per_frame,
                r->bottleneck && st->name == r->bottleneck ? "  <- bottleneck" : "");
    }
    fprintf(out, "  queues (avg/max of capacity):");
    for (int q = 0; q < VS_QUEUE_COUNT; q++)
        fprintf(out, " %s %.1f/%d of %d%s", r->queues[q].name ? r->queues[q].name : "?",
                r->queues[q].average, r->queues[q].max, r->queues[q].capacity,
                q + 1 < VS_QUEUE_COUNT ? "," : "\n");
    fprintf(out,
            "  memory: peak RSS %.1f MiB, final %.1f MiB; pools: %d frame slots (max %d in use), "
            "%d batch slots\n",
            mib(r->rss_peak_bytes), mib(r->rss_final_bytes), r->frame_pool_size,
            r->frame_pool_max_in_use, r->batch_pool_size);
    if (r->gpu_monitored)
        fprintf(out,
                "  GPU: utilization avg %.0f%%, p95 %.0f%%; memory used %.0f MiB, peak %.0f MiB "
                "(libtorch peak %.0f MiB)\n",
                r->gpu_util_avg, r->gpu_util_p95, mib(r->gpu_memory_used_bytes),
                mib(r->gpu_memory_peak_bytes), mib(r->torch_cuda_peak_bytes));
    else
        fprintf(out, "  GPU: %s\n", r->gpu_note);
}
