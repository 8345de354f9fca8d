/**
 * The event queue: events in (time, priority, sequence) order.
 *
 * SimPy's rule carried over: only the engine's step moves time, and the sequence number breaks
 * every tie, so two runs that schedule the same events in the same order pop them in the same
 * order. Every slot keeps its time, order key, callback and argument in flat arrays so that
 * scheduling and popping allocate nothing in the steady state (the engine benchmark asks for ten
 * million events a second).
 *
 * Two structures hold the events, and `pop` takes the earlier of their two heads, so the order is
 * the one total order above whichever holds what:
 * - the near wheel: one list per nanosecond for the {@link WHEEL_NS} ns from the last event taken,
 *   each list in order key order, and a bitmap of the lists in use. A kernel step's cost is
 *   mostly well under a microsecond, so most events land here, at a constant cost to add and
 *   to take instead of a heap's log n.
 * - a binary min-heap for everything later (ticks, long delays), and for every event in
 *   exploration mode (`heapOnly`), where an explorer lists the queue in heap order.
 * Why: docs/benchmarks.md, "The engine's event queue".
 */

/** Called when the event fires. `arg` lets one long-lived callback serve many events (a process
 * resumes with its epoch as the argument and ignores stale wake-ups). */
export type EventCallback = (arg: number) => void;

/** Largest priority: priority and sequence share one float64 order key (priority × 2^44 + seq). */
export const MAX_PRIORITY = 127;
const SEQ_SPAN = 2 ** 44;

/** The near wheel's span, ns (a power of two, at least 1,024): one list per nanosecond. */
export const WHEEL_NS = 1024;
const WHEEL_MASK = WHEEL_NS - 1;
const WHEEL_WORDS = WHEEL_NS >> 5;
const SUMMARY_WORDS = WHEEL_WORDS >> 5;
/** Events queued before the wheel takes any: a heap this shallow (four levels) costs less than
 * the wheel's bookkeeping, and a race trial's queue rarely holds more. */
export const WHEEL_MIN_QUEUED = 16;

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowBit(w: number): number {
  return 31 - Math.clz32(w & -w);
}

/**
 * The six per-slot arrays as views on one ArrayBuffer. A typed array over 64 bytes gets its own
 * off-heap backing store, allocated with malloc and freed by a background sweeper task after the
 * collection that finds it dead; a short simulation (a race trial) paid that for each of them.
 */
