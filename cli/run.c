/* run.c: `vidsift run` - options, signals, progress and exit status around
 * one vs_pipeline_run. Owns the stop flag that SIGINT/SIGTERM set. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "budget.h"
#include "cli.h"
#include "fsutil.h"
#include "manifest.h"
#include "options.h"
#include "pipeline.h"
#include "run_options.h"
#include "report.h"
#include "report_html.h"
#include "scan.h"
#include "shard.h"

/* run's own options; those it shares with worker are in run_options.h. */
enum {
    OPT_QUIET = 256,
    OPT_JSON,
    OPT_PROGRESS,
    OPT_VERBOSE,
    OPT_SHARD,
    OPT_SHARDS,
};

static const cli_option options_table[] = {
    CLI_HEADING("model and device:"),
    CLI_RUN_MODEL_OPTIONS,
    CLI_HEADING("detection:"),
    CLI_RUN_DETECTION_OPTIONS,
    CLI_HEADING("tracking and zones:"),
    CLI_RUN_TRACKING_OPTIONS,
    CLI_HEADING("sampling:"),
    CLI_RUN_SAMPLING_OPTIONS,
    CLI_HEADING("inputs and outputs:"),
    CLI_RUN_OUTPUT_OPTIONS,
    {"shard", 0, "K/N|auto", OPT_SHARD,
     "take only shard K of N (0-based) of the videos, split by\n"
     "a fixed hash of each path below its input root; auto\n"
     "reads SLURM_ARRAY_TASK_ID/MIN/COUNT or\n"
     "JOB_COMPLETION_INDEX"},
    {"shards", 0, "N", OPT_SHARDS, "the shard count for --shard auto under\nJOB_COMPLETION_INDEX"},
    CLI_HEADING("output to the terminal:"),
    {"quiet", 0, NULL, OPT_QUIET, "print nothing but errors"},
    {"json", 0, NULL, OPT_JSON, "print the JSON summary on stdout"},
    {"verbose", 0, NULL, OPT_VERBOSE, "the summary with queues, memory and GPU"},
    {"progress", 0, "WHEN", OPT_PROGRESS,
     "auto (on a terminal), always, never, or jsonl: a JSON\n"
     "object a second on stdout (auto)"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift run",
    .synopsis = "[OPTIONS] PATH...",
    .description = "Detects objects in every sampled frame of the videos at PATH (files, or\n"
                   "directories searched recursively) and writes OUT/results.db (SQLite),\n"
                   "OUT/annotated/*.mp4, OUT/snapshots/ and OUT/report.json.\n",
    .options = options_table,
    .epilogue = "exit status: 0 all videos done, 1 some failed, 2 usage or setup error,\n"
                "130 interrupted\n",
};

/* Set from signal handlers: the only state a handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    if (stop_requested) {
        /* Second signal: leave at once. SQLite's journal keeps the database whole. */
        static const char message[] = "\nvidsift: stopped\n";
        ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
        (void)ignored;
        _exit(130);
    }
    stop_requested = signal_number;
}

/* How progress is shown: a line redrawn in place on a terminal, plain lines
 * elsewhere (a log file must not fill with carriage returns), or one JSON
 * object per second on stdout for scripts. */
typedef enum progress_style { PROGRESS_BAR, PROGRESS_LINES, PROGRESS_JSONL } progress_style;

typedef struct progress_state {
    progress_style style;
    double last_printed_s; /* elapsed time of the last line written; < 0: none yet */
    int printed;           /* a bar is on screen: clear it before the summary */
} progress_state;

/* What the decoders have told so far, summed over the videos to analyse. */
typedef struct progress_figures {
    int total, finished, skipped;
    int64_t decoded;  /* frames decoded so far (analysed or not) */
    int64_t expected; /* frames the containers announce, estimated for unopened videos */
    int estimated;    /* 1: expected includes an estimate for videos not opened yet */
    int working[2], working_count;
} progress_figures;

