/**
 * `mmulab validate`: the model against a real kernel. For each vCPU count, one boot of the
 * installed Debian kernel under qemu TCG runs every validation workload's C loop and reads the
 * kernel's counters around it; the model then runs the twin loop
 * (workloads/validation.ts) on the same CPU count with the profile read from that kernel's
 * /boot/config-*, and the two are compared counter by counter (compare.ts).
 *
 * Tooling, not a model layer: imports config/, workloads/ and experiments/ (through
 * workloads), and is imported only by cli/ and bench/ (docs/architecture.md).
 */
import { readFileSync } from "node:fs";
import { parseKconfig, profileFromConfig, type ConfigProfile } from "../config/kconfig.js";
import { checkInt, MmulabError, ParameterError } from "../sim/errors.js";
import {
  checkValidationWorkload,
  runValidationModel,
  VALIDATION_LAYOUT,
  VALIDATION_WORKLOADS,
  validationDefaults,
  type ModelCounts,
  type ValidationWorkload,
} from "../workloads/validation.js";
import { buildGuest, DEFAULT_CACHE_DIR } from "./build.js";
import { agrees, compareWorkload, type ComparisonRow } from "./compare.js";
import {
  runGuest,
  type GuestInfo,
  type GuestWorkload,
  type KernelWorkloadResult,
} from "./guest.js";
import { findKernel, findTools } from "./host.js";

export * from "./compare.js";
export {
  GuestFailedError,
  GuestTimeoutError,
  type GuestInfo,
  type KernelWorkloadResult,
} from "./guest.js";
export { GuestBuildError } from "./build.js";
export { KERNEL_RELEASE, MissingPackageError } from "./host.js";

/** The C program and the model did not run the same loop (kernel/validate-c/mmulab-wl.c and
 * workloads/validation.ts disagree): a bug of the harness, not of either side. */
export class LoopMismatchError extends MmulabError {
  constructor(
    readonly workload: string,
    readonly field: string,
    readonly kernel: unknown,
    readonly model: unknown,
  ) {
    super(
      `${workload}: the guest's loop has ${field} = ${JSON.stringify(kernel)}, the model's ` +
        `${JSON.stringify(model)} (kernel/validate-c/mmulab-wl.c and workloads/validation.ts disagree)`,
    );
  }
}

export interface ValidateOptions {
  /** vCPU counts, one boot each. Default [1, 2, 4]. */
  readonly cpus?: readonly number[];
  /** Workloads to run. Default all. */
  readonly workloads?: readonly string[];
  /** Loop iterations of the non-tlb_flush2 workloads. Default 8. */
  readonly iterations?: number;
  /** tlb_flush2 passes (256 pages each, per thread). Default 2. */
  readonly passes?: number;
  /** tlb_flush2-reuse passes. Default 4. */
  readonly reusePasses?: number;
  /** tlb_flush2*: align the threads' passes with a barrier (default true). False runs
   * will-it-scale's unaligned loop, whose counts depend on the machine's timing (mmap_sem
   * writer starvation); it is reported, not checked. */
  readonly alignPasses?: boolean;
  /** Per boot, ms. Default 600,000. */
  readonly timeoutMs?: number;
  /** Model seed. Default 1. */
  readonly seed?: number;
  readonly cacheDir?: string;
  /** A kernel release under /boot instead of linux-image-amd64's. */
  readonly kernelRelease?: string;
  /** Progress lines (boot started, finished). */
  readonly onProgress?: (line: string) => void;
}

export interface WorkloadComparison {
  readonly workload: ValidationWorkload;
  readonly cpus: number;
  readonly iterations: number;
  readonly kernel: KernelWorkloadResult;
  readonly model: ModelCounts;
  readonly rows: readonly ComparisonRow[];
  readonly ok: boolean;
}

export interface ValidateResult {
  readonly kernel: {
    readonly release: string;
    readonly image: string;
    readonly config: string;
    readonly profile: ConfigProfile;
    readonly backend: "native";
  };
  readonly boots: readonly {
    readonly cpus: number;
    readonly wallMs: number;
    readonly guest: GuestInfo;
  }[];
  readonly comparisons: readonly WorkloadComparison[];
  readonly skipped: readonly {
    readonly workload: string;
    readonly cpus: number;
    readonly reason: string;
  }[];
  /** Every checked counter of every workload agrees. */
  readonly ok: boolean;
}

