/**
 * Property tests of the page-table life cycle over random mmap / fault / munmap / madvise /
 * exec / exit sequences on one CPU. 10,000 cases (MMULAB_PROPERTY_RUNS overrides for local
 * experiments).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nativeBackend } from "../../src/arch/x86/index.js";
import {
  decodeEntry,
  do_execve,
  FrameState,
  mmput,
  sys_madvise_dontneed,
  sys_mmap,
  sys_munmap,
  sys_touch,
  tableLevels,
  walkChecked,
  type Kernel,
  type MmStruct,
} from "../../src/mm/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { makeKernel, V4_13, V4_14, V4_19, type TestKernel } from "../support/kernel.js";

const RUNS = Number(process.env.MMULAB_PROPERTY_RUNS ?? 10_000);
const GB = 2 ** 30;
const REGIONS = [GB, 2 * GB, 512 * GB + GB]; // same pud table, another pud slot, another pgd slot

type Op =
  | { op: "mmap"; region: number; page: number; pages: number; huge: boolean }
  | { op: "touch"; region: number; page: number }
  | { op: "munmap"; region: number; page: number; pages: number }
  | { op: "madvise"; region: number; page: number; pages: number }
  | { op: "exec" };

const region = fc.integer({ min: 0, max: REGIONS.length - 1 });
const page = fc.integer({ min: 0, max: 2047 }); // 8 MiB window: four pmd slots
const pages = fc.integer({ min: 1, max: 700 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("mmap" as const),
      region,
      page,
      pages,
      huge: fc.boolean(),
    }),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant("touch" as const), region, page }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("munmap" as const), region, page, pages }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("madvise" as const), region, page, pages }) },
  { weight: 1, arbitrary: fc.constant({ op: "exec" as const }) },
);

function addr(r: number, p: number): number {
  return REGIONS[r]! + p * 4096;
}

/** Every table reachable from the pgd, with the level it is reached at; checks counters too. */
function reachable(k: Kernel, mm: MmStruct): number[] {
  const out: number[] = [];
  const levels = tableLevels(k.levels);
  const counts = [0, 0, 0, 0, 0];
  const walk = (pfn: number, li: number) => {
    out.push(pfn);
    counts[li]!++;
    if (li === levels.length - 1) return;
    for (let i = 0; i < 512; i++) {
      const e = decodeEntry(k.pt.entry(pfn, i), levels[li]!);
      if (e.kind === "table") walk(e.pfn, li + 1);
    }
  };
  walk(mm.pgd, 0);
  expect(counts.slice(1, levels.length)).toEqual(
    k.levels === 5
      ? [mm.nr_p4ds, mm.nr_puds, mm.nr_pmds, mm.nr_ptes]
      : [mm.nr_puds, mm.nr_pmds, mm.nr_ptes],
  );
  return out;
}

function exec(t: TestKernel, gen: Kfn<unknown>): void {
  t.m.cpu(0).run("op", gen);
  t.sim.run();
}

describe("page-table life cycle over random syscall sequences", () => {
  it(`keeps every invariant (${RUNS} cases)`, () => {
    const profiles = [
      { profile: V4_13, backend: nativeBackend },
      { profile: V4_14, backend: nativeBackend },
      { profile: V4_19, backend: { ...nativeBackend, name: "test-pv", paravirtRemoveTable: true } },
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: profiles.length - 1 }),
        fc.constantFrom<4 | 5>(4, 5),
        fc.array(opArb, { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 0, max: 3 }),
        (pi, levels, ops, failures) => {
          const { profile, backend } = profiles[pi]!;
          const t = makeKernel({
            nrCpus: 1,
            profile,
            backend,
            levels,
            trace: false,
            history: true,
            rcuDelayNs: 10_000,
          });
          const { k, m } = t;
          const cpu = m.cpu(0);
          let mm = k.mm_alloc();
          t.x86.switch_mm(cpu, mm);
          // some batch-page allocations fail along the way
          k.alloc.failNextNowait(failures);
          const allMms: MmStruct[] = [mm];
          for (const o of ops) {
            switch (o.op) {
              case "mmap": {
                const len = o.huge ? 2 ** 21 : o.pages * 4096;
                const a = o.huge
                  ? REGIONS[o.region]! + (o.page % 4) * 2 ** 21
                  : addr(o.region, o.page);
                if (mm.vmas.some((v) => v.start < a + len && v.end > a)) break;
                exec(
                  t,
                  sys_mmap(k, cpu, mm, {
                    addr: a,
                    length: len,
                    pageSize: o.huge ? "2M" : "4K",
                    populate: o.huge,
                  }),
                );
                break;
              }
              case "touch": {
                const a = addr(o.region, o.page);
                if (mm.vmaAt(a)) exec(t, sys_touch(k, cpu, mm, a));
                break;
              }
              case "munmap": {
                const a = addr(o.region, o.page);
                const len = o.pages * 4096;
                const splitsHuge = mm.vmas.some(
                  (v) =>
                    v.hugetlb &&
                    v.start < a + len &&
                    v.end > a &&
                    (a % 2 ** 21 !== 0 || (a + len) % 2 ** 21 !== 0),
                );
                if (splitsHuge) break;
                exec(t, sys_munmap(k, cpu, mm, a, len));
                break;
              }
              case "madvise": {
                const a = addr(o.region, o.page);
                const len = o.pages * 4096;
                if (mm.vmas.some((v) => v.hugetlb && v.start < a + len && v.end > a)) break;
                exec(t, sys_madvise_dontneed(k, cpu, mm, a, len));
                break;
              }
              case "exec": {
                let next: MmStruct | null = null;
                exec(
                  t,
                  (function* () {
                    next = yield* do_execve(k, cpu, mm, { argPages: 2 });
                  })(),
                );
                mm = next!;
                allMms.push(mm);
                break;
              }
            }
            // no table reachable from a live pgd is ever freed (or pending free)
            for (const pfn of reachable(k, mm)) expect(k.alloc.stateOf(pfn)).toBe(FrameState.TABLE);
            // a lockless walk of any address finds no freed table
            for (const r of [0, 1, 2])
              for (const p of [0, 511, 1024, 2047]) walkChecked(k, 0, mm, addr(r, p), "check");
          }
          // exit: everything goes back (RCU callbacks included)
          t.x86.switch_mm(cpu, null);
          exec(t, mmput(k, cpu, mm));
          t.sim.run();
          for (const old of allMms) expect(old.dropped).toBe(true);
          expect(k.alloc.inUse).toBe(0);
          // every frame ever allocated was freed exactly once (a double free throws)
          expect(k.alloc.stats.frees).toBe(k.alloc.stats.allocs);
          expect(k.stats.pendingRcuTables).toBe(0);
          // the oracle saw no use-after-free on one CPU
          expect(k.oracle.reports).toHaveLength(0);
          expect(k.oracle.reads).toBeGreaterThan(0);
        },
      ),
      { numRuns: RUNS },
    );
  }, 600_000);
});
