/**
 * v6.15's global ASIDs (arch/x86/mm/tlb.c, Rik van Riel's broadcast TLB invalidation series,
 * f37ff575b1fe and its neighbours): a multi-threaded process is flushed by IPIs until
 * consider_global_asid gives it a global ASID, then by INVLPGB; CPUs still on a dynamic ASID get
 * IPIs from finish_asid_transition; the broadcast drops the global PCID's entries on every CPU;
 * the ASID is freed at mm teardown and reused only after the wrap-around flush.
 */
import { describe, expect, it } from "vitest";
import {
  flush_tlb_mm_range,
  establish_global_asid,
  installPageWalker,
  type X86Mmu,
} from "../../src/arch/x86/index.js";
import { kern_pcid, MAX_ASID_AVAILABLE, TLB_NR_DYN_ASIDS } from "../../src/arch/x86/asid.js";
import { local_irq_disable, local_irq_enable, type Cpu } from "../../src/hw/index.js";
import { mmdrop, type MmStruct } from "../../src/mm/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { buildSystem, type System } from "../../src/system/build.js";
import { traceToTimeline } from "../../src/views/trace-timeline.js";

const VA = 0x4000_0000;

function v615(nrCpus = 4, seed = 1): System & { mm: MmStruct } {
  const sys = buildSystem({
    profile: "v6.15",
    backend: "invlpgb",
    nrCpus,
    seed,
    trace: true,
    costs: { jitter: 0 },
  });
  // the caches, without timed walks (nothing fills them but the tests)
  installPageWalker(sys.x86, undefined, false);
  const mm = sys.k.mm_alloc();
  mm.mm_users = nrCpus;
  for (const c of sys.m.cpus) sys.x86.switch_mm(c, mm);
  return { ...sys, mm };
}

/** Nanoseconds from `now` to the next jiffy whose low 5 bits are `pid`'s. */
function untilPidJiffy(x86: X86Mmu, pid: number): number {
  const tick = 1e9 / x86.k.hz;
  const now = x86.k.sim.now;
  for (let j = 0; j < 64; j++) {
    const at = (Math.floor(now / tick) + j) * tick;
    if (at < now) continue;
    const jiffies = ((Math.floor(at / tick) - 300 * x86.k.hz) >>> 0) & 0x1f;
    if (jiffies === (pid & 0x1f)) return at - now + 1;
  }
  throw new Error("no matching jiffy");
}

/** cpu1 holds IRQs off for `offNs` from t = 0 (a gup_fast walk). */
function irqOff(cpu: Cpu, offNs: number): void {
  cpu.run(
    "irqoff",
    (function* (): Kfn<void> {
      local_irq_disable(cpu);
      yield offNs;
      yield* local_irq_enable(cpu);
    })(),
  );
}

