/**
 * Xen credit2's run queues (xen/common/sched/credit2.c, xen.git c447b7308b): which pCPUs share a
 * run queue, the queue ordered by credit, and the load averages that balance_load compares. The
 * decisions that use them (csched2_schedule, runq_candidate, runq_tickle, reset_credit,
 * balance_load) are in hw/host-sched.ts, where the vCPU threads are.
 *
 * A run queue is shared by the pCPUs of one topology unit chosen by `credit2_runqueue`
 * (cpu, core, socket — the default —, node or all), with at most
 * `sched_credit2_max_cpus_runqueue` (16) pCPUs each, spread as evenly as cpu_add_to_runqueue
 * spreads them. Every pCPU of a queue picks from it; a unit belongs to one queue at a time and
 * moves only when balance_load moves it.
 */
import { ParameterError, UnknownNameError } from "../sim/errors.js";

/**
 * credit2's constants (credit2.c): a unit starts with, and is reset to, CREDIT_INIT of credit;
 * runs at least MIN_TIMER and at most MAX_TIMER per decision; carries at most CARRYOVER_MAX over a
 * reset; never falls below CREDIT_MIN; the idle unit has CREDIT_MIN − 1; a unit that last ran on
 * another pCPU is pulled only with MIGRATE_RESIST (sched_credit2_migrate_resist = 500 µs) more
 * credit, and gets MIGRATE_COMPENSATION when it is; a running unit may be preempted by a wake-up
 * once it has run the ratelimit less RATELIMIT_TICKLE_TOLERANCE.
 */
export const CSCHED2 = Object.freeze({
  creditInitNs: 10_000_000,
  minTimerNs: 500_000,
  maxTimerNs: 10_000_000,
  carryoverMaxNs: 500_000,
  creditMinNs: -10_000_000,
  idleCreditNs: -10_000_001,
  creditResetNs: 0,
  migrateResistNs: 500_000,
  migrateCompensationNs: 50_000,
  ratelimitTickleToleranceNs: 50_000,
  /** SCHED_DEFAULT_RATELIMIT_US (xen/common/sched/private.h), shared with credit1. */
  defaultRatelimitUs: 1000,
  /** MAX_CPUS_RUNQ: sched_credit2_max_cpus_runqueue's default. */
  maxCpusRunqueue: 16,
});

/** `credit2_runqueue=` (opt_runqueue_str): what the pCPUs of one run queue share. */
export const CREDIT2_RUNQUEUE_OPTS = ["cpu", "core", "socket", "node", "all"] as const;
export type Credit2Runqueue = (typeof CREDIT2_RUNQUEUE_OPTS)[number];
export const DEFAULT_CREDIT2_RUNQUEUE: Credit2Runqueue = "socket";

/** The host's topology as credit2 sees it: pCPUs numbered socket by socket, the SMT siblings of
 * a core next to each other (x86 APIC-ID order); one NUMA node per socket (an assumption: the
 * host spec has no nodes). */
export interface Credit2Topology {
  readonly nrPcpus: number;
  readonly sockets: number;
  readonly smt: number;
}

const CTX = "Host";

export function checkCredit2Runqueue(v: unknown): Credit2Runqueue {
  if (typeof v !== "string" || !(CREDIT2_RUNQUEUE_OPTS as readonly string[]).includes(v))
    throw new UnknownNameError("credit2Runqueue", String(v), CREDIT2_RUNQUEUE_OPTS, CTX);
  return v as Credit2Runqueue;
}

export function checkTopology(t: Credit2Topology): void {
  if (t.nrPcpus % (t.sockets * t.smt) !== 0)
    throw new ParameterError(
      "pcpus",
      t.nrPcpus,
      `a multiple of smt × sockets = ${t.sockets * t.smt} (whole cores on equal sockets)`,
      CTX,
    );
}

const socketOf = (t: Credit2Topology, cpu: number) => Math.floor(cpu / (t.nrPcpus / t.sockets));
const coreOf = (t: Credit2Topology, cpu: number) => Math.floor(cpu / t.smt);

/** The SMT siblings of `cpu` (its core's threads, itself included). */
export function siblingsOf(t: Credit2Topology, cpu: number): number[] {
  const first = coreOf(t, cpu) * t.smt;
  return Array.from({ length: t.smt }, (_, i) => first + i);
}

