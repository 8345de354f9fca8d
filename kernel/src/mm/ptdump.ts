/**
 * A text dump of an mm's page tables in the style of the kernel's ptdump
 * (arch/x86/mm/dump_pagetables.c: one line per run of like mappings, with its size and level).
 * The tree for the notebook renderer is built in views/pagetable.ts.
 */
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
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
