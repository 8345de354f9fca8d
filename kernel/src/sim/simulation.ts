/**
 * The engine: one `Simulation` owns the clock, the event queue, the random source and the trace.
 * Everything a run touches hangs off it, so two simulations never share state.
 *
 * Time is an integer number of nanoseconds (a float64 holds integers exactly up to 2^53 ns, about
 * 104 days of simulated time). Events at the same time run in (priority, sequence) order, which
 * makes a run a pure function of its seed and inputs.
 */
import {
  checkBool,
  checkInt,
  checkOptions,
  KernelStateError,
  MmulabError,
  ParameterError,
  SimulationStopped,
} from "./errors.js";
import { EventQueue, MAX_PRIORITY, type EventCallback } from "./event-queue.js";
import { SimEvent, Signal } from "./event.js";
import { Process, type Kfn } from "./process.js";
import { Rng } from "./rng.js";
import { Trace } from "./trace.js";
import { userInterruptCheck } from "./user-interrupt.js";

export interface SimulationOptions {
  /** Seed of the simulation's random source, 0 … 2^32−1. Default 1. */
  seed?: number;
  /** Record a trace (default true). Off for benchmarks and large sweeps. */
  trace?: boolean;
}

export interface RunResult {
  /** Simulated time at the end, ns. */
  readonly now: number;
  /** Events processed by this call. */
  readonly events: number;
  /** Why the run returned. */
  readonly reason: "idle" | "until" | "stopped" | "event-budget";
}

/**
 * A queued event as an explorer sees it (exploration mode, see `beginExploration`). Valid until
 * the next `fire`.
 */
export interface PendingEvent {
  /** Queue slot. */
  readonly slot: number;
  /** The process this event resumes, or null for a plain scheduled callback. */
  readonly owner: Process<unknown> | null;
  /** The owner's name, or the label given to `schedule`, or "event". */
  readonly label: string;
  /** Absolute time the timed engine would fire it at, ns. */
  readonly time: number;
}

/** Priorities: lower runs first among events at the same time. */
/** Fast steps ({@link Simulation.fastStep}) a process may take in a row before going through
 * the queue. */
export const FAST_STEPS_MAX = 256;

export const Priority = {
  /** Hardware that must be seen before software at the same instant (interrupt delivery). */
  URGENT: 0,
  NORMAL: 64,
  /** Bookkeeping that must observe everything else at that instant. */
  LATE: MAX_PRIORITY,
} as const;

export class Simulation {
  now = 0;
  readonly queue = new EventQueue(64);
  readonly rng: Rng;
  readonly trace: Trace;
  readonly seed: number;
  readonly priorityNormal = Priority.NORMAL;
  /** The process whose generator is running right now, if any. */
  current: Process<unknown> | null = null;
  /** Generator resumptions so far (the benchmark's "process steps"). */
  steps = 0;
  /** Events fired so far. */
  eventsFired = 0;
  private nextPid = 1;
  private stopRequest: string | null = null;
  /**
   * While `run` runs (not exploring, no event budget): how far a process may advance the clock by
   * itself. A process that yields a delay ending before every queued event would be the very next
   * thing to run, so it carries on at once instead of a round trip through the queue; the order of
   * everything is unchanged. At most FAST_STEPS_MAX such steps in a row, then the queue, so
   * `run` still gets to look at a stop request. −1: off.
   */
  fastUntil = -1;
  /** Consecutive fast steps taken. */
  fastRun = 0;
  /** Fast steps taken in all: each stands for the resume event it saved, so `run` reports and
   * counts them as events and the optimisation stays invisible. */
  fastSteps = 0;
  private explore = false;
  /**
   * True from just before an event's callback runs until it returns or throws. Still true when a
   * run starts means the last one was cut off inside an event by something that skips even
   * `finally` blocks (V8's SIGINT termination in a notebook): see {@link run}.
   */
  private inEvent = false;
  /** State that every machine on this simulation shares, by key (see {@link perSimulation}). */
  private sharedState: Map<symbol, unknown> | null = null;
  /** Exploration mode: every process started since `beginExploration`, to recognise its events. */
  private readonly tracked: Process<unknown>[] = [];
  /** Exploration mode: labels of plain scheduled callbacks (IPI deliveries, …). */
  private readonly labels = new Map<EventCallback, string>();

  constructor(options: SimulationOptions = {}) {
    const o = checkOptions("options", options, ["seed", "trace"], "Simulation");
    const seed = o["seed"] ?? 1;
    checkInt("seed", seed, 0, 2 ** 32 - 1, "Simulation");
    this.seed = seed as number;
    this.rng = new Rng(this.seed);
    this.trace = new Trace(() => this.now, checkBool("trace", o["trace"], true, "Simulation"));
  }

