/**
 * Running kernbench builds: one `make -j N` on a host profile, CURRENT (v4.13: tables freed by
 * tlb_remove_page) or HAVE_RCU_TABLE_FREE (v4.14 as posted, CONFIG_PARAVIRT=y, native flush), and
 * the mechanism counters the seed's table could not show.
 */
import { BACKEND_NAMES, PROFILE_NAMES } from "../config/profiles.js";
import {
  checkInt,
  checkName,
  checkNumber,
  checkOptions,
  KernelStateError,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { Scheduler, STEAL_ACCOUNTING, type StealAccounting } from "../sched/scheduler.js";
import { shimFlushStats } from "../arch/x86/backends.js";
import { MAX_OTHER_VCPUS } from "../hw/host.js";
import {
  buildHostSystem,
  buildSystem,
  MAX_GUEST_VCPUS,
  type BackendOptions,
  type System,
} from "../system/build.js";
import type { Rng } from "../sim/rng.js";
import { SimEvent } from "../sim/event.js";
import { contextSwitchMm } from "../system/context-switch.js";
import { hostSchedParams, parseHostSpec } from "../system/host.js";
import { guestStealAccounting } from "../system/steal-clock.js";
import { kernbenchHost, type HostProfile } from "../workloads/hosts.js";
import { makeBuild, type BuildParams, type BuildStats } from "../workloads/kernbench.js";
import { KBUILD_X86_64_DEFCONFIG } from "../workloads/kbuild-tree-data.js";

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
   * buildHostSystem), whose builds are reported one by one in `guests`. Without it (and without
   * `guests`): one guest built alone (`vcpus`/`otherVcpus`), or the host itself. */
  readonly vms?: number;
  /** The guests on the host, each a full kernel running its own build (not with `vms`); 1 …
   * MAX_KERNBENCH_VMS. What a guest leaves out is the run's: `vcpus` (else the host's CPUs),
   * `backend`, the profile of `kernel`, `jobs` and the `backendOptions` its backend has. */
  readonly guests?: readonly KernbenchGuest[];
  readonly jobs: number;
  readonly kernel: KernbenchKernel;
  readonly seed: number;
  /** Scale the number of objects (a shorter build for tests), 0 < f ≤ 1. Default 1. */
  readonly scale?: number;
  /** Variants of the backend (system/build.ts BackendOptions): a Xen PV guest's shim, Hyper-V's
   * lazy-CPU skip. */
  readonly backendOptions?: BackendOptions;
  /** The csdBatch modelling shortcut (system/build.ts). Default false. */
  readonly csdBatch?: boolean;
  /** The spread of a process's user time between executions (BuildParams.execSigma, a
   * lognormal sigma in [0, 0.5]); default the host's. 0 turns that source of run-to-run
   * variance off. */
  readonly execSigma?: number;
  /** Whether a process's aggregated faults and syscalls run interleaved with its user time, each
   * tick sampling kernel mode at random (BuildParams.interleaveKernel); default true. false puts
   * them in one span after exec, as before 2026-12. */
  readonly interleaveKernel?: boolean;
  /** kbuild's recursive make (a sub-make per directory of an x86_64 defconfig tree under make's
   * jobserver, workloads/kbuild-tree.ts) instead of one flat list of objects. Default false. */
  readonly kbuild?: boolean;
  /** How the guest kernels account steal time (sched/scheduler.ts StealAccounting). Default in a
   * guest: "tick" — every modelled hypervisor offers a steal clock (KVM_FEATURE_STEAL_TIME,
   * Xen's runstate area) and a CONFIG_PARAVIRT guest uses it (paravirt_steal_enabled), while
   * CONFIG_PARAVIRT_TIME_ACCOUNTING is off, its Kconfig default ("rq" turns it on). On bare
   * metal there is no steal, and "none". */
  readonly stealAccounting?: StealAccounting;
}