describe("v6.15 global ASIDs (INVLPGB)", () => {
  it("a fresh multi-threaded mm is flushed by IPIs; consider_global_asid assigns an ASID on the pid's jiffy, and later flushes broadcast", () => {
    const s = v615(4);
    const cpu0 = s.m.cpu(0);
    const returned: number[] = [];
    const ipis: number[] = [];
    cpu0.run(
      "flusher",
      (function* (): Kfn<void> {
        // first flush on a jiffy that does not match the pid: IPIs, and no ASID
        const pid = s.x86.pid_of(cpu0);
        yield untilPidJiffy(s.x86, pid + 1);
        irqOff(s.m.cpu(1), 40_000);
        yield 100;
        let t0 = s.sim.now;
        yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, false);
        returned.push(s.sim.now - t0);
        ipis.push(s.m.ipisSent);
        expect(s.mm.global_asid).toBe(0);
        // on the pid's jiffy, after the IPI flush: a global ASID
        yield untilPidJiffy(s.x86, pid);
        yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, false);
        ipis.push(s.m.ipisSent);
        expect(s.mm.global_asid).toBe(TLB_NR_DYN_ASIDS);
        expect(s.mm.asid_transition).toBe(true);
        // every CPU moves over at its next flush_tlb_func or switch_mm
        for (const c of s.m.cpus) s.x86.switch_mm(c, s.mm);
        irqOff(s.m.cpu(1), 40_000);
        yield 100;
        t0 = s.sim.now;
        yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, false);
        returned.push(s.sim.now - t0);
        ipis.push(s.m.ipisSent);
      })(),
    );
    s.sim.run();
    // the first flush waited for the IRQ-off CPU; the broadcast did not
    expect(returned[0]).toBeGreaterThan(30_000);
    expect(ipis[0]).toBe(3);
    expect(ipis[1]).toBe(6);
    expect(ipis[2]).toBe(6);
    expect(returned[1]).toBeLessThan(5_000);
    expect(s.x86.stats.broadcastFlushes).toBe(1);
    expect(s.mm.asid_transition).toBe(false);
    for (const c of s.m.cpus) expect(s.x86.state(c).loaded_mm_asid).toBe(s.mm.global_asid);
    expect(s.sim.trace.events.some((e) => e.name === "mmulab:invlpgb")).toBe(true);
  });

  it("the timeline marks the assignment and each CPU's reload onto the global ASID", () => {
    const s = v615(4);
    s.m.cpu(2).tlb.fillTlb(1, VA, 100, 1, true, false);
    s.x86.use_global_asid(s.mm);
    for (const c of s.m.cpus) s.x86.switch_mm(c, s.mm);
    const tl = traceToTimeline(s.sim.trace, { nrCpus: 4 });
    const labels = tl.instants
      .filter((i) => i.kind === "marker")
      .map((i) => `${i.lane} ${i.label}`);
    expect(labels).toContain(`cpu0 global ASID ${TLB_NR_DYN_ASIDS} assigned to mm ${s.mm.id}`);
    for (const c of s.m.cpus)
      expect(labels).toContain(`cpu${c.id} CR3 reloaded onto global ASID ${TLB_NR_DYN_ASIDS}`);
    // the first allocation after boot flushed every CPU's non-global entries (cpu2 had one)
    expect(labels).toContain(
      "cpu2 invlpgb-all-nonglobals: 1 TLB, 0 paging-structure entries invalidated",
    );
    expect(s.m.cpu(2).tlb.lookupTlb(1, VA)).toBeUndefined();
  });

  it("no global ASID for an mm on 3 CPUs, however often the pid's jiffy comes round", () => {
    const s = v615(3);
    const cpu0 = s.m.cpu(0);
    cpu0.run(
      "flusher",
      (function* (): Kfn<void> {
        const pid = s.x86.pid_of(cpu0);
        for (let i = 0; i < 3; i++) {
          yield untilPidJiffy(s.x86, pid);
          yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, false);
        }
      })(),
    );
    s.sim.run();
    expect(s.mm.global_asid).toBe(0);
    expect(s.x86.stats.broadcastFlushes).toBe(0);
    expect(s.m.ipisSent).toBe(6);
  });

  it("during the transition, a CPU still on its dynamic ASID gets the IPI flush (finish_asid_transition) and moves over", () => {
    const s = v615(4);
    expect(s.x86.use_global_asid(s.mm)).toBe(true); // the first allocation resets the space
    const g = s.mm.global_asid;
    // cpus 0–2 have switched since; cpu3 has not
    for (const c of s.m.cpus.slice(0, 3)) s.x86.switch_mm(c, s.mm);
    expect(s.x86.state(s.m.cpu(3)).loaded_mm_asid).toBeLessThan(TLB_NR_DYN_ASIDS);
    const cpu0 = s.m.cpu(0);
    const ipis: number[] = [];
    cpu0.run(
      "flusher",
      (function* (): Kfn<void> {
        yield 1000;
        yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, false);
        ipis.push(s.m.ipisSent);
        yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, false);
        ipis.push(s.m.ipisSent);
      })(),
    );
    s.sim.run();
    // the whole mask (on_each_cpu_mask while in transition), then nothing
    expect(ipis).toEqual([3, 3]);
    expect(s.x86.stats.broadcastFlushes).toBe(2);
    expect(s.x86.state(s.m.cpu(3)).loaded_mm_asid).toBe(g);
    expect(s.mm.asid_transition).toBe(false);
  });

  it("INVLPGB with the global ASID drops that PCID's entries on every CPU, whatever each one runs, and nothing else", () => {
    const s = v615(4);
    establish_global_asid(s.x86, s.mm);
    const pcid = kern_pcid(s.mm.global_asid);
    // cpu3 has moved on to another process; its entries of the global PCID stay tagged
    const other = s.k.mm_alloc();
    s.x86.switch_mm(s.m.cpu(3), other);
    for (const c of s.m.cpus) {
      c.tlb.fillTlb(pcid, VA, 100, 1, true, false);
      c.tlb.fillTlb(pcid, VA + 0x10_0000, 101, 1, true, false);
      c.tlb.fillTlb(1, VA, 102, 1, true, false);
      c.tlb.fillPsc(pcid, "pde", VA, 200, 1);
    }
    const cpu0 = s.m.cpu(0);
    cpu0.run(
      "flusher",
      (function* (): Kfn<void> {
        yield 1000;
        yield* flush_tlb_mm_range(s.x86, cpu0, s.mm, VA, VA + 4096, true);
      })(),
    );
    s.sim.run();
    expect(s.m.ipisSent).toBe(0);
    for (const c of s.m.cpus) {
      expect(c.tlb.lookupTlb(pcid, VA), `cpu${c.id}`).toBeUndefined();
      expect(c.tlb.lookupTlb(pcid, VA + 0x10_0000)?.pfn).toBe(101); // outside the range
      expect(c.tlb.lookupTlb(1, VA)?.pfn).toBe(102); // another PCID
      expect(c.tlb.pscCountOf(pcid)).toBe(0); // no FINAL_ONLY: the PSC entries go too
    }
  });

  it("the global ASID is freed at mm teardown and not reused until the wrap-around flush", () => {
    const s = v615(4);
    establish_global_asid(s.x86, s.mm);
    const g = s.mm.global_asid;
    const space = s.x86.globalAsids;
    expect(space.resets).toBe(1); // the first allocation after boot flushes
    const pcid = kern_pcid(g);
    // the process exits: every CPU leaves it, the last reference goes
    for (const c of s.m.cpus) s.x86.switch_mm(c, null);
    s.m.cpu(2).tlb.fillTlb(pcid, VA, 100, 1, true, false); // a stale entry under the old PCID
    s.mm.mm_users = 0;
    mmdrop(s.k, s.mm);
    expect(s.mm.global_asid).toBe(0);
    expect(space.isFreed(g)).toBe(true);
    expect(space.isUsed(g)).toBe(true);
    expect(s.x86.stats.globalAsidsFreed).toBe(1);
    // the next process gets another ASID; the stale entry is still there, harmless
    const next = s.k.mm_alloc();
    for (const c of s.m.cpus) s.x86.switch_mm(c, next);
    establish_global_asid(s.x86, next);
    expect(next.global_asid).toBe(g + 1);
    expect(s.m.cpu(2).tlb.lookupTlb(pcid, VA)?.pfn).toBe(100);
    // at the edge of the space: one INVLPGB drops every non-global entry, then g is free again
    space.last = MAX_ASID_AVAILABLE - 1;
    const third = s.k.mm_alloc();
    for (const c of s.m.cpus) s.x86.switch_mm(c, third);
    establish_global_asid(s.x86, third);
    expect(space.resets).toBe(2);
    expect(third.global_asid).toBe(g);
    expect(s.m.cpu(2).tlb.lookupTlb(pcid, VA)).toBeUndefined();
    expect(space.isFreed(g)).toBe(false);
  });

  it("the pid/jiffies test is deterministic under a seed and draws nothing from the simulation's stream", () => {
    const pidOf = (seed: number, ask: boolean) => {
      const s = v615(4, seed);
      let pid = -1;
      const cpu0 = s.m.cpu(0);
      cpu0.run(
        "t",
        (function* (): Kfn<void> {
          yield 1;
          if (ask) pid = s.x86.pid_of(cpu0);
        })(),
      );
      s.sim.run();
      return { pid, next: s.sim.rng.int(0, 1e9) };
    };
    const a = pidOf(7, true);
    expect(pidOf(7, true)).toEqual(a);
    expect(a.pid).toBeGreaterThanOrEqual(300);
    expect(a.pid).toBeLessThan(32768);
    expect(pidOf(7, false).next).toBe(a.next);
    const pids = new Set([1, 2, 3, 4, 5].map((seed) => pidOf(seed, true).pid));
    expect(pids.size).toBeGreaterThan(1);
  });

  it("refuses the invlpgb backend without PCID, naming the option", () => {
    expect(() =>
      buildSystem({ profile: "v6.15", backend: "invlpgb", pcid: false, trace: false }),
    ).toThrow(/pcid.*global ASID/);
    expect(buildSystem({ profile: "v6.15", backend: "invlpgb", trace: false }).x86.invlpgb).toBe(
      true,
    );
    expect(buildSystem({ profile: "v6.15", backend: "native", trace: false }).x86.pcide).toBe(
      false,
    );
  });
});
