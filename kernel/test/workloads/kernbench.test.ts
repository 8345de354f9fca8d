import { describe, expect, it } from "vitest";
import { kernbenchCommand } from "../../src/cli/commands/kernbench.js";
import { runKernbench, type KernbenchRunOptions } from "../../src/experiments/kernbench.js";
import { kernbenchPrinted, meanStd, trueBlock } from "../../src/experiments/kernbench-stats.js";
import {
  buildCostEstimate,
  longestFirst,
  runBuilds,
  runSeedTable,
} from "../../src/experiments/kernbench-table.js";
import { ParameterError, UnknownNameError } from "../../src/sim/index.js";
import type { BuildStats } from "../../src/workloads/kernbench.js";
import { captureIO } from "../support/io.js";

const SCALE = 0.02; // 50 objects: a shorter build with the same processes and phases

describe("kernbench model (shortened build)", () => {
  it("keeps GNU time's accounting identity: user + system ≈ %CPU × elapsed", () => {
    for (const jobs of [3, 24]) {
      const r = runKernbench({ host: "6cpu", jobs, kernel: "current", seed: 1, scale: SCALE });
      const s = r.stats;
      expect(s.processes).toBe(50 * 7 + 1 + 6);
      expect(Math.abs(s.user + s.system - (s.percentCpu / 100) * s.elapsed)).toBeLessThan(
        0.01 * s.elapsed + 0.01,
      );
      // -j3 cannot use more than ~3 CPUs plus pipeline overlap; -j24 keeps all six busy longer
      if (jobs === 3) expect(s.percentCpu).toBeLessThan(360);
      else expect(s.percentCpu).toBeGreaterThan(400);
    }
  });

  it("more jobs than CPUs means involuntary switches; every page table is freed", () => {
    const half = runKernbench({ host: "6cpu", jobs: 3, kernel: "current", seed: 2, scale: SCALE });
    const opt = runKernbench({ host: "6cpu", jobs: 24, kernel: "current", seed: 2, scale: SCALE });
    expect(opt.stats.contextSwitches).toBeGreaterThan(3 * half.stats.contextSwitches);
    expect(opt.stats.elapsed).toBeLessThan(half.stats.elapsed);
    expect(half.mechanism.tablesFreedDirect).toBeGreaterThan(50 * 7 * 10);
  });

  it("v4.14's tables never reach RCU in a build (mm_users < 2 everywhere); without the shortcut they all do", () => {
    const rcu = runKernbench({ host: "6cpu", jobs: 3, kernel: "rcu", seed: 3, scale: SCALE });
    expect(rcu.mechanism.tablesFreedRcu).toBe(0);
    expect(rcu.mechanism.mmUsersShortcuts).toBe(rcu.mechanism.tablesFreedDirect);
    const ns = runKernbench({
      host: "6cpu",
      jobs: 3,
      kernel: "rcu-no-shortcut",
      seed: 3,
      scale: SCALE,
    });
    expect(ns.mechanism.tablesFreedDirect).toBe(0);
    expect(ns.mechanism.tablesFreedRcu).toBe(rcu.mechanism.tablesFreedDirect);
    expect(ns.mechanism.gracePeriods).toBeGreaterThan(0);
    expect(ns.mechanism.peakPendingRcuBytes).toBeGreaterThan(0);
  });

  it("varies between seeds, and not for one seed: the user/system split is tick-sampled", () => {
    // without the per-exec spread, so that the runtime itself varies only with timing
    const run = (seed: number) =>
      runKernbench({ host: "6cpu", jobs: 3, kernel: "current", seed, scale: SCALE, execSigma: 0 })
        .stats;
    const a = run(4);
    expect(run(4)).toEqual(a);
    const b = run(5);
    // the tick's phase and the timing differ, so the split differs by a fraction of a jiffy
    // per process; the exact runtime (user + system) differs far less than the split moves
    const moved = Math.abs(b.user - a.user);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(0.01 * a.user);
    // without the sampling, user time would move with the runtime (system time hardly varies)
    expect(Math.abs(b.user + b.system - (a.user + a.system))).toBeLessThan(moved / 5);
  });

  describe("run-to-run variance: each source acts, and is gone when switched off", () => {
    const seeds = [1, 2, 3, 4, 5];
    const sd = (xs: readonly number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    };
    const runs = (o: { execSigma?: number; interleaveKernel?: boolean }) =>
      seeds.map(
        (seed) =>
          runKernbench({ host: "6cpu", jobs: 3, kernel: "current", seed, scale: SCALE, ...o })
            .stats,
      );

    it("each exec's layout factor spreads the runtime (user + system) and the elapsed time", () => {
      const on = runs({});
      const off = runs({ execSigma: 0 });
      // 50 objects: σ ≈ 1.3 % × √(Σ cc1²) ≈ 0.03 s; without it, timing alone moves < 1 ms
      expect(sd(on.map((s) => s.user + s.system))).toBeGreaterThan(0.01);
      expect(sd(on.map((s) => s.elapsed))).toBeGreaterThan(0.008);
      expect(sd(off.map((s) => s.user + s.system))).toBeLessThan(0.003);
      expect(sd(off.map((s) => s.elapsed))).toBeLessThan(0.003);
    });

    it("kernel work interleaved with user time makes the system time's tick samples binomial", () => {
      const on = runs({ execSigma: 0 });
      const off = runs({ execSigma: 0, interleaveKernel: false });
      // the same mean: the work is the same, only where the ticks find it differs
      const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const sysOn = on.map((s) => s.system);
      const sysOff = off.map((s) => s.system);
      expect(Math.abs(mean(sysOn) / mean(sysOff) - 1)).toBeLessThan(0.03);
      expect(sd(sysOn)).toBeGreaterThan(2.5 * sd(sysOff));
    });
  });

  it("is deterministic and independent of the number of worker threads", async () => {
    // the pool starts the costliest builds first (-j 12, then -j 6, then -j 2); the results
    // still come back in input order
    const opts = [
      [1, 2],
      [2, 6],
      [3, 12],
    ].map(([seed, jobs]) => ({
      host: "6cpu",
      jobs: jobs!,
      kernel: "current" as const,
      seed: seed!,
      scale: 0.01,
    }));
    expect(longestFirst(opts)).toEqual([2, 1, 0]);
    const inline = await runBuilds(opts, 0);
    const pooled = await runBuilds(opts, 2);
    expect(pooled.map((r) => r.options)).toEqual(opts);
    expect(pooled.map((r) => r.stats)).toEqual(inline.map((r) => r.stats));
  });

  it("starts the builds the longest first, by objects, guests and make jobs", () => {
    const b = (o: Partial<KernbenchRunOptions>): KernbenchRunOptions => ({
      host: "16cpu",
      jobs: 8,
      kernel: "current",
      seed: 1,
      ...o,
    });
    const plan = [b({}), b({ jobs: 64 }), b({ scale: 0.5, jobs: 64 }), b({ vms: 2 }), b({})];
    // ties keep their order
    expect(longestFirst(plan)).toEqual([3, 1, 0, 4, 2]);
    expect(buildCostEstimate(b({ guests: [{ jobs: 8 }, { jobs: 8 }] }))).toBe(
      buildCostEstimate(b({ vms: 2 })),
    );
  });

  it("rejects bad input with the parameter named", () => {
    expect(() => runKernbench({ host: "6cpu", jobs: 0, kernel: "current", seed: 1 })).toThrow(
      ParameterError,
    );
    expect(() => runKernbench({ host: "6cpu", jobs: 385, kernel: "current", seed: 1 })).toThrow(
      /jobs = 385 .*from 1 to 384/,
    );
    expect(() => runKernbench({ host: "8cpu", jobs: 4, kernel: "current", seed: 1 })).toThrow(
      UnknownNameError,
    );
    expect(() =>
      runKernbench({ host: "6cpu", jobs: 4, kernel: "later" as never, seed: 1 }),
    ).toThrow(/kernel = "later"/);
    expect(() =>
      runKernbench({ host: "6cpu", jobs: 4, kernel: "current", seed: 1, execSigma: 0.7 }),
    ).toThrow(/execSigma = 0.7/);
    expect(() =>
      runKernbench({
        host: "6cpu",
        jobs: 4,
        kernel: "current",
        seed: 1,
        interleaveKernel: "yes" as never,
      }),
    ).toThrow(/interleaveKernel/);
    return expect(runSeedTable({ runs: 0 })).rejects.toThrow(/runs = 0/);
  });
});

