/**
 * RCU parameters: the one readonly object an `Rcu` is built from.
 *
 * Kernel: kernel/rcu/tree.c and kernel/rcu/tree.h at v4.14 (blimit, qhimark, qlowmark,
 * jiffies_till_first_fqs / jiffies_till_next_fqs, RCU_JIFFIES_TILL_FORCE_QS), flavour semantics
 * from include/linux/rcupdate.h at v4.14 (call_rcu_sched, rcu_preempt call_rcu) and v5.0 (the
 * consolidated flavour). Sources: ../shared/reference/costs.md §1d, §2 and kernel.md §3.2, §4.1.
 *
 * Users pass a partial `RcuParams`; `resolveRcuParams` fills the defaults in, checks every field
 * once and returns a frozen `ResolvedRcuParams` (fast-check's Parameters → QualifiedParameters
 * split). Unknown fields are rejected so a typo is never silently ignored.
 */
import { checkInt, ParameterError, UnknownNameError } from "../sim/errors.js";

/** CONFIG_HZ values the model accepts (the x86 Kconfig choices). */
export const ACCEPTED_HZ = [100, 250, 300, 1000] as const;
export type Hz = (typeof ACCEPTED_HZ)[number];

/**
 * Which RCU the engine models (kernel.md §4.1):
 * - `"sched"`: RCU-sched before v4.20 (`call_rcu_sched`, `synchronize_sched`). Readers are
 *   preempt-off and IRQ-off regions; a tick that interrupts kernel code is never a quiescent state.
 * - `"preempt"`: rcu_preempt before v4.20 with CONFIG_PREEMPT (`call_rcu`, `synchronize_rcu`).
 *   Readers are `rcu_read_lock()` sections only; preempt-off and IRQ-off regions are not readers.
 * - `"unified"`: v4.20+ consolidated RCU with CONFIG_PREEMPT. Readers are `rcu_read_lock()`
 *   sections and preempt-off and IRQ-off regions; `call_rcu_sched` is a wrapper for `call_rcu`.
 */
export const FLAVOURS = ["sched", "preempt", "unified"] as const;
export type Flavour = (typeof FLAVOURS)[number];

