"""The layout's share of cc1's run-to-run spread, from measure.sh's output.

Coefficients of variation of successive-run differences (divided by sqrt 2) remove the machine's
slow drift; the layout's share is what ASLR adds on top of the runs without it:
sqrt(CV_aslr^2 - CV_noaslr^2). A moving-block bootstrap (blocks of 10 rounds) gives a 90 %
interval. Usage: python3 analyze.py measured-2026-12-07.txt
"""

import math
import random
import statistics
import sys

NAMES = ("loop", "cc1 with ASLR", "cc1 without ASLR")


def diff_cv(xs):
    d = [b - a for a, b in zip(xs, xs[1:])]
    return statistics.stdev(d) / math.sqrt(2) / statistics.mean(xs)


def layout_share(rows):
    a = diff_cv([r[1] for r in rows])
    b = diff_cv([r[2] for r in rows])
    return math.sqrt(max(0.0, a * a - b * b))


def main(path):
    rows = [tuple(map(float, line.split())) for line in open(path) if len(line.split()) == 3]
    n = len(rows)
    if n < 20:
        sys.exit(f"analyze.py: {n} rounds in {path}; needs at least 20 (measure.sh's default is 120)")
    for i, name in enumerate(NAMES):
        xs = [r[i] for r in rows]
        cv = statistics.stdev(xs) / statistics.mean(xs)
        print(f"{name:17s} n={n} mean={statistics.mean(xs):7.1f} ms  "
              f"CV={100 * cv:.2f} %  successive-difference CV={100 * diff_cv(xs):.2f} %")
    share = layout_share(rows)
    rng = random.Random(1)
    block = 10
    starts = range(n - block + 1)
    boot = []
    for _ in range(2000):
        sample = []
        while len(sample) < n:
            s = rng.choice(starts)
            sample.extend(rows[s:s + block])
        boot.append(layout_share(sample[:n]))
    boot.sort()
    lo, hi = boot[int(0.05 * len(boot))], boot[int(0.95 * len(boot)) - 1]
    print(f"layout share: {100 * share:.2f} %  (90 % block bootstrap {100 * lo:.2f}–{100 * hi:.2f} %)")


if __name__ == "__main__":
    main(sys.argv[1])
