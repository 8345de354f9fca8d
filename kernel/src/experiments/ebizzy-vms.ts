/**
 * ebizzy in 1, 2 and 3 overcommitted VMs, each with as many vCPUs as the host has pCPUs, with the
 * guest's native IPI flush against KVM's PV flush — the experiment of the KVM PV TLB flush
 * series ("[PATCH v8 0/4] KVM: X86: Add Paravirt TLB Shootdown", Wanpeng Li, Dec 2017: 64 pCPUs,
 * VMs of 64 vCPUs, `ebizzy -M`). Every VM is a full guest (its own kernel, scheduler, RCU and
 * ebizzy process) on one host scheduler (hw/host.ts); nothing here is fitted to that result.
 *
 * Scaled down to run in seconds: a few pCPUs instead of 64 and a simulated run of
 * `durationMs` instead of ebizzy's 10 s. The workload is mmulab's ebizzy microworkload
 * (workloads/micro.ts) with ebizzy's default of two threads per CPU.
 */
import { checkHostKernel } from "../hw/host.js";
import {
  checkBool,
  checkInt,
  checkName,
  checkNameList,
  checkOptions,
  ParameterError,
} from "../sim/errors.js";
import { PROFILE_NAMES } from "../config/profiles.js";
import { MAX_DURATION_NS, runMicroVms } from "../workloads/micro.js";

export const EBIZZY_VMS_BACKENDS = ["native", "kvm-pv"] as const;

export interface EbizzyVmsOptions {
  /** Host CPUs; each VM has as many vCPUs. Default 8. */
  readonly pcpus?: number;
  /** The VM counts to run. Default [1, 2, 3]. */
  readonly vms?: readonly number[];
  /** Guest flush backends. Default both. */
  readonly backends?: readonly string[];
  /** Guest kernel profile. Default v6.1 (mmap_sem waiters sleep, as rwsems do; see docs). */
  readonly profile?: string;
  /** Host kernel (hw/host.ts HOST_KERNELS). Default v4.15, the series' host. */
  readonly hostKernel?: string;
  /** Pause-loop exiting. Default on (KVM's default). */
  readonly ple?: boolean;
  /** Simulated run, ms. Default 100. */
  readonly durationMs?: number;
  /** First seed, and how many seeds each configuration runs with. Defaults 1 and 3. */
  readonly seed?: number;
  readonly seeds?: number;
}

export interface EbizzyVmsRow {
  readonly vms: number;
  readonly backend: string;
  /** Records per simulated second, per VM (mean over the VMs and the seeds), its standard
   * deviation over the seeds, and all VMs together. */
  readonly recordsPerSecPerVm: number;
  readonly recordsPerSecPerVmStd: number;
  readonly recordsPerSecTotal: number;
  /** Mean time a remote flush spent in flush_tlb_others, over all VMs, ns. */
  readonly meanFlushWaitNs: number;
  /** Host counters (hw/host.ts HostStats). */
  readonly preemptions: number;
  readonly halts: number;
  readonly pleExits: number;
  readonly directedYields: number;
  readonly pvYields: number;
  readonly entryFlushes: number;
  /** Mean steal time per vCPU, as a share of the run. */
  readonly stealShare: number;
}

type Sample = Omit<EbizzyVmsRow, "recordsPerSecPerVmStd">;

export interface EbizzyVmsResult {
  readonly pcpus: number;
  readonly vcpusPerVm: number;
  readonly threadsPerVm: number;
  readonly profile: string;
  readonly hostKernel: string;
  readonly ple: boolean;
  readonly durationMs: number;
  readonly seed: number;
  readonly seeds: number;
  readonly rows: readonly EbizzyVmsRow[];
  /** kvm-pv records/s over native's, per VM count (when both ran). */
  readonly pvOverNative: readonly { vms: number; ratio: number }[];
}

/** Most host CPUs the experiment takes (its cost grows with pCPUs × VMs). */
export const MAX_EBIZZY_PCPUS = 16;
/** Most seeds per configuration. */
export const MAX_SEEDS = 16;
/** Most VMs in one configuration, and most configurations in one run. */
export const MAX_VMS = 4;
export const MAX_VM_COUNTS = 8;
const CTX = "ebizzy-vms";

