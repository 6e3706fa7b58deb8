/* main.c: `vidsift COMMAND ...` - dispatches to cli/<command>.c, nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "cli.h"
#include "options.h"
#include "vs_error.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    int runs_models; /* runs inference: wants sleeping OpenMP threads */
} commands[] = {
    {"run", cmd_run, "analyse videos: detections to SQLite, annotated videos, snapshots, report",
     1},
    {"bench", cmd_bench, "measure each stage and the whole pipeline", 1},
    {"models", cmd_models, "list, describe and verify installed models", 0},
    {"export", cmd_export, "export detections from a results database (csv, jsonl, coco)", 0},
    {"report", cmd_report, "write the HTML report of a results database", 0},
    {"merge", cmd_merge, "merge shard or worker databases into one", 0},
    {"queue", cmd_queue, "push videos to a Redis work queue, show its state", 0},
    {"worker", cmd_worker, "analyse videos taken from a Redis work queue", 1},
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage: vidsift COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`vidsift COMMAND --help` for a command's options; `man vidsift` for all.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    /* vidsift reports each problem once, as a line naming the file; FFmpeg's
     * own chatter is available for debugging with VIDSIFT_FFMPEG_LOG=1. */
    const char *ffmpeg_log = getenv("VIDSIFT_FFMPEG_LOG");
    av_log_set_level(ffmpeg_log && *ffmpeg_log == '1' ? AV_LOG_INFO : AV_LOG_QUIET);
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "-V") || !strcmp(name, "version")) {
        cli_print_version(stdout);
        return 0;
    }
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name))
            continue;
        if (commands[i].runs_models)
            cli_prefer_sleeping_threads(argv);
        return commands[i].run(argc - 1, argv + 1);
    }
    /* A typo gets the nearest command and one line, not the whole list. */
    enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };
    const char *names[COMMAND_COUNT];
    for (int i = 0; i < COMMAND_COUNT; i++)
        names[i] = commands[i].name;
    return cli_unknown_command("vidsift", name, names, COMMAND_COUNT,
                               "vidsift COMMAND [OPTIONS] [ARGS] (`vidsift --help` lists the "
                               "commands)");
}
