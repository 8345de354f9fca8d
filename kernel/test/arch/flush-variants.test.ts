import { describe, expect, it } from "vitest";
import {
  flush_tlb_mm_range,
  hypervBackend,
  shimFlushStats,
  xenPvBackendOn,
  type FlushBackend,
} from "../../src/arch/x86/index.js";
import { Host } from "../../src/hw/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { BackendOptionError, buildSystem, resolveBackendOptions } from "../../src/system/build.js";
import { makeKernel, V4_14, type TestKernel } from "../support/kernel.js";

function setup(backend: (t: TestKernel) => FlushBackend, nrCpus = 3) {
  const t = makeKernel({ nrCpus, profile: V4_14 });
  const host = new Host(t.m);
  t.x86.backend = backend(t);
  const mm = t.k.mm_alloc();
  for (const c of t.m.cpus) t.x86.switch_mm(c, mm);
  return { ...t, host, mm };
}

/** cpu1 runs guest code and is descheduled by the host from 10 ns for `awayNs`; cpu0 flushes
 * at 1 µs; returns the time the flush returned. */
function flushWhileDescheduled(t: ReturnType<typeof setup>, awayNs: number): number {
  t.m.cpu(1).run(
    "guest",
    (function* (): Kfn<void> {
      yield 2_000_000;
    })(),
  );
  t.host.preemptFor(t.m.cpu(1), 10, awayNs);
  let done = -1;
  t.m.cpu(0).run(
    "flusher",
    (function* (): Kfn<void> {
      yield 1_000;
      yield* flush_tlb_mm_range(t.x86, t.m.cpu(0), t.mm, 0x1000, 0x3000, false);
      done = t.sim.now;
    })(),
  );
  t.sim.run();
  return done;
}

describe("Xen PV guest in a shim", () => {
  it("a shim that flushes by IPI waits for the vCPU L0 descheduled; the L0-assisted one does not", () => {
    const ipi = setup(() => xenPvBackendOn("shim-ipi"));
    const waited = flushWhileDescheduled(ipi, 500_000);
    expect(waited).toBeGreaterThan(500_000);
    const s = shimFlushStats(ipi.x86.backend)!;
    expect(s).toMatchObject({ flushes: 1, waitedForDescheduled: 1 });
    expect(s.waitNs).toBeGreaterThan(400_000);
    const assisted = setup(() => xenPvBackendOn("shim-assisted"));
    const quick = flushWhileDescheduled(assisted, 500_000);
    expect(quick).toBeLessThan(10_000);
    expect(shimFlushStats(assisted.x86.backend)).toMatchObject({ waitedForDescheduled: 0 });
    // neither sends the guest an IPI: the shim's interrupt is taken by Xen, not the guest
    for (const t of [ipi, assisted])
      expect(t.m.cpu(1).stats.irqs.CALL_FUNCTION + t.m.cpu(2).stats.irqs.CALL_FUNCTION).toBe(0);
    // bare-metal Xen flushes physical CPUs: no wait either, and no shim statistics
    const bare = setup(() => xenPvBackendOn("xen"));
    expect(flushWhileDescheduled(bare, 500_000)).toBeLessThan(10_000);
    expect(shimFlushStats(bare.x86.backend)).toBeNull();
  });

  it("a target sharing the flusher's pCPU takes the IPI while the flusher is descheduled (no livelock)", () => {
    const t = makeKernel({ nrCpus: 2, profile: V4_14 });
    // slices far below the host tick: each vCPU runs one tick, then the other gets the pCPU
    const host = new Host(t.m, { pcpus: 1, latencyNs: 100_000, minGranularityNs: 100_000 });
    t.x86.backend = xenPvBackendOn("shim-ipi");
    const mm = t.k.mm_alloc();
    for (const c of t.m.cpus) t.x86.switch_mm(c, mm);
    t.m.cpu(1).run(
      "guest",
      (function* (): Kfn<void> {
        yield 1_000_000;
      })(),
    );
    let done = -1;
    t.m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        yield 1_000;
        yield* flush_tlb_mm_range(t.x86, t.m.cpu(0), mm, 0x1000, 0x3000, false);
        done = t.sim.now;
        host.stop();
      })(),
    );
    host.start();
    t.sim.run();
    // The host's CFS preempts at its tick (HZ 1000): cpu0 spins until the first tick hands the
    // pCPU to cpu1, which takes the interrupt; cpu0 sees it when the next tick gives it back.
    expect(done).toBeGreaterThan(1_000_000);
    expect(done).toBeLessThan(3_000_000);
    expect(shimFlushStats(t.x86.backend)).toMatchObject({ waitedForDescheduled: 1 });
  });

  it("the IPI shim costs about what the assisted one does when no target is descheduled", () => {
    const a = setup(() => xenPvBackendOn("shim-ipi"));
    const b = setup(() => xenPvBackendOn("shim-assisted"));
    const ta = flushWhileDescheduled(a, 1); // back before the flush starts
    const tb = flushWhileDescheduled(b, 1);
    expect(shimFlushStats(a.x86.backend)!.waitedForDescheduled).toBe(0);
    expect(ta / tb).toBeGreaterThan(0.5);
    expect(ta / tb).toBeLessThan(2);
  });
});

