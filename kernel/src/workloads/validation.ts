/**
 * The validation workloads as the model runs them: each loop is the twin of one in
 * kernel/validate-c/mmulab-wl.c, which `mmulab validate` runs on a real kernel under qemu. Same
 * system calls in the same order, on the same addresses (VALIDATION_LAYOUT, also in the C
 * file), the same threads pinned to the same CPUs, the same iteration counts; the counters are
 * read where the C program reads the kernel's.
 *
 *   tlb_flush2         will-it-scale tests/tlb_flush2.c (threads): per page of a 1 MiB mapping,
 *                      write, madvise(MADV_DONTNEED), read back (the zero page); munmap per pass
 *   tlb_flush2-reuse   the same on one mapping kept for every pass: from the second pass each
 *                      write hits a zero-page pte, a copy-on-write fault with its own flush
 *   mmap-munmap        mmap 64 KiB, write its pages, munmap (frees pte, pmd and pud tables)
 *   mmap-munmap-2t     the same with a second thread spinning in user mode on the next CPU
 *   munmap-large       a region of 514 pte, 3 pmd and 2 pud tables next to a one-page
 *                      neighbour, mapped, written one byte per 2 MiB and unmapped
 *   exit-tables        a child maps and writes the same region and exits (exit_mmap)
 *   fork-exec          a child execs a program and exits: shift_arg_pages frees the old
 *                      stack's tables (the stack shift is the kernel's, replayed)
 *   lazy-tlb           thread B sleeps (its CPU lazy); A's madvise skips that CPU, A's munmap
 *                      that frees tables IPIs it and it leaves the mm, a second one does not
 *
 * Workers of tlb_flush2 spin before their first and after their last iteration, as in the C
 * program (will-it-scale's workers never stop, so every CPU runs the mm all along).
 */
