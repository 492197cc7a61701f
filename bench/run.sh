#!/usr/bin/env bash
# Benchmark gitopsc against the file-system floor: `tar -x` of the very tree it writes.
#
# Usage: bench/run.sh [N...]           (default: 5000 apps)
#   ROUNDS=9 bench/run.sh 1000 5000    (interleaved rounds per pair, default 7, at least 5)
#   FLOORS="tmpfs" bench/run.sh        (default "tmpfs fresh")
#   GITOPSC_BIN=/path/to/gitopsc bench/run.sh   (measure that binary; no cargo build)
#
# Floors:
#   tmpfs  a tmpfs mounted for the run (or /dev/shm when mounting is not allowed)
#   fresh  a new ext4 file system on a loop device, made for the run (root only; skipped with
#          a note otherwise). An old ext4 after mass deletes is a slow floor that flatters
#          gitopsc: it is never measured here.
#
# For each floor and N: generate the spec (bench/gen-spec.py), build a reference tree, tar it,
# then ROUNDS rounds of A then B, each run into a new empty folder (nothing is deleted
# between runs: deletions would skew the next run's inode allocation):
#   build-empty vs tar -x    `gitopsc build` into an empty folder vs extracting the tree's tar
#   check vs tar -x          `gitopsc check` of the untouched reference tree vs the same tar -x
# and reports the ratio of each round's pair (min, median, max: the spread says how noisy the
# machine was), plus the peak RSS of one build and one check (/usr/bin/time -v).
# Prints a markdown report on stdout; progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(5000); fi
ROUNDS=${ROUNDS:-7}
[ "$ROUNDS" -ge 5 ] || ROUNDS=5
read -r -a FLOOR_LIST <<<"${FLOORS:-tmpfs fresh}"

log() { echo "bench: $*" >&2; }

if [ -n "${GITOPSC_BIN:-}" ]; then
    BIN=$(realpath "$GITOPSC_BIN")
else
    log "cargo build --release"
    cargo build --release --quiet >&2
    BIN="$PWD/target/release/gitopsc"
fi
VERSION=$("$BIN" --version)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitopsc-bench.XXXXXX")
cleanup() {
    for m in "$WORK"/floor-*; do
        if mountpoint -q "$m"; then umount "$m"; fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
# The incremental path's cache (docs/performance.md) goes with the run.
export GITOPSC_CACHE_DIR="$WORK/cache"

# mount_floor NAME: prints the directory the floor NAME provides, or nothing when it cannot.
mount_floor() {
    local dir="$WORK/floor-$1"
    mkdir -p "$dir"
    case $1 in
    tmpfs)
        if ! mount -t tmpfs -o size=16g tmpfs "$dir" 2>/dev/null; then
            dir=$(mktemp -d /dev/shm/gitopsc-bench.XXXXXX)
        fi
        ;;
    fresh)
        truncate -s 12G "$WORK/fresh.img"
        mkfs.ext4 -q -F -i 4096 "$WORK/fresh.img" >&2 2>/dev/null || return 0
        mount -o loop "$WORK/fresh.img" "$dir" 2>/dev/null || return 0
        ;;
    esac
    echo "$dir"
}

# run_ns COMMAND...: runs it, prints its wall time in nanoseconds.
run_ns() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $((t1 - t0))
}

# spread FILE: "median_a median_b min med max" of the rounds "a b" in FILE (seconds, ratio a/b).
spread() {
    python3 - "$1" <<'PY'
import statistics as s, sys
r = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
q = sorted(a / b for a, b in r)
print("%.3f %.3f %.2f %.2f %.2f" % (s.median(a for a, _ in r) / 1e9, s.median(b for _, b in r) / 1e9,
                                    q[0], s.median(q), q[-1]))
PY
}

# peak_kib COMMAND...: the peak RSS of COMMAND in KiB.
peak_kib() {
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'
}

ROWS=()
for floor in "${FLOOR_LIST[@]}"; do
    root=$(mount_floor "$floor")
    if [ -z "$root" ]; then
        ROWS+=("| $floor | — | could not be made here (needs root and a loop device) | | | | |")
        continue
    fi
    for n in "${SIZES[@]}"; do
        spec="$WORK/spec-$n.yaml"
        [ -f "$spec" ] || python3 bench/gen-spec.py "$n" >"$spec"
        ref="$root/ref-$n"
        log "$floor N=$n: reference build; load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BIN" -q build "$spec" --out "$ref"
        files=$(find "$ref" -type f | wc -l)
        tarball="$root/tree-$n.tar"
        tar -C "$ref" -cf "$tarball" .
        sync
        : >"$WORK/build-$floor-$n" && : >"$WORK/check-$floor-$n"
        for ((i = 0; i < ROUNDS; i++)); do
            a=$(run_ns "$BIN" -q build "$spec" --out "$root/b-$n-$i")
            mkdir "$root/t-$n-$i"
            b=$(run_ns tar -C "$root/t-$n-$i" -xf "$tarball")
            echo "$a $b" >>"$WORK/build-$floor-$n"
            a=$(run_ns "$BIN" -q check "$spec" --out "$ref")
            mkdir "$root/u-$n-$i"
            b=$(run_ns tar -C "$root/u-$n-$i" -xf "$tarball")
            echo "$a $b" >>"$WORK/check-$floor-$n"
        done
        read -r bs ts bmin bmed bmax <<<"$(spread "$WORK/build-$floor-$n")"
        read -r cs ts2 cmin cmed cmax <<<"$(spread "$WORK/check-$floor-$n")"
        rss_b=$(peak_kib "$BIN" -q build "$spec" --out "$root/rss-$n")
        rss_c=$(peak_kib "$BIN" -q check "$spec" --out "$ref")
        ROWS+=("| $floor | $n | $files | ${bs} s vs ${ts} s: **${bmed}×** (${bmin}–${bmax}) \
| ${cs} s vs ${ts2} s: **${cmed}×** (${cmin}–${cmax}) | $((rss_b / n)) | $((rss_c / n)) |")
        log "$floor N=$n: build/tar $bmed ($bmin–$bmax), check/tar $cmed ($cmin–$cmax)"
    done
done

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $VERSION"
echo "Machine: $(nproc) CPUs, Linux $(uname -r); load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$ROUNDS interleaved rounds per pair; medians of each side, the median ratio of the rounds in bold, (min–max) of the ratios."
echo
echo "| floor | N apps | files | build-empty vs tar -x | check (untouched) vs tar -x | build KiB/app | check KiB/app |"
echo "|---|---:|---:|---|---|---:|---:|"
printf '%s\n' "${ROWS[@]}"
