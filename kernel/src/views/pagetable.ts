/**
 * An mm's page tables as the `application/vnd.mmulab.pagetable+json` payload: the tree from the
 * pgd down, each table with its entry count, frame history and the CPUs whose paging-structure
 * caches point at it, plus the tables recently unlinked from the mm and what became of them.
 * mm/ptdump.ts is the text dump of the same tree.
 */
import type { PageState, PageTableNode, PageTablePayload } from "../contract/mime.js";
import type { Kernel } from "../mm/kernel.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { FrameState } from "../mm/page-alloc.js";
import { decodeEntry, levelShift, PTRS_PER_TABLE, tableLevels } from "../mm/pgtable.js";

export interface ExportOptions {
  /** Include data pages as leaves (default false: tables only, with entry counts). */
  readonly includePages?: boolean;
  /** Frames a walker visited, to highlight. */
  readonly walkerPath?: readonly number[];
  readonly title?: string;
  /** Stop adding nodes past this many (the renderer copes with 100k, JSON size matters too). */
  readonly maxNodes?: number;
}

/** State of a frame that was part of this mm's tree, as the renderer names it. */
export function pageStateOf(k: Kernel, pfn: number, gen: number): PageState {
  if (k.alloc.generation(pfn) !== gen) return "reused";
  switch (k.alloc.stateOf(pfn)) {
    case FrameState.TABLE:
      return "live";
    case FrameState.UNLINKED:
      return "unlinked";
    case FrameState.PENDING_RCU:
      return "pending-rcu";
    case FrameState.FREE:
      return "freed";
    default:
      return "reused";
  }
}

/** CPUs whose paging-structure caches point at table frame `pfn` (hw/tlb-cache.ts; empty while
 * the hardware model is off, as nothing is cached then). */
function cachedBy(k: Kernel, pfn: number): number[] {
  const out: number[] = [];
  for (const c of k.machine.cpus)
    if (c.tlb.pscSize > 0 && c.tlb.pscPointingAt(pfn).length > 0) out.push(c.id);
  return out;
}

/** The mm's tree in the pagetable+json contract (version 1). */
export function exportPageTables(
  k: Kernel,
  mm: MmStruct,
  opts: ExportOptions = {},
): PageTablePayload {
  const levels = tableLevels(k.levels);
  const maxNodes = opts.maxNodes ?? 200_000;
  let nodes = 0;
  const build = (pfn: number, li: number, index: number, va: number): PageTableNode => {
    nodes++;
    const level = levels[li]!;
    const span = 2 ** levelShift(level, k.levels);
    const children: PageTableNode[] = [];
    for (let i = 0; i < PTRS_PER_TABLE && nodes < maxNodes; i++) {
      const e = decodeEntry(k.pt.entry(pfn, i), level);
      if (e.kind === "none") continue;
      const cva = va + i * span;
      if (e.kind === "table") children.push(build(e.pfn, li + 1, i, cva));
      else if (opts.includePages) {
        nodes++;
        children.push({
          level: "page",
          index: i,
          frame: e.pfn,
          va: cva,
          state: "live",
          entries: 0,
          ...(e.huge ? { huge: true } : {}),
        });
      }
    }
    const history = k.alloc.history(pfn);
    const cpus = cachedBy(k, pfn);
    return {
      level,
      index,
      frame: pfn,
      va,
      state: "live",
      entries: k.pt.presentCount(pfn),
      ...(history.length > 0 ? { history: [...history] } : {}),
      ...(cpus.length > 0 ? { cachedBy: cpus } : {}),
      ...(children.length > 0 ? { children } : {}),
    };
  };
  const root = build(mm.pgd, 0, 0, 0);
  const detached: PageTableNode[] = mm.detached.map((d) => {
    // a cached pointer to a detached table is a hazard only while it is the same table
    const cpus =
      k.alloc.generation(d.pfn) === d.gen
        ? cachedBy(k, d.pfn).filter((c) =>
            k.machine.cpus[c]!.tlb.pscPointingAt(d.pfn).some((e) => e.gen === d.gen),
          )
        : [];
    return {
      level: d.level,
      index: 0,
      frame: d.pfn,
      va: d.va,
      state: pageStateOf(k, d.pfn, d.gen),
      entries: 0,
      history: [...k.alloc.history(d.pfn)],
      ...(cpus.length > 0 ? { cachedBy: cpus } : {}),
    };
  });
  return {
    version: 1,
    ...(opts.title !== undefined ? { title: opts.title } : {}),
    mm: mm.id,
    levels: k.levels,
    root,
    ...(detached.length > 0 ? { detached } : {}),
    ...(opts.walkerPath ? { walkerPath: [...opts.walkerPath] } : {}),
  };
}
