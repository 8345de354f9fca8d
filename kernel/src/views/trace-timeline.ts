/**
 * From a run's trace to the `application/vnd.mmulab.timeline+json` payload: one lane per CPU
 * plus a machine lane for RCU grace periods; spans for IRQ-off regions, gup walks, flush waits,
 * IPI handlers, hypercalls, stalls and RCU callback batches; use-after-free instants; markers for
 * the page walkers' TLB and paging-structure-cache fills and for what invalidated them; IPI
 * arrows from send to handling. Any run's trace: a race trial's (views/race-matrix.ts
 * `raceExampleTimeline`), an explored counterexample's (views/counterexample.ts), a bug's replay,
 * a notebook's own simulation (display/trace.ts).
 */
import type {
  TimelineArrow,
  TimelineInstant,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
} from "../contract/mime.js";
import type { Trace, TraceEvent } from "../sim/trace.js";

const SPAN_KINDS: Readonly<Record<string, TimelineSpanKind>> = {
  "mmulab:irqs_off": "irq-off",
  "mmulab:gup_fast": "gup-walk",
  "mmulab:gup_walk": "gup-walk",
  "mmulab:csd_lock_wait": "flush-wait",
  "mmulab:flush_tlb_others": "flush-wait",
  "mmulab:ipi_handler": "ipi-handler",
  "mmulab:hypercall": "hypercall",
  "mmulab:invlpgb": "hypercall",
  "mmulab:cpu_stalled": "preempted",
  "syscalls:sys_munmap": "other",
};

/** The hardware model's trace events (arch/x86/page-walker.ts) shown as markers. */
const HW_MARKERS: ReadonlySet<string> = new Set([
  "x86:tlb_fill",
  "x86:psc_fill",
  "x86:tlb_invalidate",
  // v6.15: consider_global_asid's assignment, and a CPU's reload onto the global ASID
  "x86:global_asid_assign",
  "x86:global_asid_load",
]);

function hwMarkerLabel(e: TraceEvent): string {
  const a = e.args ?? {};
  if (e.name === "x86:tlb_fill") return `TLB fill ${String(a.va)} → frame ${String(a.pfn)}`;
  if (e.name === "x86:global_asid_assign")
    return `global ASID ${String(a.asid)} assigned to mm ${String(a.mm)}`;
  if (e.name === "x86:global_asid_load") return `CR3 reloaded onto global ASID ${String(a.asid)}`;
  if (e.name === "x86:psc_fill")
    return `${String(a.cache).toUpperCase()} cache fill ${String(a.va)} → table ${String(a.table)}`;
  return `${String(a.op)}: ${String(a.tlb)} TLB, ${String(a.psc)} paging-structure entries invalidated`;
}

function lane(cpu: number): string {
  return cpu < 0 ? "rcu" : `cpu${cpu}`;
}

function argsOf(e: TraceEvent): Record<string, string | number | boolean> | undefined {
  return e.args ? { ...e.args } : undefined;
}

export interface TimelineOptions {
  readonly title?: string;
  /** Only events overlapping [from, to] ns. */
  readonly from?: number;
  readonly to?: number;
  readonly nrCpus: number;
}