/** A guest of a kernbench run with several guests on one host (`guests`). */
export interface KernbenchGuest {
  /** vCPUs, 1 … 1024. */
  readonly vcpus?: number;
  /** Its flush backend. */
  readonly backend?: string;
  /** Its kernel profile (config/profiles.ts; a guest kernel is a CONFIG_PARAVIRT build). The
   * run's `kernel` picks v4.13 or v4.14 as posted; any profile builds (v6.15 for INVLPGB).
   * `kernel: "rcu-no-shortcut"` turns v4.14's mm_users < 2 shortcut off in every guest. */
  readonly profile?: string;
  /** make -j in this guest, 1 … 64 × its vCPUs. */
  readonly jobs?: number;
  /** Pinned vCPUs or floating over the host's CPUs (default: floating on a KVM host, pinned on
   * a Xen host; system/build.ts GuestSpec). */
  readonly pinned?: boolean;
  /** Weight of each vCPU thread on the host, 2 … 88,761 (1024 = nice 0). */
  readonly weight?: number;
  /** Variants of its backend. */
  readonly backendOptions?: BackendOptions;
}

export const KERNBENCH_GUEST_KEYS = [
  "vcpus",
  "backend",
  "profile",
  "jobs",
  "pinned",
  "weight",
  "backendOptions",
] as const;

/** One guest's build in a run with several guests: the guest as it ran, its figures and its
 * kernel's counters (the host's preemptions are the run's). */
export interface KernbenchGuestRun {
  readonly vcpus: number;
  readonly profile: string;
  readonly backend: string;
  readonly jobs: number;
  readonly stats: BuildStats;
  readonly mechanism: MechanismStats;
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
  /** In a guest with steal accounting: the steal its ticks took off the build's tasks
   * (cpustat[CPUTIME_STEAL] while they ran, steal_account_process_time), ns. */
  readonly stealNs?: number;
  /** A Xen PV guest in a shim: remote flushes the shim carried out, how many of them waited for
   * a vCPU that L0 had descheduled, and the total of those waits, ns. */
  readonly shimFlushes?: number;
  readonly shimWaitedForDescheduled?: number;
  readonly shimWaitNs?: number;
  /** A Xen PV guest in a shim: frames that changed type (to or from page table) in Xen, the
   * type-change flushes they cost (hw/xen-pv-mm.ts), how many of those were FLUSH_NO_ASSIST,
   * and the guest's page-table hypercalls (pin, unpin, read-only/writable switches). */
  readonly xenTypeChanges?: number;
  readonly xenTypeChangeFlushes?: number;
  readonly xenNoAssistFlushes?: number;
  readonly xenPtHypercalls?: number;
  readonly faultsSimulated: number;
  readonly tablesAllocated: number;
  /** Frames freed over the run, and those still allocated at its end (nothing is: every
   * process has exited and the last grace period has ended). */
  readonly framesFreed: number;
  readonly framesInUse: number;
}

