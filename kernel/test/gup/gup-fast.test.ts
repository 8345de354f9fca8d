import { describe, expect, it } from "vitest";
import {
  __get_user_pages_fast,
  get_user_pages_fast,
  use_mm,
  unuse_mm,
} from "../../src/gup/index.js";
import { mmget, sys_mmap, sys_munmap } from "../../src/mm/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { xenPvBackend } from "../../src/arch/x86/index.js";
import { makeKernel, runOn, V4_13, V4_14 } from "../support/kernel.js";

const BUF = 0x7f00_0000_0000;

describe("gup_fast", () => {
  it("pins mapped pages with IRQs off and sends the rest to the slow path", () => {
    const t = makeKernel({ nrCpus: 1 });
    const mm = t.k.mm_alloc();
    t.x86.switch_mm(t.m.cpu(0), mm);
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr: BUF, length: 32 * 4096 }));
    const first = runOn(t, 0, get_user_pages_fast(t.k, t.m.cpu(0), mm, BUF, 32));
    expect(first).toMatchObject({ fast: 0, slow: 32, uaf: 0 });
    const second = runOn(t, 0, get_user_pages_fast(t.k, t.m.cpu(0), mm, BUF, 32));
    expect(second).toMatchObject({ fast: 32, slow: 0 });
    expect(second.path).toHaveLength(4); // pgd, pud, pmd, pte
    // __get_user_pages_fast never faults
    expect(runOn(t, 0, __get_user_pages_fast(t.k, t.m.cpu(0), mm, BUF + 32 * 4096, 4)).fast).toBe(
      0,
    );
    // the IRQ-off span covers the walk
    const walk = t.sim.trace.events.filter((e) => e.name === "mmulab:gup_fast");
    const off = t.sim.trace.events.filter((e) => e.name === "mmulab:irqs_off");
    for (const w of walk)
      expect(off.some((o) => o.ts <= w.ts && o.ts + o.dur! >= w.ts + w.dur!)).toBe(true);
  });

  it("reads a freed pte table when stalled across a hypercall-flushed munmap (v4.13), not with RCU (v4.14)", () => {
    for (const [profile, expectUaf] of [
      [V4_13, true],
      [V4_14, false],
    ] as const) {
      const t = makeKernel({ nrCpus: 2, profile, backend: xenPvBackend, rcuDelayNs: 3_000_000 });
      const { k, m } = t;
      const mm = k.mm_alloc();
      mmget(mm);
      for (const c of m.cpus) t.x86.switch_mm(c, mm);
      runOn(t, 0, sys_mmap(k, m.cpu(0), mm, { addr: BUF, length: 64 * 4096, populate: true }));
      const t0 = t.sim.now;
      // cpu1 walks; a VM exit holds it just before it reads the 3rd pte: the walk reads three
      // upper levels (5 ns each), then 25 ns a page (5 ns read, 20 ns pin); page 2's read is at 70
      m.cpu(1).run("walker", __get_user_pages_fast(k, m.cpu(1), mm, BUF, 64));
      m.stallFor(m.cpu(1), 3 * 5 + 2 * 25 + 2, 200_000);
      m.cpu(0).run(
        "munmap",
        (function* (): Kfn<void> {
          yield 1_000;
          yield* sys_munmap(k, m.cpu(0), mm, BUF, 64 * 4096);
        })(),
      );
      t.sim.run();
      expect(t.sim.now).toBeGreaterThan(t0 + 200_000);
      expect(k.oracle.reports.length > 0, `uaf with ${profile.x86.tableFreeVia}`).toBe(expectUaf);
      if (expectUaf)
        expect(k.oracle.reports[0]).toMatchObject({ cpu: 1, level: "pte", kind: "freed" });
    }
  });

  it("use_mm borrows the mm without becoming a user; unuse_mm drops the struct reference", () => {
    const t = makeKernel({ nrCpus: 2 });
    const mm = t.k.mm_alloc();
    use_mm(t.k, t.m.cpu(1), mm);
    expect(mm.mm_users).toBe(1);
    expect(mm.mm_count).toBe(2);
    expect(mm.cpumask.has(1)).toBe(true);
    unuse_mm(t.k, t.m.cpu(1), mm);
    expect(mm.mm_count).toBe(1);
    expect(mm.cpumask.has(1)).toBe(false);
  });

  it("rejects bad ranges by name", () => {
    const t = makeKernel({ nrCpus: 1 });
    const mm = t.k.mm_alloc();
    expect(() => runOn(t, 0, get_user_pages_fast(t.k, t.m.cpu(0), mm, BUF, 0))).toThrow(
      /nrPages = 0/,
    );
  });
});
