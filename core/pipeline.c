/* pipeline.c: the only file that knows every stage. It sizes the pools and
 * queues from the options, starts one thread per stage (J for decode, N for
 * preprocess), waits for the end of input, and collects what the report needs.
 *
 *   decode xJ -> [decoded] -> batch -> [positions] -> preprocess xN -> [filled]
 *      -> gather -> [batched] -> infer -> [inferred] -> postprocess -> [detected]
 *      -> track -> [tracked] -> sink (-> encoder workers xM, annotated videos)
 *
 * The encoder workers belong to the sink's annotated-video output
 * (core/encoders.h): each takes whole videos, so they are not a row of the
 * table; they are started with that output and joined when it closes.
 *
 * Sizing rule: the frame pool holds every frame that can be in flight at
 * once - the decoded queue, one per decoder, a full entry list in every
 * batch slot, and what the encoder workers hold - so a full pool only ever
 * means "wait", never deadlock.
 * Slots bound how many pictures are in flight; the memory budget (budget.h)
 * bounds their bytes, whatever the picture size: each video first takes its
 * working set (below), then each picture its own bytes, given back when the
 * slot's last holder (the sink, or an encoder worker) releases it. A decoder
 * that waits for bytes makes the batch stage send what it holds, so a small
 * budget means small batches, never a deadlock; a video that cannot fit even
 * one picture fails alone. */
#include "pipeline.h"

#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libavutil/frame.h>

#include "analysis.h"
#include "annotate.h"
#include "encoders.h"
#include "gpumon.h"
#include "graph.h"
#include "plan.h"
#include "report.h"
#include "scan.h"
#include "stages.h"
#include "store.h"

#define BATCH_SLOTS 4
#define MONITOR_PERIOD_MS 250
#define MONITOR_SAMPLES 16384

typedef struct monitor {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int done;
    const vs_run_options *options;
    vs_video *videos;
    int video_count;
    vs_sink_stage *sink;
    vs_gpumon *gpu;
    double started_ms;
    /* time series, halved in place when full so memory stays flat */
    vs_store_sample *samples;
    int sample_count, stride, tick;
    int64_t rss_peak;
} monitor;

typedef struct graph {
    vs_manifest *manifest;
    vs_torch *torch;
    vs_store *store;
    char *analysis; /* this run's analysis text (analysis.h), recorded in runs.options */
    vs_pool frames, batches;
    vs_budget budget; /* bytes of pictures and per-video working sets */
    vs_queue queues[VS_QUEUE_COUNT];
    int queues_ready[VS_QUEUE_COUNT];
    vs_decode_stage *decoders;
    vs_batch_stage batch;
    vs_queue positions, filled; /* batch -> preprocess workers -> gather */
    int positions_ready, filled_ready;
    vs_preprocess_stage *preprocessors; /* preprocess_count workers */
    int preprocess_count;
    vs_gather_stage gather;
    vs_infer_stage infer;
    vs_postprocess_stage post;
    vs_track_stage track;
    vs_zones_config zones; /* --zones; count 0: none */
    vs_hwaccel hwaccel;    /* --hwaccel: the decoders' CUDA device, if any */
    int preprocess_on_torch; /* --preprocess: vs_torch_preprocess on the model's device */
    vs_sink_stage sink;
    int encode_count; /* the annotated video's encoder workers (encoders.h); 0: no annotation */
    uint8_t class_allowed[VS_MAX_CLASSES];
    const char *labels[VS_MAX_CLASSES];
    int entry_capacity;
    int64_t run_id;
    int64_t output_shapes[VS_TORCH_MAX_OUTPUTS][4]; /* at max_batch, from the warmup */
    int output_count;
    vs_video_list source; /* the run's videos, handed to the decoders in order */
    int halt;             /* set by the sink when the store fails: the decoders stop */
    monitor monitor;
} graph;

int64_t vs_rss_bytes(void)
{
    /* open/read rather than stdio: sampled all run long, it must not allocate. */
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = 0;
    long pages_total = 0, pages_resident = 0;
    if (sscanf(text, "%ld %ld", &pages_total, &pages_resident) != 2)
        return 0;
    return (int64_t)pages_resident * sysconf(_SC_PAGESIZE);
}

/* --classes: labels matched without regard to case ("Person" is person),
 * spaces around commas ignored, and a class id (0-based, as stored in
 * detections.class_id) taken for its class when no label is spelt so. */
static int parse_classes(graph *g, const char *classes, vs_error *err)
{
    memset(g->class_allowed, classes ? 0 : 1, sizeof g->class_allowed);
    if (!classes)
        return VS_OK;
    for (const char *cursor = classes; *cursor;) {
        size_t length = strcspn(cursor, ",");
        const char *next = cursor + length + (cursor[length] == ',');
        while (length > 0 && isspace((unsigned char)*cursor))
            cursor++, length--;
        while (length > 0 && isspace((unsigned char)cursor[length - 1]))
            length--;
        char name[128];
        if (length == 0 || length >= sizeof name)
            return vs_fail(err, VS_EINVAL, "--classes: %s '%s'",
                           length ? "no label is this long:" : "an empty class name in",
                           VS_NAME(classes));
        memcpy(name, cursor, length);
        name[length] = 0;
        int found = 0;
        for (int c = 0; c < g->manifest->classes; c++)
            if (!strcasecmp(g->manifest->labels[c], name))
                g->class_allowed[c] = found = 1;
        char *end;
        long id = strtol(name, &end, 10);
        if (!found && isdigit((unsigned char)name[0]) && !*end && id < g->manifest->classes)
            g->class_allowed[id] = found = 1;
        if (!found)
            return vs_fail(err, VS_EINVAL,
                           "--classes: '%s' is neither a label of model '%s' nor a class id "
                           "(0-%d)",
                           VS_NAME(name), g->manifest->name, g->manifest->classes - 1);
        cursor = next;
    }
    return VS_OK;
}