static void count_progress(const vs_video *videos, int video_count, progress_figures *f)
{
    memset(f, 0, sizeof *f);
    f->total = video_count;
    int64_t known = 0;
    int known_count = 0, unknown_count = 0;
    /* The decoders and the sink write these meanwhile, with atomic stores. */
    for (int i = 0; i < video_count; i++) {
        vs_video_status status = __atomic_load_n(&videos[i].status, __ATOMIC_RELAXED);
        int64_t expected = __atomic_load_n(&videos[i].frames_expected, __ATOMIC_RELAXED);
        int64_t decoded = __atomic_load_n(&videos[i].frames_decoded, __ATOMIC_RELAXED);
        int64_t finished = __atomic_load_n(&videos[i].frames_finished, __ATOMIC_RELAXED);
        int ended = __atomic_load_n(&videos[i].sink_ended, __ATOMIC_RELAXED);
        if (status == VS_VIDEO_SKIPPED) {
            f->skipped++;
            f->finished++;
            continue;
        }
        /* Done means written: the decoder's status comes before the sinks
         * have the video's last frames; a video that never started (a bad
         * file) is done when its decoder says so. */
        int done = status != VS_VIDEO_PENDING && (ended || decoded == 0);
        f->decoded += done ? decoded : finished;
        if (done) {
            f->finished++;
            known += decoded; /* a finished video counts what it had, whatever it announced */
            known_count += decoded > 0; /* one that never started tells no length */
            continue;
        }
        if (decoded > 0 && f->working_count < 2)
            f->working[f->working_count++] = i;
        decoded = finished; /* what is counted done of this video */
        if (expected > 0) {
            known += expected > decoded ? expected : decoded;
            known_count++;
        } else {
            unknown_count++;
        }
    }
    /* Videos not opened yet (or whose container has no count) are taken to
     * be as long as the average of the others: an estimate, said as such. */
    f->expected = known;
    if (unknown_count && known_count) {
        f->expected += known / known_count * unknown_count;
        f->estimated = 1;
    } else if (unknown_count) {
        f->expected = 0;
    }
}

/* The width of the terminal on fd, 80 when it does not say. */
static int terminal_columns(int fd)
{
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20)
        return size.ws_col;
    return 80;
}

/* Cuts text to at most columns characters (UTF-8 sequences count one and
 * are never split). */
static void fit_columns(char *text, int columns)
{
    int shown = 0;
    for (char *c = text; *c; c++) {
        if (((unsigned char)*c & 0xC0) == 0x80)
            continue; /* a continuation byte: part of the character before */
        if (shown++ == columns) {
            *c = 0;
            return;
        }
    }
}