export interface KernbenchRun {
  readonly options: KernbenchRunOptions;
  /** The build's figures; with several guests, the mean over the guests. */
  readonly stats: BuildStats;
  /** The mechanism's counters; with several guests, summed over them (peaks: the largest). */
  readonly mechanism: MechanismStats;
  /** With `vms` or `guests`: each guest's build, in guest order. */
  readonly guests?: readonly KernbenchGuestRun[];
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
      "guests",
      "jobs",
      "kernel",
      "seed",
      "scale",
      "backendOptions",
      "csdBatch",
      "execSigma",
      "interleaveKernel",
      "kbuild",
      "stealAccounting",
    ],
    "kernbench",
  );
  const host = hostProfile(o.host);
  stealAccountingOf(o, "native");
  const vms = checkInt("vms", o.vms ?? 1, 1, MAX_KERNBENCH_VMS, "kernbench");
  if (o.guests !== undefined && o.vms !== undefined)
    throw new ParameterError("vms", o.vms, "not both vms and guests", "kernbench");
  const several = o.vms !== undefined || o.guests !== undefined;
  const guest = o.vcpus !== undefined || o.otherVcpus !== undefined || several;
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
  const interleaveKernel = o.interleaveKernel ?? host.build.interleaveKernel;
  if (typeof interleaveKernel !== "boolean")
    throw new ParameterError("interleaveKernel", interleaveKernel, "true or false", "kernbench");
  const kbuild = o.kbuild ?? false;
  if (typeof kbuild !== "boolean")
    throw new ParameterError("kbuild", kbuild, "true or false", "kernbench");
  const build: BuildParams = {
    ...scaled(host.build, scale),
    execSigma,
    interleaveKernel,
    ...(kbuild ? { kbuild: KBUILD_X86_64_DEFCONFIG } : {}),
  };
  if (!(KERNBENCH_KERNELS as readonly string[]).includes(o.kernel))
    throw new UnknownNameError("kernel", o.kernel, KERNBENCH_KERNELS, "kernbench");
  const backend = o.backend ?? "native";
  if (!(BACKEND_NAMES as readonly string[]).includes(backend))
    throw new UnknownNameError("backend", backend, BACKEND_NAMES, "kernbench");
  if (several) {
    // the shortcut is a single machine's (buildSystem); several guests share one host system
    if (o.csdBatch === true)
      throw new ParameterError("csdBatch", o.csdBatch, "not with vms or guests", "kernbench");
    const defaults = { vcpus, backend, jobs: o.jobs };
    const guests =
      o.guests !== undefined
        ? checkGuests(o.guests, o, defaults)
        : Array.from({ length: vms }, () => kernbenchGuest({}, 0, o, defaults));
    return runKernbenchGuests(o, host, guests, otherVcpus, build);
  }
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
    ...(o.csdBatch !== undefined ? { csdBatch: o.csdBatch } : {}),
  });
  const { sim, k, rcu } = sys;
  const slicing = guest && vcpus + otherVcpus > host.nrCpus;
  // the tick phase comes from its own stream, so drawing it shifts no other draw
  const sched = buildScheduler(
    sys,
    host,
    guest,
    sim.rng.fork(),
    stealAccountingOf(o, o.backend ?? "native"),
  );
  let stats: BuildStats | null = null;
  sched.startKthreads(() => stats !== null);
  if (slicing) sys.host.start();
  sim.process(
    "kernbench",
    (function* (): Kfn<void> {
      stats = yield* makeBuild(k, sched, build, o.jobs);
      checkReaped(sched, "the build");
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
  return {
    options: o,
    stats,
    mechanism: mechanismOf(
      sys,
      guest ? sys.host.stats.preemptions : undefined,
      guest && sched.stealAccounting !== "none" ? sched.stealNs : undefined,
    ),
  };
}

/**
 * The guest's task scheduler with kernbench's host parameters. `tickPhase`: a stream of its own
 * for the point of the jiffy at which the build starts.
 */
function buildScheduler(
  sys: System,
  host: HostProfile,
  guest: boolean,
  tickPhase: Rng,
  stealAccounting: StealAccounting,
): Scheduler {
  const { m, k, x86, rcu } = sys;
  // RCU (and its tick) starts on the first call_rcu: a build whose tables never take the RCU
  // path does not pay for simulating 1,000 ticks a second on every CPU.
  k.rcu = {
    call_rcu(cpu, fn, name) {
      if (!rcu.isRunning) rcu.start();
      return rcu.call_rcu(cpu, fn, name);
    },
  };
  return new Scheduler(m, {
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
    stealAccounting: guest ? stealAccounting : "none",
  });
}

/** A guest kernel's steal accounting: the option, checked, or its hypervisor's default
 * (system/steal-clock.ts). */
function stealAccountingOf(o: KernbenchRunOptions, backend: string): StealAccounting {
  return checkName(
    "stealAccounting",
    o.stealAccounting ?? guestStealAccounting(backend),
    STEAL_ACCOUNTING,
    "kernbench",
  );
}

/** make has exited: every task of the build must have exited before it (a task still running
 * would be a wait that ended before its event, i.e. a spurious wake-up in the model). */
function checkReaped(sched: Scheduler, what: string): void {
  if (sched.tasks.size > 0)
    throw new KernelStateError(
      "kernbench",
      `make exited while ${sched.tasks.size} task(s) of ${what} still ran (${[...sched.tasks]
        .slice(0, 4)
        .map((t) => t.name)
        .join(", ")})`,
    );
}

/** One kernel's mechanism counters, with the host's vCPU preemptions when it is a guest. */
function mechanismOf(
  sys: System,
  hostPreemptions: number | undefined,
  stealNs: number | undefined,
): MechanismStats {
  const { m, k, x86, rcu } = sys;
  const shim = shimFlushStats(x86.backend);
  return {
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
    ...(hostPreemptions !== undefined ? { hostPreemptions } : {}),
    ...(stealNs !== undefined ? { stealNs } : {}),
    ...(shim !== null
      ? {
          shimFlushes: shim.flushes,
          shimWaitedForDescheduled: shim.waitedForDescheduled,
          shimWaitNs: shim.waitNs,
        }
      : {}),
    ...(x86.xenPv !== null
      ? {
          xenTypeChanges: x86.xenPv.stats.typeChanges,
          xenTypeChangeFlushes: x86.xenPv.stats.flushes,
          xenNoAssistFlushes: x86.xenPv.stats.noAssistFlushes,
          xenPtHypercalls: x86.xenPv.hypercalls,
        }
      : {}),
    faultsSimulated: k.stats.faults,
    // includes data and batch pages
    tablesAllocated: k.alloc.stats.allocs,
    framesFreed: k.alloc.stats.frees,
    framesInUse: k.alloc.inUse,
  };
}

/** A guest of a several-guest run, every field given. */
interface ResolvedGuest {
  readonly vcpus: number;
  readonly profile: string;
  readonly backend: string;
  readonly jobs: number;
  readonly pinned?: boolean;
  readonly weight?: number;
  readonly backendOptions?: BackendOptions;
}

/** The profile a kernbench kernel builds. */
export function kernelProfile(kernel: KernbenchKernel): string {
  return kernel === "current" ? "v4.13" : "v4.14-posted";
}

function checkGuests(
  guests: unknown,
  o: KernbenchRunOptions,
  defaults: { vcpus: number; backend: string; jobs: number },
): ResolvedGuest[] {
  if (!Array.isArray(guests) || guests.length < 1 || guests.length > MAX_KERNBENCH_VMS)
    throw new ParameterError(
      "guests",
      Array.isArray(guests) ? `${guests.length} guests` : guests,
      `a list of 1 … ${MAX_KERNBENCH_VMS} guests`,
      "kernbench",
    );
  return guests.map((g: unknown, i) => kernbenchGuest(g, i, o, defaults));
}

/** A guest with the run's defaults filled in, checked (names, bounds) before anything is built. */
function kernbenchGuest(
  g: unknown,
  i: number,
  o: KernbenchRunOptions,
  defaults: { vcpus: number; backend: string; jobs: number },
): ResolvedGuest {
  const ctx = `guests[${i}]`;
  const x = checkOptions(ctx, g, KERNBENCH_GUEST_KEYS, "kernbench") as KernbenchGuest;
  if (g === null || typeof g !== "object")
    throw new ParameterError(ctx, g, "a guest object", "kernbench");
  const vcpus = checkInt(
    `${ctx}.vcpus`,
    x.vcpus ?? defaults.vcpus,
    1,
    MAX_GUEST_VCPUS,
    "kernbench",
  );
  const backend = x.backend ?? defaults.backend;
  if (!(BACKEND_NAMES as readonly string[]).includes(backend))
    throw new UnknownNameError(`${ctx}.backend`, backend, BACKEND_NAMES, "kernbench");
  const profile = x.profile ?? kernelProfile(o.kernel);
  if (!(PROFILE_NAMES as readonly string[]).includes(profile))
    throw new UnknownNameError(`${ctx}.profile`, profile, PROFILE_NAMES, "kernbench");
  const jobs = checkInt(`${ctx}.jobs`, x.jobs ?? defaults.jobs, 1, vcpus * 64, "kernbench -j");
  // the run's backend variants, where this guest's backend has them
  const run = o.backendOptions ?? {};
  const backendOptions = x.backendOptions ?? {
    ...(backend === "xen-pv" && run.xenPvHost !== undefined ? { xenPvHost: run.xenPvHost } : {}),
    ...(backend === "xen-pv" && run.xenNoAssistPageTables !== undefined
      ? { xenNoAssistPageTables: run.xenNoAssistPageTables }
      : {}),
    ...(backend === "hyperv" && run.hypervSkipLazy !== undefined
      ? { hypervSkipLazy: run.hypervSkipLazy }
      : {}),
  };
  return {
    vcpus,
    profile,
    backend,
    jobs,
    ...(x.pinned !== undefined ? { pinned: x.pinned } : {}),
    ...(x.weight !== undefined ? { weight: x.weight } : {}),
    ...(Object.keys(backendOptions).length > 0 ? { backendOptions } : {}),
  };
}

/**
 * The build in each of several guests on one host (buildHostSystem): one simulation, every vCPU
 * a thread of the host scheduler, each guest with its own kernel, scheduler, RCU and build.
 * Ends when the last build has finished and the last grace periods have freed their tables.
 */
function runKernbenchGuests(
  o: KernbenchRunOptions,
  host: HostProfile,
  guests: readonly ResolvedGuest[],
  otherVcpus: number,
  build: BuildParams,
): KernbenchRun {
  const sys = buildHostSystem({
    seed: o.seed,
    trace: false,
    history: false,
    keepDroppedMms: false,
    hz: host.hz,
    costs: host.costs,
    host: { pcpus: host.nrCpus, otherVcpus, ...hostSchedParams(host) },
    guests: guests.map((g) => ({
      vcpus: g.vcpus,
      profile: g.profile,
      backend: g.backend,
      ...(g.pinned !== undefined ? { pinned: g.pinned } : {}),
      ...(g.weight !== undefined ? { weight: g.weight } : {}),
      ...(g.backendOptions !== undefined ? { backendOptions: g.backendOptions } : {}),
      ...(o.kernel === "rcu-no-shortcut" ? { mmUsersShortcut: false } : {}),
    })),
  });
  const { sim } = sys;
  const results: (BuildStats | null)[] = sys.guests.map(() => null);
  const scheds: Scheduler[] = [];
  const done = sys.guests.map((s, i) => {
    // each guest's tick phase from a stream of its own
    const sched = buildScheduler(
      s,
      host,
      true,
      sim.rng.fork(),
      stealAccountingOf(o, guests[i]!.backend),
    );
    scheds.push(sched);
    sched.startKthreads(() => results[i] !== null);
    const ev = new SimEvent<void>(`kernbench guest ${i}`);
    sim.process(
      `kernbench-guest${i}`,
      (function* (): Kfn<void> {
        results[i] = yield* makeBuild(s.k, sched, build, guests[i]!.jobs);
        checkReaped(sched, `guest ${i}'s build`);
        ev.succeed();
      })(),
    );
    return ev;
  });
  sys.hostCpus.start();
  sim.process(
    "kernbench-guests",
    (function* (): Kfn<void> {
      for (const ev of done) if (!ev.triggered) yield ev;
      sys.hostCpus.stop();
      if (sys.guests.some((s) => s.rcu.isRunning)) {
        // let the last grace periods finish so every table is freed, then stop the ticks
        yield 50_000_000;
        for (const s of sys.guests) if (s.rcu.isRunning) s.rcu.stop();
      }
    })(),
  );
  sim.run();
  if (results.some((r) => r === null))
    throw new KernelStateError("kernbench", "a guest's build did not finish");
  const each = results as BuildStats[];
  const runs: KernbenchGuestRun[] = guests.map((g, i) => ({
    vcpus: g.vcpus,
    profile: g.profile,
    backend: g.backend,
    jobs: g.jobs,
    stats: each[i]!,
    mechanism: mechanismOf(
      sys.guests[i]!,
      undefined,
      scheds[i]!.stealAccounting !== "none" ? scheds[i]!.stealNs : undefined,
    ),
  }));
  const mean = (f: keyof BuildStats) => each.reduce((a, r) => a + r[f], 0) / each.length;
  const sum = (f: keyof MechanismStats) => runs.reduce((a, r) => a + (r.mechanism[f] ?? 0), 0);
  const peak = Math.max(...runs.map((r) => r.mechanism.peakPendingRcuTables));
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
    mechanism: {
      tablesFreedDirect: sum("tablesFreedDirect"),
      tablesFreedRcu: sum("tablesFreedRcu"),
      mmUsersShortcuts: sum("mmUsersShortcuts"),
      tableBatches: sum("tableBatches"),
      gracePeriods: sum("gracePeriods"),
      peakPendingRcuTables: peak,
      peakPendingRcuBytes: peak * 4096,
      tlbFlushes: sum("tlbFlushes"),
      remoteFlushes: sum("remoteFlushes"),
      ipis: sum("ipis"),
      hostPreemptions: sys.hostCpus.stats.preemptions,
      ...(scheds.some((x) => x.stealAccounting !== "none") ? { stealNs: sum("stealNs") } : {}),
      faultsSimulated: sum("faultsSimulated"),
      tablesAllocated: sum("tablesAllocated"),
      framesFreed: sum("framesFreed"),
      framesInUse: sum("framesInUse"),
    },
    guests: runs,
  };
}
