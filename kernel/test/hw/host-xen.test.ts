/**
 * A Xen host (hw/host-sched.ts, hypervisor "xen"): credit2's decisions (ratelimit, MIN_TIMER,
 * credit by weight), the undirected vcpu_yield() of a PAUSE exit, and the Linux guest's
 * SCHEDOP_yield after a call-function IPI to a stolen vCPU — against the KVM host's figures.
 */
import { describe, expect, it } from "vitest";
import { CSCHED2, Host, HostCpus, type HostParams } from "../../src/hw/host.js";
import { Machine } from "../../src/hw/machine.js";
import { smp_call_function_many } from "../../src/hw/smp.js";
import type { Cpu } from "../../src/hw/cpu.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import { buildSystem } from "../../src/system/build.js";

const US = 1_000;
const MS = 1_000_000;

function machine(sim: Simulation, nrCpus: number): Machine {
  return new Machine(sim, { nrCpus, costs: { jitter: 0 } });
}

/** A task that spends `ns` of the CPU's time in 10 µs steps, in kernel mode. */
function busy(cpu: Cpu, ns: number): void {
  cpu.run(
    "busy",
    (function* (): Kfn<void> {
      for (let left = ns; left > 0; left -= 10 * US) yield Math.min(left, 10 * US);
    })(),
  );
}

/** Two always-busy one-vCPU VMs on one pCPU for 100 ms: switches and each one's share. */
function twoVms(host: HostParams, weights: readonly [number, number] = [256, 256]) {
  const sim = new Simulation({ seed: 1, trace: false });
  const hc = new HostCpus(sim, { pcpus: 1, ...host });
  const a = machine(sim, 1);
  const b = machine(sim, 1);
  new Host(a, { weight: weights[0] }, hc);
  new Host(b, { weight: weights[1] }, hc);
  busy(a.cpus[0]!, 500 * MS);
  busy(b.cpus[0]!, 500 * MS);
  hc.start();
  sim.run({ until: 100 * MS });
  const ranA = 100 * MS - hc.stealNs(a.cpus[0]!);
  const ranB = 100 * MS - hc.stealNs(b.cpus[0]!);
  hc.stop();
  return { preemptions: hc.stats.preemptions, ratio: ranA / ranB, stats: hc.stats };
}

/** vCPU 0 sends a call-function IPI (wait = 1) to `targets` busy vCPUs on the same pCPU. */
function crossCall(host: HostParams, targets: number) {
  const sim = new Simulation({ seed: 1, trace: false });
  const m = machine(sim, targets + 1);
  const h = new Host(m, { pcpus: 1, ...host });
  for (let i = 1; i <= targets; i++) busy(m.cpus[i]!, 30 * MS);
  const handled: number[] = [];
  let sentAt = 0;
  let doneAt = 0;
  m.cpus[0]!.run(
    "sender",
    (function* (): Kfn<void> {
      yield 100 * US;
      sentAt = sim.now;
      yield* smp_call_function_many(
        m.cpus[0]!,
        Array.from({ length: targets }, (_, i) => i + 1),
        function* (cpu: Cpu): Kfn<void> {
          handled[cpu.id] = sim.now;
          yield 0;
        },
        true,
      );
      doneAt = sim.now;
    })(),
  );
  h.start();
  sim.schedule(200 * MS, () => h.stop());
  sim.run();
  const firstHandled = Math.min(...handled.slice(1));
  return { stats: h.stats, firstHandledAfter: firstHandled - sentAt, waited: doneAt - sentAt };
}

