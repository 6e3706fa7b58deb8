# Inputs as a real archive has them (issue 12): the same file by several names
# is one video; outputs mirror each argument's own name and stay within
# NAME_MAX/PATH_MAX; a run never analyses its own (or another run's) outputs;
# a FIFO, a device or a missing path fails that input only; --classes is
# forgiving about case, spaces and ids but refuses an empty list; and no file
# name can forge a line or send a terminal escape in what vidsift prints.
# The tiny test CenterNet does the detecting: the model is not the point here.
source "$(dirname "$0")/common.bash"
model="$VS_MODELS_DIR/test/tiny_centernet.manifest.json"
[ -f "$model" ] || fail "$model missing: run bash models/prepare.sh $VS_MODELS_DIR"
run() { run_vidsift "$@"; } # run EXPECTED ARGS...: the tiny model, exit status checked
tiny=(--model "$model")
# rows DB: detections without the video's name, for comparing runs of one clip
rows() { detections "$1" | cut -d'|' -f2-; }
# As `timeout` but never a hang: a FIFO opened for reading would block forever.
guarded() { timeout 120 "$@"; }

make_clip "$WORK/clip.mp4" 128x96 10 10 -c:v libx264 -pix_fmt yuv420p

# --- 1. the same file, given by every name it has, is analysed once ---
mkdir -p "$WORK/same" && cd "$WORK/same"
cp "$WORK/clip.mp4" hello.mp4
ln hello.mp4 hardlink.mp4
ln -s hello.mp4 symlink.mp4
run 0 "${tiny[@]}" --out "$WORK/alone" hello.mp4
run 0 "${tiny[@]}" --jobs 2 --out "$WORK/dup" hello.mp4 hello.mp4 ./hello.mp4 "$PWD/hello.mp4" \
    hardlink.mp4 symlink.mp4
[ "$(sql "$WORK/dup/results.db" "select count(*) from videos")" = 1 ] ||
    fail "one file given six ways: $(sql "$WORK/dup/results.db" "select count(*) from videos") video rows"
rows "$WORK/alone/results.db" >"$WORK/alone.rows"
rows "$WORK/dup/results.db" >"$WORK/dup.rows"
[ -s "$WORK/alone.rows" ] || fail "no detections at all: the comparison would be empty"
cmp -s "$WORK/alone.rows" "$WORK/dup.rows" || fail "the duplicates changed the rows"
[ "$(grep -c "the same file as hello.mp4" "$WORK/stderr")" = 5 ] ||
    fail "each dropped duplicate should get one line: $(cat "$WORK/stderr")"
python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["inputs"]; sys.exit(i["duplicates_dropped"] != 5)' \
    "$WORK/dup/report.json" || fail "report.json does not count the 5 duplicates"
cd "$WORK"
pass "one file given as a a ./a /abs/a, a hard link and a symlink: one video, the rows of a run of it alone"

# --- 2. outputs mirror each argument's name ---
mkdir -p "$WORK/cams/cam1" "$WORK/cams/cam2/sub"
cp "$WORK/clip.mp4" "$WORK/cams/cam1/clip.mp4"
cp "$WORK/clip.mp4" "$WORK/cams/cam2/clip.mp4"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=96x64:rate=10 -frames:v 5 \
    -c:v libx264 -pix_fmt yuv420p "$WORK/cams/cam2/sub/clip.mp4"
cd "$WORK/cams"
run 0 "${tiny[@]}" --snapshots --out "$WORK/layout" cam1/ cam2 cam1/clip.mp4
for f in annotated/cam1/clip.mp4 annotated/cam2/clip.mp4 annotated/cam2/sub/clip.mp4 \
    snapshots/cam1/clip.mp4/thumb.jpg snapshots/cam2/clip.mp4/thumb.jpg snapshots/cam2/sub/clip.mp4/thumb.jpg; do
    [ -f "$WORK/layout/$f" ] || fail "$f missing: $(cd "$WORK/layout" && find annotated snapshots | tr '\n' ' ')"
done
cd "$WORK/cams/cam1"
run 0 "${tiny[@]}" --no-annotate --snapshots --out "$WORK/dot" .
[ -f "$WORK/dot/snapshots/cam1/clip.mp4/thumb.jpg" ] ||
    fail "'.' in cam1 should write under cam1/: $(cd "$WORK/dot" && find snapshots | tr '\n' ' ')"
cd "$WORK"
run 0 "${tiny[@]}" --no-annotate --snapshots --out "$WORK/file" "$WORK/cams/cam2/sub/clip.mp4"
[ -f "$WORK/file/snapshots/clip.mp4/thumb.jpg" ] || fail "a file argument should write under its own name"
pass "cam1/ cam2/ write annotated/cam1/clip.mp4 and annotated/cam2/clip.mp4; '.' its real name; a file its name"

