#!/usr/bin/env bash
# Benchmark edits: what a one-app edit, an edit of every app (a default), a comment-only change
# and an untouched tree cost, with apps in separate files (a fleet folder, `gen-spec.py N
# --split`) and in one file; an edit of every app against a build into a new folder.
#
# Usage: bench/edit.sh [N]      (default 5000)
#   ROUNDS=7 FLOORS="tmpfs fresh" GITOPSC_BIN=... as bench/run.sh
#
# Each round sets one app's chart version (a different app each round), then times `check`
# (exit 1: stale) and `build` of that edit, `check` after a comment-only change, `check` of the
# untouched tree, then sets `defaults.retryInterval` to a value the tree was never built with
# (every app's key differs) and times `check` and `build` of that, a build of the same spec into
# a new folder, and in turn `tar -x` of the same tree into a new folder. The cache lives in the
# run's own folder (GITOPSC_CACHE_DIR). Prints min / median / max of each.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
ROUNDS=${ROUNDS:-7}
read -r -a FLOOR_LIST <<<"${FLOORS:-tmpfs fresh}"
log() { echo "bench: $*" >&2; }
if [ -n "${GITOPSC_BIN:-}" ]; then BIN=$(realpath "$GITOPSC_BIN"); else
    cargo build --release --quiet >&2
    BIN="$PWD/target/release/gitopsc"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitopsc-edit.XXXXXX")
cleanup() {
    for m in "$WORK"/floor-*; do if mountpoint -q "$m"; then umount "$m"; fi; done
    rm -rf "$WORK"
}
trap cleanup EXIT
export GITOPSC_CACHE_DIR="$WORK/cache"

mount_floor() {
    local dir="$WORK/floor-$1"
    mkdir -p "$dir"
    case $1 in
    tmpfs) mount -t tmpfs -o size=16g tmpfs "$dir" 2>/dev/null || dir=$(mktemp -d /dev/shm/gitopsc-edit.XXXXXX) ;;
    fresh)
        truncate -s 12G "$WORK/fresh.img"
        mkfs.ext4 -q -F -i 4096 "$WORK/fresh.img" >&2 2>/dev/null || return 0
        mount -o loop "$WORK/fresh.img" "$dir" 2>/dev/null || return 0
        ;;
    esac
    echo "$dir"
}
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
stats() { python3 -c 'import statistics as s,sys; v=sorted(map(int,sys.argv[1:])); print("%d / %d / %d ms" % (v[0], s.median(v), v[-1]))' "$@"; }
peak_kib() { { /usr/bin/time -v "$@" 2>&1 >/dev/null || true; } | awk -F': ' '/Maximum resident set size/ {print $2}'; }
# edit FILE ROUND [NTH]: sets the chart version of the NTH app of FILE to 1.0.ROUND.
edit() { python3 bench/edit-app.py "$@"; }

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $("$BIN" --version); N=$N; $ROUNDS rounds; $(nproc) CPUs"
echo
echo "| floor | layout | one-app edit: check | one-app edit: build | comment only: check | untouched: check | every app: check | every app: build | build into a new folder | tar -x | build / check peak KiB per app |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for floor in "${FLOOR_LIST[@]}"; do
    root=$(mount_floor "$floor")
    [ -n "$root" ] || { echo "| $floor | — | could not be made here | | | | | | | | |"; continue; }
    python3 bench/gen-spec.py "$N" >"$root/one.yaml"
    python3 bench/gen-spec.py "$N" --split "$root/split"
    for layout in split one; do
        if [ $layout = split ]; then spec="$root/split"; else spec="$root/one.yaml"; fi
        out="$root/out-$layout"
        log "$floor $layout: reference build; load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BIN" -q build "$spec" --out "$out"
        tarball="$root/tree-$layout.tar"
        tar -C "$out" -cf "$tarball" .
        # The generated apps (not the three operators, whose versions are pinned).
        apps=()
        for f in "$root"/split/apps/*.yaml; do
            case $(basename "$f") in cloudnative-pg.yaml | plugin-barman-cloud.yaml | external-secrets.yaml) ;; *) apps+=("$f") ;; esac
        done
        C=() B=() M=() U=() EC=() EB=() F=() T=()
        if [ $layout = split ]; then root_file="$spec/fleet.yaml"; else root_file="$spec"; fi
        for ((i = 0; i < ROUNDS; i++)); do
            if [ $layout = split ]; then edit "${apps[$((i * 37 % ${#apps[@]}))]}" "$i"; else edit "$spec" "$i" "$((3 + i * 37 % N))"; fi
            # The edit must be a valid one that changes the tree: check exits 1, build 0.
            rc=0 && "$BIN" -q check "$spec" --out "$out" >/dev/null 2>&1 || rc=$?
            [ $rc = 1 ] || { echo "bench: the edit of round $i made check exit $rc" >&2; exit 1; }
            if [ $layout = split ]; then edit "${apps[$((i * 37 % ${#apps[@]}))]}" "$i$i"; else edit "$spec" "$i$i" "$((3 + i * 37 % N))"; fi
            C+=("$(ms "$BIN" -q check "$spec" --out "$out")")
            B+=("$(ms "$BIN" -q build "$spec" --out "$out")")
            "$BIN" -q check "$spec" --out "$out" >/dev/null 2>&1 || { echo "bench: round $i: the build left the tree stale" >&2; exit 1; }
            # A comment at the top: every node after it moves, no data changes.
            if [ $layout = split ]; then sed -i "1i # round $i" "$spec/fleet.yaml"; else sed -i "1i # round $i" "$spec"; fi
            M+=("$(ms "$BIN" -q check "$spec" --out "$out")")
            "$BIN" -q build "$spec" --out "$out" >/dev/null 2>&1 || true
            U+=("$(ms "$BIN" -q check "$spec" --out "$out")")
            # A default of every app, to a value the tree was never built with.
            sed -i "s/^  retryInterval: .*/  retryInterval: $((i + 2))h/" "$root_file"
            EC+=("$(ms "$BIN" -q check "$spec" --out "$out")")
            EB+=("$(ms "$BIN" -q build "$spec" --out "$out")")
            F+=("$(ms "$BIN" -q build "$spec" --out "$root/f-$layout-$i")")
            mkdir "$root/t-$layout-$i"
            T+=("$(ms tar -C "$root/t-$layout-$i" -xf "$tarball")")
        done
        if [ $layout = split ]; then edit "${apps[1]}" 99; else edit "$spec" 99 4; fi
        rss_c=$(peak_kib "$BIN" -q check "$spec" --out "$out")
        rss_b=$(peak_kib "$BIN" -q build "$spec" --out "$out")
        echo "| $floor | $layout | $(stats "${C[@]}") | $(stats "${B[@]}") | $(stats "${M[@]}") | $(stats "${U[@]}") | $(stats "${EC[@]}") | $(stats "${EB[@]}") | $(stats "${F[@]}") | $(stats "${T[@]}") | $((rss_b / N)) / $((rss_c / N)) |"
    done
done