describe("Xen credit2", () => {
  it("two busy units of equal weight take turns of 1 ms; a longer ratelimit makes longer turns", () => {
    const xen = twoVms({ hypervisor: "xen" });
    const noRatelimit = twoVms({ hypervisor: "xen", ratelimitUs: 0 });
    const long = twoVms({ hypervisor: "xen", ratelimitUs: 5000 });
    const kvm = twoVms({});
    // a decision runs until the waiting unit's credit is reached, at least MIN_TIMER (0.5 ms)
    // and the ratelimit (1 ms); equal credit keeps the current unit: turns of about 1 ms
    for (const r of [xen, noRatelimit]) {
      expect(r.preemptions).toBeGreaterThanOrEqual(60);
      expect(r.preemptions).toBeLessThanOrEqual(101);
    }
    // a 5 ms ratelimit: at most one switch per 5 ms
    expect(long.preemptions).toBeLessThanOrEqual(21);
    // CFS on one pCPU (6 ms sched_latency for two threads) switches less often
    expect(kvm.preemptions).toBeLessThan(0.8 * xen.preemptions);
    for (const r of [xen, noRatelimit, long, kvm]) expect(Math.abs(r.ratio - 1)).toBeLessThan(0.1);
    expect(xen.stats.creditResets).toBeGreaterThan(0);
    expect(kvm.stats.creditResets).toBe(0);
  });

  it("credit burns at maxWeight / weight: a unit of twice the weight runs about twice as long", () => {
    const r = twoVms({ hypervisor: "xen" }, [512, 256]);
    expect(r.ratio).toBeGreaterThan(1.7);
    expect(r.ratio).toBeLessThan(2.3);
  });
});

describe("what a waiter for a descheduled vCPU can do on Xen", () => {
  it("without PLE a sender waits until its own decision ends (the 1 ms ratelimit), not a CFS slice", () => {
    const xen = crossCall({ hypervisor: "xen", ple: false }, 1);
    const kvm = crossCall({ ple: false }, 1);
    expect(xen.stats.pleExits).toBe(0);
    // a single-target IPI takes the CALL_FUNCTION_SINGLE path: no SCHEDOP_yield
    expect(xen.stats.schedOpYields).toBe(0);
    expect(xen.firstHandledAfter).toBeGreaterThan(0.8 * MS);
    expect(xen.firstHandledAfter).toBeLessThan(CSCHED2.defaultRatelimitUs * US + 50 * US);
    expect(kvm.firstHandledAfter).toBeGreaterThan(xen.firstHandledAfter);
  });

  it("a PAUSE exit yields undirected: the preempted target runs at once, the spinner waits its decision", () => {
    const r = crossCall({ hypervisor: "xen", ple: true }, 1);
    expect(r.stats.pleExits).toBeGreaterThanOrEqual(1);
    expect(r.stats.xenYieldsTaken).toBeGreaterThanOrEqual(1);
    expect(r.stats.directedYields).toBe(0);
    expect(r.firstHandledAfter).toBeLessThan(20 * US);
    // the target, picked by the yield, runs at least the ratelimit before the sender is back
    expect(r.waited).toBeGreaterThanOrEqual(CSCHED2.defaultRatelimitUs * US);
  });

  it("the guest's SCHEDOP_yield after a multi-target IPI to a stolen vCPU (xen_smp_send_call_function_ipi)", () => {
    const r = crossCall({ hypervisor: "xen", ple: false }, 2);
    expect(r.stats.schedOpYields).toBe(1);
    expect(r.stats.xenYieldsTaken).toBe(1);
    expect(r.firstHandledAfter).toBeLessThan(20 * US);
  });
});

describe("Xen host parameters", () => {
  it("refuses KVM-only parameters, a bad ratelimit, unknown hypervisors and KVM's PV flush", () => {
    const sim = new Simulation({ seed: 1, trace: false });
    expect(() => new HostCpus(sim, { hypervisor: "xen", kernel: "v6.1" })).toThrow(ParameterError);
    expect(() => new HostCpus(sim, { hypervisor: "xen", pleWindowGrow: 4 })).toThrow(/KVM host/);
    expect(() => new HostCpus(sim, { hypervisor: "xen", ratelimitUs: 50 })).toThrow(/100/);
    expect(() => new HostCpus(sim, { ratelimitUs: 1000 })).toThrow(/Xen host/);
    expect(
      () => new HostCpus(sim, { hypervisor: "vmware" as unknown as HostParams["hypervisor"] }),
    ).toThrow(UnknownNameError);
    expect(() =>
      buildSystem({
        profile: "v6.1",
        backend: "kvm-pv",
        nrCpus: 2,
        host: { pcpus: 1, hypervisor: "xen" },
      }),
    ).toThrow(/KVM's PV flush/);
    // Xen's viridian flush (Hyper-V enlightenment) and native IPIs are fine
    for (const backend of ["native", "hyperv"])
      expect(
        buildSystem({ profile: "v6.1", backend, nrCpus: 2, host: { pcpus: 1, hypervisor: "xen" } })
          .host.cpus.hypervisor,
      ).toBe("xen");
  });
});
