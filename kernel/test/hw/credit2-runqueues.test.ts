/**
 * Xen credit2's shared run queues (hw/credit2.ts, hw/host-sched.ts): which pCPUs share a queue
 * (cpu_add_to_runqueue under each credit2_runqueue), a woken unit running on any idle pCPU of
 * its queue, credit resets per queue, balance_load between queues, hard affinity, determinism.
 */
import { describe, expect, it } from "vitest";
import {
  credit2RunqueueLayout,
  CSCHED2,
  Host,
  HostCpus,
  type Credit2Runqueue,
  type HostParams,
} from "../../src/hw/host.js";
import { Machine } from "../../src/hw/machine.js";
import type { Cpu } from "../../src/hw/cpu.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import { runMicro } from "../../src/workloads/micro.js";

const MS = 1_000_000;

function machine(sim: Simulation, nrCpus: number): Machine {
  return new Machine(sim, { nrCpus, costs: { jitter: 0 } });
}

/** A task that spends `ns` of the CPU's time in 10 µs steps; `done` is called as it ends. */
function busy(cpu: Cpu, ns: number, done?: () => void): void {
  cpu.run(
    "busy",
    (function* (): Kfn<void> {
      for (let left = ns; left > 0; left -= 10_000) yield Math.min(left, 10_000);
      done?.();
    })(),
  );
}

