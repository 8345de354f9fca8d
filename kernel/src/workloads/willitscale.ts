/**
 * will-it-scale's tlb_flush2_threads (antonblanchard/will-it-scale, tests/tlb_flush2.c built with
 * -DTHREADS): N threads of one process, each pinned to its own CPU, each looping
 *
 *     addr = mmap(NULL, 1 MiB, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|MAP_PRIVATE)
 *     for each 4 KiB page:  addr[i] = 1; madvise(addr + i, 4096, MADV_DONTNEED);
 *                           assert(addr[i] == 0); (*iteration)++
 *     munmap(addr, 1 MiB)
 *
 * so every counted iteration is a write fault, a one-page zap whose flush goes to every other CPU
 * running the process, and a read fault on the zero page. will-it-scale reports iterations per
 * second summed over the threads (main.c averages its 1 s samples after 5 warm-up ones; the model
 * counts over a simulated window after a warm-up of its own).
 *
 * What the model leaves out, and what it costs the comparison with published figures, is in
 * docs/model.md ("will-it-scale tlb_flush2_threads"): above all the LRU lock that every
 * iteration takes through lru_add_drain, which bounds the published throughput.
 */
import type { Cpu } from "../hw/cpu.js";
import { sys_madvise_dontneed, sys_mmap, sys_munmap, user_access } from "../mm/mmap.js";
import { Scheduler, type Task } from "../sched/scheduler.js";
import { checkInt } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { buildSystem, type BackendOptions } from "../system/build.js";
import { contextSwitchMm } from "../system/context-switch.js";
import type { CostModel } from "../hw/costs.js";

export interface TlbFlush2Options {
  readonly profile: string;
  readonly backend: string;
  /** Threads, one per CPU (will-it-scale pins task i to CPU i). */
  readonly threads: number;
  /** Simulated time counted, ns, after `warmupNs`. */
  readonly durationNs: number;
  readonly warmupNs?: number;
  readonly seed?: number;
  readonly hz?: number;
  readonly costs?: Partial<CostModel>;
  readonly backendOptions?: BackendOptions;
}

export interface TlbFlush2Result {
  readonly threads: number;
  /** Iterations counted in the window, all threads. */
  readonly iterations: number;
  /** will-it-scale's figure: iterations per second, all threads. */
  readonly loopsPerSec: number;
  /** Of the threads' CPU time in the window, the share spent in TLB invalidation: waiting in
   * flush_tlb_others (the initiator) plus the flush interrupts handled (the targets). */
  readonly tlbInvalidationShare: number;
  /** Mean wait of one remote flush, ns. */
  readonly meanFlushWaitNs: number;
  readonly remoteFlushes: number;
  readonly ipis: number;
}

/** Most threads: will-it-scale's own ceiling is 1,024 tasks; the model's machine is smaller. */
export const MAX_TLB_FLUSH2_THREADS = 256;
/** Longest counted window, ns. */
export const MAX_TLB_FLUSH2_NS = 1_000_000_000;

const MB = 2 ** 20;
const PAGE = 4096;
/** The user instructions between two accesses or system calls of the loop, ns. */
const USER_STEP_NS = 50;

export function runTlbFlush2(o: TlbFlush2Options): TlbFlush2Result {
  const ctx = "tlb_flush2_threads";
  const threads = checkInt("threads", o.threads, 1, MAX_TLB_FLUSH2_THREADS, ctx);
  const duration = checkInt("durationNs", o.durationNs, 1_000, MAX_TLB_FLUSH2_NS, ctx);
  const warmup = checkInt("warmupNs", o.warmupNs ?? duration / 4, 0, MAX_TLB_FLUSH2_NS, ctx);
  const sys = buildSystem({
    profile: o.profile,
    backend: o.backend,
    nrCpus: threads,
    seed: o.seed ?? 1,
    trace: false,
    history: false,
    ...(o.hz !== undefined ? { hz: o.hz } : {}),
    ...(o.costs !== undefined ? { costs: o.costs } : {}),
    ...(o.backendOptions !== undefined ? { backendOptions: o.backendOptions } : {}),
  });
  const { sim, m, k, x86, rcu } = sys;
  const mm = k.mm_alloc();
  mm.mm_users = threads + 1;
  const sched = new Scheduler(m, { onSwitch: contextSwitchMm(x86) });
  k.sched = sched.schedOps();
  rcu.start();
  const start = sim.now + warmup;
  const end = start + duration;
  let iterations = 0;
  // the counters at the window's start
  let flushNs0 = 0;
  let flushes0 = 0;
  let irqs0 = 0;
  let ipis0 = 0;
  sim.schedule(warmup, () => {
    flushNs0 = x86.stats.flushOthersNs;
    flushes0 = x86.stats.remoteFlushes;
    irqs0 = flushIrqs();
    ipis0 = m.ipisSent;
  });
  const flushIrqs = () =>
    m.cpus.reduce((n, c) => n + c.stats.irqs.CALL_FUNCTION + c.stats.irqs.CALL_FUNCTION_SINGLE, 0);

  const worker =
    (i: number) =>
    (t: Task): Kfn<void> =>
      (function* (): Kfn<void> {
        t.data = mm;
        k.archOps.switch_mm(t.here, mm);
        // each thread's mapping in its own 2 MiB slot, as mmap(NULL) places them apart
        const base = 0x7f00_0000_0000 - (i + 1) * 2 * MB;
        while (sim.now < end) {
          yield* t.kernel((cpu) =>
            sys_mmap(k, cpu, mm, { addr: base, length: MB, name: "tlb_flush2" }),
          );
          for (let p = 0; p < MB / PAGE && sim.now < end; p++) {
            const addr = base + p * PAGE;
            yield* t.user(USER_STEP_NS);
            yield* t.kernel((cpu: Cpu) => user_access(k, cpu, mm, addr, true));
            yield* t.kernel((cpu: Cpu) => sys_madvise_dontneed(k, cpu, mm, addr, PAGE));
            yield* t.kernel((cpu: Cpu) => user_access(k, cpu, mm, addr, false));
            if (sim.now >= start && sim.now < end) iterations++;
          }
          yield* t.kernel((cpu) => sys_munmap(k, cpu, mm, base, MB));
        }
      })();
  const tasks = Array.from({ length: threads }, (_, i) =>
    sched.spawn(`tlb_flush2#${i}`, worker(i), i),
  );
  let flushNs = 0;
  let flushes = 0;
  let irqs = 0;
  let ipis = 0;
  sim.schedule(warmup + duration, () => {
    flushNs = x86.stats.flushOthersNs - flushNs0;
    flushes = x86.stats.remoteFlushes - flushes0;
    irqs = flushIrqs() - irqs0;
    ipis = m.ipisSent - ipis0;
  });
  sim.process(
    "tlb_flush2-end",
    (function* (): Kfn<void> {
      for (const t of tasks) if (!t.exited.triggered) yield t.exited;
      rcu.stop();
    })(),
  );
  sim.run();
  const c = m.costs;
  // a flush interrupt's handler: entry, the csd call, one INVLPG, exit
  const handlerNs = c.irqEntryNs + c.csdCallNs + c.invlpgNs + c.irqExitNs;
  const cpuNs = threads * duration;
  return {
    threads,
    iterations,
    loopsPerSec: iterations / (duration / 1e9),
    tlbInvalidationShare: (flushNs + irqs * handlerNs) / cpuNs,
    meanFlushWaitNs: flushes > 0 ? flushNs / flushes : 0,
    remoteFlushes: flushes,
    ipis,
  };
}