import { buildSystem } from "../system/build.js";
import { contextSwitchMm } from "../system/context-switch.js";
import type { Cpu } from "../hw/cpu.js";
import type { ResolveOptions } from "../config/profiles.js";
import type { Kernel } from "../mm/kernel.js";
import type { MmStruct } from "../mm/mm-struct.js";
import {
  do_execve,
  mmput,
  sys_madvise_dontneed,
  sys_mmap,
  sys_munmap,
  user_access,
} from "../mm/mmap.js";
import type { TableLevel } from "../mm/page-alloc.js";
import { flushEventIndex, type X86Mmu } from "../arch/x86/tlb.js";
import { Scheduler, type Task } from "../sched/scheduler.js";
import { SimEvent } from "../sim/event.js";
import { checkInt, ParameterError, UnknownNameError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";

const PAGE = 4096;
const MB = 2 ** 20;
const GB = 2 ** 30;

/** Addresses and sizes shared with kernel/validate-c/mmulab-wl.c. */
export const VALIDATION_LAYOUT = Object.freeze({
  /** A 512 GiB (pgd-entry) boundary. */
  tablesBase: 0x2000_0000_0000,
  /** mmap-munmap's region, alone in its pgd entry. */
  smallBase: 0x3000_0000_0000,
  smallBytes: 64 * 1024,
  /** lazy-tlb: the page thread B writes, and the region whose munmap frees tables. */
  lazyPage: 0x3800_0000_0000,
  lazyUnmap: 0x3c00_0000_0000,
  /** The tables region: [tablesBase − 2 MiB, tablesBase + 1 GiB + 2 MiB), one byte per 2 MiB. */
  regionStart: 0x2000_0000_0000 - 2 * MB,
  regionBytes: GB + 4 * MB,
  regionStride: 2 * MB,
  /** munmap-large's neighbour page, 1 MiB above the region. */
  neighbour: 0x2000_0000_0000 - 2 * MB + GB + 4 * MB + MB,
  tlbFlush2Bytes: MB,
  /** TASK_SIZE_MAX = STACK_TOP_MAX with 4-level paging. */
  stackTopMax: 2 ** 47 - PAGE,
});

export const VALIDATION_WORKLOADS = [
  "tlb_flush2",
  "tlb_flush2-reuse",
  "mmap-munmap",
  "mmap-munmap-2t",
  "munmap-large",
  "exit-tables",
  "fork-exec",
  "lazy-tlb",
] as const;
export type ValidationWorkload = (typeof VALIDATION_WORKLOADS)[number];

/** The paths a page-table page is freed on (the C program reads them off the stack trace). */
export const FREE_PATHS = ["munmap", "exit_mmap", "exec_mmap", "shift_arg_pages", "other"] as const;
export type FreePath = (typeof FREE_PATHS)[number];
export const FREE_LEVELS = ["pte", "pmd", "pud", "p4d"] as const;
export type FreeLevel = (typeof FREE_LEVELS)[number];
export type TableFrees = Record<FreeLevel, Record<FreePath, number>>;

export interface ValidationParams {
  /** Loop iterations (all but tlb_flush2*). Default 8. */
  readonly iterations?: number;
  /** tlb_flush2 passes of 256 pages per thread. Default 2 (reuse: 4). */
  readonly passes?: number;
  /** fork-exec: the stack shift of each exec, bytes (the kernel's random draws, replayed). */
  readonly stackShifts?: readonly number[];
  /** tlb_flush2*: the threads meet at a spinning barrier after each mmap and each munmap.
   * Default true; false is will-it-scale's unaligned loop. */
  readonly sync?: boolean;
}

export interface ModelRunOptions {
  readonly workload: string;
  readonly cpus: number;
  readonly profile: string;
  readonly resolve?: ResolveOptions;
  readonly hz?: number;
  readonly seed?: number;
  readonly params?: ValidationParams;
}

/** What the model counted over the measured loop, in the kernel's terms. */
export interface ModelCounts {
  readonly workload: ValidationWorkload;
  readonly cpus: number;
  /** Counted iterations (tlb_flush2: pages, all threads; others: loop iterations). */
  readonly iterations: number;
  /** irq_tlb_count per CPU ("TLB shootdowns"). */
  readonly tlbShootdowns: number[];
  /** CALL_FUNCTION and CALL_FUNCTION_SINGLE interrupts taken per CPU ("Function call
   * interrupts"). */
  readonly callFunctionIpis: number[];
  /** tlb:tlb_flush events: [cpu][reason][ranged, full]. */
  readonly tlbFlushEvents: number[][][];
  /** ___pXd_free_tlb calls by level and path. */
  readonly tableFrees: TableFrees;
  /** flush_tlb_mm_range calls, and those asked with freed_tables. */
  readonly flushMmRange: [number, number];
  /** Copy-on-write faults on the zero page. */
  readonly cowFaults: number;
  /** Simulated time of the measured loop, ns. */
  readonly simulatedNs: number;
  /** Times a CPU went from a workload task to idle during the loop, and the ms it idled (the
   * kernel side also counts kernel threads, which the model does not run). */
  readonly awaySwitches: number;
  readonly awayMs: number;
}

export function checkValidationWorkload(name: string): ValidationWorkload {
  if (!(VALIDATION_WORKLOADS as readonly string[]).includes(name))
    throw new UnknownNameError("workload", name, VALIDATION_WORKLOADS, "validation");
  return name as ValidationWorkload;
}

/** Default passes and iterations, shared with the C side through the harness. */
export function validationDefaults(
  w: ValidationWorkload,
): Required<Omit<ValidationParams, "stackShifts">> {
  return { iterations: 8, passes: w === "tlb_flush2-reuse" ? 4 : 2, sync: true };
}

function emptyFrees(): TableFrees {
  const r = {} as TableFrees;
  for (const l of FREE_LEVELS) {
    const p = {} as Record<FreePath, number>;
    for (const q of FREE_PATHS) p[q] = 0;
    r[l] = p;
  }
  return r;
}

/** The counters the C program reads, as a snapshot of the model's. */
interface Snapshot {
  readonly tlb: number[];
  readonly cal: number[];
  readonly events: Int32Array;
  readonly mmRange: [number, number];
  readonly cow: number;
  readonly at: number;
}

/**
 * Runs one validation workload on the model and returns its counts. Validates every name and
 * number before anything runs.
 */
export function runValidationModel(o: ModelRunOptions): ModelCounts {
  const workload = checkValidationWorkload(o.workload);
  const cpus = checkInt("cpus", o.cpus, 1, 64, "runValidationModel");
  const d = validationDefaults(workload);
  const iterations = checkInt(
    "iterations",
    o.params?.iterations ?? d.iterations,
    1,
    100_000,
    "runValidationModel",
  );
  const passes = checkInt("passes", o.params?.passes ?? d.passes, 1, 10_000, "runValidationModel");
  const shifts = o.params?.stackShifts ?? [];
  if (workload === "fork-exec" && shifts.length !== iterations)
    throw new ParameterError(
      "stackShifts",
      shifts.length,
      `one shift per iteration (${iterations})`,
      "runValidationModel",
    );
  const sys = buildSystem({
    profile: o.profile,
    backend: "native",
    nrCpus: cpus,
    seed: o.seed ?? 1,
    hz: o.hz ?? 250,
    trace: false,
    history: false,
    ...(o.resolve ? { resolve: o.resolve } : {}),
  });
  const { sim, m, k, x86, rcu } = sys;
  let measuring = false;
  let awaySwitches = 0;
  let awayNs = 0;
  const idleSince: (number | null)[] = m.cpus.map(() => null);
  const mmSwitch = contextSwitchMm(x86);
  const sched = new Scheduler(m, {
    onSwitch: (cpu, next, prev) => {
      mmSwitch(cpu, next, prev);
      if (next === null && prev !== null && idleSince[cpu.id] === null) {
        idleSince[cpu.id] = sim.now;
        if (measuring) awaySwitches++;
      } else if (next !== null && idleSince[cpu.id] !== null) {
        if (measuring) awayNs += sim.now - idleSince[cpu.id]!;
        idleSince[cpu.id] = null;
      }
    },
  });
  k.sched = sched.schedOps();
  rcu.start();
  const frees = emptyFrees();
  const snapshot = (): Snapshot => ({
    tlb: [...x86.stats.irqTlbCount],
    cal: m.cpus.map((c) => c.stats.irqs.CALL_FUNCTION + c.stats.irqs.CALL_FUNCTION_SINGLE),
    events: x86.stats.flushEvents.slice(),
    mmRange: [x86.stats.mmRangeFlushes, x86.stats.mmRangeFlushesFreedTables],
    cow: k.stats.cowFaults,
    at: sim.now,
  });
  let before: Snapshot | null = null;
  let after: Snapshot | null = null;
  const measureStart = () => {
    before = snapshot();
    measuring = true;
  };
  const measureEnd = () => {
    after = snapshot();
    measuring = false;
  };
  /** Runs a kernel path and books the tables it freed to `path`. */
  function* attribute<T>(path: FreePath, fn: Kfn<T>): Kfn<T> {
    const was = { ...k.stats.pgtablesFreed };
    const r = yield* fn;
    for (const l of FREE_LEVELS) frees[l][path] += k.stats.pgtablesFreed[l] - was[l as TableLevel];
    return r;
  }
  const ctx: LoopContext = {
    k,
    x86,
    sched,
    cpus,
    iterations,
    passes,
    shifts,
    sync: o.params?.sync ?? true,
    attribute,
    measureStart,
    measureEnd,
  };
  const counted = LOOPS[workload](ctx);
  sim.process(
    "validation-end",
    (function* (): Kfn<void> {
      for (const t of counted.tasks) if (!t.exited.triggered) yield t.exited;
      rcu.stop();
    })(),
  );
  sim.run();
  const a = before as Snapshot | null;
  const b = after as Snapshot | null;
  if (a === null || b === null)
    throw new ParameterError("workload", workload, "a loop that measures", "runValidationModel");
  const events: number[][][] = [];
  for (let c = 0; c < cpus; c++) {
    const perCpu: number[][] = [];
    for (let r = 0; r < 5; r++)
      perCpu.push(
        [false, true].map((full) => {
          const i = flushEventIndex(c, r, full);
          return b.events[i]! - a.events[i]!;
        }),
      );
    events.push(perCpu);
  }
  return {
    workload,
    cpus,
    iterations: counted.iterations,
    tlbShootdowns: b.tlb.map((v, i) => v - a.tlb[i]!),
    callFunctionIpis: b.cal.map((v, i) => v - a.cal[i]!),
    tlbFlushEvents: events,
    tableFrees: frees,
    flushMmRange: [b.mmRange[0] - a.mmRange[0], b.mmRange[1] - a.mmRange[1]],
    cowFaults: b.cow - a.cow,
    simulatedNs: b.at - a.at,
    awaySwitches,
    awayMs: awayNs / 1e6,
  };
}

interface LoopContext {
  readonly k: Kernel;
  readonly x86: X86Mmu;
  readonly sched: Scheduler;
  readonly cpus: number;
  readonly iterations: number;
  readonly passes: number;
  readonly shifts: readonly number[];
  readonly sync: boolean;
  attribute<T>(path: FreePath, fn: Kfn<T>): Kfn<T>;
  measureStart(): void;
  measureEnd(): void;
}

interface Loop {
  readonly tasks: readonly Task[];
  readonly iterations: number;
}

/** User time of the few instructions between two system calls or accesses, ns. */
const USER_STEP_NS = 50;
/** A spinning thread's user-time chunk between checks of its flag, ns. */
const SPIN_NS = 2_000;

/** A thread of `mm`: switches the CPU to it when it first runs (as micro.ts's workers). */
function thread(
  c: LoopContext,
  mm: MmStruct,
  name: string,
  cpu: number,
  body: (t: Task) => Kfn<void>,
): Task {
  const t = c.sched.spawn(
    name,
    (task: Task) =>
      (function* (): Kfn<void> {
        task.data = mm;
        c.k.archOps.switch_mm(task.here, mm);
        yield* body(task);
      })(),
    cpu % c.cpus,
    [cpu % c.cpus],
  );
  return t;
}

/** A user access of the loop: the MMU check, and the fault if there is one. */
function* access(t: Task, k: Kernel, mm: MmStruct, addr: number, write: boolean): Kfn<void> {
  yield* t.user(USER_STEP_NS);
  yield* t.kernel((cpu: Cpu) => user_access(k, cpu, mm, addr, write));
}

function* mapFixed(c: LoopContext, t: Task, mm: MmStruct, addr: number, length: number): Kfn<void> {
  yield* t.kernel((cpu) => sys_mmap(c.k, cpu, mm, { addr, length, name: "validate" }));
}

function* unmap(c: LoopContext, t: Task, mm: MmStruct, addr: number, length: number): Kfn<void> {
  yield* t.kernel((cpu) => c.attribute("munmap", sys_munmap(c.k, cpu, mm, addr, length)));
}

/** Spins in user mode until `until()` holds. */
function* spinUntil(t: Task, until: () => boolean): Kfn<void> {
  while (!until()) yield* t.user(SPIN_NS);
}

function tlbFlush2(reuse: boolean) {
  return (c: LoopContext): Loop => {
    const mm = c.k.mm_alloc();
    const L = VALIDATION_LAYOUT;
    const threads = c.cpus;
    let ready = 0;
    let done = 0;
    let go = false;
    // the spinning barrier of the aligned passes
    let arrived = 0;
    let phase = 0;
    function* barrier(t: Task): Kfn<void> {
      const p = phase;
      if (++arrived === threads) {
        arrived = 0;
        phase++;
        return;
      }
      yield* spinUntil(t, () => phase !== p);
    }
    const tasks: Task[] = [];
    for (let i = 0; i < threads; i++)
      tasks.push(
        thread(c, mm, `tlb_flush2#${i}`, i, (t) =>
          (function* (): Kfn<void> {
            ready++;
            if (ready === threads) {
              c.measureStart();
              go = true;
            }
            yield* spinUntil(t, () => go);
            let addr = 0;
            for (let pass = 0; pass < c.passes; pass++) {
              if (!reuse || pass === 0) {
                addr = yield* t.kernel((cpu) =>
                  sys_mmap(c.k, cpu, mm, { length: L.tlbFlush2Bytes, name: `tlb_flush2#${i}` }),
                );
                if (c.sync) yield* barrier(t);
              }
              for (let off = 0; off < L.tlbFlush2Bytes; off += PAGE) {
                yield* access(t, c.k, mm, addr + off, true);
                yield* t.user(USER_STEP_NS);
                yield* t.kernel((cpu) => sys_madvise_dontneed(c.k, cpu, mm, addr + off, PAGE));
                yield* access(t, c.k, mm, addr + off, false);
              }
              if (!reuse || pass === c.passes - 1) {
                yield* unmap(c, t, mm, addr, L.tlbFlush2Bytes);
                if (c.sync) yield* barrier(t);
              }
            }
            done++;
            if (done === threads) c.measureEnd();
            yield* spinUntil(t, () => done === threads);
          })(),
        ),
      );
    mm.mm_users = threads;
    return { tasks, iterations: threads * c.passes * (L.tlbFlush2Bytes / PAGE) };
  };
}

function mmapMunmap(spinner: boolean) {
  return (c: LoopContext): Loop => {
    const mm = c.k.mm_alloc();
    const L = VALIDATION_LAYOUT;
    let stop = false;
    let spinning = !spinner;
    const tasks: Task[] = [];
    if (spinner)
      tasks.push(
        thread(c, mm, "spinner", 1, (t) =>
          (function* (): Kfn<void> {
            spinning = true;
            yield* spinUntil(t, () => stop);
          })(),
        ),
      );
    tasks.push(
      thread(c, mm, "main", 0, (t) =>
        (function* (): Kfn<void> {
          yield* spinUntil(t, () => spinning);
          c.measureStart();
          for (let it = 0; it < c.iterations; it++) {
            yield* mapFixed(c, t, mm, L.smallBase, L.smallBytes);
            for (let o = 0; o < L.smallBytes; o += PAGE)
              yield* access(t, c.k, mm, L.smallBase + o, true);
            yield* unmap(c, t, mm, L.smallBase, L.smallBytes);
          }
          c.measureEnd();
          stop = true;
        })(),
      ),
    );
    mm.mm_users = tasks.length;
    return { tasks, iterations: c.iterations };
  };
}

/** Maps the tables region at its fixed address and writes one byte per 2 MiB. */
function* touchRegion(c: LoopContext, t: Task, mm: MmStruct): Kfn<void> {
  const L = VALIDATION_LAYOUT;
  yield* mapFixed(c, t, mm, L.regionStart, L.regionBytes);
  for (let o = 0; o < L.regionBytes; o += L.regionStride)
    yield* access(t, c.k, mm, L.regionStart + o, true);
}

function munmapLarge(c: LoopContext): Loop {
  const mm = c.k.mm_alloc();
  const L = VALIDATION_LAYOUT;
  const t = thread(c, mm, "main", 0, (t) =>
    (function* (): Kfn<void> {
      yield* mapFixed(c, t, mm, L.neighbour, PAGE);
      yield* access(t, c.k, mm, L.neighbour, true);
      c.measureStart();
      for (let it = 0; it < c.iterations; it++) {
        yield* touchRegion(c, t, mm);
        yield* unmap(c, t, mm, L.regionStart, L.regionBytes);
      }
      c.measureEnd();
    })(),
  );
  return { tasks: [t], iterations: c.iterations };
}

/** do_exit's exit_mm: the CPU keeps the mm lazily, the last mmput tears it down. */
function* exitMm(c: LoopContext, t: Task, mm: MmStruct): Kfn<void> {
  yield* t.kernel((cpu) => {
    t.data = undefined;
    c.x86.enter_lazy_tlb(cpu);
    return c.attribute("exit_mmap", mmput(c.k, cpu, mm));
  });
}

/** Parent and child processes, one after another, all pinned to CPU 0: `child(t, i)` is the
 * i-th child's life. The parent waits for each (it does not flush anything itself). */
function childLoop(c: LoopContext, child: (t: Task, mm: MmStruct, i: number) => Kfn<void>): Loop {
  const tasks: Task[] = [];
  const parentMm = c.k.mm_alloc();
  const parent = thread(c, parentMm, "parent", 0, (t) =>
    (function* (): Kfn<void> {
      c.measureStart();
      for (let i = 0; i < c.iterations; i++) {
        const mm = c.k.mm_alloc();
        const ch = thread(c, mm, `child#${i}`, 0, (ct) => child(ct, mm, i));
        tasks.push(ch);
        yield* t.waitFor(ch.exited);
      }
      c.measureEnd();
    })(),
  );
  tasks.unshift(parent);
  return { tasks, iterations: c.iterations };
}

function exitTables(c: LoopContext): Loop {
  return childLoop(c, (t, mm) =>
    (function* (): Kfn<void> {
      yield* touchRegion(c, t, mm);
      yield* exitMm(c, t, mm);
    })(),
  );
}

function forkExec(c: LoopContext): Loop {
  return childLoop(c, (t, _forked, i) =>
    (function* (): Kfn<void> {
      // The forked copy of the parent is not modelled (no fork): exec starts from a fresh mm.
      const mm = yield* t.kernel((cpu) =>
        c.attribute(
          "shift_arg_pages",
          do_execve(c.k, cpu, null, { argPages: 1, stackShift: c.shifts[i]! }),
        ),
      );
      t.data = mm;
      yield* exitMm(c, t, mm);
    })(),
  );
}

function lazyTlb(c: LoopContext): Loop {
  const mm = c.k.mm_alloc();
  const L = VALIDATION_LAYOUT;
  let wake = new SimEvent<void>("futex");
  let stop = false;
  let bAsleep = false;
  let mapped = false;
  let b: Task | null = null;
  const tasks: Task[] = [];
  b = thread(c, mm, "B", 1, (t) =>
    (function* (): Kfn<void> {
      // the C maps the page before it creates B
      yield* spinUntil(t, () => mapped);
      while (!stop) {
        yield* access(t, c.k, mm, L.lazyPage, true);
        const ev = wake;
        bAsleep = true;
        yield* t.waitFor(ev);
        bAsleep = false;
      }
    })(),
  );
  tasks.push(b);
  /** A polls until B has switched out (its CPU idle, lazy), then sleeps 5 ms, as the C does. */
  function* waitSwitchedOut(t: Task): Kfn<void> {
    yield* spinUntil(t, () => bAsleep && b!.state === "sleeping");
    yield* t.sleep(5_000_000);
  }
  tasks.push(
    thread(c, mm, "A", 0, (t) =>
      (function* (): Kfn<void> {
        yield* mapFixed(c, t, mm, L.lazyPage, PAGE);
        mapped = true;
        yield* waitSwitchedOut(t);
        c.measureStart();
        for (let it = 0; it < c.iterations; it++) {
          yield* t.kernel((cpu) => sys_madvise_dontneed(c.k, cpu, mm, L.lazyPage, PAGE));
          for (let k2 = 0; k2 < 2; k2++) {
            yield* mapFixed(c, t, mm, L.lazyUnmap, L.smallBytes);
            for (let o = 0; o < L.smallBytes; o += PAGE)
              yield* access(t, c.k, mm, L.lazyUnmap + o, true);
            yield* unmap(c, t, mm, L.lazyUnmap, L.smallBytes);
          }
          const ev = wake;
          wake = new SimEvent<void>("futex");
          bAsleep = false;
          ev.succeed();
          yield* waitSwitchedOut(t);
        }
        c.measureEnd();
        stop = true;
        const ev = wake;
        wake = new SimEvent<void>("futex");
        ev.succeed();
      })(),
    ),
  );
  mm.mm_users = 2;
  return { tasks, iterations: c.iterations };
}

const LOOPS: Record<ValidationWorkload, (c: LoopContext) => Loop> = {
  tlb_flush2: tlbFlush2(false),
  "tlb_flush2-reuse": tlbFlush2(true),
  "mmap-munmap": mmapMunmap(false),
  "mmap-munmap-2t": mmapMunmap(true),
  "munmap-large": munmapLarge,
  "exit-tables": exitTables,
  "fork-exec": forkExec,
  "lazy-tlb": lazyTlb,
};
