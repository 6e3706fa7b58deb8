/* bench.c: `vidsift bench` - measures each stage of the pipeline alone, with
 * the code the pipeline runs, then the whole pipeline on the same frames, and
 * says how close the pipeline comes to its slowest stage. Then the pipeline
 * again with inference a no-op (vs_run_options.infer_noop): its ceiling, what
 * the CPU side sustains for a model that costs nothing, once with one
 * preprocess worker and once with several, against the slowest CPU stage.
 *
 * Every stage measurement runs on this one thread with no other vidsift work
 * beside it, so a stage's frames/s is what it could sustain if it never
 * waited on a queue. The inputs are the first --frames frames of each clip,
 * stream-copied (no re-encode) into a temporary directory, so the isolated
 * stages, the pipeline and the sequential baseline all see the same frames.
 *
 * Owns: the temporary directory (removed at the end), one vs_torch per
 * precision. Never: times a copy of a stage's code - decoding is the decode
 * stage's reader (core/reader.c), threads and model opening are the run's
 * plan (core/plan.c), the sequential baseline is core/sequential.c - so a
 * slow figure here is a slow stage, not a slow benchmark. This file holds
 * the options, the order of the measurements and the printers. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libavcodec/avcodec.h>

#include "advice.h"
#include "annotate.h"
#include "cli.h"
#include "clip.h"
#include "options.h"
#include "detect.h"
#include "manifest.h"
#include "pipeline.h"
#include "plan.h"
#include "track.h"
#include "preprocess.h"
#include "reader.h"
#include "scan.h"
#include "sequential.h"
#include "stats.h"
#include "store.h"
#include "vs_torch.h"

enum {
    OPT_MODEL = 256,
    OPT_DEVICE,
    OPT_HALF,
    OPT_OPTIMIZE,
    OPT_THREADS,
    OPT_FRAMES,
    OPT_BATCHES,
    OPT_BATCH,
    OPT_NO_ANNOTATE,
    OPT_NO_STORE,
    OPT_SEQUENTIAL,
    OPT_JSON,
    OPT_IMGSZ,
    OPT_PREPROCESS_THREADS,
    OPT_CEILING_ONLY,
};

static const cli_option options_table[] = {
    {"model", 0, "NAME|PATH", OPT_MODEL,
     "model name in `vidsift models list`, a manifest path, or a\n"
     ".pt with its manifest beside it (yolov5s; $VIDSIFT_DEFAULT_MODEL)"},
    {"device", 0, "DEV", OPT_DEVICE, "auto, cpu, cuda or cuda:N (auto)"},
    {"half", 0, NULL, OPT_HALF,
     "the pipeline runs in FP16 (CUDA only); inference is measured in\n"
     "FP32 always, and in FP16 too on CUDA"},
    {"optimize", 0, NULL, OPT_OPTIMIZE,
     "the model is frozen and optimized for inference at load, for\n"
     "the pipeline and every inference measurement"},
    {"threads", 0, "N", OPT_THREADS, "CPU inference threads (0 = all cores)"},
    {"imgsz", 0, "S|WxH", OPT_IMGSZ,
     "YOLO models: input size in pixels, multiples of 32 (the\n"
     "manifest's)"},
    {"frames", 0, "N", OPT_FRAMES,
     "frames taken from the start of each clip, and frames per\n"
     "inference measurement (64; 0 = whole clips)"},
    {"batches", 0, "LIST", OPT_BATCHES, "inference batch sizes to measure, 1-64 (1,8,16)"},
    {"batch", 0, "N", OPT_BATCH,
     "the pipeline's batch size, 1-64 (4 on CPU, 8 on CUDA); measured\n"
     "alone too"},
    {"no-annotate", 0, NULL, OPT_NO_ANNOTATE, "neither measure nor run the annotated-video writer"},
    {"no-store", 0, NULL, OPT_NO_STORE, "neither measure nor run the SQLite store"},
    {"sequential", 0, NULL, OPT_SEQUENTIAL,
     "also run a baseline in this process: one thread, batch 1, no\n"
     "overlap - decode, preprocess, infer, postprocess, store and\n"
     "annotate one frame after the other - and compare it"},
    {"preprocess-threads", 0, "N", OPT_PREPROCESS_THREADS,
     "the pipeline's preprocess workers (0: as run plans);\n"
     "its ceiling (inference a no-op) runs 1 and N (N >= 2)"},
    {"ceiling-only", 0, NULL, OPT_CEILING_ONLY,
     "measure decode and preprocess alone and the ceiling only\n"
     "(no inference measured, no run with the model)"},
    {"json", 0, NULL, OPT_JSON, "print the figures as one JSON object on stdout"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift bench",
    .synopsis = "[OPTIONS] [VIDEO...]",
    .description = "Measures each stage alone (decode, preprocess, inference at several batch\n"
                   "sizes, postprocess, SQLite inserts, annotate+encode), then the whole pipeline\n"
                   "on the same frames, and prints frames/s per stage, the pipeline's efficiency\n"
                   "(its frames/s over the slowest stage's), the batch speed-up, peak memory and\n"
                   "GPU use. Without VIDEO it uses the forensics-samples-files clips (1080p and\n"
                   "720p), or a generated 720p clip when that package is not installed.\n",
    .options = options_table,
    .epilogue = "Each stage is timed on one thread with nothing running beside it; the pipeline\n"
                "runs its stages at once, so on a CPU they share the cores and its efficiency is\n"
                "below 1 even without stalls. Progress goes to stderr.\n"
                "\n"
                "exit status: 0 measured, 1 a measurement failed, 2 usage or setup error, 130 "
                "interrupted\n",
};

/* The clips used without VIDEO arguments (Debian package forensics-samples-files). */
static const char *const default_clips[] = {
    "/usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4",
    "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4",
};

#define MAX_CLIPS 64
#define MAX_BATCH_SIZES 9 /* --batches entries, plus the pipeline's batch */
#define MAX_FIGURES 40
#define MAX_NOTES 8
#define INFER_WARMUP_BATCHES 2 /* TorchScript profiles a new shape on its first runs */
#define MIN_MEASURE_MS 100.0   /* fast stages repeat until they have run this long */
#define STORE_BENCH_ROWS 100000
#define STORE_ROWS_PER_FRAME 20 /* what vs_store_bench inserts per frame */
#define GENERATED_WIDTH 1280
#define GENERATED_HEIGHT 720
/* The temporary directory's path is kept short enough that every path made
 * under it ("%s/clips/NN-<200 chars>.mkv" at most) fits in PATH_MAX. */
#define TEMP_DIR_MAX 1024

typedef struct bench_config {
    const char *model, *device;
    int half, threads, frames, batch;
    int optimize; /* --optimize: every model opened frozen and optimized */
    int batches[MAX_BATCH_SIZES], batch_count;
    int annotate, store, sequential, json;
    int input_width, input_height; /* --imgsz; 0: the manifest's */
    int preprocess_threads;        /* the pipeline's workers; 0: the run's plan */
    int ceiling_only;              /* no inference measured, no real pipeline run */
} bench_config;

