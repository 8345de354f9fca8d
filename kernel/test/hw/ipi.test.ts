import { describe, expect, it } from "vitest";
import {
  local_irq_disable,
  local_irq_enable,
  Machine,
  smp_call_function,
  smp_call_function_many,
  type Cpu,
  type CrossCallResult,
} from "../../src/hw/index.js";
import { KernelStateError, ParameterError, Simulation, type Kfn } from "../../src/sim/index.js";

/** A machine whose latencies are exactly the cost model's defaults (no jitter). */
function exactMachine(nrCpus = 2, seed = 1) {
  const sim = new Simulation({ seed });
  const m = new Machine(sim, { nrCpus, costs: { jitter: 0 } });
  return { sim, m, c: m.costs };
}

describe("IPIs and interrupts off", () => {
  it("holds an IPI while the target has IRQs off and handles it right after it re-enables them", () => {
    const { sim, m, c } = exactMachine();
    const IRQ_OFF_NS = 10_000;
    const START = 100;
    let handledAt = -1;
    let enabledAt = -1;
    let result: CrossCallResult | null = null;
    let senderDoneAt = -1;
    m.cpu(1).run(
      "walker",
      (function* (): Kfn<void> {
        local_irq_disable(m.cpu(1));
        yield IRQ_OFF_NS;
        enabledAt = sim.now;
        yield* local_irq_enable(m.cpu(1));
      })(),
    );
    m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        yield START;
        result = yield* smp_call_function_many(
          m.cpu(0),
          [1],
          function* mark(cpu: Cpu): Kfn<void> {
            handledAt = sim.now;
            expect(cpu.irqsEnabled).toBe(false); // handlers run with IF = 0
            yield 0;
          },
          true,
        );
        senderDoneAt = sim.now;
      })(),
    );
    sim.run();
    const delivered = START + c.ipiSendNs + c.ipiDeliveryNs;
    expect(delivered).toBeLessThan(IRQ_OFF_NS); // the IPI arrived while IRQs were off…
    expect(m.cpu(1).stats.irqs.CALL_FUNCTION_SINGLE).toBe(1);
    expect(enabledAt).toBe(IRQ_OFF_NS);
    // …and its handler ran only after local_irq_enable: entry cost and the csd call after it
    expect(handledAt).toBe(IRQ_OFF_NS + c.irqEntryNs + c.csdCallNs);
    // the sender was held exactly that long plus the modelled latencies
    expect(senderDoneAt).toBe(IRQ_OFF_NS + c.irqEntryNs + c.csdCallNs);
    expect(result!.waitedNs).toBe(IRQ_OFF_NS + c.irqEntryNs + c.csdCallNs - (START + c.ipiSendNs));
  });

  it("the local APIC holds one request per vector, however many arrive while IRQs are off", () => {
    const { sim, m } = exactMachine(2);
    const cpu = m.cpu(1);
    cpu.run(
      "walker",
      (function* (): Kfn<void> {
        local_irq_disable(cpu);
        yield 1_000;
        yield* local_irq_enable(cpu);
      })(),
    );
    sim.schedule(100, () => cpu.raise("CALL_FUNCTION"));
    sim.schedule(200, () => cpu.raise("CALL_FUNCTION"));
    sim.schedule(300, () => cpu.raise("CALL_FUNCTION_SINGLE"));
    sim.schedule(400, () => cpu.raise("CALL_FUNCTION"));
    sim.run();
    expect(cpu.stats.irqs.CALL_FUNCTION).toBe(1);
    expect(cpu.stats.irqs.CALL_FUNCTION_SINGLE).toBe(1);
  });

  it("the handler takes the whole queue at once; csds queued meanwhile need one more IPI", () => {
    const { sim, m, c } = exactMachine(5);
    const ranAt: number[] = [];
    function* work(): Kfn<void> {
      ranAt.push(sim.now);
      yield 1_000;
    }
    // CPU 0 calls CPU 4 at 0; CPUs 1, 2 and 3 call it while its handler runs CPU 0's call
    const calledAt = [0, 700, 800, 900];
    calledAt.forEach((at, id) =>
      m.cpu(id).run(
        "sender",
        (function* (): Kfn<void> {
          yield at;
          yield* smp_call_function_many(m.cpu(id), [4], work, true);
        })(),
      ),
    );
    sim.run();
    // one IPI from CPU 0 and one from CPU 1, whose csd found the queue taken; CPUs 2 and 3
    // found CPU 1's csd queued
    expect(m.ipisSent).toBe(2);
    expect(m.cpu(4).stats.irqs.CALL_FUNCTION_SINGLE).toBe(2);
    const first = c.ipiSendNs + c.ipiDeliveryNs + c.irqEntryNs + c.csdCallNs;
    expect(ranAt[0]).toBe(first);
    // the second entry comes after the first handler's exit, and runs the three calls in order
    const second = first + 1_000 + c.irqExitNs + c.irqEntryNs + c.csdCallNs;
    expect(ranAt.slice(1)).toEqual([second, second + 1_050, second + 2_100]);
  });

  it("with IRQs on, the sender waits only for the latencies", () => {
    const { sim, m, c } = exactMachine();
    let done = -1;
    m.cpu(1).run(
      "busy",
      (function* (): Kfn<void> {
        yield 50_000;
      })(),
    );
    m.cpu(0).run(
      "flusher",
      (function* (): Kfn<void> {
        yield* smp_call_function_many(m.cpu(0), [1], function* noop(): Kfn<void> {}, true);
        done = sim.now;
      })(),
    );
    sim.run();
    expect(done).toBe(c.ipiSendNs + c.ipiDeliveryNs + c.irqEntryNs + c.csdCallNs);
    // the interrupted task lost exactly the handler's time
    expect(sim.now).toBe(50_000 + c.irqEntryNs + c.csdCallNs + c.irqExitNs);
  });

  it("a cross-call to several CPUs waits for the slowest IRQ-off target", () => {
    const { sim, m, c } = exactMachine(4);
    const offFor = [0, 3_000, 20_000, 7_000];
    for (const id of [1, 2, 3]) {
      m.cpu(id).run(
        "irqoff",
        (function* (): Kfn<void> {
          local_irq_disable(m.cpu(id));
          yield offFor[id]!;
          yield* local_irq_enable(m.cpu(id));
        })(),
      );
    }
    let done = -1;
    m.cpu(0).run(
      "sender",
      (function* (): Kfn<void> {
        yield* smp_call_function(m.cpu(0), function* noop(): Kfn<void> {}, true);
        done = sim.now;
      })(),
    );
    sim.run();
    expect(done).toBe(20_000 + c.irqEntryNs + c.csdCallNs);
  });

  it("refuses a waiting cross-call with IRQs disabled, as the kernel WARNs", () => {
    const { sim, m } = exactMachine();
    m.cpu(0).run(
      "bad",
      (function* (): Kfn<void> {
        local_irq_disable(m.cpu(0));
        yield* smp_call_function_many(m.cpu(0), [1], function* noop(): Kfn<void> {}, true);
      })(),
    );
    expect(() => sim.run()).toThrow(KernelStateError);
  });

  it("two CPUs cross-calling each other with IRQs on both complete (no deadlock)", () => {
    const { sim, m } = exactMachine();
    const done: number[] = [];
    for (const id of [0, 1]) {
      m.cpu(id).run(
        "x",
        (function* (): Kfn<void> {
          yield* smp_call_function_many(m.cpu(id), [1 - id], function* noop(): Kfn<void> {}, true);
          done.push(id);
        })(),
      );
    }
    sim.run();
    expect(done.sort()).toEqual([0, 1]);
  });

  it("a host-preempted vCPU takes no interrupt until it runs again", () => {
    const { sim, m, c } = exactMachine();
    m.cpu(1).run(
      "guest",
      (function* (): Kfn<void> {
        yield 100_000;
      })(),
    );
    sim.schedule(10, () => m.cpu(1).hostPreempt());
    sim.schedule(30_000, () => m.cpu(1).hostResume());
    let done = -1;
    m.cpu(0).run(
      "sender",
      (function* (): Kfn<void> {
        yield* smp_call_function_many(m.cpu(0), [1], function* noop(): Kfn<void> {}, true);
        done = sim.now;
      })(),
    );
    sim.run();
    expect(done).toBe(30_000 + c.irqEntryNs + c.csdCallNs);
    // the guest made no progress while preempted: 100 µs of work + 29,990 ns away + the handler
    expect(sim.now).toBe(100_000 + 29_990 + c.irqEntryNs + c.csdCallNs + c.irqExitNs);
  });
});

