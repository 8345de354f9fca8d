/**
 * Running kernbench builds: one `make -j N` on a host profile, CURRENT (v4.13: tables freed by
 * tlb_remove_page) or HAVE_RCU_TABLE_FREE (v4.14 as posted, CONFIG_PARAVIRT=y, native flush), and
 * the mechanism counters the seed's table could not show.
 */
import { installX86 } from "../arch/x86/pgtable.js";
import { nativeBackend } from "../arch/x86/tlb.js";
import { resolveProfile } from "../config/profiles.js";
import { Machine } from "../hw/machine.js";
import { Kernel } from "../mm/kernel.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { Rcu } from "../rcu/tree.js";
import { Scheduler } from "../sched/scheduler.js";
import { checkInt, checkOptions, ParameterError, UnknownNameError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { Simulation } from "../sim/simulation.js";
import { HOSTS, type HostProfile } from "../workloads/hosts.js";
import { makeBuild, type BuildParams, type BuildStats } from "../workloads/kernbench.js";

/**
 * Which kernel: "current" (v4.13, the seed's CURRENT), "rcu" (v4.14 as posted with
 * CONFIG_PARAVIRT=y: the seed's HAVE_RCU_TABLE_FREE column), or "rcu-no-shortcut" (the same
 * without v4.14's mm_users < 2 shortcut, as v4.19 has it: every table through RCU).
 */
export const KERNBENCH_KERNELS = ["current", "rcu", "rcu-no-shortcut"] as const;
export type KernbenchKernel = (typeof KERNBENCH_KERNELS)[number];

export interface KernbenchRunOptions {
  readonly host: string;
  readonly jobs: number;
  readonly kernel: KernbenchKernel;
  readonly seed: number;
  /** Scale the number of objects (a shorter build for tests), 0 < f ≤ 1. Default 1. */
  readonly scale?: number;
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
  readonly faultsSimulated: number;
  readonly tablesAllocated: number;
}

export interface KernbenchRun {
  readonly options: KernbenchRunOptions;
  readonly stats: BuildStats;
  readonly mechanism: MechanismStats;
}

export function hostProfile(name: string): HostProfile {
  // own keys only: "toString" is not a host
  if (typeof name !== "string" || !Object.hasOwn(HOSTS, name))
    throw new UnknownNameError("host", name, Object.keys(HOSTS));
  return HOSTS[name]!;
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
  checkOptions("options", o, ["host", "jobs", "kernel", "seed", "scale"], "kernbench");
  const host = hostProfile(o.host);
  const maxJobs = host.nrCpus * 64;
  checkInt("jobs", o.jobs, 1, maxJobs, "kernbench -j");
  checkInt("seed", o.seed, 0, 2 ** 32 - 1, "kernbench");
  const scale = o.scale ?? 1;
  if (!(scale > 0 && scale <= 1))
    throw new ParameterError("scale", scale, "a number in (0, 1]", "kernbench");
  if (!(KERNBENCH_KERNELS as readonly string[]).includes(o.kernel))
    throw new UnknownNameError("kernel", o.kernel, KERNBENCH_KERNELS, "kernbench");
  const resolved = resolveProfile(o.kernel === "current" ? "v4.13" : "v4.14-posted", "native", {
    paravirt: true,
  });
  const gather =
    o.kernel === "rcu-no-shortcut"
      ? { ...resolved.gather, mmUsersShortcut: false }
      : resolved.gather;
  const sim = new Simulation({ seed: o.seed, trace: false });
  const m = new Machine(sim, { nrCpus: host.nrCpus });
  const k = new Kernel(m, {
    behaviour: gather,
    allocator: { history: false },
    keepDroppedMms: false,
  });
  const x86 = installX86(k, resolved.x86, nativeBackend);
  const rcu = new Rcu(m, { hz: 1000, flavour: resolved.rcuFlavour });
  // RCU (and its tick) starts on the first call_rcu: a build whose tables never take the RCU
  // path does not pay for simulating 1,000 ticks a second on every CPU.
  k.rcu = {
    call_rcu(cpu, fn, name) {
      if (!rcu.isRunning) rcu.start();
      return rcu.call_rcu(cpu, fn, name);
    },
  };
  const sched = new Scheduler(m, {
    smt: host.smt,
    smtSlowdown: host.smtSlowdown,
    contentionSlowdown: host.contentionSlowdown,
    sysContentionSlowdown: host.sysContentionSlowdown,
    kthreadWakeupsPerSec: host.kthreadWakeupsPerSec,
    lockWaitsPerSysMs: host.lockWaitsPerSysMs,
    wakeupGranularityNs: host.wakeupGranularityNs,
    latencyNs: host.latencyNs,
    minGranularityNs: host.minGranularityNs,
    onSwitch: (cpu, next) => {
      const mm = next?.data as MmStruct | undefined;
      if (mm && !mm.exited) x86.switch_mm(cpu, mm);
      else x86.enter_lazy_tlb(cpu);
    },
  });
  let stats: BuildStats | null = null;
  sched.startKthreads(() => stats !== null);
  const build = scaled(host.build, scale);
  sim.process(
    "kernbench",
    (function* (): Kfn<void> {
      stats = yield* makeBuild(k, sched, build, o.jobs);
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
      faultsSimulated: k.stats.faults,
      tablesAllocated,
    },
  };
}