describe("kernbench's averaging", () => {
  const run = (v: number): BuildStats => ({
    elapsed: v,
    user: 2 * v,
    system: v / 10,
    percentCpu: 210,
    contextSwitches: 10 * v,
    sleeps: 5 * v,
    processes: 1,
  });
  it("resets only the elapsed accumulator between load levels, as the script does", () => {
    const half = [run(100), run(102)];
    const opt = [run(50), run(52)];
    const [ph, po] = kernbenchPrinted([half, opt]);
    expect(ph!.user.mean).toBeCloseTo(202, 9);
    expect(po!.elapsed.mean).toBeCloseTo(51, 9); // optimal runs only
    expect(po!.user.mean).toBeCloseTo((200 + 204 + 100 + 104) / 4, 9); // all four runs
    expect(po!.user.n).toBe(4);
    expect(po!.user.std).toBeGreaterThan(50); // the spread between two loads, not within one
    expect(trueBlock(opt).user.mean).toBeCloseTo(102, 9);
  });

  it("computes kernbench's sample standard deviation", () => {
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), n: 4 });
    expect(meanStd([7]).std).toBe(0);
  });
});

describe("mmulab kernbench", () => {
  it("prints mean and std per statistic as JSON", async () => {
    const io = captureIO();
    expect(
      await kernbenchCommand.run(
        ["--host", "6cpu", "-j", "3", "--runs", "2", "--scale", "0.01", "--json"],
        io,
      ),
    ).toBe(0);
    const out = JSON.parse(io.stdout()) as { stats: Record<string, { mean: number; std: number }> };
    expect(Object.keys(out.stats)).toEqual([
      "elapsed",
      "user",
      "system",
      "percentCpu",
      "contextSwitches",
      "sleeps",
    ]);
    expect(out.stats.elapsed!.mean).toBeGreaterThan(0);
  });
});

