/* outputs.c: the three outputs of `vidsift run` behind output.h - the
 * store, the annotated video and the snapshots. Each is a thin adapter over
 * its module (store.h, annotate.h, snapshot.h); what they share about a
 * video travels in vs_output_video, never by one calling another. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "annotate.h"
#include "encoders.h"
#include "output.h"
#include "snapshot.h"
#include "store.h"

/* ---- the store: the record of what was done ---- */

typedef struct store_output {
    vs_store *store;
    int64_t run_id;
    const char *const *labels;
} store_output;

static int store_open_video(void *output, vs_output_video *v, void **state, vs_error *err)
{
    store_output *o = output;
    /* Settles v->video->output_name, which the other outputs open with. */
    int status = vs_store_begin_video(o->store, o->run_id, v->video, &v->video_id, err);
    *state = status == VS_OK ? o : NULL; /* non-NULL: the row is begun */
    return status;
}

static int store_add_frame(void *output, void *state, vs_output_video *v, vs_frame *frame,
                           vs_error *err)
{
    store_output *o = output;
    (void)state;
    if (!frame->analysed && !frame->carried)
        return VS_OK; /* kept only for the annotator to draw: no rows */
    return vs_store_add_frame(o->store, v->video_id, frame, o->labels, err);
}

static int store_end_video(void *output, void *state, vs_output_video *v, const vs_frame *marker,
                           int keep, vs_error *err)
{
    store_output *o = output;
    if (!keep)
        return VS_OK; /* the store itself failed: nothing more can be recorded */
    int status = VS_OK;
    /* The tracker's last events (visits it closed, speeds) ride on the marker. */
    if (state && marker->event_count > 0)
        status = vs_store_add_frame(o->store, v->video_id, marker, o->labels, err);
    /* A video that never opened has no START marker: its row still records why. */
    if (status == VS_OK && !state)
        status = vs_store_begin_video(o->store, o->run_id, v->video, &v->video_id, err);
    if (status == VS_OK && v->annotated_path[0])
        status = vs_store_set_annotated(o->store, v->video_id, v->annotated_path, err);
    if (status == VS_OK)
        status = vs_store_end_video(o->store, v->video_id, v->video, err);
    return status;
}

static const vs_output_ops store_ops = {
    .name = "store",
    .fails_run = 1,
    .open_video = store_open_video,
    .add_frame = store_add_frame,
    .end_video = store_end_video,
    .close = free,
};

int vs_output_store(vs_output *out, vs_store *store, int64_t run_id, const char *const *labels,
                    vs_error *err)
{
    store_output *o = calloc(1, sizeof *o);
    if (!o)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    *o = (store_output){.store = store, .run_id = run_id, .labels = labels};
    *out = (vs_output){.ops = &store_ops, .self = o};
    return VS_OK;
}

/* ---- the annotated video ----
 *
 * Opened and ended here, in the sink's thread; drawn and encoded by the
 * encoder workers (encoders.h), each video by one of them, in order. Its
 * state is the video's vs_encoder_video, which holds the annotator. */

typedef struct annotate_output {
    const char *out_dir;
    const char *const *labels;
    const vs_zones_config *zones;
    vs_store *store;  /* NULL: no database, nothing to record */
    int lean_encoder; /* vs_annotate_set_lean */
    vs_encoders *encoders;
} annotate_output;

/* Mirrors the input tree; ".mp4" is appended unless already there, so a.mkv
 * and a.mp4 side by side never collide. */
static void annotated_path(const annotate_output *o, const vs_video *video, char *path, size_t size)
{
    size_t length = strlen(video->output_name);
    int has_mp4 = length > 4 && !strcasecmp(video->output_name + length - 4, ".mp4");
    snprintf(path, size, "%s/annotated/%s%s", o->out_dir, video->output_name,
             has_mp4 ? "" : ".mp4");
}

static int annotate_open_video(void *output, vs_output_video *v, void **state, vs_error *err)
{
    annotate_output *o = output;
    char path[sizeof v->annotated_path];
    annotated_path(o, v->video, path, sizeof path);
    vs_annotate *annotate = NULL;
    vs_encoder_video *encoder = NULL;
    int status = vs_annotate_open(&annotate, v->video, path, err);
    if (status == VS_OK) {
        vs_annotate_set_lean(annotate, o->lean_encoder);
        vs_annotate_set_zones(annotate, o->zones);
        status = vs_encoders_open(o->encoders, annotate, &encoder, err);
    }
    if (status != VS_OK) {
        vs_error ignored;
        vs_annotate_close(annotate, 0, &ignored); /* NULL is ignored */
    }
    *state = encoder;
    return status;
}

static int annotate_add_frame(void *output, void *state, vs_output_video *v, vs_frame *frame,
                              vs_error *err)
{
    annotate_output *o = output;
    (void)v;
    if (frame->kind != VS_FRAME_PICTURE)
        return VS_OK;
    /* The worker holds the slot until it is encoded. */
    return vs_encoders_add(o->encoders, state, frame, err);
}

