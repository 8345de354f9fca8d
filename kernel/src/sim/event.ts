/**
 * One-shot events and signals.
 *
 * `SimEvent` follows SimPy's lifecycle: pending, then triggered once with a value; callbacks
 * added after the trigger run at once. A `Process` is itself waitable through its `done` event.
 *
 * `Signal` is the simulator's wait queue for spinning: a kernel loop such as `csd_lock_wait`
 * re-reads a flag until it changes; here the spinner gives a predicate and the code that changes
 * the flag calls `notify()`, which re-checks the predicates. Busy-waiting therefore costs no
 * events while nothing changes, yet the spinner leaves its loop at the exact time of the change.
 */

/** Method-shorthand type: bivariant in T, so a SimEvent<R> is usable where SimEvent<unknown> is
 * expected (a Process<R> waits like any other process). The event itself comes second, so that
 * one long-lived callback can tell which event fired. */
type Callback<T> = { bivarianceHack(value: T, event: SimEvent<T>): void }["bivarianceHack"];

export class SimEvent<T = void> {
  private _triggered = false;
  private _value: T | undefined;
  /** The first waiter, and an array for more, allocated on the second `then`: most events (a
   * task's dispatch, a pipe write) have one waiter or none, and a kernel build creates hundreds
   * of thousands of them. */
  private first: Callback<T> | null = null;
  private more: Callback<T>[] | null = null;
  readonly name: string;

  constructor(name = "event") {
    this.name = name;
  }

  get triggered(): boolean {
    return this._triggered;
  }

  /** The value it was triggered with; throws while pending. */
  get value(): T {
    if (!this._triggered) throw new Error(`event "${this.name}" has not been triggered yet`);
    return this._value as T;
  }

  succeed(value: T): void {
    if (this._triggered) throw new Error(`event "${this.name}" was already triggered`);
    this._triggered = true;
    this._value = value;
    const first = this.first;
    const more = this.more;
    this.first = null;
    this.more = null;
    if (first !== null) first(value, this);
    if (more !== null) for (const cb of more) cb(value, this);
  }

  /** Runs `cb` when triggered (at once if it already was); callbacks run in the order added. */
  then(cb: (value: T, event: SimEvent<T>) => void): void {
    if (this._triggered) cb(this._value as T, this);
    else if (this.first === null) this.first = cb;
    else (this.more ??= []).push(cb);
  }
}

/** Something a spinning process can wait on: it is re-checked on every `notify()`. */
export interface SpinWaiter {
  /** Returns true when the waiter is done with this signal and must be removed. */
  recheck(): boolean;
}

export class Signal {
  private waiters: SpinWaiter[] = [];
  readonly name: string;

  constructor(name = "signal") {
    this.name = name;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  add(w: SpinWaiter): void {
    this.waiters.push(w);
  }

  remove(w: SpinWaiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Re-checks every waiter in the order they began to wait (deterministic). */
  notify(): void {
    if (this.waiters.length === 0) return;
    const keep: SpinWaiter[] = [];
    for (const w of this.waiters) if (!w.recheck()) keep.push(w);
    this.waiters = keep;
  }
}
