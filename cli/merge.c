/* merge.c: `vidsift merge OUT.db SHARD.db...` - options and summary around
 * vs_merge (core/merge.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "merge.h"
#include "options.h"

enum { OPT_QUIET = 256 };

static const cli_option options_table[] = {
    {"quiet", 'q', NULL, OPT_QUIET, "print nothing but errors and differing copies"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift merge",
    .synopsis = "[OPTIONS] OUT.db SHARD.db...",
    .description =
        "Merges the results databases of shards (`vidsift run --shard K/N`) or of queue\n"
        "workers (`vidsift worker`) into OUT.db, a database like a single-machine run's:\n"
        "runs and videos copied with new ids, each video once. Where several databases\n"
        "hold one video, the best copy is kept: done before failed before a row a killed\n"
        "process left, then the newest; two done copies that differ are reported. Safe\n"
        "to rerun: merging the same shards again changes nothing.\n",
    .options = options_table,
    .epilogue = "exit status: 0 merged, 1 a database could not be read or written (OUT keeps\n"
                "the shards merged before it), 2 usage error\n",
};

static void print_line(void *context, const char *line)
{
    (void)context;
    fprintf(stderr, "vidsift merge: %s\n", line);
}

int cmd_merge(int argc, char **argv)
{
    int quiet = 0, option;
    cli_parser parser;
    cli_parser_init(&parser, &command);
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_QUIET: quiet = 1; break;
        default: return cli_exit_status(option);
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "vidsift merge: give the output database and at least one shard\n");
        cli_print_usage_line(stderr, &command);
        return 2;
    }
    vs_merge_result result;
    vs_error err = {{0}};
    int status = vs_merge(argv[optind], (const char *const *)argv + optind + 1, argc - optind - 1,
                          print_line, NULL, &result, &err);
    if (status != VS_OK)
        fprintf(stderr, "vidsift merge: %s\n", err.msg);
    if (!quiet || status != VS_OK)
        fprintf(stderr,
                "vidsift merge: %d of %d databases merged: %d runs, %d videos added, %d replaced "
                "by a better copy, %d copies left out, %lld detections added%s\n",
                result.shards, argc - optind - 1, result.runs_added, result.videos_added,
                result.videos_replaced, result.videos_kept, (long long)result.detections_added,
                result.disagreements ? "; some copies differ (above)" : "");
    return status == VS_OK ? 0 : 1;
}
