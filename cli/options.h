/* options.h: one option table per subcommand, as git's parse-options.
 *
 * A subcommand describes each option once (name, value placeholder, id, help
 * text); its --help text is printed from that table, getopt_long's table is
 * built from it, and tests/integration/cli_man_options.sh checks the man page
 * against the --help it prints, so help, parser and manual cannot drift.
 * Every table also answers -h/--help and -V/--version. */
#ifndef VS_CLI_OPTIONS_H
#define VS_CLI_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

/* One row of a subcommand's table. A row without a name but with help text
 * starts a group in the help (CLI_HEADING); a row with neither ends it. */
typedef struct cli_option {
    const char *name;     /* long name without the dashes ("memory-budget") */
    int short_name;       /* one-letter alias ('f' for -f), 0 for none */
    const char *argument; /* the value's placeholder in the help ("N"); NULL: a flag */
    int id;               /* what cli_next_option returns for it: >= 0 */
    const char *help;     /* help text, each '\n' starting an indented line; a group's title */
} cli_option;

/* clang-format off */
#define CLI_HEADING(title) {NULL, 0, NULL, 0, (title)}
#define CLI_END_OF_TABLE {NULL, 0, NULL, 0, NULL}
/* clang-format on */

/* What --help prints, in order: "usage: COMMAND SYNOPSIS", the description,
 * the options table, then the epilogue. */
typedef struct cli_command {
    const char *command;     /* "vidsift run": prefixes every message */
    const char *synopsis;    /* "[OPTIONS] PATH..." */
    const char *description; /* paragraphs between usage and options, or NULL */
    const cli_option *options;
    const char *epilogue; /* after the options (exit status...), or NULL */
} cli_command;

/* Negative results of cli_next_option. */
enum {
    CLI_OPTIONS_DONE = -1, /* no more options: operands start at optind */
    CLI_EXIT_SUCCESS = -2, /* --help or --version was printed: exit 0 */
    CLI_EXIT_USAGE = -3,   /* a usage error was printed: exit 2 */
    CLI_OPTIONS_MAX = 64,  /* rows a table may hold */
    CLI_HELP_COLUMN = 24,  /* help text starts here */
};

/* getopt_long's view of one table; lives on the caller's stack. */
typedef struct cli_parser {
    const cli_command *command;
    struct option long_options[CLI_OPTIONS_MAX + 3]; /* the table, --help, --version, end */
    char short_options[3 * CLI_OPTIONS_MAX + 8];
} cli_parser;

/* Starts parsing argv (argv[0] is the subcommand) from its first element. */
void cli_parser_init(cli_parser *parser, const cli_command *command);

/* The next option's id (optarg holds its value), or CLI_OPTIONS_DONE.
 * Handles --help and --version itself (CLI_EXIT_SUCCESS), and on an unknown
 * option or a missing value prints what went wrong, the nearest option name
 * ("did you mean --classes?") and one usage line (CLI_EXIT_USAGE). */
int cli_next_option(cli_parser *parser, int argc, char **argv);

/* The exit status for a negative cli_next_option result: 0 or 2. */
int cli_exit_status(int option);

/* The full help of command (its table printed under its groups). */
void cli_print_usage(FILE *out, const cli_command *command);

/* "usage: COMMAND SYNOPSIS" and where the rest is: after a usage error. */
void cli_print_usage_line(FILE *out, const cli_command *command);

/* vidsift's version and those of the libraries it runs on. */
void cli_print_version(FILE *out);

/* text as a whole number in [min, max] (1) or a line naming --option (0). */
int cli_parse_int(const char *command, const char *option, const char *text, int min, int max,
                  int *out);

/* text as a number in [min, max] (1) or a line naming --option (0). */
int cli_parse_real(const char *command, const char *option, const char *text, double min,
                   double max, double *out);

/* Edit distance from given to name (insertions, deletions, substitutions and
 * swaps of neighbours), capped at 255: what "did you mean" ranks by. */
int cli_option_distance(const char *given, const char *name);

/* The one of count names nearest to given (a mistyped command), or NULL when
 * none is near enough to be a likely typo: the rule options use. */
const char *cli_nearest_name(const char *given, const char *const *names, int count);

/* "CONTEXT: unknown command 'GIVEN': did you mean NAME?" (the nearest of
 * names, when one is a likely typo) and "usage: USAGE" on stderr; returns
 * 2, the exit status of a usage error. */
int cli_unknown_command(const char *context, const char *given, const char *const *names, int count,
                        const char *usage);

#endif
