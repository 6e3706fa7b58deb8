/* models.c: `vidsift models list|info|verify` - what is installed, what a
 * manifest says, and whether a model really produces what its manifest
 * promises.
 *
 * Owns its options and help text. Reads manifests through core/manifest.c and
 * runs models only through the shim; it never decodes JSON rules of its own
 * except to show the purely informational fields (source, outputs) that the
 * vs_manifest struct does not carry.
 *
 * `verify --reference DIR` also proves fidelity: it feeds the model the input
 * tensors of a reference run (tests/fidelity/: the official TF.js runtime on
 * real frames) through the same shim the pipeline uses, and compares the raw
 * outputs and the detections of vidsift's own decoder (core/detect.c) with the
 * reference's; when the reference has the source pictures, vidsift's
 * preprocess of them is compared with the reference's input tensors too.
 *
 * Exit status: 0 all is well, 1 the model runs but does not match the
 * reference, 2 on a usage error, any broken model or an unreadable reference,
 * with one line on stderr that names the file at fault. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "cli.h"
#include "detect.h"
#include "fidelity.h"
#include "manifest.h"
#include "options.h"
#include "preprocess.h"
#include "vs_torch.h"

#define MANIFEST_SUFFIX ".manifest.json"

static const char usage[] =
    "usage: vidsift models COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  list             the installed models: name, decoder, input, classes, size, status\n"
    "  info NAME        everything a model's manifest says, and its labels\n"
    "  verify NAME      load the model, run it, check its outputs against the manifest\n"
    "                   (and, with --reference DIR, against a reference run)\n"
    "  init FILE.pt     write the manifest a TorchScript model needs (FILE.manifest.json)\n"
    "\n"
    "NAME is a model in the models directory (NAME.manifest.json there) or the path\n"
    "of a manifest. The models directory is $VIDSIFT_MODELS, else the one installed\n"
    "with vidsift; --dir DIR overrides both.\n"
    "\n"
    "`vidsift models COMMAND --help` for a command's options.\n"
    "exit status: 0 ok, 1 verify --reference found a mismatch, 2 usage error or a broken model\n";

enum { OPT_DIR = 256, OPT_DEVICE, OPT_LABELS, OPT_REFERENCE, OPT_IMGSZ };

static const cli_option list_options[] = {
    {"dir", 0, "DIR", OPT_DIR, "models directory (default: $VIDSIFT_MODELS or the installed one)"},
    CLI_END_OF_TABLE,
};

static const cli_command list_command = {
    .command = "vidsift models list",
    .synopsis = "[--dir DIR]",
    .description = "Lists every NAME.manifest.json in the models directory with its decoder,\n"
                   "input size, classes, model file size and status (ok, or broken and why).\n"
                   "Only the manifest, labels and presence of the model file are checked; use\n"
                   "`vidsift models verify NAME` to run a model.\n",
    .options = list_options,
    .epilogue = "exit status: 0 all listed models ok, 2 none found or some broken\n",
};

static const cli_option info_options[] = {
    {"labels", 0, NULL, OPT_LABELS, "also print every label with its class id"},
    {"dir", 0, "DIR", OPT_DIR, "models directory (default: $VIDSIFT_MODELS or the installed one)"},
    CLI_END_OF_TABLE,
};

static const cli_command info_command = {
    .command = "vidsift models info",
    .synopsis = "[--dir DIR] [--labels] NAME",
    .description = "Prints every field of a model's manifest, resolved paths, the model file's\n"
                   "size and the number of labels.\n",
    .options = info_options,
    .epilogue = "exit status: 0 ok, 2 the manifest or its files are broken\n",
};

static const cli_option verify_options[] = {
    {"reference", 0, "REF", OPT_REFERENCE, "compare with the reference run in directory REF"},
    {"imgsz", 0, "S|WxH", OPT_IMGSZ,
     "YOLO models: run at this input size instead of the manifest's\n"
     "(a reference made at 640 checks a model whose default is 512)"},
    {"device", 0, "DEV", OPT_DEVICE, "auto, cpu, cuda or cuda:N (auto)"},
    {"dir", 0, "DIR", OPT_DIR, "models directory (default: $VIDSIFT_MODELS or the installed one)"},
    CLI_END_OF_TABLE,
};

static const cli_command verify_command = {
    .command = "vidsift models verify",
    .synopsis = "[--dir DIR] [--device DEV] [--imgsz S|WxH] [--reference REF] NAME",
    .description =
        "Loads the manifest and labels, opens the model with the shim (with warmup),\n"
        "runs a batch of 2 grey frames and checks that\n"
        "  - the outputs have the shapes the manifest's decoder needs:\n"
        "      centernet  [N,C,H/stride,W/stride] heatmap and [N,4,H/stride,W/stride] boxes\n"
        "      yolov5     [N,A,5+C]\n"
        "      yolov8     [N,4+C,A]\n"
        "  - the batch dimension follows the input (the pipeline batches frames),\n"
        "  - the outputs are finite and the decoder accepts them.\n"
        "\n"
        "With --reference REF (a directory made by tests/fidelity/check.sh: input\n"
        "tensors, outputs and detections of the model's original runtime; format in\n"
        "tests/fidelity/README.md) it then runs REF's input tensors through the model\n"
        "in one batch and requires, per frame:\n"
        "  - every output within 1e-3 of REF's: |d| <= 1e-3 * max(1, |ref|), i.e.\n"
        "    absolute for scores (0..1), relative for pixel maps;\n"
        "  - vidsift's decoder (the manifest's conf, iou and NMS, which must be the\n"
        "    ones REF used) finds REF's detections: same count, each with the same\n"
        "    class, score within 0.01 and box IoU >= 0.95;\n"
        "  - if REF keeps the source pictures, vidsift's preprocess of each is within\n"
        "    0.01 grey levels of REF's input tensor.\n"
        "It prints the measured differences.\n",
    .options = verify_options,
    .epilogue = "exit status: 0 the model is usable (and matches REF), 1 it runs but does not\n"
                "match REF, 2 it is not usable or REF cannot be read (one line says why)\n",
};

static const cli_option init_options[] = {
    {"decoder", 0, "D", 'D',
     "the model's head: yolov5 ([N,A,5+C]), yolov8 or yolo11\n"
     "([N,4+C,A]), centernet (heatmap and boxes)"},
    {"imgsz", 0, "S|WxH", 'I', "the input size the model was exported with (640; centernet 512)"},
    {"labels", 0, "FILE", 'L',
     "class names, one per line (default: COCO's 80, copied beside\n"
     "the model as coco.labels)"},
    {"name", 0, "NAME", 'N', "the model's name (FILE without .pt)"},
    {"force", 0, NULL, 'F', "replace an existing manifest"},
    {"dir", 0, "DIR", 'R',
     "models directory holding coco.labels (default: $VIDSIFT_MODELS\n"
     "or the installed one)"},
    CLI_END_OF_TABLE,
};

static const cli_command init_command = {
    .command = "vidsift models init",
    .synopsis = "--decoder yolov5|yolov8|yolo11|centernet [OPTIONS] FILE.pt",
    .description =
        "Writes FILE.manifest.json beside FILE.pt, the manifest that tells vidsift how\n"
        "to feed and decode the model, with the defaults of Ultralytics' exports\n"
        "(`yolo export format=torchscript`, YOLOv5's export.py --include torchscript):\n"
        "RGB, pixel/255, letterbox with grey 114, conf 0.25, IoU 0.45, per-class NMS;\n"
        "centernet: stretch, stride 4, conf 0.2, IoU 0.4, class-agnostic NMS. Then run\n"
        "`vidsift models verify FILE.manifest.json`, and `vidsift run --model FILE.pt`.\n"
        "Field reference: models/README.md.\n",
    .options = init_options,
    .epilogue = "exit status: 0 written and valid, 2 usage error or nothing written\n",
};

/* Options shared by the subcommands; each accepts those its table lists. */
typedef struct models_options {
    const char *dir;
    const char *device;
    const char *reference;
    int show_labels;
    int input_width, input_height; /* --imgsz; 0: the manifest's */
} models_options;

