/**
 * Views of an mm's page tables: a text dump in the style of the kernel's ptdump
 * (arch/x86/mm/dump_pagetables.c: one line per run of like mappings, with its size and level)
 * and the `application/vnd.mmulab.pagetable+json` tree for the notebook renderer.
 */
import type { PageState, PageTableNode, PageTablePayload } from "../contract/mime.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
import { FrameState } from "./page-alloc.js";
import { decodeEntry, levelShift, PAGE_SIZE, PTRS_PER_TABLE, tableLevels } from "./pgtable.js";

function hex(n: number): string {
  return `0x${n.toString(16).padStart(16, "0")}`;
}

function human(bytes: number): string {
  const units: [number, string][] = [
    [2 ** 40, "T"],
    [2 ** 30, "G"],
    [2 ** 20, "M"],
    [2 ** 10, "K"],
  ];
  for (const [u, s] of units) if (bytes >= u && bytes % u === 0) return `${bytes / u}${s}`;
  return `${bytes}B`;
}

/**
 * ptdump-style text: each run of contiguous leaf mappings of the same level as one line, then a
 * count of tables per level.
 */
export function ptdump(k: Kernel, mm: MmStruct): string {
  const lines: string[] = [
    `---[ mm ${mm.id}: ${mm.levels}-level page tables, pgd frame ${mm.pgd} ]---`,
  ];
  const levels = tableLevels(k.levels);
  const counts: Record<string, number> = { pgd: 1 };
  let run: { start: number; end: number; level: string } | null = null;
  const flush = () => {
    if (run)
      lines.push(
        `${hex(run.start)}-${hex(run.end)} ${human(run.end - run.start).padStart(6)}  ${run.level.padEnd(3)}  RW USR`,
      );
    run = null;
  };
  const emit = (start: number, size: number, level: string) => {
    if (run && run.end === start && run.level === level) run.end += size;
    else {
      flush();
      run = { start, end: start + size, level };
    }
  };
  const walk = (pfn: number, li: number, base: number): void => {
    const level = levels[li]!;
    const span = 2 ** levelShift(level, k.levels);
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const e = decodeEntry(k.pt.entry(pfn, i), level);
      if (e.kind === "none") continue;
      const va = base + i * span;
      if (e.kind === "leaf")
        emit(va, level === "pte" ? PAGE_SIZE : span, level === "pte" ? "pte" : level);
      else {
        const child = levels[li + 1]!;
        counts[child] = (counts[child] ?? 0) + 1;
        walk(e.pfn, li + 1, va);
      }
    }
  };
  walk(mm.pgd, 0, 0);
  flush();
  lines.push(
    `tables: ${levels.map((l) => `${l} ${counts[l] ?? 0}`).join(", ")}; rss ${mm.rss} pages`,
  );
  return lines.join("\n");
}

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
