import { describe, expect, it } from "vitest";
import { Machine, smp_call_function_many } from "../../src/hw/index.js";
import { Simulation, Trace, type Kfn } from "../../src/sim/index.js";

describe("Chrome trace export", () => {
  it("writes spans, instants and IPI arrows in trace-event format (µs, pid/tid, metadata)", () => {
    const sim = new Simulation({ seed: 3 });
    const m = new Machine(sim, { nrCpus: 2, costs: { jitter: 0 } });
    m.cpu(0).run(
      "x",
      (function* (): Kfn<void> {
        sim.trace.instant(0, "test:start");
        yield* smp_call_function_many(m.cpu(0), [1], function* noop(): Kfn<void> {}, true);
      })(),
    );
    sim.run();
    const t = sim.trace.toChrome({ seed: 3 });
    expect(t.displayTimeUnit).toBe("ns");
    expect(t.otherData).toEqual({ seed: 3 });
    const names = t.traceEvents.filter((e) => e.ph === "M").map((e) => e.args?.name);
    expect(names).toContain("CPU 0");
    expect(names).toContain("CPU 1");
    const wait = t.traceEvents.find((e) => e.name === "mmulab:csd_lock_wait")!;
    expect(wait.ph).toBe("X");
    // ns → µs
    expect(wait.ts).toBe(m.costs.ipiSendNs / 1000);
    expect(wait.dur).toBeCloseTo(
      (m.costs.ipiDeliveryNs + m.costs.irqEntryNs + m.costs.csdCallNs) / 1000,
      9,
    );
    const s = t.traceEvents.find((e) => e.ph === "s")!;
    const f = t.traceEvents.find((e) => e.ph === "f" && e.id === s.id)!;
    expect(f.tid).not.toBe(s.tid); // the arrow goes from CPU 0 to CPU 1
    expect(f.ts).toBeGreaterThan(s.ts);
    // events are in time order
    const ts = t.traceEvents.filter((e) => e.ph !== "M").map((e) => e.ts);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(() => JSON.parse(JSON.stringify(t)) as unknown).not.toThrow();
  });
});

describe("a bounded trace", () => {
  it("keeps the newest events, between keep and twice keep, and says how many went", () => {
    let now = 0;
    const t = new Trace(() => now, true, 10);
    for (; now < 25; now++) t.instant(0, `e${now}`);
    expect(t.events.length).toBeGreaterThanOrEqual(10);
    expect(t.events.length).toBeLessThan(20);
    expect(t.dropped + t.events.length).toBe(25);
    expect(t.events.at(-1)!.name).toBe("e24");
    expect(t.events[0]!.name).toBe(`e${t.dropped}`);
    expect(t.toChrome({ seed: 1 }).otherData).toEqual({ seed: 1, droppedOldestEvents: t.dropped });
    // spans and arrows count too
    const s = t.begin(1, "span");
    t.end(s);
    t.flowEnd(0, "arrow", t.flowStart(1, "arrow"));
    expect(t.dropped + t.events.length).toBe(28);
  });
});
