/* clip.h: small video files for measurements and tests: `vidsift bench`
 * cuts its inputs with these, and the unit tests make clips with them. */
#ifndef VS_CLIP_H
#define VS_CLIP_H

#include "vs_error.h"

/* Copies the video stream of src into dst (Matroska), stream copy, the first
 * max_frames packets (0 = all). Packets are in decode order, so each copied
 * packet's references come before it and every copied frame decodes. The
 * display matrix of a rotated clip is kept. */
int vs_clip_copy_prefix(const char *src, const char *dst, int max_frames, vs_error *err);

/* Encodes `frames` frames of a moving test pattern (a scrolling gradient
 * and a bright box crossing it) into path: Matroska, 25 fps, H.264 if
 * libx264 is there, else MPEG-4 part 2. width and height must be even. */
int vs_clip_generate(const char *path, int width, int height, int frames, vs_error *err);

#endif
