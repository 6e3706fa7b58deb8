/* report.c: `vidsift report` - rebuilds report.html from a results database.
 *
 * Thin: opens the database read-only and hands it to vs_report_html_write,
 * the same code `vidsift run` ends with, so a rebuilt page is the page a
 * run writes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "options.h"
#include "report_html.h"
#include "store.h"

enum { OPT_HTML = 256, OPT_RUN };

static const cli_option options_table[] = {
    {"html", 0, "FILE", OPT_HTML, "where to write the page (report.html beside the database)"},
    {"run", 0, "ID", OPT_RUN,
     "that run and the videos it analysed (every video, and the\n"
     "newest run)"},
    CLI_END_OF_TABLE,
};

static const cli_command command = {
    .command = "vidsift report",
    .synopsis = "DB|OUT [--html FILE] [--run ID]",
    .description =
        "Writes the HTML report of a results database (a `vidsift run` output directory\n"
        "OUT means OUT/results.db): one self-contained page with the run, per-class\n"
        "counts, stage timings, memory and GPU over time, and per video a thumbnail,\n"
        "a timeline and a heatmap of the detections, and links to its outputs.\n",
    .options = options_table,
    .epilogue =
        "exit status: 0 written, 1 the page could not be written, 2 usage or database error\n",
};

/* DB, or OUT/results.db when DB is a directory. */
void cli_database_path(const char *given, char *out, size_t size)
{
    struct stat info;
    if (stat(given, &info) == 0 && S_ISDIR(info.st_mode))
        snprintf(out, size, "%s/results.db", given);
    else
        snprintf(out, size, "%s", given);
}

int cmd_report(int argc, char **argv)
{
    const char *html = NULL;
    long long run_id = 0;
    cli_parser parser;
    cli_parser_init(&parser, &command);
    int option;
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_HTML: html = optarg; break;
        case OPT_RUN: {
            char *end;
            errno = 0;
            run_id = strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || run_id < 1) {
                fprintf(stderr, "vidsift report: --run: '%s' is not a run id (1 or more)\n",
                        VS_NAME(optarg));
                return 2;
            }
            break;
        }
        default: return cli_exit_status(option);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vidsift report: %s\n",
                optind >= argc ? "which database? (DB is required)" : "one database at a time");
        cli_print_usage_line(stderr, &command);
        return 2;
    }
    char db_path[PATH_MAX], html_path[PATH_MAX + 16];
    cli_database_path(argv[optind], db_path, sizeof db_path);
    if (html) {
        snprintf(html_path, sizeof html_path, "%s", html);
    } else {
        const char *slash = strrchr(db_path, '/');
        snprintf(html_path, sizeof html_path, "%.*sreport.html",
                 slash ? (int)(slash - db_path + 1) : 0, db_path);
    }
    vs_error err = {{0}};
    vs_store *store;
    if (vs_store_open_read(&store, db_path, &err) != VS_OK) {
        fprintf(stderr, "vidsift report: %s\n", err.msg);
        return 2;
    }
    int status = vs_report_html_write(store, db_path, run_id, html_path, &err);
    vs_store_close(store);
    if (status != VS_OK) {
        fprintf(stderr, "vidsift report: %s\n", err.msg);
        return status == VS_EINVAL ? 2 : 1;
    }
    printf("%s\n", html_path);
    return 0;
}
