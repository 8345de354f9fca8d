import { describe, expect, it } from "vitest";
import {
  Kernel,
  MmapOverlapError,
  sys_mmap,
  sys_munmap,
  sys_touch,
  SegvError,
  type MmStruct,
} from "../../src/mm/index.js";
import { Machine } from "../../src/hw/index.js";
import { ParameterError, Simulation, UnknownNameError } from "../../src/sim/index.js";
import { makeKernel, runOn, type TestKernel } from "../support/kernel.js";

function setup(): TestKernel & { mm: MmStruct } {
  const t = makeKernel({ nrCpus: 1 });
  const mm = t.k.mm_alloc();
  t.x86.switch_mm(t.m.cpu(0), mm);
  runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr: 0x400000, length: 8 * 4096, populate: true }));
  return { ...t, mm };
}

/** A fingerprint of everything a bad call could have changed. */
function state(t: TestKernel & { mm: MmStruct }): string {
  return JSON.stringify({
    vmas: t.mm.vmas.map((v) => [v.start, v.end]),
    rss: t.mm.rss,
    tables: t.mm.nrTables,
    alloc: t.k.alloc.stats,
    stats: t.k.stats,
  });
}

describe("bad input to the mm layer: typed errors, nothing changed", () => {
  it("unaligned and out-of-range addresses", () => {
    const t = setup();
    const before = state(t);
    const cpu = t.m.cpu(0);
    expect(() => runOn(t, 0, sys_munmap(t.k, cpu, t.mm, 0x400001, 4096))).toThrow(ParameterError);
    expect(() => runOn(t, 0, sys_munmap(t.k, cpu, t.mm, 0x400001, 4096))).toThrow(
      /addr = 4194305 .*multiple of 4096/,
    );
    expect(() => runOn(t, 0, sys_munmap(t.k, cpu, t.mm, 2 ** 48, 4096))).toThrow(/TASK_SIZE/);
    expect(() => runOn(t, 0, sys_munmap(t.k, cpu, t.mm, 0x400000, 0))).toThrow(/length = 0/);
    expect(() => runOn(t, 0, sys_mmap(t.k, cpu, t.mm, { addr: 0x1000, length: 4096 }))).toThrow(
      /mmap_min_addr/,
    );
    expect(() =>
      runOn(t, 0, sys_mmap(t.k, cpu, t.mm, { addr: 0x600000, length: 4096, pageSize: "2M" })),
    ).not.toThrow();
    expect(() =>
      runOn(t, 0, sys_mmap(t.k, cpu, t.mm, { addr: 0x900000, length: 4096, pageSize: "2M" })),
    ).toThrow(/multiple of 2097152/);
    expect(() =>
      runOn(t, 0, sys_mmap(t.k, cpu, t.mm, { length: 4096, pageSize: "3M" as never })),
    ).toThrow(/pageSize = "3M"/);
    runOn(t, 0, sys_munmap(t.k, cpu, t.mm, 0x600000, 2 ** 21));
    // the accepted 2M mmap and its munmap aside, nothing changed
    const vmas = (x: string) => (JSON.parse(x) as { vmas: number[][] }).vmas;
    expect(vmas(state(t))).toEqual(vmas(before));
  });

  it('an overlapping mmap without MAP_FIXED is refused; with fixed: "replace" it replaces', () => {
    const t = setup();
    const before = state(t);
    expect(() =>
      runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), t.mm, { addr: 0x402000, length: 4096 })),
    ).toThrow(MmapOverlapError);
    expect(state(t)).toBe(before);
    runOn(
      t,
      0,
      sys_mmap(t.k, t.m.cpu(0), t.mm, { addr: 0x402000, length: 4096, fixed: "replace" }),
    );
    expect(t.mm.vmas.map((v) => [v.start, v.end])).toEqual([
      [0x400000, 0x402000],
      [0x402000, 0x403000],
      [0x403000, 0x408000],
    ]);
    expect(t.mm.rss).toBe(7); // the replaced page was unmapped
  });

  it("munmap of unmapped space is a no-op, as in Linux", () => {
    const t = setup();
    const before = state(t);
    runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), t.mm, 0x10000000, 16 * 4096));
    expect(state(t)).toBe(before);
  });

  it("a fault outside any VMA is SIGSEGV; an unknown mm id names the known ones", () => {
    const t = setup();
    expect(() => runOn(t, 0, sys_touch(t.k, t.m.cpu(0), t.mm, 0x20000000))).toThrow(SegvError);
    expect(() => t.k.mm(42)).toThrow(UnknownNameError);
    expect(() => t.k.mm(42)).toThrow(/mm = "42" .*one of "1"/);
    expect(() => t.k.mm(0)).toThrow(/mm = 0/);
  });

  it("invalid behaviour combinations are refused like Kconfig would", () => {
    const m = new Machine(new Simulation(), { nrCpus: 1 });
    const base = {
      rcuTableFree: true,
      mmUsersShortcut: false,
      tableInvalidate: true,
      tableFlushIn: "tlbonly" as const,
      freedTables: false,
      ptReclaimFallback: false,
    };
    expect(() => new Kernel(m, { behaviour: base })).toThrow(/tableInvalidate = true .*tlbonly/);
    expect(
      () => new Kernel(m, { behaviour: { ...base, rcuTableFree: false, tableFlushIn: "free" } }),
    ).toThrow(/rcuTableFree = false/);
    expect(() => new Kernel(m, { levels: 3 as never })).toThrow(/levels = 3 .*4 or 5/);
  });
});