describe("kernbench in a guest", () => {
  it("finishes in an overcommitted guest with every backend, and overcommit slows it down", () => {
    const base = { host: "6cpu", jobs: 24, kernel: "rcu" as const, seed: 3, scale: 0.01 };
    const bare = runKernbench(base);
    expect(bare.mechanism.hostPreemptions).toBeUndefined();
    for (const backend of ["native", "kvm-pv", "xen-pv", "hyperv"]) {
      // 6 vCPUs beside 6 of another VM on 6 host CPUs: every vCPU gets half a CPU
      const r = runKernbench({ ...base, backend, vcpus: 6, otherVcpus: 6 });
      expect(r.stats.processes, backend).toBe(bare.stats.processes);
      expect(r.mechanism.hostPreemptions, backend).toBeGreaterThan(100);
      expect(r.stats.elapsed, backend).toBeGreaterThan(1.6 * bare.stats.elapsed);
      const cpu = r.stats.user + r.stats.system;
      const bareCpu = bare.stats.user + bare.stats.system;
      if (backend === "hyperv") {
        // no steal clock: the model's user time is what the vCPUs ran (sched/scheduler.ts)
        expect(r.mechanism.stealNs, backend).toBeUndefined();
        expect(cpu, backend).toBeLessThan(1.25 * bareCpu);
      } else {
        // a steal clock without CONFIG_PARAVIRT_TIME_ACCOUNTING: the ticks skip the stolen
        // spans, but the runtime keeps them, so user + system includes the steal
        expect(r.mechanism.stealNs!, backend).toBeGreaterThan(0.3 * bareCpu * 1e9);
        expect(cpu, backend).toBeGreaterThan(1.4 * bareCpu);
        // with it, user + system is what the guest's vCPUs ran, not what they waited for
        const rq = runKernbench({
          ...base,
          backend,
          vcpus: 6,
          otherVcpus: 6,
          stealAccounting: "rq",
        });
        expect(rq.stats.user + rq.stats.system, backend).toBeLessThan(1.25 * bareCpu);
      }
    }
  });

  it("runs on a host given as a spec, and refuses a guest beyond the ceilings", () => {
    const r = runKernbench({
      host: "cpus=8,smt=2",
      jobs: 8,
      kernel: "current",
      seed: 1,
      scale: 0.01,
    });
    expect(r.stats.percentCpu).toBeGreaterThan(100);
    const o = { host: "6cpu", jobs: 4, kernel: "current" as const, seed: 1, scale: 0.01 };
    expect(() => runKernbench({ ...o, vcpus: 0 })).toThrow(/vcpus = 0.*from 1 to 1024/);
    expect(() => runKernbench({ ...o, otherVcpus: 5000 })).toThrow(/otherVcpus = 5000/);
    expect(() => runKernbench({ ...o, backend: "kvm" })).toThrow(UnknownNameError);
    expect(() => runKernbench({ ...o, vcpus: 2, jobs: 129 })).toThrow(/jobs = 129/);
  });
});