describe("bad input", () => {
  it("names the parameter and range for CPU counts and ids", () => {
    const sim = new Simulation();
    expect(() => new Machine(sim, { nrCpus: 0 })).toThrow(ParameterError);
    expect(() => new Machine(sim, { nrCpus: -2 })).toThrow(/nrCpus = -2 .*from 1 to 1024/);
    const m = new Machine(sim, { nrCpus: 2 });
    expect(() => m.cpu(2)).toThrow(/cpu = 2 .*from 0 to 1/);
    expect(() => new Machine(sim, { nrCpus: 2, costs: { ipiSendNs: -1 } })).toThrow(
      /costs.ipiSendNs = -1/,
    );
    expect(() => new Machine(sim, { nrCpus: 2, costs: { ipiSendNS: 1 } as never })).toThrow(
      /costs field = "ipiSendNS"/,
    );
  });

  it("rejects an unknown CPU id in a cross-call mask", () => {
    const { sim, m } = exactMachine();
    m.cpu(0).run(
      "x",
      (function* (): Kfn<void> {
        yield* smp_call_function_many(m.cpu(0), [7], function* noop(): Kfn<void> {}, true);
      })(),
    );
    expect(() => sim.run()).toThrow(/mask\[\] = 7/);
  });
});

describe("seeded jitter", () => {
  function interleaving(seed: number): string {
    const sim = new Simulation({ seed });
    const m = new Machine(sim, { nrCpus: 3 });
    const order: number[] = [];
    for (const id of [0, 1, 2]) {
      m.cpu(id).run(
        "x",
        (function* (): Kfn<void> {
          for (let i = 0; i < 3; i++) {
            yield* smp_call_function(m.cpu(id), function* noop(): Kfn<void> {}, true);
            order.push(id);
          }
        })(),
      );
    }
    sim.run();
    return order.join("") + "@" + sim.now;
  }
  it("same seed, same interleaving; another seed can differ", () => {
    expect(interleaving(9)).toBe(interleaving(9));
    const base = interleaving(1);
    expect([2, 3, 4, 5, 6, 7].map(interleaving).some((x) => x !== base)).toBe(true);
  });
});
