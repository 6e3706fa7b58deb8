/* track.c: ByteTrack (see track.h for the algorithm and its guarantees).
 *
 * DESIGN
 * Tracks live in one array of `capacity` slots allocated with the tracker;
 * a removed track is swapped with the last live one. Every per-frame matrix
 * (costs, assignment scratch, match tables) is allocated once too, so
 * vs_tracker_update never allocates: the run's memory stays flat.
 *
 * Deviations from the reference, each for a reason:
 *   - Prediction steps by the time since the last analysed frame (in steps
 *     of 1/reference_fps) instead of by one frame, so --every and
 *     --sample-fps keep a moving object inside its predicted box.
 *   - A new track gets its id when it is confirmed, not when it is born:
 *     ids of one video are then 1, 2, 3... without the gaps the reference
 *     leaves for one-frame false positives.
 *   - When a tracked and a lost track overlap (IoU > 0.85), the lost one is
 *     removed; the reference may remove the tracked one, whose box of this
 *     frame would then have no id. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "track.h"

#define CLASS_SLOTS 4 /* distinct classes remembered per track for the majority */
#define STD_POSITION (1.0 / 20.0)
#define STD_VELOCITY (1.0 / 160.0)
#define DUPLICATE_COST 0.15 /* 1 - IoU below this: the same object twice */

typedef enum track_state {
    TRACK_NEW,     /* born on the last analysed frame, not confirmed, no id */
    TRACK_TRACKED, /* matched on the last analysed frame */
    TRACK_LOST,    /* unmatched since last_seen_s */
} track_state;

typedef struct track {
    double mean[8];   /* cx, cy, aspect, height and their velocities per step */
    double cov[64];   /* row-major 8x8 */
    double mean_s;    /* the time mean/cov describe */
    vs_detection box; /* the box mean describes: refreshed after each predict and update */
    track_state state;
    int id; /* 0 until confirmed */
    vs_track_summary summary;
    int class_ids[CLASS_SLOTS];
    int64_t class_counts[CLASS_SLOTS];
} track;

struct vs_tracker {
    vs_track_params params;
    int capacity, max_detections;
    track *tracks;
    int live;
    int next_id;
    int64_t updates; /* analysed frames seen in this video */
    vs_track_summary *ended;
    int ended_count;
    /* per-update scratch, allocated once */
    double *cost;     /* capacity x max_detections */
    void *assign;     /* vs_assign scratch */
    int *track_match; /* per track: detection index or -1 */
    int *det_match;   /* per detection: track slot or -1 */
    int *rows, *cols; /* indices taking part in one association */
    int *row_match;
};

vs_track_params vs_track_params_default(void)
{
    vs_track_params p = {.high = 0.5f,
                         .low = 0.1f,
                         .new_track = 0.6f,
                         .match = 0.8f,
                         .match_low = 0.5f,
                         .match_unconfirmed = 0.7f,
                         .buffer_s = 1.0,
                         .reference_fps = 30.0};
    return p;
}

int vs_track_params_check(const vs_track_params *p, vs_error *err)
{
    if (!(p->low > 0 && p->low <= p->high && p->high <= 1))
        return vs_fail(err, VS_EINVAL,
                       "--track-low %.3g must be above 0 and at most --track-high %.3g (<= 1)",
                       p->low, p->high);
    if (!(p->new_track >= p->high && p->new_track <= 1))
        return vs_fail(err, VS_EINVAL, "--track-new %.3g must be between --track-high %.3g and 1",
                       p->new_track, p->high);
    if (!(p->match > 0 && p->match < 1))
        return vs_fail(err, VS_EINVAL, "--track-match %.3g must be between 0 and 1", p->match);
    if (!(p->buffer_s >= 0 && p->buffer_s <= 3600))
        return vs_fail(err, VS_EINVAL, "--track-buffer %.3g must be 0-3600 seconds", p->buffer_s);
    return VS_OK;
}

/* ---- linear assignment ---------------------------------------------- */

/* The Hungarian method with potentials on an n x m matrix, n <= m (the
 * shortest augmenting path form, O(n^2 m)). Costs are clipped at `limit`:
 * a pair at the limit costs what leaving its row and column unmatched
 * costs, so the optimum of the clipped square problem is the optimum with
 * unmatched rows and columns allowed; pairs at the limit are then dropped. */