/** What the caller may pass; every field optional, defaults below. */
export interface RcuParams {
  /** Scheduling-clock frequency, ticks per second (CONFIG_HZ). One of 100, 250, 300, 1000.
   * Default 1000. Sets the jiffy and therefore the FQS period (costs.md §1d). */
  readonly hz?: number;
  /** Which RCU (see `Flavour`). Default "sched": mm's table freeing used call_rcu_sched from
   * v4.14 to v4.19 (kernel.md §1.2, §4.1). */
  readonly flavour?: string;
  /** Callbacks invoked per rcu_do_batch pass. Default 10 (kernel/rcu/tree.c `blimit`;
   * costs.md §1d). Unit: callbacks, ≥ 1. */
  readonly blimit?: number;
  /** Queue length above which the batch limit is lifted (rdp->blimit = LONG_MAX) and a grace
   * period is requested at once from call_rcu. Default 10,000 (`qhimark`; costs.md §1d). */
  readonly qhimark?: number;
  /** Queue length below which a lifted batch limit returns to `blimit`. Default 100
   * (`qlowmark`; costs.md §1d). */
  readonly qlowmark?: number;
  /** Time rcu_do_batch spends per callback besides the callback's own work (list unlink,
   * tracepoint, debug_rcu_head_unqueue), ns. Default 50 [U: no published figure; same order as
   * the enqueue cost]. The callback's own work (e.g. 509 × free_page) is charged by the callback. */
  readonly callbackInvokeNs?: number;
  /** Time __call_rcu spends enqueueing one callback with IRQs off, ns. Default 30 (costs.md §1d:
   * "tens of ns" [U]). */
  readonly enqueueNs?: number;
  /** Time the tick handler spends in update_process_times/scheduler_tick besides RCU, ns; it is
   * spent with IRQs off. Interrupt entry and exit are charged by hw (irqEntryNs, irqExitNs).
   * Default 200 [U: no published figure]. */
  readonly tickNs?: number;
  /** Wake-up latency of the grace-period kthread (swake_up until it runs), ns. Default 5,000
   * [U: scheduler wake-up on a lightly loaded machine]. */
  readonly gpKthreadWakeNs?: number;
  /** CPU the grace-period kthread runs on. Its sleep is a context switch there, and the FQS scan
   * that it runs never finds that CPU idle at the snapshot (costs.md §1d, Fernandes 2026: the
   * GP kthread's own CPU costs an extra FQS round). Default 0. */
  readonly gpKthreadCpu?: number;
  /** CONFIG_NO_HZ_IDLE: an idle CPU with no RCU callbacks takes no tick (rcu_needs_cpu false),
   * so RCU learns of its idleness only from an FQS scan. Default true (costs.md §0 guest kernel:
   * NO_HZ_IDLE). false = periodic tick on every CPU. */
  readonly nohzIdle?: boolean;
  /** jiffies_till_first_fqs. Default RCU_JIFFIES_TILL_FORCE_QS =
   * 1 + (HZ > 250) + (HZ > 500) + nr_cpu_ids / 256 (kernel/rcu/tree.h; costs.md §1d). Unit:
   * jiffies, 1 … HZ (the kernel clamps the module parameter to HZ). */
  readonly jiffiesTillFirstFqs?: number;
  /** jiffies_till_next_fqs. Default as jiffiesTillFirstFqs. */
  readonly jiffiesTillNextFqs?: number;
  /**
   * false (default): the FQS scan reports a CPU only when it is in dyntick-idle, as v4.14's
   * dyntick_save_progress_counter / rcu_implicit_dynticks_qs do; every other CPU must report its
   * own quiescent state from its tick or a context switch.
   * true: the scan also reports any CPU that is outside every reader kind its flavour honours:
   * the weakest RCU the API contract allows. Under "preempt" this lets a grace period end while
   * another CPU has IRQs off, which v4.14's implementation happens not to do but never promised
   * (kernel.md §4.1). Use it to find code that relies on an implementation accident.
   */
  readonly fqsReaderSampling?: boolean;
}

/** Every field filled in and checked. */
export interface ResolvedRcuParams {
  readonly hz: Hz;
  readonly flavour: Flavour;
  readonly blimit: number;
  readonly qhimark: number;
  readonly qlowmark: number;
  readonly callbackInvokeNs: number;
  readonly enqueueNs: number;
  readonly tickNs: number;
  readonly gpKthreadWakeNs: number;
  readonly gpKthreadCpu: number;
  readonly nohzIdle: boolean;
  readonly jiffiesTillFirstFqs: number;
  readonly jiffiesTillNextFqs: number;
  readonly fqsReaderSampling: boolean;
}

export const DEFAULT_RCU_PARAMS = Object.freeze({
  hz: 1000,
  flavour: "sched",
  blimit: 10,
  qhimark: 10_000,
  qlowmark: 100,
  callbackInvokeNs: 50,
  enqueueNs: 30,
  tickNs: 200,
  gpKthreadWakeNs: 5_000,
  gpKthreadCpu: 0,
  nohzIdle: true,
  fqsReaderSampling: false,
} as const);

/** RCU_JIFFIES_TILL_FORCE_QS (kernel/rcu/tree.h, v4.14): 1 + (HZ > 250) + (HZ > 500) +
 * nr_cpu_ids / RCU_JIFFIES_FQS_DIV (256), integer division. 3 at HZ=1000, 2 at HZ=300, 1 at
 * HZ=250 and HZ=100 for up to 255 CPUs (costs.md §1d). */
export function rcuJiffiesTillForceQs(hz: number, nrCpuIds: number): number {
  return 1 + (hz > 250 ? 1 : 0) + (hz > 500 ? 1 : 0) + Math.floor(nrCpuIds / 256);
}

const FIELDS: readonly (keyof RcuParams)[] = [
  "hz",
  "flavour",
  "blimit",
  "qhimark",
  "qlowmark",
  "callbackInvokeNs",
  "enqueueNs",
  "tickNs",
  "gpKthreadWakeNs",
  "gpKthreadCpu",
  "nohzIdle",
  "jiffiesTillFirstFqs",
  "jiffiesTillNextFqs",
  "fqsReaderSampling",
];

