/**
 * Page-table operations: faults with tables really built (target ≥ 1 M/s), unmapping
 * throughput, and the model's memory per mapped page.
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { installX86 } from "../../arch/x86/pgtable.js";
import { Machine } from "../../hw/machine.js";
import { Kernel } from "../../mm/kernel.js";
import { faultIn } from "../../mm/memory.js";
import { sys_mmap, sys_munmap } from "../../mm/mmap.js";
import { Simulation } from "../../sim/simulation.js";
import type { Kfn } from "../../sim/process.js";
import type { Benchmark } from "../types.js";

const PAGES = 1 << 20; // 4 GiB of 4 KiB pages

function setup() {
  const sim = new Simulation({ trace: false });
  const m = new Machine(sim, { nrCpus: 1 });
  const k = new Kernel(m, { allocator: { history: false } });
  installX86(k, { tableFreeVia: "tlb_remove_page", skipLazyUnlessFreedTables: false });
  const mm = k.mm_alloc();
  const cpu = m.cpu(0);
  let start = 0;
  cpu.run(
    "mmap",
    (function* (): Kfn<void> {
      start = yield* sys_mmap(k, cpu, mm, { addr: 2 ** 32, length: PAGES * 4096 });
    })(),
  );
  sim.run();
  return { sim, m, k, mm, cpu, start };
}

/** Faults PAGES pages in, one at a time, building every table on the way. */
function faultsPerSecond(): number {
  const { k, mm, start } = setup();
  const t0 = performance.now();
  for (let i = 0; i < PAGES; i++) faultIn(k, mm, start + i * 4096);
  const s = (performance.now() - t0) / 1000;
  if (mm.rss !== PAGES) throw new Error(`fault bench mapped ${mm.rss} pages, expected ${PAGES}`);
  return PAGES / s;
}

/** munmap of a populated 4 GiB region through mmu_gather: pages unmapped and freed per second. */
function unmapPagesPerSecond(): number {
  const { sim, k, mm, cpu, start } = setup();
  for (let i = 0; i < PAGES; i++) faultIn(k, mm, start + i * 4096);
  cpu.run("munmap", sys_munmap(k, cpu, mm, start, PAGES * 4096));
  const t0 = performance.now();
  sim.run();
  const s = (performance.now() - t0) / 1000;
  if (mm.rss !== 0) throw new Error("unmap bench left pages mapped");
  return PAGES / s;
}

/** Heap bytes per mapped 4 KiB page (tables, frame arrays, everything) after faulting PAGES. */
/** A full garbage collection, without needing node --expose-gc (a figure of live memory is
 * meaningless while dead objects of earlier benchmarks may or may not be collected meanwhile). */
function collector(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Collects, then lets V8 finish freeing array-buffer backing stores (it sweeps them
 * concurrently, so a figure read straight after gc() can still include dead buffers). */
async function settle(gc: () => void): Promise<NodeJS.MemoryUsage> {
  gc();
  await new Promise((r) => setTimeout(r, 100));
  gc();
  return process.memoryUsage();
}

async function bytesPerMappedPage(): Promise<number> {
  const gc = collector();
  const before = await settle(gc);
  const { k, mm, start } = setup();
  for (let i = 0; i < PAGES; i++) faultIn(k, mm, start + i * 4096);
  const after = await settle(gc);
  const used = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  // (reading k here also keeps the kernel, which owns the tables, alive across the gc above)
  if (mm.rss !== PAGES || k.pt.tablesHeld === 0)
    throw new Error("memory bench mapped the wrong number of pages");
  return used / PAGES;
}

export const mmBenchmarks: Benchmark[] = [
  {
    name: "mm/page-faults",
    unit: "faults/s",
    target: 1_000_000,
    better: "higher",
    run: faultsPerSecond,
  },
  {
    name: "mm/munmap-pages",
    unit: "pages/s",
    target: null,
    better: "higher",
    run: unmapPagesPerSecond,
  },
  {
    name: "mm/bytes-per-mapped-page",
    unit: "B",
    target: null,
    better: "lower",
    run: bytesPerMappedPage,
  },
];
