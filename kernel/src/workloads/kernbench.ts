/**
 * kernbench: `make -j N` of a Linux kernel, as the seed patch measured it, built from processes
 * that really build and tear down page tables.
 *
 * The build: a serial head (make reading the Makefiles, `prepare`), ~2,500 objects compiled in
 * parallel up to -j N, and a serial tail (vmlinux and module linking, modpost). Each object is
 * Kbuild's rule_cc_o_c: sh → gcc driver → cc1 | as (joined by a pipe, -pipe), then fixdep,
 * objtool and mv: 7 processes, each exec'd into a fresh mm (do_execve, shift_arg_pages), mapping
 * text, heap and libraries and faulting in one page per 2 MiB region so that it builds its real
 * page tables (cc1 ≈ 64 tables, as ≈ 16, the small tools ≈ 10–12: costs.md §1e), munmapping
 * scratch areas, and exiting (exit_mmap): every page-table page goes through mmu_gather and the
 * profile's table-freeing path. The rest of a process's ~20,000 faults (51 M per build) and of
 * its data pages are aggregated: charged as system time, not simulated one by one.
 *
 * Runs of one build differ in timing, in each exec's layout factor on its CPU time and in the
 * scheduler tick's samples of the user/system split (docs/model.md, "Run-to-run variance").
 *
 * Statistics are what GNU time prints for the whole make (`%e %U %S %P %c %w`): elapsed, user,
 * system, percent CPU, involuntary and voluntary context switches.
 */
import type { Cpu } from "../hw/cpu.js";
import { paravirt_alloc_run, paravirt_alloc_take, type Kernel } from "../mm/kernel.js";
import { faultIn, handle_mm_fault } from "../mm/memory.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { do_execve, mmput, sys_mmap, sys_munmap } from "../mm/mmap.js";
import { SimEvent } from "../sim/event.js";
import { Rng } from "../sim/rng.js";
import type { Kfn } from "../sim/process.js";
import type { Scheduler, Task } from "../sched/scheduler.js";
import { cputimeAdjust } from "../sched/cputime.js";
import { kbuildDirs, type KbuildParams } from "./kbuild-tree.js";

/** Process kinds of one object's compile, with their page-table and time budgets. */
export interface ProcKind {
  readonly name: string;
  /** Page-table pages (below the pgd) at peak: costs.md §1e VmPTE figures. */
  readonly tables: number;
  /** User time, ns (mean). */
  readonly userNs: number;
  /** Faults besides the table-building ones (aggregated). */
  readonly faults: number;
  /** Other system time (syscalls: open, read, write, stat…), ns. */
  readonly sysNs: number;
  /** munmap calls of scratch areas (costs.md §1e: 8 per kernel-like cc1). */
  readonly munmaps: number;
}

export interface BuildParams {
  /** Objects compiled. */
  readonly objects: number;
  readonly sh: ProcKind;
  readonly gcc: ProcKind;
  readonly cc1: ProcKind;
  readonly as: ProcKind;
  readonly fixdep: ProcKind;
  readonly objtool: ProcKind;
  readonly mv: ProcKind;
  /** Spread of cc1's user time between objects (lognormal sigma). */
  readonly cc1Sigma: number;
  /** Spread of one process's CPU time (its user work and its aggregated faults and syscalls)
   * between executions of the same program on the same input (lognormal sigma): each exec gets
   * a fresh address-space layout (ASLR: stack, mmap and heap bases, the stack's sub-page offset)
   * and other physical pages, so its cache-set and branch-predictor aliasing differ. Measured
   * (workloads/hosts.ts, docs/model.md "Run-to-run variance"). Drawn per exec from the run's
   * seed; 0: every execution of a program costs the same. */
  readonly execSigma: number;
  /** Whether a process's aggregated faults and syscalls (`faults` × `faultNs` and half its
   * `sysNs`) run spread through its user time, as the many short kernel entries they are, so
   * that each scheduler tick samples kernel mode with the probability of their share
   * (Task.user's interleaved work); false: in one kernel span after exec, where the ticks count
   * them almost exactly. */
  readonly interleaveKernel: boolean;
  /** Seed of the source tree: which objects are big. Fixed per host, not per run. */
  readonly treeSeed: number;
  /** Pipe writes from cc1 to as: as waits (sleeps) for each. */
  readonly pipeChunks: number;
  /** make's own serial work before the objects (Makefile parsing, prepare), ns of user time. */
  readonly serialHeadNs: number;
  /** Serial linking after the objects (vmlinux, kallsyms passes, modpost), ns of user time,
   * in `tailSteps` processes. */
  readonly serialTailNs: number;
  readonly tailSteps: number;
  /** make's latency between reaping a job and starting the next (dependency checks, stat of
   * prerequisites), spent sleeping, ns. Calibrated. */
  readonly makeJobGapNs: number;
  /** Cost of one aggregated fault, ns (entry, allocation, zeroing): costs.md §1e ≤ 2.5 µs. */
  readonly faultNs: number;
  /** Cost of tearing down one aggregated data page at exit (zap + free), ns. */
  readonly pageTeardownNs: number;
  /** kbuild's recursion (one sub-make per directory under make's jobserver,
   * workloads/kbuild-tree.ts); absent or null: make starts the objects from one flat list. */
  readonly kbuild?: KbuildParams | null;
}

