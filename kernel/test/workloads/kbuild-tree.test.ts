import { describe, expect, it } from "vitest";
import { runKernbench } from "../../src/experiments/kernbench.js";
import { ParameterError } from "../../src/sim/index.js";
import { dealObjects, type KbuildDirSpec } from "../../src/workloads/kbuild-tree.js";
import { DEFCONFIG_X86_64_TREE } from "../../src/workloads/kbuild-tree-data.js";

const SCALE = 0.02; // 50 objects, over the full tree of 651 sub-makes

const count = (dirs: readonly KbuildDirSpec[]): { dirs: number; objects: number } =>
  dirs.reduce(
    (a, d) => {
      const c = count(d[2]);
      return { dirs: a.dirs + 1 + c.dirs, objects: a.objects + d[1] + c.objects };
    },
    { dirs: 0, objects: 0 },
  );

const sd = (xs: readonly number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

describe("kbuild's directory tree", () => {
  it("is the defconfig build make's dry run listed: 651 sub-makes, 2,697 objects", () => {
    expect(count(DEFCONFIG_X86_64_TREE)).toEqual({ dirs: 651, objects: 2697 });
    expect(DEFCONFIG_X86_64_TREE.map((d) => d[0])).toEqual(
      expect.arrayContaining(["init", "kernel", "mm", "fs", "drivers", "net", "arch/x86/lib"]),
    );
  });

  it("deals any number of objects out in the tree's proportions, each object once", () => {
    const tree: KbuildDirSpec[] = [
      ["a", 3, [["b", 1, []]]],
      ["c", 0, [["d", 6, []]]],
    ];
    const dirs = dealObjects(tree, 20);
    const [a, c] = dirs;
    expect(a!.objects.length + a!.subdirs[0]!.objects.length).toBe(8);
    expect(c!.subdirs[0]!.objects.length).toBe(12);
    expect(c!.objects).toEqual([]);
    expect(a!.below + c!.below).toBe(20);
    const all = [a!, a!.subdirs[0]!, c!, c!.subdirs[0]!].flatMap((d) => [...d.objects]);
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe("kernbench with kbuild's recursive make", () => {
  const run = (seed: number, kbuild: boolean) =>
    runKernbench({
      host: "6cpu",
      jobs: 3,
      kernel: "current",
      seed,
      scale: SCALE,
      execSigma: 0,
      kbuild,
    }).stats;

  it("runs a sub-make and an ld -r per directory, and every task is reaped", () => {
    const flat = run(1, false);
    const rec = run(1, true);
    expect(rec.processes).toBe(flat.processes + 2 * 651);
    // the sub-makes' own work: 651 × 4.15 ms of reading Makefiles, and as much again in ld -r
    expect(rec.user).toBeGreaterThan(flat.user + 2.5);
  });

  it("is deterministic for a seed", () => {
    expect(run(3, true)).toEqual(run(3, true));
  });

  it("spreads the elapsed time through the jobserver's races; gone with the flat list", () => {
    const seeds = [1, 2, 3, 4, 5];
    const on = seeds.map((s) => run(s, true).elapsed);
    const off = seeds.map((s) => run(s, false).elapsed);
    // measured here: 0.06 s against 0.0001 s (no exec layout factor in either)
    expect(sd(on)).toBeGreaterThan(0.02);
    expect(sd(off)).toBeLessThan(0.003);
  });

  it("rejects a kbuild that is not a boolean", () => {
    expect(() =>
      runKernbench({
        host: "6cpu",
        jobs: 3,
        kernel: "current",
        seed: 1,
        kbuild: "yes" as unknown as boolean,
      }),
    ).toThrow(ParameterError);
  });
});
