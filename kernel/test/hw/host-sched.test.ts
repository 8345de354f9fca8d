/**
 * The host's scheduler of vCPU threads (hw/host.ts): CFS shares by weight, halting, load
 * balancing, pause-loop exiting with kvm_vcpu_on_spin's directed yield, PV sched yield, and the
 * host kernel's versions of the steal-time `preempted` flag.
 */
import { describe, expect, it } from "vitest";
import { Host, HostCpus, KVM_VCPU_PREEMPTED } from "../../src/hw/host.js";
import { Machine } from "../../src/hw/machine.js";
import { smp_call_function_many } from "../../src/hw/smp.js";
import type { Cpu } from "../../src/hw/cpu.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import { flush_tlb_mm_range } from "../../src/arch/x86/tlb.js";
import { buildSystem } from "../../src/system/build.js";

const US = 1_000;
const MS = 1_000_000;

function machine(sim: Simulation, nrCpus: number): Machine {
  return new Machine(sim, { nrCpus, costs: { jitter: 0 } });
}

/** A task that spends `ns` of the CPU's time in 10 µs steps, in kernel mode; records the end. */
function busy(cpu: Cpu, ns: number, done: (at: number) => void = () => {}): void {
  const sim = cpu.machine.sim;
  cpu.run(
    "busy",
    (function* (): Kfn<void> {
      for (let left = ns; left > 0; left -= 10 * US) yield Math.min(left, 10 * US);
      done(sim.now);
    })(),
  );
}

describe("host CFS", () => {
  it("shares a pCPU by weight: a 2048-weight VM's vCPU runs twice as long as a 1024 one", () => {
    const sim = new Simulation({ seed: 1, trace: false });
    const hc = new HostCpus(sim, { pcpus: 1 });
    const a = machine(sim, 1);
    const b = machine(sim, 1);
    new Host(a, { weight: 2048 }, hc);
    new Host(b, { weight: 1024 }, hc);
    let doneA = -1;
    let doneB = -1;
    busy(a.cpus[0]!, 200 * MS, (t) => (doneA = t));
    busy(b.cpus[0]!, 200 * MS, (t) => (doneB = t));
    hc.start();
    sim.run({ until: 150 * MS });
    // after 150 ms neither is done; the heavy one has had about 100 ms, the light one 50 ms
    expect(doneA).toBe(-1);
    expect(doneB).toBe(-1);
    const ranA = 150 * MS - hc.stealNs(a.cpus[0]!);
    const ranB = 150 * MS - hc.stealNs(b.cpus[0]!);
    expect(ranA / ranB).toBeGreaterThan(1.7);
    expect(ranA / ranB).toBeLessThan(2.3);
    hc.stop();
  });

  it("a vCPU with nothing to run halts and gives its pCPU back; a kick wakes it", () => {
    const run = (otherBusy: boolean) => {
      const sim = new Simulation({ seed: 1, trace: false });
      const m = machine(sim, 2);
      const host = new Host(m, { pcpus: 1 });
      let done = -1;
      busy(m.cpus[0]!, 5 * MS, (t) => (done = t));
      if (otherBusy) busy(m.cpus[1]!, 20 * MS);
      host.start();
      sim.schedule(40 * MS, () => host.stop());
      sim.run();
      return { done, stats: host.stats };
    };
    const idleOther = run(false);
    const busyOther = run(true);
    // alone on the pCPU once the other vCPU halted: 5 ms of work in about 5 ms
    expect(idleOther.done).toBeLessThan(5.1 * MS);
    expect(idleOther.stats.halts).toBeGreaterThanOrEqual(1);
    // sharing it with a busy vCPU: about twice as long
    expect(busyOther.done).toBeGreaterThan(8 * MS);
  });

  it("an idle pCPU pulls a waiting floating vCPU (idle balance); pinned vCPUs stay", () => {
    const run = (pinned: boolean) => {
      const sim = new Simulation({ seed: 1, trace: false });
      const m = machine(sim, 3);
      const host = new Host(m, { pcpus: 2, pinned });
      const done: number[] = [];
      // vCPUs 0 and 2 share pCPU 0; vCPU 1 has pCPU 1 and little to do
      busy(m.cpus[0]!, 10 * MS, (t) => done.push(t));
      busy(m.cpus[1]!, 1 * MS, (t) => done.push(t));
      busy(m.cpus[2]!, 10 * MS, (t) => done.push(t));
      host.start();
      sim.schedule(60 * MS, () => host.stop());
      sim.run();
      return { last: Math.max(...done), migrations: host.stats.migrations };
    };
    const floating = run(false);
    const pinned = run(true);
    expect(pinned.migrations).toBe(0);
    expect(floating.migrations).toBeGreaterThanOrEqual(1);
    expect(pinned.last).toBeGreaterThan(19 * MS);
    expect(floating.last).toBeLessThan(0.8 * pinned.last);
  });

  it("vCPUs float by default on KVM and Xen hosts (QEMU's and xl's defaults); pinned on request", () => {
    // two VMs with as many vCPUs as pCPUs, each busy on its vCPU 0 only: pinned, both vCPU 0s
    // share pCPU 0 while pCPU 1 idles; floating, the idle pCPU runs one of them (a KVM idle
    // balance; on Xen, the run queue both pCPUs share)
    const run = (hypervisor: "kvm" | "xen", pinned?: boolean) => {
      const sim = new Simulation({ seed: 1, trace: false });
      const hc = new HostCpus(sim, { pcpus: 2, hypervisor });
      const done: number[] = [];
      [0, 1].forEach(() => {
        const m = machine(sim, 2);
        busy(m.cpus[0]!, 10 * MS, (t) => done.push(t));
        return new Host(m, pinned === undefined ? {} : { pinned }, hc);
      });
      hc.start();
      sim.schedule(60 * MS, () => hc.stop());
      sim.run();
      expect(done).toHaveLength(2);
      return Math.max(...done);
    };
    for (const hypervisor of ["kvm", "xen"] as const) {
      expect(run(hypervisor)).toBeLessThan(12 * MS);
      expect(run(hypervisor, true)).toBeGreaterThan(19 * MS);
    }
  });
});

