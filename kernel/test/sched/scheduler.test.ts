/**
 * The CFS-like scheduler (sched/scheduler.ts): placement, fair sharing by vruntime, voluntary and
 * involuntary switch counts, idle balancing, affinity, sleeping in a kernel path, and its refusals.
 */
import { describe, expect, it } from "vitest";
import type { Cpu } from "../../src/hw/cpu.js";
import { Machine } from "../../src/hw/index.js";
import {
  Scheduler,
  schedScaleFactor,
  type SchedParams,
  type Task,
} from "../../src/sched/scheduler.js";
import { ParameterError, KernelStateError, Simulation, type Kfn } from "../../src/sim/index.js";

const MS = 1_000_000;

function setup(nrCpus: number, params: SchedParams = {}): { sim: Simulation; s: Scheduler } {
  const sim = new Simulation({ trace: false });
  const m = new Machine(sim, { nrCpus });
  return { sim, s: new Scheduler(m, params) };
}

/** A CPU-bound task: `ns` of user time; records when it finished. */
function cpuBound(ns: number, done: Map<string, number>, sim: Simulation) {
  return function* (t: Task): Kfn<void> {
    yield* t.user(ns);
    done.set(t.name, sim.now);
  };
}

describe("schedScaleFactor (SCHED_TUNABLESCALING_LOG)", () => {
  it("is 1 + ilog2(min(ncpus, 8))", () => {
    expect([1, 2, 3, 4, 6, 8, 16, 64].map(schedScaleFactor)).toEqual([1, 2, 2, 3, 3, 4, 4, 4]);
  });

  it("scales latency and min_granularity by it", () => {
    const { s } = setup(4, { latencyNs: 6 * MS, minGranularityNs: 750_000 });
    expect(s.latencyNs).toBe(18 * MS);
    expect(s.minGranularityNs).toBe(2_250_000);
  });
});

describe("sharing one CPU", () => {
  it("two CPU-bound tasks take turns by vruntime instead of running to completion", () => {
    const { sim, s } = setup(1);
    const done = new Map<string, number>();
    const a = s.spawn("a", cpuBound(30 * MS, done, sim));
    const b = s.spawn("b", cpuBound(30 * MS, done, sim));
    sim.run();
    // all the time is user time, split evenly, and nothing idles in between
    expect(a.stats.utime).toBe(30 * MS);
    expect(b.stats.utime).toBe(30 * MS);
    expect(sim.now).toBe(60 * MS);
    // interleaved: the first to finish does so late, after many involuntary switches each
    expect(Math.min(done.get("a")!, done.get("b")!)).toBeGreaterThan(50 * MS);
    expect(a.stats.nivcsw).toBeGreaterThan(5);
    expect(b.stats.nivcsw).toBeGreaterThan(5);
    expect(a.stats.nvcsw + b.stats.nvcsw).toBe(0);
    expect(s.tasks.size).toBe(0);
    expect(a.state).toBe("dead");
  });

  it("a lone task is never switched out", () => {
    const { sim, s } = setup(1);
    const done = new Map<string, number>();
    const a = s.spawn("a", cpuBound(20 * MS, done, sim));
    sim.run();
    expect(a.stats.nivcsw).toBe(0);
    expect(done.get("a")).toBe(20 * MS);
  });
});

describe("placement and balancing", () => {
  it("wake_up_new_task places new tasks on idle CPUs, so they run in parallel", () => {
    const { sim, s } = setup(4);
    const done = new Map<string, number>();
    const cpus = new Set<number>();
    for (const n of ["a", "b", "c", "d"])
      s.spawn(
        n,
        function* (t: Task): Kfn<void> {
          cpus.add(t.here.id);
          yield* cpuBound(10 * MS, done, sim)(t);
        },
        0,
      );
    sim.run();
    expect(cpus.size).toBe(4);
    expect(Math.max(...done.values())).toBe(10 * MS);
  });

  it("an idle CPU pulls a waiting task from another queue", () => {
    // three tasks confined to CPU 0 at first would serialise; with CPU 1 free to pull, the one
    // task allowed on both gets there once CPU 1's own short task exits
    const { sim, s } = setup(2);
    const done = new Map<string, number>();
    const ranOn = new Map<string, Set<number>>();
    const body = (ns: number) =>
      function* (t: Task): Kfn<void> {
        let left = ns;
        while (left > 0) {
          (ranOn.get(t.name) ?? ranOn.set(t.name, new Set()).get(t.name)!).add(t.here.id);
          yield* t.user(MS);
          left -= MS;
        }
        done.set(t.name, sim.now);
      };
    s.spawn("pinned0", body(20 * MS), 0, [0]);
    s.spawn("short1", body(2 * MS), 1, [1]);
    s.spawn("free", body(20 * MS), 0, [0, 1]);
    s.spawn("pinned0b", body(20 * MS), 0, [0]);
    sim.run();
    expect([...ranOn.get("pinned0")!]).toEqual([0]);
    expect([...ranOn.get("pinned0b")!]).toEqual([0]);
    expect([...ranOn.get("short1")!]).toEqual([1]);
    expect(ranOn.get("free")!.has(1)).toBe(true);
    // CPU 0's two pinned tasks share it: 40 ms; the free task finished on CPU 1 well before
    expect(done.get("free")!).toBeLessThan(done.get("pinned0")!);
  });

  it("sched_setaffinity: a task never runs outside its mask", () => {
    const { sim, s } = setup(4);
    const seen: [number, string][] = [];
    for (let i = 0; i < 6; i++)
      s.spawn(
        `t${i}`,
        function* (t: Task): Kfn<void> {
          for (let k = 0; k < 5; k++) {
            seen.push([t.here.id, t.name]);
            yield* t.user(2 * MS);
            yield* t.sleep(100_000);
          }
        },
        0,
        i % 2 === 0 ? [2, 3] : [1],
      );
    sim.run();
    expect(seen.length).toBe(30);
    for (const [cpu, name] of seen)
      expect(Number(name.slice(1)) % 2 === 0 ? [2, 3] : [1], name).toContain(cpu);
  });
});

