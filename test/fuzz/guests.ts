/**
 * The robustness property of hosts and guests: random systems — a host (a preset or a spec), the guests
 * on it (today zero or one: a guest's vCPUs, the other VMs' vCPUs that overcommit the host),
 * a kernel profile with a flush backend the profile has (and its variants), and a tiny workload
 * per guest — all of them valid. Every run must finish (every task exits), crash nowhere,
 * conserve page frames (allocated − freed = in use; nothing left waiting for RCU; after a build,
 * nothing in use at all) and give the same result when run again with the same seed.
 *
 * The spec keeps its guests as a list so that several guests per host (and a host vCPU
 * scheduler placing them) slot in without changing the generator's shape: a runner for two or
 * more guests only has to be added to `runSpec`.
 */
import fc from "fast-check";
import { XEN_PV_HOSTS } from "../../kernel/src/arch/x86/backends.js";
import { BACKEND_NAMES, PROFILES, type BackendName } from "../../kernel/src/config/profiles.js";
import { runKernbench, type KernbenchKernel } from "../../kernel/src/experiments/kernbench.js";
import type { BackendOptions } from "../../kernel/src/system/build.js";
import { HOST_PRESET_NAMES, parseHostSpec } from "../../kernel/src/system/host.js";
import { MICRO_WORKLOADS, runMicro } from "../../kernel/src/workloads/micro.js";

export interface GuestSpec {
  readonly vcpus: number;
  /** Runnable vCPUs of other VMs on the same pCPUs. */
  readonly otherVcpus: number;
  /** The host scheduler's minimum granularity for a microworkload's guest (short, with a 100 µs
   * sched_latency, so that a run of a few hundred µs sees vCPUs descheduled and resumed;
   * kernbench's guests keep the host's defaults). */
  readonly timesliceNs: number;
  readonly profile: string;
  readonly backend: BackendName;
  readonly backendOptions?: BackendOptions;
  readonly workload:
    | { readonly kind: "kernbench"; readonly kernel: KernbenchKernel; readonly jobs: number }
    | { readonly kind: "micro"; readonly name: string; readonly durationNs: number };
}

export interface SystemSpec {
  /** A preset name or a `key=value` spec, as `--host` takes it. */
  readonly host: string;
  /** Zero guests: the workload runs on the host itself (`bare`). */
  readonly guests: readonly GuestSpec[];
  readonly bare: GuestSpec["workload"] & {
    readonly profile: string;
    readonly backend: BackendName;
  };
  readonly seed: number;
}

/** Hosts kept small so a case takes milliseconds. */
const hostArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...HOST_PRESET_NAMES),
  fc
    .record({ cores: fc.integer({ min: 1, max: 8 }), smt: fc.constantFrom(1, 2) })
    .map(({ cores, smt }) => `cpus=${cores * smt},smt=${smt}`),
);

/** Kernbench's kernels and the profiles they build. */
const KERNBENCH_PROFILE: Readonly<Record<KernbenchKernel, string>> = {
  current: "v4.13",
  rcu: "v4.14-posted",
  "rcu-no-shortcut": "v4.14-posted",
};

function available(profile: string, backend: BackendName): boolean {
  return PROFILES[profile as keyof typeof PROFILES].unavailable[backend] === undefined;
}

/** A backend's variants, valid for it. */
function optionsArb(
  backend: BackendName,
  profile: string,
): fc.Arbitrary<BackendOptions | undefined> {
  if (backend === "xen-pv")
    return fc.option(fc.record({ xenPvHost: fc.constantFrom(...XEN_PV_HOSTS) }), {
      nil: undefined,
    });
  if (backend === "hyperv" && profile === "v6.15")
    return fc.option(fc.record({ hypervSkipLazy: fc.boolean() }), { nil: undefined });
  return fc.constant(undefined);
}

const kernbenchArb = fc.record({
  kind: fc.constant("kernbench" as const),
  kernel: fc.constantFrom<KernbenchKernel>("current", "rcu", "rcu-no-shortcut"),
  jobs: fc.integer({ min: 1, max: 24 }),
});

const microArb = fc.record({
  kind: fc.constant("micro" as const),
  name: fc.constantFrom(...MICRO_WORKLOADS),
  durationNs: fc.integer({ min: 20_000, max: 400_000 }),
});