describe("Hyper-V's lazy-CPU skip (v6.4+)", () => {
  const hypercalls = (t: TestKernel) =>
    t.sim.trace.events.filter((e) => e.name === "mmulab:hypercall").length;

  function flushWithLazy(skipLazy: boolean, freedTables: boolean) {
    const t = setup(() => hypervBackend({ skipLazy }));
    // cpu1 and cpu2 run a kernel thread on the mm lazily
    for (const c of [1, 2]) t.x86.tlbstate[c]!.is_lazy = true;
    t.m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        yield* flush_tlb_mm_range(t.x86, t.m.cpu(0), t.mm, 0x1000, 0x2000, freedTables);
      })(),
    );
    t.sim.run();
    return hypercalls(t);
  }

  it("leaves lazy CPUs out unless tables were freed; before v6.4 flushes them too", () => {
    expect(flushWithLazy(true, false)).toBe(0);
    expect(flushWithLazy(true, true)).toBe(1);
    expect(flushWithLazy(false, false)).toBe(1);
  });

  it("is the kernel's default from v6.4 and refused on an older kernel or another backend", () => {
    const lazySkip = (profile: string, opts?: { hypervSkipLazy: boolean }) => {
      const sys = buildSystem({
        profile,
        backend: "hyperv",
        nrCpus: 3,
        ...(opts ? { backendOptions: opts } : {}),
      });
      for (const c of [1, 2]) sys.x86.switch_mm(sys.m.cpu(c), null);
      return sys;
    };
    expect(resolveBackendOptions(lazySkip("v6.15").resolved).hypervSkipLazy).toBe(true);
    expect(resolveBackendOptions(lazySkip("v6.1").resolved).hypervSkipLazy).toBe(false);
    expect(() => lazySkip("v6.1", { hypervSkipLazy: true })).toThrow(BackendOptionError);
    expect(() => lazySkip("v6.1", { hypervSkipLazy: true })).toThrow(/from v6\.4/);
    expect(() => lazySkip("v6.15", { hypervSkipLazy: true })).not.toThrow();
    expect(() => lazySkip("v6.15", { hypervSkipLazy: false })).not.toThrow();
    expect(() =>
      buildSystem({
        profile: "v6.15",
        backend: "kvm-pv",
        backendOptions: { hypervSkipLazy: true },
      }),
    ).toThrow(/only the Hyper-V/);
    expect(() =>
      buildSystem({
        profile: "v6.15",
        backend: "hyperv",
        backendOptions: { xenPvHost: "shim-ipi" },
      }),
    ).toThrow(/only a Xen PV guest/);
    expect(() =>
      buildSystem({
        profile: "v6.15",
        backend: "xen-pv",
        backendOptions: { xenPvHost: "vmware" as "xen" },
      }),
    ).toThrow(/xenPvHost.*"shim-assisted"/);
  });
});

