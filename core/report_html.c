/* report_html.c: the HTML report (see report_html.h).
 *
 * DESIGN. One pass over the database, streamed to the file: the run, the
 * classes, the machine side (stage bars, RSS and GPU over time), then one
 * section per video. A video's plots come from one cursor over its
 * detections in frame order, folded into fixed-size arrays (timeline bins,
 * heatmap cells), so memory does not grow with the detections. Plots are
 * SVG with solid fills in a fixed palette and crisp edges: a browser draws
 * them in exactly those colours, which is what the test looks for. Every
 * text from the database (file names, errors, options) is escaped for HTML
 * after vs_safe_name has made it printable. */
#include "report_html.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define TIMELINE_BINS 120
#define TIMELINE_SERIES 6 /* classes drawn per timeline: the most frequent */
#define HEATMAP_COLUMNS 48
#define THUMB_MAX_BYTES (96 * 1024) /* a bigger thumbnail is linked, not embedded */
#define PLOT_W 640
#define PLOT_H 160

/* Series colours (timelines, class bars) and the heatmap ramp, light to dark. */
static const char *const palette[TIMELINE_SERIES] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                                     "#d62728", "#9467bd", "#8c564b"};
static const char *const heat_ramp[5] = {"#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"};

typedef struct page {
    FILE *out;
    vs_store *store;
    const char *db_path;
    char page_dir[PATH_MAX]; /* absolute: links are made relative to it */
    char db_dir[PATH_MAX];   /* absolute: OUT, when the database is OUT/results.db */
    int64_t run_id;          /* the run shown in the run and machine sections; 0: none */
    vs_store_filter videos;  /* which videos the page lists */
} page;

/* Text for HTML: made printable (vs_safe_name), then &<>"' escaped. */
static void put_text(FILE *out, const char *text)
{
    if (!text)
        return;
    char safe[4096];
    vs_safe_name(text, safe, sizeof safe);
    for (const char *s = safe; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* A relative URL path: every byte outside the unreserved set and '/' as %XX,
 * so that no file name can end the attribute or make a scheme ("x:"). */
static void put_url_path(FILE *out, const char *path)
{
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("-._~/", *s))
            fputc(*s, out);
        else
            fprintf(out, "%%%02X", *s);
    }
}

/* target relative to the directory base (both absolute, no . or ..). */
static void relative_to(const char *target, const char *base, char *out, size_t size)
{
    size_t common = 0;
    for (size_t i = 0;; i++) {
        int target_end = target[i] == '/' || target[i] == 0;
        int base_end = base[i] == '/' || base[i] == 0;
        if (target_end && base_end)
            common = i;
        if (target[i] != base[i] || !target[i] || !base[i])
            break;
    }
    out[0] = 0;
    size_t used = 0;
    for (const char *s = base + common; *s; s++)
        if (*s == '/' && used + 4 < size)
            used += (size_t)snprintf(out + used, size - used, "../");
    const char *rest = target + common;
    while (*rest == '/')
        rest++;
    snprintf(out + used, size - used, "%s", rest);
}

/* Where an output recorded as `stored` is now, relative to the page: the
 * recorded path when it still resolves, else the same name below the
 * database's directory (a database moved with its OUT, or a relative OUT
 * given from another directory). 0 when neither exists. */
static int find_output(const page *p, const char *stored, const char *below_out, char *link,
                       size_t size)
{
    char resolved[PATH_MAX], candidate[PATH_MAX * 2];
    int found = stored && realpath(stored, resolved) != NULL;
    if (!found && below_out) {
        snprintf(candidate, sizeof candidate, "%s/%s", p->db_dir, below_out);
        found = realpath(candidate, resolved) != NULL;
    }
    if (!found)
        return 0;
    relative_to(resolved, p->page_dir, link, size);
    return 1;
}

static void put_base64_file(FILE *out, const char *path)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in)
        return;
    unsigned char chunk[3];
    size_t got;
    while ((got = fread(chunk, 1, 3, in)) > 0) {
        unsigned value = chunk[0] << 16 | (got > 1 ? chunk[1] << 8 : 0) | (got > 2 ? chunk[2] : 0);
        fputc(digits[value >> 18 & 63], out);
        fputc(digits[value >> 12 & 63], out);
        fputc(got > 1 ? digits[value >> 6 & 63] : '=', out);
        fputc(got > 2 ? digits[value & 63] : '=', out);
    }
    fclose(in);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px;"
    "color:#222;background:#fff}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:28px}"
    "h3{font-size:15px;margin:0 0 6px}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}"
    ".video{border:1px solid #ccc;border-radius:4px;padding:10px;margin:12px 0}"
    ".row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}"
    ".thumb{width:240px;border:1px solid #ccc}.nothumb{width:240px;height:135px;"
    "background:#eee;display:flex;align-items:center;justify-content:center;color:#777}"
    ".failed{color:#b00}.note{color:#555}pre{background:#f6f6f6;padding:6px;overflow:auto;"
    "max-width:100%;white-space:pre-wrap}"
    "svg text{font:11px sans-serif;fill:#333}.legend span{display:inline-block;width:10px;"
    "height:10px;margin:0 4px 0 10px}";

