/**
 * The engine's exploration mode (sim/): listing pending events, firing one out of time order,
 * dropping stale process wake-ups, labels for plain events. The timed engine's own behaviour is
 * covered by kernel/test/sim; these hooks must leave it alone.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/hw/machine.js";
import { EventQueue, WHEEL_NS } from "../../src/sim/event-queue.js";
import { MmulabError } from "../../src/sim/errors.js";
import { Simulation, type PendingEvent } from "../../src/sim/simulation.js";
import type { Kfn } from "../../src/sim/process.js";

describe("EventQueue.remove", () => {
  it("takes any event out and leaves the rest in (time, priority, sequence) order", () => {
    fc.assert(
      fc.property(
        // past WHEEL_MIN_QUEUED events, those within WHEEL_NS go to the queue's near wheel
        fc.array(fc.record({ t: fc.oneof(fc.nat(50), fc.nat(3 * WHEEL_NS)), p: fc.nat(127) }), {
          minLength: 1,
          maxLength: 120,
        }),
        // a position counted from either end: the wheel's events are listed after the heap's
        fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 60 }),
        (events, removals) => {
          const q = new EventQueue(4);
          const fn = (): void => {};
          events.forEach((e, i) => q.push(e.t, e.p, fn, i));
          // every event is listed once, wherever it is held
          const listed = Array.from({ length: q.length }, (_, k) => q.slotArg(q.slotAt(k)));
          expect([...listed].sort((a, b) => a - b)).toEqual(events.map((_, i) => i));
          const removed = new Set<number>();
          for (const [fromEnd, r] of removals) {
            if (q.length === 0) break;
            const slot = q.slotAt(fromEnd ? q.length - 1 - (r % q.length) : r % q.length);
            removed.add(q.slotArg(slot));
            q.remove(slot);
            q.release(slot);
          }
          const popped: number[] = [];
          while (q.length > 0) {
            const s = q.pop();
            popped.push(q.slotArg(s));
            q.release(s);
          }
          const expected = events
            .map((e, i) => ({ ...e, i }))
            .filter((e) => !removed.has(e.i))
            .sort((a, b) => a.t - b.t || a.p - b.p || a.i - b.i)
            .map((e) => e.i);
          expect(popped).toEqual(expected);
        },
      ),
    );
  });
});

describe("Simulation exploration mode", () => {
  it("is refused before beginExploration, and on a queue that is not empty", () => {
    const sim = new Simulation({ trace: false });
    expect(() => sim.pendingEvents()).toThrow(MmulabError);
    sim.schedule(5, () => {});
    expect(() => sim.beginExploration()).toThrow(/still queued/);
  });

  it("fires the event the explorer picks, whatever its time; each yield is a scheduling point", () => {
    const sim = new Simulation({ trace: false });
    sim.beginExploration();
    const order: string[] = [];
    const proc = (name: string, delays: number[]): void => {
      sim.process(
        name,
        (function* (): Kfn<void> {
          for (const d of delays) {
            order.push(`${name}+${d}`);
            yield d;
          }
          order.push(`${name} done`);
        })(),
      );
    };
    proc("slow", [1_000_000, 1_000_000]);
    proc("fast", [1]);
    const pick = (name: string): void => {
      const ev = sim.pendingEvents().find((e: PendingEvent) => e.label === name);
      expect(ev, name).toBeDefined();
      sim.fire(ev!);
    };
    pick("slow");
    pick("slow"); // the long delay is only an order, and the explorer ignores it
    pick("fast");
    pick("fast");
    pick("slow");
    expect(order).toEqual(["slow+1000000", "slow+1000000", "fast+1", "fast done", "slow done"]);
    expect(sim.pendingEvents()).toEqual([]);
    expect(sim.trackedProcesses().every((p) => p.finished)).toBe(true);
  });

  it("drops a suspended process's stale wake-up and offers the new one after unsuspend", () => {
    const sim = new Simulation({ trace: false });
    sim.beginExploration();
    const p = sim.process(
      "p",
      (function* (): Kfn<void> {
        yield 10;
        yield 10;
      })(),
    );
    sim.fire(sim.pendingEvents()[0]!);
    expect(sim.pendingEvents().map((e) => e.label)).toEqual(["p"]);
    p.suspend();
    expect(sim.pendingEvents()).toEqual([]);
    expect(sim.queue.length).toBe(0);
    p.unsuspend();
    const evs = sim.pendingEvents();
    expect(evs.map((e) => [e.label, e.owner])).toEqual([["p", p]]);
  });

  it("labels IPI deliveries with vector, sender and target", () => {
    const sim = new Simulation({ trace: false });
    const m = new Machine(sim, { nrCpus: 3, costs: { jitter: 0 } });
    sim.beginExploration();
    m.sendIpi(m.cpu(0), [2], "CALL_FUNCTION_SINGLE");
    const evs = sim.pendingEvents();
    expect(evs.map((e) => [e.label, e.owner])).toEqual([
      ["ipi CALL_FUNCTION_SINGLE cpu0->cpu2", null],
    ]);
    sim.fire(evs[0]!);
    expect(m.cpu(2).stats.irqs.CALL_FUNCTION_SINGLE + m.cpu(2).pendingVectors.length).toBe(1);
  });

  it("keeps no labels outside exploration mode (the timed engine is unchanged)", () => {
    const sim = new Simulation({ trace: false });
    let fired = 0;
    sim.schedule(3, () => fired++, 64, 0, "ignored");
    sim.schedule(1, () => fired++);
    expect(sim.run().events).toBe(2);
    expect(fired).toBe(2);
    expect(sim.exploring).toBe(false);
  });
});