# --- 9. a long file name never makes an output name too long ---
mkdir -p "$WORK/long"
long=$(printf 'n%.0s' $(seq 246)).mp4 # 250 bytes
cp "$WORK/clip.mp4" "$WORK/long/$long"
run 0 "${tiny[@]}" --snapshots --out "$WORK/long-out" "$WORK/long"
[ "$(sql "$WORK/long-out/results.db" "select status from videos")" = done ] || fail "a 250-byte name: not done"
longest=$(cd "$WORK/long-out" && find annotated snapshots -printf '%f\n' | awk '{ print length($0) }' | sort -n | tail -1)
[ "$longest" -le 255 ] || fail "an output name of $longest bytes"
video=$(find "$WORK/long-out/annotated" -name '*.mp4')
[ -n "$video" ] && [ "$(frames_in "$video")" = 10 ] || fail "no whole annotated video for the long name"
find "$WORK/long-out/snapshots" -name thumb.jpg | grep -q "/nnnnnnnnnn[n]*~[0-9a-f]\{8\}\.mp4/thumb.jpg$" ||
    fail "the snapshot folder should keep a prefix, a hash and the extension: $(find "$WORK/long-out/snapshots")"
pass "a 250-byte file name: annotated video and snapshots written under a shortened name (longest $longest bytes)"

# --- 4. a run never analyses its own outputs, nor another run's ---
mkdir -p "$WORK/self" && cd "$WORK/self"
cp "$WORK/clip.mp4" a.mp4
run 0 "${tiny[@]}" .
run 0 "${tiny[@]}" .
[ "$(sql vidsift-out/results.db "select count(*) from videos")" = 1 ] ||
    fail "vidsift run . twice analysed its own outputs: $(sql vidsift-out/results.db "select path from videos")"
[ "$(sql vidsift-out/results.db "select status from videos")" = done ] || fail "a.mp4 not done"
# --out spelt differently, and an older output directory without the marker
mkdir -p old/annotated && cp a.mp4 old/annotated/a.mp4 && cp vidsift-out/results.db old/results.db
mkdir -p spelt
run 0 "${tiny[@]}" --out ./spelt/../spelt/ --force .
run 0 "${tiny[@]}" --out spelt --force .
[ "$(sql spelt/results.db "select count(*) from videos")" = 1 ] ||
    fail "an output directory was analysed: $(sql spelt/results.db "select path from videos")"
grep -q "old: a vidsift output directory, not analysed" "$WORK/stderr" || fail "skipping old/ not said"
[ -f vidsift-out/.vidsift-output ] || fail "run did not mark its output directory"
# The output directory is the input directory: its own files are analysed, its outputs are not.
mkdir -p "$WORK/here" && cp a.mp4 "$WORK/here/a.mp4" && cd "$WORK/here"
run 0 "${tiny[@]}" --snapshots --out . .
run 0 "${tiny[@]}" --snapshots --out . --force .
[ "$(sql results.db "select count(*) from videos")" = 1 ] && [ -f annotated/here/a.mp4 ] ||
    fail "--out . .: $(sql results.db "select path from videos")"
cd "$WORK"
pass "cd dir; vidsift run . twice: its outputs (and another run's) are never analysed"

# --- 10. bad arguments fail that input, not the run ---
mkdir -p "$WORK/bad/in"
cp "$WORK/clip.mp4" "$WORK/bad/good.mp4"
mkfifo "$WORK/bad/pipe.mp4" "$WORK/bad/in/pipe.mp4"
cp "$WORK/clip.mp4" "$WORK/bad/in/fine.mp4"
: >"$WORK/bad/in/empty.mp4"
head -c 5000 /dev/urandom >"$WORK/bad/in/garbage.mkv"
echo "notes" >"$WORK/bad/in/notes.txt"
head -c 5000 /dev/urandom >"$WORK/bad/in/blob.bin"
status=0
guarded "$VIDSIFT" run --progress never "${tiny[@]}" --out "$WORK/bad/out" "$WORK/bad/pipe.mp4" /dev/null \
    "$WORK/bad/missing.mp4" "$WORK/bad/good.mp4" "$WORK/bad/in" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
[ "$status" = 1 ] || fail "bad arguments: exit $status, expected 1 ($(tail -3 "$WORK/stderr"))"
db=$WORK/bad/out/results.db
for name in good.mp4 fine.mp4; do
    [ "$(sql "$db" "select status from videos where path like '%/$name'")" = done ] || fail "$name not done"
done
for name in pipe.mp4 /dev/null missing.mp4 in/empty.mp4 in/garbage.mkv; do
    [ "$(sql "$db" "select status from videos where path like '%$name'")" = failed ] ||
        fail "$name: not recorded as failed"
    [ "$(grep -c -F "$name" "$WORK/stderr")" -ge 1 ] || fail "$name: no line names it"
done
grep -F "pipe.mp4" "$WORK/stderr" | grep -q FIFO || fail "the FIFO: reason not given"
grep -F "/dev/null" "$WORK/stderr" | grep -q device || fail "/dev/null: reason not given"
grep -F "missing.mp4" "$WORK/stderr" | grep -q "No such file" || fail "missing.mp4: reason not given"
[ "$(sql "$db" "select count(*) from videos where path like '%/in/pipe.mp4' or path like '%notes.txt' or path like '%blob.bin'")" = 0 ] ||
    fail "a FIFO or a non-video file inside a directory became a video"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["inputs"]["files_skipped"] != 3)' \
    "$WORK/bad/out/report.json" || fail "report.json should count 3 skipped files (FIFO, notes.txt, blob.bin)"
