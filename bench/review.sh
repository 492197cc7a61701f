#!/usr/bin/env bash
# Benchmark the review loop's git commands: a repository holding a fleet folder of N apps
# (`gen-spec.py N --split`) and its tree, committed. Each round times, from that commit:
# - `check --staged` of the clean work tree, run a second time: the caches warm (exit 0);
# - `check --staged` after a staged spec edit whose tree was built and not staged (exit 1: the
#   commit a plain git hook sees after `build` without `git add`);
# - `check --staged` after a staged spec edit, the tree not rebuilt, a `.DS_Store` in the
#   output root (exit 1: what pre-commit's hook sees, unstaged changes stashed);
# - `check --staged` after a one-app edit not staged (exit 1: the spec's side, as staged, is
#   read from git's objects);
#   these two start from a build over the committed work tree (not timed): the records a
#   developer's last build leaves, which the scenario's `git reset --hard` would not;
# - `diff --base HEAD` after that edit (exit 1);
# - in turn, a build of the same spec into an empty folder (the yardstick: no command should
#   be slower).
# The index is refreshed before each timed run (as git does at its next look). Prints min /
# median / max of each.
#
# Usage: bench/review.sh [N]      (default 5000)
#   ROUNDS=5 GITOPSC_BIN=... as bench/run.sh; the repository and TMPDIR live in BENCH_DIR
#   (default: /dev/shm when there is one, else TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
ROUNDS=${ROUNDS:-5}
log() { echo "bench: $*" >&2; }
if [ -n "${GITOPSC_BIN:-}" ]; then BIN=$(realpath "$GITOPSC_BIN"); else
    cargo build --release --quiet >&2
    BIN="$PWD/target/release/gitopsc"
fi
base_dir=${BENCH_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
WORK=$(mktemp -d "$base_dir/gitopsc-review.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export GITOPSC_CACHE_DIR="$WORK/cache" TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

stats() { python3 -c 'import statistics as s,sys; v=sorted(map(int,sys.argv[1:])); print("%d / %d / %d ms" % (v[0], s.median(v), v[-1]))' "$@"; }
# timed CODE CMD...: the milliseconds CMD takes; it must exit CODE (the scenario is the one
# meant). Each scenario's first run is the one timed (but the clean tree's): it is what a
# commit's hook meets.
timed() {
    local want=$1 rc=0 t0 t1
    shift
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || rc=$?
    t1=$(date +%s%N)
    [ "$rc" = "$want" ] || { echo "bench: '$*' exited $rc, not $want" >&2; exit 1; }
    echo $(((t1 - t0) / 1000000))
}
# bump FILE ROUND: sets the chart version of the app in FILE (its first `version:`) to 1.0.ROUND.
bump() { sed -i "0,/^\(\s*version: \).*$/s//\11.0.$2/" "$1"; }

repo="$WORK/repo"
mkdir -p "$repo"
cd "$repo"
git init -q -b main
python3 "$OLDPWD/bench/gen-spec.py" "$N" --split spec
log "reference build; load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" -q build spec --out k8s
git add -A && git commit -qm tree
apps=()
for f in spec/apps/*.yaml; do
    case $(basename "$f") in cloudnative-pg.yaml | plugin-barman-cloud.yaml | external-secrets.yaml) ;; *) apps+=("$f") ;; esac
done
fresh() { local d="$WORK/fresh-$1"; timed 0 "$BIN" -q build spec --out "$d"; rm -rf "$d"; }
start() { git reset -q --hard && git clean -qfdx; }
staged() { git update-index -q --refresh || true; timed "$1" "$BIN" -q check --staged spec --out k8s; }

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $("$BIN" --version); N=$N; $ROUNDS rounds; $(nproc) CPUs; repository and TMPDIR in $base_dir"
echo
echo "| clean, second run: check --staged | built, not staged: check --staged | stale, .DS_Store: check --staged | spec edit not staged: check --staged | diff --base HEAD | build into an empty folder |"
echo "|---|---|---|---|---|---|"
C=() S=() D=() U=() B=() F=()
for ((i = 0; i < ROUNDS; i++)); do
    app=${apps[$((i * 37 % ${#apps[@]}))]}
    start
    staged 0 >/dev/null
    C+=("$(staged 0)")
    bump "$app" "$i" && git add spec && "$BIN" -q build spec --out k8s
    S+=("$(staged 1)")
    start && "$BIN" -q build spec --out k8s
    bump "$app" "$i" && git add spec && echo x >k8s/.DS_Store
    D+=("$(staged 1)")
    start && "$BIN" -q build spec --out k8s
    bump "$app" "$i"
    U+=("$(staged 1)")
    B+=("$(timed 1 "$BIN" -q diff spec --base HEAD)")
    F+=("$(fresh "$i")")
done
start
echo "| $(stats "${C[@]}") | $(stats "${S[@]}") | $(stats "${D[@]}") | $(stats "${U[@]}") | $(stats "${B[@]}") | $(stats "${F[@]}") |"