/* The manifest, labels and --classes: what the store needs to tell which
 * videos are complete, read without loading the weights. */
static int load_manifest(graph *g, const vs_run_options *o, vs_error *err)
{
    g->manifest = calloc(1, sizeof *g->manifest);
    if (!g->manifest)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    int status = vs_manifest_load(g->manifest, o->manifest_path, err);
    if (status == VS_OK && o->input_width > 0)
        status = vs_manifest_set_input_size(g->manifest, o->input_width, o->input_height, err);
    if (status != VS_OK)
        return status;
    for (int c = 0; c < g->manifest->classes; c++)
        g->labels[c] = g->manifest->labels[c];
    return parse_classes(g, o->classes, err);
}

static int open_model(graph *g, const vs_run_options *o, vs_error *err)
{
    /* The same plan as `vidsift bench` (core/plan.c). */
    int status = vs_plan_open_model(&g->torch, g->manifest, o->device, o->half, o->optimize,
                                    o->batch, BATCH_SLOTS, o->threads, err);
    if (status != VS_OK)
        return VS_EMODEL;
    /* The warmup batch's outputs must be what the manifest's decoder reads:
     * a mismatch is a setup error now, not garbage boxes later. */
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count = vs_torch_output_shapes(g->torch, outputs, VS_TORCH_MAX_OUTPUTS);
    int ranks[VS_TORCH_MAX_OUTPUTS];
    for (int i = 0; i < count; i++) {
        memcpy(g->output_shapes[i], outputs[i].shape, sizeof g->output_shapes[i]);
        ranks[i] = outputs[i].ndim;
    }
    g->output_count = count;
    status = vs_detect_check_outputs(g->manifest, (const int64_t(*)[4])g->output_shapes, ranks,
                                     count, err);
    return status == VS_OK ? VS_OK : VS_EMODEL;
}

/* Pictures' worth of memory one video holds besides its pictures in flight,
 * at its own picture size. An estimate, made from what each part keeps:
 * its decoder's reference pictures and one per frame thread; preprocessing's
 * packed RGB copy at source size (3 bytes a pixel, twice 4:2:0's 1.5);
 * snapshots' thumbnail and best crops. The annotator's depends on the size
 * (vs_annotate_working_set_pictures). */
static int working_set_pictures(const vs_run_options *o, int codec_threads)
{
    int decoder = 4 + codec_threads, preprocess = 2;
    int snapshots = o->snapshots ? 4 : 0;
    return decoder + preprocess + snapshots;
}

static int make_pools(graph *g, const vs_run_options *o, vs_error *err)
{
    int keeps_unanalysed =
        o->annotate && (o->every > 1 || o->sample_fps > 0 || o->skip_similar > 0);
    /* Room for markers of several short videos, and for frames that ride along
     * without being analysed when the annotator needs every frame. */
    g->entry_capacity = o->batch + 2 * o->jobs + 4 + (keeps_unanalysed ? 2 * o->batch + 32 : 0);
    /* Sized from the batch, not for the largest one: every picture waiting
     * there is a whole decoded frame. */
    int decoded_capacity = vs_plan_decoded_queue(o->batch, vs_torch_is_cuda(g->torch));
    /* Encoder workers hold the frames they have yet to encode (encoders.h). */
    int cpu_inference = !vs_torch_is_cuda(g->torch) && !o->infer_noop;
    g->encode_count =
        o->annotate ? vs_plan_encode_threads(o->encode_threads, o->jobs, cpu_inference) : 0;
    int encode_held = VS_ENCODE_HELD(g->encode_count);
    int frame_count =
        BATCH_SLOTS * g->entry_capacity + decoded_capacity + o->jobs + encode_held + 2;
    /* The sizing rule as code (pool.h): a batch's entry list takes a full
     * batch, so a batch is sealed by its frames, not cut short by markers;
     * and the frame pool has a slot for every frame that can be held at once
     * - the entry list of every batch slot (tasks and preprocess workers
     * point into those), the decoded queue, the picture each decoder is
     * sending, the frames encoder workers hold after the sink let them go -
     * so an empty pool means "wait", never deadlock. */
    assert(o->batch >= 1 && o->batch <= VS_BATCH_MAX && g->entry_capacity > o->batch);
    assert(frame_count >=
           BATCH_SLOTS * g->entry_capacity + decoded_capacity + o->jobs + encode_held);
    int status = vs_budget_init(&g->budget,
                                o->memory_budget > 0 ? o->memory_budget : vs_budget_default(), err);
    if (status != VS_OK)
        return status;
    status = vs_pool_init(&g->frames, sizeof(vs_frame), frame_count, err);
    if (status != VS_OK)
        return status;
    for (int i = 0; i < frame_count; i++) {
        vs_frame *frame = vs_pool_slot(&g->frames, i);
        if (!(frame->picture = av_frame_alloc()))
            return vs_fail(err, VS_ENOMEM, "out of memory for frame slots");
    }
    if ((status = vs_pool_init(&g->batches, sizeof(vs_batch), BATCH_SLOTS, err)) != VS_OK)
        return status;
    for (int i = 0; i < BATCH_SLOTS; i++) {
        vs_batch *batch = vs_pool_slot(&g->batches, i);
        batch->slot = i;
        batch->input = vs_torch_input(g->torch, i);
        batch->entries = calloc((size_t)g->entry_capacity, sizeof *batch->entries);
        batch->geometry = calloc((size_t)o->batch, sizeof *batch->geometry);
        batch->tasks = calloc((size_t)o->batch, sizeof *batch->tasks);
        if (!batch->entries || !batch->geometry || !batch->tasks)
            return vs_fail(err, VS_ENOMEM, "out of memory for batch slots");
        for (int p = 0; p < o->batch; p++)
            batch->tasks[p] = (vs_batch_task){.batch = batch, .position = p};
        batch->seal = (vs_batch_task){.batch = batch, .position = -1};
    }
    const int capacities[VS_QUEUE_COUNT] = {decoded_capacity, 1, 1, 1, 1};
    for (int q = 0; q < VS_QUEUE_COUNT; q++) {
        if ((status = vs_queue_init(&g->queues[q], capacities[q], err)) != VS_OK)
            return status;
        g->queues_ready[q] = 1;
    }
    /* Room for a batch's positions and its seal, so the batch stage can run
     * a batch ahead of the workers; every batch slot may be filled at once. */
    if ((status = vs_queue_init(&g->positions, 2 * o->batch + 2, err)) != VS_OK)
        return status;
    g->positions_ready = 1;
    if ((status = vs_queue_init(&g->filled, BATCH_SLOTS, err)) != VS_OK)
        return status;
    g->filled_ready = 1;
    return VS_OK;
}

