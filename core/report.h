/* report.h: the end-of-run report, as text for people and JSON for machines. */
#ifndef VS_REPORT_H
#define VS_REPORT_H

#include <stdio.h>

#include "pipeline.h"
#include "store.h"

/* The report as a JSON document (malloc'd; NULL when out of memory). */
char *vs_report_json(const vs_run_result *result, const vs_video *videos, int video_count);
/* Where a run's outputs are, for the summary. */
typedef struct vs_report_outputs {
    const char *out_dir;            /* NULL: no outputs section */
    const char *db_path;            /* --db as given; "": OUT/results.db; NULL: none */
    int html_written, json_written; /* OUT/report.html, OUT/report.json */
    int annotated, snapshots;       /* OUT/annotated/, OUT/snapshots/ were written */
    const char *zones_path;         /* --zones FILE: a run that counted nothing says so */
} vs_report_outputs;

/* The user's part of the report, first: videos done, failed (with their
 * reasons), skipped; what was found per class (and tracks), read from store
 * for the run (NULL: not shown); where the outputs are. */
void vs_report_print_summary(FILE *out, const vs_run_result *result, const vs_video *videos,
                             int video_count, vs_store *store, const vs_report_outputs *outputs);
/* The machine's part, after: frames, throughput, stages as a table with the
 * bottleneck named; verbose adds queues, memory and GPU. */
void vs_report_print(FILE *out, const vs_run_result *result, const vs_video *videos,
                     int video_count, int verbose);
const char *vs_video_status_name(vs_video_status status);

#endif