const MAX_COST_NS = 1e9;

function checkBool(parameter: string, value: unknown, context: string): boolean {
  if (typeof value !== "boolean")
    throw new ParameterError(parameter, value, "true or false", context);
  return value;
}

/**
 * Fills the defaults in and validates every field; `nrCpus` is the machine's CPU count (for the
 * FQS default and the kthread CPU range). Throws ParameterError / UnknownNameError naming the
 * field, the value and the accepted range.
 */
export function resolveRcuParams(params: RcuParams = {}, nrCpus: number): ResolvedRcuParams {
  const ctx = "Rcu params";
  for (const k of Object.keys(params)) {
    if (!(FIELDS as readonly string[]).includes(k))
      throw new UnknownNameError("Rcu params field", k, FIELDS, ctx);
  }
  const d = DEFAULT_RCU_PARAMS;
  const hz = params.hz ?? d.hz;
  if (!(ACCEPTED_HZ as readonly number[]).includes(hz))
    throw new ParameterError("hz", hz, `one of ${ACCEPTED_HZ.join(", ")} (CONFIG_HZ)`, ctx);
  const flavour = params.flavour ?? d.flavour;
  if (typeof flavour !== "string" || !(FLAVOURS as readonly string[]).includes(flavour))
    throw new UnknownNameError("flavour", String(flavour), FLAVOURS, ctx);
  const blimit = checkInt("blimit", params.blimit ?? d.blimit, 1, 1_000_000, `${ctx} (callbacks)`);
  const qhimark = checkInt("qhimark", params.qhimark ?? d.qhimark, 1, 1e9, `${ctx} (callbacks)`);
  const qlowmark = checkInt(
    "qlowmark",
    params.qlowmark ?? d.qlowmark,
    0,
    qhimark,
    `${ctx} (callbacks, ≤ qhimark)`,
  );
  const ns = (name: keyof RcuParams, v: number): number =>
    checkInt(name, v, 0, MAX_COST_NS, `${ctx} (ns)`);
  const callbackInvokeNs = ns("callbackInvokeNs", params.callbackInvokeNs ?? d.callbackInvokeNs);
  const enqueueNs = ns("enqueueNs", params.enqueueNs ?? d.enqueueNs);
  const tickNs = ns("tickNs", params.tickNs ?? d.tickNs);
  const gpKthreadWakeNs = ns("gpKthreadWakeNs", params.gpKthreadWakeNs ?? d.gpKthreadWakeNs);
  const gpKthreadCpu = checkInt(
    "gpKthreadCpu",
    params.gpKthreadCpu ?? d.gpKthreadCpu,
    0,
    nrCpus - 1,
    `${ctx} (CPU id)`,
  );
  const nohzIdle = checkBool("nohzIdle", params.nohzIdle ?? d.nohzIdle, ctx);
  const fqsReaderSampling = checkBool(
    "fqsReaderSampling",
    params.fqsReaderSampling ?? d.fqsReaderSampling,
    ctx,
  );
  const fqsDefault = rcuJiffiesTillForceQs(hz, nrCpus);
  const jiffiesTillFirstFqs = checkInt(
    "jiffiesTillFirstFqs",
    params.jiffiesTillFirstFqs ?? fqsDefault,
    1,
    hz,
    `${ctx} (jiffies)`,
  );
  const jiffiesTillNextFqs = checkInt(
    "jiffiesTillNextFqs",
    params.jiffiesTillNextFqs ?? fqsDefault,
    1,
    hz,
    `${ctx} (jiffies)`,
  );
  return Object.freeze({
    hz: hz as Hz,
    flavour: flavour as Flavour,
    blimit,
    qhimark,
    qlowmark,
    callbackInvokeNs,
    enqueueNs,
    tickNs,
    gpKthreadWakeNs,
    gpKthreadCpu,
    nohzIdle,
    jiffiesTillFirstFqs,
    jiffiesTillNextFqs,
    fqsReaderSampling,
  });
}
