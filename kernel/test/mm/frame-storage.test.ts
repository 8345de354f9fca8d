/**
 * Frame and table storage: the allocator keeps its per-frame arrays in one buffer that it
 * regrows, and the table store carves tables out of shared slabs. Checked against a plain model
 * over random allocate / map / clear / free sequences long enough to regrow both several times.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameState, PageAllocator, type TableLevel } from "../../src/mm/page-alloc.js";
import { DETACHED_KEPT, MmStruct } from "../../src/mm/mm-struct.js";
import { PageTableStore, PTRS_PER_TABLE } from "../../src/mm/pgtable.js";
import { Simulation } from "../../src/sim/simulation.js";

interface ModelFrame {
  kind: "table" | "data" | "free";
  level: TableLevel | null;
  owner: number;
  gen: number;
  /** Table entries by index (raw values as the store returns them). */
  entries: Map<number, number>;
}

const LEVELS: readonly TableLevel[] = ["pte", "pmd", "pud", "p4d"];
const STATE_OF = { table: FrameState.TABLE, data: FrameState.DATA, free: FrameState.FREE } as const;

// Allocations outnumber frees, so a run regrows the allocator's arrays (128, 256, 512 frames)
// and takes tables from several slabs.
const op = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("table" as const), level: fc.nat(3), mm: fc.nat(5) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("data" as const), mm: fc.nat(5) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("map" as const),
      pick: fc.nat(),
      index: fc.nat(PTRS_PER_TABLE - 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
);

describe("frame and table storage", () => {
  it("keeps every frame's state, level, owner, generation and table entries apart", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 400, maxLength: 900 }), (ops) => {
        const alloc = new PageAllocator(new Simulation({ trace: false }), { history: false });
        const pt = new PageTableStore(alloc);
        const model = new Map<number, ModelFrame>();
        const live = (kind: "table" | "data") =>
          [...model].filter(([, f]) => f.kind === kind).map(([pfn]) => pfn);
        let dataValue = 1000;
        for (const o of ops) {
          if (o.kind === "table") {
            const level = LEVELS[o.level]!;
            const pfn = pt.allocTable(level, o.mm);
            const gen = (model.get(pfn)?.gen ?? 0) + 1;
            model.set(pfn, { kind: "table", level, owner: o.mm, gen, entries: new Map() });
          } else if (o.kind === "data") {
            const pfn = pt.allocData(o.mm);
            const gen = (model.get(pfn)?.gen ?? 0) + 1;
            model.set(pfn, { kind: "data", level: null, owner: o.mm, gen, entries: new Map() });
          } else if (o.kind === "map") {
            const tables = live("table");
            if (tables.length === 0) continue;
            const pfn = tables[o.pick % tables.length]!;
            const data = dataValue++;
            pt.setLeaf(pfn, o.index, data);
            model.get(pfn)!.entries.set(o.index, data + 1);
          } else if (o.kind === "clear") {
            const tables = live("table").filter((p) => model.get(p)!.entries.size > 0);
            if (tables.length === 0) continue;
            const pfn = tables[o.pick % tables.length]!;
            const entries = model.get(pfn)!.entries;
            const index = [...entries.keys()][o.pick % entries.size]!;
            expect(pt.clear(pfn, index)).toBe(entries.get(index));
            entries.delete(index);
          } else {
            // teardown frees a table only once it is empty
            const frames = [...live("data"), ...live("table")].filter(
              (p) => model.get(p)!.entries.size === 0,
            );
            if (frames.length === 0) continue;
            const pfn = frames[o.pick % frames.length]!;
            alloc.freePage(pfn);
            model.get(pfn)!.kind = "free";
          }
        }
        for (const [pfn, f] of model) {
          expect(alloc.stateOf(pfn)).toBe(STATE_OF[f.kind]);
          expect(alloc.generation(pfn)).toBe(f.gen);
          if (f.kind === "free") continue;
          expect(alloc.ownerOf(pfn)).toBe(f.owner);
          expect(alloc.levelOf(pfn)).toBe(f.level);
          if (f.kind !== "table") continue;
          expect(pt.presentCount(pfn)).toBe(f.entries.size);
          const entries = Array.from({ length: PTRS_PER_TABLE }, (_, i) => pt.entry(pfn, i));
          expect(entries).toEqual(
            Array.from({ length: PTRS_PER_TABLE }, (_, i) => f.entries.get(i) ?? 0),
          );
        }
        // every freed frame, and only those, is on the free list
        const freed = [...model].filter(([, f]) => f.kind === "free").map(([pfn]) => pfn);
        expect(new Set(alloc.freeList())).toEqual(new Set(freed));
      }),
      { numRuns: 40 },
    );
  });
});

describe("an mm's ring of detached tables", () => {
  it("keeps the last DETACHED_KEPT tables, oldest first, as they were remembered", () => {
    const levels: readonly TableLevel[] = ["pte", "pmd", "pud", "p4d", "pgd"];
    const remember = (mm: MmStruct, n: number) => {
      const all = Array.from({ length: n }, (_, i) => ({
        pfn: 100 + i,
        gen: i % 7,
        level: levels[i % levels.length]!,
        va: 2 ** 40 + i * 2 ** 21,
      }));
      for (const d of all) mm.rememberDetached(d.pfn, d.gen, d.level, d.va);
      return all;
    };
    for (const n of [0, 5, DETACHED_KEPT, DETACHED_KEPT + 1, 2 * DETACHED_KEPT + 44]) {
      const mm = new MmStruct(1, 4, 0, 2 ** 46);
      const all = remember(mm, n);
      expect(mm.detached).toEqual(all.slice(Math.max(0, n - DETACHED_KEPT)));
    }
  });
});
