#!/usr/bin/env python3
"""Sum `perf script` samples (recorded with --call-graph dwarf) by gitopsc pipeline stage.

Usage: perf script -i perf.data | bench/perf-stages.py

Each sample goes to the innermost frame of its stack that names a stage (see STAGES), the
time in malloc/free included; a second column tells how much of each stage is malloc/free.
Stacks of rayon workers are often cut short by perf's stack copy, so their frames are
matched on what they do (minijinja and model serialisation: render; sha2 and file reads:
compare).
"""

import collections
import sys

# (substring of a frame, stage); the first frame from the leaf up that matches one wins.
ALLOC = ("malloc", "_int_free", "cfree", "unlink_chunk", "realloc", "__libc_free")
STAGES = [
    ("drop_in_place<gitopsc::Compiled>", "teardown: dropping the model at exit"),
    ("drop_in_place<gitopsc::Checked>", "teardown: dropping the model at exit"),
    ("gitopsc::data_hash", "validate: spec hash"),
    ("saphyr_parser::", "load: YAML parse (saphyr-parser)"),
    ("spec::load::Builder", "load: YAML events -> JSON"),
    ("spec::load::", "load: read, checks"),
    ("spec::schema::validate", "validate: JSON schema"),
    ("spec::semantic::", "validate: semantic checks"),
    ("serde_json::value::de", "validate: JSON -> typed spec (serde)"),
    ("gitopsc::spec::typed", "validate: JSON -> typed spec (serde)"),
    ("model::resolve", "resolve: model"),
    ("gitopsc::model::graph", "resolve: model"),
    ("gitopsc::model::", "resolve: model"),
    ("gitopsc::check_spec", "validate: other"),
    ("render::Blueprints::load", "render: compile blueprints"),
    ("minijinja::", "render"),
    ("gitopsc::render::", "render"),
    ("emit::write::", "emit: write files (build)"),
    ("emit::fresh::", "emit: write files (build into a fresh root)"),
    ("emit::review", "emit: review (re-parses changed YAML)"),
    ("sha2::", "emit: compare + lock (sha256)"),
    ("emit::lock", "emit: compare + lock (sha256)"),
    ("emit::", "emit: compare (stat, read, compare)"),
    ("std::fs::read", "emit: compare (stat, read, compare)"),
    ("std::fs::write", "emit: write files (build)"),
    ("std::fs::rename", "emit: write files (build)"),
    ("gitopsc::commands::", "command: report"),
]
# Kernel-only stacks (no user frame left): attribute by system call.
SYSCALLS = [
    ("sys_openat", "kernel: openat"), ("sys_rename", "kernel: rename"),
    ("sys_write", "kernel: write"), ("sys_read", "kernel: read"), ("statx", "kernel: stat"),
    ("sys_mkdir", "kernel: mkdir"), ("sys_close", "kernel: close"),
    ("page_fault", "kernel: page faults (memory)"), ("exit_mmap", "teardown: unmapping at exit"),
]


def stage_of(stack):
    for frame in stack:  # leaf first
        for sub, stage in STAGES:
            if sub in frame:
                return stage
    for frame in stack:
        for sub, stage in SYSCALLS:
            if sub in frame:
                return stage
    return "other (start-up, rayon scheduling, unknown)"


def in_alloc(stack):
    """True when the sample is inside malloc/free (or a page fault they caused)."""
    return any(a in frame for frame in stack for a in ALLOC if "libc" in frame)


def main():
    counts, kernel, alloc = collections.Counter(), collections.Counter(), collections.Counter()
    stack = []

    def flush():
        if stack:
            stage = stage_of(stack)
            counts[stage] += 1
            kernel[stage] += "[kernel.kallsyms]" in stack[0]
            alloc[stage] += in_alloc(stack)

    for line in sys.stdin:
        if not line.strip():
            flush()
            stack = []
        elif line[0] in " \t":
            stack.append(line.strip())
    flush()
    total = sum(counts.values()) or 1
    print("| stage | CPU samples | of it in malloc/free | of it in the kernel |")
    print("|---|---:|---:|---:|")
    for stage, n in counts.most_common():
        print(f"| {stage} | {100 * n / total:.1f}% | {100 * alloc[stage] / n:.0f}% "
              f"| {100 * kernel[stage] / n:.0f}% |")
    print(f"\n{total} samples; malloc/free in all: {100 * sum(alloc.values()) / total:.0f}%")


if __name__ == "__main__":
    main()
