#!/usr/bin/env bash
# gpu-deps.sh [OUTDIR]: prepares, on this Debian 12 machine, what bench/gpu.sh needs on the GPU
# machine, which has PyTorch (CUDA libtorch inside), nvcc, CMake and a compiler, but no package
# registry and no FFmpeg, SQLite, TurboJPEG, cJSON, hiredis or cmocka. OUTDIR (default .gpu-deps,
# ignored by git) ends up holding two files, carried to the device by the `run` tool:
#
#   OUTDIR/deps.tar.xz     Debian 12 packages unpacked with `dpkg -x`: the -dev packages vidsift
#                          builds against (headers, .pc files, .so links), every shared library
#                          their runtime libraries load (ldd closure, glibc and libstdc++ left out:
#                          the device's newer ones serve), pkgconf (pkg-config), and cmocka;
#                          docs, man pages, static libraries and programs stripped
#   OUTDIR/yolov5s.fp16.pt the default model with its weights stored as FP16 (half the size);
#                          gpu.sh turns them back into FP32 with the device's torch. Speed does
#                          not depend on the weights' values; detections move by FP16 rounding.
#
# Why compressed: the unpacked libraries are ~200 MB (libavcodec's codec libraries, ICU, x265,
# codec2...), the `run` tool copies at most 64 MiB (working tree + carried paths), and no
# library can simply go (libavcodec is linked with BIND_NOW and calls several codec libraries
# when it first lists its codecs). Compressed, they were 51.6 MiB: too much beside the model.
# Two that vidsift never calls and that are mostly data, codec2 and ICU's data, are replaced
# by stubs that define the same symbols (ldd -r then resolves everything; a call aborts with
# the stub's name): 36 MiB. The size of all that travels is printed at the end.
#
# Needs: apt-get (Debian's archive), the packages setup.sh installs (the closure is read off the
# installed libraries, and the same versions are downloaded, kept in VIDSIFT_DEPS_CACHE,
# default /tmp/vidsift-gpu-debs), python3-torch (VIDSIFT_PYTHON), and a prepared
# model (models/.cache/converted/yolov5s.pt or build/models/yolov5s.pt). Exit 1 on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$root/.gpu-deps}
lib=/usr/lib/x86_64-linux-gnu
python=${VIDSIFT_PYTHON:-/usr/bin/python3} # Debian's, which has torch
# Downloaded packages are kept here between runs (not in OUTDIR: that one travels).
debs=${VIDSIFT_DEPS_CACHE:-${TMPDIR:-/tmp}/vidsift-gpu-debs}

die() { printf 'gpu-deps: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'gpu-deps: %s\n' "$*" >&2; }

# What vidsift links besides libtorch (CMakeLists.txt's pkg_check_modules), and the test library.
DEV=(libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libswresample-dev
    libsqlite3-dev libturbojpeg0-dev libcjson-dev libhiredis-dev libcmocka-dev
    pkgconf-bin libpkgconf3)
ROOTS=(libavformat.so.59 libavcodec.so.59 libswscale.so.6 libavutil.so.57 libswresample.so.4
    libsqlite3.so.0 libturbojpeg.so.0 libcjson.so.1 libhiredis.so.0.14 libcmocka.so.0
    libpkgconf.so.3)
# Replaced by stubs (see below): libavcodec links codec2 (an 8 MB speech codec's tables) and
# libxml2 links ICU, whose data (libicudata) is 30 MB; vidsift uses neither.
STUBS=(libcodec2.so.1.0 libicudata.so.72)
# The device's own, newer than Debian 12's: never shadow them.
SKIP='^(libc6|libgcc-s1|libstdc\+\+6)$'

for l in "${ROOTS[@]}"; do [ -e "$lib/$l" ] || die "$lib/$l missing: install the -dev packages first (./setup.sh)"; done
model=
for m in "$root/models/.cache/converted/yolov5s.pt" "$root/build/models/yolov5s.pt"; do
    [ -r "$m" ] && { model=$m; break; }
done
[ -n "$model" ] || die "no yolov5s.pt: run 'bash models/prepare.sh build/models' first"

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-deps-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$debs" "$work/root"

# The runtime closure: every library the roots load, mapped to its package.
for l in "${ROOTS[@]}"; do
    echo "$lib/$l"
    ldd "$lib/$l" | awk '$3 ~ /^\// { print $3 }'
done | sort -u >"$work/libs"
pkgs=("${DEV[@]}")
while read -r path; do
    real=$(readlink -f "$path")
    owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null) ||
        die "$real: no package owns it"
    pkgs+=("${owner%%:*}")
done <"$work/libs"
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u | grep -Ev "$SKIP")
say "${#pkgs[@]} packages (closure of ${#ROOTS[@]} libraries: $(wc -l <"$work/libs") files)"

# The installed versions, so that headers and libraries match what was tested here.
specs=()
for p in "${pkgs[@]}"; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || die "$p is not installed here"
    specs+=("$p=$v")