static void free_graph(graph *g)
{
    for (int i = 0; g->frames.memory && i < g->frames.count; i++)
        av_frame_free(&((vs_frame *)vs_pool_slot(&g->frames, i))->picture);
    for (int i = 0; g->batches.memory && i < g->batches.count; i++) {
        vs_batch *batch = vs_pool_slot(&g->batches, i);
        free(batch->entries);
        free(batch->geometry);
        free(batch->tasks);
    }
    vs_pool_destroy(&g->frames);
    vs_budget_destroy(&g->budget);
    vs_pool_destroy(&g->batches);
    for (int q = 0; q < VS_QUEUE_COUNT; q++)
        if (g->queues_ready[q])
            vs_queue_destroy(&g->queues[q]);
    if (g->positions_ready)
        vs_queue_destroy(&g->positions);
    if (g->filled_ready)
        vs_queue_destroy(&g->filled);
    for (int w = 0; g->preprocessors && w < g->preprocess_count; w++)
        vs_preprocess_free(&g->preprocessors[w].preprocess);
    free(g->preprocessors);
    free(g->gather.held);
    free(g->post.scratch);
    vs_inflight_free(&g->post.last);
    vs_track_stage_free(&g->track);
    vs_zones_config_free(&g->zones);
    vs_sink_free(&g->sink);
    free(g->decoders);
    free(g->monitor.samples);
    vs_gpumon_close(g->monitor.gpu);
    vs_hwaccel_close(&g->hwaccel);
    vs_torch_close(g->torch);
    free(g->manifest);
    free(g->analysis);
}

/* Keeps every other sample when the series is full: the series covers the
 * whole run at a coarser step instead of growing. */
static void monitor_record(monitor *m, const vs_store_sample *sample)
{
    if (m->tick++ % m->stride != 0)
        return;
    if (m->sample_count == MONITOR_SAMPLES) {
        for (int i = 0; i < MONITOR_SAMPLES / 2; i++)
            m->samples[i] = m->samples[2 * i];
        m->sample_count = MONITOR_SAMPLES / 2;
        m->stride *= 2;
    }
    m->samples[m->sample_count++] = *sample;
}

static void *monitor_thread(void *arg)
{
    monitor *m = arg;
    pthread_mutex_lock(&m->lock);
    int ticks = 0;
    while (!m->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += MONITOR_PERIOD_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&m->wake, &m->lock, &until);
        vs_store_sample sample = {.t_ms = vs_now_ms() - m->started_ms,
                                  .rss_bytes = vs_rss_bytes(),
                                  .gpu_util = -1,
                                  .gpu_mem_bytes = -1};
        if (sample.rss_bytes > m->rss_peak)
            m->rss_peak = sample.rss_bytes;
        vs_gpu_sample gpu;
        if (m->gpu && vs_gpumon_sample(m->gpu, &gpu) == VS_OK) {
            sample.gpu_util = gpu.utilization_percent;
            sample.gpu_mem_bytes = gpu.memory_used_bytes;
        }
        monitor_record(m, &sample);
        if (m->options->progress && ++ticks % 2 == 0)
            m->options->progress(m->options->progress_context, m->videos, m->video_count,
                                 __atomic_load_n(&m->sink->frames_done, __ATOMIC_RELAXED),
                                 sample.t_ms / 1000.0);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static int start_monitor(graph *g, const vs_run_options *o, vs_video *videos, int video_count,
                         vs_run_result *result)
{
    monitor *m = &g->monitor;
    m->options = o;
    m->videos = videos;
    m->video_count = video_count;
    m->sink = &g->sink;
    m->stride = 1;
    m->started_ms = vs_now_ms();
    m->samples = calloc(MONITOR_SAMPLES, sizeof *m->samples);
    if (!m->samples)
        return VS_ENOMEM;
    vs_error gpu_error = {{0}};
    if (vs_torch_is_cuda(g->torch)) {
        int index = 0;
        if (o->device && !strncmp(o->device, "cuda:", 5))
            index = atoi(o->device + 5);
        if (vs_gpumon_open(&m->gpu, index, &gpu_error) != VS_OK)
            snprintf(result->gpu_note, sizeof result->gpu_note, "%.150s", gpu_error.msg);
    } else {
        snprintf(result->gpu_note, sizeof result->gpu_note, "no GPU in use (device %s)",
                 vs_torch_device_name(g->torch));
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->thread, NULL, monitor_thread, m) != 0)
        return VS_ENOMEM;
    pthread_setname_np(m->thread, "vs-monitor");
    return VS_OK;
}