/* One measured figure. */
typedef struct figure {
    char name[48];
    const char *stage;     /* decode, preprocess, infer, postprocess, store, annotate */
    int batch;             /* infer: frames per batch */
    const char *precision; /* infer: fp32 or fp16 */
    int64_t frames;        /* frames processed (store: frames of STORE_ROWS_PER_FRAME rows) */
    double seconds, fps;
    int64_t rows; /* store only */
    double rows_per_s;
} figure;

typedef struct bench_clip {
    char source[PATH_MAX]; /* as given */
    char path[PATH_MAX];   /* the copy that is measured */
    int width, height;
    int64_t frames; /* decoded from the copy */
} bench_clip;

typedef struct bench {
    bench_config config;
    char temp_dir[TEMP_DIR_MAX];
    char manifest_path[PATH_MAX];
    vs_manifest manifest;
    const char *labels[VS_MAX_CLASSES];
    bench_clip clips[MAX_CLIPS];
    int clip_count;
    char device[128];
    figure figures[MAX_FIGURES];
    int figure_count;
    char notes[MAX_NOTES][320]; /* what was not measured, or measured differently, and why */
    int note_count;
    /* preprocessed frames sitting in the FP32 model's input, one per batch position */
    vs_letterbox *geometry;
    int *source_width, *source_height;
    int positions_filled;
    /* detections of one real frame (model-input pixels), drawn on every frame by annotate */
    vs_detection drawn[VS_MAX_DETECTIONS];
    int drawn_count;
    /* the whole pipeline */
    int pipeline_ran;
    vs_run_result pipeline;
    /* the ceiling: inference a no-op, with 1 and with ceiling_workers preprocess workers */
    int ceiling_ran, ceiling_workers;
    vs_run_result ceiling_one, ceiling;
    /* the sequential baseline */
    int sequential_ran;
    vs_sequential_result sequential;
} bench;

/* Set from the signal handler: the only state it touches. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    if (stop_requested) {
        static const char message[] = "\nvidsift: stopped\n";
        ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
        (void)ignored;
        _exit(130);
    }
    stop_requested = signal_number;
}

/* Progress, on stderr. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
}

static void add_note(bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(bench *b, const char *fmt, ...)
{
    if (b->note_count == MAX_NOTES)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(b->notes[b->note_count++], sizeof b->notes[0], fmt, args);
    va_end(args);
}

static figure *add_figure(bench *b, const char *stage, const char *name, int64_t frames,
                          double seconds)
{
    if (b->figure_count == MAX_FIGURES)
        return NULL;
    figure *f = &b->figures[b->figure_count++];
    memset(f, 0, sizeof *f);
    f->stage = stage;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->frames = frames;
    f->seconds = seconds;
    f->fps = seconds > 0 ? frames / seconds : 0;
    return f;
}

static const figure *find_figure(const bench *b, const char *stage, int batch,
                                 const char *precision)
{
    for (int i = 0; i < b->figure_count; i++) {
        const figure *f = &b->figures[i];
        if (strcmp(f->stage, stage) != 0)
            continue;
        if (precision && (f->batch != batch || strcmp(f->precision, precision) != 0))
            continue;
        return f;
    }
    return NULL;
}

/* Frames per inference/postprocess measurement, and of a generated clip:
 * --frames, or 64 with --frames 0 (whole clips). */
static int frames_per_measurement(const bench *b)
{
    return b->config.frames > 0 ? b->config.frames : 64;
}

/* ---- options ---- */

static int parse_batches(const char *text, bench_config *config)
{
    config->batch_count = 0;
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long value = strtol(p, &end, 10);
        if (errno || end == p || value < 1 || value > 64 || (*end && *end != ',')) {
            fprintf(stderr,
                    "vidsift bench: --batches: '%s' is not a list of sizes 1-64 (e.g. 1,8,16)\n",
                    text);
            return 0;
        }
        if (config->batch_count == MAX_BATCH_SIZES - 1) {
            fprintf(stderr, "vidsift bench: --batches: at most %d sizes\n", MAX_BATCH_SIZES - 1);
            return 0;
        }
        int seen = 0;
        for (int i = 0; i < config->batch_count; i++)
            seen |= config->batches[i] == (int)value;
        if (!seen)
            config->batches[config->batch_count++] = (int)value;
        p = *end ? end + 1 : end;
    }
    if (config->batch_count == 0) {
        fprintf(stderr, "vidsift bench: --batches: empty list\n");
        return 0;
    }
    return 1;
}

