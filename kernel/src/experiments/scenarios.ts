/**
 * The race scenarios of the race matrix. Each runs one seeded trial on a 4-CPU system (a guest
 * when a host is involved) and reports what the use-after-free oracle saw. Nothing here decides
 * the outcome: it sets up threads, a walker and a freeing CPU, and the modelled mechanism
 * (flush backend, mmu_gather path, RCU) decides whether a freed table is read.
 *
 *   walker-vs-munmap     a thread pins the pages of a DIO buffer with __get_user_pages_fast
 *                        (IRQs off) and is held up inside the walk by an involuntary stall — a
 *                        VM exit in a guest, an SMI or long NMI on bare metal — while another
 *                        thread munmaps the buffer.
 *   preempted-walker     the host deschedules the walker's vCPU in the middle of its IRQ-off walk
 *                        (KVM records it in steal_time), and the munmap happens while it is away.
 *   batch-alloc-failure  walker-vs-munmap with the mmu_table_batch page allocation failing, so
 *                        tables go through tlb_remove_table_one.
 *   use-mm-walker        a single-threaded process munmaps while a kernel thread that borrowed
 *                        its mm with use_mm() pins pages with __get_user_pages_fast (and stalls
 *                        as in walker-vs-munmap).
 *   lazy-tlb-walker      a single-threaded process used the buffer on CPU 2 and moved to CPU 0;
 *                        CPU 2 now runs a kernel thread in lazy TLB mode (CR3 still the
 *                        process's) inside an IRQ-off section, and its page walker keeps walking
 *                        through what it cached while CPU 0 munmaps. No software walker: the
 *                        reader is the hardware (the hazard behind removing v4.14's
 *                        mm_users < 2 shortcut, reference/hardware-and-hypervisors.md §3.2).
 *   madvise-lazy-return  two threads; the one on CPU 2 used the buffer and sleeps (CPU 2 lazy)
 *                        while the one on CPU 0 drops the buffer's pages with MADV_DONTNEED and
 *                        maps new memory (the freed frames are handed out again); then the
 *                        sleeper runs again on CPU 2 and reads the buffer. Whether its TLB still
 *                        translates to the old frames (the stale-TLB class) depends on the lazy
 *                        CPU getting the flush (v4.14–v4.19) or on switch_mm comparing tlb_gen
 *                        on the way back (v4.20+, where a flush that freed no tables skips it).
 *   table-batch-full     a process maps a sparse region of MAX_TABLE_BATCH + 1 = 510 pte tables
 *                        (one touched page in each 2 MiB) and munmaps it while its other threads
 *                        run in user mode on CPUs 1–3, their page walkers caching pointers into
 *                        the region's tables: free_pgtables fills the mmu_table_batch at the
 *                        509th table and tlb_table_flush hands it to RCU in the middle of the
 *                        munmap — v4.14 without a TLB flush first (v4.19's tlb_table_invalidate
 *                        flushes). No software walker: the page walkers are the readers.
 *
 * Why a stall: munmap clears the ptes (zap) before it frees the tables, so a walker that keeps
 * running reads a cleared entry and gives up before the table goes away; only a walker delayed
 * inside its IRQ-off walk for longer than the munmap takes can read a freed table. On native x86
 * the flush IPI makes the munmap wait out any such delay; a hypercall flush does not.
 */
