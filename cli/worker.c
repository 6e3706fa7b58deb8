/* worker.c: `vidsift worker --redis URL [run options]` - takes videos from
 * the Redis work queue (core/workqueue.c) and runs the pipeline on them.
 *
 * DESIGN. The worker loops: claim up to --jobs videos (a silent worker's
 * first, then new ones), run vs_pipeline_run on them together (so the
 * pipeline batches frames across the videos it holds, as `run --jobs`
 * does), then acknowledge each video that ended done. vs_pipeline_run
 * returns only after the store committed every video's rows and 'done'
 * mark, so an acknowledged video is always in this worker's database. A
 * lease thread with its own connection resets the claimed entries' idle
 * time every lease/3 while the pipeline runs, so a long video is never
 * taken for a dead worker's. It exits when nothing is waiting and nothing
 * is held by any worker: a video a killed worker held is reclaimed (after
 * the lease) by one still running. Each claim reopens the model: a cost of
 * about a second per --jobs videos that long videos amortize. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "options.h"
#include "fsutil.h"
#include "manifest.h"
#include "pipeline.h"
#include "run_options.h"
#include "scan.h"
#include "workqueue.h"

/* worker's own options; the analysis options are run's (run_options.h). */
enum {
    OPT_REDIS = 256,
    OPT_QUEUE,
    OPT_LEASE,
    OPT_MAX_DELIVERIES,
    OPT_CONSUMER,
    OPT_QUIET,
};

static const cli_option options_table[] = {
    CLI_HEADING("queue:"),
    {"redis", 0, "URL", OPT_REDIS, "redis://[[user]:password@]host[:port][/db], unix:///path"},
    {"queue", 0, "NAME", OPT_QUEUE, "key prefix of the queue in Redis (vidsift)"},
    {"lease", 0, "SECONDS", OPT_LEASE,
     "a video whose worker was silent this long is given to\n"
     "another worker (60); the worker renews it every third"},
    {"max-deliveries", 0, "N", OPT_MAX_DELIVERIES,
     "a video delivered N times without success goes to the\n"
     "dead-letter stream with its last error (3)"},
    {"consumer", 0, "NAME", OPT_CONSUMER, "this worker's name in the group (HOST-PID)"},
    CLI_HEADING("model and device (as `vidsift run`):"),
    CLI_RUN_MODEL_OPTIONS,
    CLI_HEADING("detection:"),
    CLI_RUN_DETECTION_OPTIONS,
    CLI_HEADING("tracking and zones:"),
    CLI_RUN_TRACKING_OPTIONS,
    CLI_HEADING("sampling:"),
    CLI_RUN_SAMPLING_OPTIONS,
    CLI_HEADING("outputs (--jobs: videos claimed and decoded at once):"),
    CLI_RUN_OUTPUT_OPTIONS,
    CLI_HEADING("output to the terminal:"),
    {"quiet", 0, NULL, OPT_QUIET, "print nothing but errors"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift worker",
    .synopsis = "--redis URL [OPTIONS]",
    .description =
        "Takes videos pushed by `vidsift queue push` and analyses them as `vidsift run`\n"
        "does, into this worker's OUT/results.db; exits when the queue is drained. Run\n"
        "one per machine (or GPU), then `vidsift merge` their databases.\n",
    .options = options_table,
    .epilogue = "exit status: 0 queue drained, 1 Redis or the database failed (claimed videos\n"
                "return to the queue after the lease), 2 usage or setup error, 130 interrupted\n",
};

/* Set from signal handlers: the only state a handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    if (stop_requested)
        _exit(130); /* second signal: the claimed videos return after the lease */
    stop_requested = signal_number;
}

/* The lease thread: renews the idle time of the claimed entries. */
typedef struct lease_keeper {
    vs_workqueue *wq; /* its own connection: hiredis contexts are single-threaded */
    const char *consumer;
    char (*ids)[64];
    int count;
    int64_t period_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    vs_error err;
    int failures;
} lease_keeper;

static void *keep_leases(void *argument)
{
    lease_keeper *keeper = argument;
    pthread_mutex_lock(&keeper->lock);
    while (!keeper->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t nanoseconds = until.tv_nsec + keeper->period_ms * 1000000;
        until.tv_sec += nanoseconds / 1000000000;
        until.tv_nsec = nanoseconds % 1000000000;
        pthread_cond_timedwait(&keeper->wake, &keeper->lock, &until);
        if (keeper->stop)
            break;
        /* A failed renewal is not fatal: the next one may succeed, and at
         * worst another worker also does the video (merge keeps one). */
        if (vs_wq_keep(keeper->wq, keeper->consumer, keeper->ids, keeper->count, &keeper->err) !=
            VS_OK)
            keeper->failures++;
    }
    pthread_mutex_unlock(&keeper->lock);
    return NULL;
}

