"""Sets the chart version of one app of a spec file: edit-app.py FILE ROUND [NTH].

The NTH app (from 0) of FILE gets `version: 1.0.ROUND`; the benchmarks use it for a one-app
edit that changes the app's HelmRelease.
"""
import re
import sys

path, rnd = sys.argv[1], sys.argv[2]
nth = int(sys.argv[3]) if len(sys.argv) > 3 else 0
lines = open(path).read().split("\n")
seen = -1
for i, line in enumerate(lines):
    if re.match(r"^  - name: ", line):
        seen += 1
    if seen == nth and re.match(r"^\s+version: ", line):
        lines[i] = re.sub(r"version: .*$", "version: 1.0." + rnd, line)
        break
open(path, "w").write("\n".join(lines))
