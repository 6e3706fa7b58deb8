#!/usr/bin/env bash
# gpu.sh [--rehearse] [--deps DIR] [--budget S] OUT: the whole GPU measurement of issue 18 as one
# command, for a machine with PyTorch (CUDA libtorch inside), nvcc, CMake and a compiler but no
# FFmpeg, SQLite, TurboJPEG, cJSON, hiredis, cmocka or pkg-config: those come from DIR
# (.gpu-deps by default, made by bench/gpu-deps.sh: deps.tar.xz and yolov5s.fp16.pt).
#
# Steps, each recorded (exit status, seconds, log) and none stopping the next when it fails:
#   env      the machine: GPU, driver, OS, glibc, torch, compilers
#   deps     unpacks deps.tar.xz; on the device, the device's own copy of a library with the same
#            soname is preferred (it is what torch and python load), unless vidsift fails to start
#            with it
#   build    cmake -DVS_CUDA=ON against the torch package's libtorch, the deps as the only
#            FFmpeg/SQLite/... (pkg-config from DIR with its sysroot; DT_RPATH to DIR's libraries)
#   models   yolov5s.pt back to FP32 weights (device torch), the shim test models
#   shim     the shim's unit tests (ctest unit/test_shim) and torch preprocessing against the C
#            path (unit/test_preprocess_torch), CUDA cases included
#   clips    720p and 1080p H.264 clips from vidsift's own generator (vs_mkclip), in parallel
#   bench    vidsift bench --device cuda --half --batches 1,8,16,32 --no-annotate --json
#   ceiling  the pipeline with inference replaced by a no-op (bench --ceiling-only, 1 and N
#            preprocess workers), when this vidsift has the option
#   run-*    vidsift run --device cuda --half --no-annotate on the 720p and the 1080p clips (NVML
#            figure and advice in each report.json; decoding and preprocessing where `auto` puts
#            them), --jobs 4, and --hwaccel none --preprocess swscale (the CPU side) to compare
#   compare  bench/compare.sh --device cuda --rounds 1 (vidsift against the Python loop)
# The whole fits --budget seconds (470: under 8 minutes; 3600 with --rehearse); a step that
# would start with less than 15 s left is recorded as skipped.
#
# OUT receives at most 8 files (what the `run` tool brings back): progress.log (this script's
# lines), summary.json (every step's status and the figures of issue 18 item 6) and
# results.tar.gz (every log, bench.json, each run's report.json), refreshed after every step so
# that a run killed at its time limit still returns what it measured.
#
# --rehearse: the same steps on this CPU machine, tiny: device cpu, FP32, Debian's libtorch
# (VS_CUDA off), the system's FFmpeg/SQLite/... headers and .pc files hidden from the build
# (unshare -m, bind mounts), and a check that vidsift loads libav*, sqlite, turbojpeg, cjson and
# hiredis from DIR.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
rehearse=0 deps=$root/.gpu-deps budget=

while [ $# -gt 0 ]; do
    case $1 in
    --rehearse) rehearse=1; shift ;;
    --deps) deps=$(cd "${2:?--deps DIR}" && pwd); shift 2 ;;
    --budget) budget=${2:?--budget S}; shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || { echo "usage: bench/gpu.sh [--rehearse] [--deps DIR] [--budget S] OUT" >&2; exit 2; }
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
[ -r "$deps/deps.tar.xz" ] || { echo "gpu.sh: $deps/deps.tar.xz missing: run bench/gpu-deps.sh" >&2; exit 2; }

# --rehearse: rerun in a private mount namespace where the system's development files for what
# DIR provides are hidden, so that a build that still finds them fails here as it would there.
if [ "$rehearse" = 1 ] && [ -z "${VS_GPU_HIDDEN-}" ]; then
    exec unshare -m env VS_GPU_HIDDEN=1 bash "$0" --rehearse --deps "$deps" ${budget:+--budget "$budget"} "$out"
