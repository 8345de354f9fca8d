/**
 * The guest's task scheduler on vCPUs that its host time-slices: regression tests for a lost
 * wake-up (a task woken onto a descheduled vCPU stayed asleep for ever) and for a kernel thread's
 * run overlapping a host deschedule ("cpuN is already stalled").
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/hw/host.js";
import { Machine } from "../../src/hw/machine.js";
import { Scheduler, type Task } from "../../src/sched/scheduler.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";

const US = 1_000;
const MS = 1_000_000;

/** A 1-vCPU guest sharing its only pCPU with one vCPU of another VM (2× overcommit); the host's
 * CFS slice is sched_latency / 2 (two threads). */
function guest(seed: number, latencyNs = 6 * MS) {
  const sim = new Simulation({ seed, trace: false });
  const m = new Machine(sim, { nrCpus: 1 });
  const host = new Host(m, {
    pcpus: 1,
    otherVcpus: 1,
    latencyNs,
    minGranularityNs: Math.min(750 * US, latencyNs / 2),
  });
  return { sim, m, host };
}

describe("a guest scheduler on time-sliced vCPUs", () => {
  it("runs a task woken while its vCPU is descheduled once the vCPU runs again (no lost wake-up)", () => {
    const { sim, m, host } = guest(7);
    const sched = new Scheduler(m);
    const ROUNDS = 40;
    let rounds = 0;
    /** sim.now of every user-time step, with whether the vCPU was running at the time. */
    const ranWhilePreempted: number[] = [];
    const t = sched.spawn("sleeper", (task: Task) =>
      (function* (): Kfn<void> {
        for (let i = 0; i < ROUNDS; i++) {
          // sleeps that end at arbitrary points of the host's slices, often while the vCPU waits
          yield* task.sleep(300 * US + i * 37 * US);
          if (m.cpus[0]!.hostPreempted) ranWhilePreempted.push(sim.now);
          yield* task.user(50 * US);
          rounds++;
        }
      })(),
    );
    host.start();
    sim.process(
      "stop-host",
      (function* (): Kfn<void> {
        if (!t.exited.triggered) yield t.exited;
        host.stop();
      })(),
    );
    sim.run({ until: 2_000 * MS });
    expect(rounds).toBe(ROUNDS);
    expect(t.exited.triggered).toBe(true);
    // the vCPU halted while its task slept and the wake-ups landed on it while the host ran the
    // other VM's vCPU (the case under test)…
    expect(host.stats.halts).toBeGreaterThan(10);
    expect(host.stats.wakeups).toBeGreaterThan(10);
    // …and the woken task never ran guest code while its vCPU was descheduled
    expect(ranWhilePreempted).toEqual([]);
  });

  it("lets the host deschedule a vCPU while a kworker runs on it, and defers the kworker's rest", () => {
    const { sim, m, host } = guest(3, 400 * US);
    // kworker wake-ups far more often than on a real host, so that they overlap host slices
    const sched = new Scheduler(m, { kthreadWakeupsPerSec: 20_000 });
    let finished = false;
    const t = sched.spawn("cc1", (task: Task) =>
      (function* (): Kfn<void> {
        yield* task.user(20 * MS);
        finished = true;
      })(),
    );
    sched.startKthreads(() => finished);
    host.start();
    sim.process(
      "stop-host",
      (function* (): Kfn<void> {
        if (!t.exited.triggered) yield t.exited;
        host.stop();
      })(),
    );
    expect(() => sim.run({ until: 1_000 * MS })).not.toThrow();
    expect(finished).toBe(true);
    expect(sched.kthreadPreemptions).toBeGreaterThan(50);
    const cpu = m.cpus[0]!;
    expect(cpu.hostPreempted).toBe(false);
    expect(cpu.stalled).toBe(false);
    // every kworker got its whole 5 µs of vCPU time: the task's 20 ms of user time plus the
    // kworkers' time is what the vCPU ran
    expect(cpu.kthreadNs).toBe(sched.kthreadPreemptions * 5 * US);
  });
});

describe("a kernel thread on a vCPU", () => {
  it("stops with the vCPU when the host deschedules it and gets the rest of its time after", () => {
    const sim = new Simulation({ seed: 1, trace: false });
    const m = new Machine(sim, { nrCpus: 1, costs: { jitter: 0 } });
    const cpu = m.cpus[0]!;
    const host = new Host(m, { pcpus: 1 });
    let taskDoneAt = -1;
    cpu.run(
      "task",
      (function* (): Kfn<void> {
        yield 10 * US;
        taskDoneAt = sim.now;
      })(),
    );
    sim.schedule(2 * US, () => cpu.runKthread(5 * US));
    host.preemptFor(cpu, 4 * US, 100 * US); // 2 µs into the kworker's 5
    sim.run();
    // task 2 µs, kworker 2 µs, descheduled 100 µs, kworker 3 µs, task 8 µs
    expect(taskDoneAt).toBe(115 * US);
    expect(cpu.kthreadNs).toBe(5 * US);
    expect(cpu.stalled).toBe(false);
  });
});
