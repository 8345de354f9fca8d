/**
 * A checked software walk of one address: every table read goes through the use-after-free
 * oracle with the pointer's allocation generation, as a lockless walker (gup_fast) reads them.
 * Untimed: gup/ builds the timed, IRQ-off walker from `walkStep`.
 */
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
import type { TableLevel } from "./page-alloc.js";
import { decodeEntry, tableIndex, tableLevels, type TablePtr } from "./pgtable.js";

export interface WalkStep {
  /** Pointer to the next table, a mapped page, or the end of the walk. */
  readonly next:
    | { readonly kind: "table"; readonly ptr: TablePtr; readonly level: TableLevel }
    | { readonly kind: "page"; readonly pfn: number; readonly gen: number; readonly huge: boolean }
    | { readonly kind: "none" };
  /** False if this read was a use-after-free. */
  readonly safe: boolean;
}

/** Reads the entry for `addr` in the table `ptr` (READ_ONCE(*pXdp)), checked by the oracle. */
export function walkStep(
  k: Kernel,
  cpu: number,
  walker: string,
  ptr: TablePtr,
  level: TableLevel,
  addr: number,
): WalkStep {
  const safe = k.oracle.checkRead(cpu, walker, ptr, addr, level);
  const e = decodeEntry(k.pt.entry(ptr.pfn, tableIndex(addr, level, k.levels)), level);
  if (e.kind === "none") return { next: { kind: "none" }, safe };
  if (e.kind === "leaf")
    return {
      next: { kind: "page", pfn: e.pfn, gen: k.alloc.generation(e.pfn), huge: e.huge },
      safe,
    };
  const levels = tableLevels(k.levels);
  const child = levels[levels.indexOf(level) + 1]!;
  return {
    next: { kind: "table", ptr: { pfn: e.pfn, gen: k.alloc.generation(e.pfn) }, level: child },
    safe,
  };
}

/** The root pointer of an mm (pgd_offset). */
export function pgdPtr(k: Kernel, mm: MmStruct): TablePtr {
  return { pfn: mm.pgd, gen: k.alloc.generation(mm.pgd) };
}

/** Walks `addr` to its page; returns the data frame or −1, and the frames visited. */
export function walkChecked(
  k: Kernel,
  cpu: number,
  mm: MmStruct,
  addr: number,
  walker = "walk",
): { pfn: number; path: number[]; safe: boolean } {
  let ptr = pgdPtr(k, mm);
  let level: TableLevel = "pgd";
  const path: number[] = [];
  let safe = true;
  for (;;) {
    path.push(ptr.pfn);
    const s = walkStep(k, cpu, walker, ptr, level, addr);
    safe &&= s.safe;
    if (s.next.kind === "none") return { pfn: -1, path, safe };
    if (s.next.kind === "page") return { pfn: s.next.pfn, path, safe };
    ptr = s.next.ptr;
    level = s.next.level;
  }
}
