/* report.h: the end-of-run report, as text for people and JSON for machines. */
#ifndef VS_REPORT_H
#define VS_REPORT_H

#include <stdio.h>

#include "pipeline.h"

/* The report as a JSON document (malloc'd; NULL when out of memory). */
char *vs_report_json(const vs_run_result *result, const vs_video *videos, int video_count);
/* The report as text: one block, stages as a table, the bottleneck named. */
void vs_report_print(FILE *out, const vs_run_result *result, const vs_video *videos,
                     int video_count);
const char *vs_video_status_name(vs_video_status status);

#endif