static void show_progress(void *context, const vs_video *videos, int video_count,
                          int64_t frames_done, double elapsed_s)
{
    (void)frames_done; /* frames through the sinks: decoded frames measure sampled runs too */
    progress_state *state = context;
    /* Plain lines and JSON: once a second and once every 5 s, not at every call. */
    double period = state->style == PROGRESS_BAR ? 0 : state->style == PROGRESS_JSONL ? 1 : 5;
    if (state->last_printed_s >= 0 && elapsed_s - state->last_printed_s < period - 0.01)
        return;
    state->last_printed_s = elapsed_s;
    progress_figures f;
    count_progress(videos, video_count, &f);
    /* The rate of decoded frames already includes the cost of the analysed
     * ones: with --every or --sample-fps the ETA follows the real mix. */
    double fps = elapsed_s > 0 ? f.decoded / elapsed_s : 0;
    double percent = f.expected > 0 ? 100.0 * f.decoded / f.expected : -1;
    percent = percent > 100 ? 100 : percent;
    double eta_s = fps > 0 && f.expected > f.decoded ? (f.expected - f.decoded) / fps : -1;
    /* Names escaped before they are cut, so no cut leaves a raw control byte. */
    char names[2][48];
    for (int w = 0; w < f.working_count; w++)
        vs_safe_name(videos[f.working[w]].relative_path, names[w], 40);
    if (state->style == PROGRESS_JSONL) {
        cJSON *line = cJSON_CreateObject();
        cJSON_AddNumberToObject(line, "elapsed_s", elapsed_s);
        cJSON_AddNumberToObject(line, "videos", f.total);
        cJSON_AddNumberToObject(line, "videos_finished", f.finished);
        cJSON_AddNumberToObject(line, "videos_skipped", f.skipped);
        cJSON_AddNumberToObject(line, "frames_done", (double)f.decoded);
        if (f.expected > 0)
            cJSON_AddNumberToObject(line, "frames_expected", (double)f.expected);
        else
            cJSON_AddNullToObject(line, "frames_expected");
        cJSON_AddBoolToObject(line, "frames_expected_estimated", f.estimated);
        if (percent >= 0)
            cJSON_AddNumberToObject(line, "percent", percent);
        else
            cJSON_AddNullToObject(line, "percent");
        cJSON_AddNumberToObject(line, "fps", fps);
        if (eta_s >= 0)
            cJSON_AddNumberToObject(line, "eta_s", eta_s);
        else
            cJSON_AddNullToObject(line, "eta_s");
        cJSON *working = cJSON_AddArrayToObject(line, "working_on");
        for (int w = 0; w < f.working_count; w++)
            cJSON_AddItemToArray(working, cJSON_CreateString(names[w]));
        char *text = cJSON_PrintUnformatted(line);
        cJSON_Delete(line);
        if (text) {
            printf("%s\n", text);
            fflush(stdout);
        }
        free(text);
        return;
    }
    char percent_text[16] = "", eta[32] = "ETA ?";
    if (percent >= 0)
        snprintf(percent_text, sizeof percent_text, "%s%.0f%%, ", f.estimated ? "~" : "", percent);
    if (eta_s >= 0)
        snprintf(eta, sizeof eta, "ETA %s%.0f s", f.estimated ? "~" : "", eta_s);
    char line[256];
    snprintf(line, sizeof line, "[%d/%d videos] %s%lld frames, %.1f fps, %s%s%s%s%s", f.finished,
             f.total, percent_text, (long long)f.decoded, fps, eta, f.working_count ? " - " : "",
             f.working_count ? names[0] : "", f.working_count > 1 ? ", " : "",
             f.working_count > 1 ? names[1] : "");
    if (state->style == PROGRESS_BAR) {
        /* A bar wider than the terminal wraps, and "\r\033[K" then clears
         * only its last row: each redraw would leave a row behind. */
        fit_columns(line, terminal_columns(STDERR_FILENO) - 1);
        fprintf(stderr, "\r\033[K%s", line);
    } else {
        fprintf(stderr, "vidsift: %s\n", line);
    }
    fflush(stderr);
    state->printed = 1;
}

static void report_scan_problem(void *context, const char *path, const char *problem)
{
    if (!*(int *)context)
        fprintf(stderr, "vidsift: %s: %s\n", VS_NAME(path), VS_NAME(problem));
}

/* The database a run writes: --db, else OUT/results.db. */
static void database_path(const vs_run_options *o, char *out, size_t size)
{
    if (o->db_path)
        snprintf(out, size, "%s", o->db_path);
    else
        snprintf(out, size, "%s/results.db", o->out_dir);
}

/* OUT/report.json; 0 (after a line saying why) when it could not be written. */
static int write_report_json(const char *out_dir, const char *report)
{
    char report_path[PATH_MAX];
    snprintf(report_path, sizeof report_path, "%s/report.json", out_dir);
    /* A full disk shows only at the flush (fclose): check it there, and
     * remove what was written rather than leave a report cut short. */
    FILE *file = report ? fopen(report_path, "w") : NULL;
    int written = file && fputs(report, file) >= 0 && fputc('\n', file) != EOF;
    int write_errno = errno;
    if (file && fclose(file) != 0 && written) {
        written = 0;
        write_errno = errno;
    }
    if (!written) {
        fprintf(stderr, "vidsift run: %s: cannot write the report: %s\n", VS_NAME(report_path),
                report ? strerror(write_errno) : "out of memory");
        if (file)
            unlink(report_path);
    }
    return written;
}

/* OUT/report.html for this run; 0 (after a line saying why) when it could
 * not be written: the run's results are in the database all the same. */
static int write_html_report(const char *db_path, int64_t run_id, const char *html_path)
{
    vs_error err = {{0}};
    vs_store *store = NULL;
    int status = vs_store_open_read(&store, db_path, &err);
    if (status == VS_OK)
        status = vs_report_html_write(store, db_path, run_id, html_path, &err);
    vs_store_close(store);
    if (status != VS_OK)
        fprintf(stderr, "vidsift run: %s\n", VS_NAME(err.msg));
    return status == VS_OK;
}