/* Parses argv (argv[0] is the subcommand) with the subcommand's table into
 * o; returns the index of the first operand, or -1 after printing help
 * (exit 0) / -2 on a usage error. */
static int parse_options(int argc, char **argv, const cli_command *command, models_options *o)
{
    cli_parser parser;
    cli_parser_init(&parser, command);
    int option;
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case OPT_DIR: o->dir = optarg; break;
        case OPT_DEVICE: o->device = optarg; break;
        case OPT_LABELS: o->show_labels = 1; break;
        case OPT_IMGSZ: {
            vs_error err = {{0}};
            if (vs_parse_input_size(optarg, &o->input_width, &o->input_height, &err) != VS_OK) {
                fprintf(stderr, "%s: %s\n", command->command, err.msg);
                return -2;
            }
            break;
        }
        case OPT_REFERENCE: o->reference = optarg; break;
        default: return cli_exit_status(option) == 0 ? -1 : -2;
        }
    }
    return optind;
}

/* --dir, else the models directory. */
static void models_dir(const models_options *o, char *out, size_t size)
{
    if (o->dir)
        snprintf(out, size, "%s", o->dir);
    else
        cli_models_dir(out, size);
}

static void format_size(long long bytes, char *out, size_t size)
{
    if (bytes < 0)
        snprintf(out, size, "-");
    else if (bytes < 1024 * 1024)
        snprintf(out, size, "%.1f KB", bytes / 1024.0);
    else
        snprintf(out, size, "%.1f MB", bytes / (1024.0 * 1024.0));
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The whole of a small text file (at most limit bytes, NUL-terminated), or
 * NULL with errno set; a longer file is cut at limit (JSON parsing then fails). */
static char *read_text(const char *path, size_t limit)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = malloc(limit + 1);
    size_t n = text ? fread(text, 1, limit, f) : 0;
    fclose(f);
    if (!text) {
        errno = ENOMEM;
        return NULL;
    }
    text[n] = 0;
    return text;
}

/* Loads a manifest or prints the one-line reason; the caller exits 2. */
static vs_manifest *load_or_complain(const char *command, const char *path)
{
    vs_manifest *manifest = malloc(sizeof *manifest);
    if (!manifest) {
        fprintf(stderr, "vidsift models %s: out of memory\n", command);
        return NULL;
    }
    vs_error err = {{0}};
    if (vs_manifest_load(manifest, path, &err) != VS_OK) {
        fprintf(stderr, "vidsift models %s: %s\n", command, err.msg);
        free(manifest);
        return NULL;
    }
    return manifest;
}

/* ---- list ------------------------------------------------------------ */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int models_list(int argc, char **argv)
{
    models_options o = {0};
    int first = parse_options(argc, argv, &list_command, &o);
    if (first < 0)
        return first == -1 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "vidsift models list: unexpected argument '%s'\n", argv[first]);
        return 2;
    }
    char dir[PATH_MAX];
    models_dir(&o, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "vidsift models list: %s: cannot read the models directory: %s\n", dir,
                strerror(errno));
        return 2;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    size_t suffix = strlen(MANIFEST_SUFFIX);
    while ((entry = readdir(d))) {
        size_t len = strlen(entry->d_name);
        if (len <= suffix || strcmp(entry->d_name + len - suffix, MANIFEST_SUFFIX))
            continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[count] = strdup(entry->d_name);
        if (names[count])
            count++;
    }
    closedir(d);
    if (count == 0) {
        fprintf(stderr, "vidsift models list: %s: no models (*%s) found\n", dir, MANIFEST_SUFFIX);
        free(names);
        return 2;
    }
    qsort(names, count, sizeof *names, compare_names);

    vs_manifest *manifest = malloc(sizeof *manifest);
    if (!manifest) {
        fprintf(stderr, "vidsift models list: out of memory\n");
        return 2;
    }
    int broken = 0;
    /* The name column as wide as the longest name (24 at least): a long
     * name shifts the columns of every row alike, never its own row alone. */
    int width = 24;
    for (size_t i = 0; i < count; i++)
        if ((int)(strlen(names[i]) - suffix) > width)
            width = (int)(strlen(names[i]) - suffix);
    printf("%-*s %-10s %-10s %7s %10s  %s\n", width, "NAME", "DECODER", "INPUT", "CLASSES", "SIZE",
           "STATUS");
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX + 256], name[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(name, sizeof name, "%.*s", (int)(strlen(names[i]) - suffix), names[i]);
        vs_error err = {{0}};
        if (vs_manifest_load(manifest, path, &err) == VS_OK) {
            char input[32], size[32];
            snprintf(input, sizeof input, "%dx%d", manifest->input_width, manifest->input_height);
            format_size(file_size(manifest->model_path), size, sizeof size);
            printf("%-*s %-10s %-10s %7d %10s  ok\n", width, name,
                   vs_decoder_name(manifest->decoder), input, manifest->classes, size);
            /* Whose weights they are decides who may use them how: never hidden. */
            printf("%-*s licence: %s\n", width, "",
                   manifest->licence[0] ? manifest->licence : "not stated");
            printf("%-*s source:  %s\n", width, "",
                   manifest->source[0] ? manifest->source : "not stated");
        } else {
            broken++;
            printf("%-*s %-10s %-10s %7s %10s  broken: %s\n", width, name, "-", "-", "-", "-",
                   err.msg);
        }
        free(names[i]);
    }
    free(names);
    free(manifest);
    if (broken)
        fprintf(stderr, "vidsift models list: %d of %zu models broken\n", broken, count);
    return broken ? 2 : 0;
}

/* ---- info ------------------------------------------------------------ */

/* The informational fields that vs_manifest does not keep. The manifest has
 * already been validated, so a failure here only means "nothing to show". */
static void print_informational(const char *path)
{
    char *text = read_text(path, 1 << 20);
    if (!text)
        return;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return;
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    if (cJSON_IsArray(outputs)) {
        printf("%-16s", "outputs");
        const cJSON *item;
        int first = 1;
        cJSON_ArrayForEach(item, outputs)
        {
            if (cJSON_IsString(item)) {
                printf("%s%s", first ? "" : ", ", item->valuestring);
                first = 0;
            }
        }
        printf("\n");
    }
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(root, "source");
    if (cJSON_IsString(source))
        printf("%-16s%s\n", "source", source->valuestring);
    const cJSON *licence = cJSON_GetObjectItemCaseSensitive(root, "licence");
    printf("%-16s%s\n", "licence", cJSON_IsString(licence) ? licence->valuestring : "not stated");
    cJSON_Delete(root);
}

