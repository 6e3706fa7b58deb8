/* frame.h: what travels through the pipeline.
 *
 * A vs_video describes one input file. It is not read-only: each group of
 * fields has one writer at a time, handed on in the pipeline's order, and a
 * queue between two stages orders one's writes before the other's reads:
 *
 *   before the run      the scan and the pipeline: identity, output_name's
 *                       first guess, fingerprint, redo_reason, SKIPPED/FAILED
 *   decoder             the stream's description when it opens, frame counts,
 *                       and status and error up to the END marker it sends
 *   track stage         warning, while the video passes it
 *   sink (outputs)      output_name (the store settles it at START), and at
 *                       the END marker: status and error (an output failed),
 *                       warning; frames_finished and sink_ended throughout
 *   after the run       the pipeline: status and error of videos never begun
 *
 * Read meanwhile by the progress display: fields written while it runs are
 * stored atomically (status, frames_*, sink_ended).
 *
 * A vs_frame is a pool slot: it carries
 * one decoded picture (an AVFrame reference: FFmpeg's own buffer pool
 * recycles the pixels), its place in the video, and - after postprocess -
 * its detections. Start and end of each video travel as frames of their own
 * kind through the same queues, so every stage sees them in order. */
#ifndef VS_FRAME_H
#define VS_FRAME_H

#include <stdint.h>

#include "detect.h"
#include "vs_error.h"
#include "zones.h"

struct AVFrame;

typedef enum vs_video_status {
    VS_VIDEO_PENDING = 0,
    VS_VIDEO_DONE,    /* every frame decoded and analysed */
    VS_VIDEO_FAILED,  /* error text says why; rows written before the error are kept */
    VS_VIDEO_SKIPPED, /* already complete in the store (resume) */
    VS_VIDEO_INTERRUPTED,
} vs_video_status;

typedef struct vs_video {
    int index;                /* position in the run's stable input order */
    char path[4096];          /* as given / found */
    char relative_path[4096]; /* path below the input root it was found under */
    /* The file's canonical absolute path (symlinks and ./ resolved): with the
     * content fingerprint, the video's identity in the store and in a run. */
    char canonical_path[4096];
    /* Where its outputs go, relative to OUT/annotated/ and OUT/snapshots/: a
     * readable mirror of the input (root name included), unique among the
     * videos of one database (the store settles clashes when it records it). */
    char output_name[4096];
    int64_t size_bytes, mtime_s;
    char fingerprint[33]; /* hex digest of size + first and last 64 KiB */
    /* Why the store's earlier record of this video is not reused ("options
     * changed (conf 0.3 -> 0.6)"); empty for a new video. Set before the run. */
    char redo_reason[512];
    char container[32], codec[32];
    int width, height; /* coded size of the first frame */
    int rotation;      /* display rotation in degrees (0, 90, 180, 270) */
    double fps;        /* average frame rate, 0 when unknown */
    double duration_s;
    int64_t frames_expected;          /* from the container, 0 when unknown */
    int time_base_num, time_base_den; /* of the video stream */
    int has_audio;
    /* The decoder's until it sends the END marker, then the sink's (see above). */
    vs_video_status status;
    int64_t frames_decoded, frames_analysed;
    /* Written by the sink, read by the progress display (atomic): decoded
     * frames up to the last one whose outputs are written, and 1 once the
     * video's end marker went through. Progress counts these, not what the
     * decoders ran ahead to. */
    int64_t frames_finished;
    int sink_ended;
    vs_error error;
    /* Not a failure, but worth a line in the report (written by the sink at
     * the END marker): e.g. no annotated copy, or its audio left out. */
    char warning[512];
} vs_video;

typedef enum vs_frame_kind {
    VS_FRAME_PICTURE,
    VS_FRAME_VIDEO_START, /* before the first picture of a video */
    VS_FRAME_VIDEO_END,   /* after the last; video->status says how it ended */
} vs_frame_kind;

typedef struct vs_frame {
    vs_frame_kind kind;
    vs_video *video;
    struct AVFrame *picture; /* VS_FRAME_PICTURE: decoded picture, owned by this slot */
    int64_t index;           /* 0-based decoded frame number within the video */
    int64_t pts;             /* in the video stream's time base; AV_NOPTS_VALUE if unknown */
    int64_t pts_ms;
    int analysed; /* went through the model */
    int carried;  /* --skip-similar: detections copied from the last analysed frame */
    int detection_count;
    vs_detection detections[VS_MAX_DETECTIONS]; /* source-pixel coordinates */
    /* Bytes of the run's memory budget the slot holds - its picture's, or on
     * a VIDEO_END marker the video's working set - given back on release. */
    struct vs_budget *budget;
    int64_t budget_bytes;
    /* Holders of the slot besides the stage that pops it (an encoder
     * worker, core/encoders.h), atomic: the last release returns it. */
    int holds;
    /* The tracker's news of this frame (core/track_stage.c): line crossings,
     * zone visits that ended, tracks that ended (more wait for later frames
     * of the video when a frame's are full). */
    int event_count;
    vs_zone_event events[VS_FRAME_EVENTS];
} vs_frame;

#endif
