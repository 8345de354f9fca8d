#!/usr/bin/python3
"""The directory tree of an x86_64 defconfig kernel build, from make's own dry run.

Run in an unpacked kernel tree after `make defconfig` (Debian: linux-source-6.1, flex, bison,
bc, libelf-dev):

    make -n -k -j1 vmlinux > dry.log 2>/dev/null
    python3 extract.py dry.log > tree.json

Every `make -f scripts/Makefile.build obj=DIR` in the log is one sub-make (kbuild's recursion);
every `gcc ... -c -o FILE.o` one compiled object, owned by the sub-make of the nearest directory
above it that has one (i915's Makefile, for one, compiles display/*.o itself). The prepare stage's
directories (scripts/, arch/x86/tools) and the host tools (objtool, fixdep) are not part of the
tree: the model's serial head stands for them. arch/x86/{lib,pci,power,video} hang from the top,
as arch/x86/Makefile's libs-y and drivers-y put them in v4.13 and 6.1 alike.

Output: [name, objects, [subdirs...]] nested lists, subdirectories in the order make reached them.
"""
import json
import re
import sys

import kbuild_dirs

PREPARE = ("scripts", "arch/x86/tools", "tools")


def main(log: str) -> None:
    dirs: list[str] = []
    objs: list[str] = []
    for line in open(log, errors="replace"):
        for m in re.finditer(r"Makefile\.build obj=(\S+)", line):
            d = m.group(1)
            if d != "." and not d.startswith(PREPARE) and d not in dirs:
                dirs.append(d)
        for m in re.finditer(r" -c -o (\S+\.o)\b", line):
            objs.append(m.group(1))
    ds = set(dirs)

    def parent(d: str) -> str:
        return kbuild_dirs.parent(d, ds)

    def owner(o: str) -> str | None:
        return kbuild_dirs.owner(o, ds)

    count = {d: 0 for d in dirs}
    for o in sorted(set(objs)):
        d = owner(o)
        if d is not None:
            count[d] += 1
    kids: dict[str, list[str]] = {".": []}
    for d in dirs:
        kids.setdefault(d, [])
        kids.setdefault(parent(d), []).append(d)

    def node(d: str) -> list:
        name = d if parent(d) == "." else d.rsplit("/", 1)[1]
        return [name, count[d], [node(c) for c in kids[d]]]

    json.dump([node(d) for d in kids["."]], sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1])
