# `vidsift models list`: the columns stay aligned whatever the names' lengths (a name longer
# than the default column widens the column for every row), broken models are listed with
# their reason in the same columns, and the exit status says whether any is broken.
source "$(dirname "$0")/common.bash"
tests=$VS_MODELS_DIR/test
[ -f "$tests/tiny_yolov5.manifest.json" ] && [ -f "$tests/tiny_centernet.manifest.json" ] ||
    fail "$tests: test models missing: run bash models/prepare.sh $VS_MODELS_DIR"

dir="$WORK/models"
mkdir -p "$dir"
long=a-user-model-with-a-name-much-longer-than-the-column
cp "$tests/tiny_yolov5.pt" "$tests/tiny_centernet.pt" "$tests/coco.labels" "$dir/"
cp "$tests/tiny_yolov5.manifest.json" "$dir/y5.manifest.json"
cp "$tests/tiny_centernet.manifest.json" "$dir/$long.manifest.json"

# check_columns FILE: each model row's fields start where the header's do.
check_columns() {
    python3 - "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
header = lines[0]
assert header.startswith("NAME "), header
starts = {name: header.index(name) for name in ("DECODER", "INPUT", "CLASSES", "SIZE", "STATUS")}
rows = [l for l in lines[1:] if not l.startswith(" ")]
assert rows, "no model rows"
for row in rows:
    # DECODER, INPUT and STATUS are left-aligned: the field starts at the header's column.
    for name in ("DECODER", "INPUT", "STATUS"):
        col = starts[name]
        if row[col - 1] != " " or row[col] == " ":
            sys.exit(f"{name} not at column {col}:\n{header}\n{row}")
    # CLASSES and SIZE are right-aligned: the field ends where the header's does.
    for name in ("CLASSES", "SIZE"):
        end = starts[name] + len(name)
        if row[end - 1] == " " or row[end] != " ":
            sys.exit(f"{name} does not end at column {end}:\n{header}\n{row}")
# licence/source lines are indented to the DECODER column.
for l in lines[1:]:
    if l.startswith(" ") and len(l) - len(l.lstrip(" ")) != starts["DECODER"]:
        sys.exit(f"detail line not under DECODER:\n{header}\n{l}")
print(f"{len(rows)} rows aligned under a {starts['DECODER'] - 1}-column name")
PY
}

"$VIDSIFT" models list --dir "$dir" >"$WORK/list" 2>"$WORK/err" || fail "models list: $(cat "$WORK/err")"
grep -q "^$long " "$WORK/list" || fail "the long name is not listed whole: $(cat "$WORK/list")"
check_columns "$WORK/list" || fail "models list columns: $(cat "$WORK/list")"
pass "models list: a ${#long}-character name widens the name column for every row"

# A broken manifest (its model file missing) keeps the columns and makes the exit status 2.
sed 's/"tiny_yolov5.pt"/"missing.pt"/' "$tests/tiny_yolov5.manifest.json" >"$dir/broken.manifest.json"
status=0
"$VIDSIFT" models list --dir "$dir" >"$WORK/list" 2>"$WORK/err" || status=$?
[ "$status" = 2 ] || fail "models list with a broken model exited $status"
grep -q "^broken .* broken: " "$WORK/list" || fail "the broken model is not listed as such: $(cat "$WORK/list")"
grep -q "1 of 3 models broken" "$WORK/err" || fail "no count of broken models: $(cat "$WORK/err")"
check_columns "$WORK/list" || fail "models list columns with a broken model: $(cat "$WORK/list")"
pass "models list: a broken model is listed with its reason in the same columns, exit 2"

# The default directory's names are short: the column keeps its default width.
"$VIDSIFT" models list --dir "$VS_MODELS_DIR" >"$WORK/default" 2>&1 || fail "models list: $(cat "$WORK/default")"
[ "$(head -1 "$WORK/default" | awk '{ print index($0, "DECODER") }')" = 26 ] ||
    fail "the default name column is not 24 wide: $(head -1 "$WORK/default")"
check_columns "$WORK/default" || fail "models list columns: $(cat "$WORK/default")"
pass "models list of the shipped models: the 24-column default"

finish