/** One configuration: `vms` guests of `pcpus` vCPUs, each running ebizzy. */
function runOne(
  pcpus: number,
  vms: number,
  backend: string,
  o: Required<Omit<EbizzyVmsOptions, "vms" | "backends" | "pcpus" | "seeds">>,
): Sample {
  const durationNs = o.durationMs * 1_000_000;
  const r = runMicroVms({
    seed: o.seed,
    host: { pcpus, kernel: o.hostKernel, ple: o.ple },
    guests: Array.from({ length: vms }, () => ({
      vcpus: pcpus,
      profile: o.profile,
      backend,
      workload: "ebizzy",
      workloadOptions: { threads: 2 * pcpus, durationNs },
    })),
  });
  const results = r.guests;
  const total = results.reduce((a, x) => a + x.opsPerSec, 0);
  const flushes = results.reduce((a, x) => a + x.remoteFlushes, 0);
  const flushNs = results.reduce((a, x) => a + x.meanFlushWaitNs * x.remoteFlushes, 0);
  const s = r.host;
  return {
    vms,
    backend,
    recordsPerSecPerVm: total / vms,
    recordsPerSecTotal: total,
    meanFlushWaitNs: flushes > 0 ? flushNs / flushes : 0,
    preemptions: s.preemptions,
    halts: s.halts,
    pleExits: s.pleExits,
    directedYields: s.directedYields,
    pvYields: s.pvYields,
    entryFlushes: s.entryFlushes,
    stealShare: r.elapsedNs > 0 ? r.meanStealNs / r.elapsedNs : 0,
  };
}

/** Runs the experiment; every option is checked before any run. */
export function runEbizzyVms(options: EbizzyVmsOptions = {}): EbizzyVmsResult {
  checkOptions(
    "options",
    options,
    ["pcpus", "vms", "backends", "profile", "hostKernel", "ple", "durationMs", "seed", "seeds"],
    CTX,
  );
  const pcpus = checkInt("pcpus", options.pcpus ?? 8, 1, MAX_EBIZZY_PCPUS, CTX);
  const raw: unknown = options.vms ?? [1, 2, 3];
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_VM_COUNTS)
    throw new ParameterError("vms", raw, `a list of 1 to ${MAX_VM_COUNTS} VM counts`, CTX);
  const vmsList: number[] = (raw as unknown[]).map((v, i) =>
    checkInt(`vms[${i}]`, v, 1, MAX_VMS, CTX),
  );
  const backends = checkNameList(
    "backends",
    options.backends,
    EBIZZY_VMS_BACKENDS,
    EBIZZY_VMS_BACKENDS,
    CTX,
  );
  const hostKernel = checkHostKernel(options.hostKernel ?? "v4.15");
  const durationMs = checkInt(
    "durationMs",
    options.durationMs ?? 100,
    1,
    MAX_DURATION_NS / 1e6,
    CTX,
  );
  const seed = checkInt("seed", options.seed ?? 1, 0, 2 ** 32 - 1 - MAX_SEEDS, CTX);
  const seeds = checkInt("seeds", options.seeds ?? 3, 1, MAX_SEEDS, CTX);
  const profile = checkName("profile", options.profile ?? "v6.1", PROFILE_NAMES, CTX);
  const ple = checkBool("ple", options.ple, true, CTX);
  const rows: EbizzyVmsRow[] = [];
  for (const vms of vmsList)
    for (const b of backends) {
      const samples = Array.from({ length: seeds }, (_, i) =>
        runOne(pcpus, vms, b, { profile, hostKernel, ple, durationMs, seed: seed + i }),
      );
      rows.push(average(samples));
    }
  const pvOverNative: { vms: number; ratio: number }[] = [];
  for (const vms of vmsList) {
    const n = rows.find((r) => r.vms === vms && r.backend === "native");
    const p = rows.find((r) => r.vms === vms && r.backend === "kvm-pv");
    if (n && p && n.recordsPerSecPerVm > 0)
      pvOverNative.push({ vms, ratio: p.recordsPerSecPerVm / n.recordsPerSecPerVm });
  }
  return {
    pcpus,
    vcpusPerVm: pcpus,
    threadsPerVm: 2 * pcpus,
    profile,
    hostKernel,
    ple,
    durationMs,
    seed,
    seeds,
    rows,
    pvOverNative,
  };
}

/** The mean of each field over the seeds, and the seeds' standard deviation of records/s. */
function average(samples: readonly Sample[]): EbizzyVmsRow {
  const n = samples.length;
  const mean = (f: (x: Sample) => number) => samples.reduce((a, x) => a + f(x), 0) / n;
  const m = mean((x) => x.recordsPerSecPerVm);
  const sd = Math.sqrt(
    n > 1 ? samples.reduce((a, x) => a + (x.recordsPerSecPerVm - m) ** 2, 0) / (n - 1) : 0,
  );
  const first = samples[0]!;
  return {
    vms: first.vms,
    backend: first.backend,
    recordsPerSecPerVm: m,
    recordsPerSecPerVmStd: sd,
    recordsPerSecTotal: mean((x) => x.recordsPerSecTotal),
    meanFlushWaitNs: mean((x) => x.meanFlushWaitNs),
    preemptions: mean((x) => x.preemptions),
    halts: mean((x) => x.halts),
    pleExits: mean((x) => x.pleExits),
    directedYields: mean((x) => x.directedYields),
    pvYields: mean((x) => x.pvYields),
    entryFlushes: mean((x) => x.entryFlushes),
    stealShare: mean((x) => x.stealShare),
  };
}