describe("v6.13+'s lazily updated mm_cpumask (209954cbc7d0, 6db2526c1d69)", () => {
  /** cpu1 ran mm A and switched to mm B; cpu0 then flushes A (twice, `gapNs` apart). */
  function staleCpu(profile: string, freedTables: boolean, gapNs = 10_000) {
    const sys = buildSystem({ profile, backend: "native", nrCpus: 2, seed: 1, hz: 1000 });
    const { sim, m, k, x86 } = sys;
    const a = k.mm_alloc();
    const b = k.mm_alloc();
    x86.switch_mm(m.cpu(0), a);
    x86.switch_mm(m.cpu(1), a);
    x86.switch_mm(m.cpu(1), b);
    const inMaskAfterSwitch = a.cpumask.has(1);
    const ipis: number[] = [];
    m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        for (let i = 0; i < 2; i++) {
          yield gapNs;
          yield* flush_tlb_mm_range(x86, m.cpu(0), a, 0x1000, 0x2000, freedTables);
          ipis.push(x86.stats.irqTlbCount[1]!);
        }
      })(),
    );
    sim.run();
    return { inMaskAfterSwitch, ipis, inMaskAtEnd: a.cpumask.has(1) };
  }

  it("v6.1 takes a CPU out of the mask when it switches away; v6.15 leaves it there", () => {
    expect(staleCpu("v6.1", false)).toEqual({
      inMaskAfterSwitch: false,
      ipis: [0, 0],
      inMaskAtEnd: false,
    });
    // v6.15: no trim in the mm's first second (init_new_context): the stale CPU stays in the
    // mask and gets no IPI
    expect(staleCpu("v6.15", false)).toEqual({
      inMaskAfterSwitch: true,
      ipis: [0, 0],
      inMaskAtEnd: true,
    });
    // flushes at 0.6 s and 1.2 s: the second trims — one IPI, and the CPU clears itself
    expect(staleCpu("v6.15", false, 600_000_000)).toEqual({
      inMaskAfterSwitch: true,
      ipis: [0, 1],
      inMaskAtEnd: false,
    });
  });

  it("v6.15 leaves a stale CPU out of a flush that freed no tables until a trim; one that freed tables reaches it", () => {
    const sys = buildSystem({ profile: "v6.15", backend: "native", nrCpus: 3, seed: 1 });
    const { sim, m, k, x86 } = sys;
    const a = k.mm_alloc();
    const b = k.mm_alloc();
    for (const c of [0, 1, 2]) x86.switch_mm(m.cpu(c), a);
    const counts: number[] = [];
    m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        yield 10_000;
        yield* flush_tlb_mm_range(x86, m.cpu(0), a, 0x1000, 0x2000, false);
        x86.switch_mm(m.cpu(1), b);
        yield 10_000;
        yield* flush_tlb_mm_range(x86, m.cpu(0), a, 0x1000, 0x2000, false);
        counts.push(x86.stats.irqTlbCount[1]!);
        yield* flush_tlb_mm_range(x86, m.cpu(0), a, 0x1000, 0x2000, true);
        counts.push(x86.stats.irqTlbCount[1]!);
      })(),
    );
    sim.run();
    // 1 from the first flush (cpu1 ran A); none from the second (stale, and no trim in the mm's
    // first second); 1 more from the freed-tables flush, which also takes cpu1 out of A's mask
    expect(counts).toEqual([1, 2]);
    expect(a.cpumask.has(1)).toBe(false);
    expect(a.cpumask.has(2)).toBe(true);
  });
});