static void format_duration(double seconds, char *out, size_t size)
{
    if (seconds < 0)
        snprintf(out, size, "unknown");
    else if (seconds < 60)
        snprintf(out, size, "%.1f s", seconds);
    else if (seconds < 3600)
        snprintf(out, size, "%d min %02d s", (int)seconds / 60, (int)seconds % 60);
    else
        snprintf(out, size, "%d h %02d min", (int)seconds / 3600, (int)seconds / 60 % 60);
}

/* ---- the run ---- */

static void put_summary_counts(FILE *out, const cJSON *summary)
{
    const cJSON *videos = cJSON_GetObjectItemCaseSensitive(summary, "videos");
    if (!cJSON_IsObject(videos))
        return;
    const char *names[] = {"done", "failed", "skipped", "interrupted"};
    fputs("<tr><th>videos</th><td>", out);
    for (int i = 0; i < 4; i++) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(videos, names[i]);
        fprintf(out, "%s%d %s", i ? ", " : "", cJSON_IsNumber(n) ? n->valueint : 0, names[i]);
    }
    fputs("</td></tr>\n", out);
    const char *numbers[][2] = {{"frames_decoded", "frames decoded"},
                                {"frames_analysed", "frames analysed"},
                                {"detections", "detections"}};
    for (int i = 0; i < 3; i++) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(summary, numbers[i][0]);
        if (cJSON_IsNumber(n))
            fprintf(out, "<tr><th>%s</th><td>%.0f</td></tr>\n", numbers[i][1], n->valuedouble);
    }
}

