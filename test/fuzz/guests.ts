/**
 * The robustness property of hosts and guests: random systems — a host (a preset or a spec) scheduled by
 * KVM (CFS) or Xen (credit2), the guests on it (none; one, with the other VMs' vCPUs that
 * overcommit the host; or two to three full guests sharing the host's CPUs), each with a kernel
 * profile, a flush backend the profile and the hypervisor have (and its variants), and a tiny
 * workload per guest — all of them valid. Every run must finish (every task exits), crash
 * nowhere, conserve page frames in every guest (allocated − freed = in use; nothing left waiting
 * for RCU; after a build, nothing in use at all) and give the same result when run again with the
 * same seed. Several guests run microworkloads each, or a kernel build each (`runKernbench`'s
 * guests: any profile and backend, so with tables freed through RCU — v4.14's, v6.1's, INVLPGB's
 * — or without).
 */
import fc from "fast-check";
import { XEN_PV_HOSTS } from "../../kernel/src/arch/x86/backends.js";
import { BACKEND_NAMES, PROFILES, type BackendName } from "../../kernel/src/config/profiles.js";
import { runKernbench, type KernbenchKernel } from "../../kernel/src/experiments/kernbench.js";
import type { BackendOptions } from "../../kernel/src/system/build.js";
import { CREDIT2_RUNQUEUE_OPTS } from "../../kernel/src/hw/credit2.js";
import { HOST_PRESET_NAMES, hostSchedParams, parseHostSpec } from "../../kernel/src/system/host.js";
import { MICRO_WORKLOADS, runMicro, runMicroVms } from "../../kernel/src/workloads/micro.js";

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
  /** A preset name or a `key=value` spec, as `--host` takes it (with `hypervisor=xen` for a
   * Xen host). */
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

/** A guest running a kernel build beside others: any profile with a backend it has (a guest
 * kernel is a PARAVIRT build: v4.14's tables go through RCU unless mm_users < 2, v6.1's always,
 * v4.13's never), its vCPUs and make -j; kernel only says whether v4.14's shortcut is on. */
const buildGuestArb: fc.Arbitrary<GuestSpec> = fc
  .tuple(
    fc.constantFrom(...Object.keys(PROFILES)),
    fc.constantFrom(...BACKEND_NAMES),
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 0, max: 4 }),
    kernbenchArb,
  )
  .filter(([p, b]) => available(p, b))
  .chain(([profile, backend, vcpus, otherVcpus, workload]) =>
    optionsArb(backend, profile).map((backendOptions) => ({
      vcpus,
      otherVcpus,
      timesliceNs: 0,
      profile,
      backend,
      workload: { ...workload, jobs: Math.min(workload.jobs, 4 * vcpus) },
      ...(backendOptions !== undefined ? { backendOptions } : {}),
    })),
  );

/** Two or three guests, each running a microworkload, or two or three each running a kernel
 * build (the first guest's `otherVcpus` are the host's other VMs). */
const severalGuestsArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(
      guestArb.filter((g) => g.workload.kind === "micro"),
      { minLength: 2, maxLength: 3 },
    ),
  },
  { weight: 1, arbitrary: fc.array(buildGuestArb, { minLength: 2, maxLength: 3 }) },
);

/** A host spec with the hypervisor and credit2's run queues appended (a preset becomes
 * `base=PRESET`). */
function onXen(host: string, rq: string): string {
  const xen = `hypervisor=xen,credit2Runqueue=${rq}`;
  return host.includes("=") ? `${host},${xen}` : `base=${host},${xen}`;
}

export const systemSpecArb: fc.Arbitrary<SystemSpec> = fc
  .record({
    host: hostArb,
    xen: fc.boolean(),
    rq: fc.constantFrom(...CREDIT2_RUNQUEUE_OPTS),
    guests: fc.oneof(fc.array(guestArb, { minLength: 0, maxLength: 1 }), severalGuestsArb),
    bare: placedWorkloadArb
      .filter((pw) => pw.workload.kind === "micro" || pw.backend === "native")
      .map((pw) => ({ ...pw.workload, profile: pw.profile, backend: pw.backend })),
    seed: fc.integer({ min: 0, max: 2 ** 32 - 101 }),
  })
  // KVM's PV flush needs a KVM host
  .filter((s) => !s.xen || s.guests.every((g) => g.backend !== "kvm-pv"))
  .map(({ xen, rq, ...s }) => ({ ...s, host: xen ? onXen(s.host, rq) : s.host }));

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

