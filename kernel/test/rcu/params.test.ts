import { describe, expect, it } from "vitest";
import { Machine } from "../../src/hw/machine.js";
import {
  DEFAULT_RCU_PARAMS,
  Rcu,
  rcuJiffiesTillForceQs,
  resolveRcuParams,
} from "../../src/rcu/index.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { Simulation } from "../../src/sim/simulation.js";

function machine(nrCpus = 4): Machine {
  return new Machine(new Simulation({ seed: 1 }), { nrCpus });
}

describe("RCU parameters", () => {
  it("fills the documented defaults in and freezes the result", () => {
    const p = resolveRcuParams({}, 4);
    expect(p).toMatchObject({
      hz: 1000,
      flavour: "sched",
      blimit: 10,
      qhimark: 10_000,
      qlowmark: 100,
      nohzIdle: true,
      jiffiesTillFirstFqs: 3,
      jiffiesTillNextFqs: 3,
      fqsReaderSampling: false,
    });
    expect(Object.isFrozen(p)).toBe(true);
    expect(DEFAULT_RCU_PARAMS.hz).toBe(1000);
  });

  it("derives the FQS period from RCU_JIFFIES_TILL_FORCE_QS (costs.md §1d)", () => {
    // 1 + (HZ > 250) + (HZ > 500) + nr_cpu_ids / 256
    expect(rcuJiffiesTillForceQs(1000, 4)).toBe(3);
    expect(rcuJiffiesTillForceQs(300, 4)).toBe(2);
    expect(rcuJiffiesTillForceQs(250, 4)).toBe(1);
    expect(rcuJiffiesTillForceQs(100, 4)).toBe(1);
    expect(rcuJiffiesTillForceQs(1000, 256)).toBe(4);
    expect(rcuJiffiesTillForceQs(250, 511)).toBe(2);
    expect(resolveRcuParams({ hz: 250 }, 4).jiffiesTillFirstFqs).toBe(1);
    expect(resolveRcuParams({ hz: 100 }, 4).jiffiesTillNextFqs).toBe(1);
  });

  it("rejects an HZ outside the Kconfig choices, naming the accepted set", () => {
    const m = machine();
    expect(() => new Rcu(m, { hz: 500 })).toThrow(ParameterError);
    expect(() => new Rcu(m, { hz: 500 })).toThrow(/hz = 500 .*one of 100, 250, 300, 1000/);
    expect(() => new Rcu(m, { hz: 1000.5 })).toThrow(ParameterError);
  });

  it("rejects an unknown flavour with UnknownNameError listing the flavours", () => {
    const err = (() => {
      try {
        new Rcu(machine(), { flavour: "bh" });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(UnknownNameError);
    expect((err as UnknownNameError).parameter).toBe("flavour");
    expect((err as UnknownNameError).valid).toEqual(["sched", "preempt", "unified"]);
  });

  it("rejects negative or fractional costs and impossible limits", () => {
    const m = machine();
    expect(() => new Rcu(m, { callbackInvokeNs: -1 })).toThrow(/callbackInvokeNs = -1/);
    expect(() => new Rcu(m, { enqueueNs: -5 })).toThrow(ParameterError);
    expect(() => new Rcu(m, { tickNs: 1.5 })).toThrow(ParameterError);
    expect(() => new Rcu(m, { gpKthreadWakeNs: -1 })).toThrow(ParameterError);
    expect(() => new Rcu(m, { blimit: 0 })).toThrow(/blimit = 0/);
    expect(() => new Rcu(m, { qhimark: 50, qlowmark: 60 })).toThrow(/qlowmark = 60/);
    expect(() => new Rcu(m, { gpKthreadCpu: 4 })).toThrow(/gpKthreadCpu = 4/);
    expect(() => new Rcu(m, { jiffiesTillFirstFqs: 0 })).toThrow(ParameterError);
    expect(() => new Rcu(m, { jiffiesTillNextFqs: 2000 })).toThrow(ParameterError);
  });

  it("rejects misspelt fields instead of ignoring them", () => {
    expect(() => new Rcu(machine(), { HZ: 250 } as never)).toThrow(UnknownNameError);
  });

  it("refuses a second tick rate on the same machine", () => {
    const m = machine();
    new Rcu(m, { hz: 1000 });
    expect(() => new Rcu(m, { hz: 250, flavour: "preempt" })).toThrow(/hz = 250/);
    expect(() => new Rcu(m, { hz: 1000, flavour: "preempt" })).not.toThrow();
  });
});
