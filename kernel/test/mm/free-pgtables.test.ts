import { describe, expect, it } from "vitest";
import {
  do_execve,
  FrameState,
  mmget,
  mmput,
  ptdump,
  sys_mmap,
  sys_munmap,
  sys_touch,
  walkChecked,
  type MmStruct,
} from "../../src/mm/index.js";
import { exportPageTables } from "../../src/views/pagetable.js";
import { makeKernel, runOn, V4_13, type TestKernel } from "../support/kernel.js";

const MB = 2 ** 20;
const GB = 2 ** 30;

function setup(levels: 4 | 5 = 4): TestKernel & { mm: MmStruct } {
  const t = makeKernel({ nrCpus: 1, profile: V4_13, levels });
  const mm = t.k.mm_alloc();
  t.x86.switch_mm(t.m.cpu(0), mm);
  return { ...t, mm };
}

function map(
  t: TestKernel & { mm: MmStruct },
  addr: number,
  length: number,
  touch: number[] = [addr],
): void {
  runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), t.mm, { addr, length }));
  for (const a of touch) runOn(t, 0, sys_touch(t.k, t.m.cpu(0), t.mm, a));
}

function unmap(t: TestKernel & { mm: MmStruct }, addr: number, length: number): void {
  runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), t.mm, addr, length));
}

function tables(mm: MmStruct) {
  return { pud: mm.nr_puds, pmd: mm.nr_pmds, pte: mm.nr_ptes };
}

describe("free_pgtables: which tables go (floor/ceiling rules, v4.14 mm/memory.c)", () => {
  it("a lone mapping takes its pte, pmd and pud tables with it; the pgd stays", () => {
    const t = setup();
    map(t, 4 * MB, 4096);
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    unmap(t, 4 * MB, 4096);
    expect(tables(t.mm)).toEqual({ pud: 0, pmd: 0, pte: 0 });
    expect(t.k.alloc.stateOf(t.mm.pgd)).toBe(FrameState.TABLE);
    expect(t.k.stats.tablesFreedDirect).toBe(3);
  });

  it("a pte table shared with the next VMA survives (ceiling rounds down to the PMD)", () => {
    const t = setup();
    map(t, 4 * MB, 4096); // A: [0x400000, 0x401000)
    map(t, 4 * MB + 0x2000, 4096); // B: [0x402000, 0x403000), same pte table
    unmap(t, 4 * MB, 4096); // floor 0, ceiling 0x402000 → end−1 > ceiling−1, end −= PMD_SIZE, addr > end−1
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    expect(walkChecked(t.k, 0, t.mm, 4 * MB + 0x2000).pfn).toBeGreaterThanOrEqual(0);
    unmap(t, 4 * MB + 0x2000, 4096); // now alone: everything goes
    expect(tables(t.mm)).toEqual({ pud: 0, pmd: 0, pte: 0 });
  });

  it("a pmd table shared with the previous VMA survives (floor), its pte table does not", () => {
    const t = setup();
    map(t, 4 * MB, 4096); // A in pmd slot 2
    map(t, 6 * MB, 4096); // B in pmd slot 3, same pmd table
    unmap(t, 6 * MB, 4096); // floor = A.end = 0x401000: start & PUD_MASK = 0 < floor → pmd kept
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    expect(t.k.stats.tablesFreedDirect).toBe(1);
  });

  it("partial munmap splits the VMA and frees only the tables wholly inside the hole", () => {
    const t = setup();
    map(t, 4 * MB, 4 * MB, [4 * MB, 6 * MB]); // [0x400000, 0x800000): two pte tables
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 2 });
    unmap(t, 6 * MB, 2 * MB);
    expect(t.mm.vmas.map((v) => [v.start, v.end])).toEqual([[4 * MB, 6 * MB]]);
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    // a hole in the middle of one pte table frees nothing but the pages
    map(t, 8 * MB, 2 * MB, [8 * MB, 8 * MB + 0x10000, 8 * MB + 0x20000]);
    const before = t.k.stats.tablesFreedDirect;
    unmap(t, 8 * MB + 0x10000, 0x1000);
    expect(t.k.stats.tablesFreedDirect).toBe(before);
    expect(t.mm.vmas.length).toBe(3);
  });

  it("VMAs within PMD_SIZE of each other are torn down in one free_pgd_range", () => {
    const t = setup();
    // two mappings 1 MiB apart in neighbouring pmd slots, unmapped together
    map(t, 2 * MB, 4096);
    map(t, 3 * MB + 0x200000 - 0x100000, 4096); // 0x400000 - 0x100000 … lands in the next slot
    unmap(t, 2 * MB, 4 * MB);
    expect(tables(t.mm)).toEqual({ pud: 0, pmd: 0, pte: 0 });
  });

  it("a mapping in another 1 GiB region keeps the shared pud table", () => {
    const t = setup();
    map(t, 1 * GB, 4096);
    map(t, 3 * GB, 4096);
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 2, pte: 2 });
    unmap(t, 3 * GB, 4096); // floor = 1 GiB + 4 KiB: start & P4D_MASK = 0 < floor → pud kept
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 1 });
  });

  it("5-level tables free their p4d too", () => {
    const t = setup(5);
    map(t, 4 * MB, 4096);
    expect(t.mm.nr_p4ds).toBe(1);
    unmap(t, 4 * MB, 4096);
    expect(t.mm.nr_p4ds + t.mm.nrTables).toBe(0);
  });

  it("huge leaves (2M, 1G) need no pte table and are unmapped whole", () => {
    const t = setup();
    runOn(
      t,
      0,
      sys_mmap(t.k, t.m.cpu(0), t.mm, {
        addr: 2 * GB,
        length: 4 * MB,
        pageSize: "2M",
        populate: true,
      }),
    );
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 0 });
    expect(t.mm.rss).toBe(1024);
    runOn(
      t,
      0,
      sys_mmap(t.k, t.m.cpu(0), t.mm, { addr: 4 * GB, length: GB, pageSize: "1G", populate: true }),
    );
    expect(tables(t.mm)).toEqual({ pud: 1, pmd: 1, pte: 0 });
    expect(() => unmap(t, 2 * GB + 4096, 4096)).toThrow(/aligned to 2M/);
    unmap(t, 2 * GB, 2 * MB);
    expect(t.mm.rss).toBe(512 + 512 * 512);
    unmap(t, 4 * GB, GB);
    unmap(t, 2 * GB + 2 * MB, 2 * MB);
    expect(tables(t.mm)).toEqual({ pud: 0, pmd: 0, pte: 0 });
    expect(t.mm.rss).toBe(0);
  });
});

