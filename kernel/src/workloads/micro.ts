/**
 * Multi-threaded memory-management microworkloads, on the scheduler, with every flush going
 * through the modelled backend — optionally inside an overcommitted guest:
 *
 *   madvise-storm   will-it-scale tlb_flush2-like: each thread faults a chunk in and drops it
 *                   with madvise(MADV_DONTNEED), so every iteration flushes the TLBs of all the
 *                   CPUs running the process (Rik van Riel's INVLPGB measurements used it).
 *   ebizzy          ebizzy -M-like: each thread mmaps a chunk of random size, touches it, searches
 *                   it (user time) and munmaps it; records/s (the KVM PV TLB flush cover letter's
 *                   workload, measured in overcommitted guests).
 *   mmap-munmap     one thread mapping, touching and unmapping in a loop (the seed's
 *                   "mmap/munmap microbenchmark"), tables freed every time.
 *   gup-vs-munmap   threads pinning pages of a buffer with gup_fast (direct-I/O-like) while
 *                   another maps and unmaps it; the oracle counts use-after-free reads.
 *
 * A guest (`host.pcpus` < vCPUs, `host.otherVcpus` of other VMs) time-slices the vCPUs: a native
 * flush then waits for descheduled vCPUs, KVM's PV flush skips them, a hypercall flush never waits.
 */
import {
  buildHostSystem,
  buildSystem,
  type BackendOptions,
  type GuestSpec,
  type System,
} from "../system/build.js";
import { contextSwitchMm } from "../system/context-switch.js";
import { __get_user_pages_fast } from "../gup/gup-fast.js";
import type { CostModel } from "../hw/costs.js";
import type { HostParams, HostStats } from "../hw/host.js";
import { sys_madvise_dontneed, sys_mmap, sys_munmap } from "../mm/mmap.js";
import { handle_mm_fault } from "../mm/memory.js";
import { Scheduler, type Task } from "../sched/scheduler.js";
import { checkInt, checkOptions, UnknownNameError } from "../sim/errors.js";
import { SimEvent } from "../sim/event.js";
import type { Kfn } from "../sim/process.js";
import { guestStealAccounting } from "../system/steal-clock.js";

export const MICRO_WORKLOADS = ["madvise-storm", "ebizzy", "mmap-munmap", "gup-vs-munmap"] as const;
export type MicroWorkload = (typeof MICRO_WORKLOADS)[number];

export interface MicroOptions {
  readonly workload: string;
  readonly profile: string;
  readonly backend: string;
  /** Worker threads of the process. Default: one per vCPU. */
  readonly threads?: number;
  /** vCPUs (CPUs). Default 4. */
  readonly nrCpus?: number;
  /** Simulated run time, ns. Default 20 ms. */
  readonly durationNs?: number;
  readonly seed?: number;
  /** A guest on an overcommitted host. */
  readonly host?: HostParams;
  /** CONFIG_HZ and cost overrides (a host spec's). Defaults: 1000 and costs.md's. */
  readonly hz?: number;
  readonly costs?: Partial<CostModel>;
  /** Variants of the backend (system/build.ts). */
  readonly backendOptions?: BackendOptions;
  /** The csdBatch modelling shortcut (system/build.ts). Default false. */
  readonly csdBatch?: boolean;
}

export interface MicroResult {
  readonly workload: MicroWorkload;
  readonly profile: string;
  readonly backend: string;
  readonly threads: number;
  /** Iterations (or records) completed, all threads. */
  readonly ops: number;
  /** ops per simulated second. */
  readonly opsPerSec: number;
  readonly remoteFlushes: number;
  readonly ipis: number;
  /** Mean time a flush spent in flush_tlb_others, ns. */
  readonly meanFlushWaitNs: number;
  readonly tablesFreed: number;
  readonly uaf: number;
  readonly hostPreemptions: number;
  /** The page allocator at the end: frames handed out, freed, and still allocated (the
   * process's tables and pages; nothing waits for RCU once the last grace period ended). */
  readonly frames: {
    readonly allocated: number;
    readonly freed: number;
    readonly inUse: number;
    readonly pendingRcu: number;
  };
  /** Present (true) when the run took the csdBatch modelling shortcut (system/build.ts). */
  readonly csdBatch?: true;
}