static int write_run(page *p, vs_error *err)
{
    FILE *out = p->out;
    fputs("<h2 id=\"run\">Run</h2>\n", out);
    if (p->run_id <= 0) {
        fputs("<p class=\"note\">No run recorded in this database.</p>\n", out);
        return VS_OK;
    }
    vs_store_filter filter = {.run_id = p->run_id};
    vs_store_cursor *cursor;
    int status = vs_store_read_runs(p->store, &filter, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_run_row run;
    int step = vs_store_next_run(cursor, &run, err);
    if (step < 0) {
        vs_store_cursor_close(cursor);
        return step;
    }
    if (step == 0) {
        vs_store_cursor_close(cursor);
        return vs_fail(err, VS_EINVAL, "%s: no run %lld in this database", VS_NAME(p->db_path),
                       (long long)p->run_id);
    }
    cJSON *summary = run.summary ? cJSON_Parse(run.summary) : NULL;
    fputs("<table>\n", out);
    fprintf(out, "<tr><th>run</th><td>%lld</td></tr>\n<tr><th>status</th><td>", (long long)run.id);
    put_text(out, run.status);
    fputs("</td></tr>\n<tr><th>started</th><td>", out);
    put_text(out, run.started_at);
    fputs("</td></tr>\n<tr><th>ended</th><td>", out);
    put_text(out, run.ended_at ? run.ended_at : "(running, or the run died)");
    fputs("</td></tr>\n", out);
    const cJSON *wall = cJSON_GetObjectItemCaseSensitive(summary, "wall_s");
    if (cJSON_IsNumber(wall)) {
        char text[64];
        format_duration(wall->valuedouble, text, sizeof text);
        fprintf(out, "<tr><th>duration</th><td>%s</td></tr>\n", text);
    }
    fputs("<tr><th>device</th><td>", out);
    put_text(out, run.device);
    fputs("</td></tr>\n<tr><th>host</th><td>", out);
    put_text(out, run.host);
    fputs("</td></tr>\n", out);
    put_summary_counts(out, summary);
    fputs("<tr><th>options</th><td><pre>", out);
    put_text(out, run.options);
    fputs("</pre></td></tr>\n<tr><th>versions</th><td>", out);
    put_text(out, run.versions);
    fputs("</td></tr>\n</table>\n", out);
    cJSON_Delete(summary);
    vs_store_cursor_close(cursor);
    return VS_OK;
}

/* Failed and interrupted videos of the selection, each with its reason. */
static int write_failures(page *p, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_videos(p->store, &p->videos, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_video_row v;
    int step, shown = 0;
    while ((step = vs_store_next_video(cursor, &v, err)) == 1) {
        if (!v.status || (strcmp(v.status, "failed") && strcmp(v.status, "interrupted")))
            continue;
        if (!shown++)
            fputs("<h3 class=\"failed\">Videos not done</h3>\n<ul>\n", p->out);
        if (shown > VS_HTML_TABLE_VIDEOS)
            continue; /* counted below */
        fputs("<li class=\"failed\">", p->out);
        put_text(p->out, v.path);
        fputs(" (", p->out);
        put_text(p->out, v.status);
        fputs("): ", p->out);
        put_text(p->out, v.error ? v.error : "no reason recorded");
        fputs("</li>\n", p->out);
    }
    if (shown > VS_HTML_TABLE_VIDEOS)
        fprintf(p->out, "<li>... and %d more</li>\n", shown - VS_HTML_TABLE_VIDEOS);
    if (shown)
        fputs("</ul>\n", p->out);
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

/* ---- classes ---- */

static int write_classes(page *p, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_classes(p->store, &p->videos, &cursor, err);
    if (status != VS_OK)
        return status;
    fputs("<h2 id=\"classes\">Detections per class</h2>\n", p->out);
    /* Two passes over a short list (one row per class): the largest first. */
    int64_t largest = 0;
    int count = 0, step;
    vs_store_class_row row;
    while ((step = vs_store_next_class(cursor, &row, err)) == 1) {
        largest = row.detections > largest ? row.detections : largest;
        count++;
    }
    if (step < 0 || count == 0) {
        if (step == 0)
            fputs("<p class=\"note\">No detections.</p>\n", p->out);
        vs_store_cursor_close(cursor);
        return step < 0 ? step : VS_OK;
    }
    vs_store_cursor_close(cursor);
    if ((status = vs_store_read_classes(p->store, &p->videos, &cursor, err)) != VS_OK)
        return status;
    fputs("<table><tr><th>class</th><th>detections</th><th>tracks</th><th>frames</th>"
          "<th></th></tr>\n",
          p->out);
    while ((step = vs_store_next_class(cursor, &row, err)) == 1) {
        fputs("<tr><td>", p->out);
        if (row.label)
            put_text(p->out, row.label);
        else
            fprintf(p->out, "class %d", row.class_id);
        int width = (int)(200.0 * row.detections / (largest ? largest : 1) + 0.5);
        fprintf(p->out,
                "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                "<td><svg class=\"classbar\" width=\"202\" height=\"12\">"
                "<rect x=\"0\" y=\"1\" width=\"%d\" height=\"10\" fill=\"%s\" "
                "shape-rendering=\"crispEdges\"/></svg></td></tr>\n",
                (long long)row.detections, (long long)row.tracks, (long long)row.frames,
                width > 1 ? width : 1, palette[0]);
    }
    fputs("</table>\n<p class=\"note\">Tracks: distinct track ids (0 when the run did not track, "
          "<code>--track</code>).</p>\n",
          p->out);
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

/* Line crossings per zone, class and direction; `none` says what to do
 * when there are none (NULL: say nothing). */
static int put_crossings(page *p, const vs_store_filter *filter, const char *none, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_crossings(p->store, filter, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_crossing_row row;
    int step, rows = 0;
    while ((step = vs_store_next_crossing(cursor, &row, err)) == 1) {
        if (!rows++)
            fputs("<table class=\"crossings\"><tr><th>line</th><th>class</th><th>direction</th>"
                  "<th>crossings</th></tr>\n",
                  p->out);
        fputs("<tr><td>", p->out);
        put_text(p->out, row.zone);
        fputs("</td><td>", p->out);
        put_text(p->out, row.label ? row.label : "?");
        fputs("</td><td>", p->out);
        put_text(p->out, row.direction);
        fprintf(p->out, "</td><td class=\"n\">%lld</td></tr>\n", (long long)row.crossings);
    }
    vs_store_cursor_close(cursor);
    if (rows)
        fputs("</table>\n", p->out);
    else if (step == 0 && none)
        fprintf(p->out, "<p class=\"note\">%s</p>\n", none);
    return step < 0 ? step : VS_OK;
}

/* ---- the machine side ---- */

static void put_line_chart(FILE *out, const char *title, const double *t, const double *y,
                           int count, double y_max, const char *unit, const char *colour)
{
    double t_max = count ? t[count - 1] : 0;
    if (t_max <= 0)
        t_max = 1;
    if (y_max <= 0)
        y_max = 1;
    fprintf(out,
            "<figure><figcaption>%s</figcaption><svg class=\"plot\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\"><rect x=\"40\" y=\"4\" width=\"%d\" height=\"%d\" "
            "fill=\"#fafafa\" stroke=\"#999\"/>",
            title, PLOT_W, PLOT_H + 20, PLOT_W, PLOT_H + 20, PLOT_W - 44, PLOT_H - 8);
    fprintf(out, "<text x=\"2\" y=\"14\">%.0f%s</text><text x=\"2\" y=\"%d\">0</text>", y_max, unit,
            PLOT_H - 4);
    fprintf(out, "<text x=\"40\" y=\"%d\">0 s</text><text x=\"%d\" y=\"%d\">%.1f s</text>",
            PLOT_H + 12, PLOT_W - 60, PLOT_H + 12, t_max / 1000.0);
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
    for (int i = 0; i < count; i++)
        fprintf(out, "%.1f,%.1f ", 40 + (PLOT_W - 44) * t[i] / t_max,
                4 + (PLOT_H - 8) * (1 - y[i] / y_max));
    fputs("\"/></svg></figure>\n", out);
}

/* Samples thinned to at most this many points per chart: enough for 640 px. */
#define CHART_POINTS 600

static int write_machine(page *p, vs_error *err)
{
    FILE *out = p->out;
    fputs("<h2 id=\"machine\">Machine</h2>\n", out);
    if (p->run_id <= 0)
        return VS_OK;
    vs_store_cursor *cursor;
    int status = vs_store_read_stage_stats(p->store, p->run_id, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_stage_stat stats[16];
    /* The row's texts live until the next step: names and units are copied. */
    char names[16][32], units[16][16];
    int count = 0, step = 0, slowest = -1;
    double largest = 0;
    while (count < 16 && (step = vs_store_next_stage_stat(cursor, &stats[count], err)) == 1) {
        snprintf(names[count], sizeof names[count], "%s",
                 stats[count].stage ? stats[count].stage : "?");
        snprintf(units[count], sizeof units[count], "%s",
                 stats[count].unit ? stats[count].unit : "sample");
        double per_frame =
            stats[count].frames > 0 ? stats[count].total_ms / stats[count].frames : 0;
        if (per_frame > largest) {
            largest = per_frame;
            slowest = count;
        }
        count++;
    }
    vs_store_cursor_close(cursor);
    if (step < 0)
        return step;
    if (count == 0 || slowest < 0) {
        /* No stage recorded a frame's time (a run that analysed nothing):
         * there is no bottleneck to name. */
        fputs("<p class=\"note\">No stage statistics recorded for this run (it did not end, or "
              "analysed nothing).</p>\n",
              out);
    } else {
        fputs("<p>Time per frame in each stage; stages run at once, so the slowest bounds the "
              "throughput: <b>",
              out);
        put_text(out, names[slowest]);
        fputs("</b> is the bottleneck.</p>\n", out);
        fprintf(out, "<svg class=\"plot stages\" width=\"%d\" height=\"%d\">", PLOT_W,
                count * 22 + 4);
        for (int i = 0; i < count; i++) {
            double per_frame = stats[i].frames > 0 ? stats[i].total_ms / stats[i].frames : 0;
            int width = (int)((PLOT_W - 330) * per_frame / (largest > 0 ? largest : 1) + 0.5);
            fprintf(out, "<text x=\"2\" y=\"%d\">", i * 22 + 16);
            put_text(out, names[i]);
            fprintf(out,
                    "</text><rect x=\"100\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\" "
                    "shape-rendering=\"crispEdges\"/><text x=\"%d\" y=\"%d\">%.2f ms/frame, p95 "
                    "%.1f ms per %s</text>",
                    i * 22 + 4, width > 1 ? width : 1, i == slowest ? palette[3] : palette[0],
                    106 + width, i * 22 + 16, per_frame, stats[i].p95_ms, units[i]);
        }
        fputs("</svg>\n", out);
    }

    if ((status = vs_store_read_samples(p->store, p->run_id, &cursor, err)) != VS_OK)
        return status;
    /* Keep every k-th sample so a chart has at most CHART_POINTS points;
     * k is found by a first pass that only counts. */
    int total = 0;
    vs_store_sample sample;
    while ((step = vs_store_next_sample(cursor, &sample, err)) == 1)
        total++;
    vs_store_cursor_close(cursor);
    if (step < 0)
        return step;
    if (total == 0) {
        fputs("<p class=\"note\">No resource samples recorded.</p>\n", out);
        return VS_OK;
    }
    if ((status = vs_store_read_samples(p->store, p->run_id, &cursor, err)) != VS_OK)
        return status;
    int every = (total + CHART_POINTS - 1) / CHART_POINTS, n = 0, i = 0, gpu = 0;
    double t[CHART_POINTS + 1], rss[CHART_POINTS + 1], util[CHART_POINTS + 1];
    double rss_max = 0;
    while ((step = vs_store_next_sample(cursor, &sample, err)) == 1) {
        if (i++ % every || n > CHART_POINTS)
            continue;
        t[n] = sample.t_ms;
        rss[n] = sample.rss_bytes > 0 ? sample.rss_bytes / 1048576.0 : 0;
        util[n] = sample.gpu_util >= 0 ? sample.gpu_util : 0;
        gpu |= sample.gpu_util >= 0;
        rss_max = rss[n] > rss_max ? rss[n] : rss_max;
        n++;
    }
    vs_store_cursor_close(cursor);
    if (step < 0)
        return step;
    put_line_chart(out, "Resident memory (RSS) over the run", t, rss, n, rss_max * 1.1, " MiB",
                   palette[4]);
    if (gpu)
        put_line_chart(out, "GPU utilisation over the run", t, util, n, 100, "%", palette[2]);
    else
        fputs("<p class=\"note\">GPU utilisation: not monitored (no GPU, or inference on the "
              "CPU).</p>\n",
              out);
    return VS_OK;
}

/* ---- one video ---- */

typedef struct video_plots {
    int series_class[TIMELINE_SERIES]; /* class id of each series; -1 unused */
    const char *series_label[TIMELINE_SERIES];
    char labels[TIMELINE_SERIES][64];
    int series;
    int bin_count; /* TIMELINE_BINS, or fewer for a short video: no bin without a frame */
    int bins[TIMELINE_SERIES][TIMELINE_BINS]; /* most objects of the class in one frame */
    int heat_columns, heat_rows;
    int heat[HEATMAP_COLUMNS * HEATMAP_COLUMNS];
} video_plots;

/* The most frequent classes of the video, one series each. */
static int choose_series(page *p, const vs_store_video_row *v, video_plots *plots, vs_error *err)
{
    vs_store_filter filter = {.video_id = v->id};
    vs_store_cursor *cursor;
    int status = vs_store_read_classes(p->store, &filter, &cursor, err);
    if (status != VS_OK)
        return status;
    int64_t counts[TIMELINE_SERIES] = {0};
    vs_store_class_row row;
    int step;
    for (int s = 0; s < TIMELINE_SERIES; s++)
        plots->series_class[s] = -1;
    while ((step = vs_store_next_class(cursor, &row, err)) == 1) {
        int weakest = 0;
        for (int s = 1; s < TIMELINE_SERIES; s++)
            if (counts[s] < counts[weakest])
                weakest = s;
        if (row.detections <= counts[weakest])
            continue;
        counts[weakest] = row.detections;
        plots->series_class[weakest] = row.class_id;
        if (row.label)
            snprintf(plots->labels[weakest], sizeof plots->labels[weakest], "%s", row.label);
        else
            snprintf(plots->labels[weakest], sizeof plots->labels[weakest], "class %d",
                     row.class_id);
    }
    vs_store_cursor_close(cursor);
    plots->series = 0;
    for (int s = 0; s < TIMELINE_SERIES; s++)
        if (plots->series_class[s] >= 0) {
            plots->series_class[plots->series] = plots->series_class[s];
            memmove(plots->labels[plots->series], plots->labels[s], sizeof plots->labels[s]);
            plots->series++;
        }
    return step < 0 ? step : VS_OK;
}

static int fold_detections(page *p, const vs_store_video_row *v, double duration_ms,
                           video_plots *plots, vs_error *err)
{
    vs_store_filter filter = {.video_id = v->id};
    vs_store_cursor *cursor;
    int status = vs_store_read_detections(p->store, &filter, &cursor, err);
    if (status != VS_OK)
        return status;
    int frame_counts[TIMELINE_SERIES] = {0};
    int64_t frame = -1;
    int bin = 0, step;
    vs_store_detection_row d;
    double width = v->width > 0 ? v->width : 1, height = v->height > 0 ? v->height : 1;
    for (;;) {
        step = vs_store_next_detection(cursor, &d, err);
        /* A frame's objects are complete when the next frame starts. */
        if (frame >= 0 && (step != 1 || d.frame_index != frame)) {
            for (int s = 0; s < plots->series; s++) {
                if (frame_counts[s] > plots->bins[s][bin])
                    plots->bins[s][bin] = frame_counts[s];
                frame_counts[s] = 0;
            }
        }
        if (step != 1)
            break;
        frame = d.frame_index;
        bin = (int)(plots->bin_count * d.pts_ms / duration_ms);
        bin = bin < 0 ? 0 : bin >= plots->bin_count ? plots->bin_count - 1 : bin;
        for (int s = 0; s < plots->series; s++)
            if (plots->series_class[s] == d.class_id)
                frame_counts[s]++;
        /* Anchor: the middle of the box's bottom edge, where an object stands. */
        int column = (int)((d.x1 + d.x2) / 2 / width * plots->heat_columns);
        int row = (int)(d.y2 / height * plots->heat_rows);
        column = column < 0 ? 0 : column >= plots->heat_columns ? plots->heat_columns - 1 : column;
        row = row < 0 ? 0 : row >= plots->heat_rows ? plots->heat_rows - 1 : row;
        plots->heat[row * plots->heat_columns + column]++;
    }
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

static void put_timeline(FILE *out, const video_plots *plots, double duration_ms)
{
    int top = 1;
    for (int s = 0; s < plots->series; s++)
        for (int b = 0; b < plots->bin_count; b++)
            top = plots->bins[s][b] > top ? plots->bins[s][b] : top;
    double bin_w = (PLOT_W - 44) / (double)plots->bin_count;
    fprintf(out,
            "<figure><figcaption>Objects per frame over time (most in any frame of each of %d "
            "slices)</figcaption><svg class=\"plot timeline\" width=\"%d\" height=\"%d\">"
            "<rect x=\"40\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#999\"/>"
            "<text x=\"2\" y=\"14\">%d</text><text x=\"2\" y=\"%d\">0</text>"
            "<text x=\"40\" y=\"%d\">0 s</text><text x=\"%d\" y=\"%d\">%.1f s</text>",
            plots->bin_count, PLOT_W, PLOT_H + 20, PLOT_W - 44, PLOT_H - 8, top, PLOT_H - 4,
            PLOT_H + 12, PLOT_W - 60, PLOT_H + 12, duration_ms / 1000.0);
    for (int s = 0; s < plots->series; s++) {
        /* A step line: horizontal runs in the exact series colour. */
        fprintf(out,
                "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"3\" "
                "shape-rendering=\"crispEdges\" points=\"",
                palette[s]);
        for (int b = 0; b < plots->bin_count; b++) {
            double y = 4 + (PLOT_H - 8) * (1 - plots->bins[s][b] / (double)top);
            fprintf(out, "%.1f,%.1f %.1f,%.1f ", 40 + b * bin_w, y, 40 + (b + 1) * bin_w, y);
        }
        fputs("\"/>", out);
    }
    fputs("</svg><div class=\"legend\">", out);
    for (int s = 0; s < plots->series; s++) {
        fprintf(out, "<span style=\"background:%s\"></span>", palette[s]);
        put_text(out, plots->labels[s]);
    }
    fputs("</div></figure>\n", out);
}

static void put_heatmap(FILE *out, const video_plots *plots)
{
    int top = 0;
    for (int i = 0; i < plots->heat_columns * plots->heat_rows; i++)
        top = plots->heat[i] > top ? plots->heat[i] : top;
    int cell = 6;
    fprintf(out,
            "<figure><figcaption>Where objects were (bottom-centre of each box)</figcaption>"
            "<svg class=\"plot heatmap\" width=\"%d\" height=\"%d\">"
            "<rect width=\"%d\" height=\"%d\" fill=\"#333\"/>",
            plots->heat_columns * cell, plots->heat_rows * cell, plots->heat_columns * cell,
            plots->heat_rows * cell);
    for (int r = 0; r < plots->heat_rows; r++)
        for (int c = 0; c < plots->heat_columns; c++) {
            int value = plots->heat[r * plots->heat_columns + c];
            if (!value)
                continue;
            /* Square root: a few busy cells should not hide the rest. */
            int level = (int)(5 * sqrt((double)value / top));
            level = level > 4 ? 4 : level;
            fprintf(out,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                    "shape-rendering=\"crispEdges\"/>",
                    c * cell, r * cell, cell, cell, heat_ramp[level]);
        }
    fputs("</svg></figure>\n", out);
}

/* Finds the thumbnail (thumb: its path, "" when none) and, when links is
 * set, writes a link to each best crop. */
static int put_snapshot_links(page *p, const vs_store_video_row *v, int links, char *thumb,
                              size_t size, vs_error *err)
{
    vs_store_filter filter = {.video_id = v->id};
    vs_store_cursor *cursor;
    int status = vs_store_read_snapshots(p->store, &filter, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_snapshot_row s;
    int step, shown = 0;
    thumb[0] = 0;
    while ((step = vs_store_next_snapshot(cursor, &s, err)) == 1) {
        if (!s.path)
            continue;
        const char *base = strrchr(s.path, '/');
        char below_out[PATH_MAX + 64], link[PATH_MAX];
        snprintf(below_out, sizeof below_out, "snapshots/%s/%s",
                 v->output_name ? v->output_name : "", base ? base + 1 : s.path);
        int found = find_output(p, s.path, below_out, link, sizeof link);
        if (s.kind && !strcmp(s.kind, "thumb")) {
            if (found) {
                char absolute[PATH_MAX * 2];
                snprintf(absolute, sizeof absolute, "%s/%s", p->page_dir, link);
                snprintf(thumb, size, "%s", absolute);
            }
            continue;
        }
        if (!links)
            continue;
        fputs(shown++ ? ", " : "<p>Best crops: ", p->out);
        if (found) {
            fputs("<a href=\"", p->out);
            put_url_path(p->out, link);
            fputs("\">", p->out);
        }
        put_text(p->out, s.label ? s.label : "?");
        fprintf(p->out, " %.2f%s", s.score, found ? "</a>" : " (file missing)");
    }
    if (shown)
        fputs("</p>\n", p->out);
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

static int write_video(page *p, const vs_store_video_row *v, video_plots *plots, vs_error *err)
{
    FILE *out = p->out;
    fprintf(out, "<section class=\"video\" id=\"video-%lld\"><h3>", (long long)v->id);
    put_text(out, v->path);
    fputs("</h3>\n<div class=\"row\">", out);

    /* Thumbnail: the snapshot JPEG, embedded so the page needs no other file. */
    char thumb[PATH_MAX * 2];
    int status = put_snapshot_links(p, v, 0, thumb, sizeof thumb, err);
    if (status != VS_OK)
        return status;
    struct stat info;
    if (thumb[0] && stat(thumb, &info) == 0 && info.st_size <= THUMB_MAX_BYTES) {
        fputs("<img class=\"thumb\" alt=\"thumbnail\" src=\"data:image/jpeg;base64,", out);
        put_base64_file(out, thumb);
        fputs("\">\n", out);
    } else {
        fputs("<div class=\"nothumb\">no thumbnail (run with --snapshots)</div>\n", out);
    }
    fputs("<div>", out);
    char facts_duration[64];
    format_duration(v->duration_s, facts_duration, sizeof facts_duration);
    fputs("<table>", out);
    fprintf(out, "<tr><th>status</th><td%s>",
            v->status && !strcmp(v->status, "done") ? "" : " class=\"failed\"");
    put_text(out, v->status);
    if (v->error) {
        fputs(": ", out);
        put_text(out, v->error);
    }
    fprintf(out, "</td></tr><tr><th>duration</th><td>%s</td></tr>", facts_duration);
    if (v->frames >= 0)
        fprintf(out, "<tr><th>frames</th><td>%lld decoded, %lld analysed</td></tr>",
                (long long)v->frames, (long long)v->frames_analysed);
    fprintf(out, "<tr><th>picture</th><td>%dx%d", v->width, v->height);
    if (v->fps > 0)
        fprintf(out, ", %.2f fps", v->fps);
    if (v->rotation)
        fprintf(out, ", rotated %d&deg;", v->rotation);
    fputs(", ", out);
    put_text(out, v->codec);
    fprintf(out, "</td></tr><tr><th>detections</th><td>%lld</td></tr></table>\n",
            (long long)v->detections);

    char link[PATH_MAX];
    if (v->annotated_path || v->output_name) {
        char below_out[PATH_MAX + 64];
        size_t length = v->output_name ? strlen(v->output_name) : 0;
        int has_mp4 = length > 4 && !strcasecmp(v->output_name + length - 4, ".mp4");
        snprintf(below_out, sizeof below_out, "annotated/%s%s",
                 v->output_name ? v->output_name : "", has_mp4 ? "" : ".mp4");
        if (find_output(p, v->annotated_path, v->output_name ? below_out : NULL, link,
                        sizeof link)) {
            fputs("<p><a href=\"", out);
            put_url_path(out, link);
            fputs("\">annotated video</a></p>\n", out);
        }
    }
    status = put_snapshot_links(p, v, 1, thumb, sizeof thumb, err);
    if (status != VS_OK)
        return status;
    /* Per class: detections and tracks. */
    vs_store_filter filter = {.video_id = v->id};
    vs_store_cursor *cursor;
    if ((status = vs_store_read_classes(p->store, &filter, &cursor, err)) != VS_OK)
        return status;
    vs_store_class_row row;
    int step, rows = 0;
    while ((step = vs_store_next_class(cursor, &row, err)) == 1) {
        if (!rows++)
            fputs("<table><tr><th>class</th><th>detections</th><th>tracks</th></tr>", out);
        fputs("<tr><td>", out);
        if (row.label)
            put_text(out, row.label);
        else
            fprintf(out, "class %d", row.class_id);
        fprintf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>",
                (long long)row.detections, (long long)row.tracks);
    }
    vs_store_cursor_close(cursor);
    if (step < 0)
        return step;
    if (rows)
        fputs("</table>\n", out);
    if ((status = put_crossings(p, &filter, NULL, err)) != VS_OK)
        return status;
    fputs("</div></div>\n", out);

    if (v->detections > 0) {
        memset(plots, 0, sizeof *plots);
        plots->heat_columns = HEATMAP_COLUMNS;
        /* One bin per analysed frame at most: an empty bin would read as "no objects". */
        int64_t analysed = v->frames_analysed > 0 ? v->frames_analysed : 1;
        plots->bin_count = analysed < TIMELINE_BINS ? (int)analysed : TIMELINE_BINS;
        int heat_rows = v->width > 0 ? (int)(HEATMAP_COLUMNS * (double)v->height / v->width + 0.5)
                                     : HEATMAP_COLUMNS / 2;
        plots->heat_rows = heat_rows < 1                 ? 1
                           : heat_rows > HEATMAP_COLUMNS ? HEATMAP_COLUMNS
                                                         : heat_rows;
        double duration_ms = v->duration_s > 0 ? v->duration_s * 1000 : 1;
        if ((status = choose_series(p, v, plots, err)) != VS_OK)
            return status;
        if ((status = fold_detections(p, v, duration_ms, plots, err)) != VS_OK)
            return status;
        fputs("<div class=\"row\">", out);
        put_timeline(out, plots, duration_ms);
        put_heatmap(out, plots);
        fputs("</div>\n", out);
    }
    fputs("</section>\n", out);
    return VS_OK;
}

static void put_video_row(FILE *out, const vs_store_video_row *v)
{
    fputs("<tr><td>", out);
    put_text(out, v->path);
    fputs("</td><td>", out);
    put_text(out, v->status);
    fprintf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
            (long long)(v->frames > 0 ? v->frames : 0), (long long)v->detections);
    put_text(out, v->error);
    fputs("</td></tr>\n", out);
}

static int write_videos(page *p, vs_error *err)
{
    FILE *out = p->out;
    vs_store_cursor *cursor;
    int status = vs_store_read_videos(p->store, &p->videos, &cursor, err);
    if (status != VS_OK)
        return status;
    video_plots *plots = malloc(sizeof *plots);
    if (!plots) {
        vs_store_cursor_close(cursor);
        return vs_fail(err, VS_ENOMEM, "%s: out of memory", VS_NAME(p->db_path));
    }
    fputs("<h2 id=\"videos\">Videos</h2>\n", out);
    fprintf(out,
            "<p class=\"note\">The first %d videos are shown in full, the next %d as rows of a "
            "table; the rest are only counted (use <code>vidsift export</code> or SQL for "
            "them).</p>\n",
            VS_HTML_FULL_VIDEOS, VS_HTML_TABLE_VIDEOS - VS_HTML_FULL_VIDEOS);
    vs_store_video_row v;
    int step, index = 0;
    while ((step = vs_store_next_video(cursor, &v, err)) == 1) {
        if (index < VS_HTML_FULL_VIDEOS) {
            if ((status = write_video(p, &v, plots, err)) != VS_OK)
                break;
        } else if (index < VS_HTML_TABLE_VIDEOS) {
            if (index == VS_HTML_FULL_VIDEOS)
                fputs("<table class=\"more\"><tr><th>video</th><th>status</th><th>frames</th>"
                      "<th>detections</th><th>error</th></tr>\n",
                      out);
            put_video_row(out, &v);
        }
        index++;
    }
    if (index > VS_HTML_FULL_VIDEOS)
        fputs("</table>\n", out);
    if (index > VS_HTML_TABLE_VIDEOS)
        fprintf(out, "<p>... and %d more videos.</p>\n", index - VS_HTML_TABLE_VIDEOS);
    if (index == 0)
        fputs("<p class=\"note\">No videos.</p>\n", out);
    free(plots);
    vs_store_cursor_close(cursor);
    return status != VS_OK ? status : step < 0 ? step : VS_OK;
}

static int newest_run(vs_store *store, int64_t *run_id, vs_error *err)
{
    vs_store_cursor *cursor;
    int status = vs_store_read_runs(store, NULL, &cursor, err);
    if (status != VS_OK)
        return status;
    vs_store_run_row run;
    int step = vs_store_next_run(cursor, &run, err);
    *run_id = step == 1 ? run.id : 0;
    vs_store_cursor_close(cursor);
    return step < 0 ? step : VS_OK;
}

static void directory_of(const char *path, char *out, size_t size)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    char *slash = strrchr(copy, '/');
    if (slash == copy)
        copy[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(copy, sizeof copy, ".");
    if (!realpath(copy, out))
        snprintf(out, size, "%s", copy);
}

int vs_report_html_write(vs_store *store, const char *db_path, int64_t run_id,
                         const char *html_path, vs_error *err)
{
    page p = {.store = store, .db_path = db_path, .run_id = run_id};
    p.videos.run_id = run_id;
    directory_of(html_path, p.page_dir, sizeof p.page_dir);
    directory_of(db_path, p.db_dir, sizeof p.db_dir);
    int status = run_id > 0 ? VS_OK : newest_run(store, &p.run_id, err);
    if (status != VS_OK)
        return status;

    char part[PATH_MAX + 8];
    snprintf(part, sizeof part, "%s.part", html_path);
    p.out = fopen(part, "w");
    if (!p.out)
        return vs_fail(err, VS_EIO, "%s: cannot write the HTML report: %s", VS_NAME(part),
                       strerror(errno));
    char now[32];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    fprintf(p.out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            "<title>vidsift report</title><style>%s</style></head><body>\n"
            "<h1>vidsift report</h1>\n<p class=\"note\">Database ",
            css);
    put_text(p.out, db_path);
    fprintf(p.out, ", %s; written %s.</p>\n",
            run_id > 0 ? "the videos of one run" : "every video it holds", now);
    status = write_run(&p, err);
    if (status == VS_OK)
        status = write_failures(&p, err);
    if (status == VS_OK)
        status = write_classes(&p, err);
    if (status == VS_OK) {
        fputs("<h2 id=\"crossings\">Line crossings</h2>\n", p.out);
        status = put_crossings(&p, &p.videos,
                               "None recorded: <code>--track</code> with <code>--zones "
                               "FILE</code> counts the tracks that cross its lines.",
                               err);
    }
    if (status == VS_OK)
        status = write_machine(&p, err);
    if (status == VS_OK)
        status = write_videos(&p, err);
    fputs("</body></html>\n", p.out);
    int write_errno = 0;
    if (ferror(p.out))
        write_errno = errno ? errno : EIO;
    if (fclose(p.out) != 0 && !write_errno)
        write_errno = errno;
    if (status == VS_OK && write_errno)
        status = vs_fail(err, VS_EIO, "%s: cannot write the HTML report: %s", VS_NAME(part),
                         strerror(write_errno));
    if (status == VS_OK && rename(part, html_path) != 0)
        status = vs_fail(err, VS_EIO, "%s: cannot write the HTML report: %s", VS_NAME(html_path),
                         strerror(errno));
    if (status != VS_OK)
        unlink(part);
    return status;
}