static void stop_monitor(monitor *m)
{
    pthread_mutex_lock(&m->lock);
    m->done = 1;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
}

/* The CUDA device index of --device (cuda:N; 0 for cuda and auto). */
static int cuda_index(const char *device)
{
    return device && !strncmp(device, "cuda:", 5) ? atoi(device + 5) : 0;
}

static int setup_stages(graph *g, const vs_run_options *o, vs_video *videos, int video_count,
                        vs_error *err)
{
    const vs_manifest *manifest = g->manifest;
    g->decoders = calloc((size_t)o->jobs, sizeof *g->decoders);
    if (!g->decoders)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    /* On CPU, inference owns every core; on CUDA, decoding keeps the GPU fed (core/plan.c). */
    int codec_threads = vs_plan_codec_threads(vs_torch_is_cuda(g->torch), o->jobs);
    int on_cuda = vs_torch_is_cuda(g->torch);
    g->preprocess_on_torch = o->preprocess == VS_PREPROCESS_TORCH ||
                             (o->preprocess == VS_PREPROCESS_AUTO && on_cuda);
    vs_hwaccel_open(&g->hwaccel, o->hwaccel, on_cuda, cuda_index(o->device));
    /* NVDEC's pictures stay in GPU memory when only the model reads them,
     * and the model letterboxes: a stretch model's pictures are converted
     * to RGB by swscale as on the CPU path (torch's own conversion of
     * NVDEC's YUV differs where the chroma changes sharply, see
     * test_preprocess_torch), the resize is still done on the GPU. */
    int keep_on_gpu = g->preprocess_on_torch && on_cuda && !o->annotate && !o->snapshots &&
                      o->skip_similar <= 0 && manifest->resize == VS_RESIZE_LETTERBOX;
    vs_video_list_init(&g->source, videos, video_count);
    for (int j = 0; j < o->jobs; j++) {
        vs_decode_stage *d = &g->decoders[j];
        *d = (vs_decode_stage){
            .source = &g->source.source,
            .frames = &g->frames,
            .out = &g->queues[VS_QUEUE_DECODED],
            .stop = o->stop,
            .halt = &g->halt,
            .budget = &g->budget,
            .working_set_pictures = working_set_pictures(o, codec_threads),
            .annotator_pictures = o->annotate ? vs_annotate_working_set_pictures : NULL,
            .codec_threads = codec_threads,
            .hwaccel = &g->hwaccel,
            .keep_on_gpu = keep_on_gpu,
            .sampling = {.every = o->every,
                         .sample_fps = o->sample_fps,
                         .skip_similar = o->skip_similar,
                         .keep_unsampled = o->annotate},
        };
        vs_stats_init(&d->stats, "decode", "frame");
    }
    g->batch.in = &g->queues[VS_QUEUE_DECODED];
    g->batch.out = &g->positions;
    g->batch.batches = &g->batches;
    g->batch.max_batch = o->batch;
    g->batch.budget = &g->budget;
    g->batch.entry_capacity = g->entry_capacity;
    size_t frame_floats = (size_t)3 * manifest->input_width * manifest->input_height;
    /* One worker beside CPU inference, more when it leaves the cores free (core/plan.c). */
    g->preprocess_count = vs_plan_preprocess_threads(o->preprocess_threads,
                                                     !vs_torch_is_cuda(g->torch) && !o->infer_noop);
    g->preprocessors = calloc((size_t)g->preprocess_count, sizeof *g->preprocessors);
    if (!g->preprocessors)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    int status = VS_OK;
    for (int w = 0; w < g->preprocess_count && status == VS_OK; w++) {
        vs_preprocess_stage *worker = &g->preprocessors[w];
        worker->in = &g->positions;
        worker->out = &g->filled;
        worker->frame_floats = frame_floats;
        vs_stats_init(&worker->stats, "preprocess", "frame");
        status = vs_preprocess_init(&worker->preprocess, manifest, err);
        if (g->preprocess_on_torch)
            vs_preprocess_use_torch(&worker->preprocess, g->torch);
    }
    if (status != VS_OK)
        return status;
    g->gather = (vs_gather_stage){.in = &g->filled,
                                  .out = &g->queues[VS_QUEUE_BATCHED],
                                  .batches = &g->batches,
                                  .frame_floats = frame_floats,
                                  .held_count = g->batches.count};
    if (!(g->gather.held = calloc((size_t)g->batches.count, sizeof *g->gather.held)))
        return vs_fail(err, VS_ENOMEM, "out of memory");

    g->infer.in = &g->queues[VS_QUEUE_BATCHED];
    g->infer.out = &g->queues[VS_QUEUE_INFERRED];
    g->infer.torch = g->torch;
    g->infer.noop = o->infer_noop;
    g->infer.budget = &g->budget;
    vs_stats_init(&g->infer.stats, "inference", "batch");

    vs_postprocess_stage *post = &g->post;
    post->in = &g->queues[VS_QUEUE_INFERRED];
    post->out = &g->queues[VS_QUEUE_DETECTED];
    post->manifest = manifest;
    float conf = o->conf >= 0 ? o->conf : manifest->conf;
    post->params = (vs_detect_params){
        /* With tracking, boxes down to the tracker's low threshold go on to
         * its second pass; it drops those no track claims. */
        .conf = o->track && o->track_params.low < conf ? o->track_params.low : conf,
        .iou = o->iou >= 0 ? o->iou : manifest->iou,
        .max_detections = manifest->max_detections,
        .class_agnostic = manifest->class_agnostic_nms,
        .class_allowed = o->classes ? g->class_allowed : NULL,
    };
    vs_stats_init(&post->stats, "postprocess", "frame");
    /* Per-video state is sized by the videos in flight, whatever the run's
     * count (inflight.h): --jobs being decoded, and one per frame slot that
     * can hold an END marker between the decoders and a stage. */
    int videos_in_flight = vs_inflight_bound(o->jobs, g->frames.count);
    status = vs_inflight_init(&post->last, videos_in_flight, sizeof(vs_postprocess_video), err);
    if (status != VS_OK)
        return status;
    /* Sized from the real output (YOLO scratch grows with the anchor count). */
    post->scratch = malloc(vs_detect_scratch_size(manifest, g->output_shapes[0]) + 64);
    if (!post->scratch)
        return vs_fail(err, VS_ENOMEM, "out of memory");

    vs_track_stage *track = &g->track;
    track->in = &g->queues[VS_QUEUE_DETECTED];
    track->out = &g->queues[VS_QUEUE_TRACKED];
    track->enabled = o->track;
    track->params = o->track_params;
    track->params.high = conf;
    if (track->params.new_track < 0) /* as the reference: a new track needs 0.1 above high */
        track->params.new_track = conf + 0.1f < 1 ? conf + 0.1f : 1;
    if (track->params.low > conf) /* a --conf under the low threshold: no second pass */
        track->params.low = conf;
    track->class_count = manifest->classes;
    /* Room for a crowd and the objects it hides for a few seconds. */
    track->track_capacity = 4 * VS_MAX_DETECTIONS;
    vs_stats_init(&track->stats, "track", "frame");
    if (o->track && (status = vs_track_params_check(&track->params, err)) != VS_OK)
        return status;
    if (o->zones_path) {
        if (!o->track)
            return vs_fail(err, VS_EINVAL, "--zones needs tracking (not --track none)");
        status = vs_zones_load(o->zones_path, (const char *const *)g->labels, manifest->classes,
                               &g->zones, err);
        if (status != VS_OK)
            return status;
        track->zones = &g->zones;
        if (g->store)
            vs_store_set_zones(g->store, &g->zones);
    }

    vs_sink_stage *sink = &g->sink;
    sink->in = &g->queues[VS_QUEUE_TRACKED];
    sink->batches = &g->batches;
    sink->frames = &g->frames;
    sink->store = g->store;
    sink->halt = &g->halt;
    /* The outputs, the store first: it settles each video's output name
     * before the others open, and records the video after they end. */
    if (g->store)
        status = vs_output_store(&sink->outputs[sink->output_count++], g->store, g->run_id,
                                 g->labels, err);
    if (status == VS_OK && o->annotate)
        status = vs_output_annotate(
            &sink->outputs[sink->output_count++], o->out_dir, g->labels, track->zones, g->store,
            vs_plan_lean_encoder(vs_torch_is_cuda(g->torch)), &g->frames, g->encode_count, err);
    if (status == VS_OK && o->snapshots)
        status = vs_output_snapshots(&sink->outputs[sink->output_count++], o->out_dir, g->labels,
                                     g->store, err);
    if (status != VS_OK) {
        sink->output_count--; /* the one that failed was not made */
        return status;
    }
    return vs_sink_init(sink, videos_in_flight, err);
}