/** The options of a microworkload started in an existing guest ({@link startMicro}). */
export interface MicroWorkloadOptions {
  readonly workload: string;
  /** Worker threads. Default: one per vCPU. */
  readonly threads?: number;
  /** Simulated run time, ns. Default 20 ms. */
  readonly durationNs?: number;
}

export const MICRO_WORKLOAD_OPTION_KEYS = ["workload", "threads", "durationNs"] as const;

/** A microworkload running in a guest: `done` triggers when its last thread exits. */
export interface MicroRun {
  readonly done: SimEvent<void>;
  readonly durationNs: number;
  /** Operations completed so far. */
  ops(): number;
  /** The result (host counters are the host's, shared by its guests). */
  result(): MicroResult;
}

const MB = 2 ** 20;

/**
 * Longest simulated run, ns: 10 s, about 20 s of wall time on 4 CPUs; more CPUs and an
 * overcommitted host cost more per simulated second (docs/reliability.md).
 */
export const MAX_DURATION_NS = 10_000_000_000;

/** Checks a microworkload's options (a guest spec's workload too). */
export function checkMicroWorkload(
  o: MicroWorkloadOptions,
  nrCpus: number,
  ctx = "runMicro",
): { workload: MicroWorkload; threads: number; durationNs: number } {
  checkOptions("workload options", o, MICRO_WORKLOAD_OPTION_KEYS, ctx);
  if (!(MICRO_WORKLOADS as readonly string[]).includes(o.workload))
    throw new UnknownNameError("workload", o.workload, MICRO_WORKLOADS, ctx);
  return {
    workload: o.workload as MicroWorkload,
    threads: checkInt("threads", o.threads ?? nrCpus, 1, 1024, ctx),
    durationNs: checkInt("durationNs", o.durationNs ?? 20_000_000, 1_000, MAX_DURATION_NS, ctx),
  };
}

export function runMicro(o: MicroOptions): MicroResult {
  const nrCpus = checkInt("nrCpus", o.nrCpus ?? 4, 1, 256, "runMicro");
  checkMicroWorkload(
    {
      workload: o.workload,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.durationNs !== undefined ? { durationNs: o.durationNs } : {}),
    },
    nrCpus,
  );
  const sys = buildSystem({
    profile: o.profile,
    backend: o.backend,
    nrCpus,
    seed: o.seed ?? 1,
    trace: false,
    history: false,
    ...(o.host ? { host: o.host } : {}),
    ...(o.hz !== undefined ? { hz: o.hz } : {}),
    ...(o.costs !== undefined ? { costs: o.costs } : {}),
    ...(o.backendOptions !== undefined ? { backendOptions: o.backendOptions } : {}),
    ...(o.csdBatch !== undefined ? { csdBatch: o.csdBatch } : {}),
  });
  const { sim, rcu, host } = sys;
  rcu.start();
  if (o.host && (o.host.pcpus ?? nrCpus) * 1 < nrCpus + (o.host.otherVcpus ?? 0)) host.start();
  const run = startMicro(sys, {
    workload: o.workload,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.durationNs !== undefined ? { durationNs: o.durationNs } : {}),
  });
  let done = false;
  sim.process(
    "micro-end",
    (function* (): Kfn<void> {
      yield run.done;
      done = true;
      host.stop();
      // let the last grace periods end so RCU-freed tables are counted, then stop the tick
      yield 50_000_000;
      rcu.stop();
    })(),
  );
  sim.run();
  if (!done) throw new Error("runMicro: the workload did not finish");
  return { ...run.result(), profile: o.profile, backend: o.backend };
}

/**
 * Starts a microworkload's threads in a built guest (its own process and scheduler); the caller
 * starts RCU and the host and runs the simulation.
 */
