/**
 * Processes: kernel code paths written as generator functions.
 *
 * A process yields to the engine to
 *   - spend time: `yield 250` (integer nanoseconds),
 *   - spin until a condition holds: `yield spin(signal, () => csd.done)`,
 *   - wait for an event or another process: `yield waitFor(ev)`, `yield otherProcess`,
 * and nested kernel functions compose with `yield*`, so a model of `tlb_finish_mmu` reads like
 * the C: one statement per kernel step.
 *
 * A process can be suspended from outside and later continued: an interrupt taken by the CPU it
 * runs on, or the host descheduling the vCPU. While suspended it makes no progress: a pending
 * delay keeps its remaining time, a spin does not notice its condition, and an event that fires
 * is remembered until the process continues.
 */
import { InvalidYieldError } from "./errors.js";
import { SimEvent, type Signal, type SpinWaiter } from "./event.js";
import type { Simulation } from "./simulation.js";

/** What a process may yield. */
export type Yieldable = number | Spin | WaitFor | SimEvent<unknown> | Process<unknown>;

/** A kernel code path: `function* tlb_finish_mmu(...): Kfn<void> { ... }`. */
export type Kfn<R = void> = Generator<Yieldable, R, unknown>;

/**
 * A plain-call kernel step (tlb_remove_table, pXd_free_tlb, …): null when it took no simulated
 * time, a number when all that is left is to spend that many nanoseconds, else the rest of the
 * path. The caller runs what is left at once, `yield* runRest(step(...))`: one line per kernel
 * step. Why steps are plain calls: docs/benchmarks.md, "Performance devices".
 */
export type KfnOrDone = Kfn<void> | number | null;

/** What {@link runRest} gives `yield*`: the rest of a path, or an iterator of its time. */
export interface KfnRest {
  [Symbol.iterator](): Iterator<Yieldable, void, unknown>;
}

/**
 * Runs what a {@link KfnOrDone} step left: `yield* runRest(step(...))`. The rest of a path is
 * delegated to as it is, and a time or nothing by a plain iterator, not a generator wrapped
 * around them: every yield of the rest would pass through that wrapper, and a kernel build runs
 * about 430k such steps (docs/benchmarks.md, "Performance devices").
 */
export function runRest(rest: KfnOrDone): KfnRest {
  if (rest === null) return NOTHING_LEFT;
  if (typeof rest === "number") return new SpendLeft(rest);
  return rest;
}

const DONE: IteratorReturnResult<void> = Object.freeze({ value: undefined, done: true });

/** What a step that left nothing runs: an iterator that is done at once (shared: it has no
 * state). */
const NOTHING_LEFT: Iterator<Yieldable, void, unknown> & KfnRest = {
  next: () => DONE,
  [Symbol.iterator]() {
    return this;
  },
};

/** What a step that left only time runs: one `yield ns`. */
class SpendLeft implements Iterator<Yieldable, void, unknown>, KfnRest {
  private spent = false;
  constructor(private readonly ns: number) {}
  next(): IteratorResult<Yieldable, void> {
    if (this.spent) return DONE;
    this.spent = true;
    return { value: this.ns, done: false };
  }
  [Symbol.iterator](): this {
    return this;
  }
}

export class Spin {
  readonly kind = "spin" as const;
  constructor(
    readonly signal: Signal,
    readonly until: () => boolean,
  ) {}
}

export class WaitFor {
  readonly kind = "wait" as const;
  constructor(readonly event: SimEvent<unknown>) {}
}

/** Busy-wait until `until()` is true; it is re-checked whenever `signal` is notified. */
export function spin(signal: Signal, until: () => boolean): Spin {
  return new Spin(signal, until);
}

/** Block until the event has been triggered; the yield evaluates to its value. */
export function waitFor<T>(event: SimEvent<T>): WaitFor {
  return new WaitFor(event);
}

type State = "scheduled" | "spinning" | "waiting" | "done";

