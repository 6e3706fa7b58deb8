#!/usr/bin/env bash
# cli_options: each subcommand's option table (what its --help prints, see cli/options.h)
# and the man page's list of that command's options agree, both ways; a misspelled option
# names the nearest one and prints one usage line; every command answers -V/--version.
source "$(dirname "$0")/common.bash"
MAN="$VS_SOURCE_DIR/man/vidsift.1"
[ -r "$MAN" ] || fail "no man page at $MAN"

# The commands `vidsift --help` lists.
commands=$("$VIDSIFT" --help | sed -n 's/^  \([a-z]\+\)  .*/\1/p')
[ "$(echo "$commands" | wc -l)" -ge 8 ] || fail "vidsift --help lists too few commands: $commands"

# help_options ARGS...: the long options `vidsift ARGS --help` lists, but --help/--version.
help_options() {
    "$VIDSIFT" "$@" --help | sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}--\([a-z0-9-]*\).*/\2/p' |
        grep -vx 'help\|version' || true
}

# man_options COMMAND: the options listed as items (.TP or .TQ, then .B/.BI/.BR
# \-\-NAME) in the man page's ".SS COMMAND" section.
man_options() {
    awk -v section=".SS $1" '
        /^\.S[HS] / { inside = ($0 == section) }
        inside && (previous == ".TP" || previous == ".TQ") && /^\.B[IR]? \\-\\-/ {
            name = $2; gsub(/\\-/, "-", name); sub(/^--/, "", name); print name
        }
        { previous = $0 }' "$MAN"
}

for command in $commands; do
    grep -qx ".SS $command" "$MAN" || fail "man page: no section .SS $command"
    if [ "$command" = models ]; then
        table=$(for sub in list info verify init; do help_options models "$sub"; done | sort -u)
    else
        table=$(help_options "$command" | sort -u)
    fi
    [ -n "$table" ] || fail "vidsift $command --help lists no option"
    documented=$(man_options "$command" | sort -u)
    missing=$(comm -23 <(echo "$table") <(echo "$documented"))
    stale=$(comm -13 <(echo "$table") <(echo "$documented"))
    [ -z "$missing" ] || fail "man page, $command: options of the table not documented:" $missing
    [ -z "$stale" ] || fail "man page, $command: documented options the table lacks:" $stale
done
pass "the man page lists exactly the options of each command's table: $(echo $commands)"

# The check itself notices drift: a man page without one of run's options fails it.
sed '/^\.BI \\-\\-jobs /d' "$MAN" >"$WORK/drifted.1"
MAN="$WORK/drifted.1"
documented=$(man_options run | sort -u)
comm -23 <(help_options run | sort -u) <(echo "$documented") | grep -qx jobs ||
    fail "a man page without --jobs was not noticed"
MAN="$VS_SOURCE_DIR/man/vidsift.1"
pass "a man page missing an option is caught"

status=0
"$VIDSIFT" run --clases person clip.mp4 >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] || fail "run --clases exited $status, expected 2"
grep -q "unknown option '--clases': did you mean --classes?" "$WORK/err" ||
    fail "run --clases: no suggestion: $(cat "$WORK/err")"
[ "$(grep -c '^usage: vidsift run ' "$WORK/err")" -eq 1 ] && [ "$(wc -l <"$WORK/err")" -eq 2 ] ||
    fail "run --clases: expected the suggestion and one usage line: $(cat "$WORK/err")"
status=0
"$VIDSIFT" export --fromat csv x.db >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] && grep -q "did you mean --format?" "$WORK/err" ||
    fail "export --fromat: exit $status: $(cat "$WORK/err")"
status=0
"$VIDSIFT" run --batch >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] && grep -q -- "--batch needs a value" "$WORK/err" ||
    fail "run --batch without a value: exit $status: $(cat "$WORK/err")"
status=0
"$VIDSIFT" merge --zzzzzzzz a.db b.db >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] && ! grep -q "did you mean" "$WORK/err" ||
    fail "merge --zzzzzzzz: exit $status, or a far-fetched suggestion: $(cat "$WORK/err")"
# A mistyped command too: the nearest one and one usage line, not the whole list.
for args in "rn clip.mp4" "models lst" "zzzzzzzz" "models zzzzzzzz"; do
    status=0
    # shellcheck disable=SC2086
    "$VIDSIFT" $args >"$WORK/out" 2>"$WORK/err" || status=$?
    [ "$status" -eq 2 ] && [ "$(wc -l <"$WORK/err")" -eq 2 ] && grep -q "^usage: vidsift " "$WORK/err" ||
        fail "vidsift $args: exit $status, expected 2 and two lines: $(cat "$WORK/err")"
done
"$VIDSIFT" rn >"$WORK/out" 2>"$WORK/err" || true
grep -q "unknown command 'rn': did you mean run?" "$WORK/err" || fail "vidsift rn: $(cat "$WORK/err")"
"$VIDSIFT" models lst >"$WORK/out" 2>"$WORK/err" || true
grep -q "unknown command 'lst': did you mean list?" "$WORK/err" ||
    fail "vidsift models lst: $(cat "$WORK/err")"
"$VIDSIFT" zzzzzzzz >"$WORK/out" 2>"$WORK/err" || true
grep -q "did you mean" "$WORK/err" && fail "vidsift zzzzzzzz: a far-fetched suggestion: $(cat "$WORK/err")"
pass "a misspelled option names the nearest one; a missing value is named; no wild guesses"

# Every command `vidsift --help` lists, and each models subcommand.
for args in "" $(echo "$commands" | grep -vx models) "models list" "models info" "models verify" \
    "models init"; do
    # shellcheck disable=SC2086
    "$VIDSIFT" $args --version >"$WORK/version" 2>&1 || fail "vidsift $args --version failed"
    grep -q '^vidsift [0-9]' "$WORK/version" || fail "vidsift $args --version: $(cat "$WORK/version")"
    # shellcheck disable=SC2086
    "$VIDSIFT" $args -V | cmp -s - "$WORK/version" || fail "vidsift $args -V differs from --version"
done
pass "-V and --version for every command"

# worker takes every option of run but those about run's own inputs and terminal (one
# table: cli/run_options.h), with run's limits and messages.
only_run=$(comm -23 <(help_options run | sort -u) <(help_options worker | sort -u) | tr '\n' ' ')
[ "$only_run" = "json progress shard shards verbose " ] ||
    fail "options of run that worker lacks: $only_run"
status=0
"$VIDSIFT" worker --memory-budget 10K >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] && grep -q "vidsift worker: --memory-budget: '10K' is not a size of 64M" "$WORK/err" ||
    fail "worker --memory-budget 10K: exit $status: $(cat "$WORK/err")"
status=0
"$VIDSIFT" worker --track-low 0.05 --track-new 0.5 --track-match 0.7 --track-buffer 2 \
    --memory-budget 512M --classes person >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] && grep -q "^vidsift worker: --redis URL is required" "$WORK/err" ||
    fail "worker with run's tracking and memory options: exit $status: $(cat "$WORK/err")"
status=0
"$VIDSIFT" worker --classes ' ,' >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] && grep -q "vidsift worker: --classes: ' ,' has an empty class name" "$WORK/err" ||
    fail "worker --classes ' ,': exit $status: $(cat "$WORK/err")"
for command in run worker; do
    wide=$("$VIDSIFT" $command --help | awk 'length($0) > 80')
    [ -z "$wide" ] || fail "vidsift $command --help: lines over 80 columns: $wide"
done
pass "worker takes run's options (--memory-budget, --track-*) with run's checks: only $only_run are run's alone"
finish
