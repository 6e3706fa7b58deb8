/* source.h: where the decoders take their next video from.
 *
 * A run has its list of videos, scanned before it starts (vs_video_list);
 * the worker mode will hand out videos as a queue gives them. The decoders
 * only call next(), so either feeds the same pipeline. A video returned
 * stays valid, at the same address, until the pipeline returns: the stages
 * keep pointers to it. */
#ifndef VS_SOURCE_H
#define VS_SOURCE_H

#include "frame.h"

typedef struct vs_video_source vs_video_source;
struct vs_video_source {
    /* The next video to decode, or NULL when there is none left. Called by
     * every decoder thread, concurrently: it must be thread-safe. */
    vs_video *(*next)(vs_video_source *source);
};

/* The videos of an array, in order, each handed out once. */
typedef struct vs_video_list {
    vs_video_source source; /* first: a vs_video_list is a vs_video_source */
    vs_video *videos;
    int count;
    int next; /* index of the next video to hand out (atomic) */
} vs_video_list;

void vs_video_list_init(vs_video_list *list, vs_video *videos, int count);

#endif
