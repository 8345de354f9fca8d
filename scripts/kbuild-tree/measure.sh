#!/bin/sh
# What one kbuild sub-make costs make itself (docs/model.md, "Run-to-run variance", point 9).
# Run from an unpacked kernel tree after `make defconfig` (Debian: linux-source-6.1, flex,
# bison, bc, libelf-dev, linux-perf):
#   sh measure.sh > costs.txt
# 1. make's dry run of vmlinux, every sub-make timed by wrap-make.sh (make -n still runs the
#    $(MAKE) lines: each sub-make reads its Makefiles and expands every rule, printing the
#    commands instead of running them);
# 2. the wrapper's own cost (sh, mktemp, perf) per sub-make: wrap-make.sh running `true`;
# 3. submake_cost.py: each sub-make's own task-clock (its count less its sub-makes' counts and
#    their wrappers'), regressed on the objects it compiles;
# 4. `ld -r` of 1 and of 40 objects of 150 functions each, built with gcc -O2 -g.
set -e
here=$(cd "$(dirname "$0")" && pwd)
export OUT=$(mktemp -d)
make -n -k -j1 vmlinux MAKE="$here/wrap-make.sh" > "$OUT/dry.log" 2>/dev/null || true
# the wrapper alone: wrap-make.sh with a `make` that does nothing
fake=$(mktemp -d)
ln -s /bin/true "$fake/make"
w=0
for i in 1 2 3 4 5 6 7 8 9 10; do
  t=$(PATH="$fake:$PATH" perf stat -x, -e task-clock sh "$here/wrap-make.sh" obj=x 2>&1 | grep task-clock | cut -d, -f1)
  w=$(echo "$w + $t / 10" | bc -l)
done
rm -r "$fake"
echo "wrapper ms $w"
python3 "$here/submake_cost.py" "$OUT" "$w"
cd "$OUT"
for i in $(seq 1 40); do
  python3 -c "print('\n'.join('int f${i}_%d(int *a, int n){int s=0; for(int k=0;k<n;k++) s+=a[k]*%d^(s>>3); return s;}' % (j, j) for j in range(150)))" > f$i.c
  gcc -O2 -g -c f$i.c -o f$i.o
done
for n in 1 40; do
  for r in 1 2 3 4 5; do
    objs=$(seq 1 $n | sed 's/.*/f&.o/')
    echo "ld -r of $n objects, ms $(perf stat -x, -e task-clock ld -r -o b.o $objs 2>&1 | grep task-clock | cut -d, -f1)"
  done
done