static int models_info(int argc, char **argv)
{
    models_options o = {0};
    int first = parse_options(argc, argv, &info_command, &o);
    if (first < 0)
        return first == -1 ? 0 : 2;
    if (first != argc - 1) {
        fprintf(stderr, "vidsift models info: give exactly one model NAME or manifest path\n");
        return 2;
    }
    char path[PATH_MAX];
    char dir[PATH_MAX];
    models_dir(&o, dir, sizeof dir);
    cli_manifest_path(argv[first], dir, path, sizeof path);
    if (cli_model_without_manifest("vidsift models info", argv[first], path))
        return 2;
    vs_manifest *m = load_or_complain("info", path);
    if (!m)
        return 2;
    char size[32];
    format_size(file_size(m->model_path), size, sizeof size);
    printf("%-16s%s\n", "name", m->name);
    printf("%-16s%s\n", "manifest", path);
    printf("%-16s%s (%s)\n", "file", m->model_path, size);
    printf("%-16s%s\n", "decoder", vs_decoder_name(m->decoder));
    if (m->decoder == VS_DECODER_CENTERNET)
        printf("%-16s%d (outputs %dx%d)\n", "stride", m->stride, m->input_width / m->stride,
               m->input_height / m->stride);
    print_informational(path);
    printf("%-16s%dx%d, nchw, %s\n", "input", m->input_width, m->input_height,
           m->bgr ? "bgr" : "rgb");
    printf("%-16s%s\n", "resize", m->resize == VS_RESIZE_LETTERBOX ? "letterbox" : "stretch");
    printf("%-16s(pixel * %g - mean) / std, pixel 0..255\n", "normalisation", m->scale);
    printf("%-16s%g %g %g\n", "mean", m->mean[0], m->mean[1], m->mean[2]);
    printf("%-16s%g %g %g\n", "std", m->std[0], m->std[1], m->std[2]);
    printf("%-16s%d\n", "classes", m->classes);
    printf("%-16s%s (%d labels: %s%s%s%s%s)\n", "labels", m->labels_path, m->classes, m->labels[0],
           m->classes > 1 ? ", " : "", m->classes > 1 ? m->labels[1] : "",
           m->classes > 2 ? ", " : "", m->classes > 2 ? "..." : "");
    printf("%-16s%g\n", "conf", m->conf);
    printf("%-16s%g\n", "iou", m->iou);
    printf("%-16s%d\n", "max_detections", m->max_detections);
    printf("%-16s%s\n", "nms", m->class_agnostic_nms ? "class-agnostic" : "per class");
    if (o.show_labels) {
        for (int c = 0; c < m->classes; c++) {
            if (m->coco_ids[c])
                printf("%4d  %-20s COCO id %d\n", c, m->labels[c], m->coco_ids[c]);
            else
                printf("%4d  %s\n", c, m->labels[c]);
        }
    }
    free(m);
    return 0;
}

/* ---- verify ---------------------------------------------------------- */

