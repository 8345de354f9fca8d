/**
 * The ceilings of docs/reliability.md: each size one past its ceiling is a ParameterError naming
 * the parameter, the value and the range, thrown before any work (so these tests take no time).
 */
import { describe, expect, it } from "vitest";
import { runIrqOffMunmap } from "../../src/experiments/irqoff-munmap.js";
import { runKernbench } from "../../src/experiments/kernbench.js";
import { runBuilds, runSeedTable } from "../../src/experiments/kernbench-table.js";
import { MAX_TRIALS, runRaceMatrix } from "../../src/experiments/race-matrix.js";
import { MAX_STALL_NS, runTrial } from "../../src/experiments/scenarios.js";
import { buildSystem } from "../../src/system/build.js";
import { explore } from "../../src/explore/explorer.js";
import { MAX_EXPLORE_STATES } from "../../src/explore/options.js";
import { Host, Machine, MAX_CPUS } from "../../src/hw/index.js";
import {
  DEFAULT_MAX_FRAMES,
  MAX_FRAMES,
  PageAllocator,
  sys_mmap,
  type MmStruct,
} from "../../src/mm/index.js";
import { ParameterError, Simulation } from "../../src/sim/index.js";
import { SWEEP_LIMITS, sweepPoints } from "../../src/sweep/space.js";
import { MAX_DURATION_NS, runMicro } from "../../src/workloads/micro.js";
import { makeKernel, runOn } from "../support/kernel.js";

const trial = { scenario: "walker-vs-munmap", profile: "v4.13", backend: "native", seed: 1 };
const cell = { profile: "v4.14", backend: "native", scenario: "walker-vs-munmap" };