static void summarize(graph *g, const vs_run_options *o, vs_video *videos, int video_count,
                      double wall_s, vs_run_result *r)
{
    snprintf(r->device, sizeof r->device, "%s", vs_torch_device_name(g->torch));
    /* NVDEC only if it decoded frames: FFmpeg falls back to software for a
     * stream it cannot take (a profile, or a driver without NVDEC). */
    int64_t frames_on_gpu = 0;
    for (int j = 0; j < o->jobs; j++)
        frames_on_gpu += g->decoders[j].frames_on_gpu;
    snprintf(r->decoder, sizeof r->decoder, "%s", frames_on_gpu > 0 ? "nvdec" : "software");
    snprintf(r->preprocess, sizeof r->preprocess, "%s",
             g->preprocess_on_torch ? "torch" : "swscale");
    if (g->hwaccel.device && frames_on_gpu == 0)
        snprintf(r->hwaccel_note, sizeof r->hwaccel_note,
                 "--hwaccel %s: NVDEC decoded no frame (FFmpeg decoded every video in software)",
                 vs_hwaccel_mode_name(o->hwaccel));
    else
        snprintf(r->hwaccel_note, sizeof r->hwaccel_note, "%s", g->hwaccel.note);
    for (int i = 0; i < video_count; i++) {
        vs_video *v = &videos[i];
        r->videos_done += v->status == VS_VIDEO_DONE;
        r->videos_failed += v->status == VS_VIDEO_FAILED;
        r->videos_skipped += v->status == VS_VIDEO_SKIPPED;
        r->videos_interrupted += v->status == VS_VIDEO_INTERRUPTED || v->status == VS_VIDEO_PENDING;
        r->frames_decoded += v->frames_decoded;
        r->frames_analysed += v->frames_analysed;
    }
    r->detections = g->sink.detections;
    r->wall_s = wall_s;
    r->fps_decoded = wall_s > 0 ? r->frames_decoded / wall_s : 0;
    r->fps_analysed = wall_s > 0 ? r->frames_analysed / wall_s : 0;

    vs_stage_stats decode;
    vs_stats_init(&decode, "decode", "frame");
    for (int j = 0; j < o->jobs; j++)
        vs_stats_merge(&decode, &g->decoders[j].stats);
    /* J decoders run in parallel: per frame, the stage costs 1/J of a decoder's time. */
    vs_stats_summary(&decode, &r->stages[VS_STAGE_DECODE]);
    r->stages[VS_STAGE_DECODE].ms_per_frame /= o->jobs;
    vs_stage_stats preprocess;
    vs_stats_init(&preprocess, "preprocess", "frame");
    for (int w = 0; w < g->preprocess_count; w++)
        vs_stats_merge(&preprocess, &g->preprocessors[w].stats);
    /* Likewise N preprocess workers. */
    vs_stats_summary(&preprocess, &r->stages[VS_STAGE_PREPROCESS]);
    r->stages[VS_STAGE_PREPROCESS].ms_per_frame /= g->preprocess_count;
    vs_stats_summary(&g->infer.stats, &r->stages[VS_STAGE_INFER]);
    vs_stats_summary(&g->post.stats, &r->stages[VS_STAGE_POSTPROCESS]);
    vs_stats_summary(&g->track.stats, &r->stages[VS_STAGE_TRACK]);
    vs_stats_summary(&g->sink.stats, &r->stages[VS_STAGE_SINK]);
    r->bottleneck = vs_stats_bottleneck(r->stages, VS_STAGE_COUNT);

    static const char *const queue_names[VS_QUEUE_COUNT] = {"decoded", "batched", "inferred",
                                                            "detected", "tracked"};
    for (int q = 0; q < VS_QUEUE_COUNT; q++) {
        vs_queue *queue = &g->queues[q];
        r->queues[q] = (vs_queue_summary){
            .name = queue_names[q],
            .capacity = queue->capacity,
            .max = queue->occupancy_max,
            .average = queue->pushes ? (double)queue->occupancy_sum / queue->pushes : 0,
            .full_waits = queue->full_waits};
    }
    r->frame_pool_size = g->frames.count;
    r->batch_pool_size = g->batches.count;
    r->frame_pool_max_in_use = g->frames.in_use_max;
    r->frame_pool_gets = g->frames.gets;
    r->memory_budget_bytes = g->budget.limit;
    r->memory_budget_max_used = g->budget.used_max;
    r->memory_budget_waits = g->budget.waits;
    r->batch_pool_gets = g->batches.gets;
    r->frame_pool_waits = g->frames.empty_waits;
    r->batch_pool_waits = g->batches.empty_waits;

    monitor *m = &g->monitor;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    r->rss_peak_bytes = (int64_t)usage.ru_maxrss * 1024;
    r->rss_final_bytes = vs_rss_bytes();
    r->rss_samples = m->sample_count;
    if (m->gpu) {
        r->gpu_monitored = 1;
        int n = 0;
        int histogram[101] = {0};
        double sum = 0;
        for (int i = 0; i < m->sample_count; i++) {
            if (m->samples[i].gpu_util < 0)
                continue;
            int u = m->samples[i].gpu_util > 100 ? 100 : (int)m->samples[i].gpu_util;
            histogram[u]++;
            sum += u;
            n++;
            if (m->samples[i].gpu_mem_bytes > r->gpu_memory_peak_bytes)
                r->gpu_memory_peak_bytes = m->samples[i].gpu_mem_bytes;
        }
        r->gpu_util_avg = n ? sum / n : 0;
        for (int u = 0, seen = 0; u <= 100; u++)
            if ((seen += histogram[u]) * 100 >= n * 95 && n) {
                r->gpu_util_p95 = u;
                break;
            }
        if (m->sample_count)
            r->gpu_memory_used_bytes = m->samples[m->sample_count - 1].gpu_mem_bytes;
    }
    vs_torch_memory memory;
    vs_torch_memory_stats(g->torch, &memory);
    r->torch_cuda_peak_bytes = memory.cuda_peak_allocated;
}