function slotArrays(
  cap: number,
): [
  times: Float64Array,
  keys: Float64Array,
  args: Float64Array,
  heap: Int32Array,
  free: Int32Array,
  next: Int32Array,
] {
  const buf = new ArrayBuffer(cap * 36);
  return [
    new Float64Array(buf, 0, cap),
    new Float64Array(buf, cap * 8, cap),
    new Float64Array(buf, cap * 16, cap),
    new Int32Array(buf, cap * 24, cap),
    new Int32Array(buf, cap * 28, cap),
    new Int32Array(buf, cap * 32, cap),
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
  /** Whether the near wheel takes events (off in exploration mode). */
  private wheelOn = true;
  /** Time of the last event taken: the wheel holds events at [base, base + WHEEL_NS). Only grows. */
  private base = 0;
  /** Per nanosecond of the wheel: first slot of its list, plus one (0: empty). Allocated with the
   * first event that needs it, with the bitmaps: a set-up that only explores never does. */
  private heads: Int32Array | null = null;
  /** Per nanosecond of the wheel: last slot of its list, plus one (0: empty). */
  private tails: Int32Array | null = null;
  /** Per wheel list, one bit: in use. */
  private bits: Int32Array | null = null;
  /** Per word of `bits`, one bit: not zero. */
  private summary: Int32Array | null = null;
  /** Per slot on the wheel: the next slot of its list, plus one (0: last). */
  private next: Int32Array;
  private wheelCount = 0;
  /** The wheel's earliest slot: -1 when the wheel is empty, -2 when not known yet. */
  private wheelMin = -1;

  constructor(initialCapacity = 1024) {
    this.capacity = initialCapacity;
    [this.times, this.keys, this.args, this.heap, this.freeSlots, this.next] =
      slotArrays(initialCapacity);
    this.fns = new Array<EventCallback | undefined>(initialCapacity).fill(undefined);
    for (let i = initialCapacity - 1; i >= 0; i--) this.freeSlots[this.freeTop++] = i;
  }

  get length(): number {
    return this.size + this.wheelCount;
  }

  /** Events pushed so far: the next sequence number. */
  get pushed(): number {
    return this.seq;
  }

  /**
   * From now on every event goes to the heap, whose order `slotAt` lists (exploration mode: an
   * explorer sees the queue in the heap order it always has). Only on an empty queue.
   */
  heapOnly(): void {
    if (this.length !== 0) throw new Error("EventQueue.heapOnly: the queue is not empty");
    this.wheelOn = false;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const [times, keys, args, heap, free, next] = slotArrays(cap);
    times.set(this.times);
    keys.set(this.keys);
    args.set(this.args);
    heap.set(this.heap);
    next.set(this.next);
    free.set(this.freeSlots.subarray(0, this.freeTop));
    for (let i = cap - 1; i >= old; i--) free[this.freeTop++] = i;
    for (let i = old; i < cap; i++) this.fns.push(undefined);
    this.heap = heap;
    this.times = times;
    this.keys = keys;
    this.args = args;
    this.next = next;
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
    // a short queue (a race trial's) is decided by the first test
    if (
      this.size + this.wheelCount >= WHEEL_MIN_QUEUED &&
      time - this.base < WHEEL_NS &&
      time >= this.base &&
      this.wheelOn
    )
      this.wheelAdd(slot, time, key);
    else this.heapAdd(slot, time, key);
  }

  private wheelAdd(slot: number, time: number, key: number): void {
    if (this.heads === null) {
      this.heads = new Int32Array(WHEEL_NS);
      this.tails = new Int32Array(WHEEL_NS);
      this.bits = new Int32Array(WHEEL_WORDS);
      this.summary = new Int32Array(SUMMARY_WORDS);
    }
    const heads = this.heads;
    const tails = this.tails!;
    const next = this.next;
    const keys = this.keys;
    const b = time & WHEEL_MASK;
    // the list is one nanosecond, kept in key order; a later push usually goes last
    const last = tails[b]!;
    next[slot] = 0;
    if (last === 0) {
      heads[b] = tails[b] = slot + 1;
      this.bits![b >> 5]! |= 1 << (b & 31);
      this.summary![b >> 10]! |= 1 << ((b >> 5) & 31);
    } else if (keys[last - 1]! < key) {
      next[last - 1] = tails[b] = slot + 1;
    } else {
      let prev = 0;
      let cur = heads[b]!;
      while (keys[cur - 1]! < key) {
        prev = cur;
        cur = next[cur - 1]!;
      }
      next[slot] = cur;
      if (prev === 0) heads[b] = slot + 1;
      else next[prev - 1] = slot + 1;
    }
    this.wheelCount++;
    const m = this.wheelMin;
    if (m === -1) this.wheelMin = slot;
    else if (m >= 0) {
      const mt = this.times[m]!;
      if (time < mt || (time === mt && key < keys[m]!)) this.wheelMin = slot;
    }
  }

  private heapAdd(slot: number, time: number, key: number): void {
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

  /** The wheel's earliest slot (the wheel is not empty). */
  private wheelFirst(): number {
    if (this.wheelMin >= 0) return this.wheelMin;
    const bits = this.bits!;
    const summary = this.summary!;
    // the first list in use from `base` on, round the wheel: every event on it is within
    // WHEEL_NS of base, so that is the earliest time
    const p = this.base & WHEEL_MASK;
    let w = p >> 5;
    let m = bits[w]! & (-1 << (p & 31));
    if (m === 0) {
      // the next word in use after w, round the wheel (back to w itself, its lower bits)
      let found = -1;
      let sw = w >> 5;
      let sm = summary[sw]! & ((-2 << (w & 31)) | 0);
      for (let n = 0; n <= SUMMARY_WORDS; n++) {
        if (sm !== 0) {
          found = (sw << 5) + lowBit(sm);
          break;
        }
        sw = sw + 1 === SUMMARY_WORDS ? 0 : sw + 1;
        sm = summary[sw]!;
      }
      w = found;
      m = bits[w]!;
    }
    const slot = this.heads![(w << 5) + lowBit(m)]! - 1;
    this.wheelMin = slot;
    return slot;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    const h = this.size === 0 ? Number.POSITIVE_INFINITY : this.times[this.heap[0]!]!;
    if (this.wheelCount === 0) return h;
    const w = this.times[this.wheelFirst()]!;
    return w < h ? w : h;
  }

  /**
   * Removes the earliest event and returns its slot; read it with `slotTime`, `slotFn`,
   * `slotArg`, then give the slot back with `release`. Returns -1 when empty.
   */
  pop(): number {
    if (this.wheelCount !== 0) {
      const ws = this.wheelFirst();
      if (this.size !== 0) {
        const hs = this.heap[0]!;
        const ht = this.times[hs]!;
        const wt = this.times[ws]!;
        if (ht < wt || (ht === wt && this.keys[hs]! < this.keys[ws]!)) return this.heapPop();
      }
      this.wheelUnlinkFirst(ws);
      const t = this.times[ws]!;
      if (t > this.base) this.base = t;
      return ws;
    }
    return this.heapPop();
  }

  /** Takes `slot`, the first of its list, off the wheel. */
  private wheelUnlinkFirst(slot: number): void {
    const b = this.times[slot]! & WHEEL_MASK;
    const heads = this.heads!;
    const rest = this.next[slot]!;
    heads[b] = rest;
    if (rest === 0) this.tails![b] = 0;
    this.wheelCount--;
    if (rest !== 0) {
      this.wheelMin = rest - 1;
      return;
    }
    this.wheelMin = this.wheelCount === 0 ? -1 : -2;
    const bits = this.bits!;
    const w = b >> 5;
    if ((bits[w]! &= ~(1 << (b & 31))) === 0) this.summary![w >> 5]! &= ~(1 << (w & 31));
  }

  private heapPop(): number {
    if (this.size === 0) return -1;
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap[--this.size]!;
    const n = this.size;
    const times = this.times;
    if (n > 0) {
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
    const t = times[top]!;
    if (t > this.base && this.wheelOn) this.base = t;
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
  // never calls them. In exploration mode (`heapOnly`) every event is in the heap.

  /** The slot at position `i` (0 ≤ i < length): the heap in heap order, not time order, then
   * the wheel's events. */
  slotAt(i: number): number {
    if (i < this.size) return this.heap[i]!;
    let k = i - this.size;
    const heads = this.heads!;
    for (let b = 0; b < WHEEL_NS; b++)
      for (let s = heads[b]!; s !== 0; s = this.next[s - 1]!) if (k-- === 0) return s - 1;
    throw new Error(`no event at queue position ${i}`);
  }

  /** Removes a queued slot wherever it sits; give it back with `release`. */
  remove(slot: number): void {
    const heap = this.heap;
    let i = -1;
    for (let j = 0; j < this.size; j++)
      if (heap[j] === slot) {
        i = j;
        break;
      }
    if (i < 0) {
      this.wheelRemove(slot);
      return;
    }
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

  private wheelRemove(slot: number): void {
    const b = this.times[slot]! & WHEEL_MASK;
    const heads = this.heads;
    const first = heads === null ? 0 : heads[b]!;
    if (first === slot + 1) {
      const min = this.wheelMin;
      this.wheelUnlinkFirst(slot);
      // the list's next event is the wheel's earliest only if this one was
      if (min !== slot) this.wheelMin = min;
      return;
    }
    for (let prev = first; prev !== 0; prev = this.next[prev - 1]!)
      if (this.next[prev - 1] === slot + 1) {
        this.next[prev - 1] = this.next[slot]!;
        if (this.tails![b] === slot + 1) this.tails![b] = prev;
        this.wheelCount--;
        // not the first of its list, so not the wheel's earliest: wheelMin stands
        return;
      }
    throw new Error(`event slot ${slot} is not queued`);
  }
}
