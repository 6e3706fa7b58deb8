/* track_stage.c: the track stage, between postprocess and the sinks.
 *
 * For each analysed frame it runs the video's tracker (core/track.c) on the
 * frame's boxes, writes each box's track id, drops the low-score boxes no
 * track claimed (postprocess let them through only for the tracker's second
 * pass), and feeds the tracked boxes to the video's zones (core/zones.c),
 * whose crossings and visits ride on the frame as events for the sinks.
 * Frames that were not analysed get the last analysed frame's tracked boxes.
 *
 * State is per video: a tracker, zones state and the last boxes, taken from
 * a small set of slots at the video's START marker and given back at its
 * END. The set grows only to the number of videos in flight at once (the
 * decoders' videos, and those whose frames are still queued), never with
 * the number of videos in the run, and is allocated at a START, never per
 * frame. Videos that share a batch never share a tracker: ids start at 1
 * in each. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#include "stages.h"
#include "track.h"
#include "zones.h"

#define PENDING_EVENTS 1024 /* events waiting for a frame with room, per video */

struct vs_track_video {
    int video_index; /* -1: a free slot */
    vs_tracker *tracker;
    vs_zones_state *zones;
    int zones_ready;
    int last_count; /* the last analysed frame's tracked boxes, for frames not analysed */
    vs_detection last[VS_MAX_DETECTIONS];
    int track_ids[VS_MAX_DETECTIONS];
    vs_zone_event pending[PENDING_EVENTS]; /* a ring */
    int pending_head, pending_count;
    int64_t events_dropped;
    int64_t analysed;
    double previous_s, widest_gap_s;
    vs_zone_event scratch[VS_FRAME_EVENTS];
};

static void queue_event(vs_track_video *v, const vs_zone_event *event)
{
    if (v->pending_count == PENDING_EVENTS) {
        v->events_dropped++;
        return;
    }
    v->pending[(v->pending_head + v->pending_count) % PENDING_EVENTS] = *event;
    v->pending_count++;
}

/* Moves waiting events onto the frame, as many as it has room for. */
static void attach_events(vs_track_video *v, vs_frame *frame)
{
    frame->event_count = 0;
    while (v->pending_count > 0 && frame->event_count < VS_FRAME_EVENTS) {
        frame->events[frame->event_count++] = v->pending[v->pending_head];
        v->pending_head = (v->pending_head + 1) % PENDING_EVENTS;
        v->pending_count--;
    }
}

static vs_track_video *slot_of(vs_track_stage *stage, int video_index)
{
    for (int i = 0; i < stage->video_slots; i++)
        if (stage->videos[i]->video_index == video_index)
            return stage->videos[i];
    return NULL;
}

/* A free slot for a starting video, made when every slot is taken. NULL:
 * out of memory (the video is then passed on untracked, with a warning). */
static vs_track_video *take_slot(vs_track_stage *stage, int video_index)
{
    vs_track_video *v = slot_of(stage, -1);
    if (!v) {
        vs_track_video **grown =
            realloc(stage->videos, (size_t)(stage->video_slots + 1) * sizeof *grown);
        if (!grown)
            return NULL;
        stage->videos = grown;
        v = calloc(1, sizeof *v);
        vs_error err = {{0}};
        if (!v ||
            vs_tracker_create(&stage->params, stage->track_capacity, VS_MAX_DETECTIONS, &v->tracker,
                              &err) != VS_OK ||
            (stage->zones && vs_zones_state_create(stage->zones, stage->track_capacity,
                                                   stage->class_count, &v->zones, &err) != VS_OK)) {
            if (v)
                vs_tracker_destroy(v->tracker);
            free(v);
            return NULL;
        }
        stage->videos[stage->video_slots++] = v;
    }
    vs_tracker_reset(v->tracker);
    v->video_index = video_index;
    v->zones_ready = 0;
    v->last_count = 0;
    v->pending_head = v->pending_count = 0;
    v->events_dropped = 0;
    v->analysed = 0;
    v->previous_s = v->widest_gap_s = 0;
    return v;
}

static void add_warning(vs_video *video, const char *text)
{
    size_t used = strlen(video->warning);
    snprintf(video->warning + used, sizeof video->warning - used, "%s%s", used ? "; " : "", text);
}

/* Tracks that ended: their open visits close, and with a calibration their
 * mean speed goes to the store. */
static void tracks_ended(vs_track_stage *stage, vs_track_video *v)
{
    const vs_track_summary *ended;
    int count = vs_tracker_ended(v->tracker, &ended);
    for (int i = 0; i < count; i++) {
        double speed = NAN;
        if (v->zones) {
            int n =
                vs_zones_track_ended(v->zones, ended[i].id, &speed, v->scratch, VS_FRAME_EVENTS);
            for (int k = 0; k < n; k++)
                queue_event(v, &v->scratch[k]);
        }
        if (stage->zones && stage->zones->calibrated && !isnan(speed)) {
            vs_zone_event event = {.kind = VS_TRACK_ENDED,
                                   .zone = -1,
                                   .track_id = ended[i].id,
                                   .class_id = ended[i].class_id,
                                   .frame = ended[i].last_frame,
                                   .time_s = ended[i].last_s,
                                   .enter_frame = ended[i].first_frame,
                                   .enter_s = ended[i].first_s,
                                   .speed_kmh = speed};
            queue_event(v, &event);
        }
    }
}