/* What runs.options records: the options in effect, not the command line
 * alone. "analysis" is what decides the rows (model, manifest, weights and
 * labels by hash, conf, iou, classes, sampling, tracking, zones: the text
 * stored per video); then how the run went about it; then the arguments as
 * given. NULL when out of memory. */
static char *run_options_json(const vs_run_options *o, const char *analysis)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *effective = cJSON_Parse(analysis);
    if (effective)
        cJSON_AddItemToObject(root, "analysis", effective);
    cJSON_AddStringToObject(root, "manifest", o->manifest_path);
    cJSON_AddStringToObject(root, "device", o->device);
    cJSON_AddNumberToObject(root, "batch", o->batch);
    cJSON_AddNumberToObject(root, "jobs", o->jobs);
    cJSON_AddNumberToObject(root, "threads", o->threads);
    cJSON_AddBoolToObject(root, "force", o->force);
    cJSON_AddStringToObject(root, "out", o->out_dir);
    cJSON *arguments = o->options_json ? cJSON_Parse(o->options_json) : NULL;
    if (arguments)
        cJSON_AddItemToObject(root, "arguments", arguments);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* Opens the store and marks the videos it holds complete under this run's
 * analysis as skipped. Needs the manifest, not the model: a run with nothing
 * left to do never loads the weights. */
