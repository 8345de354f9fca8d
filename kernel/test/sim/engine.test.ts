import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  InvalidYieldError,
  ParameterError,
  Priority,
  Simulation,
  SimEvent,
  runRest,
  spin,
  waitFor,
  type Kfn,
  type KfnOrDone,
} from "../../src/sim/index.js";

describe("event order", () => {
  it("runs equal timestamps by priority, then in scheduling order", () => {
    const sim = new Simulation();
    const seen: string[] = [];
    sim.schedule(10, () => seen.push("normal-1"));
    sim.schedule(10, () => seen.push("late"), Priority.LATE);
    sim.schedule(10, () => seen.push("urgent"), Priority.URGENT);
    sim.schedule(10, () => seen.push("normal-2"));
    sim.schedule(5, () => seen.push("earlier"), Priority.LATE);
    sim.run();
    expect(seen).toEqual(["earlier", "urgent", "normal-1", "normal-2", "late"]);
    expect(sim.now).toBe(10);
  });

  it("pops any random schedule in (time, priority, sequence) order", () => {
    const ev = fc.record({
      delay: fc.integer({ min: 0, max: 1000 }),
      prio: fc.integer({ min: 0, max: 127 }),
    });
    fc.assert(
      fc.property(
        fc.array(ev, { maxLength: 300 }),
        fc.array(ev, { maxLength: 50 }),
        (first, nested) => {
          const sim = new Simulation();
          const fired: { t: number; prio: number; seq: number }[] = [];
          let seq = 0;
          const add = (delay: number, prio: number, spawn: boolean) => {
            const s = seq++;
            sim.schedule(
              delay,
              () => {
                fired.push({ t: sim.now, prio, seq: s });
                // events scheduled from inside events keep the same rules
                if (spawn) for (const n of nested.splice(0, 2)) add(n.delay, n.prio, false);
              },
              prio,
            );
          };
          for (const e of first) add(e.delay, e.prio, true);
          sim.run();
          for (let i = 1; i < fired.length; i++) {
            const a = fired[i - 1]!;
            const b = fired[i]!;
            // time never goes back
            expect(b.t).toBeGreaterThanOrEqual(a.t);
            // among events scheduled before either fired, the order is (time, prio, seq)
            if (a.t === b.t && a.prio === b.prio && b.seq < a.seq) {
              // b was scheduled earlier but fired later at the same (t, prio): only possible if
              // b was scheduled after a fired — impossible since seq is assigned at scheduling
              throw new Error(`FIFO broken at t=${a.t}`);
            }
            if (a.t === b.t && b.prio < a.prio) {
              // a lower priority value fired after a higher one at the same time: only allowed if
              // b was scheduled by an event at that time (after a was already popped)
              expect(b.seq).toBeGreaterThan(a.seq);
            }
          }
          expect(fired.length).toBe(seq);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never moves time past `until` and resumes where it stopped", () => {
    const sim = new Simulation();
    const seen: number[] = [];
    for (const t of [5, 15, 25]) sim.schedule(t, () => seen.push(sim.now));
    expect(sim.run({ until: 20 }).reason).toBe("until");
    expect(sim.now).toBe(20);
    expect(seen).toEqual([5, 15]);
    sim.run();
    expect(seen).toEqual([5, 15, 25]);
  });
});

describe("the engine's step, in every loop", () => {
  it("stops where until and maxEvents say, across its runs of 64, and counts every event", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 300 }),
        fc.array(
          fc.record({
            until: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
            maxEvents: fc.option(fc.integer({ min: 1, max: 150 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (times, runs) => {
          const sim = new Simulation({ trace: false });
          const ran: number[] = [];
          times.forEach((t, i) => sim.schedule(t, () => ran.push(i)));
          // the reference: every event in (time, scheduling order), the checks before each one
          const order = times
            .map((t, i) => [t, i] as const)
            .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          let k = 0;
          let now = 0;
          for (const { until, maxEvents } of runs) {
            const u = until === undefined ? undefined : Math.max(until, now);
            const r = sim.run({
              ...(u === undefined ? {} : { until: u }),
              ...(maxEvents === undefined ? {} : { maxEvents }),
            });
            let events = 0;
            let reason = "idle";
            for (;;) {
              if (k === order.length) break;
              if (u !== undefined && order[k]![0] > u) {
                reason = "until";
                break;
              }
              if (maxEvents !== undefined && events >= maxEvents) {
                reason = "event-budget";
                break;
              }
              now = order[k++]![0];
              events++;
            }
            if (reason === "until") now = u!;
            expect(r).toEqual({ now, events, reason });
          }
          expect(ran).toEqual(order.slice(0, k).map(([, i]) => i));
          expect(sim.eventsFired).toBe(k);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("counts the event that threw and carries on after it, in run, runUntilDone and fire", () => {
    const sim = new Simulation({ trace: false });
    const log: string[] = [];
    sim.schedule(1, () => log.push("a"));
    sim.schedule(2, () => {
      throw new Error("boom");
    });
    sim.schedule(3, () => log.push("c"));
    expect(() => sim.run()).toThrow("boom");
    expect(sim.eventsFired).toBe(2);
    expect(sim.now).toBe(2);
    expect(sim.run()).toEqual({ now: 3, events: 1, reason: "idle" });
    expect(sim.eventsFired).toBe(3);

    const p = sim.process(
      "p",
      (function* (): Kfn<number> {
        yield 5;
        return 7;
      })(),
    );
    sim.schedule(1, () => {
      throw new Error("bang");
    });
    expect(() => sim.runUntilDone(p)).toThrow("bang"); // p's start, then the throw
    expect(sim.eventsFired).toBe(5);
    expect(sim.runUntilDone(p)).toBe(7);
    expect(sim.eventsFired).toBe(6);
    expect(log).toEqual(["a", "c"]);

    const ex = new Simulation({ trace: false });
    ex.beginExploration();
    ex.schedule(
      4,
      () => {
        throw new Error("fired");
      },
      Priority.NORMAL,
      0,
      "bad",
    );
    ex.schedule(9, () => log.push("ok"), Priority.NORMAL, 0, "good");
    const bad = ex.pendingEvents().find((e) => e.label === "bad")!;
    expect(() => ex.fire(bad)).toThrow("fired");
    expect(ex.eventsFired).toBe(1);
    expect(ex.now).toBe(0);
    const pending = ex.pendingEvents();
    expect(pending.map((e) => e.label)).toEqual(["good"]);
    ex.fire(pending[0]!);
    expect(ex.eventsFired).toBe(2);
    expect(log).toEqual(["a", "c", "ok"]);
    expect(ex.run()).toEqual({ now: 0, events: 0, reason: "idle" });
  });
});

describe("a device's own next event (fastEvent)", () => {
  /** A device that re-arms itself at drawn intervals among other timers (some at the same
   * instants, of every priority) and a process; with `fast` its next event runs inside the one
   * that would have queued it whenever nothing else is due first. */
  function run(seed: number, fast: boolean, until?: number): string[] {
    const sim = new Simulation({ seed, trace: false });
    const log: string[] = [];
    const draws = sim.rng.fork();
    let fired = 0;
    const device = (): void => {
      for (;;) {
        log.push(`dev@${sim.now}`);
        if (++fired >= 200) return;
        const d = 1 + Math.floor(draws.float() * 40);
        if (!fast || !sim.fastEvent(sim.now + d)) {
          sim.schedule(d, device);
          return;
        }
      }
    };
    sim.schedule(3, device);
    for (let i = 0; i < 60; i++) {
      const t = 1 + Math.floor(sim.rng.float() * 2000);
      const pr = [Priority.URGENT, Priority.NORMAL, Priority.LATE][i % 3]!;
      sim.schedule(t, () => log.push(`timer${i}@${sim.now}`), pr);
    }
    sim.process(
      "p",
      (function* (): Kfn<void> {
        for (let i = 0; i < 50; i++) {
          log.push(`p@${sim.now}`);
          yield 7 + (i % 13);
        }
      })(),
    );
    const r1 = sim.run(until === undefined ? {} : { until });
    const r2 = sim.run();
    log.push(`events ${r1.events} ${r2.events} ${sim.eventsFired} now ${sim.now}`);
    return log;
  }

  it("runs the same events in the same order at the same times, and counts them", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        (seed, until) => {
          expect(run(seed, true, until)).toEqual(run(seed, false, until));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("is taken: some of the device's events run inside an earlier one", () => {
    const sim = new Simulation({ trace: false });
    let n = 0;
    const device = (): void => {
      while (++n < 10 && sim.fastEvent(sim.now + 5));
      if (n < 10) sim.schedule(5, device);
    };
    sim.schedule(1, device);
    sim.schedule(23, () => undefined);
    const r = sim.run();
    expect(n).toBe(10);
    expect(sim.fastSteps).toBeGreaterThan(0);
    expect(r.events).toBe(11);
  });
});

describe("per-simulation state", () => {
  it("makes one value per key and simulation", () => {
    const key = Symbol("k");
    const a = new Simulation();
    const b = new Simulation();
    const made = (): { n: number } => ({ n: 0 });
    const x = a.perSimulation(key, made);
    x.n = 3;
    expect(a.perSimulation(key, made).n).toBe(3);
    expect(b.perSimulation(key, made).n).toBe(0);
    expect(a.perSimulation(Symbol("other"), made)).not.toBe(x);
  });
});

describe("processes", () => {
  it("spend time, spin on a signal, and wait for events", () => {
    const sim = new Simulation();
    const flag = sim.signal("flag");
    let ready = false;
    const ev = sim.event<string>("ev");
    const log: string[] = [];
    sim.process(
      "waiter",
      (function* (): Kfn<void> {
        yield spin(flag, () => ready);
        log.push(`spun-until@${sim.now}`);
        const v = (yield waitFor(ev)) as string;
        log.push(`${v}@${sim.now}`);
      })(),
    );
    sim.process(
      "setter",
      (function* (): Kfn<void> {
        yield 100;
        ready = true;
        flag.notify();
        yield 50;
        ev.succeed("event");
      })(),
    );
    sim.run();
    expect(log).toEqual(["spun-until@100", "event@150"]);
  });

  it("waits for another process and receives its result", () => {
    const sim = new Simulation();
    const child = sim.process(
      "child",
      (function* (): Kfn<number> {
        yield 42;
        return 7;
      })(),
    );
    const parent = sim.process(
      "parent",
      (function* (): Kfn<number> {
        const r = (yield child) as number;
        return r * sim.now;
      })(),
    );
    expect(sim.runUntilDone(parent)).toBe(7 * 42);
  });

  it("wakes every waiter of an event in the order they waited, each with the event's value", () => {
    const sim = new Simulation();
    const ev = new SimEvent<string>("go");
    const woke: string[] = [];
    for (const name of ["a", "b", "c"])
      sim.process(
        name,
        (function* (): Kfn<void> {
          const v = (yield waitFor(ev)) as string;
          woke.push(`${name}:${v}@${sim.now}`);
        })(),
      );
    const seen: string[] = [];
    ev.then((v, e) => seen.push(`${e.name}=${v}`));
    sim.schedule(5, () => ev.succeed("x"));
    sim.run();
    expect(woke).toEqual(["a:x@5", "b:x@5", "c:x@5"]);
    expect(seen).toEqual(["go=x"]);
    // a callback added after the trigger runs at once, with the event too
    ev.then((v, e) => seen.push(`late ${e.name}=${v}`));
    expect(seen).toEqual(["go=x", "late go=x"]);
  });

  it("runs what a plain-call step left: nothing, a time, or the rest of a path", () => {
    const sim = new Simulation();
    const log: string[] = [];
    const rest = (tag: string): Kfn<void> =>
      (function* (): Kfn<void> {
        yield 10;
        log.push(`${tag}@${sim.now}`);
        yield 5;
      })();
    // what each step leaves: nothing, a time, or (made afresh for each process) a path
    const steps: (number | null | "path")[] = [null, 30, null, "path", 0, 30, "path", null];
    // two processes at once: what one's step left is not shared with the other's
    for (const name of ["p", "q"])
      sim.process(
        name,
        (function* (): Kfn<void> {
          for (const s of steps) {
            const left: KfnOrDone = s === "path" ? rest(name) : s;
            yield* runRest(left);
            log.push(`${name}:${sim.now}`);
          }
        })(),
      );
    const p = sim.process(
      "suspended",
      (function* (): Kfn<void> {
        yield* runRest(100);
        log.push(`suspended:${sim.now}`);
      })(),
    );
    sim.schedule(40, () => p.suspend());
    sim.schedule(90, () => p.unsuspend());
    sim.run();
    // null: no time; 30: one delay of 30; a path: its own yields; a 0 still yields once
    expect(log.filter((l) => l.startsWith("p:"))).toEqual([
      "p:0",
      "p:30",
      "p:30",
      "p:45",
      "p:45",
      "p:75",
      "p:90",
      "p:90",
    ]);
    expect(log.filter((l) => l.startsWith("q:"))).toEqual(
      log.filter((l) => l.startsWith("p:")).map((l) => `q${l.slice(1)}`),
    );
    // the time a step left is suspended with the process and kept (40 ran, 60 remained)
    expect(log).toContain("suspended:150");
  });

  it("keeps a suspended delay's remaining time", () => {
    const sim = new Simulation();
    const p = sim.process(
      "p",
      (function* (): Kfn<void> {
        yield 1000;
      })(),
    );
    sim.schedule(300, () => p.suspend());
    sim.schedule(800, () => p.unsuspend());
    sim.run();
    // 300 ns ran, 500 ns suspended, 700 ns remained
    expect(sim.now).toBe(1500);
    expect(p.finished).toBe(true);
  });

  it("does not resume a process past its wait when it was suspended and let go in its own step", () => {
    // A task that wakes onto a stalled CPU is suspended by its own wake-up (Cpu.setTask); when
    // it then blocks in the same step the CPU lets it go again. It never stopped: its next
    // yield — a wait for another task's exit — must hold until that event fires.
    const sim = new Simulation();
    const exit = new SimEvent<void>("child exit");
    const passed: number[] = [];
    const p = sim.process(
      "parent",
      (function* (): Kfn<void> {
        yield 10;
        const p = sim.current!;
        p.suspend();
        p.unsuspend();
        yield waitFor(exit);
        passed.push(sim.now);
        // and a delay after a nested self-suspension keeps its length
        p.suspend();
        p.suspend();
        p.unsuspend();
        p.unsuspend();
        yield 50;
        passed.push(sim.now);
      })(),
    );
    sim.schedule(100, () => exit.succeed());
    sim.run();
    expect(passed).toEqual([100, 150]);
    expect(p.finished).toBe(true);
  });

  it("rejects what it cannot wait for, naming the process and the value", () => {
    const sim = new Simulation();
    sim.process(
      "bad",
      (function* (): Kfn<void> {
        yield -5;
      })(),
    );
    expect(() => sim.run()).toThrow(InvalidYieldError);
    const sim2 = new Simulation();
    sim2.process(
      "bad2",
      (function* () {
        yield "soon" as unknown as number;
      })(),
    );
    expect(() => sim2.run()).toThrow(/process "bad2" yielded "soon"/);
  });

  it("rejects negative or fractional delays and bad seeds with the parameter named", () => {
    const sim = new Simulation();
    expect(() => sim.schedule(-1, () => {})).toThrow(ParameterError);
    expect(() => sim.schedule(-1, () => {})).toThrow(
      /delay = -1 is not accepted; expected an integer >= 0/,
    );
    expect(() => sim.schedule(1.5, () => {})).toThrow(/delay = 1.5/);
    expect(() => new Simulation({ seed: -3 })).toThrow(/seed = -3/);
    // the failed calls left nothing behind
    expect(sim.queue.length).toBe(0);
  });
});

describe("determinism", () => {
  /** Two processes racing with random think times; returns the order they reached a point. */
  function race(seed: number): string {
    const sim = new Simulation({ seed });
    const order: string[] = [];
    for (const name of ["a", "b", "c"]) {
      sim.process(
        name,
        (function* (): Kfn<void> {
          for (let i = 0; i < 5; i++) {
            yield sim.rng.int(1, 100);
            order.push(name);
            sim.trace.instant(0, "test:step", { name });
          }
        })(),
      );
    }
    sim.run();
    return JSON.stringify(sim.trace.toChrome()) + order.join("");
  }

  it("gives identical traces for the same seed", () => {
    expect(race(1234)).toBe(race(1234));
  });

  it("gives a different interleaving for some other seed", () => {
    const base = race(1);
    const others = [2, 3, 4, 5, 6].map(race);
    expect(others.some((o) => o !== base)).toBe(true);
  });
});