/**
 * vCPU 0 sends a call-function IPI (wait = 1) to vCPUs that the host has descheduled on the same
 * pCPU; returns when each target ran the function.
 */
function crossCall(opts: {
  kernel: string;
  ple: boolean;
  targets: number;
  pvSchedYield?: boolean;
}) {
  const sim = new Simulation({ seed: 1, trace: false });
  const m = machine(sim, opts.targets + 1);
  const host = new Host(m, {
    pcpus: 1,
    kernel: opts.kernel,
    ple: opts.ple,
    pvSchedYield: opts.pvSchedYield ?? false,
  });
  for (let i = 1; i <= opts.targets; i++) busy(m.cpus[i]!, 30 * MS);
  const handled: number[] = [];
  let flaggedAtSend = 0;
  m.cpus[0]!.run(
    "sender",
    (function* (): Kfn<void> {
      yield 100 * US;
      flaggedAtSend = host.stealTime[1]!.preempted;
      const targets = Array.from({ length: opts.targets }, (_, i) => i + 1);
      yield* smp_call_function_many(
        m.cpus[0]!,
        targets,
        function* (cpu: Cpu): Kfn<void> {
          handled[cpu.id] = sim.now;
          yield 0;
        },
        true,
      );
    })(),
  );
  host.start();
  sim.schedule(200 * MS, () => host.stop());
  sim.run();
  return { handled, stats: host.stats, flaggedAtSend };
}

