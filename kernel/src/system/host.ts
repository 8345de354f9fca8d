/**
 * A host as a value: its CPUs and their topology, its scheduling-clock rate and cost overrides,
 * and the few scheduler and contention factors the workloads run with. The seed's two kernbench
 * hosts are presets of it; anything else is given as a spec (`cpus=32,smt=2`) that starts from a
 * preset and overrides fields.
 *
 * The seed says of its hosts only "6-CPU host" and "16-CPU host"; the topology of each and the
 * contention factors are assumptions, calibrated on the seed's table (docs/model.md, "kernbench").
 * Kernel scheduler tunables are v4.14's defaults (kernel/sched/fair.c) unless a preset changes
 * them.
 */
import { resolveCosts, DEFAULT_COSTS, type CostModel } from "../hw/costs.js";
import {
  checkHostKernel,
  DEFAULT_HOST_KERNEL,
  HYPERVISORS,
  type HostParams,
  type HypervisorKind,
} from "../hw/host.js";
import {
  checkCredit2Runqueue,
  CREDIT2_RUNQUEUE_OPTS,
  type Credit2Runqueue,
} from "../hw/credit2.js";
import { MAX_CPUS } from "../hw/machine.js";
import {
  checkInt,
  checkNumber,
  checkOptions,
  describeValue,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";

export interface HostSpec {
  /** The preset's name, or "custom" for a spec. */
  readonly name: string;
  /** The preset a spec started from (a preset's own name for a preset). */
  readonly base: string;
  readonly title: string;
  /** Logical CPUs (hardware threads) the host runs work on. */
  readonly nrCpus: number;
  /** CPU packages; the CPUs are split evenly over them. Recorded and checked: the model has no
   * cross-socket cost yet (docs/model.md). */
  readonly sockets: number;
  /** Threads per core. */
  readonly smt: number;
  /** CONFIG_HZ of the kernel that runs the work. */
  readonly hz: number;
  /** The host kernel when the host runs guests (hw/host.ts HOST_KERNELS): what decides
   * directed yield, PV sched yield and the steal-time `preempted` flag. Default v4.15. */
  readonly kernel: string;
  /** The hypervisor that schedules guests' vCPUs on this host (hw/host-sched.ts HYPERVISORS):
   * "kvm" (a Linux host, the default) or "xen" (credit2). A Xen host has no `kernel`. */
  readonly hypervisor: HypervisorKind;
  /** Xen's `credit2_runqueue=` (hw/credit2.ts: cpu, core, socket, node, all), when given; Xen's
   * default is socket. Only with hypervisor=xen. */
  readonly credit2Runqueue?: Credit2Runqueue;
  /** Cost-model overrides (hw/costs.ts), each within its field's range. */
  readonly costs: Readonly<Partial<CostModel>>;
  /** User-time slowdown while the SMT sibling is busy (calibrated). */
  readonly smtSlowdown: number;
  /** User-time slowdown per fraction of other CPUs busy (calibrated). */
  readonly contentionSlowdown: number;
  /** System-time slowdown per fraction of other CPUs busy (calibrated). */
  readonly sysContentionSlowdown: number;
  /** Kernel-thread wake-ups per second per busy CPU (calibrated). */
  readonly kthreadWakeupsPerSec: number;
  /** Contended-lock waits per ms of system time at full contention (calibrated). */
  readonly lockWaitsPerSysMs: number;
  /** sched_wakeup_granularity before scaling, ns. */
  readonly wakeupGranularityNs: number;
  /** sched_latency and sched_min_granularity before scaling, ns (kernel defaults 6 ms and
   * 0.75 ms; tuned profiles change them). */
  readonly latencyNs: number;
  readonly minGranularityNs: number;
}

const KERNEL_DEFAULTS = {
  sockets: 1,
  hz: 1000,
  kernel: DEFAULT_HOST_KERNEL,
  hypervisor: "kvm",
  costs: {},
  wakeupGranularityNs: 1_000_000,
  latencyNs: 6_000_000,
  minGranularityNs: 750_000,
} as const;

/** The named hosts. */
export const HOST_PRESETS: Readonly<Record<string, HostSpec>> = Object.freeze({
  "6cpu": {
    ...KERNEL_DEFAULTS,
    name: "6cpu",
    base: "6cpu",
    title: "the seed's 6-CPU host (assumed: 6 cores, no SMT)",
    nrCpus: 6,
    smt: 1,
    smtSlowdown: 0,
    contentionSlowdown: 0.066,
    sysContentionSlowdown: 0.007,
    kthreadWakeupsPerSec: 4.8,
    lockWaitsPerSysMs: 0.2,
    latencyNs: 9_000_000,
    minGranularityNs: 1_500_000,
  },
  "16cpu": {
    ...KERNEL_DEFAULTS,
    name: "16cpu",
    base: "16cpu",
    title: "the seed's 16-CPU host (assumed: 8 cores × 2 SMT threads)",
    nrCpus: 16,
    smt: 2,
    smtSlowdown: 0.28,
    contentionSlowdown: 0.05,
    sysContentionSlowdown: 1.4,
    kthreadWakeupsPerSec: 12,
    lockWaitsPerSysMs: 0.1,
    wakeupGranularityNs: 500_000,
  },
});

export const HOST_PRESET_NAMES = Object.keys(HOST_PRESETS);

/** The preset a spec starts from when it names none: the SMT host, the closer to today's. */
export const DEFAULT_BASE_PRESET = "16cpu";

/** The HZ values Kconfig offers (kernel/Kconfig.hz). */
export const HZ_VALUES = [100, 250, 300, 1000] as const;

const CTX = "host";

/** Integer fields of a spec, with their ranges. */
const INT_FIELDS = {
  cpus: [1, MAX_CPUS],
  sockets: [1, 64],
  smt: [1, 8],
  hz: [100, 1000],
  wakeupGranularityNs: [0, 1e9],
  latencyNs: [100_000, 1e9],
  minGranularityNs: [10_000, 1e9],
} as const;

/** Real-valued fields, with their ranges (the Scheduler's). */
const NUMBER_FIELDS = {
  smtSlowdown: [0, 4],
  contentionSlowdown: [0, 4],
  sysContentionSlowdown: [0, 4],
  kthreadWakeupsPerSec: [0, 1e5],
  lockWaitsPerSysMs: [0, 1e3],
} as const;

/** Every key a spec may have: the fields, `base` (a preset), `kernel` (the host kernel),
 * `hypervisor` and `costs` (JSON only). */
export const HOST_SPEC_KEYS = [
  "base",
  "kernel",
  "hypervisor",
  "credit2Runqueue",
  ...Object.keys(INT_FIELDS),
  ...Object.keys(NUMBER_FIELDS),
  "costs",
] as const;

/** Longest spec text accepted (a JSON spec with every cost overridden fits in far less). */
export const MAX_HOST_SPEC_CHARS = 16_384;

/** A preset by name; a typed error naming the presets for anything else. */
export function hostPreset(name: string): HostSpec {
  // own keys only: "toString" is not a host
  if (typeof name !== "string" || !Object.hasOwn(HOST_PRESETS, name))
    throw new UnknownNameError(
      "host",
      typeof name === "string" ? name : describeValue(name),
      HOST_PRESET_NAMES,
    );
  return HOST_PRESETS[name]!;
}

/**
 * Builds a host from spec fields: `base` (a preset, default {@link DEFAULT_BASE_PRESET}) with
 * the given fields over it. Giving `cpus` without `smt` or `sockets` means 1 of each: a topology
 * is not carried over to another CPU count. Checks every field's type and range, and the
 * topology: the CPUs must split into whole cores of `smt` threads on `sockets` equal packages.
 */
export function hostFromFields(fields: unknown): HostSpec {
  const o = checkOptions(CTX, fields, HOST_SPEC_KEYS, CTX);
  const baseName = o["base"] ?? DEFAULT_BASE_PRESET;
  if (typeof baseName !== "string")
    throw new ParameterError("base", baseName, `one of ${HOST_PRESET_NAMES.join(", ")}`, CTX);
  const base = hostPreset(baseName);
  const ints: Record<string, number> = {};
  for (const [k, [min, max]] of Object.entries(INT_FIELDS))
    if (o[k] !== undefined) ints[k] = checkInt(k, o[k], min, max, CTX);
  const nums: Record<string, number> = {};
  for (const [k, [min, max]] of Object.entries(NUMBER_FIELDS))
    if (o[k] !== undefined) nums[k] = checkNumber(k, o[k], min, max, CTX);
  if (ints["hz"] !== undefined && !(HZ_VALUES as readonly number[]).includes(ints["hz"]))
    throw new ParameterError("hz", ints["hz"], `one of ${HZ_VALUES.join(", ")}`, CTX);
  const kernel = o["kernel"] === undefined ? base.kernel : checkHostKernel(o["kernel"]);
  const hypervisor = o["hypervisor"] ?? base.hypervisor;
  if (typeof hypervisor !== "string" || !(HYPERVISORS as readonly string[]).includes(hypervisor))
    throw new UnknownNameError("hypervisor", describeValue(hypervisor), HYPERVISORS, CTX);
  if (hypervisor === "xen" && o["kernel"] !== undefined)
    throw new ParameterError(
      "kernel",
      o["kernel"],
      "no host kernel with hypervisor=xen (the host kernel is a KVM host's Linux)",
      CTX,
    );
  let credit2Runqueue: Credit2Runqueue | undefined = base.credit2Runqueue;
  if (o["credit2Runqueue"] !== undefined) {
    if (hypervisor !== "xen")
      throw new ParameterError(
        "credit2Runqueue",
        o["credit2Runqueue"],
        `hypervisor=xen (credit2's run queues: ${CREDIT2_RUNQUEUE_OPTS.join(", ")})`,
        CTX,
      );
    credit2Runqueue = checkCredit2Runqueue(o["credit2Runqueue"]);
  }
  const costs = o["costs"] ?? {};
  checkOptions("costs", costs, Object.keys(DEFAULT_COSTS), CTX);
  resolveCosts(costs); // range of every override
  const nrCpus = ints["cpus"] ?? base.nrCpus;
  const smt = ints["smt"] ?? (ints["cpus"] !== undefined ? 1 : base.smt);
  const sockets = ints["sockets"] ?? (ints["cpus"] !== undefined ? 1 : base.sockets);
  if (nrCpus % (smt * sockets) !== 0)
    throw new ParameterError(
      "cpus",
      nrCpus,
      `a multiple of smt × sockets = ${smt * sockets} (whole cores on equal sockets)`,
      CTX,
    );
  const custom = Object.keys(o).some((k) => k !== "base");
  return {
    ...base,
    ...nums,
    name: custom ? "custom" : base.name,
    title: custom
      ? `a ${nrCpus}-CPU host (${sockets} socket(s), ${nrCpus / smt / sockets} cores each, SMT ${smt}; the rest from ${base.name})`
      : base.title,
    nrCpus,
    smt,
    sockets,
    hz: ints["hz"] ?? base.hz,
    kernel,
    hypervisor: hypervisor as HypervisorKind,
    ...(credit2Runqueue !== undefined ? { credit2Runqueue } : {}),
    costs: { ...base.costs, ...(costs as Partial<CostModel>) },
    wakeupGranularityNs: ints["wakeupGranularityNs"] ?? base.wakeupGranularityNs,
    latencyNs: ints["latencyNs"] ?? base.latencyNs,
    minGranularityNs: ints["minGranularityNs"] ?? base.minGranularityNs,
  };
}

/** A strict decimal number (what a person types: no hex, no Infinity, no blanks). */
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Reads a host given as text: a preset name (`16cpu`), `key=value` pairs separated by commas
 * (`cpus=32,smt=2`, `base=6cpu,hz=250`), or a JSON object with the same keys (and `costs`).
 * Reading a JSON *file* is the caller's job (the CLI's input layer bounds and reads it).
 */
