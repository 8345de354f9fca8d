import { describe, expect, it } from "vitest";
import {
  flush_tlb_mm_range,
  hypervBackend,
  invlpgbBackend,
  kvmPvBackend,
  nativeBackend,
  xenPvBackend,
  type FlushBackend,
} from "../../src/arch/x86/index.js";
import {
  Host,
  KVM_VCPU_FLUSH_TLB,
  local_irq_disable,
  local_irq_enable,
  type Cpu,
} from "../../src/hw/index.js";
import { TLB_FLUSH_ALL, type MmStruct } from "../../src/mm/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { makeKernel, V4_14, type TestKernel } from "../support/kernel.js";

function setup(backend: (t: TestKernel, host: Host) => FlushBackend, nrCpus = 2) {
  const t = makeKernel({ nrCpus, profile: V4_14 });
  const host = new Host(t.m);
  t.x86.backend = backend(t, host);
  const mm = t.k.mm_alloc();
  for (const c of t.m.cpus) t.x86.switch_mm(c, mm);
  return { ...t, host, mm };
}

/** cpu1 keeps IRQs off for `offNs`; cpu0 flushes; returns when the flush returned on cpu0. */
function flushAgainstIrqOff(
  t: ReturnType<typeof setup>,
  mm: MmStruct,
  start: number,
  end: number,
  offNs = 30_000,
): number {
  let done = -1;
  t.m.cpu(1).run(
    "irqoff",
    (function* (): Kfn<void> {
      local_irq_disable(t.m.cpu(1));
      yield offNs;
      yield* local_irq_enable(t.m.cpu(1));
    })(),
  );
  t.m.cpu(0).run(
    "flusher",
    (function* (): Kfn<void> {
      yield 100;
      yield* flush_tlb_mm_range(t.x86, t.m.cpu(0), mm, start, end, false);
      done = t.sim.now;
    })(),
  );
  t.sim.run();
  return done;
}

const hypercallOps = (t: TestKernel) =>
  t.sim.trace.events.filter((e) => e.name === "mmulab:hypercall").map((e) => e.args?.op);

