/**
 * Covers: the grace-period latency distribution against the published range, and determinism.
 *
 * Scenario: a lightly loaded 4-CPU machine (workload.ts `lightLoadPlans`: CPUs mostly idle or in
 * user mode, kernel bursts of 5–150 µs with short IRQ-off and preempt-off regions, occasional
 * call_rcu_sched), flavour "sched", default parameters, seed 1, 4 s of simulated work. The
 * measured quantity is synchronize_sched() call → return, the quantity of every costs.md §1d row.
 *
 * Assertions and why:
 * - HZ=1000, median in [3, 10] ms: costs.md §1d/§2 put a lightly loaded RCU-sched GP at "≈ 6–10
 *   ms (2 FQS rounds of 3 jiffies)" with "min ≈ 3–6 ms" (Fernandes 2026: idle 32-CPU HZ=1000
 *   synchronize_rcu mean 9.75 ms, min ≈ 6.0 ms; 6.04 ms mean once the kthread's CPU reports
 *   early). The lower bound 3 ms is one FQS period: with any CPU idle (tick stopped) the GP
 *   cannot end before the first scan, and the caller's CPU then notices the end at a tick.
 * - HZ=1000, max ≤ 25.7 ms: Fernandes' per-run maxima are 10.0–25.7 ms; a light load must not
 *   produce a worse tail than an idle 32-CPU box.
 * - HZ=250, median in [4, 16] ms: costs.md §1d [M] HZ=250 guest: p50 8.0 ms idle, 16.0 ms with
 *   one CPU busy in user space; §3 item 4 "8–16 ms at HZ=250". 4 ms (one jiffy, the FQS period)
 *   is again the floor.
 * - HZ=250, p90 ≤ 24 ms and max ≤ 32 ms: 24.0 ms is the [M] guest's maximum, so nine calls in
 *   ten must beat it. The maximum itself is bounded by the mechanism, 8 jiffies: a call that
 *   lands just after a GP started waits ≤ 1 jiffy for its CPU's tick to ask for a GP, the
 *   running GP (≤ 3 jiffies: FQS deadline alignment plus two FQS periods), a full GP of its own
 *   (≤ 3 jiffies) and ≤ 1 jiffy for its CPU to notice the end. (Over seeds 1–8 the model's
 *   HZ=250 maximum is 20.7–26.1 ms, around the [M] sample's 24.0 ms.)
 * - HZ=250's median is above HZ=1000's: GP latency is set by FQS jiffies × HZ (costs.md §3.4).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { measureGpLatency, type GpLatencyResult } from "./workload.js";

const MS = 1e6;
const HORIZON = 4_000_000_000;

describe("grace-period latency on a lightly loaded 4-CPU machine", () => {
  let r1000: GpLatencyResult;
  let r250: GpLatencyResult;
  beforeAll(() => {
    r1000 = measureGpLatency({ hz: 1000, seed: 1, horizonNs: HORIZON });
    r250 = measureGpLatency({ hz: 250, seed: 1, horizonNs: HORIZON });
  });

  it("has enough samples and ends by itself", () => {
    for (const r of [r1000, r250]) {
      expect(r.reason).toBe("idle");
      expect(r.sync.n).toBeGreaterThanOrEqual(150);
    }
  });

  it("HZ=1000: median 3–10 ms, tail ≤ 25.7 ms (costs.md §1d, Fernandes 2026)", () => {
    expect(r1000.sync.median).toBeGreaterThanOrEqual(3 * MS);
    expect(r1000.sync.median).toBeLessThanOrEqual(10 * MS);
    expect(r1000.sync.max).toBeLessThanOrEqual(25.7 * MS);
    // Floor: a CPU other than the kthread's reports either at the first FQS scan (≥ 2 jiffies
    // after rcu_gp_init when jiffies_till_first_fqs = 3) or from its own ticks (notice the GP at
    // one, record the QS at the next: ≥ 1 jiffy), so no GP, and no synchronize, is shorter.
    expect(r1000.sync.min).toBeGreaterThanOrEqual(1 * MS);
    expect(r1000.gp.min).toBeGreaterThanOrEqual(1 * MS);
  });

  it("HZ=250: median 4–16 ms, p90 ≤ 24 ms, max ≤ 8 jiffies (costs.md §1d [M], §3.4)", () => {
    expect(r250.sync.median).toBeGreaterThanOrEqual(4 * MS);
    expect(r250.sync.median).toBeLessThanOrEqual(16 * MS);
    expect(r250.sync.p90).toBeLessThanOrEqual(24 * MS);
    expect(r250.sync.max).toBeLessThanOrEqual(32 * MS);
  });

  it("scales with the jiffy, not with luck: HZ=250 is slower than HZ=1000", () => {
    expect(r250.sync.median).toBeGreaterThan(r1000.sync.median);
    expect(r250.gp.median).toBeGreaterThan(r1000.gp.median);
  });
});

describe("determinism", () => {
  it("the same seed gives identical grace-period timings", () => {
    const a = measureGpLatency({ hz: 1000, seed: 7, horizonNs: 500_000_000 });
    const b = measureGpLatency({ hz: 1000, seed: 7, horizonNs: 500_000_000 });
    expect(a.gracePeriods.length).toBeGreaterThan(10);
    expect(b.gracePeriods).toEqual(a.gracePeriods);
    expect(b.syncNs).toEqual(a.syncNs);
  });

  it("another seed gives other timings", () => {
    const a = measureGpLatency({ hz: 1000, seed: 7, horizonNs: 500_000_000 });
    const c = measureGpLatency({ hz: 1000, seed: 8, horizonNs: 500_000_000 });
    expect(c.gracePeriods).not.toEqual(a.gracePeriods);
  });
});