/** The event a yield waits for (a wait, an event, another process's end), or null. */
function eventOf(y: Yieldable): SimEvent<unknown> | null {
  if (y instanceof WaitFor) return y.event;
  if (y instanceof SimEvent) return y;
  if (y instanceof Process) return y.done;
  return null;
}

export class Process<R = unknown> implements SpinWaiter {
  readonly name: string;
  readonly id: number;
  /** Triggered with the generator's return value when it finishes. */
  readonly done: SimEvent<R>;
  /** Triggered when the process ends either way (returned or threw); the CPU uses it to free
   * itself. A thrown error also propagates out of `Simulation.run`. */
  readonly exited: SimEvent<void>;
  /** The error the generator threw, if it did. */
  error: unknown = undefined;
  private readonly sim: Simulation;
  private readonly gen: Kfn<R>;
  private state: State = "scheduled";
  /** Bumped to cancel a pending resume (suspension, or a resume arriving another way). */
  private epoch = 0;
  private resumeAt = 0;
  private remaining = 0;
  private suspendDepth = 0;
  private spinning: Spin | null = null;
  private waitingOn: SimEvent<unknown> | null = null;
  private eventArrived = false;
  private sendValue: unknown = undefined;
  private readonly resumeCb: (epoch: number) => void;
  /** One callback for every event the process waits on (a wait allocates nothing). */
  private readonly eventCb: (value: unknown, ev: SimEvent<unknown>) => void;

  constructor(sim: Simulation, id: number, name: string, gen: Kfn<R>) {
    this.sim = sim;
    this.id = id;
    this.name = name;
    this.gen = gen;
    this.done = new SimEvent<R>(`${name}.done`);
    this.exited = new SimEvent<void>(`${name}.exited`);
    this.resumeCb = (epoch: number) => {
      if (epoch === this.epoch) this.run();
    };
    this.eventCb = (_value: unknown, ev: SimEvent<unknown>) => this.onEvent(ev);
  }

  get finished(): boolean {
    return this.state === "done";
  }

  get suspended(): boolean {
    return this.suspendDepth > 0;
  }

  /** Where the process is: for tests and the explorer's state hash. */
  get status(): "scheduled" | "spinning" | "waiting" | "done" | "suspended" {
    return this.suspendDepth > 0 && this.state !== "done" ? "suspended" : this.state;
  }

  /**
   * Exploration (explore/): whether the queued event `(fn, arg)` is this process's resume —
   * "live" if firing it continues the process, "stale" if it was superseded (the process was
   * suspended, or resumed another way; firing it would do nothing) — or not this process's at all.
   */
  eventState(fn: (arg: number) => void, arg: number): "live" | "stale" | null {
    if (fn !== this.resumeCb) return null;
    return arg === this.epoch && this.state === "scheduled" && this.suspendDepth === 0
      ? "live"
      : "stale";
  }

  /** Starts the process `delay` ns from now (engine use). */
  start(delay: number, priority: number): void {
    this.resumeAt = this.sim.now + delay;
    this.sim.queue.push(this.resumeAt, priority, this.resumeCb, this.epoch);
  }

  /** Stops all progress until the matching `unsuspend()`. Nests. */
  suspend(): void {
    if (this.state === "done") return;
    if (this.suspendDepth++ > 0) return;
    if (this.state === "scheduled") {
      this.remaining = this.resumeAt - this.sim.now;
      this.epoch++;
    }
  }

  unsuspend(): void {
    if (this.state === "done") return;
    if (this.suspendDepth === 0) throw new Error(`process "${this.name}" is not suspended`);
    if (--this.suspendDepth > 0) return;
    // Suspended and let go within its own step (it woke onto a stalled CPU, then blocked or was
    // switched out before yielding): it never stopped, and its next yield is handled as usual.
    // A resume queued here would outlive that yield and continue it while it waits for an
    // event — past a wait whose event has not happened (a spurious wake-up).
    if (this.sim.current === this) return;
    switch (this.state) {
      case "scheduled":
        this.wake(this.remaining);
        break;
      case "spinning":
        if (this.spinning!.until()) {
          this.spinning!.signal.remove(this);
          this.spinning = null;
          this.state = "scheduled";
          this.wake(0);
        }
        break;
      case "waiting":
        if (this.eventArrived) {
          this.state = "scheduled";
          this.wake(0);
        }
        break;
    }
  }

