/* inflight.h: per-video state for the videos in flight, not for the run's.
 *
 * A stage that keeps something per video (the sink's open outputs, the
 * postprocess stage's last boxes) claims a slot at the video's first marker
 * and releases it at its END marker. The table holds `capacity` slots, a
 * bound the pipeline derives from its pools (vs_inflight_bound): however
 * many videos a run has, or a worker takes one after another, the memory is
 * that of the videos between a stage's START and END markers at once.
 *
 * A slot's memory is allocated the first time it is claimed and kept for
 * reuse, lowest free slot first: the table grows to the most videos ever in
 * flight together (usually --jobs or one more), never past capacity.
 *
 * One thread owns a table (the stage's): no locking. */
#ifndef VS_INFLIGHT_H
#define VS_INFLIGHT_H

#include <stddef.h>

#include "vs_error.h"

typedef struct vs_inflight {
    int capacity;     /* slots: at most this many videos in flight at once */
    size_t slot_size; /* bytes of one video's state */
    int *owners;      /* video index per slot, -1: free */
    void **slots;     /* capacity pointers; NULL until the slot is first claimed */
    int used;         /* slots [0, used) have been claimed at least once */
    int in_use, in_use_max;
} vs_inflight;

/* The most videos that can be between one stage's START and END markers at
 * once: each video whose decoder has moved on holds at least its END marker
 * in a frame slot upstream of the stage (markers are frame slots), and at
 * most `decoders` videos are still being decoded. */
int vs_inflight_bound(int decoders, int frame_slots);

int vs_inflight_init(vs_inflight *table, int capacity, size_t slot_size, vs_error *err);
void vs_inflight_free(vs_inflight *table);

/* The state of video_index, or NULL when it is not in flight. */
void *vs_inflight_find(const vs_inflight *table, int video_index);

/* A zeroed slot for video_index, which must not be in flight (asserted), or
 * NULL when out of memory. More than capacity videos at once breaks the
 * pipeline's bound: asserted. */
void *vs_inflight_claim(vs_inflight *table, int video_index);

/* Frees video_index's slot for the next video; nothing if not in flight. */
void vs_inflight_release(vs_inflight *table, int video_index);

#endif
