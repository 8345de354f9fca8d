"""Where a kbuild directory or object sits in the sub-make tree (shared by extract.py and
submake_cost.py)."""
import os

# arch/x86/Makefile's libs-y and drivers-y: run from the top make, not from arch/x86's sub-make
TOP_LEVEL = frozenset({"arch/x86/lib", "arch/x86/pci", "arch/x86/power", "arch/x86/video"})


def parent(d: str, dirs: set[str]) -> str:
    """The sub-make that runs `d`'s: its nearest ancestor with one, or the top make (".")."""
    if d in TOP_LEVEL:
        return "."
    p = d
    while "/" in p:
        p = p.rsplit("/", 1)[0]
        if p in dirs:
            return p
    return "."


def owner(o: str, dirs: set[str]) -> str | None:
    """The sub-make that compiles object `o`: the nearest directory above it that has one."""
    p = os.path.dirname(o)
    while p:
        if p in dirs:
            return p
        p = p.rsplit("/", 1)[0] if "/" in p else ""
    return None