  /** SpinWaiter: called by Signal.notify(). */
  recheck(): boolean {
    if (this.state !== "spinning") return true;
    if (this.suspendDepth > 0) return false;
    if (!this.spinning!.until()) return false;
    this.spinning = null;
    this.state = "scheduled";
    this.wake(0);
    return true;
  }

  private wake(delay: number): void {
    this.resumeAt = this.sim.now + delay;
    this.sim.queue.push(this.resumeAt, this.sim.priorityNormal, this.resumeCb, ++this.epoch);
  }

  private onEvent(ev: SimEvent<unknown>): void {
    if (this.state !== "waiting" || this.waitingOn !== ev) return;
    this.sendValue = ev.value;
    this.waitingOn = null;
    if (this.suspendDepth > 0) {
      this.eventArrived = true;
      return;
    }
    this.state = "scheduled";
    this.wake(0);
  }

  /** What a yield made while suspended leaves for unsuspend() to continue. */
  private parkSuspended(y: Yieldable): void {
    if (typeof y === "number") {
      if (!(y >= 0 && y <= Number.MAX_SAFE_INTEGER && Math.floor(y) === y))
        throw new InvalidYieldError(this.name, y);
      this.state = "scheduled";
      this.remaining = y;
      return;
    }
    if (y instanceof Spin) {
      this.state = "spinning";
      this.spinning = y;
      y.signal.add(this);
      return;
    }
    const ev = eventOf(y);
    if (ev === null) throw new InvalidYieldError(this.name, y);
    this.state = "waiting";
    this.waitingOn = ev;
    this.eventArrived = false;
    if (ev.triggered) {
      this.sendValue = ev.value;
      this.waitingOn = null;
      this.eventArrived = true;
    } else ev.then(this.eventCb);
  }

  /** Advances the generator until it blocks. */
  private run(): void {
    const sim = this.sim;
    sim.current = this;
    sim.steps++;
    try {
      for (;;) {
        const send = this.sendValue;
        this.sendValue = undefined;
        const r = this.gen.next(send);
        if (r.done) {
          this.state = "done";
          this.done.succeed(r.value);
          this.exited.succeed();
          return;
        }
        const y = r.value;
        // Suspended by something it did itself (it woke onto a CPU that is descheduled or in an
        // interrupt): the suspension takes effect at this yield, as an interrupt or a VM exit
        // would stop the CPU between two instructions; unsuspend() continues from here.
        if (this.suspendDepth > 0) {
          this.parkSuspended(y);
          return;
        }
        if (typeof y === "number") {
          if (!(y >= 0 && y <= Number.MAX_SAFE_INTEGER && Math.floor(y) === y))
            throw new InvalidYieldError(this.name, y);
          this.resumeAt = sim.now + y;
          if (sim.fastStep(this.resumeAt)) continue;
          sim.queue.push(this.resumeAt, sim.priorityNormal, this.resumeCb, ++this.epoch);
          return;
        }
        if (y instanceof Spin) {
          if (y.until()) continue;
          this.state = "spinning";
          this.spinning = y;
          y.signal.add(this);
          return;
        }
        const ev = eventOf(y);
        if (ev === null) throw new InvalidYieldError(this.name, y);
        if (ev.triggered) {
          this.sendValue = ev.value;
          continue;
        }
        this.state = "waiting";
        this.waitingOn = ev;
        this.eventArrived = false;
        ev.then(this.eventCb);
        return;
      }
    } catch (e) {
      this.state = "done";
      this.error = e;
      this.exited.succeed();
      throw e;
    } finally {
      sim.current = null;
    }
  }
}
