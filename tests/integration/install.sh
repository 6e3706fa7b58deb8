# `cmake --install BUILD --prefix P` gives a vidsift that works from P alone: the binary,
# the man page (`man vidsift`), and the default model (and its INT8 quantization) with its
# labels under
# P/share/vidsift/models, which the installed binary finds without any variable set.
source "$(dirname "$0")/common.bash"

build=$(dirname "$VIDSIFT")
prefix="$WORK/prefix"
cmake --install "$build" --prefix "$prefix" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; fail "cmake --install failed"; }
for f in bin/vidsift share/man/man1/vidsift.1 share/vidsift/models/yolov5s.pt \
    share/vidsift/models/yolov5s.manifest.json share/vidsift/models/yolov5s-int8.pt \
    share/vidsift/models/yolov5s-int8.manifest.json share/vidsift/models/coco.labels; do
    [ -s "$prefix/$f" ] || fail "not installed: $f"
done
pass "installs the binary, the man page, the default model and its labels"

MANPATH="$prefix/share/man" man -P cat vidsift 2>"$WORK/man.err" | grep -q "vidsift - " ||
    fail "man vidsift does not show the installed page: $(cat "$WORK/man.err")"
pass "man vidsift shows the installed page"

# From another directory, with no variable pointing at the build: the installed binary
# finds its models under the prefix and runs the default model.
make_clip "$WORK/clip.mp4" 96x64 3 10 -c:v libx264 -pix_fmt yuv420p
mkdir -p "$WORK/elsewhere"
(cd "$WORK/elsewhere" && env -u VIDSIFT_MODELS -u VIDSIFT_DEFAULT_MODEL \
    "$prefix/bin/vidsift" models list) >"$WORK/list" 2>&1 || { cat "$WORK/list" >&2; fail "models list failed"; }
for m in yolov5s yolov5s-int8; do
    grep -qE "^$m +yolov5 .* ok\$" "$WORK/list" || fail "the installed model $m is not listed as ok: $(cat "$WORK/list")"
done
(cd "$WORK/elsewhere" && env -u VIDSIFT_MODELS -u VIDSIFT_DEFAULT_MODEL \
    "$prefix/bin/vidsift" run --progress never --no-annotate --out out "$WORK/clip.mp4") \
    >"$WORK/stdout" 2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "the installed vidsift run failed"; }
analysis=$(sql "$WORK/elsewhere/out/results.db" "select json_extract(analysis, '$.model') from videos")
# No other models directory is reachable: VIDSIFT_MODELS is unset and P/bin has no models/.
[ ! -e "$prefix/bin/models" ] || fail "P/bin/models exists: the test would not prove the share/ lookup"
[ "$analysis" = yolov5s ] || fail "the run did not use the default yolov5s: $analysis"
[ -s "$WORK/elsewhere/out/report.html" ] || fail "the installed run wrote no report.html"
pass "the installed binary runs the default model from P/share/vidsift/models, from any directory"

finish