export function parseHostSpec(text: string): HostSpec {
  if (typeof text !== "string" || text.length === 0)
    throw new ParameterError("host", text, "a preset name, key=value pairs or a JSON object", CTX);
  if (text.length > MAX_HOST_SPEC_CHARS)
    throw new ParameterError(
      "host",
      `${text.slice(0, 40)}…`,
      `a spec of at most ${MAX_HOST_SPEC_CHARS} characters`,
      CTX,
    );
  const t = text.trim();
  if (t.startsWith("{")) {
    let value: unknown;
    try {
      value = JSON.parse(t);
    } catch (e) {
      throw new ParameterError(
        "host",
        `${t.slice(0, 40)}…`,
        `valid JSON (${(e as Error).message})`,
        CTX,
      );
    }
    return hostFromFields(value);
  }
  if (!t.includes("=")) return hostPreset(t);
  const fields: Record<string, unknown> = {};
  for (const pair of t.split(",")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (eq < 0 || key === "")
      throw new ParameterError("host", pair, "key=value pairs separated by commas", CTX);
    if (!(HOST_SPEC_KEYS as readonly string[]).includes(key) || key === "costs")
      throw new UnknownNameError(
        "host key",
        key,
        HOST_SPEC_KEYS.filter((k) => k !== "costs"),
        CTX,
      );
    if (Object.hasOwn(fields, key)) throw new ParameterError(key, raw, "given once", CTX);
    if (key === "base" || key === "kernel" || key === "hypervisor" || key === "credit2Runqueue")
      fields[key] = raw;
    else {
      if (!DECIMAL.test(raw)) throw new ParameterError(key, raw, "a decimal number", CTX);
      fields[key] = Number(raw) + 0;
    }
  }
  return hostFromFields(fields);
}

/** What a host spec gives the host scheduler of its guests: the hypervisor, and a KVM host's
 * kernel (a Xen host has none) or a Xen host's topology and credit2_runqueue (its run queues).
 * `kernel` overrides the spec's (`--host-kernel`). */
export function hostSchedParams(
  h: HostSpec,
  kernel?: string,
): Pick<HostParams, "hypervisor" | "kernel" | "sockets" | "smt" | "credit2Runqueue"> {
  if (h.hypervisor === "xen") {
    if (kernel !== undefined)
      throw new ParameterError(
        "host-kernel",
        kernel,
        "no host kernel with hypervisor=xen (the host kernel is a KVM host's Linux)",
        CTX,
      );
    return {
      hypervisor: "xen",
      sockets: h.sockets,
      smt: h.smt,
      ...(h.credit2Runqueue !== undefined ? { credit2Runqueue: h.credit2Runqueue } : {}),
    };
  }
  return { kernel: kernel ?? h.kernel };
}