fi
if [ -n "${VS_GPU_HIDDEN-}" ]; then
    empty=$(mktemp -d) && touch "$empty/file"
    inc=/usr/include
    for d in $inc/x86_64-linux-gnu/libav{codec,format,util,device,filter} \
        $inc/x86_64-linux-gnu/libsw{scale,resample} $inc/cjson $inc/hiredis \
        /usr/lib/x86_64-linux-gnu/pkgconfig /usr/share/pkgconfig; do
        [ -d "$d" ] && mount --bind "$empty" "$d"
    done
    for f in $inc/sqlite3.h $inc/sqlite3ext.h $inc/turbojpeg.h $inc/cmocka.h $inc/cmocka_pbc.h \
        /usr/bin/pkg-config /usr/bin/pkgconf; do
        [ -e "$f" ] && mount --bind "$empty/file" "$f"
    done
fi

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/vidsift-gpu-XXXXXX")
logs=$work/logs
mkdir -p "$logs"
: >"$out/progress.log"
say() { printf '[gpu.sh %4ds] %s\n' $(($(date +%s) - start)) "$*" | tee -a "$out/progress.log" >&2; }
# Each step appends one line "name status seconds" to steps.txt.
: >"$work/steps.txt"

if [ "$rehearse" = 1 ]; then
    device=cpu half=() cuda=OFF jobs=2 scale=8 # this 2-core machine builds and runs slower
    python=${VIDSIFT_PYTHON:-/usr/bin/python3} budget=${budget:-3600}
    n720=2 f720=16 n1080=1 f1080=8 ncmp=1 fcmp=8 bench_frames=8 batches=1,2
else
    device=cuda half=(--half) cuda=ON jobs=$(nproc) scale=1
    python=${VIDSIFT_PYTHON:-python3} budget=${budget:-470} # python3: the one with torch
    # Several minutes of video: 4 x 60 s at 720p, 2 x 60 s at 1080p (25 frames/s).
    n720=4 f720=1500 n1080=2 f1080=1500 ncmp=2 fcmp=500 bench_frames=512 batches=1,8,16,32
fi
build=$work/build
D=$work/deps
ML=$D/usr/lib/x86_64-linux-gnu
VS=$build/vidsift
models=$build/models
export VIDSIFT_MODELS=$models

finish_outputs() {
    "$python" - "$work" "$out/summary.json" "$device" "$rehearse" <<'PY' >>"$logs/summary.log" 2>&1
import glob, json, os, re, sys
work, dest, device, rehearse = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
summary = {"device": device, "rehearsal": rehearse, "steps": [], "figures": {}}
for line in open(os.path.join(work, "steps.txt")):
    name, status, seconds = line.split()
    summary["steps"].append({"name": name, "status": status, "seconds": int(seconds)})
fig = summary["figures"]
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return None
bench = load(os.path.join(work, "bench.json"))
if bench:
    inference = {}
    for st in bench.get("stages", []):
        if st.get("stage") == "infer":
            inference["b%s_%s" % (st.get("batch"), st.get("precision"))] = st.get("fps")
        elif st.get("fps") is not None:
            fig["stage_fps_" + st.get("name", "?")] = st.get("fps")
    fig["inference_fps"] = inference
    b1 = inference.get("b1_fp32")
    b16 = inference.get("b16_fp16")
    if b1 and b16:
        fig["b16_fp16_over_b1_fp32"] = round(b16 / b1, 2)  # aim >= 4
    for key in ("pipeline", "batch_speedup", "rss_peak_bytes", "notes", "gpu", "ceiling"):
        if key in bench:
            fig["bench_" + key] = bench[key]
ceiling = load(os.path.join(work, "ceiling.json"))
if ceiling:
    fig["ceiling_only"] = {"ceiling": ceiling.get("ceiling"), "notes": ceiling.get("notes"),
                           "stages": {st.get("name"): st.get("fps") for st in ceiling.get("stages", [])}}
for report in sorted(glob.glob(os.path.join(work, "run-*", "report.json"))):
    r = load(report)
    if not r:
        continue
    name = os.path.basename(os.path.dirname(report))
    fig[name] = {k: r.get(k) for k in ("device", "frames_decoded", "fps_decoded", "wall_s",
                                       "bottleneck", "gpu", "decoding", "advice")}
    fig[name]["rss_peak_bytes"] = r.get("memory", {}).get("rss_peak_bytes")
try:
    for line in open(os.path.join(work, "logs", "compare.log")):
        m = re.match(r"(\S+)\s+peer ([\d.]+) frames/s, vidsift ([\d.]+) frames/s, vidsift/peer ([\d.]+)x", line)
        if m:
            fig["compare_" + m.group(1)] = {"peer_fps": float(m.group(2)),
                                            "vidsift_fps": float(m.group(3)),
                                            "ratio": float(m.group(4))}  # aim >= 10
except OSError:
    pass
with open(dest, "w") as f:
    json.dump(summary, f, indent=1)
PY
    cp "$work"/*.json "$logs/" 2>/dev/null
    for r in "$work"/run-*/report.json; do [ -r "$r" ] && cp "$r" "$logs/$(basename "$(dirname "$r")").report.json"; done
    tar -C "$work" -czf "$out/results.tar.gz.part" logs steps.txt 2>/dev/null &&
        mv -f "$out/results.tar.gz.part" "$out/results.tar.gz"
}

