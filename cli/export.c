/* export.c: `vidsift export` (not yet implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vidsift export: not implemented yet\n");
    return 2;
}
