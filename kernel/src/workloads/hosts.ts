/**
 * The seed's two kernbench hosts, as far as the seed describes them: "6-CPU host" and "16-CPU
 * host", nothing more. Everything else is an assumption, written down and calibrated
 * (docs/model.md, "kernbench"): CPU topology and contention (the host presets, system/host.ts)
 * and, here, the size of the kernel build and kernbench's loads.
 *
 * Shared assumptions: a RHEL/Fedora-style kernel (HZ=1000, CONFIG_PARAVIRT=y, PREEMPT_VOLUNTARY)
 * on bare metal or a guest without a paravirtual flush (native IPI backend); 2017 distribution
 * kernel configuration built with gcc 7 and -pipe; page cache warm (kernbench does a warm-up
 * run), so no disk waits.
 */
import { HOST_PRESETS, type HostSpec } from "../system/host.js";
import type { BuildParams } from "./kernbench.js";

/** A host with what kernbench needs on it: the build and the -j values of its two loads. */
export interface HostProfile extends HostSpec {
  readonly build: BuildParams;
  /** The -j values kernbench uses: half load (CPUs / 2) and optimal load (CPUs × 4). */
  readonly halfJobs: number;
  readonly optimalJobs: number;
  /** What was fitted, on which cells. */
  readonly calibration: string;
}

const MS = 1e6;

/**
 * The spread of one execution's CPU time between executions of the same program on the same
 * input, from the address-space layout each exec gets (ASLR: stack, mmap and heap bases and the
 * stack's sub-page offset; Mytkowicz et al., ASPLOS'09; Curtsinger and Berger, ASPLOS'13).
 * Measured, not fitted: gcc 12's cc1 compiling one 120-function C file (≈ 0.48 s) 120 times
 * with `randomize_va_space` = 2 and 120 times under `setarch -R`, alternated, each run SCHED_FIFO
 * on a 2-vCPU Xeon guest; the layout's share is the difference of the two variances of
 * successive-run differences (which removes the machine's slow drift): 1.3 % (90 % block
 * bootstrap interval 0–2.3 %); docs/model.md, "Run-to-run variance".
 */
const EXEC_SIGMA = 0.013;

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
    execSigma: EXEC_SIGMA,
    interleaveKernel: true,
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
    ...HOST_PRESETS["6cpu"]!,
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
    ...HOST_PRESETS["16cpu"]!,
    halfJobs: 8,
    optimalJobs: 64,
    build: build({
      objects: 2500,
      cc1UserMs: 462,
      cc1Faults: 20000,
      sysNsPerProc: 1_150_000,
      serialHeadMs: 5000,
      serialTailMs: 12300,
      pipeChunks: 30,
      makeJobGapMs: 50,
    }),
    calibration: "see docs/model.md",
  },
});

export const HOST_NAMES = Object.keys(HOSTS);

/**
 * kernbench's view of any host: a preset's own profile, or for a spec the build of the preset it
 * started from (the same kernel tree and compiler, uncalibrated on this host) at kernbench's
 * loads for its CPU count.
 */
export function kernbenchHost(spec: HostSpec): HostProfile {
  if (spec.name !== "custom" && Object.hasOwn(HOSTS, spec.name)) return HOSTS[spec.name]!;
  const base = HOSTS[spec.base]!;
  return {
    ...spec,
    build: base.build,
    halfJobs: Math.max(1, Math.floor(spec.nrCpus / 2)),
    optimalJobs: spec.nrCpus * 4,
    calibration: `not calibrated on this host: ${base.name}'s build and contention factors`,
  };
}
