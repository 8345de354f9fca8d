/**
 * The cross-calls queued on a machine's CPUs (kernel/smp.c `call_single_queue`, one per CPU),
 * held as one machine-wide list in the order the calls were queued: each call's csd is stored
 * once with the CPUs it was sent to, as the first generic kernel/smp.c kept a
 * `call_function_data` (a cpumask and a reference count on one global queue, 2.6.27), and each
 * CPU reads it when its turn comes.
 *
 * What every CPU sees is exactly what its own call_single_queue would hold: the calls sent to
 * it, in the order they were queued (a sender queues on every target before it sends an IPI, and
 * calls are numbered in that order). Per CPU the list keeps how many calls wait for it (zero:
 * `llist_add` finds the queue empty and the sender must send an IPI), the first of them, and the
 * stretch its handler took off at once (`llist_del_all`) and has not run yet. A call leaves the
 * list once every CPU it was sent to has run past it. docs/benchmarks.md ("The storm's
 * cross-calls") says why it is kept this way: a sender's call reaches every target without 255
 * per-CPU queue writes, and a handler's calls sit next to each other in memory.
 */
import type { Csd } from "./cpu.js";

export class CallQueue {
  private readonly words: number;
  /** The calls from `head` (the oldest one kept) to `tail` (the next number), by number modulo
   * the capacity: the csd, the CPUs it was sent to (a bitmap of `words` 32-bit words) and how
   * many of them have not run past it yet. */
  private csds: (Csd | undefined)[];
  private masks: Uint32Array;
  private unvisited: Int32Array;
  private head = 0;
  private tail = 0;
  /** Per CPU: calls queued for it and not taken by its handler; the first of them. */
  private readonly pending: Int32Array;
  private readonly firstPending: Float64Array;
  /** Per CPU: what its handler took and has not run yet, `cursor` … `end` (calls numbered in
   * between that were not sent to it are passed over). */
  private readonly cursor: Float64Array;
  private readonly end: Float64Array;

  constructor(nrCpus: number) {
    this.words = (nrCpus + 31) >>> 5;
    const cap = 16;
    this.csds = new Array<Csd | undefined>(cap).fill(undefined);
    this.masks = new Uint32Array(cap * this.words);
    this.unvisited = new Int32Array(cap);
    this.pending = new Int32Array(nrCpus);
    this.firstPending = new Float64Array(nrCpus);
    this.cursor = new Float64Array(nrCpus);
    this.end = new Float64Array(nrCpus);
  }

  /** Nothing is queued for `cpu`: a new call needs an IPI (`llist_add` returned true). What a
   * running handler has taken off is no longer queued. */
  empty(cpu: number): boolean {
    return this.pending[cpu] === 0;
  }

  /**
   * `llist_add` of `csd` on each target's queue, in the targets' order; pushes onto `needIpi` the
   * targets whose queue was empty.
   */
  enqueue(csd: Csd, targets: readonly number[], needIpi: number[]): void {
    if (targets.length === 0) return;
    if (this.tail - this.head === this.csds.length) this.grow();
    const seq = this.tail++;
    const cap = this.csds.length;
    const slot = seq & (cap - 1);
    this.csds[slot] = csd;
    this.unvisited[slot] = targets.length;
    const masks = this.masks;
    const base = slot * this.words;
    for (let w = 0; w < this.words; w++) masks[base + w] = 0;
    const pending = this.pending;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      masks[base + (t >>> 5)]! |= 1 << (t & 31);
      const was = pending[t]!;
      pending[t] = was + 1;
      if (was === 0) {
        this.firstPending[t] = seq;
        needIpi.push(t);
      }
    }
  }

  /** `llist_del_all` on `cpu`'s queue: its handler takes every call queued for it, behind what
   * it took before and has not run. */
  takeAll(cpu: number): void {
    if (this.pending[cpu] === 0) return;
    if (this.cursor[cpu]! >= this.end[cpu]!) this.cursor[cpu] = this.firstPending[cpu]!;
    this.end[cpu] = this.tail;
    this.pending[cpu] = 0;
  }

  /** The next call `cpu`'s handler took and has not run yet, now taken off its list; undefined
   * when it has run them all. */
  next(cpu: number): Csd | undefined {
    const end = this.end[cpu]!;
    let seq = Math.max(this.cursor[cpu]!, this.head);
    const cap = this.csds.length;
    const word = cpu >>> 5;
    const bit = 1 << (cpu & 31);
    for (; seq < end; seq++) {
      const slot = seq & (cap - 1);
      if ((this.masks[slot * this.words + word]! & bit) === 0) continue;
      this.cursor[cpu] = seq + 1;
      const csd = this.csds[slot]!;
      if (--this.unvisited[slot]! === 0 && seq === this.head) this.trim();
      return csd;
    }
    this.cursor[cpu] = end;
    return undefined;
  }

  /** The calls `cpu`'s handler has taken and not run, in order (what the explorer prints). */
  taken(cpu: number): Csd[] {
    return this.collect(cpu, Math.max(this.cursor[cpu]!, this.head), this.end[cpu]!);
  }

  /** The calls queued for `cpu` and not taken, in order. */
  queued(cpu: number): Csd[] {
    if (this.pending[cpu] === 0) return [];
    return this.collect(cpu, this.firstPending[cpu]!, this.tail);
  }

  private collect(cpu: number, from: number, to: number): Csd[] {
    const out: Csd[] = [];
    const cap = this.csds.length;
    for (let seq = from; seq < to; seq++) {
      const slot = seq & (cap - 1);
      if ((this.masks[slot * this.words + (cpu >>> 5)]! & (1 << (cpu & 31))) !== 0)
        out.push(this.csds[slot]!);
    }
    return out;
  }

  /** Drops the calls at the head that every target has run past. */
  private trim(): void {
    const cap = this.csds.length;
    while (this.head < this.tail) {
      const slot = this.head & (cap - 1);
      if (this.unvisited[slot] !== 0) return;
      this.csds[slot] = undefined;
      this.head++;
    }
  }

  private grow(): void {
    const cap = this.csds.length;
    const words = this.words;
    const csds = new Array<Csd | undefined>(2 * cap).fill(undefined);
    const masks = new Uint32Array(2 * cap * words);
    const unvisited = new Int32Array(2 * cap);
    for (let seq = this.head; seq < this.tail; seq++) {
      const from = seq & (cap - 1);
      const to = seq & (2 * cap - 1);
      csds[to] = this.csds[from];
      unvisited[to] = this.unvisited[from]!;
      masks.set(this.masks.subarray(from * words, (from + 1) * words), to * words);
    }
    this.csds = csds;
    this.masks = masks;
    this.unvisited = unvisited;
  }
}