#define VERIFY_FRAMES 2

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void shape_text(const vs_torch_output *output, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (int d = 0; d < output->ndim && d < 4 && used < size; d++) {
        int n =
            snprintf(out + used, size - used, "%s%lld", d ? "," : "[", (long long)output->shape[d]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
    if (used < size)
        snprintf(out + used, size - used, "]");
}

/* Runs a batch of grey frames and checks what comes back. Returns 0 or prints
 * one line and returns 2. */
static int verify_outputs(const vs_manifest *m, vs_torch *torch)
{
    vs_error err = {{0}};
    int in_w = m->input_width, in_h = m->input_height;
    size_t plane = (size_t)in_w * in_h;
    float *input = vs_torch_input(torch, 0);
    /* A mid-grey frame, normalised as the preprocess would: zeros can hide a
     * broken normalisation, and some heads misbehave on all-zero input. */
    for (int frame = 0; frame < VERIFY_FRAMES; frame++)
        for (int c = 0; c < 3; c++) {
            float value = (128.0f * m->scale - m->mean[c]) / m->std[c];
            float *p = input + ((size_t)frame * 3 + c) * plane;
            for (size_t i = 0; i < plane; i++)
                p[i] = value;
        }
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count = 0;
    if (vs_torch_submit(torch, 0, VERIFY_FRAMES, &err) != VS_OK ||
        vs_torch_wait(torch, 0, outputs, &count, &err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", err.msg);
        return 2;
    }

    int64_t shapes[VS_TORCH_MAX_OUTPUTS][4];
    int ranks[VS_TORCH_MAX_OUTPUTS];
    char described[512] = "";
    for (int i = 0; i < count; i++) {
        memcpy(shapes[i], outputs[i].shape, sizeof shapes[i]);
        ranks[i] = outputs[i].ndim;
        char shape[96];
        shape_text(&outputs[i], shape, sizeof shape);
        snprintf(described + strlen(described), sizeof described - strlen(described), "%s%s",
                 i ? ", " : "", shape);
    }
    vs_error verr = {{0}};
    if (vs_detect_check_outputs(m, (const int64_t(*)[4])shapes, ranks, count, &verr) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", verr.msg);
        return 2;
    }
    for (int i = 0; i < count; i++) {
        if (shapes[i][0] != VERIFY_FRAMES) {
            fprintf(stderr,
                    "vidsift models verify: %s: output %d has batch %lld for %d input frames; "
                    "the pipeline needs a dynamic batch dimension\n",
                    m->model_path, i, (long long)shapes[i][0], VERIFY_FRAMES);
            return 2;
        }
        size_t values = 1;
        for (int d = 0; d < ranks[i]; d++)
            values *= (size_t)shapes[i][d];
        for (size_t k = 0; k < values; k++)
            if (!isfinite(outputs[i].data[k])) {
                fprintf(stderr,
                        "vidsift models verify: %s: output %d holds %s values for a grey frame\n",
                        m->model_path, i, isnan(outputs[i].data[k]) ? "NaN" : "infinite");
                return 2;
            }
    }
    printf("outputs         %s: fit decoder %s\n", described, vs_decoder_name(m->decoder));

    void *scratch = malloc(vs_detect_scratch_size(m, shapes[0]));
    if (!scratch) {
        fprintf(stderr, "vidsift models verify: out of memory\n");
        return 2;
    }
    const float *data[VS_TORCH_MAX_OUTPUTS];
    for (int i = 0; i < count; i++)
        data[i] = outputs[i].data;
    vs_detection detections[VS_MAX_DETECTIONS];
    int found =
        vs_detect_frame(m, data, (const int64_t(*)[4])shapes, count, 0, NULL, scratch, detections);
    free(scratch);
    if (found < 0) {
        fprintf(stderr, "vidsift models verify: %s: the %s decoder refused the outputs (%d)\n",
                m->model_path, vs_decoder_name(m->decoder), found);
        return 2;
    }
    printf("decode          grey frame: %d detection%s\n", found, found == 1 ? "" : "s");
    return 0;
}

/* ---- verify --reference ----------------------------------------------- */

/* A reference run (format: tests/fidelity/README.md): REF/reference.json
 * indexes raw little-endian float32 files (C order, no header) and holds the
 * detections the original runtime found. Everything is read and checked up
 * front, before the model is opened, so that a bad reference is an exit 2
 * that names the file and never a "mismatch". */

#define REFERENCE_INDEX "reference.json"
#define REFERENCE_FORMAT "vidsift-reference 1"
#define REFERENCE_MAX_FRAMES 64
/* vidsift's preprocess vs the reference's input tensor, in 0..255 grey levels:
 * the same arithmetic in float32 differs by float rounding only (~1e-5). */
#define PICTURE_TOLERANCE 0.01

typedef struct reference_tensor {
    char name[32];
    char file[PATH_MAX];
    int64_t shape[4];
    int rank;
    size_t count; /* floats */
    float *data;
} reference_tensor;

typedef struct reference {
    char dir[PATH_MAX];
    char index[PATH_MAX]; /* DIR/reference.json, named in every message */
    char producer[256];
    int frames;
    reference_tensor input;
    reference_tensor outputs[VS_TORCH_MAX_OUTPUTS];
    int output_count;
    char (*pictures)[PATH_MAX]; /* frames of them, or NULL */
    float conf, iou;
    int class_agnostic_nms, max_detections;
    vs_detection *expected; /* frames * VS_MAX_DETECTIONS */
    int *expected_count;    /* per frame */
} reference;

static void reference_free(reference *ref)
{
    free(ref->input.data);
    for (int i = 0; i < ref->output_count; i++)
        free(ref->outputs[i].data);
    free(ref->pictures);
    free(ref->expected);
    free(ref->expected_count);
    memset(ref, 0, sizeof *ref);
}

/* Formats the one-line reason for a bad reference; returns 2 (the exit status). */
static int reference_error(const reference *ref, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int reference_error(const reference *ref, const char *fmt, ...)
{
    char reason[768];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    fprintf(stderr, "vidsift models verify: %s: %s\n", ref->index, reason);
    return 2;
}

/* A path from the index: relative ones are relative to the reference dir.
 * Returns 0, or 2 after one line when it does not fit. */
static int reference_path(const reference *ref, const char *name, char *out, size_t size)
{
    int n = name[0] == '/' ? snprintf(out, size, "%s", name)
                           : snprintf(out, size, "%s/%s", ref->dir, name);
    if (n < 0 || (size_t)n >= size)
        return reference_error(ref, "path too long: %.80s...", name);
    return 0;
}

static int json_number(const cJSON *object, const char *key, double *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item))
        return -1;
    *out = item->valuedouble;
    return 0;
}

/* {"file": F, "shape": [d0..]} (and "name" for outputs) -> t, then the floats. */
static int reference_tensor_load(const reference *ref, const cJSON *item, const char *what,
                                 reference_tensor *t)
{
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(item, "file");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
    if (!cJSON_IsString(file) || !cJSON_IsArray(shape))
        return reference_error(ref, "%s needs \"file\" (string) and \"shape\" (array)", what);
    snprintf(t->name, sizeof t->name, "%s", cJSON_IsString(name) ? name->valuestring : what);
    if (reference_path(ref, file->valuestring, t->file, sizeof t->file))
        return 2;
    t->rank = cJSON_GetArraySize(shape);
    if (t->rank < 1 || t->rank > 4)
        return reference_error(ref, "%s: \"shape\" must have 1 to 4 dimensions", what);
    t->count = 1;
    for (int d = 0; d < t->rank; d++) {
        const cJSON *dim = cJSON_GetArrayItem(shape, d);
        if (!cJSON_IsNumber(dim) || dim->valuedouble < 1 || dim->valuedouble > 1e8)
            return reference_error(ref, "%s: \"shape\" holds a dimension that is not 1..1e8", what);
        t->shape[d] = (int64_t)dim->valuedouble;
        t->count *= (size_t)t->shape[d];
    }
    if (t->count > ((size_t)1 << 30) / sizeof(float))
        return reference_error(ref, "%s: %zu floats is more than this check reads", what, t->count);
    if (t->shape[0] != ref->frames)
        return reference_error(ref, "%s: batch %lld, but \"frames\" is %d", what,
                               (long long)t->shape[0], ref->frames);
    long long bytes = file_size(t->file);
    if (bytes < 0)
        return reference_error(ref, "%s: cannot read %s: %s", what, t->file, strerror(errno));
    if ((size_t)bytes != t->count * sizeof(float))
        return reference_error(ref, "%s: %s holds %lld bytes; its shape needs %zu float32s (%zu)",
                               what, t->file, bytes, t->count, t->count * sizeof(float));
    FILE *f = fopen(t->file, "rb");
    t->data = malloc(t->count * sizeof(float));
    size_t got = f && t->data ? fread(t->data, sizeof(float), t->count, f) : 0;
    if (f)
        fclose(f);
    if (got != t->count)
        return reference_error(ref, "%s: cannot read %s", what, t->file);
    return 0;
}

/* The detections of one frame: [{"class": C, "score": S, "box": [x1,y1,x2,y2]}, ...]. */
static int reference_detections_load(reference *ref, const cJSON *frame_list, int frame)
{
    if (!cJSON_IsArray(frame_list))
        return reference_error(ref, "detections of frame %d: not an array", frame);
    int count = cJSON_GetArraySize(frame_list);
    if (count > VS_MAX_DETECTIONS)
        return reference_error(ref, "frame %d has %d detections; at most %d", frame, count,
                               VS_MAX_DETECTIONS);
    for (int k = 0; k < count; k++) {
        const cJSON *item = cJSON_GetArrayItem(frame_list, k);
        const cJSON *box = cJSON_GetObjectItemCaseSensitive(item, "box");
        double class_id, score;
        if (json_number(item, "class", &class_id) || json_number(item, "score", &score) ||
            !cJSON_IsArray(box) || cJSON_GetArraySize(box) != 4)
            return reference_error(ref,
                                   "frame %d detection %d needs \"class\", \"score\" and a "
                                   "4-number \"box\"",
                                   frame, k);
        float corner[4];
        for (int j = 0; j < 4; j++) {
            const cJSON *v = cJSON_GetArrayItem(box, j);
            if (!cJSON_IsNumber(v))
                return reference_error(ref, "frame %d detection %d: \"box\" is not numbers", frame,
                                       k);
            corner[j] = (float)v->valuedouble;
        }
        ref->expected[(size_t)frame * VS_MAX_DETECTIONS + k] =
            (vs_detection){.x1 = corner[0],
                           .y1 = corner[1],
                           .x2 = corner[2],
                           .y2 = corner[3],
                           .score = (float)score,
                           .class_id = (int)class_id};
    }
    ref->expected_count[frame] = count;
    return 0;
}

/* Reads REF/reference.json and every file it names; 0, or 2 after one line. */
static int reference_load(reference *ref, const char *dir)
{
    memset(ref, 0, sizeof *ref);
    snprintf(ref->dir, sizeof ref->dir, "%s", dir);
    snprintf(ref->index, sizeof ref->index, "%s/%s", dir, REFERENCE_INDEX);
    char *text = read_text(ref->index, 1 << 24);
    if (!text)
        return reference_error(ref,
                               "cannot read the reference index: %s (make one with "
                               "tests/fidelity/check.sh DIR)",
                               strerror(errno));
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return reference_error(ref, "not valid JSON");
    int status = 2;
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *producer = cJSON_GetObjectItemCaseSensitive(root, "producer");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    const cJSON *pictures = cJSON_GetObjectItemCaseSensitive(root, "pictures");
    const cJSON *detections = cJSON_GetObjectItemCaseSensitive(root, "detections");
    const cJSON *frame_lists = cJSON_GetObjectItemCaseSensitive(detections, "frames");
    const cJSON *agnostic = cJSON_GetObjectItemCaseSensitive(detections, "class_agnostic_nms");
    double frames, conf, iou, max_detections;
    if (!cJSON_IsString(format) || strcmp(format->valuestring, REFERENCE_FORMAT)) {
        reference_error(ref, "\"format\" is not \"%s\"", REFERENCE_FORMAT);
        goto done;
    }
    if (json_number(root, "frames", &frames) || frames < 1 || frames > REFERENCE_MAX_FRAMES) {
        reference_error(ref, "\"frames\" must be 1..%d", REFERENCE_MAX_FRAMES);
        goto done;
    }
    ref->frames = (int)frames;
    snprintf(ref->producer, sizeof ref->producer, "%s",
             cJSON_IsString(producer) ? producer->valuestring : "unknown producer");
    if (reference_tensor_load(ref, cJSON_GetObjectItemCaseSensitive(root, "input"), "input",
                              &ref->input))
        goto done;
    if (!cJSON_IsArray(outputs) || cJSON_GetArraySize(outputs) < 1 ||
        cJSON_GetArraySize(outputs) > VS_TORCH_MAX_OUTPUTS) {
        reference_error(ref, "\"outputs\" must list 1 to %d tensors", VS_TORCH_MAX_OUTPUTS);
        goto done;
    }
    for (int i = 0; i < cJSON_GetArraySize(outputs); i++) {
        char what[32];
        snprintf(what, sizeof what, "outputs[%d]", i);
        ref->output_count = i + 1; /* so that reference_free frees what was read */
        if (reference_tensor_load(ref, cJSON_GetArrayItem(outputs, i), what, &ref->outputs[i]))
            goto done;
    }
    if (!cJSON_IsArray(frame_lists) || cJSON_GetArraySize(frame_lists) != ref->frames ||
        json_number(detections, "conf", &conf) || json_number(detections, "iou", &iou) ||
        json_number(detections, "max_detections", &max_detections) || !cJSON_IsBool(agnostic)) {
        reference_error(ref, "\"detections\" needs \"conf\", \"iou\", \"max_detections\", "
                             "\"class_agnostic_nms\" and \"frames\" (one list per frame)");
        goto done;
    }
    ref->conf = (float)conf;
    ref->iou = (float)iou;
    ref->max_detections = (int)max_detections;
    ref->class_agnostic_nms = cJSON_IsTrue(agnostic);
    ref->expected = calloc((size_t)ref->frames * VS_MAX_DETECTIONS, sizeof *ref->expected);
    ref->expected_count = calloc((size_t)ref->frames, sizeof *ref->expected_count);
    if (!ref->expected || !ref->expected_count) {
        reference_error(ref, "out of memory");
        goto done;
    }
    for (int frame = 0; frame < ref->frames; frame++)
        if (reference_detections_load(ref, cJSON_GetArrayItem(frame_lists, frame), frame))
            goto done;
    /* Optional: without the pictures only the model and decoder are compared. */
    if (cJSON_IsArray(pictures) && cJSON_GetArraySize(pictures) > 0) {
        if (cJSON_GetArraySize(pictures) != ref->frames) {
            reference_error(ref, "\"pictures\" must name one picture per frame");
            goto done;
        }
        ref->pictures = calloc((size_t)ref->frames, sizeof *ref->pictures);
        if (!ref->pictures) {
            reference_error(ref, "out of memory");
            goto done;
        }
        for (int frame = 0; frame < ref->frames; frame++) {
            const cJSON *name = cJSON_GetArrayItem(pictures, frame);
            if (!cJSON_IsString(name)) {
                reference_error(ref, "\"pictures\"[%d] is not a file name", frame);
                goto done;
            }
            if (reference_path(ref, name->valuestring, ref->pictures[frame], PATH_MAX))
                goto done;
        }
    }
    status = 0;
done:
    cJSON_Delete(root);
    return status;
}

/* Binary PPM (P6, maxval 255) as the ffmpeg CLI writes it: RGB24 rows. */
static unsigned char *read_ppm(const char *path, int *width, int *height, char *why,
                               size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_size, "%s", strerror(errno));
        return NULL;
    }
    long fields[3];
    int ok = fgetc(f) == 'P' && fgetc(f) == '6';
    for (int i = 0; ok && i < 3; i++) {
        int c = fgetc(f);
        while (c == '#' || (c != EOF && strchr(" \t\r\n", c))) {
            if (c == '#')
                while (c != EOF && c != '\n')
                    c = fgetc(f);
            c = fgetc(f);
        }
        long value = 0;
        int digits = 0;
        while (c >= '0' && c <= '9' && value < 100000) {
            value = value * 10 + (c - '0');
            digits++;
            c = fgetc(f);
        }
        fields[i] = value;
        /* One whitespace character ends the header's last field. */
        ok = digits > 0 && c != EOF && strchr(" \t\r\n", c);
    }
    ok = ok && fields[0] >= 1 && fields[0] <= 16384 && fields[1] >= 1 && fields[1] <= 16384 &&
         fields[2] == 255;
    if (!ok) {
        fclose(f);
        snprintf(why, why_size, "not a binary 8-bit PPM (P6, maxval 255, at most 16384 px)");
        return NULL;
    }
    size_t bytes = (size_t)fields[0] * fields[1] * 3;
    unsigned char *pixels = malloc(bytes);
    size_t got = pixels ? fread(pixels, 1, bytes, f) : 0;
    fclose(f);
    if (got != bytes) {
        free(pixels);
        snprintf(why, why_size, pixels ? "truncated" : "out of memory");
        return NULL;
    }
    *width = (int)fields[0];
    *height = (int)fields[1];
    return pixels;
}

