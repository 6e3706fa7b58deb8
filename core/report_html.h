/* report_html.h: OUT/report.html, the results of a database as one page.
 *
 * The page is self-contained: inline CSS and SVG, thumbnails as data: URIs,
 * no script, no font, nothing fetched; only links (the annotated videos,
 * the snapshot JPEGs) point to files, relative to the page. It reads the
 * database through the store's cursors only, so the same page comes from
 * `vidsift run` at its end and from `vidsift report` on any database. */
#ifndef VS_REPORT_HTML_H
#define VS_REPORT_HTML_H

#include <stdint.h>

#include "store.h"
#include "vs_error.h"

/* Videos drawn in full (thumbnail, timeline, heatmap, links); the next ones
 * are rows of a table, and past VS_HTML_TABLE_VIDEOS they are only counted:
 * with thousands of videos the page stays a few MiB and opens at once. */
#define VS_HTML_FULL_VIDEOS 100
#define VS_HTML_TABLE_VIDEOS 2000

/* Writes the page for run_id (> 0: that run and the videos it analysed; 0:
 * every video of the database, the newest run for the run and machine
 * sections) to html_path, through html_path.part renamed when complete.
 * db_path is the database's file, shown on the page and used to find
 * outputs whose recorded relative paths no longer resolve.
 * Errors: VS_EIO (the page cannot be written, the database cannot be read),
 * VS_EINVAL (no such run), VS_ENOMEM. */
int vs_report_html_write(vs_store *store, const char *db_path, int64_t run_id,
                         const char *html_path, vs_error *err);

#endif