/** What GNU time reports for one make, in kernbench's units. */
export interface BuildStats {
  /** seconds */
  readonly elapsed: number;
  readonly user: number;
  readonly system: number;
  /** (user + system) / elapsed × 100, as %P prints it (an integer). */
  readonly percentCpu: number;
  /** %c: involuntary context switches. */
  readonly contextSwitches: number;
  /** %w: voluntary context switches (waits). */
  readonly sleeps: number;
  /** Processes run. */
  readonly processes: number;
}

const GB = 2 ** 30;
const MB = 2 ** 20;

/**
 * Lays out a process's address space and faults in one page per 2 MiB region so that it holds
 * `tables` page-table pages: text and data near 0x400000, heap above it, shared libraries below
 * mmap_base (another pud), the stack at the top (from exec).
 */
function* populate(k: Kernel, cpu: Cpu, mm: MmStruct, tables: number): Kfn<number> {
  // exec already built the stack's pte, pmd and pud tables (3)
  const pte = Math.max(1, tables - 3 - 2); // heap/text pmd+pud, libs pmd+pud
  const libs = Math.min(4, Math.max(1, Math.floor(pte / 8)));
  const text = Math.max(1, Math.floor((pte - libs) / 3));
  const heap = Math.max(0, pte - libs - text);
  const base = 4 * MB;
  yield* sys_mmap(k, cpu, mm, { addr: base, length: (text + heap) * 2 * MB, name: "text+heap" });
  const libBase = 0x7f00_0000_0000;
  yield* sys_mmap(k, cpu, mm, { addr: libBase, length: libs * 2 * MB, name: "libs" });
  // The faults run back to back under mmap_sem (nothing can free these tables meanwhile), so
  // they are taken in one step and their time charged together.
  let faults = 0;
  let ns = 0;
  for (let i = 0; i < text + heap; i++) {
    ns += faultIn(k, mm, base + i * 2 * MB).costNs;
    faults++;
  }
  for (let i = 0; i < libs; i++) {
    ns += faultIn(k, mm, libBase + i * 2 * MB).costNs;
    faults++;
  }
  const pv = paravirt_alloc_take(k);
  yield ns;
  yield* paravirt_alloc_run(k, cpu, pv);
  return faults;
}

/** One scratch mmap → touch → munmap in a fresh 2 MiB region (malloc trimming, buffers). */
function* scratch(k: Kernel, cpu: Cpu, mm: MmStruct, i: number): Kfn<void> {
  const addr = 64 * GB + i * 2 * MB;
  yield* sys_mmap(k, cpu, mm, { addr, length: 256 * 1024, name: "scratch" });
  yield* handle_mm_fault(k, cpu, mm, addr);
  yield* sys_munmap(k, cpu, mm, addr, 256 * 1024);
}

export interface ProcessLife {
  /** User work, ns (before the exec's layout factor), split into `parts` pieces between which
   * `between(i)` runs. */
  readonly userNs: number;
  readonly parts?: number;
  /** Runs between part i and part i + 1 (and after the last); null: nothing to run. */
  readonly between?: (i: number) => Kfn<void> | null;
  /** This exec's layout factor on its user work and aggregated kernel work
   * (BuildParams.execSigma). Default 1. */
  readonly layout?: number;
}

/**
 * A process from exec to exit under the scheduler: exec into a fresh mm, build its tables,
 * aggregated faults, user work, scratch munmaps, exit.
 */
