/* bench.c: `vidsift bench` (not yet implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vidsift bench: not implemented yet\n");
    return 2;
}