# step NAME TIMEOUT FUNCTION: runs FUNCTION (output to logs/NAME.log) with at most TIMEOUT
# seconds, less when the budget is nearly spent; records its status; never stops the script.
step() {
    local name=$1 limit=$2 fn=$3 left status t0
    left=$((budget - ($(date +%s) - start)))
    if [ "$left" -lt 15 ]; then
        say "$name: skipped (budget spent)"
        echo "$name skipped 0" >>"$work/steps.txt"
        return
    fi
    limit=$((limit * scale))
    [ "$limit" -le "$left" ] || limit=$left
    say "$name: start (limit ${limit}s)"
    t0=$(date +%s)
    # A function cannot run under timeout(1): export what it needs and run this script's copy.
    timeout -k 5 "$limit" bash -c "source '$work/env.sh'; $fn" >"$logs/$name.log" 2>&1
    status=$?
    case $status in 0) status=ok ;; 124 | 137) status=timeout ;; *) status=failed:$status ;; esac
    echo "$name $status $(($(date +%s) - t0))" >>"$work/steps.txt"
    say "$name: $status in $(($(date +%s) - t0))s$([ "$status" = ok ] || echo "; last lines:")"
    [ "$status" = ok ] || tail -n 5 "$logs/$name.log" | sed 's/^/    /' | tee -a "$out/progress.log" >&2
    finish_outputs
}

# The step bodies: functions written to env.sh, which every step sources.
cat >"$work/env.sh" <<EOF
set -o pipefail
root='$root' deps='$deps' work='$work' logs='$logs' build='$build' D='$D' ML='$ML' VS='$VS'
models='$models' device='$device' cuda='$cuda' jobs='$jobs' rehearse='$rehearse' python='$python'
half=(${half[*]-}) n720=$n720 f720=$f720 n1080=$n1080 f1080=$f1080 ncmp=$ncmp fcmp=$fcmp
bench_frames=$bench_frames batches=$batches
export VIDSIFT_MODELS='$models'
# The shim's tests, and torch preprocessing against the C path (issue 18 item 4) where present.
unit_tests="test_shim\$([ -f '$root/tests/unit/test_preprocess_torch.c' ] && echo ' test_preprocess_torch')"
EOF
cat >>"$work/env.sh" <<'EOF'
env_info() {
    date -u; uname -a; cat /etc/os-release 2>/dev/null | head -n 4; ldd --version | head -n 1
    nproc; free -g | head -n 2
    nvidia-smi 2>&1 | head -n 15
    command -v "$python"
    "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1
    "$python" -c 'import cv2; print("cv2", cv2.__version__)' 2>&1
    cmake --version | head -n 1; cc --version | head -n 1; c++ --version | head -n 1
    command -v nvcc && nvcc --version | tail -n 2
    ldconfig -p | grep -E 'libnvcuvid|libnvidia-ml|libcuda\.so' || echo "no libnvcuvid/libnvidia-ml/libcuda in ldconfig"
}

