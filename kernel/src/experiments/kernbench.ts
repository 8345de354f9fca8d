/**
 * Running kernbench builds: one `make -j N` on a host profile, CURRENT (v4.13: tables freed by
 * tlb_remove_page) or HAVE_RCU_TABLE_FREE (v4.14 as posted, CONFIG_PARAVIRT=y, native flush), and
 * the mechanism counters the seed's table could not show.
 */
import { BACKEND_NAMES } from "../config/profiles.js";
import {
  checkInt,
  checkNumber,
  checkOptions,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { Scheduler } from "../sched/scheduler.js";
import { shimFlushStats } from "../arch/x86/backends.js";
import { MAX_OTHER_VCPUS } from "../hw/host.js";
import { buildSystem, MAX_GUEST_VCPUS, type BackendOptions } from "../system/build.js";
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
  readonly jobs: number;
  readonly kernel: KernbenchKernel;
  readonly seed: number;
  /** Scale the number of objects (a shorter build for tests), 0 < f ≤ 1. Default 1. */
  readonly scale?: number;
  /** Variants of the backend (system/build.ts BackendOptions): a Xen PV guest's shim, Hyper-V's
   * lazy-CPU skip. */
  readonly backendOptions?: BackendOptions;
  /** The spread of a process's user time between executions (BuildParams.execSigma, a
   * lognormal sigma in [0, 0.5]); default the host's. 0 turns that source of run-to-run
   * variance off. */
  readonly execSigma?: number;
  /** Whether a process's aggregated faults and syscalls run interleaved with its user time, each
   * tick sampling kernel mode at random (BuildParams.interleaveKernel); default true. false puts
   * them in one span after exec, as before 2026-12. */
  readonly interleaveKernel?: boolean;
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
  readonly stats: BuildStats;
  readonly mechanism: MechanismStats;
}

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
      "jobs",
      "kernel",
      "seed",
      "scale",
      "backendOptions",
      "execSigma",
      "interleaveKernel",
    ],
    "kernbench",
  );
  const host = hostProfile(o.host);
  const guest = o.vcpus !== undefined || o.otherVcpus !== undefined;
  const vcpus = checkInt("vcpus", o.vcpus ?? host.nrCpus, 1, MAX_GUEST_VCPUS, "kernbench");
  const otherVcpus = checkInt("otherVcpus", o.otherVcpus ?? 0, 0, MAX_OTHER_VCPUS, "kernbench");
  const nrCpus = guest ? vcpus : host.nrCpus;
  const maxJobs = nrCpus * 64;
  checkInt("jobs", o.jobs, 1, maxJobs, "kernbench -j");
  checkInt("seed", o.seed, 0, 2 ** 32 - 1, "kernbench");
  const scale = o.scale ?? 1;
  if (!(scale > 0 && scale <= 1))
    throw new ParameterError("scale", scale, "a number in (0, 1]", "kernbench");
  const execSigma = checkNumber(
    "execSigma",
    o.execSigma ?? host.build.execSigma,
    0,
    0.5,
    "kernbench",
  );
  if (!(KERNBENCH_KERNELS as readonly string[]).includes(o.kernel))
    throw new UnknownNameError("kernel", o.kernel, KERNBENCH_KERNELS, "kernbench");
  const backend = o.backend ?? "native";
  if (!(BACKEND_NAMES as readonly string[]).includes(backend))
    throw new UnknownNameError("backend", backend, BACKEND_NAMES, "kernbench");
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
  // the tick phase comes from its own stream, so drawing it shifts no other draw
  const tickPhase = sim.rng.fork();
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
    // user/system split by tick samples (sched/cputime.ts); the build starts at a random point
    // of the jiffy
    hz: host.hz,
    tickPhaseNs: tickPhase.int(0, 1e9 / host.hz - 1),
  });
  let stats: BuildStats | null = null;
  sched.startKthreads(() => stats !== null);
  const interleaveKernel = o.interleaveKernel ?? host.build.interleaveKernel;
  if (typeof interleaveKernel !== "boolean")
    throw new ParameterError("interleaveKernel", interleaveKernel, "true or false", "kernbench");
  const build = { ...scaled(host.build, scale), execSigma, interleaveKernel };
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