export function traceToTimeline(trace: Trace, opts: TimelineOptions): TimelinePayload {
  const from = opts.from ?? 0;
  const to = opts.to ?? Number.POSITIVE_INFINITY;
  const spans: TimelineSpan[] = [];
  const instants: TimelineInstant[] = [];
  const arrows: TimelineArrow[] = [];
  const flows = new Map<number, TraceEvent>();
  const gpStart = new Map<number, number>();
  const batchStart = new Map<number, number>();
  const inRange = (a: number, b: number) => b >= from && a <= to;
  for (const e of trace.sorted()) {
    const end = e.ts + (e.dur ?? 0);
    if (e.ph === "X") {
      const kind = SPAN_KINDS[e.name];
      if (kind && inRange(e.ts, end)) {
        const a = argsOf(e);
        spans.push({
          lane: lane(e.cpu),
          start: e.ts,
          end,
          kind,
          label: e.name.split(":")[1] ?? e.name,
          ...(a ? { args: a } : {}),
        });
      }
      continue;
    }
    if (e.ph === "s" && e.id !== undefined) {
      flows.set(e.id, e);
      continue;
    }
    if (e.ph === "f" && e.id !== undefined) {
      const s = flows.get(e.id);
      if (s && inRange(s.ts, e.ts))
        arrows.push({
          fromLane: lane(s.cpu),
          fromT: s.ts,
          toLane: lane(e.cpu),
          toT: e.ts,
          kind: "ipi",
          label: "IPI",
        });
      continue;
    }
    // instants
    if (e.name === "mmulab:use_after_free") {
      const a = argsOf(e);
      if (inRange(e.ts, e.ts))
        instants.push({
          lane: lane(e.cpu),
          t: e.ts,
          kind: "uaf",
          label:
            `${badReadLabel(e.args?.kind)}: ${String(e.args?.level ?? "")} table frame ${String(e.args?.pfn ?? "")}` +
            (e.args?.reader !== undefined && e.args.reader !== "software"
              ? ` (${String(e.args.reader)}${e.args.via !== undefined ? ` via ${String(e.args.via)}` : ""})`
              : ""),
          ...(a ? { args: a } : {}),
        });
    } else if (e.name === "rcu:rcu_grace_period" && e.cpu < 0) {
      const gp = Number(e.args?.gpnum ?? -1);
      const ev = String(e.args?.gpevent ?? "");
      if (ev === "start") gpStart.set(gp, e.ts);
      else if (ev === "end") {
        const s = gpStart.get(gp);
        if (s !== undefined && inRange(s, e.ts))
          spans.push({
            lane: "rcu",
            start: s,
            end: e.ts,
            kind: "grace-period",
            label: `grace period ${gp}`,
            args: { gpnum: gp },
          });
      }
    } else if (e.name === "rcu:rcu_batch_start") batchStart.set(e.cpu, e.ts);
    else if (e.name === "rcu:rcu_batch_end") {
      const s = batchStart.get(e.cpu);
      if (s !== undefined && inRange(s, e.ts))
        spans.push({
          lane: lane(e.cpu),
          start: s,
          end: Math.max(e.ts, s),
          kind: "rcu-callback",
          label: "RCU callbacks",
        });
    } else if (HW_MARKERS.has(e.name) && inRange(e.ts, e.ts)) {
      // the page walker's fills and what invalidated the caches, per CPU
      const a = argsOf(e);
      instants.push({
        lane: lane(e.cpu),
        t: e.ts,
        kind: "marker",
        label: hwMarkerLabel(e),
        ...(a ? { args: a } : {}),
      });
    } else if (e.name === "mmulab:tlb_table_flush" && inRange(e.ts, e.ts)) {
      const a = argsOf(e);
      instants.push({
        lane: lane(e.cpu),
        t: e.ts,
        kind: "marker",
        label: "call_rcu_sched(table batch)",
        ...(a ? { args: a } : {}),
      });
    }
  }
  const lanes = [
    ...Array.from({ length: opts.nrCpus }, (_, i) => ({ id: `cpu${i}`, label: `CPU ${i}` })),
    { id: "rcu", label: "RCU" },
  ];
  return {
    version: 1,
    ...(opts.title ? { title: opts.title } : {}),
    unit: "ns",
    lanes,
    spans,
    instants,
    arrows,
  };
}

/** What a bad-read instant is called on the timeline: a read of a freed or reused frame is a
 * use-after-free; the oracle's other kinds say what the walker reached instead. */
function badReadLabel(kind: unknown): string {
  if (kind === "not-a-table") return "read of a frame that is not a table";
  if (kind === "foreign-table") return "read of another mm's table";
  return "use-after-free";
}