unpack_deps() {
    rm -rf "$D" && mkdir -p "$D" && tar -C "$D" -xJf "$deps/deps.tar.xz" || return 1
    wc -l <"$D/PACKAGES"
    # Some Debian .pc files name /usr/lib where the library is in the multiarch directory
    # (hiredis): CMake would then take the system's copy, and on the device find none.
    sed -i 's|^libdir=/usr/lib$|libdir=/usr/lib/x86_64-linux-gnu|' "$ML"/pkgconfig/*.pc
    # pkg-config from DIR, reading only DIR's .pc files, their /usr turned into DIR/usr.
    cat >"$D/pkg-config" <<PC
#!/bin/sh
PKG_CONFIG_LIBDIR='$ML/pkgconfig:$D/usr/share/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$D' \
LD_LIBRARY_PATH='$ML' exec '$D/usr/bin/pkgconf' "\$@"
PC
    chmod +x "$D/pkg-config"
    "$D/pkg-config" --modversion libavcodec sqlite3 libturbojpeg libcjson hiredis cmocka || return 1
    [ "$rehearse" = 1 ] && return 0
    # On the device: the device's own library where it has one of the same soname (what torch
    # and python load in the same process), except those vidsift links directly.
    mkdir -p "$D/aside"
    local system soname
    system=$(ldconfig -p)
    for f in "$ML"/*.so.*; do
        [ -f "$f" ] && [ ! -L "$f" ] || continue
        soname=$(objdump -p "$f" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
        case $soname in libav* | libsw* | libsqlite3* | libturbojpeg* | libcjson* | libhiredis* | libcmocka* | libx264* | libpkgconf*) continue ;; esac
        if [ -n "$soname" ] && grep -q "^[[:space:]]*$soname (.*x86-64" <<<"$system"; then
            echo "device has $soname: using it"
            mv "$f" "$D/aside/" && rm -f "$ML/$soname"
        fi
    done
}

build_vidsift() {
    local torch=()
    if [ "$cuda" = ON ]; then
        export PATH=$PATH:/usr/local/cuda/bin TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
        torch=(-DVS_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
    fi
    local rpath="-Wl,--disable-new-dtags -Wl,-rpath,$ML -Wl,-rpath-link,$ML"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${torch[@]}" \
        -DPKG_CONFIG_EXECUTABLE="$D/pkg-config" \
        -DCMAKE_EXE_LINKER_FLAGS="$rpath" -DCMAKE_SHARED_LINKER_FLAGS="$rpath" || return 1
    # Every FFmpeg/SQLite/... library the links name is DIR's (a .pc file that points elsewhere
    # lets CMake take the system's copy here, and find none on the device).
    local named
    named=$(cat "$build"/CMakeFiles/{vidsift,test_shim}.dir/link.txt | tr ' ' '\n' |
        grep -E 'lib(av|sw|sqlite3|turbojpeg|cjson|hiredis|cmocka)[a-z]*\.so|^-l(av|sw|sqlite3|turbojpeg|cjson|hiredis|cmocka)' | sort -u)
    echo "$named"
    if echo "$named" | grep -v "^$D/"; then
        echo "the libraries above are not DIR's"; return 1
    fi
    cmake --build "$build" -j "$jobs" --target vidsift vs_mkclip $unit_tests || return 1
    # Every FFmpeg/SQLite/... library vidsift loads comes from DIR.
    ldd "$VS" | tee "$logs/ldd.txt" | grep -E 'libav|libsw|sqlite|turbojpeg|cjson|hiredis|libx264|not found'
    if grep -E 'libav|libsw|sqlite|turbojpeg|cjson|hiredis' "$logs/ldd.txt" | grep -v "=> $ML/"; then
        echo "a library above is not DIR's"; return 1
    fi
    ! grep -q 'not found' "$logs/ldd.txt" || return 1
    if ! "$VS" --version; then
        echo "vidsift does not start with the device's libraries: DIR's own instead"
        [ -d "$D/aside" ] && mv "$D/aside"/* "$ML/" && ldconfig -n "$ML"
        "$VS" --version || return 1
    fi
}

prepare_models() {
    mkdir -p "$models" || return 1
    "$python" - "$deps/yolov5s.fp16.pt" "$models/yolov5s.pt" <<'PY' || return 1
import sys, torch
m = torch.jit.load(sys.argv[1], map_location="cpu")
m.float()
torch.jit.save(m, sys.argv[2])
print("yolov5s.pt: FP32 weights again")
PY
    cp "$root/models/yolov5s.manifest.json" "$root/models/coco.labels" "$models/" || return 1
    "$python" "$root/models/make_test_models.py" "$models/test" || return 1
    "$VS" models list
}

shim_tests() {
    local names
    names=$(echo "$unit_tests" | sed 's/ /$|unit\//g')
    cd "$build" && ctest -R "unit/$names\$" --output-on-failure -V 2>&1 | tail -n 120
}

make_clips() {
    mkdir -p "$work/clips720" "$work/clips1080" "$work/clipscmp" || return 1
    local pids=() i
    for ((i = 0; i < n720; i++)); do "$build/vs_mkclip" "$work/clips720/c$i.mkv" 1280 720 "$f720" & pids+=($!); done
    for ((i = 0; i < n1080; i++)); do "$build/vs_mkclip" "$work/clips1080/c$i.mkv" 1920 1080 "$f1080" & pids+=($!); done
    for ((i = 0; i < ncmp; i++)); do "$build/vs_mkclip" "$work/clipscmp/c$i.mkv" 1280 720 "$fcmp" & pids+=($!); done
    local failed=0
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    ls -la "$work"/clips*/
    return $failed
}

