/* source.c: the list source of videos (source.h). */
#include "source.h"

static vs_video *list_next(vs_video_source *source)
{
    vs_video_list *list = (vs_video_list *)source;
    int index = __atomic_fetch_add(&list->next, 1, __ATOMIC_RELAXED);
    return index < list->count ? &list->videos[index] : NULL;
}

void vs_video_list_init(vs_video_list *list, vs_video *videos, int count)
{
    *list = (vs_video_list){.source = {.next = list_next}, .videos = videos, .count = count};
}
