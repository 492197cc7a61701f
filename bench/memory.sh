#!/usr/bin/env bash
# Benchmark peak memory per app: the resident peak of each kind of run, divided by N, with
# apps in separate files (a fleet folder, `gen-spec.py N --split`) and in one file.
#
# Usage: bench/memory.sh [N]      (default 20000, the size the memory target is set at)
#   ROUNDS=5 bench/memory.sh 20000  (single runs of each kind per layout, default 3)
#   GITOPSC_BIN=/path/to/gitopsc    (measure that binary; no cargo build)
#
# Runs, each round, in this order:
#   build-empty   `build` into a new empty folder, with a new cache folder (nothing recalled)
#   every-app     `check`, then `build`, after `defaults.retryInterval` set to a value the
#                 tree was never built with: every app's Flux Kustomizations change, so the run
#                 goes the whole way (load, check, resolve, render, compare)
#   one-app       `check` after one app's chart version changed (not built: the tree is stale)
#   untouched     `check` of the tree as built
# Prints min / median / max KiB per app of each (GNU time's maximum resident set size), on
# /dev/shm (tmpfs): memory does not depend on the floor. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
ROUNDS=${ROUNDS:-3}
log() { echo "bench: $*" >&2; }
if [ -n "${GITOPSC_BIN:-}" ]; then BIN=$(realpath "$GITOPSC_BIN"); else
    cargo build --release --quiet >&2
    BIN="$PWD/target/release/gitopsc"
fi
[ -x /usr/bin/time ] || { echo "bench: GNU time (/usr/bin/time) is needed" >&2; exit 1; }
WORK=$(mktemp -d /dev/shm/gitopsc-memory.XXXXXX 2>/dev/null || mktemp -d "${TMPDIR:-/tmp}/gitopsc-memory.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# peak CACHE COMMAND...: the peak RSS of COMMAND in KiB, its cache in CACHE; any exit code.
peak() {
    local cache=$1
    shift
    { GITOPSC_CACHE_DIR=$cache /usr/bin/time -v "$@" 2>&1 >/dev/null || true; } |
        awk -F': ' '/Maximum resident set size/ {print $2}'
}
# per_app KIB...: min / median / max of KIB / N.
per_app() { python3 -c 'import statistics as s,sys; n=int(sys.argv[1]); v=sorted(int(x)/n for x in sys.argv[2:]); print("%.1f / %.1f / %.1f" % (v[0], s.median(v), v[-1]))' "$N" "$@"; }
# edit FILE ROUND [NTH]: sets the chart version of the NTH app of FILE to 1.0.ROUND.
edit() { python3 bench/edit-app.py "$@"; }

log "generating N=$N"
python3 bench/gen-spec.py "$N" >"$WORK/one.yaml"
python3 bench/gen-spec.py "$N" --split "$WORK/split"
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $("$BIN" --version); N=$N; $ROUNDS rounds; $(nproc) CPUs; tmpfs"
echo
echo "KiB per app (peak resident memory / N), min / median / max:"
echo
echo "| layout | build-empty | every-app: check | every-app: build | one-app: check | untouched: check |"
echo "|---|---|---|---|---|---|"
for layout in split one; do
    if [ $layout = split ]; then
        spec="$WORK/split" root_file="$WORK/split/fleet.yaml"
        # The first generated app (not one of the three operators, whose versions are pinned).
        for app in "$spec"/apps/*.yaml; do
            case $(basename "$app") in cloudnative-pg.yaml | plugin-barman-cloud.yaml | external-secrets.yaml) ;; *) break ;; esac
        done
    else
        spec="$WORK/one.yaml" root_file="$WORK/one.yaml" app=$spec
    fi
    out="$WORK/out-$layout" cache="$WORK/cache-$layout"
    log "$layout: reference build"
    GITOPSC_CACHE_DIR=$cache "$BIN" -q build "$spec" --out "$out" >/dev/null 2>&1 || true
    E=() EC=() EB=() O=() U=()
    for ((i = 0; i < ROUNDS; i++)); do
        log "$layout: round $i; load $(cut -d' ' -f1-3 /proc/loadavg)"
        E+=("$(peak "$WORK/fresh-cache-$i-$layout" "$BIN" -q build "$spec" --out "$WORK/fresh-$i-$layout")")
        rm -rf "$WORK/fresh-$i-$layout" "$WORK/fresh-cache-$i-$layout"
        sed -i "s/^  retryInterval: .*/  retryInterval: $((i + 2))h/" "$root_file"
        EC+=("$(peak "$cache" "$BIN" -q check "$spec" --out "$out")")
        EB+=("$(peak "$cache" "$BIN" -q build "$spec" --out "$out")")
        if [ $layout = split ]; then edit "$app" "$i" 0; else edit "$spec" "$i" 3; fi
        O+=("$(peak "$cache" "$BIN" -q check "$spec" --out "$out")")
        GITOPSC_CACHE_DIR=$cache "$BIN" -q build "$spec" --out "$out" >/dev/null 2>&1 || true
        U+=("$(peak "$cache" "$BIN" -q check "$spec" --out "$out")")
    done
    echo "| $layout | $(per_app "${E[@]}") | $(per_app "${EC[@]}") | $(per_app "${EB[@]}") | $(per_app "${O[@]}") | $(per_app "${U[@]}") |"
done