static void track_frame(vs_track_stage *stage, vs_track_video *v, vs_frame *frame)
{
    double time_s = frame->pts_ms / 1000.0;
    if (v->zones && !v->zones_ready) {
        vs_error err = {{0}};
        if (vs_zones_state_reset(v->zones, frame->picture->width, frame->picture->height, &err) !=
            VS_OK) {
            char line[sizeof err.msg + 32];
            snprintf(line, sizeof line, "zones not counted: %s", err.msg);
            add_warning(frame->video, line);
            vs_zones_state_destroy(v->zones); /* this video only: the slot gets new ones */
            v->zones = NULL;
        }
        v->zones_ready = 1;
    }
    if (v->analysed > 0 && time_s - v->previous_s > v->widest_gap_s)
        v->widest_gap_s = time_s - v->previous_s;
    v->previous_s = time_s;
    v->analysed++;

    vs_tracker_update(v->tracker, frame->detections, frame->detection_count, frame->index, time_s,
                      v->track_ids);
    tracks_ended(stage, v);
    /* Keep the high boxes and the low ones a track claimed, with their ids. */
    int kept = 0;
    for (int i = 0; i < frame->detection_count; i++) {
        if (v->track_ids[i] < 0)
            continue;
        frame->detections[kept] = frame->detections[i];
        frame->detections[kept].track_id = v->track_ids[i];
        v->track_ids[kept] = v->track_ids[i];
        kept++;
    }
    frame->detection_count = kept;
    if (v->zones) {
        int n = vs_zones_update(v->zones, frame->detections, v->track_ids, kept, frame->index,
                                time_s, v->scratch, VS_FRAME_EVENTS);
        for (int k = 0; k < n; k++)
            queue_event(v, &v->scratch[k]);
    }
    v->last_count = kept;
    memcpy(v->last, frame->detections, (size_t)kept * sizeof *v->last);
}

static void end_video(vs_track_stage *stage, vs_track_video *v, vs_frame *end)
{
    vs_tracker_finish(v->tracker);
    tracks_ended(stage, v);
    attach_events(v, end);
    char line[256];
    if (v->pending_count > 0 || v->events_dropped > 0) {
        snprintf(line, sizeof line, "%lld tracking events not stored (too many at once)",
                 (long long)(v->pending_count + v->events_dropped));
        add_warning(end->video, line);
    }
    if (v->analysed > 1 && v->widest_gap_s > 1.0 / VS_TRACK_MIN_FPS) {
        snprintf(line, sizeof line,
                 "tracking: analysed frames up to %.2f s apart, more than the %.2f s tracks can "
                 "bridge reliably (use a smaller --every or a higher --sample-fps)",
                 v->widest_gap_s, 1.0 / VS_TRACK_MIN_FPS);
        add_warning(end->video, line);
    }
    if (v->zones == NULL && stage->zones) /* it was dropped for this video: make it anew */
        vs_zones_state_create(stage->zones, stage->track_capacity, stage->class_count, &v->zones,
                              NULL);
    v->video_index = -1;
}

void *vs_track_thread(void *arg)
{
    vs_track_stage *stage = arg;
    void *item;
    while (vs_queue_pop(stage->in, &item) == VS_OK) {
        vs_batch *batch = item;
        for (int i = 0; i < batch->entry_count; i++) {
            vs_frame *frame = batch->entries[i];
            frame->event_count = 0; /* the slot may carry a former frame's */
            /* Ids are this stage's to write: a box from the detector (or left
             * in the slot by a former frame) carries none. */
            for (int d = 0; d < frame->detection_count; d++)
                frame->detections[d].track_id = 0;
            if (!stage->enabled)
                continue;
            if (frame->kind == VS_FRAME_VIDEO_START) {
                assert(!slot_of(stage, frame->video->index));
                if (!take_slot(stage, frame->video->index))
                    add_warning(frame->video, "not tracked: out of memory for its tracker");
                continue;
            }
            vs_track_video *v = slot_of(stage, frame->video->index);
            if (!v)
                continue;
            if (frame->kind == VS_FRAME_VIDEO_END) {
                end_video(stage, v, frame);
                continue;
            }
            if (frame->analysed) {
                double started = vs_now_ms();
                if (!batch->failed)
                    track_frame(stage, v, frame);
                vs_stats_add(&stage->stats, vs_now_ms() - started, 1);
                attach_events(v, frame); /* analysed frames are the ones the store records */
            } else {
                frame->detection_count = v->last_count;
                memcpy(frame->detections, v->last, (size_t)v->last_count * sizeof *v->last);
            }
        }
        if (vs_queue_push(stage->out, batch) != VS_OK)
            return NULL;
    }
    return NULL; /* the stage table closes stage->out (core/graph.c) */
}

void vs_track_stage_free(vs_track_stage *stage)
{
    for (int i = 0; i < stage->video_slots; i++) {
        vs_tracker_destroy(stage->videos[i]->tracker);
        vs_zones_state_destroy(stage->videos[i]->zones);
        free(stage->videos[i]);
    }
    free(stage->videos);
    stage->videos = NULL;
    stage->video_slots = 0;
}
