/* inflight.c: the table of per-video state for the videos in flight
 * (inflight.h). Lookups scan the slots claimed so far, a handful in
 * practice: cheaper than hashing for so few, and no state per run video. */
#include "inflight.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int vs_inflight_bound(int decoders, int frame_slots)
{
    assert(decoders >= 1 && frame_slots >= 1);
    return decoders + frame_slots;
}

int vs_inflight_init(vs_inflight *table, int capacity, size_t slot_size, vs_error *err)
{
    assert(capacity >= 1 && slot_size > 0);
    *table = (vs_inflight){.capacity = capacity, .slot_size = slot_size};
    table->owners = malloc((size_t)capacity * sizeof *table->owners);
    table->slots = calloc((size_t)capacity, sizeof *table->slots);
    if (!table->owners || !table->slots) {
        vs_inflight_free(table);
        return vs_fail(err, VS_ENOMEM, "out of memory for the videos in flight");
    }
    for (int i = 0; i < capacity; i++)
        table->owners[i] = -1;
    return VS_OK;
}

void vs_inflight_free(vs_inflight *table)
{
    for (int i = 0; table->slots && i < table->used; i++)
        free(table->slots[i]);
    free(table->slots);
    free(table->owners);
    memset(table, 0, sizeof *table);
}

static int slot_of(const vs_inflight *table, int video_index)
{
    for (int i = 0; i < table->used; i++)
        if (table->owners[i] == video_index)
            return i;
    return -1;
}

void *vs_inflight_find(const vs_inflight *table, int video_index)
{
    int slot = slot_of(table, video_index);
    return slot < 0 ? NULL : table->slots[slot];
}

void *vs_inflight_claim(vs_inflight *table, int video_index)
{
    assert(video_index >= 0);
    assert(slot_of(table, video_index) < 0); /* one slot per video */
    /* The pipeline sized the table from its pools: more videos in flight
     * than that means a marker was lost or the bound is wrong. */
    assert(table->in_use < table->capacity);
    int slot = 0;
    while (slot < table->used && table->owners[slot] >= 0)
        slot++;
    if (slot == table->used) {
        if (slot == table->capacity)
            return NULL; /* not reached: in_use < capacity */
        if (!(table->slots[slot] = malloc(table->slot_size)))
            return NULL;
        table->used++;
    }
    memset(table->slots[slot], 0, table->slot_size);
    table->owners[slot] = video_index;
    table->in_use++;
    if (table->in_use > table->in_use_max)
        table->in_use_max = table->in_use;
    return table->slots[slot];
}

void vs_inflight_release(vs_inflight *table, int video_index)
{
    int slot = slot_of(table, video_index);
    if (slot < 0)
        return;
    table->owners[slot] = -1;
    table->in_use--;
}
