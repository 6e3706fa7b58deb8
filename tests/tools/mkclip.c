/* mkclip.c: writes test clips with vidsift's own generator (vs_clip_generate:
 * a moving pattern, H.264 through libx264, Matroska), so that bench/gpu.sh
 * needs no ffmpeg program on a machine that has only vidsift's libraries.
 *
 *   vs_mkclip OUT WIDTH HEIGHT FRAMES */
#include <stdio.h>
#include <stdlib.h>

#include "clip.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: vs_mkclip OUT WIDTH HEIGHT FRAMES\n");
        return 2;
    }
    int width = atoi(argv[2]), height = atoi(argv[3]), frames = atoi(argv[4]);
    if (width < 16 || height < 16 || width % 2 || height % 2 || frames < 1) {
        fprintf(stderr, "vs_mkclip: WIDTH and HEIGHT even and >= 16, FRAMES >= 1\n");
        return 2;
    }
    vs_error err;
    if (vs_clip_generate(argv[1], width, height, frames, &err) != VS_OK) {
        fprintf(stderr, "vs_mkclip: %s\n", err.msg);
        return 1;
    }
    return 0;
}