/* vidsift's preprocess of each reference picture vs the reference's input
 * tensor, in grey levels. Returns 0, or 2 after one line (unreadable picture);
 * *worst receives the largest difference. */
static int compare_preprocess(const vs_manifest *m, const reference *ref, double *worst)
{
    size_t plane = (size_t)m->input_width * m->input_height;
    vs_preprocess *pre = malloc(sizeof *pre);
    float *tensor = malloc(3 * plane * sizeof *tensor);
    AVFrame *picture = av_frame_alloc();
    vs_error err = {{0}};
    int status = 0;
    *worst = 0;
    if (!pre || !tensor || !picture) {
        free(pre);
        free(tensor);
        av_frame_free(&picture);
        fprintf(stderr, "vidsift models verify: out of memory\n");
        return 2;
    }
    if (vs_preprocess_init(pre, m, &err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", err.msg);
        free(pre);
        free(tensor);
        av_frame_free(&picture);
        return 2;
    }
    for (int frame = 0; frame < ref->frames && status == 0; frame++) {
        char why[128];
        int width = 0, height = 0;
        unsigned char *rgb = read_ppm(ref->pictures[frame], &width, &height, why, sizeof why);
        if (!rgb) {
            status = reference_error(ref, "picture %s: %s", ref->pictures[frame], why);
            break;
        }
        /* A borrowed buffer: the frame owns no data, av_frame_free leaves rgb alone. */
        picture->format = AV_PIX_FMT_RGB24;
        picture->width = width;
        picture->height = height;
        picture->data[0] = rgb;
        picture->linesize[0] = 3 * width;
        vs_letterbox geometry;
        if (vs_preprocess_frame(pre, picture, 0, tensor, &geometry, &err) != VS_OK) {
            status = reference_error(ref, "picture %s: %s", ref->pictures[frame], err.msg);
        } else {
            const float *expected = ref->input.data + (size_t)frame * 3 * plane;
            double frame_worst = 0;
            for (int c = 0; c < 3; c++) {
                /* Model units per grey level: value = (pixel * scale - mean) / std. */
                double per_level = m->scale / m->std[c];
                for (size_t i = 0; i < plane; i++) {
                    double d = fabs((double)tensor[c * plane + i] - expected[c * plane + i]) /
                               fabs(per_level);
                    if (!(d <= frame_worst))
                        frame_worst = isnan(d) ? INFINITY : d;
                }
            }
            const char *shown = strrchr(ref->pictures[frame], '/');
            printf("preprocess      frame %d (%s, %dx%d): max|d| %.2e grey levels\n", frame,
                   shown ? shown + 1 : ref->pictures[frame], width, height, frame_worst);
            if (frame_worst > *worst)
                *worst = frame_worst;
        }
        picture->data[0] = NULL;
        free(rgb);
    }
    av_frame_free(&picture);
    vs_preprocess_free(pre);
    free(pre);
    free(tensor);
    return status;
}

/* Runs the reference's input through the model and compares. Returns 0 match,
 * 1 mismatch, 2 model or reference error (one line on stderr). */
static int verify_reference(const vs_manifest *m, vs_torch *torch, const reference *ref)
{
    vs_error err = {{0}};
    int status = 0, problems = 0;
    double preprocess_worst = -1;
    if (ref->pictures && (status = compare_preprocess(m, ref, &preprocess_worst)) != 0)
        return status;

    memcpy(vs_torch_input(torch, 0), ref->input.data, ref->input.count * sizeof(float));
    vs_torch_output outputs[VS_TORCH_MAX_OUTPUTS];
    int count = 0;
    if (vs_torch_submit(torch, 0, ref->frames, &err) != VS_OK ||
        vs_torch_wait(torch, 0, outputs, &count, &err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", err.msg);
        return 2;
    }
    if (count != ref->output_count) {
        printf("MISMATCH        the model returns %d outputs, the reference %d\n", count,
               ref->output_count);
        return 1;
    }
    int64_t shapes[VS_TORCH_MAX_OUTPUTS][4];
    const float *data[VS_TORCH_MAX_OUTPUTS];
    for (int i = 0; i < count; i++) {
        const reference_tensor *want = &ref->outputs[i];
        memcpy(shapes[i], outputs[i].shape, sizeof shapes[i]);
        data[i] = outputs[i].data;
        int same = outputs[i].ndim == want->rank;
        for (int d = 0; same && d < want->rank; d++)
            same = outputs[i].shape[d] == want->shape[d];
        if (!same) {
            char shape[96];
            shape_text(&outputs[i], shape, sizeof shape);
            printf("MISMATCH        output %d (%s) is %s; the reference's has another shape\n", i,
                   want->name, shape);
            return 1;
        }
    }

    void *scratch = malloc(vs_detect_scratch_size(m, shapes[0]));
    vs_detection *found = malloc(VS_MAX_DETECTIONS * sizeof *found);
    if (!scratch || !found) {
        free(scratch);
        free(found);
        fprintf(stderr, "vidsift models verify: out of memory\n");
        return 2;
    }
    double worst_abs[VS_TORCH_MAX_OUTPUTS] = {0}, worst_rel[VS_TORCH_MAX_OUTPUTS] = {0};
    vs_detection_agreement agreement = {.worst_score = 0, .worst_iou = 1};
    int detections_expected = 0, detections_found = 0;
    for (int frame = 0; frame < ref->frames; frame++) {
        char line[512];
        size_t used = 0;
        line[0] = 0;
        for (int i = 0; i < count; i++) {
            const reference_tensor *want = &ref->outputs[i];
            size_t per_frame = want->count / (size_t)ref->frames;
            const float *got = outputs[i].data + (size_t)frame * per_frame;
            const float *expected = want->data + (size_t)frame * per_frame;
            vs_tensor_difference difference = vs_fidelity_compare(got, expected, per_frame);
            double frame_abs = difference.max_abs, frame_rel = difference.max_rel;
            worst_abs[i] = fmax(worst_abs[i], frame_abs);
            worst_rel[i] = fmax(worst_rel[i], frame_rel);
            int n = snprintf(line + used, sizeof line - used, "%s%s max|d| %.2e", i ? ", " : "",
                             want->name, frame_abs);
            used += n > 0 && (size_t)n < sizeof line - used ? (size_t)n : 0;
            if (frame_rel < frame_abs) {
                n = snprintf(line + used, sizeof line - used, " (relative %.2e)", frame_rel);
                used += n > 0 && (size_t)n < sizeof line - used ? (size_t)n : 0;
            }
            if (!vs_fidelity_within(&difference)) {
                printf("MISMATCH        frame %d: %s differs by %.3g (relative %.3g > %g)\n", frame,
                       want->name, frame_abs, frame_rel, VS_FIDELITY_OUTPUT_TOLERANCE);
                problems++;
            }
        }
        int found_count = vs_detect_frame(m, data, (const int64_t(*)[4])shapes, count, frame, NULL,
                                          scratch, found);
        if (found_count < 0) {
            fprintf(stderr, "vidsift models verify: %s: the %s decoder refused the outputs (%d)\n",
                    m->model_path, vs_decoder_name(m->decoder), found_count);
            free(scratch);
            free(found);
            return 2;
        }
        const vs_detection *expected = ref->expected + (size_t)frame * VS_MAX_DETECTIONS;
        int expected_count = ref->expected_count[frame];
        int frame_problems =
            vs_fidelity_match_detections(expected, expected_count, found, found_count, m->labels,
                                         m->classes, frame, stdout, &agreement);
        problems += frame_problems;
        detections_expected += expected_count;
        detections_found += found_count;
        printf("frame %-9d %s; %d detection%s", frame, line, found_count,
               found_count == 1 ? "" : "s");
        for (int k = 0; k < found_count && k < 4; k++)
            printf("%s %s %.2f", k ? "," : ":", m->labels[found[k].class_id], found[k].score);
        printf("%s (reference %d)\n", found_count > 4 ? ", ..." : "", expected_count);
    }
    free(scratch);
    free(found);

    printf("fidelity        %d frames against %s\n", ref->frames, ref->producer);
    for (int i = 0; i < count; i++)
        printf("  %-13s max|d| %.2e, relative %.2e (limit %g)\n", ref->outputs[i].name,
               worst_abs[i], worst_rel[i], VS_FIDELITY_OUTPUT_TOLERANCE);
    printf("  %-13s %d found, %d in the reference; score max|d| %.2e (limit %g), "
           "IoU min %.4f (limit %g)\n",
           "detections", detections_found, detections_expected, agreement.worst_score,
           VS_FIDELITY_SCORE_TOLERANCE, detections_expected ? agreement.worst_iou : 1.0,
           VS_FIDELITY_IOU_MINIMUM);
    if (preprocess_worst >= 0) {
        printf("  %-13s max|d| %.2e grey levels (limit %g)\n", "preprocess", preprocess_worst,
               PICTURE_TOLERANCE);
        if (!(preprocess_worst <= PICTURE_TOLERANCE)) {
            printf("MISMATCH        preprocess differs from the reference's input by %.3g grey "
                   "levels\n",
                   preprocess_worst);
            problems++;
        }
    }
    if (problems) {
        fprintf(stderr,
                "vidsift models verify: %s does not match the reference %s (%d "
                "problem%s above)\n",
                m->model_path, ref->dir, problems, problems == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* The reference must fit the model: same input geometry, and its detections
 * made with the manifest's thresholds (else a "mismatch" would be a setting). */
static int reference_fits(const reference *ref, const vs_manifest *m, const char *manifest_path)
{
    const int64_t *shape = ref->input.shape;
    if (ref->input.rank != 4 || shape[1] != 3 || shape[2] != m->input_height ||
        shape[3] != m->input_width)
        return reference_error(ref, "input is not [N,3,%d,%d], the input of %s", m->input_height,
                               m->input_width, manifest_path);
    if (fabsf(ref->conf - m->conf) > 1e-6f || fabsf(ref->iou - m->iou) > 1e-6f ||
        ref->class_agnostic_nms != m->class_agnostic_nms ||
        ref->max_detections != m->max_detections)
        return reference_error(
            ref,
            "detections were made with conf %g, iou %g, %s NMS, max %d; "
            "%s says conf %g, iou %g, %s NMS, max %d",
            ref->conf, ref->iou, ref->class_agnostic_nms ? "class-agnostic" : "per-class",
            ref->max_detections, manifest_path, m->conf, m->iou,
            m->class_agnostic_nms ? "class-agnostic" : "per-class", m->max_detections);
    for (int frame = 0; frame < ref->frames; frame++)
        for (int k = 0; k < ref->expected_count[frame]; k++) {
            int class_id = ref->expected[(size_t)frame * VS_MAX_DETECTIONS + k].class_id;
            if (class_id < 0 || class_id >= m->classes)
                return reference_error(ref, "frame %d: class %d is not one of the %d of %s", frame,
                                       class_id, m->classes, manifest_path);
        }
    return 0;
}

static int models_verify(int argc, char **argv)
{
    models_options o = {.device = "auto"};
    int first = parse_options(argc, argv, &verify_command, &o);
    if (first < 0)
        return first == -1 ? 0 : 2;
    if (first != argc - 1) {
        fprintf(stderr, "vidsift models verify: give exactly one model NAME or manifest path\n");
        return 2;
    }
    char path[PATH_MAX];
    char dir[PATH_MAX];
    models_dir(&o, dir, sizeof dir);
    cli_manifest_path(argv[first], dir, path, sizeof path);
    if (cli_model_without_manifest("vidsift models verify", argv[first], path))
        return 2;
    vs_manifest *m = load_or_complain("verify", path);
    if (!m)
        return 2;
    vs_error size_err = {{0}};
    if (o.input_width > 0 &&
        vs_manifest_set_input_size(m, o.input_width, o.input_height, &size_err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", size_err.msg);
        free(m);
        return 2;
    }
    printf("manifest        %s: ok (%s, %d labels, input %dx%d)\n", path, m->name, m->classes,
           m->input_width, m->input_height);

    /* The reference is read and checked before the model is opened: a bad
     * reference is a usage problem (2), never reported as a mismatch. */
    reference ref = {0};
    if (o.reference) {
        if (reference_load(&ref, o.reference) || reference_fits(&ref, m, path)) {
            reference_free(&ref);
            free(m);
            return 2;
        }
        printf("reference       %s: %d frame%s, %d output%s, %s\n", ref.index, ref.frames,
               ref.frames == 1 ? "" : "s", ref.output_count, ref.output_count == 1 ? "" : "s",
               ref.pictures ? "with pictures" : "no pictures");
    }

    vs_torch_options options = {
        .model_path = m->model_path,
        .device = o.device,
        .max_batch = ref.frames > VERIFY_FRAMES ? ref.frames : VERIFY_FRAMES,
        .slots = 1,
        .channels = 3,
        .height = m->input_height,
        .width = m->input_width,
        .warmup = 1,
    };
    vs_error err = {{0}};
    vs_torch *torch = NULL;
    double started = now_s();
    if (vs_torch_open(&torch, &options, &err) != VS_OK) {
        fprintf(stderr, "vidsift models verify: %s\n", err.msg);
        reference_free(&ref);
        free(m);
        return 2;
    }
    printf("model           %s: loaded on %s in %.2f s\n", m->model_path,
           vs_torch_device_name(torch), now_s() - started);
    int status = verify_outputs(m, torch);
    if (status == 0 && o.reference) {
        started = now_s();
        status = verify_reference(m, torch, &ref);
        printf("%-16s%.2f s\n", "compared in", now_s() - started);
    }
    vs_torch_close(torch);
    if (status == 0)
        printf("ok              %s is usable%s\n", m->name,
               o.reference ? " and matches the reference" : "");
    reference_free(&ref);
    free(m);
    return status;
}

/* ---- init ------------------------------------------------------------ */

/* Copies src to dst unless dst exists; 0 on success. */
static int copy_if_missing(const char *src, const char *dst)
{
    if (access(dst, F_OK) == 0)
        return 0;
    char *text = read_text(src, 1 << 20);
    if (!text)
        return -1;
    FILE *f = fopen(dst, "wx");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    return ok ? 0 : -1;
}

/* Non-blank lines of a labels file, or -1 if it cannot be read. */
static int count_labels(const char *path)
{
    char *text = read_text(path, 1 << 20);
    if (!text)
        return -1;
    int count = 0, blank = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            count += !blank;
            blank = 1;
        } else if (*p != ' ' && *p != '\t' && *p != '\r') {
            blank = 0;
        }
    }
    count += !blank;
    free(text);
    return count;
}

static int models_init(int argc, char **argv)
{
    const char *decoder = NULL, *labels = NULL, *name = NULL, *dir_option = NULL;
    int force = 0, width = 0, height = 0, option;
    vs_error err = {{0}};
    cli_parser parser;
    cli_parser_init(&parser, &init_command);
    while ((option = cli_next_option(&parser, argc, argv)) != CLI_OPTIONS_DONE) {
        switch (option) {
        case 'D': decoder = optarg; break;
        case 'I':
            if (vs_parse_input_size(optarg, &width, &height, &err) != VS_OK) {
                fprintf(stderr, "vidsift models init: %s\n", err.msg);
                return 2;
            }
            break;
        case 'L': labels = optarg; break;
        case 'N': name = optarg; break;
        case 'F': force = 1; break;
        case 'R': dir_option = optarg; break;
        default: return cli_exit_status(option);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "vidsift models init: give exactly one model file\n");
        cli_print_usage_line(stderr, &init_command);
        return 2;
    }
    static const char *const decoders[] = {"yolov5", "yolov8", "yolo11", "centernet", NULL};
    int known = 0;
    for (int i = 0; decoder && decoders[i]; i++)
        known |= !strcmp(decoder, decoders[i]);
    if (!known) {
        fprintf(stderr, "vidsift models init: --decoder yolov5|yolov8|yolo11|centernet is needed "
                        "(the model file does not say how its output is laid out)\n");
        return 2;
    }
    const char *model = argv[optind];
    size_t length = strlen(model);
    size_t stem = length > 3 && !strcmp(model + length - 3, ".pt")              ? length - 3
                  : length > 12 && !strcmp(model + length - 12, ".torchscript") ? length - 12
                                                                                : 0;
    if (!stem) {
        fprintf(stderr, "vidsift models init: %s: expected a TorchScript file ending in .pt\n",
                model);
        return 2;
    }
    if (access(model, R_OK) != 0) {
        fprintf(stderr, "vidsift models init: %s: %s\n", model, strerror(errno));
        return 2;
    }
    char manifest_path[PATH_MAX], model_dir[PATH_MAX], base[256];
    snprintf(manifest_path, sizeof manifest_path, "%.*s.manifest.json", (int)stem, model);
    const char *slash = strrchr(model, '/');
    snprintf(model_dir, sizeof model_dir, "%.*s", slash ? (int)(slash - model) : 1,
             slash ? model : ".");
    const char *file = slash ? slash + 1 : model;
    snprintf(base, sizeof base, "%.*s", (int)(stem - (size_t)(file - model)), file);
    if (!force && access(manifest_path, F_OK) == 0) {
        fprintf(stderr, "vidsift models init: %s exists (--force replaces it)\n", manifest_path);
        return 2;
    }

    /* Labels: the given file (made absolute, so the manifest works from
     * anywhere), else COCO's, copied beside the model. */
    char labels_field[PATH_MAX + 16], labels_path[PATH_MAX + 16];
    if (labels) {
        if (!realpath(labels, labels_path)) {
            fprintf(stderr, "vidsift models init: --labels %s: %s\n", labels, strerror(errno));
            return 2;
        }
        snprintf(labels_field, sizeof labels_field, "%s", labels_path);
    } else {
        char models[PATH_MAX], coco[PATH_MAX + 16];
        if (dir_option)
            snprintf(models, sizeof models, "%s", dir_option);
        else
            cli_models_dir(models, sizeof models);
        snprintf(coco, sizeof coco, "%s/coco.labels", models);
        snprintf(labels_path, sizeof labels_path, "%s/coco.labels", model_dir);
        if (copy_if_missing(coco, labels_path) != 0) {
            fprintf(stderr, "vidsift models init: cannot copy %s to %s: %s (give --labels)\n", coco,
                    labels_path, strerror(errno));
            return 2;
        }
        snprintf(labels_field, sizeof labels_field, "coco.labels");
    }
    int classes = count_labels(labels_path);
    if (classes < 1) {
        fprintf(stderr, "vidsift models init: %s: no labels\n", labels_path);
        return 2;
    }

    int centernet = !strcmp(decoder, "centernet");
    if (!width)
        width = height = centernet ? 512 : 640;
    cJSON *root = cJSON_CreateObject(), *input = cJSON_CreateObject();
    const double mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    cJSON_AddStringToObject(root, "name", name ? name : base);
    cJSON_AddStringToObject(root, "file", file);
    cJSON_AddNumberToObject(input, "width", width);
    cJSON_AddNumberToObject(input, "height", height);
    cJSON_AddStringToObject(input, "layout", "nchw");
    cJSON_AddStringToObject(input, "colour", "rgb");
    cJSON_AddNumberToObject(input, "scale", 1.0 / 255.0);
    cJSON_AddItemToObject(input, "mean", cJSON_CreateDoubleArray(mean, 3));
    cJSON_AddItemToObject(input, "std", cJSON_CreateDoubleArray(std, 3));
    cJSON_AddStringToObject(input, "resize", centernet ? "stretch" : "letterbox");
    cJSON_AddItemToObject(root, "input", input);
    cJSON_AddStringToObject(root, "decoder", decoder);
    if (centernet) {
        const char *outputs[2] = {"heatmap", "boxes"};
        cJSON_AddItemToObject(root, "outputs", cJSON_CreateStringArray(outputs, 2));
        cJSON_AddNumberToObject(root, "stride", 4);
    } else {
        const char *outputs[1] = {"output"};
        cJSON_AddItemToObject(root, "outputs", cJSON_CreateStringArray(outputs, 1));
    }
    cJSON_AddStringToObject(root, "labels", labels_field);
    cJSON_AddNumberToObject(root, "classes", classes);
    cJSON_AddNumberToObject(root, "conf", centernet ? 0.2 : 0.25);
    cJSON_AddNumberToObject(root, "iou", centernet ? 0.4 : 0.45);
    cJSON_AddNumberToObject(root, "max_detections", 100);
    cJSON_AddBoolToObject(root, "class_agnostic_nms", centernet);
    char source[PATH_MAX + 64];
    snprintf(source, sizeof source, "written by vidsift models init for %s", file);
    cJSON_AddStringToObject(root, "source", source);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "vidsift models init: out of memory\n");
        return 2;
    }
    FILE *f = fopen(manifest_path, "w");
    int written = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        written = 0;
    free(text);
    if (!written) {
        fprintf(stderr, "vidsift models init: cannot write %s: %s\n", manifest_path,
                strerror(errno));
        return 2;
    }
    /* What was written must load: the same strict parser as every command. */
    vs_manifest *m = load_or_complain("init", manifest_path);
    if (!m)
        return 2;
    printf("wrote %s (%s, %dx%d, %d classes); check it with `vidsift models verify %s`\n",
           manifest_path, decoder, m->input_width, m->input_height, m->classes, manifest_path);
    free(m);
    return 0;
}

/* ---- dispatch -------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"list", models_list},
    {"info", models_info},
    {"verify", models_verify},
    {"init", models_init},
};

int cmd_models(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        cli_print_version(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(name, subcommands[i].name))
            return subcommands[i].run(argc - 1, argv + 1);
    enum { SUBCOMMAND_COUNT = sizeof subcommands / sizeof subcommands[0] };
    const char *names[SUBCOMMAND_COUNT];
    for (int i = 0; i < SUBCOMMAND_COUNT; i++)
        names[i] = subcommands[i].name;
    return cli_unknown_command("vidsift models", name, names, SUBCOMMAND_COUNT,
                               "vidsift models COMMAND [OPTIONS] (`vidsift models --help` "
                               "lists them)");
}