import { __get_user_pages_fast, use_mm } from "../gup/gup-fast.js";
import { local_irq_disable, local_irq_enable } from "../hw/irqflags.js";
import { sys_madvise_dontneed, sys_mmap, sys_munmap, sys_touch } from "../mm/mmap.js";
import { MAX_TABLE_BATCH } from "../mm/mmu-gather.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { UafReport } from "../mm/oracle.js";
import {
  checkBool,
  checkInt,
  checkOptions,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";
import { establish_global_asid } from "../arch/x86/tlb.js";
import type { SimEvent } from "../sim/event.js";
import { waitFor, type Kfn } from "../sim/process.js";
import { MAX_CPUS } from "../hw/machine.js";
import {
  buildSystem,
  SYSTEM_OPTION_KEYS,
  type System,
  type SystemOptions,
} from "../system/build.js";
import { systemOptionsOf } from "./trial-options.js";

export const SCENARIO_NAMES = [
  "walker-vs-munmap",
  "preempted-walker",
  "batch-alloc-failure",
  "use-mm-walker",
  "lazy-tlb-walker",
  "madvise-lazy-return",
  "table-batch-full",
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** The scenarios with a software walker (gup_fast), which the explorer and its Promela twin
 * cover; the others are read by the CPUs' page walkers only. */
export const SOFTWARE_WALKER_SCENARIOS = [
  "walker-vs-munmap",
  "preempted-walker",
  "batch-alloc-failure",
  "use-mm-walker",
] as const satisfies readonly ScenarioName[];

export function checkScenarioName(name: string): ScenarioName {
  if (typeof name !== "string" || !(SCENARIO_NAMES as readonly string[]).includes(name))
    throw new UnknownNameError("scenario", name, SCENARIO_NAMES);
  return name as ScenarioName;
}

/** Where the buffer lives: 2 MiB aligned, in one pte table. */
export const BUFFER = 0x7f00_0000_0000;
/** A 256 KiB direct-I/O buffer. */
export const BUFFER_PAGES = 64;

export interface TrialOptions extends Omit<SystemOptions, "seed"> {
  readonly scenario: string;
  readonly seed: number;
  /** How long the walker is held inside its walk, ns: a VM exit / SMI in walker-vs-munmap,
   * batch-alloc-failure and use-mm-walker (default: drawn from 20–200 µs [U]), a host
   * descheduling in preempted-walker (default: drawn from 0.5–3 ms, CFS granularity scale); in
   * lazy-tlb-walker the lazy kernel thread's IRQ-off section, in madvise-lazy-return the
   * window in which the madvise comes, and in table-batch-full how long the threads run on the
   * region before the munmap (all 20–200 µs). */
  readonly stallNs?: number;
  /** Stop the run at this simulated time, ns, and return the system as it is then (for a view
   * of one moment, e.g. the page tables at a bad read); default: run to the end. */
  readonly stopAtNs?: number;
  /** invlpgb only: the process starts with its global ASID, as one that has been flushing on
   * more than 3 CPUs for a while has (consider_global_asid passes on the first flush in a jiffy
   * whose low 5 bits match the flusher's pid), so its munmap flushes by broadcast. Default false:
   * a fresh process, whose flushes are IPIs until then. Needs a scenario in which more than 3 CPUs
   * run the process (walker-vs-munmap, preempted-walker, batch-alloc-failure, table-batch-full
   * on 4 CPUs or more). */
  readonly globalAsid?: boolean;
}

export interface TrialResult {
  readonly scenario: ScenarioName;
  readonly seed: number;
  /** Use-after-free reads the oracle reported. */
  readonly uaf: number;
  readonly reports: readonly UafReport[];
  /** Page-table pages freed directly and through RCU during the trial. */
  readonly tablesFreedDirect: number;
  readonly tablesFreedRcu: number;
  /** Time the munmap took, ns. */
  readonly munmapNs: number;
  /** Time the walker was stalled, ns. */
  readonly stallNs: number;
  /** The system, for views (timeline, page tables) and further inspection. */
  readonly system: System;
  readonly mm: MmStruct;
}

/** A user-mode stretch on a CPU (ticks there are RCU quiescent states). */
export function* userTime(sys: System, cpuId: number, ns: number): Kfn<void> {
  const cpu = sys.m.cpu(cpuId);
  cpu.taskMode = "user";
  yield ns;
  cpu.taskMode = "kernel";
}

/** One trial's shared state. The threads below are module-level generator functions, not
 * closures made per trial (why: docs/benchmarks.md, "Performance devices in model code"). */
interface Trial {
  readonly sys: System;
  readonly mm: MmStruct;
  readonly scenario: ScenarioName;
  readonly stallNs: number;
  readonly mapped: SimEvent<void>;
  readonly stalled: SimEvent<void>;
  readonly unmapped: SimEvent<void>;
  /** Time the munmap took, ns. */
  munmapNs: number;
}

/** cpu0: the thread that maps the buffer, then unmaps it while the walker is held up. */
function* munmapThread(t: Trial): Kfn<void> {
  const { sim, m, k } = t.sys;
  yield* sys_mmap(k, m.cpu(0), t.mm, {
    addr: BUFFER,
    length: BUFFER_PAGES * 4096,
    populate: true,
    name: "dio-buffer",
  });
  t.mapped.succeed();
  yield waitFor(t.stalled);
  // somewhere in the first half of the stall
  yield sim.rng.int(0, Math.floor(t.stallNs / 2));
  if (t.scenario === "batch-alloc-failure") k.alloc.failNextNowait(1, "tables");
  const t0 = sim.now;
  yield* sys_munmap(k, m.cpu(0), t.mm, BUFFER, BUFFER_PAGES * 4096);
  t.munmapNs = sim.now - t0;
  t.unmapped.succeed();
  yield* userTime(t.sys, 0, 100_000);
}

/** cpu1: the walker — a thread of the process, or a kernel thread that borrowed the mm. */
function* walkerThread(t: Trial): Kfn<void> {
  const { sim, m, k, host } = t.sys;
  yield waitFor(t.mapped);
  if (t.scenario === "use-mm-walker") use_mm(k, m.cpu(1), t.mm);
  yield* userTime(t.sys, 1, sim.rng.int(100, 2_000));
  // held up somewhere in the middle of the IRQ-off walk (≈ 25 ns a page)
  const walkNs = BUFFER_PAGES * 25;
  const at = sim.rng.int(Math.floor(walkNs / 4), Math.floor((3 * walkNs) / 4));
  if (t.scenario === "preempted-walker") host.preemptFor(m.cpu(1), at, t.stallNs);
  else m.stallFor(m.cpu(1), at, t.stallNs, "vm-exit");
  sim.schedule(at, () => t.stalled.succeed());
  yield* __get_user_pages_fast(k, m.cpu(1), t.mm, BUFFER, BUFFER_PAGES);
  yield* userTime(t.sys, 1, 10_000);
}

/** The other CPUs: user-mode threads of the same process. */
function* userThread(t: Trial, cpuId: number): Kfn<void> {
  yield waitFor(t.mapped);
  while (!t.unmapped.triggered) yield* userTime(t.sys, cpuId, 50_000);
}

/**
 * lazy-tlb-walker, CPU 2: the process maps and uses its buffer here (its accesses fill this
 * CPU's TLB and paging-structure caches), then moves to CPU 0; a kernel thread takes CPU 2 in
 * lazy TLB mode and runs with IRQs off for the stall time — the flush IPI waits, the page walker
 * does not.
 */
function* lazyCpuThread(t: Trial): Kfn<void> {
  const { sim, m, k, x86 } = t.sys;
  const cpu = m.cpu(2);
  yield* sys_mmap(k, cpu, t.mm, {
    addr: BUFFER,
    length: BUFFER_PAGES * 4096,
    populate: true,
    name: "dio-buffer",
  });
  yield* userTime(t.sys, 2, sim.rng.int(20_000, 50_000));
  // the process migrates; a kernel thread runs here on the borrowed mm (context_switch)
  x86.enter_lazy_tlb(cpu);
  t.mapped.succeed();
  yield sim.rng.int(100, 2_000);
  local_irq_disable(cpu);
  t.stalled.succeed();
  yield t.stallNs;
  yield* local_irq_enable(cpu);
  yield 10_000;
}

/** lazy-tlb-walker, CPU 0: the process, moved here, munmaps its buffer while CPU 2's kernel
 * thread has IRQs off. */
function* migratedMunmapThread(t: Trial): Kfn<void> {
  const { sim, m, k, x86 } = t.sys;
  yield waitFor(t.stalled);
  x86.switch_mm(m.cpu(0), t.mm);
  yield* userTime(t.sys, 0, sim.rng.int(0, Math.floor(t.stallNs / 2)));
  const t0 = sim.now;
  yield* sys_munmap(k, m.cpu(0), t.mm, BUFFER, BUFFER_PAGES * 4096);
  t.munmapNs = sim.now - t0;
  t.unmapped.succeed();
  yield* userTime(t.sys, 0, 100_000);
}

/** Where madvise-lazy-return maps its second buffer (the freed frames' next owner). */
const SECOND_BUFFER = BUFFER + 2 ** 30;

/** madvise-lazy-return, CPU 0: map the buffer, and once the other thread sleeps, drop its pages
 * and map new memory, which takes the freed frames. */
function* madviseThread(t: Trial): Kfn<void> {
  const { sim, m, k } = t.sys;
  const cpu = m.cpu(0);
  yield* sys_mmap(k, cpu, t.mm, {
    addr: BUFFER,
    length: BUFFER_PAGES * 4096,
    populate: true,
    name: "dio-buffer",
  });
  t.mapped.succeed();
  yield waitFor(t.stalled);
  yield* userTime(t.sys, 0, sim.rng.int(0, Math.floor(t.stallNs / 2)));
  const t0 = sim.now;
  yield* sys_madvise_dontneed(k, cpu, t.mm, BUFFER, BUFFER_PAGES * 4096);
  t.munmapNs = sim.now - t0;
  yield* sys_mmap(k, cpu, t.mm, {
    addr: SECOND_BUFFER,
    length: BUFFER_PAGES * 4096,
    populate: true,
    name: "new-buffer",
  });
  t.unmapped.succeed();
  yield* userTime(t.sys, 0, 100_000);
}

/** madvise-lazy-return, CPU 2: use the buffer, sleep (a kernel thread runs here lazily on the
 * mm), then run again and read the buffer. */
function* sleeperThread(t: Trial): Kfn<void> {
  const { sim, m, x86 } = t.sys;
  const cpu = m.cpu(2);
  yield waitFor(t.mapped);
  yield* userTime(t.sys, 2, sim.rng.int(20_000, 50_000));
  x86.enter_lazy_tlb(cpu);
  t.stalled.succeed();
  yield waitFor(t.unmapped);
  yield sim.rng.int(100, 2_000);
  x86.switch_mm(cpu, t.mm);
  yield* userTime(t.sys, 2, 50_000);
}

/** table-batch-full: pte tables in the sparse region — one more than an mmu_table_batch holds
 * (MAX_TABLE_BATCH = (4096 − 24) / 8 = 509 on x86-64: a 4 KiB page less its rcu_head and nr, in
 * 8-byte pointers), so the batch fills and goes to RCU before free_pgtables is done. */
export const SPARSE_TABLES = MAX_TABLE_BATCH + 1;
/** Where the sparse region lives: 1 GiB aligned, so its 510 pte tables hang off one pmd table. */
const SPARSE_REGION = BUFFER;
const PMD_SIZE = 2 ** 21;

/** table-batch-full, CPU 0: map the sparse region, fault in one page of every 2 MiB (a pte
 * table each), let the other threads use it, and munmap it. */
function* sparseMunmapThread(t: Trial): Kfn<void> {
  const { sim, m, k } = t.sys;
  const cpu = m.cpu(0);
  const length = SPARSE_TABLES * PMD_SIZE;
  yield* sys_mmap(k, cpu, t.mm, { addr: SPARSE_REGION, length, name: "sparse-heap" });
  for (let i = 0; i < SPARSE_TABLES; i++)
    yield* sys_touch(k, cpu, t.mm, SPARSE_REGION + i * PMD_SIZE);
  t.mapped.succeed();
  // the other threads run on the region for a while (their walkers fill their caches)
  yield* userTime(t.sys, 0, t.stallNs);
  const t0 = sim.now;
  yield* sys_munmap(k, cpu, t.mm, SPARSE_REGION, length);
  t.munmapNs = sim.now - t0;
  t.unmapped.succeed();
  yield* userTime(t.sys, 0, 100_000);
}

/** Simulated time a trial may run at most: only a grace period that never ends (a CPU stuck
 * with IRQs off) gets this far; a trial normally ends within a few ms. */
const TRIAL_MAX_NS = 100_000_000;

/**
 * Longest stall a trial accepts, ns: half its {@link TRIAL_MAX_NS} window, so the munmap (in the
 * stall's first half) and the walk's end fall inside it. The other threads run until the munmap,
 * so a longer stall is more work for nothing: `stallNs: 1e15` used to spin them for days.
 */
export const MAX_STALL_NS = TRIAL_MAX_NS / 2;

/** The trial's own options, which the system does not take. */
const TRIAL_ONLY_KEYS: readonly string[] = ["scenario", "stallNs", "stopAtNs", "globalAsid"];

const TRIAL_KEYS = [...SYSTEM_OPTION_KEYS, ...TRIAL_ONLY_KEYS];

/**
 * Runs a trial's system to its end. The run ends by itself once every thread is done and RCU is
 * idle: the ticks then go dormant (tick.ts), and every table queued for RCU has been freed. Then
 * the clocks are stopped and what stopping queues (stale ticks, the GP kthread's exit) is
 * drained. {@link TRIAL_MAX_NS} bounds a run whose grace period never ends; `stopAtNs` stops it
 * earlier, with the clocks still running.
 */
export function runTrialToEnd(sys: System, stopAtNs?: number): void {
  sys.sim.run({ until: stopAtNs ?? TRIAL_MAX_NS });
  // a run stopped early (to look at the system mid-race) keeps its clocks
  if (stopAtNs !== undefined) return;
  sys.rcu.stop();
  sys.host.stop();
  sys.sim.run();
}

/**
 * Runs one seeded trial of a race scenario (SCENARIO_NAMES) on a system built from `opts`
 * (profile, flush backend, host, costs; 4 CPUs unless `nrCpus` says otherwise) and reports what
 * the use-after-free oracle saw: `uaf` reads of freed page tables, how the tables were freed
 * (directly or after an RCU grace period) and how long the munmap took. The same options and
 * seed give the same trial.
 */
export function runTrial(opts: TrialOptions): TrialResult {
  checkOptions("options", opts ?? null, TRIAL_KEYS, "runTrial");
  const scenario = checkScenarioName(opts.scenario);
  checkInt("seed", opts.seed, 0, 2 ** 32 - 1, "runTrial");
  if (opts.stallNs !== undefined) checkInt("stallNs", opts.stallNs, 1, MAX_STALL_NS, "runTrial");
  if (opts.stopAtNs !== undefined) checkInt("stopAtNs", opts.stopAtNs, 0, TRIAL_MAX_NS, "runTrial");
  // the walker runs on cpu1, the munmap on cpu0; the lazy CPU of the hardware-only scenarios is
  // cpu2
  const lazyCpu = opts.scenario === "lazy-tlb-walker" || opts.scenario === "madvise-lazy-return";
  checkInt("nrCpus", opts.nrCpus ?? 4, lazyCpu ? 3 : 2, MAX_CPUS, "runTrial");
  checkBool("globalAsid", opts.globalAsid, false, "runTrial");
  if (opts.globalAsid === true && opts.backend !== "invlpgb")
    throw new ParameterError(
      "globalAsid",
      true,
      `false with backend ${String(opts.backend)}: only an INVLPGB kernel hands out global ASIDs`,
      "runTrial",
    );
  const { stopAtNs, globalAsid } = opts;
  // The hardware page walkers run unless the caller turns them off: the scenarios are about
  // what reads a freed table, and the CPU's own walker is one of the readers.
  const sys = buildSystem(systemOptionsOf(opts, TRIAL_ONLY_KEYS, true));
  const { sim, m, k, x86, rcu } = sys;
  const preempted = scenario === "preempted-walker";
  const stallNs =
    opts.stallNs ?? (preempted ? sim.rng.int(500_000, 3_000_000) : sim.rng.int(20_000, 200_000));
  const mm = k.mm_alloc();
  const useMm = scenario === "use-mm-walker";
  // Threads of the process: one per CPU, except in use-mm-walker (one thread, plus a kthread),
  // lazy-tlb-walker (one thread, which moves from CPU 2 to CPU 0) and madvise-lazy-return (two).
  if (useMm) x86.switch_mm(m.cpu(0), mm);
  else if (scenario === "lazy-tlb-walker") x86.switch_mm(m.cpu(2), mm);
  else if (scenario === "madvise-lazy-return") {
    mm.mm_users = 2;
    x86.switch_mm(m.cpu(0), mm);
    x86.switch_mm(m.cpu(2), mm);
  } else {
    mm.mm_users = m.nrCpus;
    for (const c of m.cpus) x86.switch_mm(c, mm);
  }
  if (globalAsid === true && !establish_global_asid(x86, mm))
    throw new ParameterError(
      "globalAsid",
      true,
      `false for ${scenario} on ${m.nrCpus} CPUs: a global ASID goes only to a process that more than 3 CPUs run (mm_active_cpus_exceeds(mm, 3))`,
      "runTrial",
    );
  const t: Trial = {
    sys,
    mm,
    scenario,
    stallNs,
    mapped: sim.event("buffer mapped"),
    stalled: sim.event("walker stalled"),
    unmapped: sim.event("buffer unmapped"),
    munmapNs: 0,
  };

  rcu.start();
  if (scenario === "lazy-tlb-walker") {
    m.cpu(2).run("process-then-kthread", lazyCpuThread(t));
    m.cpu(0).run("process", migratedMunmapThread(t));
  } else if (scenario === "madvise-lazy-return") {
    m.cpu(0).run("madvise-thread", madviseThread(t));
    m.cpu(2).run("sleeping-thread", sleeperThread(t));
  } else if (scenario === "table-batch-full") {
    m.cpu(0).run("munmap-thread", sparseMunmapThread(t));
    for (const c of m.cpus.slice(1)) c.run("user-thread", userThread(t, c.id));
  } else {
    m.cpu(0).run("munmap-thread", munmapThread(t));
    m.cpu(1).run(useMm ? "kthread-use_mm" : "dio-thread", walkerThread(t));
    if (!useMm) for (const c of m.cpus.slice(2)) c.run("user-thread", userThread(t, c.id));
  }
  runTrialToEnd(sys, stopAtNs);
  return {
    scenario,
    seed: opts.seed,
    stallNs,
    uaf: k.oracle.reports.length,
    reports: k.oracle.reports,
    tablesFreedDirect: k.stats.tablesFreedDirect,
    tablesFreedRcu: k.stats.tablesFreedRcu,
    munmapNs: t.munmapNs,
    system: sys,
    mm,
  };
}