export function* processLife(
  k: Kernel,
  t: Task,
  b: BuildParams,
  kind: ProcKind,
  life: ProcessLife,
): Kfn<void> {
  const mm = yield* t.kernel((cpu) =>
    do_execve(k, cpu, null, { argPages: 2, stackShift: 0x20000000 }),
  );
  t.data = mm;
  k.archOps.switch_mm(t.here, mm);
  const layout = life.layout ?? 1;
  // the faults of a growing heap and the syscalls of the run (scaled by the exec's factor like
  // its user work: the same cache effects act in kernel mode)
  const runKernelNs = (kind.faults * b.faultNs + kind.sysNs / 2) * layout;
  const userNs = life.userNs * layout;
  const interleave = b.interleaveKernel && userNs > 0;
  yield* t.kernel((cpu) => populate(k, cpu, mm, kind.tables), interleave ? 0 : runKernelNs);
  const parts = life.parts ?? 1;
  for (let i = 0; i < parts; i++) {
    yield* t.user(userNs / parts, interleave ? runKernelNs / parts : 0);
    if (i < kind.munmaps) yield* t.kernel((cpu) => scratch(k, cpu, mm, i));
    const between = life.between?.(i) ?? null;
    if (between !== null) yield* between;
  }
  for (let i = parts; i < kind.munmaps; i++) yield* t.kernel((cpu) => scratch(k, cpu, mm, i));
  // do_exit → exit_mm: the CPU stops using the mm (lazily: it stays loaded until the next switch)
  yield* t.kernel((cpu) => mmput(k, cpu, mm), kind.faults * b.pageTeardownNs + kind.sysNs / 2);
}

/** A pipe from cc1 to as: as waits for each of `n` writes. */
class Pipe {
  readonly writes: SimEvent<void>[];
  constructor(n: number) {
    this.writes = Array.from({ length: n }, () => new SimEvent<void>("pipe write"));
  }
}

/** Draws a lognormal multiplier with median 1 and the given sigma (Box–Muller on the sim RNG). */
function lognormal(rng: { float(): number }, sigma: number): number {
  const u1 = Math.max(1e-12, rng.float());
  const u2 = rng.float();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(sigma * z - (sigma * sigma) / 2);
}

/** What an object's processes need of the build they belong to. */
interface Build {
  readonly k: Kernel;
  readonly b: BuildParams;
  /** fork + exec of a child whose rusage is folded into make's. */
  readonly spawn: (name: string, body: (t: Task) => Kfn<void>, near: number) => Task;
  /** cc1's user time per object. */
  readonly cc1Cost: readonly number[];
  /** The layout factor of the next exec (BuildParams.execSigma). */
  readonly layout: () => number;
}

// The object's steps are module-level generator functions, not closures made per object
// (docs/benchmarks.md, "Performance devices").

/** The sh of rule_cc_o_c, between its two halves: gcc, then fixdep, objtool and mv. */
function* compileObject(build: Build, t: Task, obj: number): Kfn<void> {
  const { k, b } = build;
  const gcc = build.spawn(
    "gcc",
    (g) =>
      processLife(k, g, b, b.gcc, {
        userNs: b.gcc.userNs,
        parts: 1,
        between: () => gccDriver(build, g, obj),
        layout: build.layout(),
      }),
    t.here.id,
  );
  yield* t.waitFor(gcc.exited);
  yield* runChild(build, t, "fixdep", b.fixdep);
  yield* runChild(build, t, "objtool", b.objtool);
  yield* runChild(build, t, "mv", b.mv);
}

/** The gcc driver: runs cc1 and as, joined by a pipe, and waits for both. */
function* gccDriver(build: Build, g: Task, obj: number): Kfn<void> {
  const { k, b } = build;
  const pipe = new Pipe(b.pipeChunks);
  const cc1User = build.cc1Cost[obj]!;
  const cc1 = build.spawn(
    "cc1",
    (c) =>
      processLife(k, c, b, b.cc1, {
        userNs: cc1User,
        parts: b.pipeChunks,
        between: (w) => pipeWrite(pipe, w),
        layout: build.layout(),
      }),
    g.here.id,
  );
  const as = build.spawn(
    "as",
    (a) =>
      processLife(k, a, b, b.as, {
        userNs: b.as.userNs,
        parts: b.pipeChunks,
        // as reads the pipe's writes in order, one per part
        between: (w) => a.waitFor(pipe.writes[w]!),
        layout: build.layout(),
      }),
    g.here.id,
  );
  yield* g.waitFor(cc1.exited);
  yield* g.waitFor(as.exited);
}

/** cc1's w-th write to the pipe: wakes as if it waits for it. */
function* pipeWrite(pipe: Pipe, w: number): Kfn<void> {
  pipe.writes[w]!.succeed();
  yield 0;
}

