/* report.c: formats a vs_run_result; owns nothing, computes nothing that the
 * pipeline has not measured. */
#include "report.h"

#include <cjson/cJSON.h>

#include "advice.h"

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
    cJSON *decoding = cJSON_AddObjectToObject(root, "decoding");
    cJSON_AddStringToObject(decoding, "decoder", r->decoder);
    cJSON_AddStringToObject(decoding, "preprocess", r->preprocess);
    if (r->hwaccel_note[0])
        cJSON_AddStringToObject(decoding, "hwaccel_note", r->hwaccel_note);
    cJSON_AddNumberToObject(root, "wall_s", r->wall_s);
    cJSON_AddNumberToObject(root, "frames_decoded", (double)r->frames_decoded);
    cJSON_AddNumberToObject(root, "frames_analysed", (double)r->frames_analysed);
    cJSON_AddNumberToObject(root, "detections", (double)r->detections);
    cJSON_AddNumberToObject(root, "fps_decoded", r->fps_decoded);
    cJSON_AddNumberToObject(root, "fps_analysed", r->fps_analysed);
    cJSON_AddBoolToObject(root, "interrupted", r->interrupted);
    cJSON_AddBoolToObject(root, "model_loaded", r->model_loaded);
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
    cJSON_AddNumberToObject(memory, "frame_pool_waits", (double)r->frame_pool_waits);
    cJSON_AddNumberToObject(memory, "batch_pool_slots", r->batch_pool_size);
    cJSON_AddNumberToObject(memory, "batch_pool_waits", (double)r->batch_pool_waits);
    cJSON_AddNumberToObject(memory, "budget_bytes", (double)r->memory_budget_bytes);
    cJSON_AddNumberToObject(memory, "budget_max_used_bytes", (double)r->memory_budget_max_used);
    cJSON_AddNumberToObject(memory, "budget_waits", (double)r->memory_budget_waits);
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
    /* Where the run fell short of its hardware, why, and what would fix it. */
    vs_advice advice;
    vs_advise_run(r, &advice);
    cJSON *lines = cJSON_AddArrayToObject(root, "advice");
    for (int i = 0; i < advice.count; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateString(advice.lines[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* What the run found, per class, most frequent first: read back from the
 * store (the rows the run committed), at most 8 classes named. */
static void print_classes(FILE *out, vs_store *store, int64_t run_id)
{
    enum { SHOWN = 8 };
    struct {
        char label[48];
        int64_t detections, tracks;
    } top[SHOWN];
    int count = 0, more = 0;
    int64_t total = 0, tracks = 0;
    vs_store_filter filter = {.run_id = run_id};
    vs_store_cursor *cursor;
    vs_error err;
    if (!store || run_id <= 0 || vs_store_read_classes(store, &filter, &cursor, &err) != VS_OK)
        return;
    vs_store_class_row row;
    while (vs_store_next_class(cursor, &row, &err) == 1) {
        total += row.detections;
        tracks += row.tracks;
        int place = count < SHOWN ? count++ : SHOWN;
        if (place == SHOWN) {
            more++;
            if (row.detections <= top[SHOWN - 1].detections)
                continue;
            place = SHOWN - 1;
        }
        /* Insertion into the sorted top list. */
        while (place > 0 && top[place - 1].detections < row.detections) {
            if (place < SHOWN)
                top[place] = top[place - 1];
            place--;
        }
        snprintf(top[place].label, sizeof top[place].label, "%s", row.label ? row.label : "?");
        top[place].detections = row.detections;
        top[place].tracks = row.tracks;
    }
    vs_store_cursor_close(cursor);
    if (total == 0) {
        fprintf(out, "  found: no objects\n");
        return;
    }
    fprintf(out, "  found: %lld detections", (long long)total);
    if (tracks)
        fprintf(out, ", %lld tracks", (long long)tracks);
    fprintf(out, "\n");
    for (int i = 0; i < count; i++) {
        fprintf(out, "    %-20s %8lld", VS_NAME(top[i].label), (long long)top[i].detections);
        if (top[i].tracks)
            fprintf(out, "  (%lld tracks)", (long long)top[i].tracks);
        fputc('\n', out);
    }
    if (more)
        fprintf(out, "    and %d more classes (see report.html)\n", more);
}

/* Line crossings of the run, one line per line, class and direction. */
static void print_crossings(FILE *out, vs_store *store, int64_t run_id, const char *zones_path)
{
    vs_store_filter filter = {.run_id = run_id};
    vs_store_cursor *cursor;
    vs_error err;
    if (!store || run_id <= 0 || vs_store_read_crossings(store, &filter, &cursor, &err) != VS_OK)
        return;
    vs_store_crossing_row row;
    int rows = 0;
    while (vs_store_next_crossing(cursor, &row, &err) == 1) {
        if (!rows++)
            fprintf(out, "  crossings:\n");
        char zone[32], label[32], direction[16];
        vs_safe_name(row.zone ? row.zone : "?", zone, sizeof zone);
        vs_safe_name(row.label ? row.label : "?", label, sizeof label);
        vs_safe_name(row.direction ? row.direction : "?", direction, sizeof direction);
        fprintf(out, "    %-16s %-16s %-6s %8lld\n", zone, label, direction,
                (long long)row.crossings);
    }
    vs_store_cursor_close(cursor);
    /* Counting asked for and nothing counted: a result, not an omission. */
    if (!rows && zones_path)
        fprintf(out, "  crossings: none on the lines of %s\n", VS_NAME(zones_path));
}

void vs_report_print_summary(FILE *out, const vs_run_result *r, const vs_video *videos,
                             int video_count, vs_store *store, const vs_report_outputs *outputs)
{
    char wall[32];
    snprintf(wall, sizeof wall, "%.1f s", r->wall_s);
    fprintf(out, "\nvidsift: videos: %d done, %d failed, %d skipped, %d interrupted (%s on %s)\n",
            r->videos_done, r->videos_failed, r->videos_skipped, r->videos_interrupted, wall,
            r->device);
    if (r->hwaccel_note[0])
        fprintf(out, "    %s\n", r->hwaccel_note);
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
    print_classes(out, store, r->run_id);
    print_crossings(out, store, r->run_id, outputs ? outputs->zones_path : NULL);
    if (outputs && outputs->out_dir) {
        fprintf(out, "  outputs in %s/:\n", VS_NAME(outputs->out_dir));
        if (outputs->html_written)
            fprintf(out, "    report.html   the results with plots: open it in a browser\n");
        if (outputs->db_path && !outputs->db_path[0])
            fprintf(out, "    results.db    every detection (sqlite3, vidsift export)\n");
        else if (outputs->db_path)
            fprintf(out, "    database %s: every detection\n", VS_NAME(outputs->db_path));
        if (outputs->annotated)
            fprintf(out, "    annotated/    the videos with boxes drawn\n");
        if (outputs->snapshots)
            fprintf(out, "    snapshots/    a thumbnail and the best crop per class\n");
        if (outputs->json_written)
            fprintf(out, "    report.json   this summary for programs\n");
    }
}

void vs_report_print(FILE *out, const vs_run_result *r, const vs_video *videos, int video_count,
                     int verbose)
{
    (void)videos;
    (void)video_count;
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
    vs_advice advice;
    vs_advise_run(r, &advice);
    for (int i = 0; i < advice.count; i++)
        fprintf(out, "  advice: %s\n", advice.lines[i]);
    if (!verbose) {
        fprintf(out, "  (--verbose: queues, memory, GPU)\n");
        return;
    }
    /* One line per queue and per figure: the text fits 80 columns. */
    fprintf(out, "  queues: average/most in use of capacity, waits for room\n");
    for (int q = 0; q < VS_QUEUE_COUNT; q++)
        fprintf(out, "    %-12s %6.1f/%d of %d, %lld full waits\n",
                r->queues[q].name ? r->queues[q].name : "?", r->queues[q].average, r->queues[q].max,
                r->queues[q].capacity, (long long)r->queues[q].full_waits);
    fprintf(out, "  memory: peak RSS %.1f MiB, final %.1f MiB\n", mib(r->rss_peak_bytes),
            mib(r->rss_final_bytes));
    fprintf(out, "  pools: %d frame slots (max %d in use), %d batch slots\n", r->frame_pool_size,
            r->frame_pool_max_in_use, r->batch_pool_size);
    fprintf(out, "    waits for a free slot: %lld frame, %lld batch\n",
            (long long)r->frame_pool_waits, (long long)r->batch_pool_waits);
    fprintf(out, "  memory budget for pictures: %.0f MiB, at most %.0f MiB taken, %lld waits\n",
            mib(r->memory_budget_bytes), mib(r->memory_budget_max_used),
            (long long)r->memory_budget_waits);
    if (r->gpu_monitored)
        fprintf(out,
                "  GPU: utilization avg %.0f%%, p95 %.0f%%\n"
                "  GPU memory: used %.0f MiB, peak %.0f MiB (libtorch peak %.0f MiB)\n",
                r->gpu_util_avg, r->gpu_util_p95, mib(r->gpu_memory_used_bytes),
                mib(r->gpu_memory_peak_bytes), mib(r->torch_cuda_peak_bytes));
    else
        fprintf(out, "  GPU: %s\n", r->gpu_note);
}
