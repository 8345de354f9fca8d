/**
 * Trace recorder. Event names follow the kernel's tracepoints where one exists
 * (`ipi:ipi_send_cpumask`, `ipi:ipi_entry`, `tlb:tlb_flush`, `rcu:rcu_grace_period`, …) so that a
 * kernel engineer reads a simulated trace like an ftrace/perf one. Spans that have no tracepoint
 * (an IRQ-off region, a csd_lock_wait spin) get `mmulab:`-prefixed names.
 *
 * The recorder exports Chrome trace-event JSON (loads in Perfetto and chrome://tracing): one
 * process for the simulated machine, one thread per CPU lane. Times are kept in integer
 * nanoseconds and converted to the format's microseconds only on export.
 */

export type TraceArgValue = string | number | boolean;
export type TraceArgs = Readonly<Record<string, TraceArgValue>>;

/** Lanes a CPU's events are drawn on: the CPU's own work, and its interrupt-flag state. */
export type TraceLane = "cpu" | "irq";

export interface TraceEvent {
  /** Start time, ns. */
  readonly ts: number;
  readonly name: string;
  /** 'X' a span with `dur`, 'i' an instant, 's'/'f' the two ends of an arrow (flow). */
  readonly ph: "X" | "i" | "s" | "f";
  /** CPU number; -1 for machine-wide events (a grace period, the host). */
  readonly cpu: number;
  readonly lane: TraceLane;
  readonly dur?: number;
  /** Flow id pairing an 's' with its 'f'. */
  readonly id?: number;
  readonly args?: TraceArgs;
}

/** An open span: closed with `Trace.end`. */
export interface OpenSpan {
  readonly name: string;
  readonly cpu: number;
  readonly lane: TraceLane;
  readonly start: number;
  readonly args: TraceArgs | undefined;
}

export interface ChromeTraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  id?: number;
  bp?: string;
  s?: string;
  args?: Record<string, TraceArgValue>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ns";
  otherData: Record<string, TraceArgValue>;
}

const DISABLED_SPAN: OpenSpan = Object.freeze({
  name: "",
  cpu: -1,
  lane: "cpu",
  start: 0,
  args: undefined,
});

/**
 * Events a trace keeps at least, and twice that at most: when it reaches twice, the older half
 * goes. An event is about 200 bytes, so a trace stays under about 400 MB however long the run
 * (a traced `mmap` with populate records events for every page: 1,048,576 pages were 210 MB of
 * trace). The newest events are the ones kept because they are the ones a report needs: the
 * oracle's slice of the trace before a use-after-free, the end of a run. Runs here record far
 * fewer: a race trial a few thousand, the largest demo 262,000.
 */
export const MAX_TRACE_EVENTS = 1_000_000;

export class Trace {
  /** Recording costs time and memory; benchmarks and big sweeps switch it off. */
  enabled: boolean;
  /** The recorded events, oldest first (at most twice {@link MAX_TRACE_EVENTS}). */
  readonly events: TraceEvent[] = [];
  /** Events recorded and then dropped, oldest first, to keep the trace bounded. */
  dropped = 0;
  private nextFlow = 1;
  private readonly clock: () => number;
  private readonly keep: number;

  constructor(clock: () => number, enabled = true, keep = MAX_TRACE_EVENTS) {
    this.clock = clock;
    this.enabled = enabled;
    this.keep = keep;
  }

  private record(ev: TraceEvent): void {
    if (this.events.push(ev) >= 2 * this.keep) {
      const drop = this.events.length - this.keep;
      this.events.splice(0, drop);
      this.dropped += drop;
    }
  }

  instant(cpu: number, name: string, args?: TraceArgs, lane: TraceLane = "cpu"): void {
    if (!this.enabled) return;
    this.record(
      args
        ? { ts: this.clock(), name, ph: "i", cpu, lane, args }
        : { ts: this.clock(), name, ph: "i", cpu, lane },
    );
  }

  begin(cpu: number, name: string, args?: TraceArgs, lane: TraceLane = "cpu"): OpenSpan {
    // Disabled: one shared span, nothing allocated (large runs open millions of spans).
    if (!this.enabled) return DISABLED_SPAN;
    return { name, cpu, lane, start: this.clock(), args };
  }