export function startMicro(sys: System, o: MicroWorkloadOptions): MicroRun {
  const { sim, m, k, x86, host } = sys;
  const nrCpus = m.nrCpus;
  const { workload, threads, durationNs: duration } = checkMicroWorkload(o, nrCpus);
  const mm = k.mm_alloc();
  // a Xen PV guest in a shim: the process was exec'd, so its mm is pinned (xen_pgd_pin)
  x86.xenPv?.pinned_before_run(mm);
  mm.mm_users = threads + 1;
  const sched = new Scheduler(m, {
    onSwitch: contextSwitchMm(x86),
    // what a guest's vruntime makes of its vCPU's steal (no tick samples here: no user/system)
    stealAccounting: guestStealAccounting(sys.resolved.backend),
  });
  let ops = 0;
  const until = sim.now + duration;
  const rng = sim.rng;

  const body =
    (i: number) =>
    (t: Task): Kfn<void> =>
      (function* (): Kfn<void> {
        t.data = mm;
        k.archOps.switch_mm(t.here, mm);
        const base = 0x10_0000_0000 + i * 64 * MB;
        if (workload === "madvise-storm") {
          const len = 4 * 4096;
          yield* t.kernel((cpu) =>
            sys_mmap(k, cpu, mm, { addr: base, length: len, name: `chunk${i}` }),
          );
          while (sim.now < until) {
            yield* t.kernel((cpu) => touch(cpu, base, 4));
            yield* t.user(500);
            yield* t.kernel((cpu) => sys_madvise_dontneed(k, cpu, mm, base, len));
            ops++;
          }
        } else if (workload === "ebizzy" || workload === "mmap-munmap") {
          while (sim.now < until) {
            const pages = workload === "ebizzy" ? rng.int(4, 256) : 16;
            const len = pages * 4096;
            yield* t.kernel((cpu) =>
              sys_mmap(k, cpu, mm, { addr: base, length: len, name: `chunk${i}` }),
            );
            yield* t.kernel((cpu) => touch(cpu, base, Math.min(pages, 32)));
            yield* t.user(workload === "ebizzy" ? rng.int(5_000, 20_000) : 1_000);
            yield* t.kernel((cpu) => sys_munmap(k, cpu, mm, base, len));
            ops++;
          }
        } else {
          // gup-vs-munmap: thread 0 maps and unmaps the shared buffer; the others pin it
          const buf = 0x20_0000_0000;
          if (i === 0) {
            while (sim.now < until) {
              yield* t.kernel((cpu) =>
                sys_mmap(k, cpu, mm, { addr: buf, length: 64 * 4096, populate: true, name: "dio" }),
              );
              yield* t.user(rng.int(2_000, 10_000));
              yield* t.kernel((cpu) => sys_munmap(k, cpu, mm, buf, 64 * 4096));
              ops++;
            }
          } else {
            while (sim.now < until) {
              yield* t.kernel((cpu) => __get_user_pages_fast(k, cpu, mm, buf, 64));
              yield* t.user(rng.int(500, 3_000));
            }
          }
        }
      })();

  function* touch(
    cpu: Parameters<typeof handle_mm_fault>[1],
    base: number,
    pages: number,
  ): Kfn<void> {
    for (let p = 0; p < pages; p++) yield* handle_mm_fault(k, cpu, mm, base + p * 4096);
  }

  const tasks = Array.from({ length: threads }, (_, i) =>
    sched.spawn(`${workload}#${i}`, body(i), i % nrCpus),
  );
  const done = new SimEvent<void>("micro done");
  sim.process(
    "micro-wait",
    (function* (): Kfn<void> {
      for (const t of tasks) if (!t.exited.triggered) yield t.exited;
      done.succeed();
    })(),
  );
  const result = (): MicroResult => ({
    workload,
    profile: sys.resolved.profile.name,
    backend: sys.resolved.backend,
    threads,
    ops,
    opsPerSec: ops / (duration / 1e9),
    remoteFlushes: x86.stats.remoteFlushes,
    ipis: m.ipisSent,
    meanFlushWaitNs:
      x86.stats.remoteFlushes > 0 ? x86.stats.flushOthersNs / x86.stats.remoteFlushes : 0,
    tablesFreed: k.stats.tablesFreedDirect + k.stats.tablesFreedRcu,
    uaf: k.oracle.reports.length,
    hostPreemptions: host.stats.preemptions,
    frames: {
      allocated: k.alloc.stats.allocs,
      freed: k.alloc.stats.frees,
      inUse: k.alloc.inUse,
      pendingRcu: k.alloc.stats.inUse["pending-rcu"],
    },
    ...(m.csdBatch ? { csdBatch: true as const } : {}),
  });
  return { done, durationNs: duration, ops: () => ops, result };
}