/** A workload with a profile and a backend that profile has. */
const placedWorkloadArb = fc
  .tuple(
    fc.oneof({ weight: 1, arbitrary: kernbenchArb }, { weight: 4, arbitrary: microArb }),
    fc.constantFrom(...Object.keys(PROFILES)),
    fc.constantFrom(...BACKEND_NAMES),
  )
  .filter(([w, p, b]) => available(w.kind === "kernbench" ? KERNBENCH_PROFILE[w.kernel] : p, b))
  .map(([w, p, b]) => ({
    workload: w,
    profile: w.kind === "kernbench" ? KERNBENCH_PROFILE[w.kernel] : p,
    backend: b,
  }));

const guestArb: fc.Arbitrary<GuestSpec> = fc
  .tuple(
    placedWorkloadArb,
    fc.integer({ min: 1, max: 8 }),
    fc.integer({ min: 0, max: 8 }),
    fc.constantFrom(20_000, 50_000, 150_000),
  )
  .chain(([pw, vcpus, otherVcpus, timesliceNs]) =>
    optionsArb(pw.backend, pw.profile).map((backendOptions) => ({
      vcpus,
      otherVcpus,
      timesliceNs,
      ...pw,
      ...(backendOptions !== undefined ? { backendOptions } : {}),
    })),
  );

export const systemSpecArb: fc.Arbitrary<SystemSpec> = fc.record({
  host: hostArb,
  // a list, so that more than one guest per host can be generated once the host schedules them
  guests: fc.array(guestArb, { minLength: 0, maxLength: 1 }),
  bare: placedWorkloadArb
    .filter((pw) => pw.workload.kind === "micro" || pw.backend === "native")
    .map((pw) => ({ ...pw.workload, profile: pw.profile, backend: pw.backend })),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 101 }),
});

/** What one run gives, reduced to what must be identical for the same seed and conserved. */
export interface SpecOutcome {
  readonly result: string;
  readonly frames: {
    readonly allocated: number;
    readonly freed: number;
    readonly inUse: number;
    readonly pendingRcu: number;
  };
  /** A build: every process exited and so every frame was freed. */
  readonly allExited: boolean;
}

/** Kernbench builds in the property are one object long (scale × 2,500 objects). */
export const PROPERTY_BUILD_SCALE = 0.0004;

/** Runs a spec's workload: on the host itself, or in its one guest. */
export function runSpec(spec: SystemSpec): SpecOutcome {
  const host = parseHostSpec(spec.host);
  if (spec.guests.length > 1) throw new Error("runSpec: more than one guest is not modelled yet");
  const g = spec.guests[0];
  const w = g?.workload ?? spec.bare;
  const profile = g?.profile ?? spec.bare.profile;
  const backend = g?.backend ?? spec.bare.backend;
  if (w.kind === "kernbench") {
    const r = runKernbench({
      host: spec.host,
      backend,
      ...(g ? { vcpus: g.vcpus, otherVcpus: g.otherVcpus } : {}),
      jobs: w.jobs,
      kernel: w.kernel,
      seed: spec.seed,
      scale: PROPERTY_BUILD_SCALE,
      ...(g?.backendOptions ? { backendOptions: g.backendOptions } : {}),
    });
    const m = r.mechanism;
    return {
      result: JSON.stringify(r),
      frames: {
        allocated: m.tablesAllocated,
        freed: m.framesFreed,
        inUse: m.framesInUse,
        pendingRcu: 0,
      },
      allExited: true,
    };
  }
  const vcpus = g?.vcpus ?? Math.min(host.nrCpus, 8);
  const r = runMicro({
    workload: w.name,
    profile,
    backend,
    nrCpus: vcpus,
    durationNs: w.durationNs,
    seed: spec.seed,
    hz: host.hz,
    ...(g
      ? {
          host: {
            pcpus: host.nrCpus,
            otherVcpus: g.otherVcpus,
            latencyNs: 100_000,
            minGranularityNs: g.timesliceNs,
          },
        }
      : {}),
    ...(g?.backendOptions ? { backendOptions: g.backendOptions } : {}),
  });
  return { result: JSON.stringify(r), frames: r.frames, allExited: false };
}
