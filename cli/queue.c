/* queue.c: `vidsift queue push|status` - fills the Redis work queue that
 * `vidsift worker` empties, and shows where it stands (core/workqueue.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "scan.h"
#include "workqueue.h"

enum { OPT_REDIS = 256, OPT_QUEUE, OPT_QUIET };

static const cli_option options_table[] = {
    {"redis", 0, "URL", OPT_REDIS,
     "redis://[[user]:password@]host[:port][/db], or unix:///path/to/socket"},
    {"queue", 0, "NAME", OPT_QUEUE, "key prefix of the queue's keys in Redis (vidsift)"},
    {"quiet", 0, NULL, OPT_QUIET, "push: print nothing but errors"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift queue",
    .synopsis = "push --redis URL [--queue NAME] PATH...\n"
                "       vidsift queue status --redis URL [--queue NAME]",
    .description =
        "push    adds each video found at PATH (files, or directories searched recursively,\n"
        "        as `vidsift run` finds them) to the queue, once: a video pushed before\n"
        "        (same canonical path) is not added again\n"
        "status  prints how many videos are pending, in progress (each with its worker,\n"
        "        idle time and delivery count), done and dead (each with its error)\n",
    .options = options_table,
    .epilogue =
        "exit status: 0 done, 1 some PATH could not be pushed or Redis failed, 2 usage error\n",
};

static void report_scan_problem(void *context, const char *path, const char *problem)
{
    (void)context;
    fprintf(stderr, "vidsift queue: %s: %s\n", VS_NAME(path), VS_NAME(problem));
}

static int push(vs_workqueue *wq, const char *const *paths, int path_count, int quiet)
{
    vs_scan_result scan;
    vs_error err = {{0}};
    if (vs_scan(paths, path_count, NULL, report_scan_problem, NULL, &scan, &err) != VS_OK) {
        fprintf(stderr, "vidsift queue push: %s\n", err.msg);
        return 1;
    }
    int added_count = 0, known = 0, refused = 0;
    for (int i = 0; i < scan.video_count; i++) {
        const vs_video *video = &scan.videos[i];
        if (video->status == VS_VIDEO_FAILED) {
            /* A missing path or a FIFO: a worker could not open it either. */
            fprintf(stderr, "vidsift queue push: not pushed: %s\n", VS_NAME(video->error.msg));
            refused++;
            continue;
        }
        int added;
        if (vs_wq_push(wq, video, &added, &err) != VS_OK) {
            fprintf(stderr, "vidsift queue push: %s: %s\n", VS_NAME(video->path), err.msg);
            vs_scan_free(&scan);
            return 1;
        }
        added_count += added;
        known += !added;
    }
    if (!quiet)
        fprintf(stderr, "vidsift queue push: %d videos added, %d already in the queue%s\n",
                added_count, known, refused ? ", some paths not pushed (above)" : "");
    vs_scan_free(&scan);
    return refused ? 1 : 0;
}

int cmd_queue(int argc, char **argv)
{
    const char *url = NULL, *queue = NULL;
    int quiet = 0, option;
    cli_parser parser;
    cli_parser_init(&parser, &command);
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_REDIS: url = optarg; break;
        case OPT_QUEUE: queue = optarg; break;
        case OPT_QUIET: quiet = 1; break;
        default: return cli_exit_status(option);
        }
    }
    const char *action = optind < argc ? argv[optind++] : "";
    int is_push = !strcmp(action, "push"), is_status = !strcmp(action, "status");
    if (!is_push && !is_status) {
        fprintf(stderr, "vidsift queue: give push or status\n");
        cli_print_usage_line(stderr, &command);
        return 2;
    }
    if (!url) {
        fprintf(stderr, "vidsift queue %s: --redis URL is required\n", action);
        return 2;
    }
    if (is_push && optind >= argc) {
        fprintf(stderr, "vidsift queue push: no input: give video files or directories\n");
        return 2;
    }
    if (is_status && optind < argc) {
        fprintf(stderr, "vidsift queue status: takes no PATH\n");
        return 2;
    }
    vs_workqueue *wq;
    vs_error err = {{0}};
    if (vs_wq_connect(&wq, url, queue, &err) != VS_OK) {
        fprintf(stderr, "vidsift queue %s: %s\n", action, err.msg);
        return 1;
    }
    int status;
    if (is_push) {
        status = push(wq, (const char *const *)argv + optind, argc - optind, quiet);
    } else {
        vs_wq_counts counts;
        status = vs_wq_status(wq, stdout, &counts, &err) == VS_OK ? 0 : 1;
        if (status)
            fprintf(stderr, "vidsift queue status: %s\n", err.msg);
    }
    vs_wq_close(wq);
    return status;
}