/**
 * The run queue of every pCPU, as cpu_add_to_runqueue assigns them when the pCPUs come up in
 * order: a pCPU joins the least full existing queue that it matches by topology
 * (cpu_runqueue_match, compared with the queue's first pCPU) and that has room (fewer than
 * max_cpus_runq = online / ceil(online / max) pCPUs, and room for its siblings too:
 * cpu_runqueue_siblings_match; `all` waives the sibling check), or joins its sibling's queue
 * whatever the count; otherwise it starts a new queue.
 */
export function credit2RunqueueLayout(
  topo: Credit2Topology,
  opt: Credit2Runqueue,
  maxCpusRunqueue: number,
): number[] {
  const online = topo.nrPcpus;
  const minRqs = Math.floor((online - 1) / maxCpusRunqueue) + 1;
  const maxCpusRunq = Math.floor(online / minRqs);
  const queues: { first: number; cpus: number[] }[] = [];
  const of: number[] = [];
  const matches = (peer: number, cpu: number): boolean =>
    opt === "all" ||
    (opt === "core" &&
      socketOf(topo, peer) === socketOf(topo, cpu) &&
      coreOf(topo, peer) === coreOf(topo, cpu)) ||
    ((opt === "socket" || opt === "node") && socketOf(topo, peer) === socketOf(topo, cpu));
  for (let cpu = 0; cpu < online; cpu++) {
    let valid = -1;
    for (let q = 0; q < queues.length; q++) {
      const rqd = queues[q]!;
      if (!matches(rqd.first, cpu)) continue;
      if (rqd.cpus.some((c) => coreOf(topo, c) === coreOf(topo, cpu))) {
        valid = q; // a sibling is here: always keep siblings together
        break;
      }
      // siblings already counted: each core present brings its smt threads
      const cores = new Set(rqd.cpus.map((c) => coreOf(topo, c))).size;
      const siblingsFit = cores * topo.smt + topo.smt <= maxCpusRunq;
      if (rqd.cpus.length < maxCpusRunq && (siblingsFit || opt === "all"))
        if (valid < 0 || rqd.cpus.length < queues[valid]!.cpus.length) valid = q;
    }
    if (valid < 0) {
      valid = queues.length;
      queues.push({ first: cpu, cpus: [] });
    }
    queues[valid]!.cpus.push(cpu);
    of.push(valid);
  }
  return of;
}

// ------------------------------------------------------------------ load tracking

/** LOADAVG_GRANULARITY_SHIFT; the window is 2^(credit2_load_window_shift 30 − 10) samples;
 * LOADAVG_PRECISION_SHIFT: load 1 is 2^18. */
export const LOADAVG = Object.freeze({ granularityShift: 10, windowShift: 20, precisionShift: 18 });

const W = 2 ** LOADAVG.windowShift;
const P = 2 ** LOADAVG.precisionShift;

/** A run queue's or a unit's decaying load (update_runq_load, update_svc_load). */
export interface LoadAvg {
  avgload: number;
  lastUpdate: number;
}

/** The EWMA step both updates share: `load` has been in effect since `lastUpdate`. Returns the
 * new average (in P units); `now` is NOW() >> LOADAVG_GRANULARITY_SHIFT. */
export function decay(avg: number, lastUpdate: number, load: number, now: number): number {
  if (lastUpdate + W < now) return load * P;
  const delta = Math.max(0, now - lastUpdate);
  return avg + Math.floor((delta * load * P) / W) - Math.floor((delta * avg) / W);
}

/** NOW() >> LOADAVG_GRANULARITY_SHIFT. */
export function loadClock(nowNs: number): number {
  return Math.floor(nowNs / 2 ** LOADAVG.granularityShift);
}

/** A unit's load at creation: 50 % (csched2_alloc_udata). */
export const INITIAL_UNIT_LOAD = P / 2;

/** balance_load's thresholds: under 100 % of the queue's pCPUs, move only for a difference of
 * more than one unit (credit2_balance_under 0); over it, for more than 1/8 (credit2_balance_over
 * −3). */
export function balanceThreshold(loadMax: number, cpusMax: number): number {
  return loadMax < cpusMax * P ? P * 2 ** 0 : P * 2 ** -3;
}
