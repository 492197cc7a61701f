#!/usr/bin/env bash
# Where gitopsc's time goes at N apps (default 5000), as markdown on stdout:
#   1. stage timings: validate (load + schema + semantic + resolve), check (+ render +
#      compare), build into the current tree, build into an empty directory (2 rayon threads
#      and 1), and tar -x of the same tree;
#   2. check and validate with another malloc (LD_PRELOAD of jemalloc / mimalloc, when the
#      Debian packages libjemalloc2 / libmimalloc2.0 are installed);
#   3. perf profiles of check and of build-empty, summed by pipeline stage
#      (bench/perf-stages.py);
#   4. the system calls of build-empty and of tar -x (strace -c -f).
#
# Usage: bench/profile.sh [N]        GITOPSC_BIN=/path/to/gitopsc to skip cargo build
set -euo pipefail

cd "$(dirname "$0")/.."
N=${1:-5000}
RUNS=${RUNS:-5}
if [ -n "${GITOPSC_BIN:-}" ]; then
    BIN=$(realpath "$GITOPSC_BIN")
else
    cargo build --release --quiet >&2
    BIN="$PWD/target/release/gitopsc"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitopsc-profile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/trash"
spec="$WORK/spec.yaml" ref="$WORK/ref" out="$WORK/out"
python3 bench/gen-spec.py "$N" >"$spec"
"$BIN" -q build "$spec" --out "$ref"
tar -C "$ref" -cf "$WORK/tree.tar" .
# As in run.sh: empty output directories without deleting anything (see its header).
aside="if [ -e '$out' ]; then mv '$out' \"\$(mktemp -d '$WORK/trash/XXXXXX')/\"; fi; sync"

echo "## Profile at N=$N ($(find "$ref" -type f | wc -l) files, spec $(($(wc -c <"$spec") / 1024)) KiB)"
echo
echo "### 1. Stage timings (hyperfine, $RUNS runs, mean ± σ)"
echo
hyperfine --style none --warmup 1 --runs "$RUNS" --export-markdown "$WORK/t1.md" \
    -n "validate (load, schema, semantic, resolve)" "'$BIN' -q validate '$spec'" \
    -n "check (+ render, compare)" "'$BIN' -q check '$spec' --out '$ref'" \
    -n "build, tree current" "'$BIN' -q build '$spec' --out '$ref'" >&2
hyperfine --style none --warmup 1 --runs "$RUNS" --export-markdown "$WORK/t2.md" --prepare "$aside" \
    -n "build, empty dir" "'$BIN' -q build '$spec' --out '$out'" \
    -n "build, empty dir, RAYON_NUM_THREADS=1" "RAYON_NUM_THREADS=1 '$BIN' -q build '$spec' --out '$out'" \
    -n "tar -x, empty dir" "mkdir '$out' && tar -C '$out' -xf '$WORK/tree.tar'" >&2
cat "$WORK/t1.md"
tail -n +3 "$WORK/t2.md"

libs=()
for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libmimalloc.so.2; do
    [ -e "$lib" ] && libs+=("$lib")
done
if [ "${#libs[@]}" -gt 0 ]; then
    echo
    echo "### 2. Another malloc on top (LD_PRELOAD; gitopsc links mimalloc as its global allocator)"
    echo
    cmds=(-n "check, glibc malloc" "'$BIN' -q check '$spec' --out '$ref'")
    for lib in "${libs[@]}"; do
        cmds+=(-n "check, $(basename "$lib")" "LD_PRELOAD=$lib '$BIN' -q check '$spec' --out '$ref'")
    done
    hyperfine --style none --warmup 1 --runs "$RUNS" --export-markdown "$WORK/t3.md" "${cmds[@]}" >&2
    cat "$WORK/t3.md"
fi

if command -v perf >/dev/null 2>&1; then
    for what in check build-empty; do
        echo
        echo "### 3. perf profile of $what, by stage (share of CPU samples, all threads)"
        echo
        if [ "$what" = check ]; then
            cmd=("$BIN" -q check "$spec" --out "$ref")
        else
            bash -c "$aside"
            cmd=("$BIN" -q build "$spec" --out "$out")
        fi
        perf record -q -F 500 --call-graph dwarf,32768 -o "$WORK/perf.data" "${cmd[@]}" 2>/dev/null
        perf script -i "$WORK/perf.data" 2>/dev/null | python3 bench/perf-stages.py
    done
fi

if command -v strace >/dev/null 2>&1; then
    echo
    echo "### 4. System calls (strace -c -f; times are inflated by strace)"
    bash -c "$aside"
    strace -c -f -o "$WORK/st-build.txt" "$BIN" -q build "$spec" --out "$out"
    bash -c "$aside" && mkdir "$out"
    strace -c -f -o "$WORK/st-tar.txt" tar -C "$out" -xf "$WORK/tree.tar"
    for f in build tar; do
        echo
        echo "$f:"
        echo '```'
        head -n 12 "$WORK/st-$f.txt"
        echo '```'
    done
fi
