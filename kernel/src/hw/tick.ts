/**
 * The scheduling-clock tick: one LOCAL_TIMER interrupt per CPU every 1/HZ s.
 *
 * It lives in hw/, beside the local APIC whose timer raises it, so that every layer above can
 * listen: RCU's rcu_check_callbacks does (rcu/tree.ts), and a scheduler's tick work could. (It
 * was in rcu/ until 2026-12; RCU sits below sched/ and system/, so the tick cannot live there.)
 *
 * Kernel: kernel/time/tick-sched.c (tick_sched_timer → tick_sched_handle → update_process_times)
 * and kernel/time/timer.c update_process_times → rcu_check_callbacks(user_mode(regs)), v4.14;
 * CONFIG_NO_HZ_IDLE (tick_nohz_idle_enter stops the tick of an idle CPU unless rcu_needs_cpu()).
 *
 * Invariant: the tick is an ordinary maskable interrupt. It is raised in the CPU's local APIC and
 * taken through hw's interrupt path, so a CPU with IRQs off takes it only at local_irq_enable,
 * a host-preempted vCPU takes none until it runs again, and several ticks missed meanwhile
 * collapse into one (one IRR bit per vector).
 *
 * Race modelled: a CPU that keeps IRQs off cannot take the tick, so it cannot report the
 * quiescent state a grace period waits for (kernel.md §3.2).
 *
 * Timing: CPU c's k-th tick fires at offset(c) + floor(k · 10⁹ / HZ) ns, with
 * offset(c) = floor(c · (10⁹ / HZ) / nrCpus): deterministic and spread over the period so that
 * CPUs never tick at the same instant (Linux aligns them unless booted with `skew_tick=1`, which
 * spreads them over half a period; the spread keeps simultaneous ticks from hiding ordering
 * effects). CPU 0's ticks are the jiffy boundaries.
 *
 * Ending a run: ticks would keep the event queue alive forever. Two ways out, both documented
 * on the class: `stop()` disarms every tick; and ticks go dormant on their own when every
 * listener is quiescent (RCU has no callback, no grace period and no request) and nothing but
 * ticks is left in the event queue, i.e. when nothing else can ever happen. `kick()` (called by
 * RCU whenever it gets work) re-arms dormant ticks on their original phase. Several machines can
 * share one simulation (the guests of one host, system/build.ts): "nothing but ticks" counts the
 * ticks of all of them, or two idle guests would each see the other's ticks and tick forever.
 *
 * Profile fields: `hz`, `nohzIdle`, `tickNs` (params.ts).
 */
