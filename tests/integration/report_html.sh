# OUT/report.html after a run, and `vidsift report`: one self-contained page that a real
# browser (Debian's chromium, headless) draws with its plots, and that requests nothing.
# chromium is installed by ./setup.sh: without it this test fails, it never skips.
source "$(dirname "$0")/common.bash"

command -v chromium >/dev/null || fail "chromium is not installed (./setup.sh installs it)"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import PIL' 2>/dev/null ||
    fail "python3-pil is not installed (./setup.sh installs it)"

make_clip "$WORK/street.mp4" 160x120 10 10 -c:v libx264 -pix_fmt yuv420p
head -c 2000 /dev/urandom >"$WORK/broken.mp4"
run_vidsift 1 --out "$WORK/out" --snapshots --conf 0.05 --verbose "$WORK/street.mp4" "$WORK/broken.mp4"
page="$WORK/out/report.html"
[ -s "$page" ] || fail "no report.html after a run"
[ ! -e "$page.part" ] || fail "report.html.part left behind"
pass "a run writes OUT/report.html"

# runs.options holds the options in effect (the analysis with the resolved conf and iou and
# the model's hashes), not only the command line.
python3 - "$WORK/out/results.db" <<'PY' || fail "runs.options lacks the effective options"
import json, sqlite3, sys
options = json.loads(sqlite3.connect(sys.argv[1]).execute("select options from runs").fetchone()[0])
a = options["analysis"]
assert a["conf"] == 0.05 and 0 < a["iou"] < 1 and len(a["weights"]) == 64 and a["model"], a
assert options["manifest"].endswith(".manifest.json") and "--conf" in options["arguments"], options
PY
pass "runs.options records the effective conf, iou, model and hashes, and the arguments"

# The terminal summary speaks to the user first: videos, what was found, where the outputs
# are; then the stage table; --verbose adds queues and memory.
line_of() { grep -n -m1 -F -- "$1" "$WORK/stderr" | cut -d: -f1; }
for text in "videos: 1 done, 1 failed, 0 skipped" "failed: " "found: " "report.html" "annotated/" \
    "snapshots/" "stage " "<- bottleneck" "queues: "; do
    [ -n "$(line_of "$text")" ] || fail "the summary lacks '$text': $(cat "$WORK/stderr")"
done
[ "$(line_of "found: ")" -lt "$(line_of "stage ")" ] && [ "$(line_of "report.html")" -lt "$(line_of "stage ")" ] ||
    fail "the stage table comes before what was found and where the outputs are"
top_label=$(sql "$WORK/out/results.db" "select label from detections group by label order by count(*) desc, label limit 1")
grep -qE "^    $top_label +[0-9]+" "$WORK/stderr" || fail "the summary does not count '$top_label'"
if awk 'length($0) > 80' "$WORK/stderr" | grep -v 'failed: ' | grep .; then
    fail "summary lines wider than 80 columns"
fi
pass "the summary: videos, per-class counts and outputs first, then the stages (80 columns)"

# A rerun that skips every video keeps the last reports instead of writing zeros.
cp "$page" "$WORK/page-before.html" && cp "$WORK/out/report.json" "$WORK/json-before"
run_vidsift 0 --out "$WORK/out" --snapshots --conf 0.05 "$WORK/street.mp4"
grep -q "nothing to do: 1 video already analysed" "$WORK/stderr" && grep -q "the last report stays" "$WORK/stderr" ||
    fail "an all-skipped rerun does not say so: $(cat "$WORK/stderr")"
cmp -s "$page" "$WORK/page-before.html" && cmp -s "$WORK/out/report.json" "$WORK/json-before" ||
    fail "an all-skipped rerun replaced the last reports"
pass "a rerun that skips every video keeps report.html and report.json"