static int open_store(graph *g, const vs_run_options *o, vs_video *videos, int video_count,
                      vs_error *err)
{
    char path[4200];
    if (o->db_path)
        snprintf(path, sizeof path, "%s", o->db_path);
    else
        snprintf(path, sizeof path, "%s/results.db", o->out_dir);
    int status = vs_store_open(&g->store, path, err);
    if (status != VS_OK)
        return status;
    /* What makes this run's rows what they are, stored with each video: a
     * video done under another model or other options is not complete. */
    char tracking[160];
    if (o->track) { /* the tracker's parameters as setup_stages resolves them */
        float conf = o->conf >= 0 ? o->conf : g->manifest->conf;
        float fresh = o->track_params.new_track >= 0 ? o->track_params.new_track
                                                     : (conf + 0.1f < 1 ? conf + 0.1f : 1);
        snprintf(tracking, sizeof tracking, "bytetrack low %g new %g match %g buffer %g",
                 o->track_params.low < conf ? o->track_params.low : conf, fresh,
                 o->track_params.match, o->track_params.buffer_s);
    }
    vs_analysis_options analysis_options = {
        .manifest_path = o->manifest_path,
        .conf = o->conf >= 0 ? o->conf : g->manifest->conf,
        .iou = o->iou >= 0 ? o->iou : g->manifest->iou,
        .class_allowed = o->classes ? g->class_allowed : NULL,
        .every = o->every,
        .sample_fps = o->sample_fps,
        .skip_similar = o->skip_similar,
        .half = o->half,
        .annotate = o->annotate,
        .snapshots = o->snapshots,
        .tracking = o->track ? tracking : NULL,
        .zones_path = o->zones_path,
    };
    status = vs_analysis_describe(g->manifest, &analysis_options, &g->analysis, err);
    if (status == VS_OK)
        status = vs_store_set_analysis(g->store, g->analysis, err);
    if (status != VS_OK)
        return status;
    for (int i = 0; i < video_count && !o->force; i++) {
        int complete = 0;
        if ((status =
                 vs_store_video_is_complete(g->store, &videos[i], &complete, videos[i].redo_reason,
                                            sizeof videos[i].redo_reason, err)) != VS_OK)
            return status;
        if (complete)
            videos[i].status = VS_VIDEO_SKIPPED;
    }
    return VS_OK;
}

/* The runs row, once the model is open: it names the device in use. */
static int begin_run(graph *g, const vs_run_options *o, vs_run_result *result, vs_error *err)
{
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    char versions[256];
    snprintf(versions, sizeof versions, "{\"vidsift\":\"%s\",\"libtorch\":\"%s\"}", VS_VERSION,
             vs_torch_version());
    /* runs.options records the options in effect, the analysis first. */
    char *recorded = run_options_json(o, g->analysis);
    int status = vs_store_begin_run(g->store, recorded ? recorded : "{}", versions,
                                    vs_torch_device_name(g->torch), host, &result->run_id, err);
    free(recorded);
    g->run_id = result->run_id;
    return status;
}

/* Every video complete already: the result of a run that did nothing, with
 * no model loaded, no runs row and no thread started. */
static void summarize_nothing_to_do(const vs_run_options *o, int video_count, vs_run_result *r)
{
    snprintf(r->device, sizeof r->device, "%s", o->device ? o->device : "auto");
    r->videos_skipped = video_count;
    static const char *const names[VS_STAGE_COUNT] = {"decode",      "preprocess", "inference",
                                                      "postprocess", "track",      "sinks"};
    static const char *const units[VS_STAGE_COUNT] = {"frame", "frame", "batch",
                                                      "frame", "frame", "frame"};
    for (int s = 0; s < VS_STAGE_COUNT; s++)
        r->stages[s] = (vs_stage_summary){.name = names[s], .unit = units[s]};
    static const char *const queue_names[VS_QUEUE_COUNT] = {"decoded", "batched", "inferred",
                                                            "detected", "tracked"};
    for (int q = 0; q < VS_QUEUE_COUNT; q++)
        r->queues[q] = (vs_queue_summary){.name = queue_names[q]};
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    r->rss_peak_bytes = (int64_t)usage.ru_maxrss * 1024;
    r->rss_final_bytes = vs_rss_bytes();
    snprintf(r->gpu_note, sizeof r->gpu_note, "no model loaded: nothing to do");
}