describe("what a waiter for a descheduled vCPU can do", () => {
  it("PLE: the spinning sender exits after ple_window cycles and yields to the preempted target", () => {
    const without = crossCall({ kernel: "v4.15", ple: false, targets: 1 });
    const withPle = crossCall({ kernel: "v4.15", ple: true, targets: 1 });
    expect(without.flaggedAtSend & KVM_VCPU_PREEMPTED).toBe(KVM_VCPU_PREEMPTED);
    // without PLE the target runs the function only when the sender's CFS slice ends (ms)…
    expect(without.handled[1]).toBeGreaterThan(1 * MS);
    expect(without.stats.pleExits).toBe(0);
    // …with it, one window (4096 cycles ≈ 1.4 µs at 3 GHz) plus a switch after the send
    expect(withPle.stats.pleExits).toBeGreaterThanOrEqual(1);
    expect(withPle.stats.directedYields).toBe(1);
    expect(withPle.handled[1]).toBeLessThan(110 * US);
  });

  it("v5.19+ (6cd88243c7e0): a vCPU that yields from a PAUSE exit is not reported preempted", () => {
    const old = crossCall({ kernel: "v4.15", ple: true, targets: 1 });
    const now = crossCall({ kernel: "v6.1", ple: true, targets: 1 });
    expect(old.stats.preemptionOther).toBe(0);
    expect(now.stats.preemptionOther).toBeGreaterThanOrEqual(1);
  });

  it("PV sched yield (v5.3+ host and guest): one hypercall after the IPIs boosts the first preempted target", () => {
    const offered = crossCall({ kernel: "v5.4", ple: false, targets: 2, pvSchedYield: true });
    const notOffered = crossCall({ kernel: "v4.15", ple: false, targets: 2, pvSchedYield: true });
    const guestLacks = crossCall({ kernel: "v5.4", ple: false, targets: 2, pvSchedYield: false });
    expect(offered.stats.pvYieldCalls).toBe(1);
    expect(offered.stats.pvYields).toBe(1);
    expect(offered.handled[1]).toBeLessThan(110 * US);
    for (const r of [notOffered, guestLacks]) {
      expect(r.stats.pvYieldCalls).toBe(0);
      expect(r.handled[1]).toBeGreaterThan(1 * MS);
    }
  });

  it("a halted vCPU reads as preempted before v5.19 (54aa83c90198) and as running after", () => {
    const flagWhileHalted = (kernel: string) => {
      const sim = new Simulation({ seed: 1, trace: false });
      const m = machine(sim, 2);
      const host = new Host(m, { pcpus: 1, kernel });
      busy(m.cpus[0]!, 10 * MS);
      host.start();
      let flag = -1;
      sim.schedule(5 * MS, () => (flag = host.stealTime[1]!.preempted));
      sim.schedule(20 * MS, () => host.stop());
      sim.run();
      expect(host.stats.halts).toBeGreaterThanOrEqual(1);
      return flag;
    };
    expect(flagWhileHalted("v4.15")).toBe(KVM_VCPU_PREEMPTED);
    expect(flagWhileHalted("v5.4")).toBe(KVM_VCPU_PREEMPTED);
    expect(flagWhileHalted("v6.1")).toBe(0);
  });
});

describe("host parameters", () => {
  it("refuses unknown names and out-of-range numbers with typed errors", () => {
    const sim = new Simulation({ seed: 1, trace: false });
    expect(() => new HostCpus(sim, { kernel: "v9.9" })).toThrow(UnknownNameError);
    expect(() => new HostCpus(sim, { pcpus: 0 })).toThrow(ParameterError);
    expect(() => new HostCpus(sim, { pleWindow: -1 })).toThrow(/pleWindow/);
    expect(() => new HostCpus(sim, { hz: 5000 })).toThrow(/hz/);
    const m = machine(sim, 1);
    expect(() => new Host(m, { weight: 1 })).toThrow(/weight/);
    expect(() => new Host(m, { timesliceNs: 1 } as never)).toThrow(UnknownNameError);
  });
});

describe("an exit to user space (54aa83c90198)", () => {
  /** vCPU 1 is in a 500 µs MMIO exit when vCPU 0 flushes a page of an mm both have loaded. */
  function flushDuringExit(kernel: string): { flushNs: number; skipped: boolean } {
    const sys = buildSystem({
      profile: "v4.19",
      backend: "kvm-pv",
      nrCpus: 2,
      trace: false,
      costs: { jitter: 0 },
      host: { pcpus: 2, kernel },
    });
    const { sim, m, k, x86, host } = sys;
    const mm = k.mm_alloc();
    for (const c of m.cpus) x86.switch_mm(c, mm);
    busy(m.cpus[1]!, 2 * MS);
    host.start();
    sim.schedule(100 * US, () => host.cpus.exitToUserspace(m.cpus[1]!, 500 * US));
    let flushNs = -1;
    let skipped = false;
    m.cpus[0]!.run(
      "flusher",
      (function* (): Kfn<void> {
        yield 200 * US;
        skipped = (host.stealTime[1]!.preempted & KVM_VCPU_PREEMPTED) !== 0;
        const t0 = sim.now;
        yield* flush_tlb_mm_range(x86, m.cpus[0]!, mm, 0x1000, 0x2000, false);
        flushNs = sim.now - t0;
      })(),
    );
    sim.schedule(5 * MS, () => host.stop());
    sim.run();
    return { flushNs, skipped };
  }

  it("reads as preempted before v5.19, so a KVM PV flush skips the vCPU; after, the flush waits", () => {
    const before = flushDuringExit("v4.15");
    const after = flushDuringExit("v6.1");
    expect(before.skipped).toBe(true);
    expect(before.flushNs).toBeLessThan(20 * US);
    expect(after.skipped).toBe(false);
    // the IPI is taken when the VMM re-enters the vCPU, 400 µs after the flush started
    expect(after.flushNs).toBeGreaterThan(390 * US);
  });
});
