#!/bin/bash
# Re-measures the per-exec layout spread that the kernbench model's layout factor uses
# (docs/model.md, "Run-to-run variance", source 1): gcc's cc1 compiling one C file, run with
# ASLR and with ASLR off (setarch -R), alternated with a register-only integer loop that gives the
# machine's own floor (frequency, the hypervisor, interrupts). Every run is SCHED_FIFO so that no
# other task time-slices it on its CPU. Prints one line per round: loop, cc1 with ASLR, cc1
# without (task-clock, ms). Then: python3 analyze.py <that output>.
#
# Needs root (chrt -f), Debian's gcc, linux-perf and util-linux. Usage: measure.sh [rounds] > out
set -euo pipefail
rounds=${1:-120}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc1=$(gcc -print-prog-name=cc1)
gcc -O2 -o "$work/loop" "$here/loop.c"
gcc -E "$here/cc1-input.c" -o "$work/input.i"
clock() { chrt -f 50 perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | tail -1 | cut -d, -f1; }
for _ in $(seq 1 "$rounds"); do
  l=$(clock "$work/loop")
  a=$(clock "$cc1" -quiet -O2 "$work/input.i" -o /dev/null)
  r=$(clock setarch -R "$cc1" -quiet -O2 "$work/input.i" -o /dev/null)
  echo "$l $a $r"
done
