/**
 * A whole simulated system for one run: machine (optionally a guest on a host), kernel with a
 * resolved version profile, x86 flush backend, RCU. Everything hangs off one Simulation.
 */
import {
  HYPERV_SKIP_LAZY_SINCE,
  hypervBackend,
  invlpgbBackend,
  kvmPvBackend,
  XEN_PV_HOSTS,
  xenPvBackendOn,
  type XenPvHost,
} from "../arch/x86/backends.js";
import { installX86 } from "../arch/x86/pgtable.js";
import { nativeBackend, type FlushBackend, type X86Mmu } from "../arch/x86/tlb.js";
import {
  DEFAULT_HW_WALKER,
  installPageWalker,
  type HwWalkerParams,
} from "../arch/x86/page-walker.js";
import { DEFAULT_TLB_PARAMS, type TlbParams } from "../hw/tlb-cache.js";
import {
  resolveProfile,
  type BackendName,
  type ResolvedProfile,
  type ResolveOptions,
} from "../config/profiles.js";
import { DEFAULT_COSTS, type CostModel } from "../hw/costs.js";
import {
  Host,
  HOST_PARAM_KEYS,
  HostCpus,
  VM_PARAM_KEYS,
  type HostParams,
  type VmParams,
} from "../hw/host.js";
import { Machine } from "../hw/machine.js";
import { Kernel } from "../mm/kernel.js";
import { Rcu } from "../rcu/tree.js";
import {
  checkBool,
  checkInt,
  checkOptions,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";
import { Simulation } from "../sim/simulation.js";

export interface SystemOptions {
  readonly profile: string;
  readonly backend: string;
  readonly nrCpus?: number;
  readonly seed?: number;
  /** CONFIG_HZ. Default 1000. */
  readonly hz?: number;
  readonly levels?: 4 | 5;
  readonly costs?: Partial<CostModel>;
  /** The host under this guest (its own, not shared) and the guest's place on it. */
  readonly host?: HostParams & VmParams;
  readonly trace?: boolean;
  /** Keep per-frame histories (the oracle's reports use them). Default true. */
  readonly history?: boolean;
  readonly resolve?: ResolveOptions;
  /** Counterfactual: v4.14's mm_users < 2 shortcut (tables freed directly when no other thread
   * can walk) forced on or off, whatever the profile says. Default: the profile's. */
  readonly mmUsersShortcut?: boolean;
  /** Counterfactual: v4.19's tlb_table_invalidate (d86564a2f085: flush before the table batch
   * goes to RCU and before tlb_remove_table_one frees) forced on or off. Default: the
   * profile's. */
  readonly tableInvalidate?: boolean;
  /** Counterfactual: v6.1's tlb_remove_table_sync_one() after khugepaged's pmdp_collapse_flush
   * (2ba99c5e0881) forced on or off. Default: the profile's. */
  readonly collapseSyncOne?: boolean;
  /** Counterfactual: v4.19's flush of mremap's old range under the page-table locks
   * (eb66ae030829) forced on or off. Default: the profile's. */
  readonly mremapFlushUnderPtl?: boolean;
  /** Keep exited mms for inspection. Default true; a long build turns it off. */
  readonly keepDroppedMms?: boolean;
  /** Variants of the flush backend (each refused with another backend, or with a kernel that
   * never had it). */
  readonly backendOptions?: BackendOptions;
  /** The hardware model: each CPU's page walker walking through its TLB and paging-structure
   * caches, and every flush's effect on them (arch/x86/page-walker.ts). `true` or the walker's
   * parameters turn it on. Default off: the race scenarios turn it on, the workloads leave it
   * off (they measure time, which it does not change, and it costs events). */
  readonly hardware?: boolean | Partial<HwWalkerParams>;
  /** Sizes and replacement of each CPU's TLB and paging-structure caches. */
  readonly tlb?: Partial<TlbParams>;
  /** CR4.PCIDE: dynamic ASIDs per CPU (v4.14+; refused on v4.13 and under Xen PV and Hyper-V).
   * Default false, as the validation guest (qemu64) has no PCID — except with the invlpgb
   * backend, which needs it (default true there, false refused). */
  readonly pcid?: boolean;
  /** A modelling shortcut, off by default (hw/machine.ts MachineParams.csdBatch): a CPU
   * draining its call_single_queue runs the flush requests it has already caught up with in one
   * step instead of one event each. Changes results within their noise (the random draws come
   * in another order); docs/benchmarks.md measures it. */
  readonly csdBatch?: boolean;
}

/** Variants of a flush backend that the literature compares. */
export interface BackendOptions {
  /** xen-pv: what carries the guest's MMUEXT flush out (arch/x86/backends.ts XEN_PV_HOSTS):
   * Xen on bare metal (default), a PV shim that IPIs its pCPUs, or a Xen 4.14+ shim that asks
   * L0 with HVMOP_flush_tlbs. */
  readonly xenPvHost?: XenPvHost;
  /** xen-pv in an assisted shim: the type-change flush of a frame that was a page table is
   * FLUSH_NO_ASSIST, by IPI (Xen 5b718d24e8, "x86/tlb: fix assisted flush usage", 4.14-rc5).
   * Default true (Xen 4.14 as released); false: e9aca9470e as first published. */
  readonly xenNoAssistPageTables?: boolean;
  /** hyperv: leave lazy CPUs out of the VP set unless tables were freed. Default: what the
   * kernel does (v6.4+); true on an older kernel is refused. */
  readonly hypervSkipLazy?: boolean;
}

export const BACKEND_OPTION_KEYS = [
  "xenPvHost",
  "xenNoAssistPageTables",
  "hypervSkipLazy",
] as const;

/** A backend option that the backend or the kernel version does not have: a ParameterError
 * naming the option and its value, whose "expected" says which backend or kernel has it. */
export class BackendOptionError extends ParameterError {
  constructor(option: string, value: unknown, reason: string) {
    super(option, value, reason, CTX);
  }
}

/** The release a profile describes ("v4.14-posted" → [4, 14]). */
export function profileRelease(name: string): readonly [number, number] {
  const m = /^v(\d+)\.(\d+)/.exec(name);
  if (m === null) throw new ParameterError("profile", name, "a profile named vX.Y…", CTX);
  return [Number(m[1]), Number(m[2])];
}

function atLeast(v: readonly [number, number], since: readonly [number, number]): boolean {
  return v[0] > since[0] || (v[0] === since[0] && v[1] >= since[1]);
}

/** The backend options with their defaults for `resolved`, or a typed refusal. */
export function resolveBackendOptions(
  resolved: ResolvedProfile,
  o: BackendOptions = {},
): Required<BackendOptions> {
  checkOptions("backendOptions", o, BACKEND_OPTION_KEYS, CTX);
  const backend = resolved.backend;
  if (o.xenPvHost !== undefined) {
    if (!(XEN_PV_HOSTS as readonly string[]).includes(o.xenPvHost))
      throw new UnknownNameError("xenPvHost", o.xenPvHost, XEN_PV_HOSTS, CTX);
    if (backend !== "xen-pv")
      throw new BackendOptionError(
        "xenPvHost",
        o.xenPvHost,
        `backend xen-pv: only a Xen PV guest flushes through MMUEXT_TLB_FLUSH_MULTI (backend is ${backend})`,
      );
  }
  checkBool("xenNoAssistPageTables", o.xenNoAssistPageTables, false, CTX);
  if (o.xenNoAssistPageTables !== undefined && o.xenPvHost !== "shim-assisted")
    throw new BackendOptionError(
      "xenNoAssistPageTables",
      o.xenNoAssistPageTables,
      `xenPvHost shim-assisted: only an assisted shim has a flush to forgo (xenPvHost is ${o.xenPvHost ?? "xen"})`,
    );
  checkBool("hypervSkipLazy", o.hypervSkipLazy, false, CTX);
  const since = HYPERV_SKIP_LAZY_SINCE;
  const has = atLeast(profileRelease(resolved.profile.name), since);
  if (o.hypervSkipLazy !== undefined) {
    if (backend !== "hyperv")
      throw new BackendOptionError(
        "hypervSkipLazy",
        o.hypervSkipLazy,
        `backend hyperv: only the Hyper-V enlightened flush has it (backend is ${backend})`,
      );
    if (o.hypervSkipLazy && !has)
      throw new BackendOptionError(
        "hypervSkipLazy",
        o.hypervSkipLazy,
        `a kernel from v${since.join(".")}: the Hyper-V flush skips lazy CPUs from then (Michael Kelley, "x86/hyperv: Exclude lazy TLB mode CPUs from enlightened TLB flushes", 2023); profile ${resolved.profile.name} is older`,
      );
  }
  return {
    xenPvHost: o.xenPvHost ?? "xen",
    xenNoAssistPageTables: o.xenNoAssistPageTables ?? true,
    hypervSkipLazy: o.hypervSkipLazy ?? (backend === "hyperv" && has),
  };
}

export interface System {
  readonly sim: Simulation;
  readonly m: Machine;
  readonly k: Kernel;
  readonly x86: X86Mmu;
  readonly rcu: Rcu;
  readonly host: Host;
  readonly resolved: ResolvedProfile;
}

/** The flush backend object for a resolved backend name (KVM's PV flush reads the host's
 * steal-time area). */
export function makeBackend(
  name: BackendName,
  host: Host,
  options: Required<BackendOptions> = {
    xenPvHost: "xen",
    xenNoAssistPageTables: true,
    hypervSkipLazy: false,
  },
): FlushBackend {
  switch (name) {
    case "native":
      return nativeBackend;
    case "xen-pv":
      return xenPvBackendOn(options.xenPvHost, {
        noAssistForPageTables: options.xenNoAssistPageTables,
      });
    case "hyperv":
      return hypervBackend({ skipLazy: options.hypervSkipLazy });
    case "kvm-pv":
      return kvmPvBackend(host);
    case "invlpgb":
      return invlpgbBackend;
  }
}

/** The options {@link buildSystem} takes, for callers that pass a subset on. */
export const SYSTEM_OPTION_KEYS = [
  "profile",
  "backend",
  "nrCpus",
  "seed",
  "hz",
  "levels",
  "costs",
  "host",
  "trace",
  "history",
  "resolve",
  "mmUsersShortcut",
  "tableInvalidate",
  "collapseSyncOne",
  "mremapFlushUnderPtl",
  "keepDroppedMms",
  "backendOptions",
  "hardware",
  "tlb",
  "pcid",
  "csdBatch",
] as const;

const CTX = "buildSystem";
/** The keys allowed in the nested options, made once (a race trial builds a system every
 * 100–200 µs). */
const COST_KEYS: readonly string[] = Object.keys(DEFAULT_COSTS);
const HOST_AND_VM_KEYS: readonly string[] = [...HOST_PARAM_KEYS, ...VM_PARAM_KEYS];
const TLB_KEYS: readonly string[] = Object.keys(DEFAULT_TLB_PARAMS);
const HW_WALKER_KEYS: readonly string[] = Object.keys(DEFAULT_HW_WALKER);

/**
 * Checks the shape of every option (objects where objects go, booleans where booleans go, no
 * unknown keys); the parts check their own numbers and names when they are built.
 */
function checkSystemOptions(opts: unknown): SystemOptions {
  if (opts === undefined)
    throw new ParameterError("options", opts, "an object with profile and backend", CTX);
  const o = checkOptions("options", opts, SYSTEM_OPTION_KEYS, CTX);
  checkOptions("costs", o["costs"], COST_KEYS, CTX);
  checkOptions("host", o["host"], HOST_AND_VM_KEYS, CTX);
  checkBool("trace", o["trace"], true, CTX);
  checkBool("history", o["history"], true, CTX);
  checkBool("mmUsersShortcut", o["mmUsersShortcut"], false, CTX);
  checkBool("tableInvalidate", o["tableInvalidate"], false, CTX);
  checkBool("collapseSyncOne", o["collapseSyncOne"], false, CTX);
  checkBool("mremapFlushUnderPtl", o["mremapFlushUnderPtl"], false, CTX);
  checkBool("keepDroppedMms", o["keepDroppedMms"], true, CTX);
  if (typeof o["hardware"] !== "boolean")
    checkOptions("hardware", o["hardware"], HW_WALKER_KEYS, CTX);
  checkOptions("tlb", o["tlb"], TLB_KEYS, CTX);
  checkBool("pcid", o["pcid"], false, CTX);
  checkBool("csdBatch", o["csdBatch"], false, CTX);
  if (o["levels"] !== undefined) checkInt("levels", o["levels"], 4, 5, CTX);
  return o as unknown as SystemOptions;
}

/** Builds and wires a system; validates every name and number before building anything. */
export function buildSystem(options: SystemOptions): System {
  const opts = checkSystemOptions(options);
  const sim = new Simulation({ seed: opts.seed ?? 1, trace: opts.trace ?? true });
  return buildGuest(sim, opts, undefined);
}

/** One machine with its kernel on `sim`: on its own host, or on `shared` host CPUs. */
function buildGuest(sim: Simulation, opts: SystemOptions, shared: HostCpus | undefined): System {
  const resolved = resolveProfile(opts.profile, opts.backend, opts.resolve);
  const backendOptions = resolveBackendOptions(resolved, opts.backendOptions);
  // INVLPGB flushes a global ASID's PCID, so it needs CR4.PCIDE (every INVLPGB part, AMD Zen 3
  // on, has PCID): on by default with it, and refused off
  if (resolved.backend === "invlpgb" && opts.pcid === false)
    throw new BackendOptionError(
      "pcid",
      false,
      "true (or absent) with the invlpgb backend: v6.15 broadcasts only for an mm with a global ASID, and a global ASID is a PCID",
    );
  const m = new Machine(sim, {
    nrCpus: opts.nrCpus ?? 4,
    ...(opts.costs ? { costs: opts.costs } : {}),
    ...(opts.tlb ? { tlb: opts.tlb } : {}),
    ...(opts.csdBatch === true ? { csdBatch: true } : {}),
  });
  // the guest kernel's PV sched yield, if the profile has it (the host decides whether to offer it)
  const vm = { pvSchedYield: resolved.profile.pvSchedYield, ...opts.host };
  const xenHost = (shared?.hypervisor ?? opts.host?.hypervisor) === "xen";
  if (xenHost && resolved.backend === "kvm-pv")
    throw new BackendOptionError(
      "backend",
      resolved.backend,
      "a KVM host: KVM's PV flush reads KVM's steal-time area, which a Xen host does not have (give native, xen-pv, hyperv — Xen's viridian flush — or invlpgb)",
    );
  const host = shared === undefined ? new Host(m, vm) : new Host(m, vm, shared);
  const k = new Kernel(m, {
    levels: opts.levels ?? 4,
    behaviour: {
      ...resolved.gather,
      ...(opts.mmUsersShortcut === undefined ? {} : { mmUsersShortcut: opts.mmUsersShortcut }),
      ...(opts.tableInvalidate === undefined ? {} : { tableInvalidate: opts.tableInvalidate }),
      ...(opts.collapseSyncOne === undefined ? {} : { collapseSyncOne: opts.collapseSyncOne }),
      ...(opts.mremapFlushUnderPtl === undefined
        ? {}
        : { mremapFlushUnderPtl: opts.mremapFlushUnderPtl }),
    },
    allocator: { history: opts.history ?? true },
    hz: opts.hz ?? 1000,
    keepDroppedMms: opts.keepDroppedMms ?? true,
  });
  const x86 = installX86(k, resolved.x86, makeBackend(resolved.backend, host, backendOptions));
  if (opts.pcid === true || resolved.backend === "invlpgb") x86.enable_pcid();
  const hw = opts.hardware ?? false;
  if (hw !== false) installPageWalker(x86, hw === true ? undefined : hw);
  const rcu = new Rcu(m, { hz: opts.hz ?? 1000, flavour: resolved.rcuFlavour });
  k.rcu = rcu;
  return { sim, m, k, x86, rcu, host, resolved };
}

/**
 * A guest in a system spec: its vCPUs, their place on the host, its kernel and flush backend,
 * and the workload it runs (a name the workload layer checks, with that workload's options).
 */
export interface GuestSpec {
  /** vCPUs, 1 … MAX_GUEST_VCPUS. */
  readonly vcpus: number;
  /** Guest kernel profile (config/profiles.ts). */
  readonly profile: string;
  /** Flush backend. */
  readonly backend: string;
  /** vCPU i pinned to pCPU (first + i) mod pCPUs, or floating over all of them (default:
   * floating, on KVM and Xen hosts alike; see hw/host-sched.ts `VmParams`). */
  readonly pinned?: boolean;
  /** Weight of each vCPU thread on the host (1024 = nice 0). Default 1024. */
  readonly weight?: number;
  /** The guest's workload, by name (workloads/ checks it); none: the guest idles. */
  readonly workload?: string;
  /** That workload's options (workloads/ checks them). */
  readonly workloadOptions?: Readonly<Record<string, unknown>>;
  /** Variants of its flush backend (see {@link BackendOptions}). */
  readonly backendOptions?: BackendOptions;
  /** Its kernel's v4.14 mm_users < 2 shortcut forced on or off (SystemOptions). */
  readonly mmUsersShortcut?: boolean;
}

export const GUEST_SPEC_KEYS = [
  "vcpus",
  "profile",
  "backend",
  "pinned",
  "weight",
  "workload",
  "workloadOptions",
  "backendOptions",
  "mmUsersShortcut",
] as const;

/** Largest guest, in vCPUs (KVM_MAX_VCPUS is 1024 on x86 since v5.15). */
export const MAX_GUEST_VCPUS = 1024;
/** Most guests in one system. */
export const MAX_GUESTS = 64;

/** A host with zero or more guests, one simulation. */
export interface HostSystemOptions {
  readonly seed?: number;
  readonly trace?: boolean;
  readonly history?: boolean;
  /** The host: pCPUs, kernel, scheduler tunables, PLE (hw/host.ts). `pcpus` is required. */
  readonly host: HostParams & { readonly pcpus: number };
  readonly guests: readonly GuestSpec[];
  /** Every guest's CONFIG_HZ and cost overrides. Defaults 1000 and costs.md's. */
  readonly hz?: number;
  readonly costs?: Partial<CostModel>;
  readonly keepDroppedMms?: boolean;
}

export interface HostSystem {
  readonly sim: Simulation;
  readonly hostCpus: HostCpus;
  /** One system per guest, in spec order, all on `sim` and `hostCpus`. */
  readonly guests: readonly System[];
  readonly specs: readonly GuestSpec[];
}

/** Checks a guest spec's shape and numbers (its workload is the workload layer's to check). */
export function checkGuestSpec(g: unknown, i: number): GuestSpec {
  const ctx = `guests[${i}]`;
  const o = checkOptions(ctx, g, GUEST_SPEC_KEYS, CTX);
  if (g === undefined) throw new ParameterError(ctx, g, "a guest spec object", CTX);
  checkInt(`${ctx}.vcpus`, o["vcpus"], 1, MAX_GUEST_VCPUS, CTX);
  if (typeof o["profile"] !== "string")
    throw new ParameterError(`${ctx}.profile`, o["profile"], "a kernel profile name", CTX);
  if (typeof o["backend"] !== "string")
    throw new ParameterError(`${ctx}.backend`, o["backend"], "a flush backend name", CTX);
  checkBool(`${ctx}.pinned`, o["pinned"], true, CTX);
  if (o["weight"] !== undefined) checkInt(`${ctx}.weight`, o["weight"], 2, 88_761, CTX);
  if (o["workload"] !== undefined && typeof o["workload"] !== "string")
    throw new ParameterError(`${ctx}.workload`, o["workload"], "a workload name", CTX);
  checkOptions(`${ctx}.backendOptions`, o["backendOptions"], BACKEND_OPTION_KEYS, CTX);
  checkBool(`${ctx}.mmUsersShortcut`, o["mmUsersShortcut"], false, CTX);
  checkOptions(
    `${ctx}.workloadOptions`,
    o["workloadOptions"],
    Object.keys(o["workloadOptions"] ?? {}),
    CTX,
  );
  return o as unknown as GuestSpec;
}

/**
 * Builds a host and its guests on one simulation: each guest a full machine with its own
 * kernel, backend, RCU and steal-time areas, every vCPU a thread of the one host scheduler.
 * Validates the whole spec before building anything.
 */
export function buildHostSystem(options: HostSystemOptions): HostSystem {
  const o = checkOptions(
    "options",
    options,
    ["seed", "trace", "history", "host", "guests", "hz", "costs", "keepDroppedMms"],
    CTX,
  );
  if (options === undefined)
    throw new ParameterError("options", options, "an object with host and guests", CTX);
  checkOptions("host", o["host"], HOST_PARAM_KEYS, CTX);
  const hostParams = o["host"] as HostParams | undefined;
  if (hostParams === undefined || hostParams.pcpus === undefined)
    throw new ParameterError("host.pcpus", hostParams?.pcpus, "the host's physical CPUs", CTX);
  const guestsRaw = o["guests"];
  if (!Array.isArray(guestsRaw) || guestsRaw.length > MAX_GUESTS)
    throw new ParameterError("guests", guestsRaw, `a list of at most ${MAX_GUESTS} guests`, CTX);
  const specs = guestsRaw.map((g, i) => checkGuestSpec(g, i));
  // names checked before building
  for (const g of specs) resolveProfile(g.profile, g.backend, { paravirt: true });
  checkOptions("costs", o["costs"], Object.keys(DEFAULT_COSTS), CTX);
  checkBool("trace", o["trace"], true, CTX);
  checkBool("history", o["history"], true, CTX);
  checkBool("keepDroppedMms", o["keepDroppedMms"], true, CTX);
  const sim = new Simulation({ seed: options.seed ?? 1, trace: options.trace ?? true });
  const hostCpus = new HostCpus(sim, options.host);
  const guests = specs.map((g) =>
    buildGuest(
      sim,
      {
        profile: g.profile,
        backend: g.backend,
        // a guest kernel is a CONFIG_PARAVIRT build whatever its flush backend
        resolve: { paravirt: true },
        nrCpus: g.vcpus,
        ...(options.hz !== undefined ? { hz: options.hz } : {}),
        ...(options.costs !== undefined ? { costs: options.costs } : {}),
        ...(options.trace !== undefined ? { trace: options.trace } : {}),
        ...(options.history !== undefined ? { history: options.history } : {}),
        ...(options.keepDroppedMms !== undefined ? { keepDroppedMms: options.keepDroppedMms } : {}),
        ...(g.mmUsersShortcut !== undefined ? { mmUsersShortcut: g.mmUsersShortcut } : {}),
        ...(g.backendOptions !== undefined ? { backendOptions: g.backendOptions } : {}),
        host: {
          ...(g.pinned !== undefined ? { pinned: g.pinned } : {}),
          ...(g.weight !== undefined ? { weight: g.weight } : {}),
        },
      },
      hostCpus,
    ),
  );
  return { sim, hostCpus, guests, specs };
}

/** Longest `--guest` spec text accepted. */
export const MAX_GUEST_SPEC_CHARS = 1024;

const GUEST_TEXT_KEYS = [
  "vcpus",
  "profile",
  "backend",
  "pinned",
  "weight",
  "workload",
  "threads",
  "duration-ms",
  "jobs",
] as const;

/**
 * Reads a guest given as text, `key=value` pairs separated by commas:
 * `vcpus=4,profile=v6.1,backend=kvm-pv,workload=ebizzy[,threads=8][,duration-ms=50]
 * [,jobs=16][,pinned=false][,weight=2048]`. `threads`, `duration-ms` and `jobs` (a kernel
 * build's make -j) are the workload's options; a workload refuses those it does not have.
 * Defaults: the caller's for profile, backend and workload.
 */
export function parseGuestSpec(
  text: string,
  defaults: { profile: string; backend: string; vcpus: number; workload?: string },
): GuestSpec {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_GUEST_SPEC_CHARS)
    throw new ParameterError(
      "guest",
      typeof text === "string" ? `${text.slice(0, 40)}…` : text,
      `key=value pairs separated by commas, at most ${MAX_GUEST_SPEC_CHARS} characters`,
      CTX,
    );
  const f: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    if (eq < 0 || key === "")
      throw new ParameterError("guest", pair, "key=value pairs separated by commas", CTX);
    if (!(GUEST_TEXT_KEYS as readonly string[]).includes(key))
      throw new UnknownNameError("guest key", key, GUEST_TEXT_KEYS, CTX);
    if (Object.hasOwn(f, key)) throw new ParameterError(key, pair, "given once", CTX);
    f[key] = pair.slice(eq + 1).trim();
  }
  const int = (k: string, min: number, max: number): number | undefined => {
    const v = f[k];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new ParameterError(`guest ${k}`, v, "a decimal integer", CTX);
    return checkInt(`guest ${k}`, Number(v), min, max, CTX);
  };
  const bool = (k: string): boolean | undefined => {
    const v = f[k];
    if (v === undefined) return undefined;
    if (v !== "true" && v !== "false")
      throw new ParameterError(`guest ${k}`, v, "true or false", CTX);
    return v === "true";
  };
  const threads = int("threads", 1, 1024);
  const durationMs = int("duration-ms", 1, 10_000);
  const jobs = int("jobs", 1, 64 * MAX_GUEST_VCPUS);
  const pinned = bool("pinned");
  const weight = int("weight", 2, 88_761);
  const workload = f["workload"] ?? defaults.workload;
  const spec: GuestSpec = {
    vcpus: int("vcpus", 1, MAX_GUEST_VCPUS) ?? defaults.vcpus,
    profile: f["profile"] ?? defaults.profile,
    backend: f["backend"] ?? defaults.backend,
    ...(pinned !== undefined ? { pinned } : {}),
    ...(weight !== undefined ? { weight } : {}),
    ...(workload !== undefined ? { workload } : {}),
    workloadOptions: {
      ...(threads !== undefined ? { threads } : {}),
      ...(durationMs !== undefined ? { durationNs: durationMs * 1_000_000 } : {}),
      ...(jobs !== undefined ? { jobs } : {}),
    },
  };
  resolveProfile(spec.profile, spec.backend);
  return checkGuestSpec(spec, 0);
}