db="$WORK/out/results.db"
classes=$(sql "$db" "select count(distinct class_id) from detections")
[ "$classes" -gt 0 ] || fail "no detections at --conf 0.05: the plots cannot be checked"
count() { grep -o "$1" "$page" | wc -l; }
[ "$(count '<section class="video"')" = 2 ] || fail "expected 2 video sections"
[ "$(count 'class="classbar"')" = "$classes" ] || fail "expected one class bar per class ($classes)"
[ "$(count 'class="plot timeline"')" = 1 ] || fail "expected 1 timeline (one video has detections)"
[ "$(count 'class="plot heatmap"')" = 1 ] || fail "expected 1 heatmap"
[ "$(count 'class="plot stages"')" = 1 ] || fail "expected the stage bars"
[ "$(count 'src="data:image/jpeg;base64,')" = 1 ] || fail "expected the thumbnail embedded"
grep -q 'broken.mp4 (failed): ' "$page" || fail "the failed video and its reason are not on the page"
grep -q 'is the bottleneck' "$page" || fail "no bottleneck named"
pass "the page has its sections: a section per video, $classes class bars, timeline, heatmap, stages, thumbnail, failures"

# Nothing on the page may fetch: no URL with a scheme or host, no script, style sheet or font.
# Data URIs are the page's own bytes: taken out before looking.
sed -E 's/data:image\/jpeg;base64,[A-Za-z0-9+\/=]*/data:/g' "$page" >"$WORK/stripped.html"
if grep -Eio 'https?:|ftp:|//|url\(|@import|<script|<link|<iframe|<object|<embed|src="[^d]' \
    "$WORK/stripped.html" | head -3 | grep .; then
    fail "the page refers to something outside itself"
fi
pass "the page refers to no URL, script, style sheet or font"

# chromium draws it; its network log must show no request made by the page. A page
# that does fetch (the control) must show its requests, or the check proves nothing.
render() { # render HTML PNG NETLOG
    timeout 60 chromium --headless --disable-gpu --no-sandbox --hide-scrollbars \
        --no-first-run --disable-background-networking --disable-component-update \
        --user-data-dir="$WORK/chromium-profile" --host-resolver-rules="MAP * ~NOTFOUND" \
        --log-net-log="$3" --window-size=1280,4000 --screenshot="$2" "file://$1" \
        >"$WORK/chromium.log" 2>&1 || { cat "$WORK/chromium.log" >&2; fail "chromium failed on $1"; }
    [ -s "$2" ] || fail "chromium wrote no screenshot of $1"
}
page_requests() { # NETLOG: requests whose initiator is a file:// page
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
kinds = {v: k for k, v in log["constants"]["logEventTypes"].items()}
print(sum(1 for e in log["events"] if kinds.get(e["type"]) == "URL_REQUEST_START_JOB"
          and "file://" in str(e.get("params", {}).get("network_isolation_key", ""))))
PY
}
cat >"$WORK/control.html" <<'EOF'
<html><body><img src="http://vidsift-control.invalid/a.png"><link rel="stylesheet" href="https://vidsift-control.invalid/a.css"></body></html>
EOF
render "$WORK/control.html" "$WORK/control.png" "$WORK/control-net.json"
[ "$(page_requests "$WORK/control-net.json")" -ge 2 ] || fail "the network log did not show the control page's requests"
render "$page" "$WORK/report.png" "$WORK/report-net.json"
[ "$(page_requests "$WORK/report-net.json")" = 0 ] || fail "chromium requested something for report.html"
pass "chromium renders report.html without a request (the control page's 2 requests are seen)"

# The picture: not blank, and the plots' colours are there (palette of report_html.c).
/usr/bin/python3 - "$WORK/report.png" <<'PY' || fail "the rendered page lacks its plots"
import sys
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
pixels = {"#%02x%02x%02x" % rgb: n for n, rgb in image.getcolors(maxcolors=1 << 24)}
white = pixels.get("#ffffff", 0)
total = image.width * image.height
if white > 0.98 * total or len(pixels) < 50:
    sys.exit(f"blank page: {white} of {total} pixels white, {len(pixels)} colours")
need = {"class and stage bars (#1f77b4)": ["#1f77b4"], "the bottleneck bar (#d62728)": ["#d62728"],
        "heatmap cells": ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]}
for what, colours in need.items():
    n = sum(pixels.get(c, 0) for c in colours)
    if n < 30:
        sys.exit(f"{what}: {n} pixels")
    print(f"{what}: {n} pixels")
PY
pass "the rendered page is not blank and shows the bars and the heatmap in their colours"

# `vidsift report` rebuilds the page from the database alone, given the file or OUT.
"$VIDSIFT" report "$WORK/out" --html "$WORK/again.html" >"$WORK/stdout" || fail "vidsift report failed"
[ "$(grep -c 'class="plot timeline"' "$WORK/again.html")" = 1 ] || fail "the rebuilt page lacks the timeline"
run_id=$(sql "$db" "select max(id) from runs")
"$VIDSIFT" report "$db" --run "$run_id" --html "$WORK/run.html" >/dev/null || fail "report --run failed"
status=0; "$VIDSIFT" report "$db" --run 999 --html "$WORK/none.html" 2>"$WORK/stderr" || status=$?
[ "$status" = 2 ] && grep -q 'no run 999' "$WORK/stderr" || fail "report --run 999: exit $status, expected 2 naming the run"
[ ! -e "$WORK/none.html" ] && [ ! -e "$WORK/none.html.part" ] || fail "a failed report left a file"
pass "vidsift report rebuilds the page from OUT or the database, one run or all; an unknown run is exit 2"

# Line crossings (written by --track with --zones) appear per line, class and direction:
# rows put into a copy of the database, so the page is checked against known counts.
cp "$db" "$WORK/crossings.db"
video_id=$(sql "$WORK/crossings.db" "select id from videos where status = 'done'")
sql "$WORK/crossings.db" "insert into crossings(video_id, track_id, zone, frame_index, pts_ms, direction, class_id, label)
    values ($video_id, 1, 'door', 3, 300, 'in', 0, 'person'), ($video_id, 2, 'door', 5, 500, 'in', 0, 'person'),
           ($video_id, 3, 'door', 7, 700, 'out', 0, 'person')"
"$VIDSIFT" report "$WORK/crossings.db" --html "$WORK/crossings.html" >/dev/null || fail "report of the crossings copy failed"
[ "$(grep -c 'class="crossings"' "$WORK/crossings.html")" = 2 ] || fail "expected the run's and the video's crossing tables"
grep -q '<td>door</td><td>person</td><td>in</td><td class="n">2</td>' "$WORK/crossings.html" &&
    grep -q '<td>door</td><td>person</td><td>out</td><td class="n">1</td>' "$WORK/crossings.html" ||
    fail "the crossing counts are not on the page"
grep -q 'None recorded' "$page" || fail "a page without crossings does not say how to get them"
pass "line crossings per line, class and direction (2 in, 1 out), and how to get them when none"

finish