describe("flush backends", () => {
  it("native waits for the IRQ-off target; the hypercall backends do not", () => {
    const native = setup(() => nativeBackend);
    expect(flushAgainstIrqOff(native, native.mm, 0x1000, 0x2000)).toBeGreaterThan(30_000);
    for (const make of [() => xenPvBackend, () => hypervBackend()]) {
      const t = setup(make);
      const done = flushAgainstIrqOff(t, t.mm, 0x1000, 0x2000);
      expect(done).toBeLessThan(5_000);
      expect(t.m.cpu(1).stats.irqs.CALL_FUNCTION_SINGLE + t.m.cpu(1).stats.irqs.CALL_FUNCTION).toBe(
        0,
      );
    }
  });

  it("Xen PV: MMUEXT_INVLPG_MULTI for one page, MMUEXT_TLB_FLUSH_MULTI otherwise", () => {
    const t = setup(() => xenPvBackend);
    flushAgainstIrqOff(t, t.mm, 0x1000, 0x2000, 10);
    const u = setup(() => xenPvBackend);
    flushAgainstIrqOff(u, u.mm, 0x1000, 0x3000, 10);
    expect(hypercallOps(t)).toEqual(["MMUEXT_INVLPG_MULTI"]);
    expect(hypercallOps(u)).toEqual(["MMUEXT_TLB_FLUSH_MULTI"]);
  });

  it("Hyper-V: address list up to 509 GVA entries, whole space beyond or for a full flush", () => {
    const a = setup(() => hypervBackend());
    flushAgainstIrqOff(a, a.mm, 0, 16 * 4096, 10);
    const b = setup(() => hypervBackend());
    flushAgainstIrqOff(b, b.mm, 0, TLB_FLUSH_ALL, 10);
    expect(hypercallOps(a)).toEqual(["HvFlushVirtualAddressList"]);
    expect(hypercallOps(b)).toEqual(["HvFlushVirtualAddressSpace"]);
  });

  it("Hyper-V falls back to native IPIs for VP numbers ≥ 64 without the ex masks, and on an error status", () => {
    const t = setup(() => hypervBackend({ exProcessorMasks: false }), 66);
    flushAgainstIrqOff(t, t.mm, 0x1000, 0x2000, 10);
    expect(hypercallOps(t)).toEqual([]);
    expect(t.m.cpu(65).stats.irqs.CALL_FUNCTION).toBe(1);
    const e = setup(() => hypervBackend({ failureRate: 1 }));
    const done = flushAgainstIrqOff(e, e.mm, 0x1000, 0x2000, 30_000);
    expect(hypercallOps(e)).toEqual(["HvFlushVirtualAddressList"]);
    expect(done).toBeGreaterThan(30_000); // the native fallback waited for the IRQ-off CPU
  });

  it("KVM PV skips a preempted vCPU, marks it KVM_VCPU_FLUSH_TLB, and the host flushes it at entry", () => {
    const t = setup((_t, host) => kvmPvBackend(host), 3);
    t.m.cpu(1).run(
      "guest",
      (function* (): Kfn<void> {
        yield 1_000_000;
      })(),
    );
    t.host.preemptFor(t.m.cpu(1), 10, 500_000);
    let done = -1;
    t.m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        yield 1_000;
        yield* flush_tlb_mm_range(t.x86, t.m.cpu(0), t.mm, 0x1000, 0x2000, false);
        done = t.sim.now;
      })(),
    );
    let flagged = 0;
    t.sim.schedule(20_000, () => (flagged = t.host.stealTime[1]!.preempted));
    t.sim.run();
    expect(flagged & KVM_VCPU_FLUSH_TLB).toBe(KVM_VCPU_FLUSH_TLB);
    expect(t.m.cpu(1).stats.irqs.CALL_FUNCTION + t.m.cpu(1).stats.irqs.CALL_FUNCTION_SINGLE).toBe(
      0,
    );
    expect(t.m.cpu(2).stats.irqs.CALL_FUNCTION_SINGLE).toBe(1); // the running vCPU got a real IPI
    expect(done).toBeLessThan(10_000);
    expect(t.host.stats.entryFlushes).toBe(1);
    expect(t.host.stealTime[1]!.preempted).toBe(0);
  });

  it("INVLPGB broadcasts only for an mm with a global ASID: without one (here: no PCID, so none) it IPIs on 4 CPUs too", () => {
    const big = setup(() => invlpgbBackend, 4);
    expect(big.x86.invlpgb).toBe(false);
    flushAgainstIrqOff(big, big.mm, 0x1000, 0x2000, 10);
    expect(big.m.ipisSent).toBe(3);
    expect(big.sim.trace.events.some((e) => e.name === "mmulab:invlpgb")).toBe(false);
  });
});

describe("host scheduling", () => {
  function busy(cpu: Cpu, ns: number) {
    cpu.run(
      "busy",
      (function* (): Kfn<void> {
        yield ns;
      })(),
    );
  }

  it("without overcommit nothing is preempted", () => {
    const t = makeKernel({ nrCpus: 2 });
    const host = new Host(t.m);
    host.start();
    for (const c of t.m.cpus) busy(c, 10_000_000);
    t.sim.schedule(20_000_000, () => host.stop());
    t.sim.run();
    expect(host.stats.preemptions).toBe(0);
  });

  it("two vCPUs on one pCPU take turns: each gets about half the time", () => {
    const t = makeKernel({ nrCpus: 2 });
    // CFS on one pCPU: sched_latency 6 ms shared by two threads, 3 ms slices
    const host = new Host(t.m, { pcpus: 1 });
    expect(host.overcommit).toBe(2);
    host.start();
    const doneAt: number[] = [];
    for (const c of t.m.cpus)
      c.run(
        "work",
        (function* (): Kfn<void> {
          yield 5_000_000;
          doneAt[c.id] = t.sim.now;
        })(),
      );
    t.sim.schedule(30_000_000, () => host.stop());
    t.sim.run();
    // 5 ms of work each at half speed: both finish around 10 ms
    for (const d of doneAt) expect(d).toBeGreaterThanOrEqual(9_000_000);
    for (const d of doneAt) expect(d).toBeLessThanOrEqual(11_000_000);
    expect(host.stats.preemptions).toBeGreaterThanOrEqual(3);
  });
});