/** Checks that the C program ran the loop the model runs: same addresses, sizes, counts. */
function checkSameLoop(
  w: ValidationWorkload,
  k: KernelWorkloadResult,
  cpus: number,
  sync: boolean,
): void {
  const L = VALIDATION_LAYOUT;
  const p = k.params;
  const expect: Record<string, number> =
    w === "tlb_flush2" || w === "tlb_flush2-reuse"
      ? {
          threads: cpus,
          bytes: L.tlbFlush2Bytes,
          reuse: w === "tlb_flush2" ? 0 : 1,
          sync: sync ? 1 : 0,
        }
      : w === "mmap-munmap" || w === "mmap-munmap-2t"
        ? { base: L.smallBase, bytes: L.smallBytes, spinner: w === "mmap-munmap" ? 0 : 1 }
        : w === "munmap-large"
          ? {
              start: L.regionStart,
              bytes: L.regionBytes,
              stride: L.regionStride,
              neighbour: L.neighbour,
            }
          : w === "exit-tables"
            ? { start: L.regionStart, bytes: L.regionBytes, stride: L.regionStride }
            : w === "lazy-tlb"
              ? { page: L.lazyPage, unmap: L.lazyUnmap, bytes: L.smallBytes }
              : {};
  for (const [key, v] of Object.entries(expect))
    if (p[key] !== v) throw new LoopMismatchError(w, key, p[key], v);
}

/** Runs the validation: boots, model runs, comparisons. */
export async function validate(opts: ValidateOptions = {}): Promise<ValidateResult> {
  const cpusList = [...(opts.cpus ?? [1, 2, 4])];
  if (cpusList.length === 0 || cpusList.length > 8)
    throw new ParameterError("cpus", cpusList, "1 to 8 vCPU counts", "validate");
  for (const c of cpusList) checkInt("cpus[]", c, 1, 16, "validate");
  const workloads = (opts.workloads ?? VALIDATION_WORKLOADS).map(checkValidationWorkload);
  if (workloads.length === 0)
    throw new ParameterError("workloads", [], "at least one workload", "validate");
  const iterations = checkInt("iterations", opts.iterations ?? 8, 1, 10_000, "validate");
  const passes = checkInt(
    "passes",
    opts.passes ?? validationDefaults("tlb_flush2").passes,
    1,
    1_000,
    "validate",
  );
  const reusePasses = checkInt(
    "reusePasses",
    opts.reusePasses ?? validationDefaults("tlb_flush2-reuse").passes,
    1,
    1_000,
    "validate",
  );
  const timeoutMs = checkInt("timeoutMs", opts.timeoutMs ?? 600_000, 1_000, 3_600_000, "validate");
  const seed = checkInt("seed", opts.seed ?? 1, 0, 2 ** 32 - 1, "validate");
  const progress = opts.onProgress ?? (() => {});
  const align = opts.alignPasses ?? true;

  const kernel = findKernel(
    opts.kernelRelease !== undefined ? { release: opts.kernelRelease } : {},
  );
  const tools = findTools();
  const profile = profileFromConfig(parseKconfig(readFileSync(kernel.config, "utf8")));
  const artefacts = buildGuest(tools, opts.cacheDir ?? DEFAULT_CACHE_DIR);

  const guestWorkloads: GuestWorkload[] = workloads.map((w) => {
    const args: Record<string, number> =
      w === "tlb_flush2"
        ? { passes, sync: align ? 1 : 0 }
        : w === "tlb_flush2-reuse"
          ? { passes: reusePasses, sync: align ? 1 : 0 }
          : { iterations };
    return { workload: w, args };
  });
  const boots: ValidateResult["boots"][number][] = [];
  const comparisons: WorkloadComparison[] = [];
  const skipped: { workload: string; cpus: number; reason: string }[] = [];
  for (const cpus of cpusList) {
    progress(`booting ${kernel.release} with ${cpus} vCPU(s) under qemu TCG`);
    const run = await runGuest({
      tools,
      kernel,
      artefacts,
      cpus,
      workloads: guestWorkloads,
      timeoutMs,
    });
    boots.push({ cpus, wallMs: run.wallMs, guest: run.info });
    progress(`  guest finished in ${(run.wallMs / 1000).toFixed(1)} s; running the model`);
    for (const s of run.skipped) skipped.push({ ...s, cpus });
    for (const k of run.results) {
      const w = checkValidationWorkload(k.workload);
      checkSameLoop(w, k, cpus, align);
      const model = runValidationModel({
        workload: w,
        cpus,
        profile: profile.profile,
        resolve: profile.resolve,
        hz: profile.hz,
        seed,
        params: {
          iterations: w.startsWith("tlb_flush2") ? iterations : k.iterations,
          passes: Number(k.params.passes ?? passes),
          sync: align,
          ...(k.stackShifts ? { stackShifts: k.stackShifts } : {}),
        },
      });
      if (model.iterations !== k.iterations)
        throw new LoopMismatchError(w, "iterations", k.iterations, model.iterations);
      const rows = compareWorkload(w, k, model, {
        checkReceived: align || !w.startsWith("tlb_flush2"),
      });
      comparisons.push({
        workload: w,
        cpus,
        iterations: k.iterations,
        kernel: k,
        model,
        rows,
        ok: agrees(rows),
      });
    }
  }
  return {
    kernel: { ...kernel, profile, backend: "native" },
    boots,
    comparisons,
    skipped,
    ok: comparisons.every((c) => c.ok),
  };
}
