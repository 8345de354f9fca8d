/**
 * The event queue: a binary min-heap keyed by (time, priority, sequence).
 *
 * SimPy's rule carried over: only the engine's step moves time, and the sequence number breaks
 * every tie, so two runs that schedule the same events in the same order pop them in the same
 * order. The heap holds slot numbers; each slot keeps its time, order key, callback and argument
 * in flat arrays so that scheduling and popping allocate nothing in the steady state (the engine
 * benchmark asks for ten million events a second).
 */

/** Called when the event fires. `arg` lets one long-lived callback serve many events (a process
 * resumes with its epoch as the argument and ignores stale wake-ups). */
export type EventCallback = (arg: number) => void;

/** Largest priority: priority and sequence share one float64 order key (priority × 2^44 + seq). */
export const MAX_PRIORITY = 127;
const SEQ_SPAN = 2 ** 44;

/**
 * The five per-slot arrays as views on one ArrayBuffer. A typed array over 64 bytes gets its own
 * off-heap backing store, allocated with malloc and freed by a background sweeper task after the
 * collection that finds it dead; a short simulation (a race trial) paid that five times over for
 * its queue alone.
 */
function slotArrays(
  cap: number,
): [
  times: Float64Array,
  keys: Float64Array,
  args: Float64Array,
  heap: Int32Array,
  free: Int32Array,
] {
  const buf = new ArrayBuffer(cap * 32);
  return [
    new Float64Array(buf, 0, cap),
    new Float64Array(buf, cap * 8, cap),
    new Float64Array(buf, cap * 16, cap),
    new Int32Array(buf, cap * 24, cap),
    new Int32Array(buf, cap * 28, cap),
  ];
}

export class EventQueue {
  private heap: Int32Array;
  private size = 0;
  private times: Float64Array;
  private keys: Float64Array;
  private args: Float64Array;
  private fns: (EventCallback | undefined)[];
  private freeSlots: Int32Array;
  private freeTop = 0;
  private capacity: number;
  private seq = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = initialCapacity;
    [this.times, this.keys, this.args, this.heap, this.freeSlots] = slotArrays(initialCapacity);
    this.fns = new Array<EventCallback | undefined>(initialCapacity).fill(undefined);
    for (let i = initialCapacity - 1; i >= 0; i--) this.freeSlots[this.freeTop++] = i;
  }

  get length(): number {
    return this.size;
  }

  /** Events pushed so far: the next sequence number. */
  get pushed(): number {
    return this.seq;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const [times, keys, args, heap, free] = slotArrays(cap);
    times.set(this.times);
    keys.set(this.keys);
    args.set(this.args);
    heap.set(this.heap);
    free.set(this.freeSlots.subarray(0, this.freeTop));
    for (let i = cap - 1; i >= old; i--) free[this.freeTop++] = i;
    for (let i = old; i < cap; i++) this.fns.push(undefined);
    this.heap = heap;
    this.times = times;
    this.keys = keys;
    this.args = args;
    this.freeSlots = free;
    this.capacity = cap;
  }

  /** Adds an event at absolute time `time` (the caller has validated it). */
  push(time: number, priority: number, fn: EventCallback, arg: number): void {
    if (this.freeTop === 0) this.grow();
    const slot = this.freeSlots[--this.freeTop]!;
    this.times[slot] = time;
    const key = priority * SEQ_SPAN + this.seq++;
    this.keys[slot] = key;
    this.fns[slot] = fn;
    this.args[slot] = arg;
    // sift up
    const heap = this.heap;
    const times = this.times;
    const keys = this.keys;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      const pt = times[p]!;
      if (pt < time || (pt === time && keys[p]! < key)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.times[this.heap[0]!]!;
  }

  /**
   * Removes the earliest event and returns its slot; read it with `slotTime`, `slotFn`,
   * `slotArg`, then give the slot back with `release`. Returns -1 when empty.
   */
  pop(): number {
    if (this.size === 0) return -1;
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap[--this.size]!;
    const n = this.size;
    if (n > 0) {
      const times = this.times;
      const keys = this.keys;
      const lt = times[last]!;
      const lk = keys[last]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        let cs = heap[c]!;
        let ct = times[cs]!;
        const r = c + 1;
        if (r < n) {
          const rs = heap[r]!;
          const rt = times[rs]!;
          if (rt < ct || (rt === ct && keys[rs]! < keys[cs]!)) {
            c = r;
            cs = rs;
            ct = rt;
          }
        }
        if (lt < ct || (lt === ct && lk < keys[cs]!)) break;
        heap[i] = cs;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }

  slotTime(slot: number): number {
    return this.times[slot]!;
  }
  slotFn(slot: number): EventCallback {
    return this.fns[slot]!;
  }
  slotArg(slot: number): number {
    return this.args[slot]!;
  }
  release(slot: number): void {
    this.fns[slot] = undefined;
    this.freeSlots[this.freeTop++] = slot;
  }

  // ------------------------------------------------------------ exploration (explore/)
  // An explorer fires pending events in an order of its choosing rather than by time. These
  // two methods let it list the queue and take one event out of the middle; the timed engine
  // never calls them.

  /** The slot at heap position `i` (0 ≤ i < length). Heap order, not time order. */
  slotAt(i: number): number {
    return this.heap[i]!;
  }

  /** Removes a queued slot wherever it sits in the heap; give it back with `release`. */
  remove(slot: number): void {
    const heap = this.heap;
    let i = -1;
    for (let j = 0; j < this.size; j++)
      if (heap[j] === slot) {
        i = j;
        break;
      }
    if (i < 0) throw new Error(`event slot ${slot} is not queued`);
    const last = heap[--this.size]!;
    if (i === this.size) return;
    heap[i] = last;
    // the moved slot may belong above or below position i
    const times = this.times;
    const keys = this.keys;
    const less = (a: number, b: number): boolean =>
      times[a]! < times[b]! || (times[a] === times[b] && keys[a]! < keys[b]!);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && less(heap[l]!, heap[m]!)) m = l;
      if (r < this.size && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
