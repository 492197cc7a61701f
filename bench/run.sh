#!/usr/bin/env bash
# Benchmark gitopsc on generated specs against the file-system floor (`tar -x` of the tree).
#
# Usage: bench/run.sh [N...]          (default: 1000 5000 apps)
#   RUNS=10 bench/run.sh 5000         (timed runs per measurement, default 5, at least 5)
#   GITOPSC_BIN=/path/to/gitopsc bench/run.sh   (measure that binary; no cargo build)
#
# For each N: generate the spec (bench/gen-spec.py), build a reference tree once and tar it,
# then time, warm cache:
#   build-empty   gitopsc build into an empty directory
#   check         gitopsc check of the up-to-date reference tree
#   tar -x        extracting the tree's tar into an empty directory (the floor)
#   build-noop    gitopsc build into the up-to-date tree (reference only)
# then build-empty and tar -x again, interleaved round by round (the fairest ratio on a
# machine whose speed drifts), and the peak RSS of one build into an empty directory. Prints a markdown report on stdout;
# progress goes to stderr. Everything is written under one temp dir in /tmp, removed on exit.
#
# "Empty directory" without `rm -rf` between runs: the prepare step renames the last run's
# output into $WORK/trash (one rename, no inode freed); trees are deleted only on exit. On
# ext4 without a journal (this machine's /), creating inodes shortly (60-360 s) after many
# were deleted costs O(recently deleted) each (`recently_deleted()` in `find_inode_bit()`),
# which made back-to-back `rm -rf` + re-create runs several times slower and growing.
# SETTLE=60 (default) syncs and waits that long first, for deletions made just before.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(1000 5000); fi
RUNS=${RUNS:-5}
[ "$RUNS" -ge 5 ] || RUNS=5
SETTLE=${SETTLE:-60}

log() { echo "bench: $*" >&2; }

# Tools: hyperfine for timing (else a bash loop), GNU time for peak RSS (else none).
if ! command -v hyperfine >/dev/null 2>&1; then
    log "installing hyperfine"
    apt-get install -y hyperfine >/dev/null 2>&1 || log "no hyperfine: timing with a bash loop"
fi
if [ ! -x /usr/bin/time ]; then
    apt-get install -y time >/dev/null 2>&1 || log "no /usr/bin/time: peak RSS not measured"
fi

if [ -n "${GITOPSC_BIN:-}" ]; then
    BIN=$(realpath "$GITOPSC_BIN")
    VERSION="$BIN"
else
    log "cargo build --release"
    cargo build --release --quiet >&2
    BIN="$PWD/target/release/gitopsc"
    VERSION="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock blueprints build.rs \
        || echo ' + uncommitted changes')"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitopsc-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/trash"
# Moves directory $1 (if any) out of the way, into the trash, without deleting anything.
MOVE_ASIDE="move() { if [ -e \"\$1\" ]; then mv \"\$1\" \"\$(mktemp -d '$WORK/trash/XXXXXX')/\"; fi; }; move"

if [ "$SETTLE" -gt 0 ]; then
    log "sync, then ${SETTLE}s for recent deletions to age (SETTLE=0 skips)"
    sync
    sleep "$SETTLE"
fi

# measure NAME PREPARE COMMAND: time COMMAND RUNS times (PREPARE before each run, untimed,
# one warm-up run first); writes "mean stddev min" in seconds to $WORK/NAME.time.
measure() {
    local name=$1 prepare=$2 cmd=$3
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine --style basic --warmup 1 --runs "$RUNS" --prepare "$prepare" \
            --export-json "$WORK/$name.json" "$cmd" >&2
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["stddev"] or 0, r["min"])' \
            "$WORK/$name.json" >"$WORK/$name.time"
    else
        local i t0 t1 times=()
        bash -c "$prepare" && bash -c "$cmd" >/dev/null # warm-up
        for ((i = 0; i < RUNS; i++)); do
            bash -c "$prepare"
            t0=$(date +%s%N)
            bash -c "$cmd" >/dev/null
            t1=$(date +%s%N)
            times+=($((t1 - t0)))
        done
        printf '%s\n' "${times[@]}" | awk 'NR==1 {lo=$1} {s+=$1; q+=$1*$1; n++; if ($1<lo) lo=$1}
            END {m=s/n; v=q/n-m*m; if (v<0) v=0; printf "%.6f %.6f %.6f\n", m/1e9, sqrt(v)/1e9, lo/1e9}' \
            >"$WORK/$name.time"
        log "$name: $(cat "$WORK/$name.time") (mean, stddev, min s)"
    fi
}

# interleave N PREP_A CMD_A PREP_B CMD_B: RUNS rounds of A then B (each after its PREP), so
# that a drift of the machine during the run hits both alike; writes "median_a median_b
# median_of_ratios" to $WORK/ab-N.time.
interleave() {
    local n=$1 i t0 t1 ta tb
    : >"$WORK/ab-$n.rounds"
    for ((i = 0; i < RUNS; i++)); do
        bash -c "$2"
        t0=$(date +%s%N) && bash -c "$3" >/dev/null && t1=$(date +%s%N) && ta=$((t1 - t0))
        bash -c "$4"
        t0=$(date +%s%N) && bash -c "$5" >/dev/null && t1=$(date +%s%N) && tb=$((t1 - t0))
        echo "$ta $tb" >>"$WORK/ab-$n.rounds"
    done
    python3 -c 'import statistics as s, sys
r = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
print("%.3f %.3f %.2f" % (s.median(a for a, _ in r) / 1e9, s.median(b for _, b in r) / 1e9, s.median(a / b for a, b in r)))' \
        "$WORK/ab-$n.rounds" >"$WORK/ab-$n.time"
    log "N=$n interleaved build, tar -x: $(cat "$WORK/ab-$n.time") (median s, median s, median ratio)"
}