static int annotate_end_video(void *output, void *state, vs_output_video *v, const vs_frame *marker,
                              int keep, vs_error *err)
{
    annotate_output *o = output;
    vs_video *video = v->video;
    (void)marker;
    if (!state)
        return VS_OK;
    /* The video's last frames are drawn and encoded before it ends. */
    vs_annotate *annotate = NULL;
    vs_error failure = {{0}};
    int encoded = vs_encoders_finish(o->encoders, state, &annotate, &failure);
    if (!keep || encoded != VS_OK) {
        vs_error ignored;
        vs_annotate_close(annotate, 0, &ignored); /* the .part file goes */
        if (keep)
            *err = failure; /* the worker failed: the video fails, as the sink's own did */
        return keep ? encoded : VS_OK;
    }
    /* An annotated copy the encoder cannot take is a warning, not a failure. */
    int skipped = vs_annotate_skipped(annotate);
    const char *note = vs_annotate_note(annotate);
    size_t used = strlen(video->warning); /* the tracker may have said something */
    if (note)
        snprintf(video->warning + used, sizeof video->warning - used, "%s%s", used ? "; " : "",
                 note);
    /* A failed video keeps what was drawn up to its failure; an interrupted
     * one leaves no file (a rerun redoes it). */
    int finalize = video->status == VS_VIDEO_DONE || video->status == VS_VIDEO_FAILED;
    int status = vs_annotate_close(annotate, finalize, err);
    if (status == VS_OK && finalize && o->store && !skipped)
        annotated_path(o, video, v->annotated_path, sizeof v->annotated_path);
    return status;
}

static void annotate_close(void *output)
{
    annotate_output *o = output;
    if (o)
        vs_encoders_stop(o->encoders);
    free(o);
}

static const vs_output_ops annotate_ops = {
    .name = "annotated video",
    .open_video = annotate_open_video,
    .add_frame = annotate_add_frame,
    .end_video = annotate_end_video,
    .close = annotate_close,
};

int vs_output_annotate(vs_output *out, const char *out_dir, const char *const *labels,
                       const vs_zones_config *zones, vs_store *store, int lean_encoder,
                       struct vs_pool *frames, int encode_threads, vs_error *err)
{
    annotate_output *o = calloc(1, sizeof *o);
    if (!o)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    *o = (annotate_output){.out_dir = out_dir,
                           .labels = labels,
                           .zones = zones,
                           .store = store,
                           .lean_encoder = lean_encoder};
    int status = vs_encoders_start(&o->encoders, encode_threads, frames, labels, err);
    if (status != VS_OK) {
        free(o);
        return status;
    }
    *out = (vs_output){.ops = &annotate_ops, .self = o};
    return VS_OK;
}

int64_t vs_output_annotate_frames(const vs_output *out, int worker)
{
    assert(out->ops == &annotate_ops);
    const annotate_output *o = out->self;
    return worker < vs_encoders_count(o->encoders) ? vs_encoders_frames(o->encoders, worker) : -1;
}

/* ---- the snapshots ---- */

typedef struct snapshot_output {
    const char *out_dir;
    const char *const *labels;
    vs_store *store; /* NULL: no database, the files only */
} snapshot_output;

static int snapshot_open_video(void *output, vs_output_video *v, void **state, vs_error *err)
{
    snapshot_output *o = output;
    char dir[8400];
    snprintf(dir, sizeof dir, "%s/snapshots/%s", o->out_dir, v->video->output_name);
    vs_snapshot *snapshot = NULL;
    int status = vs_snapshot_open(&snapshot, v->video, dir, err);
    *state = snapshot;
    return status;
}

static int snapshot_add_frame(void *output, void *state, vs_output_video *v, vs_frame *frame,
                              vs_error *err)
{
    snapshot_output *o = output;
    (void)v;
    if (!frame->analysed)
        return VS_OK; /* crops come from boxes the model found on this very picture */
    return vs_snapshot_frame(state, frame, o->labels, err);
}

static int snapshot_end_video(void *output, void *state, vs_output_video *v, const vs_frame *marker,
                              int keep, vs_error *err)
{
    snapshot_output *o = output;
    (void)marker;
    if (!keep) {
        vs_error ignored;
        vs_snapshot_close(state, NULL, 0, &ignored);
        return VS_OK;
    }
    /* Rows go into the store now, before the store ends the video (it ends
     * last): a video marked 'done' has all of its rows. */
    return vs_snapshot_close(state, o->store, v->video_id, err);
}

static const vs_output_ops snapshot_ops = {
    .name = "snapshots",
    .open_video = snapshot_open_video,
    .add_frame = snapshot_add_frame,
    .end_video = snapshot_end_video,
    .close = free,
};

int vs_output_snapshots(vs_output *out, const char *out_dir, const char *const *labels,
                        vs_store *store, vs_error *err)
{
    snapshot_output *o = calloc(1, sizeof *o);
    if (!o)
        return vs_fail(err, VS_ENOMEM, "out of memory");
    *o = (snapshot_output){.out_dir = out_dir, .labels = labels, .store = store};
    *out = (vs_output){.ops = &snapshot_ops, .self = o};
    return VS_OK;
}
