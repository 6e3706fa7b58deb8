# common.bash: shared by the integration tests (sourced, not run: no test of its own).
# Each test runs the built binary ($VIDSIFT) against clips it generates itself.
set -euo pipefail
: "${VIDSIFT:?run through ctest, which sets VIDSIFT}"
: "${VS_MODELS_DIR:?run through ctest, which sets VS_MODELS_DIR}"
export VIDSIFT_MODELS="$VS_MODELS_DIR"
# `vidsift run` defaults to yolov5s. Tests that need *a* model get the tiny deterministic
# CenterNet of models/make_test_models.py (64x64 input; its detections depend only on a
# frame's mean brightness: testsrc2 clips give a person and a car in every frame, see
# models/README.md "Test models"): the real models at 512x512 cost most of the CI's time on
# the 2-core machine while testing the same C code. Tests whose point is a real model's
# detections name it (--model centernet|yolov5s, or REAL_MODEL below); tests about the
# default itself unset this (quality_real_footage.sh).
TINY_MODEL="$VS_MODELS_DIR/test/tiny_centernet.manifest.json"
REAL_MODEL=centernet
[ -f "$TINY_MODEL" ] || { echo "FAIL: $TINY_MODEL missing: run models/prepare.sh" >&2; exit 1; }
export VIDSIFT_DEFAULT_MODEL="$TINY_MODEL"
TEST_NAME=$(basename "$0" .sh)
WORK="${VS_TEST_TMP:-/tmp/vidsift-test}/$TEST_NAME"
rm -rf "$WORK" && mkdir -p "$WORK"
FORENSICS=/usr/share/forensics-samples/original-files
PASSED=0

fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
finish() { echo "$PASSED passed, 0 failed"; }

# forensics_inputs DIR: the real footage the real-model tests read, in DIR: the 1080p dog clip
# whole (dog.mp4, 41 frames) and the first 60 frames of the 720p desk clip (hello60.mp4), which
# keep the suite short.
forensics_inputs() {
    local dir=$1 dog="$FORENSICS/movie1/VID_20191220_170832.mp4"
    local hello="$FORENSICS/movie2/movie-hello.mp4"
    [ -f "$dog" ] && [ -f "$hello" ] || fail "forensics-samples-files is not installed (setup.sh installs it)"
    mkdir -p "$dir"
    ln -sf "$dog" "$dir/dog.mp4"
    ffmpeg -nostdin -loglevel error -i "$hello" -frames:v 60 -c copy "$dir/hello60.mp4" ||
        fail "could not cut movie-hello.mp4"
}

# make_clip OUT SIZE FRAMES [RATE] [extra ffmpeg output options...]
make_clip() {
    local out=$1 size=$2 frames=$3 rate=${4:-10}; shift 4 || shift $#
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=$rate" \
        -frames:v "$frames" "$@" "$out" || fail "could not make $out"
}

# make_bright_clip OUT SIZE FRAMES [RATE] [extra ffmpeg output options...]: testsrc2 lifted
# towards white (mean level ~0.86), for tests that need the tiny model's strong rows in every
# frame: person ~0.62, car ~0.52, toothbrush ~0.34 (plain testsrc2: person ~0.32, car ~0.27).
make_bright_clip() {
    local out=$1 size=$2 frames=$3 rate=${4:-10}; shift 4 || shift $#
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=$size:rate=$rate" \
        -vf "lutrgb=r=191+val/4:g=191+val/4:b=191+val/4" -frames:v "$frames" "$@" "$out" ||
        fail "could not make $out"
}

# sql DB QUERY: one value
sql() { sqlite3 -batch -noheader "$1" "$2"; }

# frames_in FILE: decoded video frames, counted by ffprobe
frames_in() {
    ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames \
        -of default=nw=1:nk=1 "$1"
}

# run_vidsift EXPECTED_STATUS ARGS...: runs `vidsift run`, checks the exit status
run_vidsift() {
    local expected=$1; shift
    local status=0
    "$VIDSIFT" run --progress never "$@" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
    if [ "$status" -ne "$expected" ]; then
        cat "$WORK/stderr" >&2
        fail "vidsift run $* exited $status, expected $expected"
    fi
}

# detections DB: one line per detection, in a stable order, for comparing runs
detections() {
    sql "$1" "select v.path, d.frame_index, d.label, printf('%.3f', d.score),
              printf('%.1f %.1f %.1f %.1f', d.x1, d.y1, d.x2, d.y2)
              from detections d join videos v on v.id = d.video_id
              order by v.path, d.frame_index, d.score desc, d.x1"
}

# check_export DB TABLE ID_COLUMN: `vidsift export DB --table TABLE` as csv and jsonl has
# one row per row of the table (sqlite3's count), the table's columns after video and
# video_id, and each JSON line parses and carries the track id, the class and the id column.
check_export() {
    local db=$1 table=$2 id=$3 format
    for format in csv jsonl; do
        "$VIDSIFT" export "$db" --format $format --table "$table" >"$WORK/$table.$format" \
            2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "export --table $table --format $format failed"; }
    done
    python3 - "$WORK/$table.csv" "$WORK/$table.jsonl" "$(sql "$db" "select count(*) from $table")" \
        "video,video_id,$(sql "$db" "select group_concat(name, ',') from pragma_table_info('$table')
                                     where name not in ('id', 'video_id')")" "$id" <<'PY' ||
import csv, json, sys
csv_path, jsonl_path, count, header, id_column = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = list(csv.reader(open(csv_path, newline="")))
assert ",".join(rows[0]) == header, f"csv header {rows[0]}, expected {header}"
assert len(rows) - 1 == count, f"csv: {len(rows) - 1} rows, the table has {count}"
lines = open(jsonl_path).read().splitlines()
assert len(lines) == count, f"jsonl: {len(lines)} lines, the table has {count}"
for line in lines:
    row = json.loads(line)
    assert list(row) == header.split(","), f"jsonl keys {list(row)}"
    assert isinstance(row["track_id"], int) and isinstance(row[id_column], (int, str)), row
    assert isinstance(row["class_id"], int) and isinstance(row["label"], str), row
print(f"{count} rows")
PY
        fail "export --table $table does not match the table"
}
# same_detections A B: the two listings (from `detections`) hold the same rows:
# same video, frame and label, score within 0.001, box within 0.5 px. Batch
# sizes change the order of float sums inside the model, so equality to the
# last printed digit would test the BLAS, not vidsift.
same_detections() {
    python3 - "$1" "$2" <<'PY'
import sys
def rows(path):
    out = []
    for line in open(path):
        video, frame, label, score, box = line.rstrip("\n").split("|")
        out.append((video, int(frame), label, float(score), [float(v) for v in box.split()]))
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if len(a) != len(b):
    sys.exit(f"{len(a)} rows against {len(b)}")
for x, y in zip(a, b):
    if x[:3] != y[:3] or abs(x[3] - y[3]) > 1e-3 or max(abs(p - q) for p, q in zip(x[4], y[4])) > 0.5:
        sys.exit(f"differ: {x} against {y}")
PY
}