static char *options_json(int argc, char **argv)
{
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString("worker"));
    for (int i = 1; i < argc; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
    char *text = cJSON_PrintUnformatted(args);
    cJSON_Delete(args);
    return text;
}

typedef struct worker {
    vs_workqueue *wq;
    const char *url, *queue, *consumer;
    int64_t lease_ms, max_deliveries;
    int quiet;
    vs_run_options *run;
    vs_wq_item *items; /* VS_WQ_MAX_ITEMS */
    vs_video *videos;  /* the claimed videos, contiguous for the pipeline */
    char (*ids)[64];
} worker;

/* Entries delivered more often than allowed are buried, not worked on:
 * a file that kills its worker each time would otherwise kill them all. */
static int bury_exhausted(worker *w, int *count, vs_error *err)
{
    int kept = 0;
    for (int i = 0; i < *count; i++) {
        vs_wq_item *item = &w->items[i];
        if (item->deliveries <= w->max_deliveries) {
            if (kept != i)
                w->items[kept] = *item;
            kept++;
            continue;
        }
        char why[600];
        snprintf(why, sizeof why, "%s",
                 item->last_error[0]
                     ? item->last_error
                     : "its worker stopped or died before finishing it, every delivery");
        if (vs_wq_bury(w->wq, item, why, err) != VS_OK)
            return VS_EIO;
        fprintf(stderr, "vidsift worker: %s: dead after %lld deliveries: %s\n",
                VS_NAME(item->video.path), (long long)item->deliveries - 1, VS_NAME(why));
    }
    *count = kept;
    return VS_OK;
}

/* Runs the pipeline on the claimed videos while the lease thread keeps
 * them, then acknowledges or records each one. 1: go on; 0: stop (status
 * in *exit_status). */
static int work_on(worker *w, int count, int *exit_status)
{
    vs_error err = {{0}};
    for (int i = 0; i < count; i++) {
        w->videos[i] = w->items[i].video;
        w->videos[i].index = i;
        snprintf(w->ids[i], sizeof w->ids[i], "%s", w->items[i].id);
    }
    lease_keeper keeper = {.consumer = w->consumer,
                           .ids = w->ids,
                           .count = count,
                           .period_ms = w->lease_ms / 3 > 0 ? w->lease_ms / 3 : 1};
    pthread_mutex_init(&keeper.lock, NULL);
    pthread_cond_init(&keeper.wake, NULL);
    pthread_t thread;
    int keeping = vs_wq_connect(&keeper.wq, w->url, w->queue, &err) == VS_OK &&
                  pthread_create(&thread, NULL, keep_leases, &keeper) == 0;
    if (!keeping)
        fprintf(stderr, "vidsift worker: cannot keep leases (%s): long videos may be redone\n",
                err.msg[0] ? err.msg : "no thread");

    vs_run_result result;
    int status = vs_pipeline_run(w->run, w->videos, count, &result, &err);

    if (keeping) {
        pthread_mutex_lock(&keeper.lock);
        keeper.stop = 1;
        pthread_cond_signal(&keeper.wake);
        pthread_mutex_unlock(&keeper.lock);
        pthread_join(thread, NULL);
    }
    vs_wq_close(keeper.wq);
    pthread_mutex_destroy(&keeper.lock);
    pthread_cond_destroy(&keeper.wake);
    if (status != VS_OK) {
        /* Nothing is acknowledged: whatever this run committed, the
         * database is in doubt (lost, full), and the videos return to the
         * queue after the lease. */
        fprintf(stderr, "vidsift worker: %s\n", VS_NAME(err.msg));
        *exit_status = stop_requested ? 130 : result.started ? 1 : 2;
        return 0;
    }
    for (int i = 0; i < count; i++) {
        const vs_video *video = &w->videos[i];
        const vs_wq_item *item = &w->items[i];
        int queue_status = VS_OK, dead = 0;
        if (video->status == VS_VIDEO_DONE || video->status == VS_VIDEO_SKIPPED) {
            queue_status = vs_wq_ack(w->wq, item, &err);
            if (queue_status == VS_OK && !w->quiet)
                fprintf(stderr, "vidsift worker: done %s\n", VS_NAME(video->path));
        } else if (video->status == VS_VIDEO_FAILED) {
            queue_status =
                vs_wq_failed(w->wq, item, video->error.msg, w->max_deliveries, &dead, &err);
            fprintf(stderr, "vidsift worker: %s %s (delivery %lld of %lld): %s\n",
                    dead ? "dead:" : "failed, will be retried:", VS_NAME(video->path),
                    (long long)item->deliveries, (long long)w->max_deliveries,
                    VS_NAME(video->error.msg));
        } /* interrupted: left pending, it returns after the lease */
        if (queue_status != VS_OK) {
            fprintf(stderr, "vidsift worker: %s\n", err.msg);
            *exit_status = 1;
            return 0;
        }
    }
    if (stop_requested) {
        *exit_status = 130;
        return 0;
    }
    return 1;
}

