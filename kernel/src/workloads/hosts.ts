/**
 * The seed's two kernbench hosts, as far as the seed describes them: "6-CPU host" and "16-CPU
 * host", nothing more. Everything else here is an assumption, written down and calibrated
 * (docs/model.md, "kernbench"): CPU topology, contention, and the size of the kernel build.
 *
 * Shared assumptions: a RHEL/Fedora-style kernel (HZ=1000, CONFIG_PARAVIRT=y, PREEMPT_VOLUNTARY)
 * on bare metal or a guest without a paravirtual flush (native IPI backend); 2017 distribution
 * kernel configuration built with gcc 7 and -pipe; page cache warm (kernbench does a warm-up
 * run), so no disk waits.
 */
import type { BuildParams } from "./kernbench.js";

export interface HostProfile {
  readonly name: string;
  readonly title: string;
  readonly nrCpus: number;
  /** Threads per core. */
  readonly smt: number;
  readonly smtSlowdown: number;
  readonly contentionSlowdown: number;
  readonly sysContentionSlowdown: number;
  readonly kthreadWakeupsPerSec: number;
  readonly lockWaitsPerSysMs: number;
  /** sched_wakeup_granularity before scaling, ns. */
  readonly wakeupGranularityNs: number;
  /** sched_latency and sched_min_granularity before scaling, ns (kernel defaults 6 ms and
   * 0.75 ms; tuned profiles change them). Calibrated per host on the optimal-load switches. */
  readonly latencyNs: number;
  readonly minGranularityNs: number;
  readonly build: BuildParams;
  /** The -j values kernbench uses: half load (CPUs / 2) and optimal load (CPUs × 4). */
  readonly halfJobs: number;
  readonly optimalJobs: number;
  /** What was fitted, on which cells. */
  readonly calibration: string;
}

const MS = 1e6;

/** The per-object processes of Kbuild's rule_cc_o_c (costs.md §1e: tables from VmPTE). */
function build(o: {
  objects: number;
  cc1UserMs: number;
  cc1Faults: number;
  sysNsPerProc: number;
  serialHeadMs: number;
  serialTailMs: number;
  pipeChunks: number;
  makeJobGapMs: number;
}): BuildParams {
  const small = (name: string, tables: number, userMs: number, faults: number) => ({
    name,
    tables,
    userNs: userMs * MS,
    faults,
    sysNs: o.sysNsPerProc,
    munmaps: 0,
  });
  return {
    objects: o.objects,
    sh: small("sh", 12, 0.6, 300),
    gcc: small("gcc", 11, 1.5, 500),
    cc1: {
      name: "cc1",
      tables: 64,
      userNs: o.cc1UserMs * MS,
      faults: o.cc1Faults,
      sysNs: o.sysNsPerProc * 4,
      munmaps: 8,
    },
    as: { ...small("as", 16, 0, 1500), userNs: 0.05 * o.cc1UserMs * MS },
    fixdep: small("fixdep", 10, 0.5, 200),
    objtool: small("objtool", 11, 3, 700),
    mv: small("mv", 10, 0.2, 150),
    cc1Sigma: 0.6,
    treeSeed: 2017,
    pipeChunks: o.pipeChunks,
    serialHeadNs: o.serialHeadMs * MS,
    serialTailNs: o.serialTailMs * MS,
    tailSteps: 6,
    makeJobGapNs: o.makeJobGapMs * MS,
    faultNs: 1250,
    pageTeardownNs: 120,
  };
}

export const HOSTS: Readonly<Record<string, HostProfile>> = Object.freeze({
  "6cpu": {
    name: "6cpu",
    title: "the seed's 6-CPU host (assumed: 6 cores, no SMT)",
    nrCpus: 6,
    smt: 1,
    smtSlowdown: 0,
    contentionSlowdown: 0.066,
    sysContentionSlowdown: 0.007,
    kthreadWakeupsPerSec: 4.8,
    lockWaitsPerSysMs: 0.2,
    wakeupGranularityNs: 1_000_000,
    latencyNs: 9_000_000,
    minGranularityNs: 1_500_000,
    halfJobs: 3,
    optimalJobs: 24,
    build: build({
      objects: 2500,
      cc1UserMs: 385,
      cc1Faults: 20000,
      sysNsPerProc: 770_000,
      serialHeadMs: 4000,
      serialTailMs: 10600,
      pipeChunks: 30,
      makeJobGapMs: 8,
    }),
    calibration: "see docs/model.md",
  },
  "16cpu": {
    name: "16cpu",
    title: "the seed's 16-CPU host (assumed: 8 cores × 2 SMT threads)",
    nrCpus: 16,
    smt: 2,
    smtSlowdown: 0.28,
    contentionSlowdown: 0.05,
    sysContentionSlowdown: 1.4,
    kthreadWakeupsPerSec: 12,
    lockWaitsPerSysMs: 0.1,
    wakeupGranularityNs: 500_000,
    latencyNs: 6_000_000,
    minGranularityNs: 750_000,
    halfJobs: 8,
    optimalJobs: 64,
    build: build({
      objects: 2500,
      cc1UserMs: 462,
      cc1Faults: 20000,
      sysNsPerProc: 830_000,
      serialHeadMs: 5000,
      serialTailMs: 12300,
      pipeChunks: 30,
      makeJobGapMs: 50,
    }),
    calibration: "see docs/model.md",
  },
});

export const HOST_NAMES = Object.keys(HOSTS);
