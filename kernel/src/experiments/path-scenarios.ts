/**
 * The race scenarios of the later table-freeing paths (docs/bugs.md §5a, §5b, §6, §7).
 * Each runs one seeded trial and reports what the oracle saw; as in scenarios.ts, nothing here
 * decides the outcome — it maps memory, starts the threads at seeded times, and the modelled
 * paths (retract_page_tables, PT_RECLAIM, mremap, hugetlb unsharing) with the profile's switches
 * decide whether a walker reads what it must not.
 *
 *   retract-vs-rcu-walker  (§5a) khugepaged collapses a file range that a thread of process A is
 *                          faulting in: the fault has read the pmd inside rcu_read_lock() and is
 *                          held in a softirq when retract_page_tables takes the table out.
 *   pt-reclaim-vs-fault    (§6) thread T0 drops a whole 2 MiB of its buffer with
 *                          MADV_DONTNEED (PT_RECLAIM frees the emptied table) while thread T1 is
 *                          faulting (or, with `walker: "mincore"`, calling mincore) in it.
 *   mremap-vs-retract      (§5b) process A mremaps a 2 MiB file range; between mremap's look at
 *                          the old pmd and its rmap locks, process B's MADV_COLLAPSE retracts
 *                          A's table. A then touches the new address.
 *   hugetlb-unshare-vs-gup (§7) processes A and B share a hugetlb PMD table; A's thread W pins
 *                          pages with IRQ-off gup_fast and is held (VM exit) after reading A's
 *                          PUD; A's thread U unmaps the range (huge_pmd_unshare); B then unmaps
 *                          part of its range and maps ordinary memory there.
 */
import { __get_user_pages_fast } from "../gup/gup-fast.js";
import { MAX_CPUS } from "../hw/machine.js";
import type { Kernel } from "../mm/kernel.js";
import { retract_page_tables, unmap_file_range } from "../mm/lockless-retract.js";
import { sys_madvise_dontneed, sys_mmap, sys_munmap, sys_touch } from "../mm/mmap.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { sys_mremap } from "../mm/mremap-pmd.js";
import type { UafReport } from "../mm/oracle.js";
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from "../mm/pgtable.js";
import { handle_pte_fault_rcu, sys_mincore } from "../mm/pte-map.js";
import { AddressSpace } from "../mm/address-space.js";
import { huge_pmd_share, unmap_hugepage_range } from "../mm/hugetlb.js";
import { checkInt, checkOptions, ParameterError, UnknownNameError } from "../sim/errors.js";
import type { SimEvent } from "../sim/event.js";
import { waitFor, type Kfn } from "../sim/process.js";
import {
  buildSystem,
  SYSTEM_OPTION_KEYS,
  type System,
  type SystemOptions,
} from "../system/build.js";
import { runTrialToEnd, userTime } from "./scenarios.js";
import { systemOptionsOf } from "./trial-options.js";

export const PATH_SCENARIO_NAMES = [
  "retract-vs-rcu-walker",
  "pt-reclaim-vs-fault",
  "mremap-vs-retract",
  "hugetlb-unshare-vs-gup",
] as const;
export type PathScenarioName = (typeof PATH_SCENARIO_NAMES)[number];

export interface PathTrialOptions extends Omit<SystemOptions, "seed"> {
  readonly scenario: string;
  readonly seed: number;
  /** How long the walker is held inside its walk, ns (softirq or VM exit). Default: drawn from
   * 5–50 µs [U]. */
  readonly holdNs?: number;
  /** pt-reclaim-vs-fault: the mmu_table_batch page allocation fails (the single-table
   * fallback). Default false. */
  readonly batchAllocFailure?: boolean;
  /** pt-reclaim-vs-fault and retract-vs-rcu-walker: the pte_offset_map() user — a page fault
   * (default) or mincore. */
  readonly walker?: "fault" | "mincore";
  /** Stop at this simulated time, ns, and return the system as it is then (the page tables at
   * the moment of a bad read). Absent: run to the end. */
  readonly stopAtNs?: number;
}

export interface PathTrialResult {
  readonly scenario: PathScenarioName;
  readonly seed: number;
  /** Bad reads the oracle reported. */
  readonly bad: number;
  readonly reports: readonly UafReport[];
  readonly holdNs: number;
  readonly tablesFreedDirect: number;
  readonly tablesFreedRcu: number;
  readonly system: System;
}

/** Where the file (or buffer) of a scenario lives: 1 GiB aligned, so also 2 MiB aligned. */
export const FILE_ADDR = 0x7e00_0000_0000;
/** Where mremap moves it to (a different pmd and pud). */
export const MREMAP_TO = FILE_ADDR + 4 * PUD_SIZE;

