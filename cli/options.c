/* options.c: the option tables of the subcommands (see options.h): help text
 * printed from a table, getopt_long driven by it, shared number parsing, and
 * a misspelled option answered with the nearest name and one usage line. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <sqlite3.h>
#include <turbojpeg.h>

#include "options.h"
#include "vs_error.h"
#include "vs_torch.h"

/* Ids of the two options every table answers: above any id a table uses
 * (getopt's own results are characters, a table's ids below 0x10000). */
enum { ID_HELP = 0x10000, ID_VERSION };

void cli_parser_init(cli_parser *parser, const cli_command *command)
{
    memset(parser, 0, sizeof *parser);
    parser->command = command;
    /* ':' first: a missing value returns ':', told apart from an unknown option. */
    size_t short_length = 0;
    parser->short_options[short_length++] = ':';
    size_t count = 0;
    for (const cli_option *o = command->options; o->name || o->help; o++) {
        if (!o->name)
            continue;
        assert(count < CLI_OPTIONS_MAX && "raise CLI_OPTIONS_MAX");
        assert(o->id >= 0 && o->id < ID_HELP);
        /* Letters getopt or this parser give a meaning of their own. */
        assert(o->id != ':' && o->id != '?' && o->id != 'h' && o->id != 'V');
        assert(o->short_name != 'h' && o->short_name != 'V');
        parser->long_options[count++] =
            (struct option){o->name, o->argument ? required_argument : no_argument, NULL, o->id};
        if (o->short_name) {
            parser->short_options[short_length++] = (char)o->short_name;
            if (o->argument)
                parser->short_options[short_length++] = ':';
        }
    }
    parser->long_options[count++] = (struct option){"help", no_argument, NULL, ID_HELP};
    parser->long_options[count++] = (struct option){"version", no_argument, NULL, ID_VERSION};
    memcpy(parser->short_options + short_length, "hV", 3);
    optind = 1;
    opterr = 0; /* the messages below name the command and suggest a fix */
}

/* The row for a short name or an id getopt returned, or NULL. */
static const cli_option *find_option(const cli_command *command, int short_name, int id)
{
    for (const cli_option *o = command->options; o->name || o->help; o++)
        if (o->name && ((short_name && o->short_name == short_name) || (id >= 0 && o->id == id)))
            return o;
    return NULL;
}

int cli_option_distance(const char *given, const char *name)
{
    enum { LONGEST = 63 };
    size_t n = strlen(given), m = strlen(name);
    if (n > LONGEST || m > LONGEST)
        return 255;
    /* Three rows of the Damerau-Levenshtein table (optimal string alignment). */
    int rows[3][LONGEST + 1];
    int *before = rows[0], *previous = rows[1], *current = rows[2];
    for (size_t j = 0; j <= m; j++)
        previous[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        current[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int cost = given[i - 1] != name[j - 1];
            int best = previous[j - 1] + cost;
            if (previous[j] + 1 < best)
                best = previous[j] + 1;
            if (current[j - 1] + 1 < best)
                best = current[j - 1] + 1;
            if (i > 1 && j > 1 && given[i - 1] == name[j - 2] && given[i - 2] == name[j - 1] &&
                before[j - 2] + 1 < best)
                best = before[j - 2] + 1;
            current[j] = best;
        }
        int *spare = before;
        before = previous;
        previous = current;
        current = spare;
    }
    return previous[m] > 255 ? 255 : previous[m];
}

/* Whether a name distance away from given is near enough to be a likely
 * typo (git's rule of thumb: a third of the word, at least 2). */
static int likely_typo(const char *given, int distance)
{
    int limit = (int)strlen(given) / 3;
    return distance <= (limit > 2 ? limit : 2);
}

/* The option name nearest to given, or NULL when none is a likely typo. */
static const char *nearest_option(const cli_command *command, const char *given)
{
    const char *best = NULL;
    int best_distance = 255;
    for (const cli_option *o = command->options; o->name || o->help; o++) {
        if (!o->name)
            continue;
        int distance = cli_option_distance(given, o->name);
        /* A prefix that getopt found ambiguous: the first row it matches. */
        if (strncmp(o->name, given, strlen(given)) == 0)
            distance = 1;
        if (distance < best_distance) {
            best_distance = distance;
            best = o->name;
        }
    }
    return likely_typo(given, best_distance) ? best : NULL;
}

const char *cli_nearest_name(const char *given, const char *const *names, int count)
{
    const char *best = NULL;
    int best_distance = 255;
    for (int i = 0; i < count; i++) {
        int distance = cli_option_distance(given, names[i]);
        if (distance < best_distance) {
            best_distance = distance;
            best = names[i];
        }
    }
    return likely_typo(given, best_distance) ? best : NULL;
}

int cli_unknown_command(const char *context, const char *given, const char *const *names, int count,
                        const char *usage)
{
    const char *nearest = cli_nearest_name(given, names, count);
    fprintf(stderr, "%s: unknown command '%s'", context, VS_NAME(given));
    if (nearest)
        fprintf(stderr, ": did you mean %s?", nearest);
    fprintf(stderr, "\nusage: %s\n", usage);
    return 2;
}