  /** Runs `fn(arg)` after `delay` ns. `label` names the event for an explorer (it is kept only in
   * exploration mode). */
  schedule(
    delay: number,
    fn: EventCallback,
    priority: number = Priority.NORMAL,
    arg = 0,
    label?: string,
  ): void {
    // Inline fast check first: this is the hottest entry point of the engine.
    if (!(delay >= 0 && delay <= Number.MAX_SAFE_INTEGER - this.now && Math.floor(delay) === delay))
      checkInt("delay", delay, 0, Number.MAX_SAFE_INTEGER - this.now, "Simulation.schedule (ns)");
    if (priority !== Priority.NORMAL)
      checkInt("priority", priority, 0, MAX_PRIORITY, "Simulation.schedule");
    this.queue.push(this.now + delay, priority, fn, arg);
    if (label !== undefined && this.explore) this.labels.set(fn, label);
  }

  /** Starts a process `delay` ns from now. Start-up is URGENT so that a process created at time t
   * takes its first step before ordinary events at t, as SimPy's Initialize does. */
  process<R>(name: string, gen: Kfn<R>, delay = 0): Process<R> {
    checkInt(
      "delay",
      delay,
      0,
      Number.MAX_SAFE_INTEGER - this.now,
      `Simulation.process("${name}") (ns)`,
    );
    if (
      gen === null ||
      typeof gen !== "object" ||
      typeof (gen as { next?: unknown }).next !== "function"
    )
      throw new ParameterError(
        "gen",
        gen,
        "a generator object (call the generator function)",
        `Simulation.process("${name}")`,
      );
    const p = new Process<R>(this, this.nextPid++, name, gen);
    if (this.explore) this.tracked.push(p);
    p.start(delay, Priority.URGENT);
    return p;
  }

  /**
   * The one value under `key` for this simulation, made by `create` on first use: state that the
   * machines sharing a simulation share (the tick's count of queued tick events). Kept on the
   * simulation rather than in a module-level WeakMap keyed by it, which V8's scavenger treats as
   * a root for young keys (docs/benchmarks.md, "Performance devices").
   */
  perSimulation<T>(key: symbol, create: () => T): T {
    const m = (this.sharedState ??= new Map<symbol, unknown>());
    if (m.has(key)) return m.get(key) as T;
    const made = create();
    m.set(key, made);
    return made;
  }

  event<T = void>(name?: string): SimEvent<T> {
    return new SimEvent<T>(name);
  }

  signal(name?: string): Signal {
    return new Signal(name);
  }

  /** Asks a running `run()` to return at the next event boundary (notebook interrupt). */
  stop(reason = "stopped"): void {
    this.stopRequest = reason;
  }

