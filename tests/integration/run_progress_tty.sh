# Progress on a terminal (a pseudo-terminal from script(1), 60 columns): one line redrawn in
# place with "\r\033[K", never wider than the terminal (a wrapped line would leave a row
# behind at every redraw, however long the video names), and cleared before the summary.
source "$(dirname "$0")/common.bash"
# The real model: its cost per frame gives these short clips the seconds the progress bar
# needs to be redrawn.
export VIDSIFT_DEFAULT_MODEL=$REAL_MODEL
command -v script >/dev/null || fail "script(1) is missing (util-linux)"

long="$WORK/a-video-with-a-rather-long-name-that-fills-the-progress-line-by-itself.mp4"
make_clip "$long" 96x64 40 10 -c:v libx264 -pix_fmt yuv420p
make_clip "$WORK/second-video-with-another-long-name-for-the-second-slot.mp4" 96x64 40 10 \
    -c:v libx264 -pix_fmt yuv420p
printf '%s\n' "stty cols 60 rows 24" \
    "exec \"\$1\" run --progress auto --no-annotate --jobs 2 --batch 1 --out \"\$2\" \"\$3\" \"\$4\"" \
    >"$WORK/tty.sh"
status=0
script -qec "bash '$WORK/tty.sh' '$VIDSIFT' '$WORK/out' '$long' '$WORK/second-video-with-another-long-name-for-the-second-slot.mp4'" \
    /dev/null >"$WORK/tty.out" 2>&1 </dev/null || status=$?
[ "$status" = 0 ] || fail "the run on a terminal exited $status: $(tail -5 "$WORK/tty.out")"

python3 - "$WORK/tty.out" <<'PY' || fail "progress on a terminal: $(head -c 600 "$WORK/tty.out" | cat -v)"
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace", newline="").read().replace("\r\n", "\n")
bars = [part for part in text.split("\r\x1b[K") if part.startswith("[")]
if not bars:
    sys.exit("no progress bar drawn")
for bar in bars:
    shown = bar.split("\n", 1)[0]  # the last redraw is followed by the summary
    if len(shown) > 59:
        sys.exit(f"a bar of {len(shown)} columns on a 60-column terminal: {shown!r}")
if not any(" - a-video-with" in bar for bar in bars):
    sys.exit("no bar names the video being worked on")
if "vidsift: videos: 2 done" not in text:
    sys.exit("no summary")
print(f"{len(bars)} redraws, the widest {max(len(b.split(chr(10))[0]) for b in bars)} columns")
PY
pass "the progress bar on a 60-column terminal: redrawn in place, cut to 59 columns, names shown"

finish