describe("blocking", () => {
  it("a sleep is a voluntary switch; the CPU runs another task meanwhile and idles after", () => {
    const switches: [number, string | null][] = [];
    const { sim, s } = setup(1, {
      onSwitch: (cpu: Cpu, next: Task | null) => switches.push([cpu.id, next?.name ?? null]),
    });
    const done = new Map<string, number>();
    const sleeper = s.spawn("sleeper", function* (t: Task): Kfn<void> {
      yield* t.user(MS);
      yield* t.sleep(5 * MS);
      yield* t.user(MS);
      done.set(t.name, sim.now);
    });
    const worker = s.spawn("worker", cpuBound(3 * MS, done, sim));
    sim.run();
    expect(sleeper.stats.nvcsw).toBe(1);
    expect(worker.stats.nvcsw).toBe(0);
    // the worker filled the sleep, then the CPU went idle until the sleeper woke
    expect(done.get("worker")).toBe(4 * MS);
    expect(done.get("sleeper")).toBe(7 * MS);
    expect(switches.map(([, n]) => n)).toEqual(["sleeper", "worker", null, "sleeper", null]);
    expect(s.busy).toBe(0);
  });

  it("waitFor an event that already happened does not switch", () => {
    const { sim, s } = setup(1);
    const ev = sim.event();
    ev.succeed();
    const t = s.spawn("t", function* (t: Task): Kfn<void> {
      yield* t.waitFor(ev);
    });
    sim.run();
    expect(t.stats.nvcsw).toBe(0);
  });

  it("sleep_on from a kernel path gives the CPU up and resumes on the same CPU", () => {
    const { sim, s } = setup(2);
    const ops = s.schedOps();
    const ev = sim.event();
    const where: number[] = [];
    const t = s.spawn(
      "k",
      function* (t: Task): Kfn<void> {
        yield* t.kernel(function* (cpu: Cpu): Kfn<void> {
          where.push(cpu.id);
          yield* ops.sleep_on(cpu, ev);
          where.push(t.here.id);
        });
      },
      1,
    );
    const other = s.spawn("other", cpuBound(MS, new Map(), sim), 1, [1]);
    sim.schedule(3 * MS, () => ev.succeed());
    sim.run();
    expect(where).toEqual([1, 1]);
    expect(t.stats.nvcsw).toBe(1);
    // the CPU ran the other task during the wait, and the 3 ms asleep are not system time
    // (the path itself takes none)
    expect(other.stats.utime).toBe(MS);
    expect(t.stats.stime).toBe(0);
  });
});

describe("wake-up latency", () => {
  it("a task waking beside a CPU hog gets the CPU within one chunk, not after the hog's run", () => {
    const { sim, s } = setup(1, { wakeupGranularityNs: 100_000 });
    const hog = s.spawn("hog", cpuBound(40 * MS, new Map(), sim));
    const latencies: number[] = [];
    const io = s.spawn("io", function* (t: Task): Kfn<void> {
      for (let i = 0; i < 4; i++) {
        const t0 = sim.now;
        yield* t.sleep(5 * MS);
        latencies.push(sim.now - t0 - 5 * MS);
        yield* t.user(100_000);
      }
    });
    sim.run();
    expect(latencies.length).toBe(4);
    for (const l of latencies) expect(l).toBeLessThanOrEqual(s.chunkNs);
    expect(io.stats.nvcsw).toBe(4);
    // each wake-up took the CPU from the hog: an involuntary switch for it
    expect(hog.stats.nivcsw).toBeGreaterThanOrEqual(4);
    expect(hog.stats.utime).toBe(40 * MS);
  });
});

describe("refusals", () => {
  it("parameters out of range name the parameter", () => {
    const sim = new Simulation();
    const m = new Machine(sim, { nrCpus: 4 });
    expect(() => new Scheduler(m, { latencyNs: 5 })).toThrow(ParameterError);
    expect(() => new Scheduler(m, { latencyNs: 5 })).toThrow(/latencyNs/);
    expect(() => new Scheduler(m, { smtSlowdown: -1 })).toThrow(/smtSlowdown/);
    expect(() => new Scheduler(m, { smt: 3 })).toThrow(KernelStateError);
  });

  it("an empty or out-of-range affinity mask is refused and no task is created", () => {
    const { s } = setup(2);
    const body = function* (): Kfn<void> {};
    expect(() => s.spawn("x", body, 0, [])).toThrow(/empty affinity mask/);
    expect(() => s.spawn("y", body, 0, [2])).toThrow(/cpus\[\]/);
    expect(s.tasks.size).toBe(0);
  });

  it("Task.here outside a CPU is a KernelStateError", () => {
    const { sim, s } = setup(1);
    s.spawn("a", cpuBound(MS, new Map(), sim));
    const b = s.spawn("b", cpuBound(MS, new Map(), sim));
    sim.run({ until: 100_000 });
    // one of them runs, the other waits on the queue
    const waiting = b.cpu === null ? b : [...s.tasks].find((t) => t.cpu === null)!;
    expect(() => waiting.here).toThrow(KernelStateError);
  });
});