static int usage_error(const cli_parser *parser, int argc, char **argv, int result)
{
    const cli_command *command = parser->command;
    /* getopt has stepped past the element it stopped at. */
    const char *element = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    if (result == ':') {
        const cli_option *o = find_option(command, optopt < 128 ? optopt : 0, optopt);
        if (o)
            fprintf(stderr, "%s: --%s needs a value (%s)\n", command->command, o->name,
                    o->argument);
        else
            fprintf(stderr, "%s: %s needs a value\n", command->command, element);
    } else if (optopt && !(element[0] == '-' && element[1] == '-')) {
        fprintf(stderr, "%s: unknown option '-%c'\n", command->command, optopt);
    } else {
        /* An unknown or ambiguous long option, perhaps with "=value". */
        char given[64];
        const char *name = element[0] == '-' && element[1] == '-' ? element + 2 : element;
        snprintf(given, sizeof given, "%.*s", (int)strcspn(name, "="), name);
        const char *nearest = nearest_option(command, given);
        fprintf(stderr, "%s: unknown option '--%s'", command->command, given);
        if (nearest)
            fprintf(stderr, ": did you mean --%s?", nearest);
        fputc('\n', stderr);
    }
    cli_print_usage_line(stderr, command);
    return CLI_EXIT_USAGE;
}

int cli_next_option(cli_parser *parser, int argc, char **argv)
{
    int result = getopt_long(argc, argv, parser->short_options, parser->long_options, NULL);
    switch (result) {
    case -1: return CLI_OPTIONS_DONE;
    case 'h':
    case ID_HELP: cli_print_usage(stdout, parser->command); return CLI_EXIT_SUCCESS;
    case 'V':
    case ID_VERSION: cli_print_version(stdout); return CLI_EXIT_SUCCESS;
    case ':':
    case '?': return usage_error(parser, argc, argv, result);
    default: break;
    }
    /* A short alias returns its letter: the caller switches on ids only. */
    const cli_option *o = find_option(parser->command, result < 128 ? result : 0, -1);
    return o && o->short_name == result ? o->id : result;
}

int cli_exit_status(int option)
{
    assert(option == CLI_EXIT_SUCCESS || option == CLI_EXIT_USAGE);
    return option == CLI_EXIT_SUCCESS ? 0 : 2;
}

/* One option's lines: "  -f, --name ARG" padded to the help column, then
 * its help, each '\n' continuing under the column. */
static void print_option(FILE *out, const char *name, int short_name, const char *argument,
                         const char *help)
{
    int width =
        short_name ? fprintf(out, "  -%c, --%s", short_name, name) : fprintf(out, "  --%s", name);
    if (argument)
        width += fprintf(out, " %s", argument);
    /* At least two spaces between the option and its help. */
    fprintf(out, "%*s", width + 2 <= CLI_HELP_COLUMN ? CLI_HELP_COLUMN - width : 2, "");
    for (const char *line = help;;) {
        size_t length = strcspn(line, "\n");
        fprintf(out, "%.*s\n", (int)length, line);
        if (!line[length])
            break;
        line += length + 1;
        fprintf(out, "%*s", CLI_HELP_COLUMN, "");
    }
}

void cli_print_usage(FILE *out, const cli_command *command)
{
    fprintf(out, "usage: %s %s\n\n", command->command, command->synopsis);
    if (command->description)
        fprintf(out, "%s\n", command->description);
    for (const cli_option *o = command->options; o->name || o->help; o++) {
        if (o->name)
            print_option(out, o->name, o->short_name, o->argument, o->help);
        else
            fprintf(out, "%s\n", o->help);
    }
    print_option(out, "help", 'h', NULL, "this text");
    print_option(out, "version", 'V', NULL, "vidsift's version and its libraries'");
    if (command->epilogue)
        fprintf(out, "\n%s", command->epilogue);
}

void cli_print_usage_line(FILE *out, const cli_command *command)
{
    fprintf(out, "usage: %s %s (`%s --help` for every option)\n", command->command,
            command->synopsis, command->command);
}

void cli_print_version(FILE *out)
{
    unsigned avf = avformat_version(), avc = avcodec_version();
    fprintf(out, "vidsift %s\n", VS_VERSION);
    fprintf(out, "libavformat %u.%u.%u, libavcodec %u.%u.%u (FFmpeg %s)\n", avf >> 16,
            (avf >> 8) & 255, avf & 255, avc >> 16, (avc >> 8) & 255, avc & 255, av_version_info());
    fprintf(out, "libtorch %s%s\n", vs_torch_version(), vs_torch_cuda_available() ? " (CUDA)" : "");
    fprintf(out, "SQLite %s\n", sqlite3_libversion());
#ifdef LIBJPEG_TURBO_VERSION
    fprintf(out, "libjpeg-turbo %s\n", LIBJPEG_TURBO_VERSION);
#else
    fprintf(out, "libjpeg-turbo (TurboJPEG API %d)\n", TJ_NUMPF);
#endif
}

int cli_parse_int(const char *command, const char *option, const char *text, int min, int max,
                  int *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || end == text || value < min || value > max) {
        fprintf(stderr, "%s: --%s: '%s' is not a whole number from %d to %d\n", command, option,
                text, min, max);
        return 0;
    }
    *out = (int)value;
    return 1;
}

int cli_parse_real(const char *command, const char *option, const char *text, double min,
                   double max, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || *end || end == text || !(value >= min && value <= max)) {
        fprintf(stderr, "%s: --%s: '%s' is not a number from %g to %g\n", command, option, text,
                min, max);
        return 0;
    }
    *out = value;
    return 1;
}
