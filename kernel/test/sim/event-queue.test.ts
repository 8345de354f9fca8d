/**
 * The event queue's two structures (the near wheel and the heap, sim/event-queue.ts) must pop
 * events in exactly the one (time, priority, sequence) order, whichever holds what: the engine's
 * results are a pure function of that order. Listing and removing events (the explorer's hooks)
 * on both: kernel/test/explore/engine-hooks.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventQueue, WHEEL_MIN_QUEUED, WHEEL_NS } from "../../src/sim/event-queue.js";

interface Queued {
  t: number;
  p: number;
  i: number;
}

const byOrder = (a: Queued, b: Queued): number => a.t - b.t || a.p - b.p || a.i - b.i;

/** Pushes at `now + delay` and pops, as the engine does (never before the last event taken). */
const op = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("push" as const),
      // mostly within the wheel's span, some far beyond it, many on the same nanosecond
      delay: fc.oneof(
        fc.nat(8),
        fc.nat(WHEEL_NS - 1),
        // the wheel's far end, which shares its lists' bitmap word with the near end
        fc.integer({ min: WHEEL_NS - 40, max: WHEEL_NS + 4 }),
        fc.integer({ min: WHEEL_NS - 40, max: WHEEL_NS - 1 }),
        fc.integer({ min: 32, max: 100 }),
        fc.nat(20 * WHEEL_NS),
      ),
      p: fc.constantFrom(0, 1, 64, 64, 64, 127),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("pop" as const) }) },
);

describe("EventQueue", () => {
  it("pops in (time, priority, sequence) order through the wheel and the heap", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 400 }), fc.nat(2 ** 40), (ops, start) => {
        const q = new EventQueue(4);
        const fn = (): void => {};
        const pending: Queued[] = [];
        let now = start;
        let i = 0;
        for (const o of ops) {
          if (o.kind === "push") {
            q.push(now + o.delay, o.p, fn, i);
            pending.push({ t: now + o.delay, p: o.p, i: i++ });
          } else if (pending.length > 0) {
            pending.sort(byOrder);
            const want = pending.shift()!;
            expect(q.peekTime()).toBe(want.t);
            const s = q.pop();
            expect(q.slotArg(s)).toBe(want.i);
            expect(q.slotTime(s)).toBe(want.t);
            now = want.t;
            q.release(s);
          }
          expect(q.length).toBe(pending.length);
        }
        pending.sort(byOrder);
        for (const want of pending) {
          const s = q.pop();
          expect(q.slotArg(s)).toBe(want.i);
          q.release(s);
        }
        expect(q.pop()).toBe(-1);
        expect(q.peekTime()).toBe(Number.POSITIVE_INFINITY);
      }),
      { numRuns: 300 },
    );
  });

  it("finds the earliest list round the wheel past lists that share the current bitmap word", () => {
    const q = new EventQueue(4);
    const fn = (): void => {};
    // enough events far away that the next ones go to the wheel
    for (let i = 0; i < WHEEL_MIN_QUEUED; i++) q.push(50 * WHEEL_NS + i, 64, fn, -1);
    q.push(100, 64, fn, 100);
    q.push(300, 64, fn, 2);
    q.release(q.pop()); // the last event taken is now at t = 100; the wheel's next is not known
    // 1,020 ns ahead: its list is in the same 32-list word as t = 100's, below it; and t = 200
    q.push(100 + WHEEL_NS - 4, 64, fn, 3);
    q.push(200, 64, fn, 1);
    expect(q.peekTime()).toBe(200);
    for (const [arg, t] of [
      [1, 200],
      [2, 300],
      [3, 100 + WHEEL_NS - 4],
    ]) {
      const s = q.pop();
      expect([q.slotArg(s), q.slotTime(s)]).toEqual([arg, t]);
      q.release(s);
    }
  });

  it("takes out the wheel's earliest event and still pops the rest in order", () => {
    const q = new EventQueue(4);
    const fn = (): void => {};
    for (let i = 0; i < WHEEL_MIN_QUEUED; i++) q.push(50 * WHEEL_NS + i, 64, fn, 100 + i);
    q.push(30, 64, fn, 1);
    q.push(10, 64, fn, 0);
    q.push(20, 64, fn, 2);
    // the earliest, first of its nanosecond's list, and the wheel's cached head
    const first = Array.from({ length: q.length }, (_, k) => q.slotAt(k)).find(
      (s) => q.slotArg(s) === 0,
    )!;
    q.remove(first);
    q.release(first);
    const popped: number[] = [];
    while (q.length > 0) {
      const s = q.pop();
      popped.push(q.slotArg(s));
      q.release(s);
    }
    expect(popped).toEqual([2, 1, ...Array.from({ length: WHEEL_MIN_QUEUED }, (_, i) => 100 + i)]);
  });

  it("keeps every event in the heap, in heap order, once set heap-only (exploration mode)", () => {
    const q = new EventQueue(4);
    const fn = (): void => {};
    q.push(1, 64, fn, 0);
    expect(() => q.heapOnly()).toThrow(/not empty/);
    q.release(q.pop());
    q.heapOnly();
    // a heap's first position is always its earliest event, whatever else is queued
    for (let i = 0; i < 3 * WHEEL_MIN_QUEUED; i++) q.push(100 - i, 64, fn, i);
    expect(q.slotArg(q.slotAt(0))).toBe(3 * WHEEL_MIN_QUEUED - 1);
  });
});
