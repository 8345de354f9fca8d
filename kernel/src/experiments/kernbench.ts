/**
 * Running kernbench builds: one `make -j N` on a host profile, CURRENT (v4.13: tables freed by
 * tlb_remove_page) or HAVE_RCU_TABLE_FREE (v4.14 as posted, CONFIG_PARAVIRT=y, native flush), and
 * the mechanism counters the seed's table could not show.
 */
import { BACKEND_NAMES } from "../config/profiles.js";
import { checkInt, checkOptions, ParameterError, UnknownNameError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { Scheduler } from "../sched/scheduler.js";
import { shimFlushStats } from "../arch/x86/backends.js";
import { MAX_OTHER_VCPUS } from "../hw/host.js";
import {
  buildHostSystem,
  buildSystem,
  MAX_GUEST_VCPUS,
  type BackendOptions,
} from "../system/build.js";
import { SimEvent } from "../sim/event.js";
import { contextSwitchMm } from "../system/context-switch.js";
import { hostSchedParams, parseHostSpec } from "../system/host.js";
import { kernbenchHost, type HostProfile } from "../workloads/hosts.js";
import { makeBuild, type BuildParams, type BuildStats } from "../workloads/kernbench.js";

/**
 * Which kernel: "current" (v4.13, the seed's CURRENT), "rcu" (v4.14 as posted with
 * CONFIG_PARAVIRT=y: the seed's HAVE_RCU_TABLE_FREE column), or "rcu-no-shortcut" (the same
 * without v4.14's mm_users < 2 shortcut, as v4.19 has it: every table through RCU).
 */
export const KERNBENCH_KERNELS = ["current", "rcu", "rcu-no-shortcut"] as const;
export type KernbenchKernel = (typeof KERNBENCH_KERNELS)[number];

export interface KernbenchRunOptions {
  /** A host preset (`16cpu`) or a host spec (`cpus=32,smt=2`, or the JSON of one). */
  readonly host: string;
  /** The flush backend (the build then runs as a guest of that hypervisor, without overcommit).
   * Default native. */
  readonly backend?: string;
  /** Run the build in a guest of this many vCPUs on the host's CPUs (vCPU i on pCPU i mod the
   * host's CPUs); default: on the host itself. */
  readonly vcpus?: number;
  /** Runnable vCPUs of other VMs sharing the host's CPUs. Default 0. More vCPUs than host CPUs
   * in all means the host time-slices them (hw/host.ts). */
  readonly otherVcpus?: number;
  /** Run the build in each of this many identical guests of `vcpus` vCPUs (default: the host's
   * CPUs) on the host's CPUs, 1 … MAX_KERNBENCH_VMS; every guest a full kernel (system/build.ts
   * buildHostSystem). Default 1: one guest, or the host itself without `vcpus`/`otherVcpus`. */
  readonly vms?: number;
  readonly jobs: number;
  readonly kernel: KernbenchKernel;
  readonly seed: number;
  /** Scale the number of objects (a shorter build for tests), 0 < f ≤ 1. Default 1. */
  readonly scale?: number;
  /** Variants of the backend (system/build.ts BackendOptions): a Xen PV guest's shim, Hyper-V's
   * lazy-CPU skip. */
  readonly backendOptions?: BackendOptions;
}

export interface MechanismStats {
  readonly tablesFreedDirect: number;
  readonly tablesFreedRcu: number;
  readonly mmUsersShortcuts: number;
  readonly tableBatches: number;
  readonly gracePeriods: number;
  readonly peakPendingRcuTables: number;
  /** Peak bytes of page tables waiting for RCU (4 KiB each). */
  readonly peakPendingRcuBytes: number;
  readonly tlbFlushes: number;
  readonly remoteFlushes: number;
  readonly ipis: number;
  /** In a guest: vCPU deschedules by the host (0 without overcommit). */
  readonly hostPreemptions?: number;
  /** A Xen PV guest in a shim: remote flushes the shim carried out, how many of them waited for
   * a vCPU that L0 had descheduled, and the total of those waits, ns. */
  readonly shimFlushes?: number;
  readonly shimWaitedForDescheduled?: number;
  readonly shimWaitNs?: number;
  readonly faultsSimulated: number;
  readonly tablesAllocated: number;
  /** Frames freed over the run, and those still allocated at its end (nothing is: every
   * process has exited and the last grace period has ended). */
  readonly framesFreed: number;
  readonly framesInUse: number;
}

export interface KernbenchRun {
  readonly options: KernbenchRunOptions;
  /** The build's figures; with `vms` > 1, the mean over the guests. */
  readonly stats: BuildStats;
  /** The mechanism's counters; with `vms` > 1, summed over the guests. */
  readonly mechanism: MechanismStats;
  /** With `vms` > 1: each guest's build, in guest order. */
  readonly vmStats?: readonly BuildStats[];
}

/** Most guests a kernbench run puts on one host (each is a whole simulated kernel build). */
export const MAX_KERNBENCH_VMS = 8;

/** kernbench's host for a preset name or a spec (typed errors for anything else). */
export function hostProfile(host: string): HostProfile {
  return kernbenchHost(parseHostSpec(host));
}

function scaled(b: BuildParams, f: number): BuildParams {
  return {
    ...b,
    objects: Math.max(1, Math.round(b.objects * f)),
    serialHeadNs: b.serialHeadNs * f,
    serialTailNs: b.serialTailNs * f,
  };
}

export function runKernbench(o: KernbenchRunOptions): KernbenchRun {
  if (o === undefined)
    throw new ParameterError(
      "options",
      o,
      "an object with host, jobs, kernel and seed",
      "kernbench",
    );
  checkOptions(
    "options",
    o,
    [
      "host",
      "backend",
      "vcpus",
      "otherVcpus",
      "vms",
      "jobs",
      "kernel",
      "seed",
      "scale",
      "backendOptions",
    ],
    "kernbench",
  );
  const host = hostProfile(o.host);
  const vms = checkInt("vms", o.vms ?? 1, 1, MAX_KERNBENCH_VMS, "kernbench");
  const guest = o.vcpus !== undefined || o.otherVcpus !== undefined || vms > 1;
  const vcpus = checkInt("vcpus", o.vcpus ?? host.nrCpus, 1, MAX_GUEST_VCPUS, "kernbench");
  const otherVcpus = checkInt("otherVcpus", o.otherVcpus ?? 0, 0, MAX_OTHER_VCPUS, "kernbench");
  const nrCpus = guest ? vcpus : host.nrCpus;
  const maxJobs = nrCpus * 64;
  checkInt("jobs", o.jobs, 1, maxJobs, "kernbench -j");
  checkInt("seed", o.seed, 0, 2 ** 32 - 1, "kernbench");
  const scale = o.scale ?? 1;
  if (!(scale > 0 && scale <= 1))
    throw new ParameterError("scale", scale, "a number in (0, 1]", "kernbench");
  if (!(KERNBENCH_KERNELS as readonly string[]).includes(o.kernel))
    throw new UnknownNameError("kernel", o.kernel, KERNBENCH_KERNELS, "kernbench");
  const backend = o.backend ?? "native";
  if (!(BACKEND_NAMES as readonly string[]).includes(backend))
    throw new UnknownNameError("backend", backend, BACKEND_NAMES, "kernbench");
  if (vms > 1) return runKernbenchVms(o, host, { vms, vcpus, otherVcpus, backend, scale });
  const sys = buildSystem({
    profile: o.kernel === "current" ? "v4.13" : "v4.14-posted",
    backend,
    resolve: { paravirt: true },
    nrCpus,
    seed: o.seed,
    ...(guest ? { host: { pcpus: host.nrCpus, otherVcpus, ...hostSchedParams(host) } } : {}),
    hz: host.hz,
    costs: host.costs,
    trace: false,
    history: false,
    keepDroppedMms: false,
    ...(o.kernel === "rcu-no-shortcut" ? { mmUsersShortcut: false } : {}),
    ...(o.backendOptions !== undefined ? { backendOptions: o.backendOptions } : {}),
  });
  const { sim, m, k, x86, rcu } = sys;
  const slicing = guest && vcpus + otherVcpus > host.nrCpus;
  // RCU (and its tick) starts on the first call_rcu: a build whose tables never take the RCU
  // path does not pay for simulating 1,000 ticks a second on every CPU.
  k.rcu = {
    call_rcu(cpu, fn, name) {
      if (!rcu.isRunning) rcu.start();
      return rcu.call_rcu(cpu, fn, name);
    },
  };
  const sched = new Scheduler(m, {
    // a guest's vCPUs are plain CPUs to it (no SMT siblings in its topology)
    smt: guest ? 1 : host.smt,
    smtSlowdown: host.smtSlowdown,
    contentionSlowdown: host.contentionSlowdown,
    sysContentionSlowdown: host.sysContentionSlowdown,
    kthreadWakeupsPerSec: host.kthreadWakeupsPerSec,
    lockWaitsPerSysMs: host.lockWaitsPerSysMs,
    wakeupGranularityNs: host.wakeupGranularityNs,
    latencyNs: host.latencyNs,
    minGranularityNs: host.minGranularityNs,
    onSwitch: contextSwitchMm(x86),
  });
  let stats: BuildStats | null = null;
  sched.startKthreads(() => stats !== null);
  const build = scaled(host.build, scale);
  if (slicing) sys.host.start();
  sim.process(
    "kernbench",
    (function* (): Kfn<void> {
      stats = yield* makeBuild(k, sched, build, o.jobs);
      if (slicing) sys.host.stop();
      if (rcu.isRunning) {
        // let the last grace period finish so every table is freed, then stop the tick
        yield 50_000_000;
        rcu.stop();
      }
    })(),
  );
  sim.run();
  if (stats === null) throw new Error("kernbench: the build did not finish");
  const tablesAllocated = k.alloc.stats.allocs; // includes data and batch pages; refined below
  const shim = shimFlushStats(x86.backend);
  return {
    options: o,
    stats,
    mechanism: {
      tablesFreedDirect: k.stats.tablesFreedDirect,
      tablesFreedRcu: k.stats.tablesFreedRcu,
      mmUsersShortcuts: k.stats.mmUsersShortcuts,
      tableBatches: k.stats.tableBatches,
      gracePeriods: rcu.gracePeriods.length,
      peakPendingRcuTables: k.stats.peakPendingRcuTables,
      peakPendingRcuBytes: k.stats.peakPendingRcuTables * 4096,
      tlbFlushes: k.stats.tlbFlushes,
      remoteFlushes: x86.stats.remoteFlushes,
      ipis: m.ipisSent,
      ...(guest ? { hostPreemptions: sys.host.stats.preemptions } : {}),
      ...(shim !== null
        ? {
            shimFlushes: shim.flushes,
            shimWaitedForDescheduled: shim.waitedForDescheduled,
            shimWaitNs: shim.waitNs,
          }
        : {}),
      faultsSimulated: k.stats.faults,
      tablesAllocated,
      framesFreed: k.alloc.stats.frees,
      framesInUse: k.alloc.inUse,
    },
  };
}

/**
 * The build in each of `vms` guests of `vcpus` vCPUs on one host (buildHostSystem): one
 * simulation, every vCPU a thread of the host scheduler, each guest with its own kernel,
 * scheduler, RCU and build. Ends when the last build has finished.
 */
function runKernbenchVms(
  o: KernbenchRunOptions,
  host: HostProfile,
  g: { vms: number; vcpus: number; otherVcpus: number; backend: string; scale: number },
): KernbenchRun {
  const sys = buildHostSystem({
    seed: o.seed,
    trace: false,
    history: false,
    keepDroppedMms: false,
    hz: host.hz,
    costs: host.costs,
    host: { pcpus: host.nrCpus, otherVcpus: g.otherVcpus, ...hostSchedParams(host) },
    guests: Array.from({ length: g.vms }, () => ({
      vcpus: g.vcpus,
      profile: o.kernel === "current" ? "v4.13" : "v4.14-posted",
      backend: g.backend,
      ...(o.backendOptions !== undefined ? { backendOptions: o.backendOptions } : {}),
    })),
    ...(o.kernel === "rcu-no-shortcut" ? { mmUsersShortcut: false } : {}),
  });
  const { sim } = sys;
  const build = scaled(host.build, g.scale);
  const results: (BuildStats | null)[] = sys.guests.map(() => null);
  const done = sys.guests.map((s, i) => {
    const { k, rcu, x86 } = s;
    // RCU (and its tick) starts on a guest's first call_rcu, as in a single guest
    k.rcu = {
      call_rcu(cpu, fn, name) {
        if (!rcu.isRunning) rcu.start();
        return rcu.call_rcu(cpu, fn, name);
      },
    };
    const sched = new Scheduler(s.m, {
      smt: 1,
      smtSlowdown: host.smtSlowdown,
      contentionSlowdown: host.contentionSlowdown,
      sysContentionSlowdown: host.sysContentionSlowdown,
      kthreadWakeupsPerSec: host.kthreadWakeupsPerSec,
      lockWaitsPerSysMs: host.lockWaitsPerSysMs,
      wakeupGranularityNs: host.wakeupGranularityNs,
      latencyNs: host.latencyNs,
      minGranularityNs: host.minGranularityNs,
      onSwitch: contextSwitchMm(x86),
    });
    sched.startKthreads(() => results[i] !== null);
    const ev = new SimEvent<void>(`kernbench vm${i}`);
    sim.process(
      `kernbench-vm${i}`,
      (function* (): Kfn<void> {
        results[i] = yield* makeBuild(k, sched, build, o.jobs);
        ev.succeed();
      })(),
    );
    return ev;
  });
  sys.hostCpus.start();
  let finished = false;
  sim.process(
    "kernbench-vms",
    (function* (): Kfn<void> {
      for (const ev of done) if (!ev.triggered) yield ev;
      finished = true;
      sys.hostCpus.stop();
      if (sys.guests.some((s) => s.rcu.isRunning)) {
        // let the last grace periods finish so every table is freed, then stop the ticks
        yield 50_000_000;
        for (const s of sys.guests) if (s.rcu.isRunning) s.rcu.stop();
      }
    })(),
  );
  sim.run();
  if (!finished || results.some((r) => r === null))
    throw new Error("kernbench: a guest's build did not finish");
  const vmStats = results as BuildStats[];
  const mean = (f: keyof BuildStats) => vmStats.reduce((a, r) => a + r[f], 0) / vmStats.length;
  const sum = (f: (s: (typeof sys.guests)[number]) => number) =>
    sys.guests.reduce((a, s) => a + f(s), 0);
  return {
    options: o,
    stats: {
      elapsed: mean("elapsed"),
      user: mean("user"),
      system: mean("system"),
      percentCpu: mean("percentCpu"),
      contextSwitches: mean("contextSwitches"),
      sleeps: mean("sleeps"),
      processes: mean("processes"),
    },
    vmStats,
    mechanism: {
      tablesFreedDirect: sum((s) => s.k.stats.tablesFreedDirect),
      tablesFreedRcu: sum((s) => s.k.stats.tablesFreedRcu),
      mmUsersShortcuts: sum((s) => s.k.stats.mmUsersShortcuts),
      tableBatches: sum((s) => s.k.stats.tableBatches),
      gracePeriods: sum((s) => s.rcu.gracePeriods.length),
      peakPendingRcuTables: Math.max(...sys.guests.map((s) => s.k.stats.peakPendingRcuTables)),
      peakPendingRcuBytes:
        4096 * Math.max(...sys.guests.map((s) => s.k.stats.peakPendingRcuTables)),
      tlbFlushes: sum((s) => s.k.stats.tlbFlushes),
      remoteFlushes: sum((s) => s.x86.stats.remoteFlushes),
      ipis: sum((s) => s.m.ipisSent),
      hostPreemptions: sys.hostCpus.stats.preemptions,
      faultsSimulated: sum((s) => s.k.stats.faults),
      tablesAllocated: sum((s) => s.k.alloc.stats.allocs),
      framesFreed: sum((s) => s.k.alloc.stats.frees),
      framesInUse: sum((s) => s.k.alloc.inUse),
    },
  };
}
