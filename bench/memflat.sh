#!/usr/bin/env bash
# memflat.sh [CLIP]: does vidsift's memory stay flat as the input gets longer?
#
# Makes a 10x-long copy of CLIP with FFmpeg's concat demuxer (stream copy: no
# re-encode, takes seconds), runs `vidsift run --no-annotate` on the clip and
# on the 10x copy, and reports each run's peak RSS twice: from the run's own
# report (report.json memory.rss_peak_bytes, sampled by the pipeline) and from
# the kernel (/usr/bin/time -v, "Maximum resident set size").
#
# Two runs' plateaus differ by up to ~10% even on the same input (where
# malloc's heap ends up depends on how the threads interleave: four 1x runs
# peaked at 1563, 1696, 1705 and 1899 MiB), which hides growth of a few
# percent. So the verdict comes from one run: the 10x run's own RSS time
# series (samples table), peak over its first tenth (1x of input done)
# against its last tenth (10x done). The script exits 1 when those differ by
# more than LIMIT percent; the two-run ratio is printed beside it.
#
# Environment: VIDSIFT (build/vidsift), MODELS (build/models), TIMES (10),
# LIMIT (5), EXTRA (more `vidsift run` options, e.g. "--every 5" to make the
# long run shorter on a CPU: every frame is still decoded).
# Default CLIP: movie-hello.mp4 of forensics-samples-files (720p, 250 frames).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

die() { printf 'memflat: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'memflat: %s\n' "$*" >&2; }

VIDSIFT=${VIDSIFT:-$root/build/vidsift}
MODELS=${MODELS:-$root/build/models}
TIMES=${TIMES:-10}
LIMIT=${LIMIT:-5}
EXTRA=${EXTRA:-}
clip=${1:-/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4}

[ -x "$VIDSIFT" ] || die "$VIDSIFT is not built, or set VIDSIFT"
[ -f "$MODELS/centernet.manifest.json" ] || die "no model in $MODELS (bash models/prepare.sh $MODELS), or set MODELS"
[ -r "$clip" ] || die "$clip is missing (apt-get install forensics-samples-files), or give CLIP"
command -v ffmpeg >/dev/null || die "ffmpeg is missing (apt-get install ffmpeg)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
export VIDSIFT_MODELS=$MODELS

work=$(mktemp -d "${TMPDIR:-/tmp}/vidsift-memflat-XXXXXX")
trap 'rm -rf "$work"' EXIT
absolute=$(cd "$(dirname "$clip")" && pwd)/$(basename "$clip")
extension=${clip##*.}
mkdir -p "$work/1x" "$work/${TIMES}x"
ln -s "$absolute" "$work/1x/clip.$extension"
for _ in $(seq 1 "$TIMES"); do
    printf "file '%s'\n" "${absolute//\'/\'\\\'\'}"
done >"$work/list.txt"
say "making a ${TIMES}x copy of $(basename "$clip") (stream copy)"
ffmpeg -nostdin -loglevel error -f concat -safe 0 -i "$work/list.txt" -c copy \
    "$work/${TIMES}x/clip.$extension" || die "ffmpeg concat failed"

# run NAME: vidsift on $work/NAME/, report in $work/NAME-out, kernel peak in $work/NAME.time
run() {
    say "vidsift run --no-annotate on the $1 clip"
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$work/$1.time" "$VIDSIFT" run --no-annotate --progress never --quiet \
        --out "$work/$1-out" $EXTRA "$work/$1" || die "vidsift run on the $1 clip failed"
}
run 1x
run "${TIMES}x"

/usr/bin/python3 - "$work" "$TIMES" "$LIMIT" <<'PY'
import json, re, sys
work, times, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
def figures(name):
    report = json.load(open(f"{work}/{name}-out/report.json"))
    kernel = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{work}/{name}.time").read())
    return (report["frames_decoded"], report["memory"]["rss_peak_bytes"],
            int(kernel.group(1)) * 1024 if kernel else 0, report["wall_s"])
short, long = figures("1x"), figures(f"{times}x")
print(f"\n  {'input':6} {'frames':>8} {'seconds':>8} {'peak RSS (report)':>18} {'peak RSS (kernel)':>18}")
for name, f in (("1x", short), (f"{times}x", long)):
    print(f"  {name:6} {f[0]:8d} {f[3]:8.1f} {f[1] / 2**20:14.1f} MiB {f[2] / 2**20:14.1f} MiB")
# Growth inside the long run itself: its own RSS time series (samples table),
# peak over each tenth of the run (each tenth is about one 1x of input).
import sqlite3
db = sqlite3.connect(f"{work}/{times}x-out/results.db")
series = db.execute("select t_ms, rss_bytes from samples where rss_bytes > 0 order by t_ms").fetchall()
if series:
    end = series[-1][0] or 1
    tenths = [max((r for t, r in series if k * end / 10 <= t <= (k + 1) * end / 10), default=0)
              for k in range(10)]
    print(f"  {times}x run, peak RSS per tenth of the run (MiB): "
          + " ".join(f"{r / 2**20:.0f}" for r in tenths))
ratio = long[1] / short[1]
kernel_ratio = long[2] / short[2] if short[2] else 0
print(f"  two runs, {times}x / 1x peak RSS: {ratio:.3f} (report), {kernel_ratio:.3f} (kernel)")
if not series or not tenths[0]:
    sys.exit("memflat: the long run recorded no RSS samples")
growth = tenths[-1] / tenths[0]
print(f"  one run, RSS after {times}x / after 1x of input: {growth:.3f}; limit {1 + limit / 100:.2f}")
sys.exit(0 if abs(growth - 1) * 100 <= limit else 1)
PY