run_bench() {
    "$VS" bench --device "$device" "${half[@]}" --batches "$batches" --frames "$bench_frames" \
        --no-annotate --json "$work/clips720/c0.mkv" "$work/clips1080/c0.mkv" >"$work/bench.json"
    local status=$?
    cat "$work/bench.json"
    return $status
}

# The no-op inference ceiling (issue 18 item 3): whichever option this vidsift's bench names
# for it. MARKED: the option is helper H18b's; when it is missing this step fails and says so.
run_ceiling() {
    local option
    option=$("$VS" bench --help 2>&1 | grep -Eio -- '--[a-z-]*(noop|no-op|ceiling)[a-z-]*' | head -n 1)
    [ -n "$option" ] || { echo "this vidsift bench has no no-op inference option (H18b's)"; return 3; }
    echo "option: $option"
    "$VS" bench --device "$device" "${half[@]}" "$option" --frames "$bench_frames" \
        --no-annotate --json "$work"/clips720/*.mkv >"$work/ceiling.json"
    local status=$?
    cat "$work/ceiling.json"
    return $status
}

# vidsift run NAME CLIPDIR [OPTIONS...]: one run, its report in work/run-NAME/report.json.
run_clips() {
    local name=$1 dir=$2
    shift 2
    "$VS" run --progress never --force --device "$device" "${half[@]}" --no-annotate \
        --out "$work/run-$name" "$@" "$dir"
    local status=$?
    "$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("fps_decoded", r["fps_decoded"], "gpu", r.get("gpu"), "advice", r.get("advice"))' \
        "$work/run-$name/report.json"
    return $status
}

# The same run with decoding and preprocessing on the CPU (--hwaccel none --preprocess swscale,
# issue 18 item 4, helper H18d's options), against run-720p where `auto` puts them on the GPU.
run_cpu_side() {
    local help pre=()
    help=$("$VS" run --help 2>&1) # not piped into grep -q: pipefail would see SIGPIPE
    grep -q -- '--hwaccel' <<<"$help" ||
        { echo "this vidsift run has no --hwaccel option (H18d's)"; return 3; }
    grep -q -- '--preprocess ' <<<"$help" && pre=(--preprocess swscale)
    run_clips 720p-cpu-side "$work/clips720" --hwaccel none "${pre[@]}"
}

run_compare() {
    VIDSIFT=$VS VIDSIFT_MODELS=$models PYTHON=$(command -v "$python") \
        bash "$root/bench/compare.sh" --device "$device" --rounds 1 "$work"/clipscmp/*.mkv
}
EOF

say "out: $out; work: $work; rehearse: $rehearse; device: $device; budget ${budget}s"
step env 30 env_info
step deps 60 unpack_deps
step build 240 build_vidsift
step models 60 prepare_models
step shim 90 shim_tests
step clips 90 make_clips
step bench 120 run_bench
step ceiling 120 run_ceiling
step run-720p 60 "run_clips 720p \"\$work/clips720\""
step run-1080p 60 "run_clips 1080p \"\$work/clips1080\""
step run-720p-jobs4 60 "run_clips 720p-jobs4 \"\$work/clips720\" --jobs 4"
step run-720p-cpu-side 60 run_cpu_side
step compare 150 run_compare
say "done in $(($(date +%s) - start))s: $(awk '{ print $1 "=" $2 }' "$work/steps.txt" | tr '\n' ' ')"
finish_outputs
failed=$(awk '$2 != "ok"' "$work/steps.txt" | wc -l)
rm -rf "$work"
# 0: every step ok; 1: some failed, timed out or were skipped (summary.json says which).
[ "$failed" -eq 0 ]