const MAX_HOLD_NS = 10_000_000;
/** The path trial's own options, which the system does not take. */
const PATH_TRIAL_ONLY_KEYS: readonly string[] = [
  "scenario",
  "holdNs",
  "batchAllocFailure",
  "walker",
  "stopAtNs",
];
const PATH_TRIAL_KEYS = [...SYSTEM_OPTION_KEYS, ...PATH_TRIAL_ONLY_KEYS];

interface PathTrial {
  readonly sys: System;
  readonly k: Kernel;
  readonly holdNs: number;
  readonly walker: "fault" | "mincore";
  readonly batchAllocFailure: boolean;
  readonly ready: SimEvent<void>;
  readonly started: SimEvent<void>;
  /** retract-vs-rcu-walker: collapse_file has unmapped the small pages. */
  readonly collapsed: SimEvent<void>;
  readonly done: SimEvent<void>;
}

function checkPathScenario(name: string): PathScenarioName {
  if (typeof name !== "string" || !(PATH_SCENARIO_NAMES as readonly string[]).includes(name))
    throw new UnknownNameError("scenario", name, PATH_SCENARIO_NAMES);
  return name as PathScenarioName;
}

/** The other CPUs: user-mode time until the trial's work is done (their ticks are RCU QSs). */
function* idleUser(t: PathTrial, cpuId: number): Kfn<void> {
  while (!t.done.triggered) yield* userTime(t.sys, cpuId, 50_000);
}

/** The pte_offset_map() walker of a scenario: a fault or a mincore at `addr`, held `holdNs`. */
function* rcuWalker(t: PathTrial, cpuId: number, mm: MmStruct, addr: number): Kfn<void> {
  const cpu = t.sys.m.cpu(cpuId);
  t.started.succeed();
  if (t.walker === "mincore") yield* sys_mincore(t.k, cpu, mm, addr, 8, { holdNs: t.holdNs });
  else yield* handle_pte_fault_rcu(t.k, cpu, mm, addr, { holdNs: t.holdNs });
}

// §5a ---------------------------------------------------------------------------------------

function* retractFaultThread(t: PathTrial, mm: MmStruct): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(1);
  yield* sys_mmap(k, cpu, mm, { addr: FILE_ADDR, length: PMD_SIZE, name: "shmem-file" });
  for (let i = 0; i < 16; i++) yield* sys_touch(k, cpu, mm, FILE_ADDR + i * PAGE_SIZE);
  t.ready.succeed();
  yield waitFor(t.collapsed);
  yield* userTime(sys, 1, sys.sim.rng.int(1_000, 5_000));
  // the small pages were unmapped by collapse_file: the thread touches one and faults
  yield* rcuWalker(t, 1, mm, FILE_ADDR + 5 * PAGE_SIZE);
  yield* userTime(sys, 1, 20_000);
}

function* khugepagedThread(t: PathTrial, mapping: AddressSpace): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(0);
  yield waitFor(t.ready);
  yield* unmap_file_range(k, cpu, mapping, 0, 512);
  t.collapsed.succeed();
  yield waitFor(t.started);
  yield sys.sim.rng.int(0, Math.floor(t.holdNs / 2));
  yield* retract_page_tables(k, cpu, mapping, 0);
  yield 10_000;
  t.done.succeed();
}

// §6 ----------------------------------------------------------------------------------------

function* reclaimMadviseThread(t: PathTrial, mm: MmStruct): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(0);
  yield* sys_mmap(k, cpu, mm, {
    addr: FILE_ADDR,
    length: PMD_SIZE,
    populate: true,
    name: "buffer",
  });
  t.ready.succeed();
  yield waitFor(t.started);
  yield sys.sim.rng.int(0, Math.floor(t.holdNs / 2));
  if (t.batchAllocFailure) k.alloc.failNextNowait(1, "tables");
  yield* sys_madvise_dontneed(k, cpu, mm, FILE_ADDR, PMD_SIZE);
  yield* userTime(sys, 0, 10_000);
  t.done.succeed();
}

function* reclaimFaultThread(t: PathTrial, mm: MmStruct): Kfn<void> {
  const { sys } = t;
  yield waitFor(t.ready);
  yield* userTime(sys, 1, sys.sim.rng.int(1_000, 5_000));
  yield* rcuWalker(t, 1, mm, FILE_ADDR + 7 * PAGE_SIZE);
  yield* userTime(sys, 1, 20_000);
}

// §5b ---------------------------------------------------------------------------------------

