# Every field `run --json` prints (and OUT/report.json holds) is documented in the README's
# "report.json and the --json summary" table, and every top-level field of the table is one
# the program writes: a new field cannot go undocumented, a removed one stays listed.
source "$(dirname "$0")/common.bash"
README="$VS_SOURCE_DIR/README.md"
[ -r "$README" ] || fail "no README at $README"

make_clip "$WORK/a.mp4" 96x64 6 10 -c:v libx264 -pix_fmt yuv420p
head -c 2000 /dev/urandom >"$WORK/broken.mp4"
# A failed video adds video_list[].error; tracking and the stage table are on by default.
run_vidsift 1 --out "$WORK/out" --json --verbose "$WORK/a.mp4" "$WORK/broken.mp4"
cp "$WORK/stdout" "$WORK/report.json"
cmp -s <(python3 -m json.tool "$WORK/report.json") <(python3 -m json.tool "$WORK/out/report.json") ||
    fail "run --json and OUT/report.json differ"
# The all-skipped rerun's summary (model_loaded false) is documented too.
run_vidsift 0 --out "$WORK/out" --json "$WORK/a.mp4"
cp "$WORK/stdout" "$WORK/skipped.json"

python3 - "$README" "$WORK/report.json" "$WORK/skipped.json" <<'PY' || fail "report.json and its documentation differ"
import json, re, sys
text = open(sys.argv[1]).read()
section = text.split("### `report.json` and the `--json` summary", 1)[1].split("\n#", 1)[0]
rows = [line for line in section.splitlines() if line.startswith("| `")]
if not rows:
    sys.exit("no table under '### `report.json` and the `--json` summary'")
first_cells = [row.split("|")[1] for row in rows]
# Names documented anywhere in the table: identifiers inside backticks, split at dots.
named = set()
for code in re.findall(r"`([^`]+)`", "\n".join(rows)):
    named.update(re.findall(r"[a-z_][a-z0-9_]*", code))
# Top-level names: those that start a row (`videos.done`, `.failed` -> videos).
top = set()
for cell in first_cells:
    for code in re.findall(r"`([^`]+)`", cell):
        if not code.startswith("."):
            top.add(re.match(r"[a-z_][a-z0-9_]*", code).group(0))

written_top, missing = set(), []
def walk(value, path):
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in named:
                missing.append(path + key)
            walk(item, path + key + ".")
    elif isinstance(value, list):
        for item in value:
            walk(item, path.rstrip(".") + "[].")
for name in sys.argv[2:]:
    document = json.load(open(name))
    written_top.update(document)
    for key in document:
        if key not in top:
            missing.append(key + " (not a row of its own)")
    walk(document, "")
if missing:
    sys.exit("written but not documented: " + ", ".join(sorted(set(missing))))
stale = top - written_top
if stale:
    sys.exit("documented but never written: " + ", ".join(sorted(stale)))
print(f"{len(written_top)} top-level fields, {len(named)} names documented")
PY
pass "every field of report.json / --json is in the README's table, and every row is written"

finish
