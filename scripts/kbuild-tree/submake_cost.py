#!/usr/bin/python3
"""Each kbuild sub-make's own task-clock from measure.sh's counts, against its objects."""
import collections
import glob
import os
import re
import statistics
import sys

import kbuild_dirs

out, wrapper = sys.argv[1], float(sys.argv[2])
total: dict[str, float] = {}
for f in glob.glob(os.path.join(out, "m.*")):
    if f.endswith(".tag"):
        continue
    tag = open(f + ".tag").read().strip()
    for line in open(f):
        if "task-clock" in line and tag not in total:
            total[tag] = float(line.split(",")[0])
prepare = ("scripts", "arch/x86/tools")
tools = ("", ".", "x", "fixdep", "objtool", "libsubcmd")  # x: the wrapper's own runs
dirs = {d for d in total if d not in tools and not d.startswith(prepare)}


def parent(d: str) -> str:
    return kbuild_dirs.parent(d, dirs)


def owner(o: str) -> str | None:
    return kbuild_dirs.owner(o, dirs)


kids = collections.defaultdict(list)
for d in dirs:
    kids[parent(d)].append(d)
objs = set(re.findall(r" -c -o (\S+\.o)\b", open(os.path.join(out, "dry.log")).read()))
n = collections.Counter(owner(o) for o in objs)
own = {d: total[d] - sum(total[c] + wrapper for c in kids[d]) for d in dirs}
xs = [n.get(d, 0) for d in dirs]
ys = [own[d] for d in dirs]
mx, my = statistics.mean(xs), statistics.mean(ys)
b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
print(f"sub-makes {len(dirs)}, objects {sum(xs)}")
print(f"own task-clock = {my - b * mx:.2f} ms + {b:.3f} ms per object")
idle = [own[d] for d in dirs if n.get(d, 0) == 0]
print(f"sub-makes compiling nothing: {len(idle)}, median {statistics.median(idle):.2f} ms")