function* mremapThread(t: PathTrial, mm: MmStruct, mapping: AddressSpace): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(0);
  yield* sys_mmap(k, cpu, mm, { addr: FILE_ADDR, length: PMD_SIZE, name: "shmem-file" });
  const vma = mapping.map(mm, FILE_ADDR, FILE_ADDR + PMD_SIZE, 0);
  for (let i = 0; i < 16; i++) yield* sys_touch(k, cpu, mm, FILE_ADDR + i * PAGE_SIZE);
  t.ready.succeed();
  yield* userTime(sys, 0, sys.sim.rng.int(1_000, 5_000));
  // mremap is preempted (cond_resched) between get_old_pmd and take_rmap_locks for holdNs
  yield* sys_mremap(k, cpu, mm, FILE_ADDR, PMD_SIZE, MREMAP_TO, {
    mapping,
    vma,
    preemptNs: t.holdNs,
    onPreempt: () => t.started.succeed(),
  });
  // A touches the moved range: the fault's pte_offset_map() walks what the new pmd points at
  yield* handle_pte_fault_rcu(k, cpu, mm, MREMAP_TO + 3 * PAGE_SIZE);
  yield* userTime(sys, 0, 20_000);
  t.done.succeed();
}

function* collapseThread(t: PathTrial, other: MmStruct, mapping: AddressSpace): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(1);
  yield* sys_mmap(k, cpu, other, { addr: FILE_ADDR, length: PMD_SIZE, name: "shmem-file" });
  mapping.map(other, FILE_ADDR, FILE_ADDR + PMD_SIZE, 0);
  yield waitFor(t.ready);
  yield waitFor(t.started);
  yield sys.sim.rng.int(0, Math.floor(t.holdNs / 2));
  // B's madvise(MADV_COLLAPSE) → collapse_file → retract_page_tables over every mapper
  yield* unmap_file_range(k, cpu, mapping, 0, 512);
  yield* retract_page_tables(k, cpu, mapping, 0);
  yield* userTime(sys, 1, 20_000);
}

// §7 ----------------------------------------------------------------------------------------

/** Huge pages the hugetlb scenario maps (2 MiB each). */
const HUGE_PAGES = 16;

function* hugetlbGupThread(t: PathTrial, a: MmStruct): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(1);
  yield waitFor(t.ready);
  yield* userTime(sys, 1, sys.sim.rng.int(1_000, 5_000));
  // held by a VM exit right after the PUD read (≈ two entry reads into the walk)
  const at = 2 * k.machine.costs.pteReadNs + 1;
  sys.m.stallFor(cpu, at, t.holdNs, "vm-exit");
  sys.sim.schedule(at, () => t.started.succeed());
  yield* __get_user_pages_fast(k, cpu, a, FILE_ADDR, (HUGE_PAGES * PMD_SIZE) / PAGE_SIZE);
  yield* userTime(sys, 1, 20_000);
}

function* hugetlbUnmapThread(
  t: PathTrial,
  a: MmStruct,
  b: MmStruct,
  mapping: AddressSpace,
): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(0);
  // A maps the hugetlbfs file 1 GiB aligned and faults its first huge pages; B maps it at the
  // same place and shares A's PMD table (huge_pmd_share on B's first fault)
  yield* sys_mmap(k, cpu, a, {
    addr: FILE_ADDR,
    length: PUD_SIZE,
    pageSize: "2M",
    name: "hugetlbfs",
  });
  mapping.map(a, FILE_ADDR, FILE_ADDR + PUD_SIZE, 0);
  for (let i = 0; i < HUGE_PAGES; i++) yield* sys_touch(k, cpu, a, FILE_ADDR + i * PMD_SIZE);
  yield* sys_mmap(k, cpu, b, {
    addr: FILE_ADDR,
    length: PUD_SIZE,
    pageSize: "2M",
    name: "hugetlbfs",
  });
  mapping.map(b, FILE_ADDR, FILE_ADDR + PUD_SIZE, 0);
  huge_pmd_share(k, mapping, b, FILE_ADDR);
  t.ready.succeed();
  yield waitFor(t.started);
  yield sys.sim.rng.int(0, 2_000);
  // munmap of A's range: __unmap_hugepage_range unshares the PMD table (B's munmap, which
  // started meanwhile, waits for the i_mmap lock A takes first)
  t.collapsed.succeed();
  yield* unmap_hugepage_range(k, cpu, a, mapping, FILE_ADDR, FILE_ADDR + PUD_SIZE);
  yield* sys_munmap(k, cpu, a, FILE_ADDR, PUD_SIZE);
  yield* userTime(sys, 0, 20_000);
  t.done.succeed();
}

function* hugetlbOtherThread(t: PathTrial, b: MmStruct, mapping: AddressSpace): Kfn<void> {
  const { sys, k } = t;
  const cpu = sys.m.cpu(2);
  yield waitFor(t.collapsed);
  // B wants the i_mmap lock too: it runs as soon as A's unsharing drops it
  yield* unmap_hugepage_range(k, cpu, b, mapping, FILE_ADDR, FILE_ADDR + HUGE_PAGES * PMD_SIZE);
  yield* sys_munmap(k, cpu, b, FILE_ADDR, HUGE_PAGES * PMD_SIZE);
  yield* sys_mmap(k, cpu, b, {
    addr: FILE_ADDR,
    length: HUGE_PAGES * PMD_SIZE,
    name: "anon",
  });
  for (let i = 0; i < HUGE_PAGES; i++) yield* sys_touch(k, cpu, b, FILE_ADDR + i * PMD_SIZE);
  yield* userTime(sys, 2, 20_000);
}

