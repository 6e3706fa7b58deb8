/* run.c: `vidsift run` (not yet implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vidsift run: not implemented yet\n");
    return 2;
}
