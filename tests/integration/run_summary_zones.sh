# The terminal summary of a run with --zones says what was counted even when nothing was:
# "crossings: none on the lines of FILE", so a counting run that found no crossing does not
# look like one that never counted; a run without --zones prints no crossings line.
source "$(dirname "$0")/common.bash"

make_clip "$WORK/a.mp4" 96x64 10 10 -c:v libx264 -pix_fmt yuv420p
# A line along the very left edge: no anchor crosses it.
printf '%s\n' '{"units": "fractions", "zones": [{"name": "edge", "type": "line",' \
    ' "points": [[0.01, 0.0], [0.01, 1.0]]}]}' >"$WORK/zones.json"
run_vidsift 0 --out "$WORK/counted" --no-annotate --zones "$WORK/zones.json" "$WORK/a.mp4"
[ "$(sql "$WORK/counted/results.db" "select count(*) from crossings")" = 0 ] ||
    fail "the edge line was crossed: the test needs a line nothing crosses"
[ "$(sql "$WORK/counted/results.db" "select count(*) from zones where name = 'edge'")" = 1 ] ||
    fail "the zones file was not applied"
grep -qF "crossings: none on the lines of $WORK/zones.json" "$WORK/stderr" ||
    fail "the summary does not say nothing crossed: $(cat "$WORK/stderr")"
pass "a run with --zones and no crossing says 'crossings: none on the lines of FILE'"

run_vidsift 0 --out "$WORK/plain" --no-annotate "$WORK/a.mp4"
grep -q "crossings" "$WORK/stderr" && fail "a run without --zones mentions crossings: $(cat "$WORK/stderr")"
pass "a run without --zones prints no crossings line"

finish