/** The host scheduler's parameters for a microworkload's guests: a KVM host's short slices (so
 * that a run of a few hundred µs sees vCPUs descheduled), or a Xen host's defaults. */
function hostParams(host: ReturnType<typeof parseHostSpec>, g: GuestSpec) {
  return host.hypervisor === "xen"
    ? { pcpus: host.nrCpus, otherVcpus: g.otherVcpus, ...hostSchedParams(host) }
    : {
        pcpus: host.nrCpus,
        otherVcpus: g.otherVcpus,
        latencyNs: 100_000,
        minGranularityNs: g.timesliceNs,
      };
}

/** Runs a spec's workload: on the host itself, in its one guest, or in each of its guests. */
export function runSpec(spec: SystemSpec): SpecOutcome {
  const host = parseHostSpec(spec.host);
  if (spec.guests.length > 1 && spec.guests[0]!.workload.kind === "kernbench")
    return runBuildGuests(spec);
  if (spec.guests.length > 1) return runGuests(spec, host);
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
    ...(g ? { host: hostParams(host, g) } : {}),
    ...(g?.backendOptions ? { backendOptions: g.backendOptions } : {}),
  });
  return { result: JSON.stringify(r), frames: r.frames, allExited: false };
}

/** Several guests on one host, each running its microworkload (backend variants are a single
 * guest's: `runMicroVms` builds every guest with its backend's defaults). */
function runGuests(spec: SystemSpec, host: ReturnType<typeof parseHostSpec>): SpecOutcome {
  const r = runMicroVms({
    seed: spec.seed,
    hz: host.hz,
    host: hostParams(host, spec.guests[0]!),
    guests: spec.guests.map((g) => {
      if (g.workload.kind !== "micro")
        throw new Error("runSpec: several guests run microworkloads");
      return {
        vcpus: g.vcpus,
        profile: g.profile,
        backend: g.backend,
        workload: g.workload.name,
        workloadOptions: { durationNs: g.workload.durationNs },
      };
    }),
  });
  const sum = (f: (x: (typeof r.guests)[number]["frames"]) => number) =>
    r.guests.reduce((a, x) => a + f(x.frames), 0);
  // each guest conserves its own frames: a sum would hide one guest's loss behind another's
  for (const x of r.guests)
    if (x.frames.allocated - x.frames.freed !== x.frames.inUse)
      return {
        result: JSON.stringify(r),
        frames: { ...x.frames },
        allExited: false,
      };
  return {
    result: JSON.stringify(r),
    frames: {
      allocated: sum((f) => f.allocated),
      freed: sum((f) => f.freed),
      inUse: sum((f) => f.inUse),
      pendingRcu: sum((f) => f.pendingRcu),
    },
    allExited: false,
  };
}

/** Several guests on one host, each running a kernel build (`runKernbench`'s guests). */
function runBuildGuests(spec: SystemSpec): SpecOutcome {
  const first = spec.guests[0]!;
  if (first.workload.kind !== "kernbench") throw new Error("runSpec: guests that build");
  const r = runKernbench({
    host: spec.host,
    otherVcpus: first.otherVcpus,
    guests: spec.guests.map((g) => {
      if (g.workload.kind !== "kernbench") throw new Error("runSpec: every guest builds");
      return {
        vcpus: g.vcpus,
        profile: g.profile,
        backend: g.backend,
        jobs: g.workload.jobs,
        ...(g.backendOptions ? { backendOptions: g.backendOptions } : {}),
      };
    }),
    jobs: first.workload.jobs,
    kernel: first.workload.kernel,
    seed: spec.seed,
    scale: PROPERTY_BUILD_SCALE,
  });
  // each guest conserves its own frames and, its build over, holds none
  const frames = (m: (typeof r.guests & object)[number]["mechanism"]) => ({
    allocated: m.tablesAllocated,
    freed: m.framesFreed,
    inUse: m.framesInUse,
    pendingRcu: 0,
  });
  for (const g of r.guests ?? [])
    if (g.mechanism.tablesAllocated - g.mechanism.framesFreed !== g.mechanism.framesInUse)
      return { result: JSON.stringify(r), frames: frames(g.mechanism), allExited: true };
  return { result: JSON.stringify(r), frames: frames(r.mechanism), allExited: true };
}