describe("credit2_runqueue: which pCPUs share a run queue (cpu_add_to_runqueue)", () => {
  const layout = (nrPcpus: number, sockets: number, smt: number, opt: Credit2Runqueue, max = 16) =>
    credit2RunqueueLayout({ nrPcpus, sockets, smt }, opt, max);
  it("one per socket by default, at most 16 pCPUs each, spread evenly", () => {
    expect(layout(8, 2, 1, "socket")).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    // 32 pCPUs on one socket: two queues of 16 (MAX_CPUS_RUNQ), not one of 32
    const l32 = layout(32, 1, 1, "socket");
    expect(l32.filter((q) => q === 0)).toHaveLength(16);
    expect(l32.slice(16).every((q) => q === 1)).toBe(true);
    // 24 pCPUs, max 16: min_rqs = 2, so 12 each
    expect(layout(24, 1, 1, "all").filter((q) => q === 0)).toHaveLength(12);
    // node: one NUMA node per socket here
    expect(layout(8, 2, 1, "node")).toEqual(layout(8, 2, 1, "socket"));
  });

  it("cpu, core and all; SMT siblings stay together", () => {
    expect(layout(4, 1, 1, "cpu")).toEqual([0, 1, 2, 3]);
    expect(layout(8, 1, 2, "core")).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(layout(8, 2, 1, "all")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // a limit of 3 with 2-thread cores: a core's siblings never split over two queues
    const l = layout(8, 1, 2, "socket", 3);
    for (let c = 0; c < 8; c += 2) expect(l[c]).toBe(l[c + 1]);
  });

  it("is a host parameter of a Xen host only, with typed errors", () => {
    const sim = new Simulation({ seed: 1, trace: false });
    expect(() => new HostCpus(sim, { pcpus: 4, credit2Runqueue: "cpu" })).toThrow(/Xen host/);
    expect(
      () =>
        new HostCpus(sim, {
          pcpus: 4,
          hypervisor: "xen",
          credit2Runqueue: "numa" as Credit2Runqueue,
        }),
    ).toThrow(UnknownNameError);
    expect(() => new HostCpus(sim, { pcpus: 6, hypervisor: "xen", sockets: 4 })).toThrow(
      ParameterError,
    );
    const hc = new HostCpus(sim, { pcpus: 8, sockets: 2, hypervisor: "xen" });
    expect(hc.credit2Runqueue).toBe("socket");
    expect(hc.credit2State().runqueues.map((r) => r.pcpus)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(() => new HostCpus(sim, { pcpus: 2 }).credit2State()).toThrow(/not a Xen host/);
  });
});

/**
 * Two pCPUs. VM X has two vCPUs, both idle (they halt at once); VM Y one always-busy vCPU
 * created on pCPU 0. At 5 ms a 10 ms task starts on X's vCPU 0, whose pCPU (0) Y holds by then.
 */
function wakeBesideBusy(host: HostParams) {
  const sim = new Simulation({ seed: 1, trace: false });
  const hc = new HostCpus(sim, { pcpus: 2, hypervisor: "xen", ...host });
  const x = machine(sim, 2);
  const y = machine(sim, 1);
  new Host(x, { firstPcpu: 0 }, hc);
  new Host(y, { firstPcpu: 0 }, hc);
  busy(y.cpus[0]!, 100 * MS);
  let done = 0;
  sim.schedule(5 * MS, () => busy(x.cpus[0]!, 10 * MS, () => (done = sim.now)));
  hc.start();
  sim.run({ until: 40 * MS });
  const r = { done, ySteal: hc.stealNs(y.cpus[0]!), stats: { ...hc.stats } };
  hc.stop();
  return r;
}

describe("a run queue shared by the pCPUs of a socket", () => {
  it("a woken unit runs at once on an idle pCPU of its queue; with a queue per pCPU it waits for its own", () => {
    const shared = wakeBesideBusy({});
    const perCpu = wakeBesideBusy({ credit2Runqueue: "cpu" });
    // shared: X's vCPU 0 runs on pCPU 1 beside Y, which is never descheduled after the start
    expect(shared.done).toBeGreaterThanOrEqual(15 * MS);
    expect(shared.done).toBeLessThan(15.1 * MS);
    expect(shared.ySteal).toBeLessThan(0.1 * MS);
    // per pCPU: both share pCPU 0 while pCPU 1 idles
    expect(perCpu.done).toBeGreaterThan(20 * MS);
    expect(perCpu.ySteal).toBeGreaterThan(5 * MS);
  });

  it("pinned units stay on their pCPU; floating ones move between the pCPUs of the queue", () => {
    const run = (pinned: boolean) => {
      const sim = new Simulation({ seed: 1, trace: false });
      const hc = new HostCpus(sim, { pcpus: 4, otherVcpus: 2, hypervisor: "xen" });
      const m = machine(sim, 4);
      new Host(m, { pinned }, hc);
      // busy in bursts, so that vCPUs halt and wake while the other VMs' vCPUs run
      for (const cpu of m.cpus)
        for (let i = 0; i < 30; i++)
          sim.schedule(i * (500_000 + 70_000 * cpu.id), () => busy(cpu, 300_000));
      hc.start();
      const seen = m.cpus.map(() => new Set<number>());
      for (let t = 0; t < 30; t++)
        sim.schedule(t * 500_000 + 1, () =>
          hc
            .credit2State()
            .units.filter((u) => u.vm === 0 && u.state === "running")
            .forEach((u) => seen[u.vcpu]!.add(u.pcpu)),
        );
      sim.run({ until: 15 * MS });
      hc.stop();
      return seen.map((s) => [...s]);
    };
    const pinned = run(true);
    pinned.forEach((pcpus, v) => expect(pcpus.every((p) => p === v)).toBe(true));
    const floating = run(false);
    expect(floating.some((pcpus) => pcpus.length > 1)).toBe(true);
  });

  it("credit resets are per run queue: a reset in one leaves the units of another alone", () => {
    // credit2_runqueue=cpu on two pCPUs: A alone on pCPU 0, B and C on pCPU 1
    const sim = new Simulation({ seed: 1, trace: false });
    const hc = new HostCpus(sim, { pcpus: 2, hypervisor: "xen", credit2Runqueue: "cpu" });
    const vms = [0, 1, 1].map((first) => {
      const m = machine(sim, 1);
      new Host(m, { firstPcpu: first, weight: 256 }, hc);
      busy(m.cpus[0]!, 100 * MS);
      return m;
    });
    hc.start();
    sim.run({ until: 15 * MS });
    const [a, b, c] = hc.credit2State().units;
    hc.stop();
    expect(vms).toHaveLength(3);
    // A used its 10 ms by 10 ms: its queue was reset (CREDIT_INIT added)
    expect(a!.credit).toBeGreaterThan(CSCHED2.creditInitNs - 6 * MS);
    expect(hc.stats.creditResets).toBeGreaterThanOrEqual(1);
    // B and C took turns on pCPU 1 and have used about 7.5 ms each: no reset reached them
    for (const u of [b!, c!]) {
      expect(u.credit).toBeLessThan(CSCHED2.creditInitNs - 6 * MS);
      expect(u.credit).toBeGreaterThan(0);
    }
  });

  it("balance_load moves units from the busier run queue at a reset", () => {
    // two sockets of 2 pCPUs; every busy unit created on socket 0
    const sim = new Simulation({ seed: 1, trace: false });
    const hc = new HostCpus(sim, { pcpus: 4, sockets: 2, hypervisor: "xen" });
    for (let i = 0; i < 4; i++) {
      const m = machine(sim, 1);
      new Host(m, { firstPcpu: i % 2 }, hc);
      busy(m.cpus[0]!, 200 * MS);
    }
    hc.start();
    const atStart = hc.credit2State().units.map((u) => u.runqueue);
    sim.run({ until: 100 * MS });
    const later = hc.credit2State();
    hc.stop();
    expect(atStart).toEqual([0, 0, 0, 0]);
    expect(hc.stats.migrations).toBeGreaterThanOrEqual(1);
    expect(later.units.filter((u) => u.runqueue === 1).length).toBeGreaterThanOrEqual(1);
    expect(later.runqueues.map((r) => r.load)).toEqual([2, 2]);
  });
});

describe("determinism on a Xen host", () => {
  it("the same seed gives the same ebizzy run, floating vCPUs in socket run queues", () => {
    const run = () =>
      runMicro({
        workload: "ebizzy",
        profile: "v4.14",
        backend: "xen-pv",
        nrCpus: 8,
        durationNs: 5 * MS,
        seed: 7,
        host: { pcpus: 8, otherVcpus: 8, hypervisor: "xen" },
        backendOptions: { xenPvHost: "shim-ipi" },
      });
    expect(JSON.stringify(run())).toBe(JSON.stringify(run()));
  });
});