/** Several guests on one host, each running a microworkload (`mmulab workload --vms/--guest`). */
export interface MicroVmsOptions {
  /** The host: physical CPUs, kernel, PLE (hw/host.ts HostParams). */
  readonly host: HostParams & { readonly pcpus: number };
  /** The guests; each names its workload (a micro workload) and may give threads/durationNs. */
  readonly guests: readonly GuestSpec[];
  readonly seed?: number;
  /** Every guest's CONFIG_HZ and cost overrides. */
  readonly hz?: number;
  readonly costs?: Partial<CostModel>;
}

export interface MicroVmsResult {
  /** One result per guest, in spec order. */
  readonly guests: readonly MicroResult[];
  /** The host's counters (shared by the guests). */
  readonly host: HostStats;
  /** Mean steal time per vCPU over the run, ns. */
  readonly meanStealNs: number;
  /** Simulated time until the last guest's workload finished, ns. */
  readonly elapsedNs: number;
}

/** Runs every guest's microworkload on one host until all have finished. */
export function runMicroVms(o: MicroVmsOptions): MicroVmsResult {
  checkOptions("options", o, ["host", "guests", "seed", "hz", "costs"], "runMicroVms");
  const guests: readonly GuestSpec[] = Array.isArray(o.guests) ? o.guests : [];
  guests.forEach((g, i) => {
    if (g.workload === undefined)
      throw new UnknownNameError(`guests[${i}].workload`, "(none)", MICRO_WORKLOADS, "runMicroVms");
    checkMicroWorkload(
      { workload: g.workload, ...(g.workloadOptions as Partial<MicroWorkloadOptions>) },
      g.vcpus,
      `runMicroVms guests[${i}]`,
    );
  });
  const sys = buildHostSystem({
    seed: o.seed ?? 1,
    trace: false,
    history: false,
    keepDroppedMms: false,
    host: o.host,
    guests: o.guests,
    ...(o.hz !== undefined ? { hz: o.hz } : {}),
    ...(o.costs !== undefined ? { costs: o.costs } : {}),
  });
  const { sim, hostCpus } = sys;
  for (const g of sys.guests) g.rcu.start();
  const runs = sys.guests.map((g, i) =>
    startMicro(g, {
      workload: sys.specs[i]!.workload!,
      ...(sys.specs[i]!.workloadOptions as Partial<MicroWorkloadOptions>),
    }),
  );
  hostCpus.start();
  let done = false;
  let elapsedNs = 0;
  sim.process(
    "micro-vms-end",
    (function* (): Kfn<void> {
      for (const r of runs) if (!r.done.triggered) yield r.done;
      done = true;
      elapsedNs = sim.now;
      hostCpus.stop();
      yield 50_000_000;
      for (const g of sys.guests) g.rcu.stop();
    })(),
  );
  sim.run();
  if (!done) throw new Error("runMicroVms: the workloads did not finish");
  let steal = 0;
  let vcpus = 0;
  for (const g of sys.guests)
    for (const c of g.m.cpus) {
      steal += hostCpus.stealNs(c);
      vcpus++;
    }
  return {
    guests: runs.map((r) => r.result()),
    host: { ...hostCpus.stats },
    meanStealNs: vcpus > 0 ? steal / vcpus : 0,
    elapsedNs,
  };
}