static int work(worker *w)
{
    vs_error err = {{0}};
    int64_t idle_ms = w->lease_ms / 4 < 1000 ? (w->lease_ms / 4 > 50 ? w->lease_ms / 4 : 50) : 1000;
    int exit_status = 0;
    while (!stop_requested) {
        int count = 0;
        if (vs_wq_claim(w->wq, w->consumer, w->lease_ms, w->items, w->run->jobs, &count, &err) !=
                VS_OK ||
            bury_exhausted(w, &count, &err) != VS_OK) {
            fprintf(stderr, "vidsift worker: %s\n", err.msg);
            return 1;
        }
        if (count > 0) {
            if (!work_on(w, count, &exit_status))
                return exit_status;
            continue;
        }
        int drained = 0;
        if (vs_wq_drained(w->wq, &drained, &err) != VS_OK) {
            fprintf(stderr, "vidsift worker: %s\n", err.msg);
            return 1;
        }
        if (drained)
            return 0;
        /* Others hold videos: wait, in case one goes silent or fails. */
        struct timespec pause = {idle_ms / 1000, (idle_ms % 1000) * 1000000};
        nanosleep(&pause, NULL);
    }
    return 130;
}

int cmd_worker(int argc, char **argv)
{
    /* A claim takes up to --jobs videos: run's limit must fit the queue's. */
    _Static_assert(VS_WQ_MAX_ITEMS >= 64, "--jobs (1-64) videos must fit one claim");
    vs_run_options o;
    cli_run_defaults(&o, &stop_requested); /* run's: a worker's rows equal a run's */
    worker w = {.lease_ms = 60000, .max_deliveries = 3, .run = &o};
    const char *model = cli_default_model();
    double number;
    struct sigaction action = {.sa_handler = on_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    cli_parser parser;
    cli_parser_init(&parser, &command);
    int option;
#define NUMBER(name, min, max) cli_parse_real("vidsift worker", name, optarg, min, max, &number)
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_REDIS: w.url = optarg; break;
        case OPT_QUEUE: w.queue = optarg; break;
        case OPT_LEASE:
            if (!NUMBER("lease", 0.1, 86400))
                return 2;
            w.lease_ms = (int64_t)(number * 1000);
            break;
        case OPT_MAX_DELIVERIES:
            if (!NUMBER("max-deliveries", 1, 1000))
                return 2;
            w.max_deliveries = (int64_t)number;
            break;
        case OPT_CONSUMER: w.consumer = optarg; break;
        case OPT_QUIET: w.quiet = 1; break;
        default: {
            int shared = cli_run_option("vidsift worker", option, optarg, &o, &model);
            if (shared < 0)
                return cli_exit_status(option);
            if (shared == 0)
                return 2;
        }
        }
    }
#undef NUMBER
    if (!w.url || optind < argc) {
        fprintf(stderr, "vidsift worker: %s\n",
                w.url ? "takes no PATH: videos come from the queue (vidsift queue push)"
                      : "--redis URL is required");
        cli_print_usage_line(stderr, &command);
        return 2;
    }
    char manifest_path[PATH_MAX];
    cli_manifest_path(model, NULL, manifest_path, sizeof manifest_path);
    if (cli_model_without_manifest("vidsift worker", model, manifest_path))
        return 2;
    o.manifest_path = manifest_path;
    vs_error err = {{0}};
    if (vs_make_dirs(o.out_dir, &err) != VS_OK || access(o.out_dir, W_OK) != 0) {
        fprintf(stderr, "vidsift worker: %s: output directory not writable%s%s\n",
                VS_NAME(o.out_dir), err.msg[0] ? ": " : "", err.msg);
        return 2;
    }
    if (!vs_is_output_dir(o.out_dir))
        vs_mark_output_dir(o.out_dir, &err);
    char consumer[300];
    if (!w.consumer) {
        char host[256] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(consumer, sizeof consumer, "%s-%ld", host, (long)getpid());
        w.consumer = consumer;
    }
    if (vs_wq_connect(&w.wq, w.url, w.queue, &err) != VS_OK) {
        fprintf(stderr, "vidsift worker: %s\n", err.msg);
        return 1;
    }
    char *recorded_options = options_json(argc, argv);
    o.options_json = recorded_options;
    w.items = calloc(VS_WQ_MAX_ITEMS, sizeof *w.items);
    w.videos = calloc(VS_WQ_MAX_ITEMS, sizeof *w.videos);
    w.ids = calloc(VS_WQ_MAX_ITEMS, sizeof *w.ids);
    int exit_status = 2;
    if (w.items && w.videos && w.ids)
        exit_status = work(&w);
    else
        fprintf(stderr, "vidsift worker: out of memory\n");
    free(w.items);
    free(w.videos);
    free(w.ids);
    free(recorded_options);
    vs_wq_close(w.wq);
    return exit_status;
}
