import { describe, expect, it } from "vitest";
import {
  local_irq_disable,
  local_irq_enable,
  Machine,
  smp_call_function_many,
  type Cpu,
  type CsdFunc,
} from "../../src/hw/index.js";
import { buildSystem } from "../../src/system/build.js";
import { startMicro } from "../../src/workloads/micro.js";
import { runRaceMatrix } from "../../src/experiments/race-matrix.js";
import { ParameterError, Simulation, type Kfn } from "../../src/sim/index.js";

/** A cross-call function that returns at once (what a flush request the target has already
 * caught up with does), counting where it ran — through either path. */
function quickCall(ran: number[]): CsdFunc {
  // eslint-disable-next-line require-yield -- it returns at once, as the flush it stands for
  function* quick(cpu: Cpu): Kfn<void> {
    ran.push(cpu.id);
  }
  return Object.assign(quick, {
    returnsAtOnce: (cpu: Cpu) => {
      ran.push(cpu.id);
      return true;
    },
  });
}

/** A cross-call function that does 300 ns of work. */
function* slow(): Kfn<void> {
  yield 300;
}

interface Outcome {
  /** When each sender's csd_lock_wait returned, by sender CPU. */
  readonly doneAt: Record<number, number>;
  readonly waited: Record<number, number>;
  readonly ipis: number;
  readonly irqs: number;
  readonly ran: number[];
}

/**
 * CPU 2 keeps IRQs off for 10 µs while CPUs 0, 1, 3 and 4 each queue calls on it; CPU 5 queues
 * one more while CPU 2 works through the queue. `stallAt`: the host stops CPU 2 for 1 µs then.
 */
function scenario(csdBatch: boolean, calls: (ran: number[]) => CsdFunc[], stallAt?: number) {
  const sim = new Simulation({ seed: 1 });
  const m = new Machine(sim, { nrCpus: 6, costs: { jitter: 0 }, csdBatch });
  const ran: number[] = [];
  const funcs = calls(ran);
  const doneAt: Record<number, number> = {};
  const waited: Record<number, number> = {};
  m.cpu(2).run(
    "walker",
    (function* (): Kfn<void> {
      local_irq_disable(m.cpu(2));
      yield 10_000;
      yield* local_irq_enable(m.cpu(2));
      yield 50_000;
    })(),
  );
  const senders = [0, 1, 3, 4, 5];
  senders.forEach((id, i) => {
    m.cpu(id).run(
      "sender",
      (function* (): Kfn<void> {
        yield id === 5 ? 10_260 : 100 * i;
        const r = yield* smp_call_function_many(m.cpu(id), [2], funcs[i % funcs.length]!, true);
        doneAt[id] = sim.now;
        waited[id] = r.waitedNs;
      })(),
    );
  });
  if (stallAt !== undefined) m.stallFor(m.cpu(2), stallAt, 1_000);
  sim.run();
  const irqs = m.cpu(2).stats.irqs;
  return {
    doneAt,
    waited,
    ipis: m.ipisSent,
    irqs: irqs.CALL_FUNCTION + irqs.CALL_FUNCTION_SINGLE,
    ran,
  } satisfies Outcome;
}

describe("csdBatch: the calls that return at once, run in one step", () => {
  it("unlocks each csd when the call-by-call model does, with the same IPIs", () => {
    const calls = (ran: number[]) => [quickCall(ran)];
    const exact = scenario(false, calls);
    const batched = scenario(true, calls);
    expect(batched).toEqual(exact);
    // IRQs back on at 10 µs: entry, then one csd after another, 50 ns each
    expect(exact.doneAt[0]).toBe(10_000 + 150 + 50);
    expect(exact.doneAt[4]).toBe(10_000 + 150 + 4 * 50);
    // CPU 5's call came after the handler took the queue (llist_del_all at 10,150): it found the
    // queue empty and sent an IPI of its own, which CPU 2 took after the first handler returned
    // (send 150, delivery 250, entry 150, csd 50)
    expect(exact.ipis).toBe(2);
    expect(exact.irqs).toBe(2);
    expect(exact.ran).toEqual([2, 2, 2, 2, 2]);
    expect(exact.doneAt[5]).toBe(10_260 + 150 + 250 + 150 + 50);
    expect(exact.waited[5]).toBe(250 + 150 + 50);
  });

  it("runs a call that does work at its own time, between the batches", () => {
    const calls = (ran: number[]) => [quickCall(ran), Object.assign(slow, {})];
    const exact = scenario(false, calls);
    const batched = scenario(true, calls);
    expect(batched).toEqual(exact);
    expect(exact.doneAt[1]).toBe(10_000 + 150 + 2 * 50 + 300);
  });

  it("takes back the unlocks not yet due when the CPU stalls in the middle of a batch", () => {
    const calls = (ran: number[]) => [quickCall(ran)];
    // the batch covers 10,150 … 10,350; the stall hits at 10,220, inside the second call
    const exact = scenario(false, calls, 10_220);
    const batched = scenario(true, calls, 10_220);
    expect(batched).toEqual(exact);
    expect(exact.doneAt[0]).toBe(10_200); // due before the stall
    expect(exact.doneAt[1]).toBe(10_250 + 1_000);
    expect(exact.doneAt[4]).toBe(10_350 + 1_000);
  });

  it("is refused as anything but a boolean", () => {
    const sim = new Simulation({ seed: 1 });
    expect(() => new Machine(sim, { nrCpus: 2, csdBatch: "yes" as unknown as boolean })).toThrow(
      ParameterError,
    );
    expect(() =>
      buildSystem({ profile: "v6.1", backend: "native", csdBatch: 1 as unknown as boolean }),
    ).toThrow(/csdBatch/);
  });
});