  /**
   * Processes events until the queue is empty, simulated time would pass `until`, `maxEvents`
   * have fired, or `stop()` is called. Time never moves past `until`.
   *
   * How a run can end early, and the state it leaves:
   * - `stop()` (or the event budget): returns between two events, reason "stopped"
   *   ("event-budget"); every process is queued, waiting or finished, and `run()` carries on.
   * - a user interrupt in a notebook (see user-interrupt.ts): the same event boundary, but it
   *   throws {@link SimulationStopped} so that the cell stops; `run()` again carries on from there.
   * - an error thrown by a process (or a callback): the error propagates; that process is
   *   finished with `error` set (and a task's CPU is released with interrupts enabled, hw/cpu.ts);
   *   everything else is as it was at that event, and `run()` carries on without it.
   * In every case the engine leaves the fast path off (an explorer after it sees every step).
   * - a hard stop inside an event (SIGINT terminating V8 mid-step, which skips even `finally`):
   *   the event's effects may be half done and its process lost, so the next `run()` refuses
   *   with a {@link KernelStateError} rather than carry on with a silently broken model.
   */
  run(options: { until?: number; maxEvents?: number } = {}): RunResult {
    const o = checkOptions("options", options, ["until", "maxEvents"], "Simulation.run");
    const until = (o["until"] as number | undefined) ?? Number.POSITIVE_INFINITY;
    if (until !== Number.POSITIVE_INFINITY)
      checkInt("until", until, this.now, Number.MAX_SAFE_INTEGER, "Simulation.run (ns)");
    const maxEvents = (o["maxEvents"] as number | undefined) ?? Number.POSITIVE_INFINITY;
    if (maxEvents !== Number.POSITIVE_INFINITY)
      checkInt("maxEvents", maxEvents, 1, Number.MAX_SAFE_INTEGER, "Simulation.run");
    this.checkNotTorn("Simulation.run");
    const interrupted = userInterruptCheck();
    this.stopRequest = null;
    this.fastUntil = this.explore || maxEvents !== Number.POSITIVE_INFINITY ? -1 : until;
    this.fastRun = 0;
    const fast0 = this.fastSteps;
    const q = this.queue;
    let n = 0;
    let reason: RunResult["reason"] = "idle";
    try {
      // The checks below run at every 64th event (n a multiple of 64), the events between them
      // in a loop that asks only whether there is one and whether it is due: the same events,
      // stops and reasons as checking all of them before every event, at less cost per event.
      for (;;) {
        if (q.length === 0) break;
        if (q.peekTime() > until) {
          reason = "until";
          break;
        }
        if (n >= maxEvents) {
          reason = "event-budget";
          break;
        }
        // A stop request is looked at every 1024 events: cheap, and still prompt.
        if ((n & 1023) === 0 && this.stopRequest !== null) {
          reason = "stopped";
          break;
        }
        // A user interrupt every 64 (in a notebook only): an event can stand for 256 fast
        // steps, and the kernel escalates to SIGINT if the run has not stopped within 300 ms.
        if (interrupted !== null && interrupted())
          throw new SimulationStopped(
            `interrupted at t = ${this.now} ns, between two events; the simulation is ` +
              "consistent and run() carries on from here",
          );
        const batchEnd = Math.min(n + 64, maxEvents);
        n += this.step(batchEnd - n, until);
        if (n < batchEnd) {
          // the queue emptied or the next event is past `until`: the checks above say which
          if (q.length !== 0 && q.peekTime() > until) reason = "until";
          break;
        }
      }
    } finally {
      // also when a process threw: the explorer must not inherit the fast path
      this.inEvent = false;
      this.fastUntil = -1;
      this.fastRun = 0;
      // `step` counted the events it ran; the fast steps count as the events they saved
      const fast = this.fastSteps - fast0;
      n += fast;
      this.eventsFired += fast;
    }
    if (reason === "until") this.now = until;
    return { now: this.now, events: n, reason };
  }

  /**
   * The engine's one step, taken up to `max` times in a row: takes the earliest event off the
   * queue, moves the clock to it and runs it, as long as there is one and it is not after `until`.
   * Returns how many events it ran; they are counted in `eventsFired`, the one that threw too.
   * `run` takes it in runs of up to 64 between its checks, `runUntilDone` one at a time; an
   * explorer's `fire` runs a chosen event with the same lines, without moving the clock. Private:
   * the callers own the `inEvent` clean-up (it stays true if an event throws). Why a run of steps
   * and not one: docs/benchmarks.md, "Performance devices in model code".
   */
  private step(max: number, until: number): number {
    const q = this.queue;
    let n = 0;
    try {
      while (
        n < max &&
        q.length !== 0 &&
        (until === Number.POSITIVE_INFINITY || q.peekTime() <= until)
      ) {
        const slot = q.pop();
        this.now = q.slotTime(slot);
        const fn = q.slotFn(slot);
        const arg = q.slotArg(slot);
        q.release(slot);
        n++;
        this.inEvent = true;
        fn(arg);
        this.inEvent = false;
      }
    } finally {
      this.eventsFired += n;
    }
    return n;
  }

  /**
   * The step a process takes without the queue (see {@link fastUntil}): if its delay ends at `at`,
   * before every queued event and within this run's horizon, the clock moves there and the process
   * carries on at once, counted as the resume event it saves. False: queue the resume as usual.
   */
  fastStep(at: number): boolean {
    if (at <= this.fastUntil && this.queue.peekTime() > at && this.fastRun++ < FAST_STEPS_MAX) {
      this.now = at;
      this.steps++;
      this.fastSteps++;
      return true;
    }
    this.fastRun = 0;
    return false;
  }

  /**
   * The same for a device's own next event (a page walker's next walk): an event of priority
   * NORMAL or later that would be the very next thing to run — strictly before every queued event
   * and within this run's horizon — runs at once inside the event that would have queued it. The
   * clock moves to `at`, and the event counts as fired; false: queue it as usual. The caller runs
   * exactly what the event would have run. Why: docs/benchmarks.md, "Performance devices".
   */
  fastEvent(at: number): boolean {
    if (at <= this.fastUntil && this.queue.peekTime() > at && this.fastRun++ < FAST_STEPS_MAX) {
      this.now = at;
      this.fastSteps++;
      return true;
    }
    this.fastRun = 0;
    return false;
  }