/**
 * Runs one seeded trial of a later-path scenario (PATH_SCENARIO_NAMES) on a 4-CPU system built
 * from `opts`, and reports what the oracle saw. Same options and seed, same trial.
 */
export function runPathTrial(opts: PathTrialOptions): PathTrialResult {
  checkOptions("options", opts ?? null, PATH_TRIAL_KEYS, "runPathTrial");
  const scenario = checkPathScenario(opts.scenario);
  checkInt("seed", opts.seed, 0, 2 ** 32 - 1, "runPathTrial");
  if (opts.holdNs !== undefined) checkInt("holdNs", opts.holdNs, 1, MAX_HOLD_NS, "runPathTrial");
  checkInt("nrCpus", opts.nrCpus ?? 4, 3, MAX_CPUS, "runPathTrial");
  if (opts.walker !== undefined && opts.walker !== "fault" && opts.walker !== "mincore")
    throw new ParameterError("walker", opts.walker, '"fault" or "mincore"', "runPathTrial");
  if (opts.stopAtNs !== undefined)
    checkInt("stopAtNs", opts.stopAtNs, 0, Number.MAX_SAFE_INTEGER, "runPathTrial");
  const { stopAtNs } = opts;
  const sys = buildSystem(systemOptionsOf(opts, PATH_TRIAL_ONLY_KEYS, false));
  const { sim, m, k, x86, rcu } = sys;
  const holdNs = opts.holdNs ?? sim.rng.int(5_000, 50_000);
  const t: PathTrial = {
    sys,
    k,
    holdNs,
    walker: opts.walker ?? "fault",
    batchAllocFailure: opts.batchAllocFailure ?? false,
    ready: sim.event("mapped"),
    started: sim.event("walker inside"),
    collapsed: sim.event("small pages unmapped"),
    done: sim.event("done"),
  };
  const a = k.mm_alloc();
  rcu.start();
  if (scenario === "retract-vs-rcu-walker") {
    a.mm_users = 2;
    x86.switch_mm(m.cpu(1), a);
    const mapping = new AddressSpace("shmem");
    mapping.map(a, FILE_ADDR, FILE_ADDR + PMD_SIZE, 0);
    m.cpu(1).run("faulting-thread", retractFaultThread(t, a));
    m.cpu(0).run("khugepaged", khugepagedThread(t, mapping));
    for (const c of m.cpus.slice(2)) c.run("user-thread", idleUser(t, c.id));
  } else if (scenario === "pt-reclaim-vs-fault") {
    a.mm_users = 2;
    x86.switch_mm(m.cpu(0), a);
    x86.switch_mm(m.cpu(1), a);
    m.cpu(0).run("madvise-thread", reclaimMadviseThread(t, a));
    m.cpu(1).run("faulting-thread", reclaimFaultThread(t, a));
    for (const c of m.cpus.slice(2)) c.run("user-thread", idleUser(t, c.id));
  } else if (scenario === "mremap-vs-retract") {
    const b = k.mm_alloc();
    x86.switch_mm(m.cpu(0), a);
    x86.switch_mm(m.cpu(1), b);
    const mapping = new AddressSpace("shmem");
    m.cpu(0).run("mremap-process", mremapThread(t, a, mapping));
    m.cpu(1).run("collapse-process", collapseThread(t, b, mapping));
    for (const c of m.cpus.slice(2)) c.run("user-thread", idleUser(t, c.id));
  } else {
    const b = k.mm_alloc();
    a.mm_users = 2;
    x86.switch_mm(m.cpu(0), a);
    x86.switch_mm(m.cpu(1), a);
    x86.switch_mm(m.cpu(2), b);
    const mapping = new AddressSpace("hugetlbfs");
    m.cpu(0).run("unmapping-thread", hugetlbUnmapThread(t, a, b, mapping));
    m.cpu(1).run("gup-thread", hugetlbGupThread(t, a));
    m.cpu(2).run("other-process", hugetlbOtherThread(t, b, mapping));
    for (const c of m.cpus.slice(3)) c.run("user-thread", idleUser(t, c.id));
  }
  runTrialToEnd(sys, stopAtNs);
  return {
    scenario,
    seed: opts.seed,
    bad: k.oracle.reports.length,
    reports: k.oracle.reports,
    holdNs,
    tablesFreedDirect: k.stats.tablesFreedDirect,
    tablesFreedRcu: k.stats.tablesFreedRcu,
    system: sys,
  };
}