field() { cut -d' ' -f"$2" "$WORK/$1.time"; } # field NAME 1|2|3: mean, stddev, min
cell() { awk '{printf "%.3f ± %.3f", $1, $2}' "$WORK/$1.time"; }
ratio() { awk -v a="$(field "$1" "$3")" -v b="$(field "$2" "$3")" 'BEGIN {printf "%.2f", a/b}'; }
# Time (µs) that some task waited for a CPU (Linux PSI), to tell contended runs apart.
cpu_wait() { awk '/^some/ {sub("total=", "", $5); print $5}' /proc/pressure/cpu 2>/dev/null || echo 0; }
START_S=$(date +%s) START_WAIT=$(cpu_wait)

ROWS=()
MINS=()
AB=()
RSS=()
for n in "${SIZES[@]}"; do
    spec="$WORK/spec-$n.yaml" ref="$WORK/ref-$n" out="$WORK/out-$n" tarball="$WORK/tree-$n.tar"
    log "N=$n: generating and validating the spec; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    python3 bench/gen-spec.py "$n" >"$spec"
    "$BIN" -q validate "$spec"
    "$BIN" -q build "$spec" --out "$ref"
    files=$(find "$ref" -type f | wc -l)
    tar -C "$ref" -cf "$tarball" .

    # `sync` before each run: no run competes with the write-back of the one before.
    measure "build-$n" "$MOVE_ASIDE '$out' && sync" "'$BIN' -q build '$spec' --out '$out'"
    measure "tar-$n" "$MOVE_ASIDE '$out' && mkdir '$out' && sync" "tar -C '$out' -xf '$tarball'"
    interleave "$n" "$MOVE_ASIDE '$out' && sync" "'$BIN' -q build '$spec' --out '$out'" \
        "$MOVE_ASIDE '$out' && mkdir '$out' && sync" "tar -C '$out' -xf '$tarball'"
    measure "check-$n" "sync" "'$BIN' -q check '$spec' --out '$ref'"
    measure "noop-$n" "sync" "'$BIN' -q build '$spec' --out '$ref'"

    if [ -x /usr/bin/time ]; then
        bash -c "$MOVE_ASIDE '$out'"
        /usr/bin/time -v "$BIN" -q build "$spec" --out "$out" 2>"$WORK/rss-$n.txt"
        RSS+=("| $n | $(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/rss-$n.txt") |")
    fi
    ROWS+=("| $n | $files | $(cell "build-$n") | $(cell "check-$n") | $(cell "tar-$n") | $(cell "noop-$n") \
| $(ratio "build-$n" "tar-$n" 1) | $(ratio "check-$n" "tar-$n" 1) |")
    MINS+=("N=$n: build/tar $(ratio "build-$n" "tar-$n" 3), check/tar $(ratio "check-$n" "tar-$n" 3)")
    AB+=("| $n | $(field "ab-$n" 1) | $(field "ab-$n" 2) | $(field "ab-$n" 3) |")
done
log "removing $WORK (takes a while: $(find "$WORK" -type f | wc -l) files)"

# The report.
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); gitopsc $VERSION"
echo "Machine: $(nproc) CPUs, Linux $(uname -r), /tmp on $(df -T /tmp | awk 'NR==2 {print $2}'); load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU contention: some task waited for a CPU $(awk -v w=$(($(cpu_wait) - START_WAIT)) -v s=$(($(date +%s) - START_S)) \
    'BEGIN {printf "%.0f", (s > 0 ? w / 1e4 / s : 0)}')% of the run's time (PSI; near 0 on an idle machine)"
echo "Timing: $(command -v hyperfine >/dev/null && hyperfine --version || echo 'bash loop'), $RUNS runs + 1 warm-up, mean ± stddev"
echo
echo "| N apps | files | build-empty (s) | check-current (s) | tar -x (s) | build-noop (s) | build/tar | check/tar |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Target: build/tar ≤ 1.0, check/tar ≤ 0.5. Ratios above are of means; of the fastest runs (min):"
printf -- '- %s\n' "${MINS[@]}"
echo
echo "Interleaved ($RUNS rounds of build-empty then tar -x, medians; the ratio is the median of the rounds' ratios):"
echo
echo "| N apps | build-empty (s) | tar -x (s) | build/tar |"
echo "|---:|---:|---:|---:|"
printf '%s\n' "${AB[@]}"
if [ "${#RSS[@]}" -gt 0 ]; then
    echo
    echo "| N apps | peak RSS of build-empty (MiB) |"
    echo "|---:|---:|"
    printf '%s\n' "${RSS[@]}"
fi