describe("exit, exec and views", () => {
  it("exit_mmap frees everything and mmdrop frees the pgd: every frame back", () => {
    const t = setup();
    map(t, 4 * MB, 8 * MB, [4 * MB, 9 * MB, 11 * MB]);
    map(t, 100 * GB, 4096);
    t.x86.switch_mm(t.m.cpu(0), null);
    runOn(t, 0, mmput(t.k, t.m.cpu(0), t.mm));
    t.sim.run();
    expect(t.mm.exited && t.mm.dropped).toBe(true);
    expect(t.k.alloc.inUse).toBe(0);
  });

  it("exec moves the stack down and frees the old range's tables through an mmu_gather", () => {
    const t = setup();
    const old = t.mm;
    const mm = runOn(t, 0, do_execve(t.k, t.m.cpu(0), old, { argPages: 3, stackShift: 3 * GB }));
    expect(old.dropped).toBe(true);
    expect(mm.vmas).toHaveLength(1);
    const stack = mm.vmas[0]!;
    expect(stack.end - stack.start).toBe(3 * 4096);
    // the three argument pages moved with the stack
    for (let a = stack.start; a < stack.end; a += 4096)
      expect(walkChecked(t.k, 0, mm, a).pfn).toBeGreaterThanOrEqual(0);
    // old pte and pmd tables at the top were freed; the pud table is shared (same 512 GiB)
    expect(tables(mm)).toEqual({ pud: 1, pmd: 1, pte: 1 });
    expect(t.k.stats.tablesFreedDirect).toBeGreaterThanOrEqual(2);
  });

  it("ptdump and the pagetable+json export agree with the tree", () => {
    const t = setup();
    map(t, 4 * MB, 4 * MB, [4 * MB, 4 * MB + 4096, 6 * MB]);
    const text = ptdump(t.k, t.mm);
    expect(text).toContain("0x0000000000400000-0x0000000000402000     8K  pte");
    expect(text).toContain("0x0000000000600000-0x0000000000601000     4K  pte");
    expect(text).toContain("pud 1, pmd 1, pte 2");
    const p = exportPageTables(t.k, t.mm, { includePages: true });
    expect(p.version).toBe(1);
    const count = (n: { children?: readonly unknown[] }): number =>
      1 +
      (n.children ?? []).reduce<number>(
        (s, c) => s + count(c as { children?: readonly unknown[] }),
        0,
      );
    expect(count(p.root)).toBe(1 + 1 + 1 + 2 + 3);
    unmap(t, 6 * MB, 2 * MB);
    const after = exportPageTables(t.k, t.mm);
    expect(after.detached?.map((d) => [d.level, d.state])).toEqual([["pte", "freed"]]);
    mmget(t.mm);
  });
});