int vs_pipeline_run(const vs_run_options *o, vs_video *videos, int video_count,
                    vs_run_result *result, vs_error *err)
{
    /* No --batch: the device's own (core/plan.c), recorded as the batch run. */
    vs_run_options planned = *o;
    if (planned.batch <= 0)
        planned.batch = vs_plan_batch(0, vs_plan_device_is_cuda(o->device));
    o = &planned;
    memset(result, 0, sizeof *result);
    result->files_skipped = o->files_skipped;
    result->duplicates_dropped = o->duplicates_dropped;
    graph *g = calloc(1, sizeof *g);
    if (!g)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    for (int i = 0; i < video_count; i++) {
        vs_error ignored;
        /* An unreadable file keeps an empty fingerprint; decoding names the reason.
         * One the scan failed (a FIFO, a device, a missing path) is never opened. */
        if (videos[i].status != VS_VIDEO_FAILED)
            vs_fingerprint(&videos[i], &ignored);
    }
    int status = load_manifest(g, o, err);
    if (status == VS_OK && o->store)
        status = open_store(g, o, videos, video_count, err);
    int skipped = 0;
    for (int i = 0; i < video_count; i++)
        skipped += videos[i].status == VS_VIDEO_SKIPPED;
    if (status == VS_OK && video_count > 0 && skipped == video_count) {
        /* Nothing left to do: the weights are never read into memory, and
         * no run is recorded, so the last run's report stays the latest. */
        summarize_nothing_to_do(o, video_count, result);
        vs_store_close(g->store);
        free_graph(g);
        free(g);
        return VS_OK;
    }
    if (status == VS_OK)
        status = open_model(g, o, err);
    result->model_loaded = g->torch != NULL;
    if (status == VS_OK && o->store)
        status = begin_run(g, o, result, err);
    if (status == VS_OK)
        status = make_pools(g, o, err);
    if (status == VS_OK)
        status = setup_stages(g, o, videos, video_count, err);
    if (status == VS_OK)
        status = start_monitor(g, o, videos, video_count, result);
    if (status != VS_OK) {
        if (g->store)
            vs_store_close(g->store);
        free_graph(g);
        free(g);
        return status;
    }

    /* The stage table, in data order: each stage once, with the queues it
     * reads and writes (core/graph.h). A new stage is its file and a row. */
    vs_stage_row rows[] = {
        {.name = "vs-decode",
         .loop = vs_decode_thread,
         .states = g->decoders,
         .state_size = sizeof *g->decoders,
         .copies = o->jobs < VS_STAGE_COPIES_MAX ? o->jobs : VS_STAGE_COPIES_MAX,
         .out = &g->queues[VS_QUEUE_DECODED]},
        {.name = "vs-batch",
         .loop = vs_batch_thread,
         .states = &g->batch,
         .copies = 1,
         .in = g->batch.in,
         .out = g->batch.out},
        {.name = "vs-preprocess",
         .loop = vs_preprocess_thread,
         .states = g->preprocessors,
         .state_size = sizeof *g->preprocessors,
         .copies = g->preprocess_count,
         .in = &g->positions,
         .out = &g->filled},
        {.name = "vs-gather",
         .loop = vs_gather_thread,
         .states = &g->gather,
         .copies = 1,
         .in = g->gather.in,
         .out = g->gather.out},
        {.name = "vs-infer",
         .loop = vs_infer_thread,
         .states = &g->infer,
         .copies = 1,
         .in = g->infer.in,
         .out = g->infer.out},
        {.name = "vs-post",
         .loop = vs_postprocess_thread,
         .states = &g->post,
         .copies = 1,
         .in = g->post.in,
         .out = g->post.out},
        {.name = "vs-track",
         .loop = vs_track_thread,
         .states = &g->track,
         .copies = 1,
         .in = g->track.in,
         .out = g->track.out},
        {.name = "vs-sink",
         .loop = vs_sink_thread,
         .states = &g->sink,
         .copies = 1,
         .in = g->sink.in},
    };
    enum { ROW_COUNT = sizeof rows / sizeof rows[0] };
    double started = vs_now_ms();
    /* Checked before any thread starts; a thread that cannot be created
     * leaves nothing running. Data drains downstream: each row's output is
     * closed when its last thread returns, so joining in order sees every
     * frame reach the sink. */
    status = vs_graph_start(rows, ROW_COUNT, err);
    if (status != VS_OK) {
        stop_monitor(&g->monitor);
        if (g->store)
            vs_store_close(g->store);
        free_graph(g);
        free(g);
        return status;
    }
    result->started = 1;
    vs_graph_join(rows, ROW_COUNT);
    double wall_s = (vs_now_ms() - started) / 1000.0;
    stop_monitor(&g->monitor);

    for (int i = 0; i < video_count; i++) {
        vs_video *v = &videos[i];
        if (g->sink.failed && !*o->stop &&
            (v->status == VS_VIDEO_PENDING || v->status == VS_VIDEO_INTERRUPTED)) {
            /* Stopped (or never begun) because the store failed, not by a signal. */
            v->status = VS_VIDEO_FAILED;
            v->error = g->sink.error;
            vs_error_prefix(&v->error, "%s: not recorded", VS_NAME(v->path));
        } else if (v->status == VS_VIDEO_PENDING && *o->stop) {
            v->status = VS_VIDEO_INTERRUPTED;
        }
    }
    result->interrupted = *o->stop != 0;
    summarize(g, o, videos, video_count, wall_s, result);

    if (g->sink.failed) {
        *err = g->sink.error;
        status = VS_EIO;
    }
    if (g->store) {
        vs_error store_error;
        char *summary = vs_report_json(result, videos, video_count);
        /* Each stage's input queue: decode has none, the others follow in order. */
        vs_store_stage_stat stats[VS_STAGE_COUNT];
        for (int s = 0; s < VS_STAGE_COUNT; s++) {
            const vs_stage_summary *st = &result->stages[s];
            const vs_queue_summary *q = s > 0 ? &result->queues[s - 1] : NULL;
            stats[s] = (vs_store_stage_stat){.stage = st->name,
                                             .unit = st->unit,
                                             .count = st->count,
                                             .frames = st->frames,
                                             .total_ms = st->total_ms,
                                             .avg_ms = st->avg_ms,
                                             .p95_ms = st->p95_ms,
                                             .max_ms = st->max_ms,
                                             .queue_avg = q ? q->average : -1,
                                             .queue_max = q ? q->max : -1,
                                             .queue_capacity = q ? q->capacity : -1};
        }
        vs_store_add_stage_stats(g->store, result->run_id, stats, VS_STAGE_COUNT, &store_error);
        vs_store_add_samples(g->store, result->run_id, g->monitor.samples, g->monitor.sample_count,
                             &store_error);
        const char *run_status = status != VS_OK         ? "failed"
                                 : result->interrupted   ? "interrupted"
                                 : result->videos_failed ? "partial"
                                                         : "done";
        if (vs_store_end_run(g->store, result->run_id, run_status, summary ? summary : "{}",
                             &store_error) != VS_OK &&
            status == VS_OK) {
            *err = store_error;
            status = VS_EIO;
        }
        free(summary);
        vs_store_close(g->store);
    }
    free_graph(g);
    free(g);
    return status;
}