static char *options_json(int argc, char **argv)
{
    cJSON *args = cJSON_CreateArray();
    for (int i = 0; i < argc; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
    char *text = cJSON_PrintUnformatted(args);
    cJSON_Delete(args);
    return text;
}

int cmd_run(int argc, char **argv)
{
    vs_run_options o;
    cli_run_defaults(&o, &stop_requested);
    const char *model = cli_default_model(), *progress_mode = "auto";
    int quiet = 0, json = 0, verbose = 0;
    const char *shard_text = NULL;
    int shards_option = 0;
    /* First thing: a signal from here on stops the run cleanly. */
    struct sigaction action = {.sa_handler = on_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    cli_parser parser;
    cli_parser_init(&parser, &command);
    int option;
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_SHARD: shard_text = optarg; break;
        case OPT_SHARDS:
            if (!cli_parse_int("vidsift run", "shards", optarg, 1, VS_SHARD_MAX, &shards_option))
                return 2;
            break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_VERBOSE: verbose = 1; break;
        case OPT_PROGRESS:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never") &&
                strcmp(optarg, "jsonl")) {
                fprintf(stderr, "vidsift run: --progress: expected auto, always, never or jsonl\n");
                return 2;
            }
            progress_mode = optarg;
            break;
        default: {
            int shared = cli_run_option("vidsift run", option, optarg, &o, &model);
            if (shared < 0)
                return cli_exit_status(option);
            if (shared == 0)
                return 2;
        }
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vidsift run: no input: give video files or directories\n");
        cli_print_usage_line(stderr, &command);
        return 2;
    }

    vs_shard shard = {0, 1};
    if (shard_text) {
        vs_error shard_err = {{0}};
        if (vs_shard_parse(shard_text, shards_option, NULL, &shard, &shard_err) != VS_OK) {
            fprintf(stderr, "vidsift run: %s\n", shard_err.msg);
            return 2;
        }
    } else if (shards_option) {
        fprintf(stderr, "vidsift run: --shards needs --shard auto\n");
        return 2;
    }

    char manifest_path[PATH_MAX];
    cli_manifest_path(model, NULL, manifest_path, sizeof manifest_path);
    if (cli_model_without_manifest("vidsift run", model, manifest_path))
        return 2;
    o.manifest_path = manifest_path;

    vs_error err = {{0}};
    vs_scan_result scan;
    int status = vs_scan((const char *const *)argv + optind, argc - optind, o.out_dir,
                         report_scan_problem, &quiet, &scan, &err);
    if (status != VS_OK) {
        fprintf(stderr, "vidsift run: %s\n", VS_NAME(err.msg));
        return 2;
    }
    int videos_found = scan.video_count;
    scan.video_count = vs_shard_select(&shard, scan.videos, scan.video_count);
    if (shard.count > 1 && !quiet)
        fprintf(stderr, "vidsift run: shard %d/%d: %d of %d videos\n", shard.index, shard.count,
                scan.video_count, videos_found);
    o.files_skipped = scan.files_skipped;
    o.duplicates_dropped = scan.duplicates;
    if (scan.video_count == 0 && videos_found > 0) {
        /* An array larger than the input: this task has nothing to do. */
        vs_scan_free(&scan);
        return 0;
    }
    if (scan.video_count == 0) {
        fprintf(stderr, "vidsift run: no video found in the given paths\n");
        vs_scan_free(&scan);
        return 2;
    }
    if (vs_make_dirs(o.out_dir, &err) != VS_OK) {
        fprintf(stderr, "vidsift run: output directory: %s\n", VS_NAME(err.msg));
        vs_scan_free(&scan);
        return 2;
    }
    if (access(o.out_dir, W_OK) != 0) {
        fprintf(stderr, "vidsift run: %s: output directory not writable: %s\n", VS_NAME(o.out_dir),
                strerror(errno));
        vs_scan_free(&scan);
        return 2;
    }
    /* The marker keeps a later `vidsift run` of a parent directory out of
     * this one. Not fatal: on a full disk the run still reports what it can,
     * and a results.db beside annotated/ marks the directory too. */
    if (!vs_is_output_dir(o.out_dir))
        vs_mark_output_dir(o.out_dir, &err);

    /* jsonl is for scripts: shown even with --quiet, which is about stderr. */
    progress_state progress = {.last_printed_s = -1};
    int jsonl = !strcmp(progress_mode, "jsonl");
    int show = jsonl || (!quiet && (!strcmp(progress_mode, "always") ||
                                    (!strcmp(progress_mode, "auto") && isatty(STDERR_FILENO))));
    if (show) {
        progress.style = jsonl                   ? PROGRESS_JSONL
                         : isatty(STDERR_FILENO) ? PROGRESS_BAR
                                                 : PROGRESS_LINES;
        o.progress = show_progress;
        o.progress_context = &progress;
    }
    char *recorded_options = options_json(argc, argv);
    o.options_json = recorded_options;

    vs_run_result result;
    status = vs_pipeline_run(&o, scan.videos, scan.video_count, &result, &err);
    if (show && progress.style == PROGRESS_BAR && progress.printed)
        fprintf(stderr, "\r\033[K");
    free(recorded_options);
    if (status != VS_OK && !result.started) {
        fprintf(stderr, "vidsift run: %s\n", VS_NAME(err.msg));
        vs_scan_free(&scan);
        return stop_requested ? 130 : 2;
    }
    if (status != VS_OK)
        fprintf(stderr, "vidsift run: %s\n", VS_NAME(err.msg));

    char *report = vs_report_json(&result, scan.videos, scan.video_count);
    /* A run that analysed nothing (every video complete already: the
     * pipeline loaded no model and recorded no run) keeps the reports of the
     * run that did: a rerun must not replace them with zeros. */
    int nothing_done = status == VS_OK && !result.model_loaded && result.videos_skipped > 0 &&
                       result.videos_skipped == scan.video_count;
    int written = nothing_done || write_report_json(o.out_dir, report);
    /* The page comes from the database (the same code as `vidsift report`):
     * what the run recorded is what it shows. */
    char db_path[PATH_MAX], html_path[PATH_MAX];
    database_path(&o, db_path, sizeof db_path);
    snprintf(html_path, sizeof html_path, "%s/report.html", o.out_dir);
    int html_written = !nothing_done && written && o.store && result.run_id > 0 &&
                       write_html_report(db_path, result.run_id, html_path);
    if (json && report)
        printf("%s\n", report);
    if (!quiet && nothing_done) {
        /* The model was never loaded and no run recorded: say so in one line. */
        fprintf(stderr,
                "vidsift: nothing to do: %d video%s already analysed in %s (--force redoes "
                "them)\n",
                result.videos_skipped, result.videos_skipped == 1 ? "" : "s", VS_NAME(db_path));
        if (access(html_path, F_OK) == 0)
            fprintf(stderr, "  the last report stays: %s\n", VS_NAME(html_path));
    } else if (!quiet) {
        /* Per-class counts are read back from what the run committed. */
        vs_store *store = NULL;
        vs_error ignored;
        if (o.store && result.run_id > 0 && vs_store_open_read(&store, db_path, &ignored) != VS_OK)
            store = NULL;
        vs_report_outputs outputs = {.out_dir = o.out_dir,
                                     .db_path = !o.store    ? NULL
                                                : o.db_path ? o.db_path
                                                            : "",
                                     .html_written = html_written,
                                     .json_written = written,
                                     .annotated = o.annotate && result.videos_done > 0,
                                     .snapshots = o.snapshots && result.videos_done > 0,
                                     .zones_path = o.zones_path};
        vs_report_print_summary(stderr, &result, scan.videos, scan.video_count, store, &outputs);
        vs_store_close(store);
        vs_report_print(stderr, &result, scan.videos, scan.video_count, verbose);
    } else {
        for (int i = 0; i < scan.video_count; i++)
            if (scan.videos[i].status == VS_VIDEO_FAILED)
                fprintf(stderr, "vidsift: %s\n", VS_NAME(scan.videos[i].error.msg));
    }
    free(report);
    int exit_status = stop_requested ? 130 : status != VS_OK ? 1 : result.videos_failed ? 1 : 0;
    /* No report means OUT is gone or unwritable: never a success. */
    if (!written && exit_status == 0)
        exit_status = 1;
    vs_scan_free(&scan);
    return exit_status;
}