static size_t hungarian_scratch(int rows, int cols)
{
    size_t m = (size_t)(rows > cols ? rows : cols) + 1;
    size_t n = (size_t)(rows < cols ? rows : cols) + 1;
    return n + 5 * m; /* u, v, minv, p, way, used */
}

size_t vs_assign_scratch_doubles(int rows, int cols)
{
    /* per row: feasible count, last feasible column, own match, reduced index;
     * per column: count, reduced index; the reduced matrix; the method's room */
    return 4 * (size_t)rows + 2 * (size_t)cols + (size_t)rows * cols +
           hungarian_scratch(rows, cols);
}

static int hungarian(const double *cost, int rows, int cols, double limit, int *row_match,
                     double *scratch)
{
    for (int r = 0; r < rows; r++)
        row_match[r] = -1;
    if (rows == 0 || cols == 0)
        return 0;
    int transposed = rows > cols;
    int n = transposed ? cols : rows, m = transposed ? rows : cols;
    double *u = scratch, *v = u + n + 1, *minv = v + m + 1;
    double *p = minv + m + 1, *way = p + m + 1, *used = way + m + 1; /* small ints as doubles */
#define COST(i, j)                                                                                 \
    fmin(transposed ? cost[(size_t)((j)-1) * cols + ((i)-1)]                                       \
                    : cost[(size_t)((i)-1) * cols + ((j)-1)],                                      \
         limit)
    for (int j = 0; j <= m; j++)
        v[j] = p[j] = way[j] = 0;
    for (int i = 0; i <= n; i++)
        u[i] = 0;
    for (int i = 1; i <= n; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= m; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            int i0 = (int)p[j0], j1 = 0;
            double delta = INFINITY;
            for (int j = 1; j <= m; j++) {
                if (used[j])
                    continue;
                double reduced = COST(i0, j) - u[i0] - v[j];
                if (reduced < minv[j]) {
                    minv[j] = reduced;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            assert(j1 > 0);
            for (int j = 0; j <= m; j++) {
                if (used[j]) {
                    u[(int)p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int j1 = (int)way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
#undef COST
    int matched = 0;
    for (int j = 1; j <= m; j++) {
        if (p[j] == 0)
            continue;
        int r = transposed ? j - 1 : (int)p[j] - 1, c = transposed ? (int)p[j] - 1 : j - 1;
        if (cost[(size_t)r * cols + c] <= limit) {
            row_match[r] = c;
            matched++;
        }
    }
    return matched;
}

/* Most objects overlap one box only: a row and a column that can only pair
 * with each other are matched at once (their pair is a component of its
 * own, and pairing costs no more than leaving both), rows and columns that
 * can pair with nothing drop out, and only what is left - the objects close
 * to each other - goes to the O(n^3) method. */
int vs_assign(const double *cost, int rows, int cols, double limit, int *row_match, double *scratch)
{
    for (int r = 0; r < rows; r++)
        row_match[r] = -1;
    if (rows == 0 || cols == 0)
        return 0;
    double *row_count = scratch, *row_last = row_count + rows, *direct = row_last + rows,
           *sub_rows = direct + rows, *col_count = sub_rows + rows, *sub_cols = col_count + cols,
           *sub = sub_cols + cols;
    for (int r = 0; r < rows; r++)
        row_count[r] = 0, direct[r] = -1;
    for (int c = 0; c < cols; c++)
        col_count[c] = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            if (cost[(size_t)r * cols + c] <= limit) {
                row_count[r]++;
                row_last[r] = c;
                col_count[c]++;
            }
    int nr = 0, nc = 0;
    for (int r = 0; r < rows; r++) {
        int c = (int)row_last[r];
        if (row_count[r] == 1 && col_count[c] == 1) {
            direct[r] = c;
            col_count[c] = 0; /* taken: not in the reduced problem */
        } else if (row_count[r] > 0) {
            sub_rows[nr++] = r;
        }
    }
    for (int c = 0; c < cols; c++)
        if (col_count[c] > 0)
            sub_cols[nc++] = c;
    int matched = 0;
    if (nr > 0 && nc > 0) {
        double *rest = sub + (size_t)nr * nc;
        for (int i = 0; i < nr; i++)
            for (int j = 0; j < nc; j++)
                sub[(size_t)i * nc + j] = cost[(size_t)sub_rows[i] * cols + (int)sub_cols[j]];
        /* row_match[0..nr) holds the reduced answer for a moment */
        hungarian(sub, nr, nc, limit, row_match, rest);
        for (int i = 0; i < nr; i++)
            sub_rows[i] =
                row_match[i] >= 0 ? sub_rows[i] * (cols + 1) + sub_cols[row_match[i]] : -1;
        for (int i = 0; i < nr; i++)
            row_match[i] = -1;
        for (int i = 0; i < nr; i++)
            if (sub_rows[i] >= 0) {
                int r = (int)sub_rows[i] / (cols + 1), c = (int)sub_rows[i] % (cols + 1);
                row_match[r] = c;
                matched++;
            }
    }
    for (int r = 0; r < rows; r++)
        if (direct[r] >= 0) {
            row_match[r] = (int)direct[r];
            matched++;
        }
    return matched;
}

/* ---- Kalman filter on (cx, cy, a, h) ---------------------------------- */

static void to_measurement(const vs_detection *d, double z[4])
{
    double w = d->x2 - d->x1, h = d->y2 - d->y1;
    if (h < 1e-3)
        h = 1e-3;
    z[0] = d->x1 + w / 2;
    z[1] = d->y1 + h / 2;
    z[2] = w / h;
    z[3] = h;
}

static vs_detection track_box(const track *t)
{
    double h = t->mean[3], w = t->mean[2] * h;
    vs_detection d = {.x1 = (float)(t->mean[0] - w / 2),
                      .y1 = (float)(t->mean[1] - h / 2),
                      .x2 = (float)(t->mean[0] + w / 2),
                      .y2 = (float)(t->mean[1] + h / 2),
                      .score = 1.0f};
    return d;
}

static void kalman_initiate(track *t, const double z[4])
{
    double h = z[3];
    double std[8] = {2 * STD_POSITION * h,  2 * STD_POSITION * h,  1e-2, 2 * STD_POSITION * h,
                     10 * STD_VELOCITY * h, 10 * STD_VELOCITY * h, 1e-5, 10 * STD_VELOCITY * h};
    memset(t->mean, 0, sizeof t->mean);
    memcpy(t->mean, z, 4 * sizeof *z);
    memset(t->cov, 0, sizeof t->cov);
    for (int i = 0; i < 8; i++)
        t->cov[i * 8 + i] = std[i] * std[i];
}

/* Constant velocity over `steps` reference frames: x += steps * v, and the
 * process noise grows with the steps taken. */
static void kalman_predict(track *t, double steps)
{
    if (steps <= 0)
        return;
    if (t->state != TRACK_TRACKED)
        t->mean[7] = 0; /* as the reference: a lost box keeps its height */
    double h = t->mean[3];
    double std[8] = {STD_POSITION * h, STD_POSITION * h, 1e-2, STD_POSITION * h,
                     STD_VELOCITY * h, STD_VELOCITY * h, 1e-5, STD_VELOCITY * h};
    for (int i = 0; i < 4; i++)
        t->mean[i] += steps * t->mean[4 + i];
    /* P = F P F^T with F = [I steps*I; 0 I]: rows then columns. */
    double *P = t->cov;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            P[i * 8 + j] += steps * P[(i + 4) * 8 + j];
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 8; i++)
            P[i * 8 + j] += steps * P[i * 8 + j + 4];
    for (int i = 0; i < 8; i++)
        P[i * 8 + i] += steps * std[i] * std[i];
}

/* Inverts a symmetric positive definite 4x4 by Gauss-Jordan; returns 0 if singular. */
static int invert4(const double in[16], double out[16])
{
    double a[4][8];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            a[i][j] = j < 4 ? in[i * 4 + j] : (j - 4 == i);
    for (int c = 0; c < 4; c++) {
        int pivot = c;
        for (int r = c + 1; r < 4; r++)
            if (fabs(a[r][c]) > fabs(a[pivot][c]))
                pivot = r;
        if (fabs(a[pivot][c]) < 1e-300)
            return 0;
        for (int j = 0; j < 8; j++) {
            double tmp = a[c][j];
            a[c][j] = a[pivot][j];
            a[pivot][j] = tmp;
        }
        double d = a[c][c];
        for (int j = 0; j < 8; j++)
            a[c][j] /= d;
        for (int r = 0; r < 4; r++) {
            if (r == c || a[r][c] == 0)
                continue;
            double f = a[r][c];
            for (int j = 0; j < 8; j++)
                a[r][j] -= f * a[c][j];
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            out[i * 4 + j] = a[i][j + 4];
    return 1;
}

static void kalman_update(track *t, const double z[4])
{
    double h = t->mean[3];
    double r[4] = {STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h};
    double *P = t->cov;
    double S[16], Sinv[16], K[32];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            S[i * 4 + j] = P[i * 8 + j] + (i == j ? r[i] * r[i] : 0);
    if (!invert4(S, Sinv))
        return;                 /* cannot happen with R > 0; keep the prediction */
    for (int i = 0; i < 8; i++) /* K = P H^T S^-1; P H^T is P's first 4 columns */
        for (int j = 0; j < 4; j++) {
            double sum = 0;
            for (int k = 0; k < 4; k++)
                sum += P[i * 8 + k] * Sinv[k * 4 + j];
            K[i * 4 + j] = sum;
        }
    double innovation[4];
    for (int k = 0; k < 4; k++)
        innovation[k] = z[k] - t->mean[k];
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            t->mean[i] += K[i * 4 + k] * innovation[k];
    double HP[32]; /* H P: P's first 4 rows, read before P changes */
    memcpy(HP, P, sizeof HP);
    for (int i = 0; i < 8; i++) /* P -= K (H P) */
        for (int j = 0; j < 8; j++) {
            double sum = 0;
            for (int k = 0; k < 4; k++)
                sum += K[i * 4 + k] * HP[k * 8 + j];
            P[i * 8 + j] -= sum;
        }
}

/* ---- tracks ------------------------------------------------------------ */

int vs_tracker_create(const vs_track_params *params, int capacity, int max_detections,
                      vs_tracker **out, vs_error *err)
{
    *out = NULL;
    int status = vs_track_params_check(params, err);
    if (status != VS_OK)
        return status;
    if (capacity < 1 || max_detections < 1)
        return vs_fail(err, VS_EINVAL, "tracker: capacity %d and detections %d must be >= 1",
                       capacity, max_detections);
    vs_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return vs_fail(err, VS_ENOMEM, "out of memory for the tracker");
    t->params = *params;
    t->capacity = capacity;
    t->max_detections = max_detections;
    int most = capacity > max_detections ? capacity : max_detections;
    t->tracks = calloc((size_t)capacity, sizeof *t->tracks);
    t->ended = calloc((size_t)capacity, sizeof *t->ended);
    t->cost = calloc((size_t)capacity * (size_t)max_detections, sizeof *t->cost);
    t->assign = calloc(vs_assign_scratch_doubles(capacity, max_detections), sizeof(double));
    t->track_match = calloc((size_t)capacity, sizeof(int));
    t->det_match = calloc((size_t)max_detections, sizeof(int));
    t->rows = calloc((size_t)most, sizeof(int));
    t->cols = calloc((size_t)most, sizeof(int));
    t->row_match = calloc((size_t)most, sizeof(int));
    if (!t->tracks || !t->ended || !t->cost || !t->assign || !t->track_match || !t->det_match ||
        !t->rows || !t->cols || !t->row_match) {
        vs_tracker_destroy(t);
        return vs_fail(err, VS_ENOMEM, "out of memory for the tracker (%d tracks)", capacity);
    }
    vs_tracker_reset(t);
    *out = t;
    return VS_OK;
}

void vs_tracker_destroy(vs_tracker *t)
{
    if (!t)
        return;
    free(t->tracks);
    free(t->ended);
    free(t->cost);
    free(t->assign);
    free(t->track_match);
    free(t->det_match);
    free(t->rows);
    free(t->cols);
    free(t->row_match);
    free(t);
}

void vs_tracker_reset(vs_tracker *t)
{
    t->live = 0;
    t->next_id = 1;
    t->updates = 0;
    t->ended_count = 0;
}

int vs_tracker_live(const vs_tracker *t)
{
    return t->live;
}

int vs_tracker_ended(const vs_tracker *t, const vs_track_summary **out)
{
    *out = t->ended;
    return t->ended_count;
}

int vs_tracker_box(const vs_tracker *t, int id, vs_detection *box)
{
    for (int i = 0; i < t->live; i++)
        if (t->tracks[i].id == id && id > 0) {
            *box = track_box(&t->tracks[i]);
            box->class_id = t->tracks[i].summary.class_id;
            return 1;
        }
    return 0;
}

static void count_class(track *t, int class_id)
{
    int weakest = 0;
    for (int k = 0; k < CLASS_SLOTS; k++) {
        if (t->class_counts[k] > 0 && t->class_ids[k] == class_id) {
            t->class_counts[k]++;
            goto majority;
        }
        if (t->class_counts[k] < t->class_counts[weakest])
            weakest = k;
    }
    /* a new class takes an empty slot, or the rarest one's (which then cannot win) */
    t->class_ids[weakest] = class_id;
    t->class_counts[weakest] = 1;
majority:;
    int best = 0; /* ties go to the class seen first in the slots: stable */
    for (int k = 1; k < CLASS_SLOTS; k++)
        if (t->class_counts[k] > t->class_counts[best])
            best = k;
    t->summary.class_id = t->class_ids[best];
}

static void observe(track *t, const vs_detection *d, int64_t frame_index, double time_s)
{
    if (t->summary.detections == 0) {
        t->summary.first_frame = frame_index;
        t->summary.first_s = time_s;
    }
    t->summary.last_frame = frame_index;
    t->summary.last_s = time_s;
    t->summary.detections++;
    t->summary.score_sum += d->score;
    count_class(t, d->class_id);
}

/* Removes slot i (swapping the last live track in); a confirmed track is
 * reported in `ended`. */
static void remove_track(vs_tracker *tr, int i)
{
    assert(i >= 0 && i < tr->live);
    if (tr->tracks[i].id > 0) {
        assert(tr->ended_count < tr->capacity);
        tr->ended[tr->ended_count] = tr->tracks[i].summary;
        tr->ended[tr->ended_count++].id = tr->tracks[i].id;
    }
    tr->tracks[i] = tr->tracks[--tr->live];
    tr->track_match[i] = tr->track_match[tr->live];
}

/* IoU of two boxes with x1 <= x2 and y1 <= y2 (the detector's and the
 * filter's are): most pairs of a frame do not overlap and leave at once. */
static float box_iou(const vs_detection *a, const vs_detection *b)
{
    float w = (a->x2 < b->x2 ? a->x2 : b->x2) - (a->x1 > b->x1 ? a->x1 : b->x1);
    if (w <= 0)
        return 0;
    float h = (a->y2 < b->y2 ? a->y2 : b->y2) - (a->y1 > b->y1 ? a->y1 : b->y1);
    if (h <= 0)
        return 0;
    float inter = w * h;
    float area = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
    return area > 0 ? inter / area : 0;
}

static float det_score_cost(const track *t, const vs_detection *d, int fuse)
{
    float iou = box_iou(&t->box, d);
    return 1.0f - (fuse ? iou * d->score : iou);
}

/* Matches the tracks `rows` against the detections `cols` (both index
 * lists) on IoU (times the score when fuse), pairs costing at most limit;
 * records pairs in track_match/det_match. */
static void associate(vs_tracker *tr, const vs_detection *dets, int nrows, int ncols, int fuse,
                      double limit)
{
    if (nrows == 0 || ncols == 0)
        return;
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            tr->cost[(size_t)r * ncols + c] =
                det_score_cost(&tr->tracks[tr->rows[r]], &dets[tr->cols[c]], fuse);
    vs_assign(tr->cost, nrows, ncols, limit, tr->row_match, tr->assign);
    for (int r = 0; r < nrows; r++) {
        if (tr->row_match[r] < 0)
            continue;
        int slot = tr->rows[r], det = tr->cols[tr->row_match[r]];
        tr->track_match[slot] = det;
        tr->det_match[det] = slot;
    }
}

int vs_tracker_update(vs_tracker *tr, const vs_detection *dets, int count, int64_t frame_index,
                      double time_s, int *track_ids)
{
    const vs_track_params *p = &tr->params;
    assert(count >= 0 && count <= tr->max_detections);
    tr->ended_count = 0;
    for (int d = 0; d < count; d++)
        tr->det_match[d] = -1;
    for (int i = 0; i < tr->live; i++) {
        track *t = &tr->tracks[i];
        tr->track_match[i] = -1;
        kalman_predict(t, (time_s - t->mean_s) * p->reference_fps);
        if (time_s > t->mean_s)
            t->mean_s = time_s;
        t->box = track_box(t);
    }

    /* 1. confirmed tracks (tracked or lost) x high boxes, IoU fused with score */
    int nrows = 0, ncols = 0;
    for (int i = 0; i < tr->live; i++)
        if (tr->tracks[i].state != TRACK_NEW)
            tr->rows[nrows++] = i;
    for (int d = 0; d < count; d++)
        if (dets[d].score >= p->high)
            tr->cols[ncols++] = d;
    associate(tr, dets, nrows, ncols, 1, p->match);

    /* 2. tracks tracked until now and still unmatched x low boxes, IoU alone */
    nrows = ncols = 0;
    for (int i = 0; i < tr->live; i++)
        if (tr->tracks[i].state == TRACK_TRACKED && tr->track_match[i] < 0)
            tr->rows[nrows++] = i;
    for (int d = 0; d < count; d++)
        if (dets[d].score >= p->low && dets[d].score < p->high)
            tr->cols[ncols++] = d;
    associate(tr, dets, nrows, ncols, 0, p->match_low);

    /* 3. last frame's new tracks x high boxes left */
    nrows = ncols = 0;
    for (int i = 0; i < tr->live; i++)
        if (tr->tracks[i].state == TRACK_NEW)
            tr->rows[nrows++] = i;
    for (int d = 0; d < count; d++)
        if (dets[d].score >= p->high && tr->det_match[d] < 0)
            tr->cols[ncols++] = d;
    associate(tr, dets, nrows, ncols, 1, p->match_unconfirmed);

    /* Apply the matches; unmatched tracks become lost (or die if new). */
    for (int i = 0; i < tr->live; i++) {
        track *t = &tr->tracks[i];
        int d = tr->track_match[i];
        if (d >= 0) {
            double z[4];
            to_measurement(&dets[d], z);
            kalman_update(t, z);
            t->box = track_box(t);
            if (t->state == TRACK_NEW)
                t->id = tr->next_id++;
            t->state = TRACK_TRACKED;
            observe(t, &dets[d], frame_index, time_s);
        } else if (t->state == TRACK_TRACKED) {
            t->state = TRACK_LOST;
        }
    }
    for (int i = tr->live - 1; i >= 0; i--) {
        const track *t = &tr->tracks[i];
        if ((t->state == TRACK_NEW && tr->track_match[i] < 0) ||
            (t->state == TRACK_LOST && time_s - t->summary.last_s > p->buffer_s))
            remove_track(tr, i);
    }
    /* A lost track on top of a tracked one is the same object found again
     * under a new id: forget the lost one. */
    for (int i = tr->live - 1; i >= 0; i--) {
        if (tr->tracks[i].state != TRACK_LOST)
            continue;
        for (int j = 0; j < tr->live; j++)
            if (tr->tracks[j].state == TRACK_TRACKED && tr->track_match[j] >= 0 &&
                det_score_cost(&tr->tracks[j], &tr->tracks[i].box, 0) < DUPLICATE_COST) {
                remove_track(tr, i);
                break;
            }
    }

    /* Ids for the boxes, read before new tracks take slots. */
    for (int d = 0; d < count; d++) {
        int slot = tr->det_match[d];
        track_ids[d] = dets[d].score >= p->high ? 0 : -1;
        if (slot >= 0)
            track_ids[d] = -2; /* resolved below: slots moved when tracks were removed */
    }
    for (int i = 0; i < tr->live; i++)
        if (tr->track_match[i] >= 0)
            track_ids[tr->track_match[i]] = tr->tracks[i].id;
    for (int d = 0; d < count; d++)
        if (track_ids[d] == -2) /* its track was removed as a duplicate: cannot happen */
            track_ids[d] = 0;

    /* 4. high boxes nobody claimed start tracks (confirmed at once on the
     * video's first analysed frame). */
    for (int d = 0; d < count; d++) {
        if (track_ids[d] != 0 || dets[d].score < p->new_track)
            continue;
        if (tr->live == tr->capacity) { /* full: the lost track unseen longest goes */
            int oldest = -1;
            for (int i = 0; i < tr->live; i++)
                if (tr->tracks[i].state == TRACK_LOST &&
                    (oldest < 0 ||
                     tr->tracks[i].summary.last_s < tr->tracks[oldest].summary.last_s))
                    oldest = i;
            if (oldest < 0)
                break; /* every slot follows a visible object: no room */
            remove_track(tr, oldest);
        }
        track *t = &tr->tracks[tr->live];
        tr->track_match[tr->live] = d;
        tr->live++;
        memset(t, 0, sizeof *t);
        double z[4];
        to_measurement(&dets[d], z);
        kalman_initiate(t, z);
        t->box = track_box(t);
        t->mean_s = time_s;
        t->state = TRACK_NEW;
        observe(t, &dets[d], frame_index, time_s);
        if (tr->updates == 0) {
            t->state = TRACK_TRACKED;
            t->id = tr->next_id++;
            track_ids[d] = t->id;
        }
    }
    tr->updates++;
    return tr->ended_count;
}

int vs_tracker_finish(vs_tracker *tr)
{
    tr->ended_count = 0;
    while (tr->live > 0)
        remove_track(tr, tr->live - 1);
    tr->updates = 0;
    tr->next_id = 1;
    return tr->ended_count;
}

int vs_track_bench(int objects, int frames, double *ms_per_frame, vs_error *err)
{
    *ms_per_frame = 0;
    if (objects < 1 || objects > VS_MAX_DETECTIONS || frames < 1)
        return vs_fail(err, VS_EINVAL, "tracker bench: 1-%d objects and >= 1 frame",
                       VS_MAX_DETECTIONS);
    vs_track_params params = vs_track_params_default();
    vs_tracker *tracker;
    int status =
        vs_tracker_create(&params, 4 * VS_MAX_DETECTIONS, VS_MAX_DETECTIONS, &tracker, err);
    if (status != VS_OK)
        return status;
    vs_detection dets[VS_MAX_DETECTIONS];
    int ids[VS_MAX_DETECTIONS];
    uint32_t seed = 1;
    double total_ms = 0;
    for (int f = 0; f < frames; f++) {
        /* objects on a grid of a 1920x1080 picture, each walking its own way
         * with a pixel of jitter; a tenth of the boxes are weak (second pass) */
        for (int i = 0; i < objects; i++) {
            seed = seed * 1664525u + 1013904223u;
            double jitter = ((seed >> 8) / (double)(1u << 24)) - 0.5;
            double x = 60 + (i % 10) * 180 + ((i * 7) % 5 - 2) * f * 0.5 + jitter;
            double y = 80 + (i / 10) * 200 + ((i * 3) % 5 - 2) * f * 0.3 + jitter;
            dets[i] = (vs_detection){.x1 = (float)x,
                                     .y1 = (float)y,
                                     .x2 = (float)(x + 50),
                                     .y2 = (float)(y + 120),
                                     .score = i % 10 == 9 ? 0.3f : 0.8f};
        }
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        vs_tracker_update(tracker, dets, objects, f, f / 30.0, ids);
        clock_gettime(CLOCK_MONOTONIC, &b);
        total_ms += (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    }
    vs_tracker_destroy(tracker);
    *ms_per_frame = total_ms / frames;
    return VS_OK;
}
