# Outputs never collide (issue 12, item 2): two inputs with the same name
# below their roots (cam1/clip.mp4 and cam2/clip.mp4), and a.mkv beside
# a.mkv.mp4 (whose annotated copies would both be a.mkv.mp4), each get their
# own annotated video and snapshot directory, given as files or as
# directories, in one run or across runs sharing a database; a rerun of a
# video writes to the place it was given. Each clip has its own frame count,
# so an annotated file overwritten by another video's shows.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in/cam1" "$WORK/in/cam2" "$WORK/in/x"
make_clip "$WORK/in/cam1/clip.mp4" 96x64 3
make_clip "$WORK/in/cam2/clip.mp4" 96x64 4
make_clip "$WORK/in/x/a.mkv" 96x64 5
make_clip "$WORK/in/x/a.mkv.mp4" 96x64 6
make_clip "$WORK/in/x/A.MKV" 96x64 7

# check_outputs DB CONTEXT: every video done, with an annotated file and a
# snapshot directory of its own (compared case-folded), which exist and hold
# that video's frames.
check_outputs() {
    python3 - "$1" "$2" <<'PY' || fail "$2: outputs collide or are missing"
import os, sqlite3, subprocess, sys
db, context = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
videos = con.execute("select id, path, status, frames, annotated_path from videos").fetchall()
assert videos, "no videos"
annotated, snapshot_dirs = {}, {}
for vid, path, status, frames, annotated_path in videos:
    assert status == "done", (path, status)
    assert annotated_path, (path, "no annotated path")
    key = annotated_path.lower()
    assert key not in annotated, f"{path} and {annotated[key]} share {annotated_path}"
    annotated[key] = path
    assert os.path.isfile(annotated_path), (path, annotated_path, "missing")
    counted = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                              "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                              annotated_path], capture_output=True, text=True).stdout.strip()
    assert int(counted) == frames, f"{annotated_path}: {counted} frames, {path} has {frames}"
    dirs = {os.path.dirname(p) for (p,) in con.execute(
        "select path from snapshots where video_id = ?", (vid,))}
    assert len(dirs) == 1, (path, dirs)
    d = dirs.pop()
    assert d.lower() not in snapshot_dirs, f"{path} and {snapshot_dirs[d.lower()]} share {d}"
    snapshot_dirs[d.lower()] = path
    for (p,) in con.execute("select path from snapshots where video_id = ?", (vid,)):
        assert os.path.isfile(p), (path, p, "missing")
names = [r[0].lower() for r in con.execute("select output_key from videos")]
assert len(names) == len(set(names)), names
print(f"{context}: {len(videos)} videos, {len(annotated)} annotated files, {len(snapshot_dirs)} snapshot dirs")
PY
}

files=("$WORK/in/cam1/clip.mp4" "$WORK/in/cam2/clip.mp4" "$WORK/in/x/a.mkv" "$WORK/in/x/a.mkv.mp4"
    "$WORK/in/x/A.MKV")
run_vidsift 0 --snapshots --out "$WORK/files" "${files[@]}"
check_outputs "$WORK/files/results.db" "given as files"
pass "five files whose outputs would collide: five annotated files and snapshot directories"

run_vidsift 0 --snapshots --out "$WORK/dirs" "$WORK/in/cam1" "$WORK/in/cam2" "$WORK/in/x"
check_outputs "$WORK/dirs/results.db" "given as directories"
[ -f "$WORK/dirs/annotated/cam1/clip.mp4" ] && [ -f "$WORK/dirs/annotated/cam2/clip.mp4" ] ||
    fail "directories: the layout does not mirror the input roots: $(cd "$WORK/dirs/annotated" && find . -type f)"
pass "the same given as directories: annotated/cam1/clip.mp4 and annotated/cam2/clip.mp4, the rest unique"

# Across runs sharing a database: each clip in a run of its own, then all
# again with --force; every video keeps the place its first run gave it.
for file in "${files[@]}"; do
    run_vidsift 0 --snapshots --out "$WORK/runs" "$file"
done
check_outputs "$WORK/runs/results.db" "one run per file"
sql "$WORK/runs/results.db" "select id, annotated_path from videos order by id" >"$WORK/places"
run_vidsift 0 --snapshots --force --out "$WORK/runs" "${files[@]}"
check_outputs "$WORK/runs/results.db" "rerun with --force"
[ "$(sql "$WORK/runs/results.db" "select id, annotated_path from videos order by id")" = "$(cat "$WORK/places")" ] ||
    fail "a rerun moved a video's outputs"
[ -z "$(find "$WORK/runs" -name '*.part')" ] || fail "a .part file was left behind"
pass "one run per file, then all at once with --force: still unique, each video in its first place"
finish