describe("every size has a ceiling checked before work starts", () => {
  it.each<[string, () => unknown, RegExp]>([
    ["CPUs", () => new Machine(new Simulation(), { nrCpus: MAX_CPUS + 1 }), /nrCpus = 1025/],
    [
      "trial CPUs",
      () => runTrial({ ...trial, nrCpus: MAX_CPUS + 1 }),
      /nrCpus = 1025 .*from 2 to 1024/,
    ],
    ["stall", () => runTrial({ ...trial, stallNs: MAX_STALL_NS + 1 }), /stallNs = 50000001/],
    ["race-matrix trials", () => runRaceMatrix({ trials: MAX_TRIALS + 1 }), /trials = 100001/],
    [
      "workload duration",
      () =>
        runMicro({
          workload: "ebizzy",
          profile: "v4.14",
          backend: "native",
          durationNs: MAX_DURATION_NS + 1,
        }),
      /durationNs = 10000000001/,
    ],
    [
      "workload CPUs",
      () => runMicro({ workload: "ebizzy", profile: "v4.14", backend: "native", nrCpus: 257 }),
      /nrCpus = 257/,
    ],
    ["demo IRQ-off time", () => runIrqOffMunmap({ irqOffNs: 1e9 + 1 }), /irqOffNs = 1000000001/],
    ["demo pages", () => runIrqOffMunmap({ pages: 262_145 }), /pages = 262145/],
    ["explorer CPUs", () => explore({ ...cell, cpus: 5 }), /cpus = 5/],
    ["explorer pages", () => explore({ ...cell, pages: 9 }), /pages = 9/],
    ["explorer stalls", () => explore({ ...cell, stalls: 4 }), /stalls = 4/],
    [
      "explorer states",
      () => explore({ ...cell, maxStates: MAX_EXPLORE_STATES + 1 }),
      /maxStates = 4000001 .*from 1 to 4000000/,
    ],
    [
      "kernbench jobs",
      () => runKernbench({ host: "6cpu", jobs: 6 * 64 + 1, kernel: "current", seed: 1 }),
      /jobs = 385/,
    ],
    ["kernbench runs", () => runSeedTable({ runs: 101 }), /runs = 101/],
    ["kernbench workers", () => runBuilds([], 65), /workers = 65/],
    [
      "host vCPUs",
      () => new Host(new Machine(new Simulation(), { nrCpus: 1 }), { otherVcpus: 65_537 }),
      /otherVcpus = 65537/,
    ],
    [
      "sweep grid values of one axis",
      () =>
        sweepPoints({
          run: "synthetic",
          params: { x: { kind: "int", min: 1, max: SWEEP_LIMITS.gridValuesPerAxis + 1 } },
        }),
      /x = .*at most 10000 grid values \(this one has 10001/,
    ],
    [
      "sweep grid points",
      () =>
        sweepPoints({
          run: "synthetic",
          params: {
            x: { kind: "int", min: 1, max: 1001 },
            y: { kind: "int", min: 1, max: 1000 },
          },
        }),
      /params = .*at most 1000000 points \(this one has 1001 × 1000 = 1001000\)/,
    ],
    [
      "sweep random points",
      () =>
        sweepPoints({
          run: "synthetic",
          params: { x: [1, 2] },
          design: { kind: "random", points: SWEEP_LIMITS.points + 1 },
        }),
      /design.points = 1000001/,
    ],
    [
      "sweep tasks",
      () =>
        sweepPoints({
          run: "synthetic",
          params: { x: { kind: "int", min: 1, max: 20 } },
          seeds: SWEEP_LIMITS.tasks / 20 + 1,
        }),
      /seeds = 50001 .*at most 50000 seeds for 20 points/,
    ],
    [
      "costs",
      () => buildSystem({ profile: "v4.14", backend: "native", costs: { ipiSendNs: 1e9 + 1 } }),
      /ipiSendNs = 1000000001/,
    ],
  ])("%s", async (_name, call, message) => {
    let thrown: unknown;
    try {
      await call();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ParameterError);
    expect((thrown as Error).message).toMatch(message);
  });

  it("mmap with populate: no more pages than the machine has frames", () => {
    const t = makeKernel({ nrCpus: 1 });
    const mm = t.k.mm_alloc();
    t.x86.switch_mm(t.m.cpu(0), mm);
    expect(t.k.alloc.frameLimit).toBe(DEFAULT_MAX_FRAMES);
    expect(() => new PageAllocator(t.sim, { maxFrames: MAX_FRAMES + 1 })).toThrow(
      /maxFrames = 8388609 .*from 1 to 8388608/,
    );
    const length = (DEFAULT_MAX_FRAMES + 1) * 4096;
    expect(() => runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { length, populate: true }))).toThrow(
      /length = 17179873280 .*at most 4186091 pages of 4K \(4194303 of the machine's 4194304 frames are free/,
    );
    expect(mm.vmas).toHaveLength(0);
    // without populate nothing is faulted in, so the same length is just address space
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { length }));
    expect(mm.vmas).toHaveLength(1);
  });

  it("mmap with populate: refused before any work when its pages and tables exceed the free frames", () => {
    const small = () => makeKernel({ nrCpus: 1, maxFrames: 4096, trace: false });
    const populate = (t: ReturnType<typeof small>, pages: number): MmStruct => {
      const mm = t.k.mm_alloc();
      runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { length: pages * 4096, populate: true }));
      return mm;
    };
    // 4,090 pages fit the 4,096 frames, but not with their 9 pte, 2 pmd and 2 pud tables: this
    // used to fault for 5 ms of simulated time and then run out of frames
    const t = small();
    let thrown: unknown;
    try {
      populate(t, 4090);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ParameterError);
    expect((thrown as Error).message).toMatch(
      /length = 16752640 .*at most 4082 pages of 4K \(4095 of the machine's 4096 frames are free; 4090 pages need 4103/,
    );
    expect(t.sim.now).toBe(0);
    expect(t.k.alloc.stats.inUse.data).toBe(0);
    // the largest mapping the message names is populated in full
    const ok = small();
    const mm = populate(ok, 4082);
    expect(mm.vmas).toHaveLength(1);
    expect(ok.k.alloc.stats.inUse.data).toBe(4082);
    expect(ok.k.alloc.framesFree).toBeGreaterThanOrEqual(0);
  });
});
