#!/usr/bin/env bash
# run.sh [SECONDS] [TARGET...]: builds the libFuzzer targets with clang (ASan + UBSan) into
# build-fuzz/ at the repository root, runs each TARGET (default: manifest labels) for SECONDS
# (default 120), then merges the inputs that reached new code into tests/fuzz/corpus/TARGET/.
# A crash stops the script; libFuzzer leaves the input as build-fuzz/crash-*.
# Not run by ctest (it needs clang and minutes); ctest replays the corpus instead
# (tests/unit/test_fuzz_replay.c).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(manifest labels)

die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 1; }
command -v clang >/dev/null || die "clang not found (apt-get install clang)"

out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Icore)
for t in "${targets[@]}"; do
    clang "${flags[@]}" "tests/fuzz/fuzz_$t.c" core/manifest.c core/detect.c core/error.c \
        -lcjson -lm -o "$out/fuzz_$t" || die "could not build fuzz_$t"
done

for t in "${targets[@]}"; do
    corpus=tests/fuzz/corpus/$t
    work=$out/corpus-$t
    mkdir -p "$work"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    printf 'fuzz: %s for %ss\n' "$t" "$seconds" >&2
    (cd "$out" && "./fuzz_$t" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
        -print_final_stats=1 "${dict[@]/#-dict=/-dict=../}" "corpus-$t" "../$corpus") \
        >"$out/fuzz_$t.log" 2>&1 || { tail -30 "$out/fuzz_$t.log" >&2; die "fuzz_$t failed"; }
    before=$(ls "$corpus" | wc -l)
    # Minimise: the hand-written seeds (named *.json / *.txt) stay as documentation; of the
    # rest, libFuzzer keeps only inputs adding edge coverage (no hit counters, so the corpus
    # stays small enough to replay in every ctest run).
    merged=$out/merged-$t
    rm -rf "$merged" && mkdir -p "$merged"
    find "$corpus" -maxdepth 1 -type f -name '*.*' -exec cp {} "$merged/" \;
    "./$out/fuzz_$t" -merge=1 -use_counters=0 -max_len=8192 "$merged" "$corpus" "$work" \
        >>"$out/fuzz_$t.log" 2>&1 || die "merge of fuzz_$t failed (see $out/fuzz_$t.log)"
    rm -rf "$corpus" && cp -r "$merged" "$corpus"
    printf 'fuzz: %s: %s runs, corpus %d -> %d files\n' "$t" \
        "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz_$t.log" | grep -o '[0-9]*$' | tail -1)" \
        "$before" "$(ls "$corpus" | wc -l)" >&2
done