  end(span: OpenSpan, extra?: TraceArgs): void {
    if (!this.enabled) return;
    const args = extra ? { ...span.args, ...extra } : span.args;
    const ev: TraceEvent = {
      ts: span.start,
      name: span.name,
      ph: "X",
      cpu: span.cpu,
      lane: span.lane,
      dur: this.clock() - span.start,
      ...(args ? { args } : {}),
    };
    this.record(ev);
  }

  /** Records a span whose start and duration are already known (a step that covers several). */
  complete(cpu: number, name: string, start: number, dur: number, args?: TraceArgs): void {
    if (!this.enabled) return;
    this.record(
      args
        ? { ts: start, name, ph: "X", cpu, lane: "cpu", dur, args }
        : { ts: start, name, ph: "X", cpu, lane: "cpu", dur },
    );
  }

  /** Records the sending end of an arrow and returns its id for `flowEnd`. */
  flowStart(cpu: number, name: string, args?: TraceArgs): number {
    const id = this.nextFlow++;
    if (this.enabled)
      this.record({
        ts: this.clock(),
        name,
        ph: "s",
        cpu,
        lane: "cpu",
        id,
        ...(args ? { args } : {}),
      });
    return id;
  }

  flowEnd(cpu: number, name: string, id: number): void {
    if (this.enabled) this.record({ ts: this.clock(), name, ph: "f", cpu, lane: "cpu", id });
  }

  /** Number of events per name, sorted by name: the `npm start` summary and a cheap fingerprint. */
  countByName(): Map<string, number> {
    const m = new Map<string, number>();
    for (const e of this.events) m.set(e.name, (m.get(e.name) ?? 0) + 1);
    return new Map([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }

  /** Events sorted by time (spans are recorded when they end, so recording order is not time
   * order); ties keep recording order. */
  sorted(): TraceEvent[] {
    return this.events
      .map((e, i) => [e, i] as const)
      .sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1])
      .map(([e]) => e);
  }

  toChrome(meta: Record<string, TraceArgValue> = {}): ChromeTrace {
    const tidOf = (cpu: number, lane: TraceLane): number =>
      cpu < 0 ? 0 : 1 + cpu * 2 + (lane === "irq" ? 1 : 0);
    const lanes = new Set<string>();
    const out: ChromeTraceEvent[] = [];
    for (const e of this.sorted()) {
      lanes.add(`${e.cpu}/${e.lane}`);
      const c: ChromeTraceEvent = {
        name: e.name,
        cat: e.name.split(":")[0] ?? "mmulab",
        ph: e.ph,
        ts: e.ts / 1000,
        pid: 1,
        tid: tidOf(e.cpu, e.lane),
      };
      if (e.dur !== undefined) c.dur = e.dur / 1000;
      if (e.id !== undefined) c.id = e.id;
      if (e.ph === "f") c.bp = "e";
      if (e.ph === "i") c.s = "t";
      if (e.args) c.args = { ...e.args };
      out.push(c);
    }
    const metaEvents: ChromeTraceEvent[] = [
      {
        name: "process_name",
        cat: "__metadata",
        ph: "M",
        ts: 0,
        pid: 1,
        tid: 0,
        args: { name: "simulated machine" },
      },
    ];
    for (const key of [...lanes].sort()) {
      const [cpuS, lane] = key.split("/") as [string, TraceLane];
      const cpu = Number(cpuS);
      const name = cpu < 0 ? "machine" : lane === "irq" ? `CPU ${cpu} IRQs off` : `CPU ${cpu}`;
      metaEvents.push({
        name: "thread_name",
        cat: "__metadata",
        ph: "M",
        ts: 0,
        pid: 1,
        tid: tidOf(cpu, lane),
        args: { name },
      });
    }
    // a bounded trace says what it left out
    const otherData =
      this.dropped > 0 ? { ...meta, droppedOldestEvents: this.dropped } : { ...meta };
    return { traceEvents: [...metaEvents, ...out], displayTimeUnit: "ns", otherData };
  }
}