import { ParameterError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import type { Rng } from "../sim/rng.js";
import { Priority, type Simulation } from "../sim/simulation.js";
import type { Cpu } from "./cpu.js";
import type { Machine } from "./machine.js";
import { MAX_CPUS } from "./machine.js";

/** Something that runs in every tick (RCU's rcu_check_callbacks, later a scheduler). */
export interface TickListener {
  /** Runs in the tick's hard-IRQ context, after the handler's own cost. */
  onTick(cpu: Cpu): Kfn<void>;
  /** NO_HZ_IDLE: may this CPU's tick be stopped right now (the CPU is idle and the listener
   * needs no tick there)? */
  canStopTick(cpu: Cpu): boolean;
  /** The listener has nothing in progress; ticks may go dormant if nothing else is scheduled. */
  quiescent(): boolean;
}

export interface SchedulerTickParams {
  /** Ticks per second (CONFIG_HZ). */
  readonly hz: number;
  /** Stop the tick of an idle CPU that no listener needs (CONFIG_NO_HZ_IDLE). */
  readonly nohzIdle: boolean;
  /** Handler work besides interrupt entry/exit, ns, spent with IRQs off. */
  readonly tickNs: number;
}

export interface TickStats {
  /** Ticks raised in the CPU's APIC, per CPU. */
  readonly raised: number[];
  /** Tick instants skipped because the CPU's tick was stopped in idle (NO_HZ), per CPU. */
  readonly stopped: number[];
}

const TICK = Symbol("SchedulerTick");

/** Tick events in a simulation's queue, from every machine on it (current or stale epoch). */
interface QueuedTicks {
  n: number;
}
const QUEUED_TICKS = Symbol("queued ticks");

function noQueuedTicks(): QueuedTicks {
  return { n: 0 };
}

function queuedTicksOf(sim: Simulation): QueuedTicks {
  return sim.perSimulation(QUEUED_TICKS, noQueuedTicks);
}

export class SchedulerTick {
  readonly machine: Machine;
  readonly params: SchedulerTickParams;
  readonly stats: TickStats;
  private readonly listeners: TickListener[] = [];
  private readonly offsets: number[];
  private readonly nextIndex: number[];
  private readonly armed: boolean[];
  private readonly dormant: boolean[];
  private running = false;
  /** Bumped by stop(): tick events armed before carry an old epoch and do nothing. */
  private epoch = 0;
  /** Tick events in the event queue, this machine's and those of the other machines sharing
   * its simulation. */
  private readonly ticksInQueue: QueuedTicks;
  private readonly fireCb: (arg: number) => void;
  private handlerInstalled = false;
  /** Own random stream (Rng.fork), so ticks do not shift other components' draws. */
  private readonly rng: Rng;

  /** The machine's tick device, created on first use. A machine has one tick: a second caller
   * must ask for the same HZ and NO_HZ setting. */
  static of(machine: Machine, params: SchedulerTickParams): SchedulerTick {
    const t = machine.singleton(TICK, () => new SchedulerTick(machine, params));
    for (const k of ["hz", "nohzIdle", "tickNs"] as const) {
      if (t.params[k] !== params[k])
        throw new ParameterError(
          k,
          params[k],
          `${String(t.params[k])}, the value this machine's tick already uses`,
          "SchedulerTick.of",
        );
    }
    return t;
  }

  private constructor(machine: Machine, params: SchedulerTickParams) {
    this.machine = machine;
    this.params = Object.freeze({ ...params });
    const n = machine.nrCpus;
    const period = 1e9 / params.hz;
    this.offsets = machine.cpus.map((c) => Math.floor((c.id * period) / n));
    this.nextIndex = new Array<number>(n).fill(0);
    this.armed = new Array<boolean>(n).fill(false);
    this.dormant = new Array<boolean>(n).fill(false);
    this.stats = { raised: new Array<number>(n).fill(0), stopped: new Array<number>(n).fill(0) };
    this.fireCb = (arg: number) => this.fire(arg);
    this.ticksInQueue = queuedTicksOf(machine.sim);
    this.rng = machine.sim.rng.fork();
  }

  get hz(): number {
    return this.params.hz;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Start of jiffy `j`, ns (CPU 0's j-th tick). */
  jiffyStart(j: number): number {
    return Math.floor((j * 1e9) / this.params.hz);
  }

  /** The jiffies counter at time `t` (default now): the number of jiffy boundaries in (0, t]
   * plus the one at 0, i.e. the largest j with jiffyStart(j) ≤ t. */
  jiffies(t: number = this.machine.sim.now): number {
    let j = Math.floor(t / (1e9 / this.params.hz));
    while (this.jiffyStart(j + 1) <= t) j++;
    while (j > 0 && this.jiffyStart(j) > t) j--;
    return j;
  }

  /** Time of CPU `cpu`'s `k`-th tick, ns. */
  tickTime(cpu: number, k: number): number {
    return this.offsets[cpu]! + this.jiffyStart(k);
  }

  addListener(l: TickListener): void {
    if (!this.listeners.includes(l)) this.listeners.push(l);
  }

  /** Removes a listener; the last one leaving stops the ticks. */
  removeListener(l: TickListener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
    if (this.listeners.length === 0) this.stop();
  }

  /** Installs the LOCAL_TIMER handler (replacing any other: this device is the machine's only
   * LOCAL_TIMER source) and arms every CPU's tick at its next instant after now. */
  start(): void {
    if (!this.handlerInstalled) {
      this.machine.setVectorHandler("LOCAL_TIMER", (cpu) => this.local_apic_timer_interrupt(cpu));
      this.handlerInstalled = true;
    }
    if (this.running) return;
    this.running = true;
    for (const cpu of this.machine.cpus) {
      this.dormant[cpu.id] = false;
      this.arm(cpu.id, true);
    }
  }

  /** Disarms every tick. Tick events already queued fire once and do nothing; a tick already
   * raised in a CPU's APIC is still taken. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.epoch++;
    this.armed.fill(false);
    this.dormant.fill(false);
  }

  /** Re-arms ticks that went dormant (a listener has work again). */
  kick(): void {
    if (!this.running) return;
    for (const cpu of this.machine.cpus) {
      if (this.dormant[cpu.id]) {
        this.dormant[cpu.id] = false;
        this.arm(cpu.id, true);
      }
    }
  }

  private arm(cpu: number, fromNow: boolean): void {
    if (this.armed[cpu]) return;
    const now = this.machine.sim.now;
    let k = this.nextIndex[cpu]!;
    if (fromNow) {
      k = Math.max(0, this.jiffies(Math.max(0, now - this.offsets[cpu]!)));
      while (this.tickTime(cpu, k) <= now) k++;
    }
    this.nextIndex[cpu] = k;
    this.armed[cpu] = true;
    this.ticksInQueue.n++;
    const arg = this.epoch * MAX_CPUS + cpu;
    this.machine.sim.schedule(this.tickTime(cpu, k) - now, this.fireCb, Priority.URGENT, arg);
  }

  /** The timer hardware: raises LOCAL_TIMER unless the tick is stopped, then re-arms. */
  private fire(arg: number): void {
    this.ticksInQueue.n--;
    const cpuId = arg % MAX_CPUS;
    if (Math.floor(arg / MAX_CPUS) !== this.epoch || !this.running) return;
    this.armed[cpuId] = false;
    this.nextIndex[cpuId] = this.nextIndex[cpuId]! + 1;
    // Nothing else can ever happen: stop instead of ticking forever (see the module comment).
    if (this.allQuiescent() && this.machine.sim.queue.length <= this.ticksInQueue.n) {
      this.dormant[cpuId] = true;
      return;
    }
    const cpu = this.machine.cpus[cpuId]!;
    if (this.params.nohzIdle && this.allCanStopTick(cpu)) {
      this.stats.stopped[cpuId] = this.stats.stopped[cpuId]! + 1;
    } else {
      this.stats.raised[cpuId] = this.stats.raised[cpuId]! + 1;
      cpu.raise("LOCAL_TIMER");
    }
    this.arm(cpuId, false);
  }

  // Loops rather than `every` with an arrow (docs/benchmarks.md, "Performance devices").
  private allQuiescent(): boolean {
    for (const l of this.listeners) if (!l.quiescent()) return false;
    return true;
  }

  private allCanStopTick(cpu: Cpu): boolean {
    for (const l of this.listeners) if (!l.canStopTick(cpu)) return false;
    return true;
  }

  /**
   * local_apic_timer_interrupt → tick_sched_timer → tick_sched_handle → update_process_times
   * (v4.14): the handler's own work, then every listener (rcu_check_callbacks first in the
   * kernel; here in registration order). Runs in hard-IRQ context with IF = 0.
   */
  private *local_apic_timer_interrupt(cpu: Cpu): Kfn<void> {
    yield this.rng.jitter(this.params.tickNs, this.machine.costs.jitter);
    for (const l of this.listeners) yield* l.onTick(cpu);
  }
}