status=0
guarded "$VIDSIFT" run --progress never "${tiny[@]}" --out "$WORK/bad/out2" "$WORK/bad/missing.mp4" \
    >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
[ "$status" = 1 ] && grep -q "missing.mp4: No such file" "$WORK/stderr" || fail "a lone missing file: exit $status"
pass "a FIFO, a device and a missing argument, an empty and a garbage clip in a folder: each failed by name, exit 1, the rest done"

# --- 10. --classes ---
for bad in "" " " "person,,car" "person, " ",person"; do
    status=0
    "$VIDSIFT" run --progress never "${tiny[@]}" --out "$WORK/cls-bad" --classes "$bad" "$WORK/clip.mp4" \
        >/dev/null 2>"$WORK/stderr" || status=$?
    [ "$status" = 2 ] && grep -q -- "--classes" "$WORK/stderr" || fail "--classes '$bad': exit $status, expected 2"
done
run 0 "${tiny[@]}" --no-annotate --out "$WORK/cls-plain" --classes person,car "$WORK/clip.mp4"
run 0 "${tiny[@]}" --no-annotate --out "$WORK/cls-loose" --classes " Person ,  CAR " "$WORK/clip.mp4"
run 0 "${tiny[@]}" --no-annotate --out "$WORK/cls-ids" --classes "0,2" "$WORK/clip.mp4"
run 0 "${tiny[@]}" --no-annotate --out "$WORK/cls-person" --classes PERSON "$WORK/clip.mp4"
rows "$WORK/cls-plain/results.db" >"$WORK/cls-plain.rows"
[ "$(cut -d'|' -f2 "$WORK/cls-plain.rows" | sort -u | tr '\n' ' ')" = "car person " ] ||
    fail "--classes person,car kept $(cut -d'|' -f2 "$WORK/cls-plain.rows" | sort -u | tr '\n' ' ')"
for variant in loose ids; do
    rows "$WORK/cls-$variant/results.db" | cmp -s - "$WORK/cls-plain.rows" ||
        fail "--classes spelt as in cls-$variant keeps other rows than person,car"
done
[ "$(sql "$WORK/cls-person/results.db" "select group_concat(distinct label) from detections")" = person ] ||
    fail "--classes PERSON did not keep only persons"
status=0
"$VIDSIFT" run --progress never "${tiny[@]}" --out "$WORK/cls-bad" --classes 80 "$WORK/clip.mp4" \
    >/dev/null 2>"$WORK/stderr" || status=$?
[ "$status" = 2 ] || fail "--classes 80 (no such id): exit $status, expected 2"
pass "--classes: '' and empty names are usage errors; case, spaces and class ids accepted"

# --- 11. a file name cannot forge a line or send a terminal escape ---
mkdir -p "$WORK/evil"
evil=$'bad\nvidsift: FORGED done\e[2J\e]0;title\a\x9b1m\xff.mp4'
: >"$WORK/evil/$evil"
cp "$WORK/clip.mp4" "$WORK/evil/ok.mp4"
status=0
guarded "$VIDSIFT" run --progress never "${tiny[@]}" --snapshots --out "$WORK/evil-out" "$WORK/evil" \
    "$WORK/evil/$evil" "$WORK/evil/missing"$'\n'"FORGED.mp4" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
[ "$status" = 1 ] || fail "the evil names: exit $status, expected 1"
LC_ALL=C grep -q $'\e' "$WORK/stderr" && fail "stderr holds a raw ESC: $(cat -v "$WORK/stderr")"
LC_ALL=C grep -q $'\a\|\xc2\x9b\|\xff' "$WORK/stderr" && fail "stderr holds a raw control or invalid byte"
grep -q "^vidsift: FORGED\|^FORGED" "$WORK/stderr" && fail "a name forged a line: $(cat -v "$WORK/stderr")"
grep -qF 'bad\x0avidsift: FORGED done\x1b[2J' "$WORK/stderr" || fail "the name is not shown escaped: $(cat -v "$WORK/stderr")"
[ "$(sql "$WORK/evil-out/results.db" "select count(*) from videos where instr(error, char(10)) or instr(error, char(27))")" = 0 ] ||
    fail "an error recorded in the database holds a raw newline or ESC"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/evil-out/report.json" ||
    fail "report.json is not valid JSON"
[ "$(sql "$WORK/evil-out/results.db" "select status from videos where path like '%/ok.mp4'")" = done ] ||
    fail "the good clip beside the evil names was not done"
pass "names with a newline, ESC/OSC sequences, a C1 CSI and an invalid byte are escaped in every line"

# --- 11. no message starts with a source file name ---
cd "$VS_SOURCE_DIR"
hits=$(grep -rn '"annotate\.c\|"snapshot\.c\|"[a-z_]*\.c: ' core cli || true)
[ -z "$hits" ] || fail "messages that start with a source file: $hits"
pass "no message starts with a source file's name"
finish