/** vfork + exec of a one-part child; the parent waits for it (a voluntary switch). */
function* runChild(build: Build, parent: Task, name: string, kind: ProcKind): Kfn<void> {
  const { k, b } = build;
  const c = build.spawn(
    name,
    (t) => processLife(k, t, b, kind, { userNs: kind.userNs, layout: build.layout() }),
    parent.here.id,
  );
  yield* parent.waitFor(c.exited);
}

/**
 * Runs one `make -j jobs` under `sched` on kernel `k`; resolves the GNU time statistics of the
 * make and all its descendants.
 */
export function* makeBuild(
  k: Kernel,
  sched: Scheduler,
  b: BuildParams,
  jobs: number,
): Kfn<BuildStats> {
  const sim = k.sim;
  const t0 = sim.now;
  // GNU time reads getrusage(RUSAGE_CHILDREN): each reaped descendant's times and switches are
  // added up as it exits (wait4 folds them into the parent's), so dead tasks are not kept. The
  // times are what wait4 reports: the exact runtime split by the task's tick samples
  // (cputime_adjust, sched/cputime.ts).
  const children = { utime: 0, stime: 0, nvcsw: 0, nivcsw: 0, processes: 0 };
  const spawn = (name: string, body: (t: Task) => Kfn<void>, near: number): Task => {
    const t = sched.spawn(name, body, near);
    t.exited.then(() => {
      const { utime, stime } = cputimeAdjust(t.stats);
      children.utime += utime;
      children.stime += stime;
      children.nvcsw += t.stats.nvcsw;
      children.nivcsw += t.stats.nivcsw;
      children.processes++;
    });
    return t;
  };
  let childExit = new SimEvent<void>("child exit");
  const notifyExit = () => {
    const ev = childExit;
    childExit = new SimEvent<void>("child exit");
    ev.succeed();
  };
  // The source tree is the same in every run: each object's compile cost comes from a fixed
  // stream (the build's own seed), not from the run's seed, so runs differ only in timing.
  const sizes = new Rng(b.treeSeed);
  const cc1Cost = Array.from(
    { length: b.objects },
    () => b.cc1.userNs * lognormal(sizes, b.cc1Sigma),
  );

  // Each exec's layout factor, from its own stream of the run's seed (forked only when the
  // spread is on, so that a build without it draws exactly what it drew before).
  const layoutRng = b.execSigma > 0 ? sim.rng.fork() : null;
  const layout = (): number => (layoutRng === null ? 1 : lognormal(layoutRng, b.execSigma));
  const build: Build = { k, b, spawn, cc1Cost, layout };
  const objectJob =
    (obj: number) =>
    (t: Task): Kfn<void> =>
      processLife(k, t, b, b.sh, {
        userNs: b.sh.userNs,
        parts: 2,
        between: (i) => (i === 0 ? compileObject(build, t, obj) : null),
        layout: build.layout(),
      });

  const make = spawn(
    "make",
    (m) =>
      (function* (): Kfn<void> {
        // make is one exec too: its layout factor scales all its own work
        const makeLayout = build.layout();
        yield* m.user(b.serialHeadNs * makeLayout);
        const kb = b.kbuild ?? null;
        if (kb !== null)
          yield* kbuildDirs({ k, b, kb, jobs, spawn, objectJob, layout }, m, makeLayout);
        let next = kb === null ? 0 : b.objects;
        let running = 0;
        while (next < b.objects || running > 0) {
          while (running < jobs && next < b.objects) {
            const job = spawn(`sh#${next}`, objectJob(next), m.here.id);
            next++;
            running++;
            job.exited.then(() => {
              running--;
              notifyExit();
            });
          }
          yield* m.waitFor(childExit);
          yield* m.user(20_000 * makeLayout); // make reaps the child and updates its job slots
          if (b.makeJobGapNs > 0 && next < b.objects) yield* m.sleep(b.makeJobGapNs);
        }
        for (let s = 0; s < b.tailSteps; s++) {
          const ld = spawn(
            "ld",
            (t) =>
              processLife(k, t, b, b.gcc, {
                userNs: b.serialTailNs / b.tailSteps,
                parts: 4,
                layout: build.layout(),
              }),
            m.here.id,
          );
          yield* m.waitFor(ld.exited);
        }
      })(),
    0,
  );
  yield waitForTask(make);
  const user = children.utime / 1e9;
  const system = children.stime / 1e9;
  const elapsed = (sim.now - t0) / 1e9;
  return {
    elapsed,
    user,
    system,
    percentCpu: Math.round(((user + system) / elapsed) * 100),
    contextSwitches: children.nivcsw,
    sleeps: children.nvcsw,
    processes: children.processes,
  };
}

function waitForTask(t: Task): SimEvent<void> {
  return t.exited;
}