describe("csdBatch on a madvise storm", () => {
  function storm(csdBatch: boolean, seed: number) {
    const sys = buildSystem({
      profile: "v6.1",
      backend: "native",
      nrCpus: 16,
      seed,
      trace: false,
      history: false,
      csdBatch,
    });
    sys.rcu.start();
    const run = startMicro(sys, { workload: "madvise-storm", durationNs: 1_000_000 });
    sys.sim.run({ until: 1_000_000 });
    return { ops: run.ops(), events: sys.sim.eventsFired, stats: sys.x86.stats };
  }

  it("traces every batched csd with its own time, and tracing changes nothing", () => {
    const run = (trace: boolean) => {
      const sys = buildSystem({
        profile: "v6.1",
        backend: "native",
        nrCpus: 8,
        seed: 3,
        trace,
        history: false,
        csdBatch: true,
      });
      sys.rcu.start();
      const micro = startMicro(sys, { workload: "madvise-storm", durationNs: 200_000 });
      sys.sim.run({ until: 200_000 });
      return { sys, ops: micro.ops(), events: sys.sim.eventsFired };
    };
    const plain = run(false);
    const traced = run(true);
    expect([traced.ops, traced.events]).toEqual([plain.ops, plain.events]);
    const spans = traced.sys.sim.trace.sorted().filter((e) => e.name === "csd:csd_function_entry");
    expect(spans.length).toBe(traced.sys.x86.stats.remoteFlushesReceived);
    // one CPU's csds follow each other without overlapping
    const cpu3 = spans.filter((e) => e.cpu === 3);
    for (let i = 1; i < cpu3.length; i++)
      expect(cpu3[i]!.ts).toBeGreaterThanOrEqual(cpu3[i - 1]!.ts + (cpu3[i - 1]!.dur ?? 0));
  });

  it("does the same work in fewer events, every request still received", () => {
    const exact = storm(false, 1);
    const batched = storm(true, 1);
    expect(batched.events).toBeLessThan(0.8 * exact.events);
    // each flush reaches every other CPU of the mm either way (but those still on their way
    // when the window ends, at most one a CPU)
    for (const { stats } of [exact, batched]) {
      const unreceived = 15 * stats.remoteFlushes - stats.remoteFlushesReceived;
      expect(unreceived).toBeGreaterThanOrEqual(0);
      expect(unreceived).toBeLessThan(15 * 16);
    }
    // throughput within a few percent (the random draws come in another order)
    expect(Math.abs(batched.ops / exact.ops - 1)).toBeLessThan(0.05);
  });
});

describe("csdBatch in the experiments", () => {
  it("passes through the race matrix, which says it took the shortcut", () => {
    const cells = { profiles: ["v6.1"], backends: ["native"], scenarios: ["walker-vs-munmap"] };
    const opts = { ...cells, trials: 3, examples: false, progress: false };
    const batched = runRaceMatrix({ ...opts, csdBatch: true });
    expect(batched.csdBatch).toBe(true);
    expect(runRaceMatrix(opts).csdBatch).toBeUndefined();
    expect(() => runRaceMatrix({ ...opts, csdBatch: "on" as unknown as boolean })).toThrow(
      /csdBatch/,
    );
  });
});