done
# deb_of PACKAGE: its .deb in the cache, if any.
deb_of() {
    local f
    for f in "$debs/$1_"*_amd64.deb "$debs/$1_"*_all.deb; do
        [ -e "$f" ] && { echo "$f"; return 0; }
    done
    return 0
}
: >"$work/debs.list"
missing=()
for spec in "${specs[@]}"; do [ -n "$(deb_of "${spec%%=*}")" ] || missing+=("$spec"); done
# The installed version when the archive still has it, else the archive's (a security update
# that this machine has not installed yet: same soname, same ABI). One apt-get for all (fast);
# one per package only when that fails (a version gone from the archive).
if [ ${#missing[@]} -gt 0 ] && ! (cd "$debs" && apt-get download -q "${missing[@]}") >>"$work/apt.log" 2>&1; then
    for spec in "${missing[@]}"; do
        p=${spec%%=*}
        [ -n "$(deb_of "$p")" ] && continue
        (cd "$debs" && { apt-get download -q "$spec" || apt-get download -q "$p"; }) \
            >>"$work/apt.log" 2>&1 || die "apt-get download $p failed: $(grep -E '^E:' "$work/apt.log" | tail -n 1)"
    done
fi
for spec in "${specs[@]}"; do
    p=${spec%%=*} v=${spec#*=}
    have=$(deb_of "$p")
    [ -n "$have" ] || die "apt-get download $p wrote no .deb"
    echo "$have" >>"$work/debs.list"
    [[ $have == *"_${v/:/%3a}_"* ]] || say "$p: installed $v, the archive's $(basename "$have") used"
done
while read -r deb; do dpkg -x "$deb" "$work/root"; done <"$work/debs.list"
xargs -n 1 basename <"$work/debs.list" >"$work/root/PACKAGES"

# Strip what neither the build nor the run reads.
r=${work:?}/root
for d in usr/share/doc usr/share/man usr/share/lintian usr/share/info usr/share/locale \
    usr/share/bug usr/share/aclocal usr/share/gtk-doc etc usr/sbin usr/libexec; do
    rm -rf "${r:?}/$d"
done
find "$r" -name '*.a' -delete
find "$r/usr/bin" -type f ! -name pkgconf -delete 2>/dev/null || true
find "$r" -xtype l -delete # links whose target was stripped
# Debian's .pc files name /usr; gpu.sh sets PKG_CONFIG_SYSROOT_DIR to the unpacked root.
[ -x "$r/usr/bin/pkgconf" ] || die "pkgconf missing from the unpacked packages"
for l in "${ROOTS[@]}"; do [ -e "$r$lib/$l" ] || die "$l missing from the unpacked packages"; done

# Stubs: a library of the same soname that defines every symbol the real one exports (functions
# that print what was called and abort, data as small zeroed arrays), so that every reference
# still resolves (libavcodec is linked with BIND_NOW: all at load) while the bulk stays here.
# A call into a stub can never pass silently: it names itself and aborts.
for so in "${STUBS[@]}"; do
    file=$r$lib/$(readlink "$r$lib/$so" || echo "$so")
    [ -f "$file" ] || die "$so missing from the unpacked packages"
    nm -D --defined-only -S "$file" | awk -v so="$so" '
        BEGIN { print "#include <stdio.h>\n#include <stdlib.h>";
                print "__attribute__((visibility(\"hidden\"))) void vs_stub_called(const char *name) {";
                print "    fprintf(stderr, \"%s: a stub made by bench/gpu-deps.sh: %s called\\n\", \"" so "\", name);";
                print "    abort();\n}" }
        NF == 4 && $3 ~ /^[TtWi]$/ { printf "void %s(void) { vs_stub_called(\"%s\"); }\n", $4, $4 }
        NF == 4 && $3 ~ /^[DdBbRrVv]$/ { printf "unsigned char %s[64] __attribute__((aligned(64)));\n", $4 }
    ' >"$work/stub.c"
    gcc -shared -fPIC -w -fno-builtin -O1 -Wl,-soname,"$so" -o "$work/stub.so" "$work/stub.c" ||
        die "could not build the stub of $so"
    real=$(stat -c %s "$file")
    mv -f "$work/stub.so" "$file"
    say "$so: stub of $(grep -cE '^(void|unsigned char) ' "$work/stub.c") symbols replaces $((real / 1048576)) MiB"
done
# Every symbol the libraries refer to resolves among them (ldd -r: data and functions).
for l in "${ROOTS[@]}"; do
    LD_LIBRARY_PATH=$r$lib ldd -r "$r$lib/$l" 2>&1 | grep -E 'undefined symbol|not found' &&
        die "$l: unresolved with the unpacked libraries (above)"
done
say "unpacked: $(du -sh "$r" | cut -f1)"

say "compressing (xz -9, a few minutes)"
tar -C "$r" -cf - . | xz -T0 -9 >"$out/deps.tar.xz.part"
mv -f "$out/deps.tar.xz.part" "$out/deps.tar.xz"

say "storing the model's weights as FP16"
"$python" - "$model" "$out/yolov5s.fp16.pt" <<'PY' || die "could not convert $model to FP16 weights"
import sys, torch
m = torch.jit.load(sys.argv[1], map_location="cpu")
m.half()
torch.jit.save(m, sys.argv[2])
PY

# What the `run` tool copies: tracked + untracked-not-ignored files, plus this folder.
tree=$(cd "$root" && { git ls-files -z; git ls-files -z --others --exclude-standard; } |
    sort -zu | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
folder=$(du -sb "$out" | cut -f1)
limit=$((64 * 1048576))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
say "deps.tar.xz $(mib "$(stat -c %s "$out/deps.tar.xz")"), yolov5s.fp16.pt $(mib "$(stat -c %s "$out/yolov5s.fp16.pt")")"
say "working tree $(mib "$tree") + $(basename "$out") $(mib "$folder") = $(mib $((tree + folder))) (limit 64 MiB)"
[ $((tree + folder)) -lt $limit ] || die "over the 64 MiB the run tool copies"