  /** Refuses to go on after a run that was cut off inside an event (see {@link run}). */
  private checkNotTorn(operation: string): void {
    if (!this.inEvent && this.current === null) return;
    const where =
      this.current !== null ? `in a step of process "${this.current.name}"` : "inside an event";
    throw new KernelStateError(
      operation,
      `an earlier run was cut off ${where} at t = ${this.now} ns (a hard interrupt such as ` +
        "SIGINT, which skips even finally blocks), or run() was called from inside an event; the " +
        "simulation's state is unknown, so build a new one (interrupts that reach run() between " +
        "events, as a notebook's stop button does first, leave it usable)",
    );
  }

  // ------------------------------------------------------------ exploration mode (explore/)

  /** True once `beginExploration` has been called. */
  get exploring(): boolean {
    return this.explore;
  }

  /**
   * Switches to exploration mode: from now on an explorer chooses which pending event fires next
   * (`pendingEvents`, `fire`) instead of `run` taking them in time order, so every yield of a
   * process becomes a scheduling point and delays only order nothing. Processes started from now
   * on are tracked so their events can be told apart. Call it on a quiescent simulation (empty
   * queue), e.g. after a timed set-up phase has run to completion.
   */
  beginExploration(): void {
    this.checkNotTorn("beginExploration");
    if (this.queue.length > 0)
      throw new MmulabError(
        `beginExploration: ${this.queue.length} events are still queued; run the set-up phase to completion first`,
      );
    this.queue.heapOnly();
    this.explore = true;
  }

  /**
   * Exploration mode: the events that would do something if fired now, in queue (heap) order.
   * Stale process wake-ups (superseded by a suspension) are dropped from the queue on the way.
   */
  pendingEvents(): PendingEvent[] {
    if (!this.explore)
      throw new MmulabError("pendingEvents: call beginExploration() first (exploration mode)");
    const q = this.queue;
    const live: PendingEvent[] = [];
    const stale: number[] = [];
    for (let i = 0; i < q.length; i++) {
      const slot = q.slotAt(i);
      const fn = q.slotFn(slot);
      const arg = q.slotArg(slot);
      let owner: Process<unknown> | null = null;
      let state: "live" | "stale" | null = null;
      for (const p of this.tracked) {
        state = p.eventState(fn, arg);
        if (state !== null) {
          owner = p;
          break;
        }
      }
      if (state === "stale") stale.push(slot);
      else
        live.push({
          slot,
          owner,
          label: owner !== null ? owner.name : (this.labels.get(fn) ?? "event"),
          time: q.slotTime(slot),
        });
    }
    for (const slot of stale) {
      q.remove(slot);
      q.release(slot);
    }
    return live;
  }

  /** Exploration mode: the processes started since `beginExploration`, finished ones included. */
  trackedProcesses(): readonly Process<unknown>[] {
    return this.tracked;
  }

  /** Exploration mode: fires one pending event now, whatever its time (`now` is not moved). */
  fire(ev: PendingEvent): void {
    // never the fast path here: each yield must come back to the explorer
    this.fastUntil = -1;
    const q = this.queue;
    const slot = ev.slot;
    q.remove(slot);
    const fn = q.slotFn(slot);
    const arg = q.slotArg(slot);
    this.labels.delete(fn);
    q.release(slot);
    this.eventsFired++;
    this.inEvent = true;
    try {
      fn(arg);
    } finally {
      this.inEvent = false;
    }
  }

  /** Runs until `proc` finishes and returns its result; throws if the queue empties first. */
  runUntilDone<R>(proc: Process<R>, options: { maxEvents?: number } = {}): R {
    this.checkNotTorn("Simulation.runUntilDone");
    const q = this.queue;
    let n = 0;
    const max = options.maxEvents ?? Number.POSITIVE_INFINITY;
    const interrupted = userInterruptCheck();
    this.stopRequest = null;
    this.fastUntil = -1;
    try {
      while (!proc.finished) {
        if (q.length === 0)
          throw new MmulabError(
            `process "${proc.name}" is blocked forever (${proc.status}) and nothing else is scheduled`,
          );
        if (this.stopRequest !== null)
          throw new SimulationStopped(`stopped: ${String(this.stopRequest)}`);
        if ((n & 63) === 0 && interrupted !== null && interrupted())
          throw new SimulationStopped(
            `interrupted at t = ${this.now} ns before "${proc.name}" finished, between two ` +
              "events; the simulation is consistent and can be run further",
          );
        if (n >= max)
          throw new SimulationStopped(
            `event budget of ${max} exhausted before "${proc.name}" finished`,
          );
        n += this.step(1, Number.POSITIVE_INFINITY);
      }
    } finally {
      this.inEvent = false;
    }
    return proc.done.value;
  }
}