/* ---- files ---- */

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *walk)
{
    (void)info;
    (void)type;
    (void)walk;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    if (*path)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Fills a frame slot for the annotator from a decoded picture, as the
 * decode stage does for an analysed frame. */
static void describe_frame(vs_frame *frame, vs_video *video, int64_t index)
{
    frame->kind = VS_FRAME_PICTURE;
    frame->video = video;
    frame->index = index;
    frame->pts = frame->picture->best_effort_timestamp;
    frame->pts_ms = (int64_t)llround(vs_reader_time_s(video, frame->pts, index) * 1000.0);
    frame->analysed = 1;
    frame->carried = 0;
}

/* ---- the inputs ---- */

/* Fills b->clips from the arguments, or the default clips, or a generated one,
 * and copies each one's first --frames frames into the temporary directory. */
static int prepare_clips(bench *b, char **paths, int path_count, vs_error *err)
{
    char generated[PATH_MAX];
    const char *sources[MAX_CLIPS];
    int count = 0;
    if (path_count > MAX_CLIPS)
        return vs_fail(err, VS_EINVAL, "at most %d clips", MAX_CLIPS);
    for (int i = 0; i < path_count; i++)
        sources[count++] = paths[i];
    if (path_count == 0) {
        for (size_t i = 0; i < sizeof default_clips / sizeof default_clips[0]; i++)
            if (access(default_clips[i], R_OK) == 0)
                sources[count++] = default_clips[i];
        if (count == 0) {
            int frames = frames_per_measurement(b);
            snprintf(generated, sizeof generated, "%s/generated-%dx%d.mkv", b->temp_dir,
                     GENERATED_WIDTH, GENERATED_HEIGHT);
            say("forensics-samples-files is not installed (apt-get install "
                "forensics-samples-files): generating a %dx%d test clip",
                GENERATED_WIDTH, GENERATED_HEIGHT);
            int status =
                vs_clip_generate(generated, GENERATED_WIDTH, GENERATED_HEIGHT, frames, err);
            if (status != VS_OK)
                return status;
            add_note(b,
                     "inputs: a generated %dx%d test pattern (forensics-samples-files not "
                     "installed); it has nothing to detect",
                     GENERATED_WIDTH, GENERATED_HEIGHT);
            sources[count++] = generated;
        }
    }
    for (int i = 0; i < count; i++) {
        bench_clip *clip = &b->clips[b->clip_count];
        snprintf(clip->source, sizeof clip->source, "%s", sources[i]);
        snprintf(clip->path, sizeof clip->path, "%s/clips/%02d-%.200s.mkv", b->temp_dir, i,
                 base_name(sources[i]));
        int status = vs_clip_copy_prefix(clip->source, clip->path, b->config.frames, err);
        if (status != VS_OK)
            return status;
        b->clip_count++;
    }
    return VS_OK;
}

/* ---- stage measurements ---- */

/* Threads and model opening as `vidsift run` plans them (core/plan.c): a
 * stage measured with other threads than the pipeline uses would not be
 * comparable. */
static int open_model(bench *b, vs_torch **torch, int half, int max_batch, vs_error *err)
{
    return vs_plan_open_model(torch, &b->manifest, b->config.device, half, b->config.optimize,
                              max_batch, 1, b->config.threads, err);
}

/* Decode and preprocess, each timed on its own, over every clip: decode is
 * the decode stage's reader with its codec threads, preprocess is vs_preprocess_frame into the
 * model's input (position i % max_batch), so the model then runs on real frames. */
static int measure_decode_preprocess(bench *b, vs_torch *torch, int max_batch, vs_error *err)
{
    size_t frame_floats = (size_t)3 * b->manifest.input_height * b->manifest.input_width;
    float *input = vs_torch_input(torch, 0);
    vs_preprocess preprocess;
    int status = vs_preprocess_init(&preprocess, &b->manifest, err);
    if (status != VS_OK)
        return status;
    AVFrame *picture = av_frame_alloc();
    if (!picture) {
        vs_preprocess_free(&preprocess);
        return vs_fail(err, VS_ENOMEM, "out of memory");
    }
    double decode_ms = 0, preprocess_ms = 0;
    int64_t frames = 0;
    for (int c = 0; c < b->clip_count && status == VS_OK; c++) {
        bench_clip *clip = &b->clips[c];
        vs_reader reader;
        vs_video video = {0};
        status = vs_reader_open(&reader, clip->path,
                                vs_plan_codec_threads(vs_torch_is_cuda(torch), 1), err);
        if (status == VS_OK)
            vs_reader_describe(&reader, &video);
        while (status == VS_OK && !stop_requested) {
            double started = vs_now_ms();
            status = vs_reader_next(&reader, picture, err);
            decode_ms += vs_now_ms() - started;
            if (status != VS_OK)
                break;
            int position = (int)(frames % max_batch);
            started = vs_now_ms();
            status =
                vs_preprocess_frame(&preprocess, picture, video.rotation,
                                    input + position * frame_floats, &b->geometry[position], err);
            preprocess_ms += vs_now_ms() - started;
            b->source_width[position] = picture->width;
            b->source_height[position] = picture->height;
            if (clip->frames == 0) {
                clip->width = picture->width;
                clip->height = picture->height;
            }
            clip->frames++;
            frames++;
            av_frame_unref(picture);
        }
        vs_reader_close(&reader);
        if (status == VS_EOF)
            status = VS_OK;
    }
    av_frame_free(&picture);
    vs_preprocess_free(&preprocess);
    if (status != VS_OK)
        return status;
    if (frames == 0)
        return vs_fail(err, VS_EINVAL, "no frame could be decoded from the clips");
    /* Fewer frames than the largest batch: repeat them to fill it. */
    b->positions_filled = frames < max_batch ? (int)frames : max_batch;
    for (int position = b->positions_filled; position < max_batch; position++) {
        int from = position % b->positions_filled;
        memcpy(input + position * frame_floats, input + from * frame_floats,
               frame_floats * sizeof *input);
        b->geometry[position] = b->geometry[from];
        b->source_width[position] = b->source_width[from];
        b->source_height[position] = b->source_height[from];
    }
    add_figure(b, "decode", "decode (FFmpeg)", frames, decode_ms / 1000);
    add_figure(b, "preprocess", "preprocess (swscale)", frames, preprocess_ms / 1000);
    return VS_OK;
}

/* Inference alone: submit+wait on one slot, batch after batch, on the
 * preprocessed frames already in the input. outputs keep the last batch's. */
static int measure_infer(bench *b, vs_torch *torch, int batch, const char *precision,
                         vs_torch_output *outputs, int *output_count, vs_error *err)
{
    int target = frames_per_measurement(b);
    int batches = (target + batch - 1) / batch;
    double started = 0;
    for (int i = 0; i < INFER_WARMUP_BATCHES + batches; i++) {
        if (stop_requested)
            return VS_EINTR;
        if (i == INFER_WARMUP_BATCHES)
            started = vs_now_ms();
        int status = vs_torch_submit(torch, 0, batch, err);
        if (status == VS_OK)
            status = vs_torch_wait(torch, 0, outputs, output_count, err);
        if (status != VS_OK)
            return status;
    }
    double seconds = (vs_now_ms() - started) / 1000;
    char name[48];
    snprintf(name, sizeof name, "infer %s batch %d", precision, batch);
    figure *f = add_figure(b, "infer", name, (int64_t)batches * batch, seconds);
    if (f) {
        f->batch = batch;
        f->precision = precision;
    }
    return VS_OK;
}

/* A batch's outputs as vs_detect_frame takes them. */
typedef struct model_outputs {
    const float *data[VS_TORCH_MAX_OUTPUTS];
    int64_t shapes[VS_TORCH_MAX_OUTPUTS][4];
    int ranks[VS_TORCH_MAX_OUTPUTS];
    int count;
} model_outputs;

static void model_outputs_from(model_outputs *m, const vs_torch_output *outputs, int count)
{
    m->count = count;
    for (int i = 0; i < count; i++) {
        m->data[i] = outputs[i].data;
        memcpy(m->shapes[i], outputs[i].shape, sizeof m->shapes[i]);
        m->ranks[i] = outputs[i].ndim;
    }
}

/* vs_detect_frame on batch position `position`: the detection count, or
 * negative with err set. */
static int detect_position(const bench *b, const model_outputs *m, int position, void *scratch,
                           vs_detection *detections, vs_error *err)
{
    int count = vs_detect_frame(&b->manifest, m->data, (const int64_t(*)[4])m->shapes, m->count,
                                position, NULL, scratch, detections);
    if (count < 0)
        vs_fail(err, VS_EMODEL, "%s: outputs do not fit the %s decoder", b->manifest.model_path,
                vs_decoder_name(b->manifest.decoder));
    return count;
}

/* Postprocess alone: vs_detect_frame + vs_detect_to_source on the real
 * outputs of the last batch, frame after frame, as the postprocess stage does. */
static int measure_postprocess(bench *b, const vs_torch_output *outputs, int output_count,
                               int frames_in_batch, vs_error *err)
{
    model_outputs m;
    model_outputs_from(&m, outputs, output_count);
    int status =
        vs_detect_check_outputs(&b->manifest, (const int64_t(*)[4])m.shapes, m.ranks, m.count, err);
    if (status != VS_OK)
        return status;
    void *scratch = malloc(vs_detect_scratch_size(&b->manifest, m.shapes[0]));
    if (!scratch)
        return vs_fail(err, VS_ENOMEM, "out of memory for the detection scratch");
    vs_detection detections[VS_MAX_DETECTIONS];
    int target = frames_per_measurement(b);
    int64_t frames = 0;
    double started = vs_now_ms(), elapsed = 0;
    while (frames < target || elapsed < MIN_MEASURE_MS) {
        int position = (int)(frames % frames_in_batch);
        int count = detect_position(b, &m, position, scratch, detections, err);
        if (count < 0) {
            free(scratch);
            return VS_EMODEL;
        }
        if (frames == 0) { /* kept in model-input pixels for the annotate measurement */
            memcpy(b->drawn, detections, (size_t)count * sizeof *detections);
            b->drawn_count = count;
        }
        vs_detect_to_source(detections, count, &b->geometry[position], b->source_width[position],
                            b->source_height[position]);
        frames++;
        elapsed = vs_now_ms() - started;
    }
    free(scratch);
    add_figure(b, "postprocess", "postprocess (decode+NMS)", frames, elapsed / 1000);
    return VS_OK;
}

static int measure_model(bench *b, vs_error *err)
{
    int max_batch = 1;
    for (int i = 0; i < b->config.batch_count; i++)
        if (b->config.batches[i] > max_batch)
            max_batch = b->config.batches[i];
    size_t per_position = sizeof *b->geometry + 2 * sizeof(int);
    b->geometry = calloc((size_t)max_batch, per_position);
    if (!b->geometry)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    b->source_width = (int *)(b->geometry + max_batch);
    b->source_height = b->source_width + max_batch;

    vs_torch *torch = NULL;
    say("loading %s (FP32, batches up to %d)", b->manifest.model_path, max_batch);
    int status = open_model(b, &torch, 0, max_batch, err);
    if (status != VS_OK)
        return status;
    snprintf(b->device, sizeof b->device, "%s", vs_torch_device_name(torch));
    int cuda = vs_torch_is_cuda(torch);

    say("decode and preprocess");
    status = measure_decode_preprocess(b, torch, max_batch, err);

    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int output_count = 0, last_batch = 1;
    if (b->config.ceiling_only) {
        vs_torch_close(torch);
        return status;
    }
    for (int i = 0; i < b->config.batch_count && status == VS_OK; i++) {
        say("inference FP32, batch %d", b->config.batches[i]);
        last_batch = b->config.batches[i];
        status = measure_infer(b, torch, last_batch, "fp32", outputs, &output_count, err);
    }
    if (status == VS_OK) {
        say("postprocess");
        status = measure_postprocess(b, outputs, output_count, last_batch, err);
    }

    if (status == VS_OK && cuda) {
        vs_torch *half = NULL;
        say("loading the model in FP16");
        status = open_model(b, &half, 1, max_batch, err);
        if (status == VS_OK) {
            size_t floats =
                (size_t)max_batch * 3 * b->manifest.input_height * b->manifest.input_width;
            memcpy(vs_torch_input(half, 0), vs_torch_input(torch, 0), floats * sizeof(float));
            for (int i = 0; i < b->config.batch_count && status == VS_OK; i++) {
                say("inference FP16, batch %d", b->config.batches[i]);
                status = measure_infer(b, half, b->config.batches[i], "fp16", outputs,
                                       &output_count, err);
            }
            vs_torch_close(half);
        }
    } else if (status == VS_OK) {
        add_note(b, "FP16 inference not measured: it runs only on CUDA, and the device is %s",
                 b->device);
    }
    vs_torch_close(torch);
    return status;
}

static int measure_store(bench *b, vs_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/store-bench.db", b->temp_dir);
    say("SQLite inserts");
    double rows_per_s = 0;
    int status = vs_store_bench(path, STORE_BENCH_ROWS, &rows_per_s, err);
    if (status != VS_OK)
        return status;
    double seconds = rows_per_s > 0 ? STORE_BENCH_ROWS / rows_per_s : 0;
    figure *f =
        add_figure(b, "store", "store (SQLite)", STORE_BENCH_ROWS / STORE_ROWS_PER_FRAME, seconds);
    if (f) {
        f->rows = STORE_BENCH_ROWS;
        f->rows_per_s = rows_per_s;
    }
    return VS_OK;
}

/* The tracker's cost per frame with a crowd (the budget: under 1 ms
 * for 50 objects); the pipeline's own figure is its track stage. */
static int measure_track(bench *b, vs_error *err)
{
    say("tracker (50 objects)");
    double ms_per_frame = 0;
    int frames = 2000;
    int status = vs_track_bench(50, frames, &ms_per_frame, err);
    if (status == VS_OK)
        add_figure(b, "track", "tracker, 50 objects", frames, ms_per_frame * frames / 1000.0);
    return status;
}

/* ---- the whole pipeline, and the sequential baseline ---- */

static void report_scan_problem(void *context, const char *path, const char *problem)
{
    (void)context;
    fprintf(stderr, "vidsift bench: %s: %s\n", path, problem);
}

static int scan_clips(const bench *b, vs_scan_result *scan, vs_error *err)
{
    const char *paths[MAX_CLIPS];
    for (int i = 0; i < b->clip_count; i++)
        paths[i] = b->clips[i].path;
    int status = vs_scan(paths, b->clip_count, NULL, report_scan_problem, NULL, scan, err);
    if (status == VS_OK && scan->video_count != b->clip_count) {
        vs_scan_free(scan);
        return vs_fail(err, VS_EINVAL, "the scan found %d of the %d clips", scan->video_count,
                       b->clip_count);
    }
    return status;
}

/* The first failed video's message, or VS_OK when all are done. */
static int videos_status(const vs_video *videos, int count, vs_error *err)
{
    for (int i = 0; i < count; i++)
        if (videos[i].status != VS_VIDEO_DONE)
            return vs_fail(err, VS_EIO, "%s",
                           videos[i].error.msg[0] ? videos[i].error.msg : "a video did not finish");
    return VS_OK;
}

/* The whole pipeline into result; with noop, inference passes every batch
 * on without calling the model (the ceiling). workers: preprocess workers,
 * 0 for the run's plan. */
static int run_pipeline(bench *b, int noop, int workers, vs_run_result *result, vs_error *err)
{
    vs_scan_result scan;
    int status = scan_clips(b, &scan, err);
    if (status != VS_OK)
        return status;
    char out_dir[PATH_MAX];
    snprintf(out_dir, sizeof out_dir, "%s/%s%d", b->temp_dir, noop ? "ceiling" : "pipeline",
             workers);
    mkdir(out_dir, 0777);
    vs_run_options o = {
        .manifest_path = b->manifest_path,
        .input_width = b->config.input_width,
        .input_height = b->config.input_height,
        .device = b->config.device,
        .half = b->config.half,
        .optimize = b->config.optimize,
        .batch = b->config.batch,
        .conf = -1,
        .iou = -1,
        .every = 1,
        .jobs = 1,
        .threads = b->config.threads,
        .preprocess_threads = workers,
        .infer_noop = noop,
        .out_dir = out_dir,
        .annotate = b->config.annotate,
        .store = b->config.store,
        .force = 1,
        .options_json = "{\"bench\":\"pipeline\"}",
        .stop = &stop_requested,
    };
    say("the whole pipeline (batch %d%s%s%s)%s", o.batch, o.half ? ", FP16" : "",
        o.annotate ? ", annotated videos" : "", o.store ? ", SQLite" : "",
        noop ? ", inference a no-op" : "");
    status = vs_pipeline_run(&o, scan.videos, scan.video_count, result, err);
    if (status == VS_OK)
        status = videos_status(scan.videos, scan.video_count, err);
    vs_scan_free(&scan);
    return status;
}

/* The ceiling with one preprocess worker, then with --preprocess-threads or
 * as many as the plan gives when inference leaves the cores free (2 at
 * least): how far the CPU side goes, and how it scales with workers. */
static int run_ceiling(bench *b, vs_error *err)
{
    int workers = b->config.preprocess_threads;
    if (workers < 2)
        workers = vs_plan_preprocess_threads(0, 0);
    b->ceiling_workers = workers > 2 ? workers : 2;
    int status = run_pipeline(b, 1, 1, &b->ceiling_one, err);
    if (status == VS_OK)
        status = run_pipeline(b, 1, b->ceiling_workers, &b->ceiling, err);
    b->ceiling_ran = status == VS_OK;
    return status;
}

static const char *annotated_path(const bench *b, const char *what, const vs_video *video,
                                  char *path)
{
    snprintf(path, PATH_MAX, "%s/%s/%02d.mp4", b->temp_dir, what, video->index);
    return path;
}

/* Annotate+encode alone: every frame of every clip through vs_annotate_frame
 * with the boxes of one real frame, timed from open to close (the encoder's
 * flush and the trailer included); decoding is not timed. */
static int measure_annotate(bench *b, vs_error *err)
{
    vs_scan_result scan;
    int status = scan_clips(b, &scan, err);
    if (status != VS_OK)
        return status;
    say("annotate+encode");
    vs_frame *frame = calloc(1, sizeof *frame);
    if (!frame || !(frame->picture = av_frame_alloc()))
        status = vs_fail(err, VS_ENOMEM, "out of memory");
    double annotate_ms = 0;
    int64_t frames = 0;
    char encoder[32] = "";
    for (int i = 0; i < scan.video_count && status == VS_OK && !stop_requested; i++) {
        vs_video *video = &scan.videos[i];
        vs_reader reader;
        char path[PATH_MAX];
        vs_annotate *annotate = NULL;
        status = vs_reader_open(&reader, video->path, 0, err);
        if (status == VS_OK) {
            vs_reader_describe(&reader, video);
            double started = vs_now_ms();
            status =
                vs_annotate_open(&annotate, video, annotated_path(b, "annotate", video, path), err);
            annotate_ms += vs_now_ms() - started;
        }
        for (int64_t index = 0; status == VS_OK && !stop_requested; index++) {
            if ((status = vs_reader_next(&reader, frame->picture, err)) != VS_OK)
                break;
            describe_frame(frame, video, index);
            int w = frame->picture->width, h = frame->picture->height;
            vs_letterbox box = vs_letterbox_for(w, h, b->manifest.input_width,
                                                b->manifest.input_height, b->manifest.resize);
            memcpy(frame->detections, b->drawn, (size_t)b->drawn_count * sizeof *b->drawn);
            frame->detection_count = b->drawn_count;
            vs_detect_to_source(frame->detections, frame->detection_count, &box, w, h);
            double started = vs_now_ms();
            status = vs_annotate_frame(annotate, frame, b->labels, err);
            annotate_ms += vs_now_ms() - started;
            av_frame_unref(frame->picture);
            frames++;
        }
        if (status == VS_EOF)
            status = VS_OK;
        if (annotate) {
            if (status == VS_OK && !encoder[0] && vs_annotate_encoder(annotate))
                snprintf(encoder, sizeof encoder, "%s", vs_annotate_encoder(annotate));
            double started = vs_now_ms();
            int closed = vs_annotate_close(annotate, status == VS_OK, err);
            annotate_ms += vs_now_ms() - started;
            status = status == VS_OK ? closed : status;
        }
        vs_reader_close(&reader);
    }
    if (frame)
        av_frame_free(&frame->picture);
    free(frame);
    vs_scan_free(&scan);
    if (status != VS_OK)
        return status;
    char name[48];
    snprintf(name, sizeof name, "annotate+encode (%s)", encoder[0] ? encoder : "?");
    add_figure(b, "annotate", name, frames, annotate_ms / 1000);
    if (b->drawn_count == 0)
        add_note(b, "annotate drew no box: the model found nothing in the frame it was given");
    return VS_OK;
}

/* The baseline (core/sequential.c): the same calls as the pipeline's
 * stages, one after the other on this thread, batch 1, nothing overlapped,
 * writing its own database and annotated videos beside the pipeline's. */
static int run_sequential(bench *b, vs_error *err)
{
    vs_scan_result scan;
    int status = scan_clips(b, &scan, err);
    if (status != VS_OK)
        return status;
    say("the sequential baseline (one thread, batch 1)");
    char store_path[PATH_MAX], annotate_dir[PATH_MAX];
    snprintf(store_path, sizeof store_path, "%s/sequential.db", b->temp_dir);
    snprintf(annotate_dir, sizeof annotate_dir, "%s/sequential", b->temp_dir);
    if (b->config.annotate && mkdir(annotate_dir, 0777) != 0 && errno != EEXIST)
        status = vs_fail(err, VS_EIO, "%s: %s", annotate_dir, strerror(errno));
    vs_sequential_options options = {
        .manifest = &b->manifest,
        .device = b->config.device,
        .half = b->config.half,
        .threads = b->config.threads,
        .store_path = b->config.store ? store_path : NULL,
        .annotate_dir = b->config.annotate ? annotate_dir : NULL,
        .stop = &stop_requested,
    };
    if (status == VS_OK)
        status = vs_sequential_run(&options, scan.videos, scan.video_count, &b->sequential, err);
    vs_scan_free(&scan);
    if (status == VS_OK)
        b->sequential_ran = 1;
    return status;
}

/* ---- figures ---- */

typedef struct bench_summary {
    double pipeline_fps;                  /* frames decoded / wall time of vs_pipeline_run */
    const figure *slowest;                /* the slowest stage the pipeline runs */
    double efficiency;                    /* pipeline_fps / slowest->fps */
    const figure *batch_low, *batch_high; /* for the batch speed-up (FP32) */
    double batch_speedup;                 /* per-frame throughput, high over low */
    double sequential_fps, sequential_ratio;
    int64_t rss_peak_bytes; /* this process, every measurement included */
    /* The ceiling's frames/s (1 worker, ceiling_workers), the slowest stage
     * alone of those it runs (decode, preprocess, annotate: with no boxes
     * there is nothing for postprocess and little for the store), and ratios. */
    double ceiling_one_fps, ceiling_fps, ceiling_speedup, ceiling_ratio;
    const figure *ceiling_slowest;
} bench_summary;

static void summarise(const bench *b, bench_summary *s)
{
    memset(s, 0, sizeof *s);
    if (b->pipeline_ran && b->pipeline.wall_s > 0)
        s->pipeline_fps = b->pipeline.frames_decoded / b->pipeline.wall_s;
    const char *precision = b->config.half ? "fp16" : "fp32";
    for (int i = 0; i < b->figure_count; i++) {
        const figure *f = &b->figures[i];
        int in_pipeline = !strcmp(f->stage, "infer")
                              ? f->batch == b->config.batch && !strcmp(f->precision, precision)
                              : 1;
        if (in_pipeline && f->fps > 0 && (!s->slowest || f->fps < s->slowest->fps))
            s->slowest = f;
    }
    if (s->slowest && s->pipeline_fps > 0)
        s->efficiency = s->pipeline_fps / s->slowest->fps;
    /* Batch 8 against batch 1 when both were measured, else the largest against the smallest. */
    s->batch_low = find_figure(b, "infer", 1, "fp32");
    s->batch_high = find_figure(b, "infer", 8, "fp32");
    if (!s->batch_low || !s->batch_high) {
        s->batch_low = s->batch_high = NULL;
        for (int i = 0; i < b->figure_count; i++) {
            const figure *f = &b->figures[i];
            if (strcmp(f->stage, "infer") || strcmp(f->precision, "fp32"))
                continue;
            if (!s->batch_low || f->batch < s->batch_low->batch)
                s->batch_low = f;
            if (!s->batch_high || f->batch > s->batch_high->batch)
                s->batch_high = f;
        }
    }
    if (s->batch_low && s->batch_high && s->batch_low != s->batch_high && s->batch_low->fps > 0)
        s->batch_speedup = s->batch_high->fps / s->batch_low->fps;
    if (b->sequential_ran && b->sequential.seconds > 0) {
        s->sequential_fps = b->sequential.frames / b->sequential.seconds;
        if (s->sequential_fps > 0)
            s->sequential_ratio = s->pipeline_fps / s->sequential_fps;
    }
    struct rusage resources;
    if (getrusage(RUSAGE_SELF, &resources) == 0)
        s->rss_peak_bytes = (int64_t)resources.ru_maxrss * 1024;
    if (!b->ceiling_ran || b->ceiling_one.wall_s <= 0 || b->ceiling.wall_s <= 0)
        return;
    s->ceiling_one_fps = b->ceiling_one.frames_decoded / b->ceiling_one.wall_s;
    s->ceiling_fps = b->ceiling.frames_decoded / b->ceiling.wall_s;
    if (s->ceiling_one_fps > 0)
        s->ceiling_speedup = s->ceiling_fps / s->ceiling_one_fps;
    for (int i = 0; i < b->figure_count; i++) {
        const figure *f = &b->figures[i];
        int cpu_stage = !strcmp(f->stage, "decode") || !strcmp(f->stage, "preprocess") ||
                        !strcmp(f->stage, "annotate");
        if (cpu_stage && f->fps > 0 && (!s->ceiling_slowest || f->fps < s->ceiling_slowest->fps))
            s->ceiling_slowest = f;
    }
    if (s->ceiling_slowest)
        s->ceiling_ratio = s->ceiling_fps / s->ceiling_slowest->fps;
}

static double mib(int64_t bytes)
{
    return bytes / (1024.0 * 1024.0);
}

static void print_table(FILE *out, const bench *b, const bench_summary *s)
{
    fprintf(out, "\nvidsift bench: %s on %s; CPU inference threads: %d%s\n", b->manifest.name,
            b->device, vs_plan_inference_threads(b->config.threads),
            b->config.threads ? "" : " (all cores)");
    fprintf(out, "inputs (%s):\n",
            b->config.frames > 0 ? "the first --frames frames of each clip" : "whole clips");
    for (int i = 0; i < b->clip_count; i++)
        fprintf(out, "  %-40.40s %5dx%-5d %6lld frames\n", base_name(b->clips[i].source),
                b->clips[i].width, b->clips[i].height, (long long)b->clips[i].frames);
    fprintf(out, "\n  %-30s %9s %9s %11s\n", "stage (alone, one thread)", "frames", "seconds",
            "frames/s");
    for (int i = 0; i < b->figure_count; i++) {
        const figure *f = &b->figures[i];
        fprintf(out, "  %-30s %9lld %9.3f %11.1f", f->name, (long long)f->frames, f->seconds,
                f->fps);
        if (!strcmp(f->stage, "store"))
            fprintf(out, "  (%.0f rows/s, %d rows a frame)", f->rows_per_s, STORE_ROWS_PER_FRAME);
        if (f == s->slowest)
            fprintf(out, "  <- slowest");
        fputc('\n', out);
    }
    if (b->pipeline_ran) {
        char name[64];
        snprintf(name, sizeof name, "pipeline (batch %d, %s)", b->config.batch,
                 b->config.half ? "fp16" : "fp32");
        fprintf(out, "  %-30s %9lld %9.3f %11.1f  (all stages at once)\n", name,
                (long long)b->pipeline.frames_decoded, b->pipeline.wall_s, s->pipeline_fps);
    }
    if (b->ceiling_ran) {
        fprintf(out, "  %-30s %9lld %9.3f %11.1f  (inference a no-op)\n",
                "ceiling, 1 preprocess worker", (long long)b->ceiling_one.frames_decoded,
                b->ceiling_one.wall_s, s->ceiling_one_fps);
        char name[64];
        snprintf(name, sizeof name, "ceiling, %d preprocess workers", b->ceiling_workers);
        fprintf(out, "  %-30s %9lld %9.3f %11.1f  (inference a no-op)\n", name,
                (long long)b->ceiling.frames_decoded, b->ceiling.wall_s, s->ceiling_fps);
    }
    if (b->sequential_ran)
        fprintf(out, "  %-30s %9lld %9.3f %11.1f  (one thread, batch 1, no overlap)\n",
                "sequential baseline", (long long)b->sequential.frames, b->sequential.seconds,
                s->sequential_fps);
    fputc('\n', out);
    if (s->slowest && b->pipeline_ran)
        fprintf(out,
                "pipeline efficiency: %.2f (pipeline %.1f frames/s / slowest stage, %s, %.1f "
                "frames/s)\n",
                s->efficiency, s->pipeline_fps, s->slowest->name, s->slowest->fps);
    if (b->pipeline_ran && b->pipeline.bottleneck)
        fprintf(out, "pipeline's own bottleneck (from its stage timings): %s\n",
                b->pipeline.bottleneck);
    if (s->ceiling_slowest)
        fprintf(out,
                "ceiling: %.2fx the slowest CPU stage alone (%s, %.1f frames/s); %d preprocess "
                "workers %.2fx 1; its own bottleneck: %s\n",
                s->ceiling_ratio, s->ceiling_slowest->name, s->ceiling_slowest->fps,
                b->ceiling_workers, s->ceiling_speedup,
                b->ceiling.bottleneck ? b->ceiling.bottleneck : "none");
    if (s->batch_speedup > 0)
        fprintf(out, "batch speed-up: %.2fx frames/s at batch %d over batch %d (FP32)\n",
                s->batch_speedup, s->batch_high->batch, s->batch_low->batch);
    if (b->sequential_ran && s->sequential_ratio > 0)
        fprintf(out, "pipeline / sequential: %.2fx\n", s->sequential_ratio);
    fprintf(out, "peak RSS: %.0f MiB in the %s run",
            mib((b->pipeline_ran ? &b->pipeline : &b->ceiling)->rss_peak_bytes),
            b->pipeline_ran ? "pipeline" : "ceiling");
    fprintf(out, ", %.0f MiB for this whole process (every measurement)\n", mib(s->rss_peak_bytes));
    if (b->pipeline_ran && b->pipeline.gpu_monitored)
        fprintf(out,
                "GPU busy: %.0f%% average, %.0f%% p95 during the pipeline; memory peak %.0f MiB\n",
                b->pipeline.gpu_util_avg, b->pipeline.gpu_util_p95,
                mib(b->pipeline.gpu_memory_peak_bytes));
    else if (b->pipeline_ran)
        fprintf(out, "GPU busy: not measured: %s\n", b->pipeline.gpu_note);
    for (int i = 0; i < b->note_count; i++)
        fprintf(out, "note: %s\n", b->notes[i]);
}

static char *json_text(const bench *b, const bench_summary *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", b->manifest.name);
    cJSON_AddStringToObject(root, "model_path", b->manifest.model_path);
    cJSON_AddStringToObject(root, "device", b->device);
    cJSON_AddNumberToObject(root, "threads", vs_plan_inference_threads(b->config.threads));
    cJSON_AddNumberToObject(root, "frames_per_clip", b->config.frames);
    cJSON *clips = cJSON_AddArrayToObject(root, "clips");
    for (int i = 0; i < b->clip_count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "path", b->clips[i].source);
        cJSON_AddNumberToObject(item, "width", b->clips[i].width);
        cJSON_AddNumberToObject(item, "height", b->clips[i].height);
        cJSON_AddNumberToObject(item, "frames", (double)b->clips[i].frames);
        cJSON_AddItemToArray(clips, item);
    }
    cJSON *stages = cJSON_AddArrayToObject(root, "stages");
    for (int i = 0; i < b->figure_count; i++) {
        const figure *f = &b->figures[i];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", f->name);
        cJSON_AddStringToObject(item, "stage", f->stage);
        if (!strcmp(f->stage, "infer")) {
            cJSON_AddNumberToObject(item, "batch", f->batch);
            cJSON_AddStringToObject(item, "precision", f->precision);
        }
        cJSON_AddNumberToObject(item, "frames", (double)f->frames);
        cJSON_AddNumberToObject(item, "seconds", f->seconds);
        cJSON_AddNumberToObject(item, "fps", f->fps);
        if (!strcmp(f->stage, "store")) {
            cJSON_AddNumberToObject(item, "rows", (double)f->rows);
            cJSON_AddNumberToObject(item, "rows_per_s", f->rows_per_s);
            cJSON_AddNumberToObject(item, "rows_per_frame", STORE_ROWS_PER_FRAME);
        }
        cJSON_AddItemToArray(stages, item);
    }
    if (b->pipeline_ran) {
        const vs_run_result *r = &b->pipeline;
        cJSON *pipeline = cJSON_AddObjectToObject(root, "pipeline");
        cJSON_AddNumberToObject(pipeline, "batch", b->config.batch);
        cJSON_AddStringToObject(pipeline, "precision", b->config.half ? "fp16" : "fp32");
        cJSON_AddBoolToObject(pipeline, "annotate", b->config.annotate);
        cJSON_AddBoolToObject(pipeline, "store", b->config.store);
        cJSON_AddNumberToObject(pipeline, "frames", (double)r->frames_decoded);
        cJSON_AddNumberToObject(pipeline, "seconds", r->wall_s);
        cJSON_AddNumberToObject(pipeline, "fps", s->pipeline_fps);
        cJSON_AddStringToObject(pipeline, "bottleneck", r->bottleneck ? r->bottleneck : "none");
        if (s->slowest) {
            cJSON_AddStringToObject(pipeline, "slowest_stage", s->slowest->name);
            cJSON_AddNumberToObject(pipeline, "slowest_stage_fps", s->slowest->fps);
            cJSON_AddNumberToObject(pipeline, "efficiency", s->efficiency);
        }
        cJSON_AddNumberToObject(pipeline, "rss_peak_bytes", (double)r->rss_peak_bytes);
        cJSON *gpu = cJSON_AddObjectToObject(pipeline, "gpu");
        cJSON_AddBoolToObject(gpu, "monitored", r->gpu_monitored);
        if (r->gpu_monitored) {
            cJSON_AddNumberToObject(gpu, "busy_avg_percent", r->gpu_util_avg);
            cJSON_AddNumberToObject(gpu, "busy_p95_percent", r->gpu_util_p95);
            cJSON_AddNumberToObject(gpu, "memory_peak_bytes", (double)r->gpu_memory_peak_bytes);
        } else {
            cJSON_AddStringToObject(gpu, "note", r->gpu_note);
        }
    }
    if (s->batch_speedup > 0) {
        cJSON *speedup = cJSON_AddObjectToObject(root, "batch_speedup");
        cJSON_AddNumberToObject(speedup, "from_batch", s->batch_low->batch);
        cJSON_AddNumberToObject(speedup, "to_batch", s->batch_high->batch);
        cJSON_AddNumberToObject(speedup, "ratio", s->batch_speedup);
    }
    if (b->ceiling_ran) {
        cJSON *ceiling = cJSON_AddObjectToObject(root, "ceiling");
        cJSON_AddNumberToObject(ceiling, "preprocess_workers", b->ceiling_workers);
        cJSON_AddNumberToObject(ceiling, "frames", (double)b->ceiling.frames_decoded);
        cJSON_AddNumberToObject(ceiling, "seconds", b->ceiling.wall_s);
        cJSON_AddNumberToObject(ceiling, "fps", s->ceiling_fps);
        cJSON_AddNumberToObject(ceiling, "one_worker_fps", s->ceiling_one_fps);
        cJSON_AddNumberToObject(ceiling, "workers_speedup", s->ceiling_speedup);
        cJSON_AddStringToObject(ceiling, "bottleneck",
                                b->ceiling.bottleneck ? b->ceiling.bottleneck : "none");
        if (s->ceiling_slowest) {
            cJSON_AddStringToObject(ceiling, "slowest_cpu_stage", s->ceiling_slowest->name);
            cJSON_AddNumberToObject(ceiling, "slowest_cpu_stage_fps", s->ceiling_slowest->fps);
            cJSON_AddNumberToObject(ceiling, "ratio_to_slowest_cpu_stage", s->ceiling_ratio);
        }
    }
    if (b->sequential_ran) {
        cJSON *sequential = cJSON_AddObjectToObject(root, "sequential");
        cJSON_AddNumberToObject(sequential, "frames", (double)b->sequential.frames);
        cJSON_AddNumberToObject(sequential, "seconds", b->sequential.seconds);
        cJSON_AddNumberToObject(sequential, "fps", s->sequential_fps);
        cJSON_AddNumberToObject(sequential, "pipeline_ratio", s->sequential_ratio);
    }
    cJSON_AddNumberToObject(root, "rss_peak_bytes", (double)s->rss_peak_bytes);
    cJSON *notes = cJSON_AddArrayToObject(root, "notes");
    for (int i = 0; i < b->note_count; i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(b->notes[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* ---- the command ---- */

static int make_temp_dir(bench *b, vs_error *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int length = snprintf(b->temp_dir, sizeof b->temp_dir, "%s/vidsift-bench-XXXXXX", tmp);
    if (length < 0 || (size_t)length >= sizeof b->temp_dir) {
        b->temp_dir[0] = 0;
        return vs_fail(err, VS_EINVAL,
                       "TMPDIR is too long for vidsift bench (%d characters at most)",
                       TEMP_DIR_MAX - 22);
    }
    if (!mkdtemp(b->temp_dir)) {
        int saved = errno;
        b->temp_dir[0] = 0;
        return vs_fail(err, VS_EIO, "cannot create a temporary directory: %s", strerror(saved));
    }
    char clips[PATH_MAX];
    snprintf(clips, sizeof clips, "%s/clips", b->temp_dir);
    if (mkdir(clips, 0777) != 0)
        return vs_fail(err, VS_EIO, "%s: %s", clips, strerror(errno));
    return VS_OK;
}

static int parse_options(int argc, char **argv, bench_config *c)
{
    *c = (bench_config){.model = cli_default_model(),
                        .device = "auto",
                        .frames = 64,
                        .batches = {1, 8, 16},
                        .batch_count = 3,
                        .annotate = 1,
                        .store = 1};
    cli_parser parser;
    cli_parser_init(&parser, &command);
    int option;
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_MODEL: c->model = optarg; break;
        case OPT_DEVICE: c->device = optarg; break;
        case OPT_HALF: c->half = 1; break;
        case OPT_OPTIMIZE: c->optimize = 1; break;
        case OPT_THREADS:
            if (!cli_parse_int("vidsift bench", "threads", optarg, 0, 256, &c->threads))
                return 2;
            break;
        case OPT_FRAMES:
            if (!cli_parse_int("vidsift bench", "frames", optarg, 0, 1000000, &c->frames))
                return 2;
            break;
        case OPT_BATCHES:
            if (!parse_batches(optarg, c))
                return 2;
            break;
        case OPT_BATCH:
            if (!cli_parse_int("vidsift bench", "batch", optarg, 1, 64, &c->batch))
                return 2;
            break;
        case OPT_NO_ANNOTATE: c->annotate = 0; break;
        case OPT_NO_STORE: c->store = 0; break;
        case OPT_SEQUENTIAL: c->sequential = 1; break;
        case OPT_JSON: c->json = 1; break;
        case OPT_CEILING_ONLY: c->ceiling_only = 1; break;
        case OPT_PREPROCESS_THREADS:
            if (!cli_parse_int("vidsift bench", "preprocess-threads", optarg, 0, 64,
                               &c->preprocess_threads))
                return 2;
            break;
        case OPT_IMGSZ: {
            vs_error err = {{0}};
            if (vs_parse_input_size(optarg, &c->input_width, &c->input_height, &err) != VS_OK) {
                fprintf(stderr, "vidsift bench: %s\n", err.msg);
                return 2;
            }
            break;
        }
        default: return cli_exit_status(option);
        }
    }
    if (c->batch == 0) /* as `vidsift run` picks it for the device (core/plan.c) */
        c->batch = vs_plan_batch(0, vs_plan_device_is_cuda(c->device));
    /* The pipeline's batch size is always measured alone, for its efficiency. */
    int measured = 0;
    for (int i = 0; i < c->batch_count; i++)
        measured |= c->batches[i] == c->batch;
    if (!measured)
        c->batches[c->batch_count++] = c->batch;
    return -1;
}

static int measure_all(bench *b, char **paths, int path_count, vs_error *err)
{
    int status = make_temp_dir(b, err);
    if (status == VS_OK)
        status = prepare_clips(b, paths, path_count, err);
    /* The pipeline first, while the process is fresh: its peak RSS is then its own. */
    if (status == VS_OK && !b->config.ceiling_only) {
        status = run_pipeline(b, 0, b->config.preprocess_threads, &b->pipeline, err);
        b->pipeline_ran = status == VS_OK;
    }
    if (status == VS_OK)
        status = run_ceiling(b, err);
    if (status == VS_OK)
        malloc_trim(0);
    if (status == VS_OK)
        status = measure_model(b, err);
    if (status == VS_OK && b->config.ceiling_only)
        return stop_requested ? VS_EINTR : status;
    if (status == VS_OK && b->config.store)
        status = measure_store(b, err);
    if (status == VS_OK)
        status = measure_track(b, err);
    if (status == VS_OK && b->config.annotate)
        status = measure_annotate(b, err);
    if (status == VS_OK && b->config.sequential)
        status = run_sequential(b, err);
    return stop_requested ? VS_EINTR : status;
}

int cmd_bench(int argc, char **argv)
{
    bench *b = calloc(1, sizeof *b);
    if (!b) {
        fprintf(stderr, "vidsift bench: out of memory\n");
        return 2;
    }
    int parsed = parse_options(argc, argv, &b->config);
    if (parsed >= 0) {
        free(b);
        return parsed;
    }
    cli_manifest_path(b->config.model, NULL, b->manifest_path, sizeof b->manifest_path);
    if (cli_model_without_manifest("vidsift bench", b->config.model, b->manifest_path)) {
        free(b);
        return 2;
    }
    vs_error err = {{0}};
    if (vs_manifest_load(&b->manifest, b->manifest_path, &err) != VS_OK ||
        (b->config.input_width > 0 &&
         vs_manifest_set_input_size(&b->manifest, b->config.input_width, b->config.input_height,
                                    &err) != VS_OK)) {
        fprintf(stderr, "vidsift bench: %s\n", err.msg);
        free(b);
        return 2;
    }
    for (int i = 0; i < b->manifest.classes && i < VS_MAX_CLASSES; i++)
        b->labels[i] = b->manifest.labels[i];

    struct sigaction action = {.sa_handler = on_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    int status = measure_all(b, argv + optind, argc - optind, &err);
    int exit_status = 0;
    if (status == VS_EINTR) {
        fprintf(stderr, "vidsift bench: interrupted\n");
        exit_status = 130;
    } else if (status != VS_OK) {
        fprintf(stderr, "vidsift bench: %s\n", err.msg);
        exit_status = b->figure_count || b->pipeline_ran ? 1 : 2;
    } else {
        bench_summary summary;
        summarise(b, &summary);
        if (summary.efficiency > 1.05)
            add_note(b, "the pipeline beat its slowest stage measured alone: the stage figures "
                        "are noisy (other load on the machine?); run again on a quiet machine");
        /* Batch scaling short of its aim: why, from the inference figures. */
        vs_inference_point points[MAX_FIGURES];
        int point_count = 0;
        for (int i = 0; i < b->figure_count; i++)
            if (!strcmp(b->figures[i].stage, "infer"))
                points[point_count++] = (vs_inference_point){
                    b->figures[i].batch, !strcmp(b->figures[i].precision, "fp16"),
                    b->figures[i].fps};
        vs_advice advice;
        vs_advise_batches(points, point_count, !strncmp(b->device, "cuda", 4), &advice);
        for (int i = 0; i < advice.count; i++)
            add_note(b, "%s", advice.lines[i]);
        if (b->config.json) {
            char *text = json_text(b, &summary);
            if (text)
                printf("%s\n", text);
            free(text);
        } else {
            print_table(stdout, b, &summary);
        }
    }
    remove_tree(b->temp_dir);
    free(b->geometry);
    free(b);
    return exit_status;
}
