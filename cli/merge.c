/* merge.c: `vidsift merge OUT.db SHARD.db...` - options and summary around
 * vs_merge (core/merge.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "merge.h"

static const char usage[] =
    "usage: vidsift merge [OPTIONS] OUT.db SHARD.db...\n"
    "\n"
    "Merges the results databases of shards (`vidsift run --shard K/N`) or of queue\n"
    "workers (`vidsift worker`) into OUT.db, a database like a single-machine run's:\n"
    "runs and videos copied with new ids, each video once. Where several databases\n"
    "hold one video, the best copy is kept: done before failed before a row a killed\n"
    "process left, then the newest; two done copies that differ are reported. Safe\n"
    "to rerun: merging the same shards again changes nothing.\n"
    "\n"
    "  --quiet      print nothing but errors and differing copies\n"
    "  -h, --help   this text\n"
    "\n"
    "exit status: 0 merged, 1 a database could not be read or written (OUT keeps\n"
    "the shards merged before it), 2 usage error\n";

static void print_line(void *context, const char *line)
{
    (void)context;
    fprintf(stderr, "vidsift merge: %s\n", line);
}

int cmd_merge(int argc, char **argv)
{
    static const struct option options_table[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int quiet = 0, option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "hq", options_table, NULL)) != -1) {
        switch (option) {
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "vidsift merge: give the output database and at least one shard\n%s",
                usage);
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
