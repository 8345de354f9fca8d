/**
 * A CFS-like task scheduler (kernel/sched/fair.c, pre-EEVDF, v4.14), close enough that
 * `make -j N` behaves as on Linux: per-CPU run queues ordered by vruntime, a timeslice of
 * sched_latency / nr_running (at least min_granularity), both scaled by 1 + ilog2(min(ncpus, 8));
 * wake-up and fork placement on an idle core, then an idle CPU, then the shortest queue; idle
 * balancing that pulls a waiting task when a CPU runs out of work. Voluntary (sleep, wait) and
 * involuntary (slice expired with others waiting) context switches are counted per task as
 * getrusage's ru_nvcsw / ru_nivcsw, which is what GNU time's %w and %c print for kernbench.
 *
 * Kernel preemption is CONFIG_PREEMPT_VOLUNTARY, as distribution kernels of 2017: a task is
 * preempted only in user mode (at the end of a user-time chunk), never inside a kernel path.
 *
 * A task's body is a generator that runs only while the task is on a CPU. It spends user time
 * with `user(ns)`, runs kernel paths with `kernel(fn)`, and blocks with `sleep`/`waitFor`.
 * User and system time scale with contention: a busy SMT sibling and busy other CPUs slow a task
 * down by the host profile's factors (costs.md gives none; they are calibrated, docs/model.md).
 */
import { checkInt, checkName, checkNumber, KernelStateError } from "../sim/errors.js";
import { SimEvent } from "../sim/event.js";
import type { Rng } from "../sim/rng.js";
import { waitFor, type Kfn } from "../sim/process.js";
import type { Process } from "../sim/process.js";
import type { Cpu } from "../hw/cpu.js";
import type { Machine } from "../hw/machine.js";
import type { SchedOps } from "../mm/kernel.js";

export interface SchedParams {
  /** sysctl_sched_latency before scaling, ns. Default 6 ms (kernel/sched/fair.c). */
  readonly latencyNs?: number;
  /** sysctl_sched_min_granularity before scaling, ns. Default 0.75 ms. */
  readonly minGranularityNs?: number;
  /** Threads per core: CPU i's siblings are i ± k·(ncpus / smt). Default 1 (no SMT). */
  readonly smt?: number;
  /** User-time slowdown when the SMT sibling is busy (0.3 = 30 % slower). Default 0. */
  readonly smtSlowdown?: number;
  /** User-time slowdown per fraction of other CPUs busy (memory and cache contention). */
  readonly contentionSlowdown?: number;
  /** System-time slowdown per fraction of other CPUs busy (lock and allocator contention). */
  readonly sysContentionSlowdown?: number;
  /** sysctl_sched_wakeup_granularity before scaling, ns: a woken task preempts the running one
   * when it is this far behind in vruntime (check_preempt_wakeup). Default 1 ms. */
  readonly wakeupGranularityNs?: number;
  /** Kernel-thread wake-ups per second per busy CPU (kworkers, RCU and timer softirq threads)
   * that preempt the running task briefly. Calibrated. Default 0. */
  readonly kthreadWakeupsPerSec?: number;
  /** Voluntary waits on contended kernel locks per ms of system time, at full contention
   * (scaled by the fraction of other CPUs busy). Calibrated. Default 0. */
  readonly lockWaitsPerSysMs?: number;
  /** Scheduler ticks per second whose samples split a task's runtime into user and system time
   * (sched/cputime.ts); 0: no sampling (the tick counters stay 0). Default 0. */
  readonly hz?: number;
  /** Where the first tick falls after time 0, ns in [0, 1e9 / hz): a run starts at an arbitrary
   * moment of the jiffy. All CPUs tick together (skew_tick=0, the default). Default 0. */
  readonly tickPhaseNs?: number;
  /** What the guest's tick and runtime do with steal time, the spans its vCPU was descheduled
   * by the host while runnable (Cpu.stealClock); see {@link StealAccounting}. Default "none". */
  readonly stealAccounting?: StealAccounting;
  /** Called on every context switch, with the CPU and the task coming in (null: idle). */
  readonly onSwitch?: (cpu: Cpu, next: Task | null, prev: Task | null) => void;
}

/**
 * How a guest kernel accounts the time its vCPU spends descheduled by the host (steal):
 *
 * - "none": no paravirt steal clock (bare metal; a guest kernel without CONFIG_PARAVIRT, or a
 *   host that offers none). The task is current on its CPU the whole time, so a kernel path's
 *   span, descheduled time included, is its runtime and its ticks sample it as system time.
 *   (The model's user-time chunks count only the time run, as before; see docs/model.md.)
 * - "tick": `paravirt_steal_enabled` (KVM_FEATURE_STEAL_TIME, Xen's runstate area):
 *   account_process_tick first calls steal_account_process_time, which charges the steal since
 *   the last tick to cpustat[CPUTIME_STEAL] and takes it off the tick's TICK_NSEC, so no user or
 *   system sample falls in a descheduled span. sum_exec_runtime still includes the steal
 *   (rq->clock_task is not corrected), and cputime_adjust splits it by the tick samples.
 * - "rq": also CONFIG_PARAVIRT_TIME_ACCOUNTING with `paravirt_steal_rq_enabled`:
 *   update_rq_clock_task takes the steal off rq->clock_task, so the runtime and vruntime exclude
 *   the time the vCPU was descheduled.
 */
export type StealAccounting = "none" | "tick" | "rq";
export const STEAL_ACCOUNTING: readonly StealAccounting[] = ["none", "tick", "rq"];

export interface TaskStats {
  /** ns of user and system time. */
  utime: number;
  stime: number;
  /** Voluntary and involuntary context switches (ru_nvcsw, ru_nivcsw). */
  nvcsw: number;
  nivcsw: number;
  /** Scheduler ticks that found the task running in user and in kernel mode
   * (account_process_tick), when the scheduler samples (SchedParams.hz). */
  userTicks: number;
  sysTicks: number;
}

export type TaskBody = (t: Task) => Kfn<void>;

export class Task {
  readonly id: number;
  readonly name: string;
  readonly sched: Scheduler;
  readonly stats: TaskStats = {
    utime: 0,
    stime: 0,
    nvcsw: 0,
    nivcsw: 0,
    userTicks: 0,
    sysTicks: 0,
  };
  /** The CPU the task runs on; null while it waits or sleeps. */
  cpu: Cpu | null = null;
  /** The CPU it last ran on (wake affinity). */
  prevCpu: number;
  vruntime = 0;
  state: "runnable" | "running" | "sleeping" | "dead" = "runnable";
  sliceEnd = 0;
  /** Set when a woken task should preempt this one (TIF_NEED_RESCHED). */
  needResched = false;
  /** Triggered when the task exits. */
  readonly exited = new SimEvent<void>("exit");
  /** Anything the owner wants to hang on the task (its mm, for instance). */
  data: unknown = undefined;
  /** cpus_allowed (sched_setaffinity): null means every CPU. */
  cpusAllowed: ReadonlySet<number> | null = null;
  /** Set while the task sleeps inside a kernel path: it is woken on this CPU. */
  wakeOn: number | null = null;
  /** ns spent off the CPU in blocking waits, from the block to the next dispatch: a kernel path
   * that sleeps (sleep_on) is not charged that time as system time. */
  offCpuNs = 0;
  proc!: Process<void>;
  /** Steal seen while on a CPU (with steal accounting): the total, and the CPU and its steal
   * clock when the task last looked. */
  private stolenNs = 0;
  private stealCpu: Cpu | null = null;
  private stealMark = 0;
  private dispatched: SimEvent<void> = new SimEvent<void>("dispatch");

  constructor(sched: Scheduler, id: number, name: string, prevCpu: number) {
    this.sched = sched;
    this.id = id;
    this.name = name;
    this.prevCpu = prevCpu;
  }

  /** The CPU the task is running on; an error if it is not running. */
  get here(): Cpu {
    if (this.cpu === null)
      throw new KernelStateError("Task.here", `task ${this.name} is not on a CPU`);
    return this.cpu;
  }

  /** Scheduler use: give the task a CPU. */
  dispatch(cpu: Cpu): void {
    this.cpu = cpu;
    this.state = "running";
    const ev = this.dispatched;
    this.dispatched = new SimEvent<void>("dispatch");
    ev.succeed();
  }

  /**
   * Blocks until the scheduler gives this task a CPU, and until that CPU runs it. A wake-up is
   * carried out by the wakee's own process here (try_to_wake_up runs in its context), so the
   * CPU it is placed on may be descheduled by the host or inside an interrupt handler at that
   * moment: then the task stops here and goes on when the CPU continues it (Cpu.setTask).
   */
  *waitDispatch(): Kfn<void> {
    if (this.state !== "running") yield this.dispatched;
    if (this.proc.suspended) yield 0;
    if (this.sched.stealAccounting !== "none") this.stealArrive();
  }

  /** Steal the task has seen while on its CPUs so far, ns (0 without steal accounting). */
  stolen(): number {
    const cpu = this.cpu;
    if (cpu === null) return this.stolenNs;
    if (cpu !== this.stealCpu) {
      this.stealArrive();
      return this.stolenNs;
    }
    const c = cpu.stealClock();
    this.stolenNs += c - this.stealMark;
    this.stealMark = c;
    return this.stolenNs;
  }

  /** The task runs on a CPU from now: steal counts from this CPU's clock. */
  private stealArrive(): void {
    const cpu = this.cpu;
    this.stealCpu = cpu;
    this.stealMark = cpu === null ? 0 : cpu.stealClock();
  }

  /** Scheduler use: the task leaves its CPU; what was stolen before is kept, nothing after. */
  stealLeave(): void {
    this.stolen();
    this.stealCpu = null;
  }

  /**
   * Spends `ns` of user time (nominal, before contention), preemptible at chunk boundaries.
   *
   * `interleavedKernelNs` is kernel work done in many short entries spread evenly through that
   * user time — the page faults of a growing heap, the read()/write() calls of a compiler —
   * each far shorter than a jiffy. It is charged as system time (at the system-time slowdown)
   * in proportion to the user time run, and a scheduler tick that falls in the mixed span finds
   * the task in kernel mode with probability (kernel time / span) independently of the other
   * ticks: the tick samples the mode at an instant (account_process_tick), and which of the
   * thousands of sub-jiffy entries it catches is not fixed by anything coarser. Ticks of a span
   * of pure user time are all user ticks.
   */
  *user(ns: number, interleavedKernelNs = 0): Kfn<void> {
    const s = this.sched;
    // nominal kernel ns per nominal user ns
    const ratio = ns > 0 ? interleavedKernelNs / ns : 0;
    let left = ns;
    while (left > 0) {
      const cpu = this.here;
      cpu.taskMode = "user";
      const uSlow = s.userSlowdown(cpu);
      const kSlow = ratio > 0 ? s.sysSlowdown(cpu) : 0;
      // wall ns per nominal user ns
      const slow = uSlow + ratio * kSlow;
      const maxChunk = s.chunkNs;
      const sliceLeft = s.queued(cpu.id) > 0 ? Math.max(1, this.sliceEnd - s.sim.now) : maxChunk;
      const chunk = Math.max(1, Math.round(Math.min(left * slow, sliceLeft, maxChunk)));
      const st0 = s.stealAccounting === "none" ? 0 : this.stolen();
      yield chunk;
      // the chunk's ticks: those of the time it ran (a descheduled span has none)
      const ticks = s.ticksIn(s.sim.now - chunk, s.sim.now);
      // without CONFIG_PARAVIRT_TIME_ACCOUNTING the steal stays in the runtime ("tick")
      let stolen = 0;
      if (s.stealAccounting !== "none") {
        const st = this.stolen() - st0;
        s.stealNs += st;
        if (s.stealAccounting === "tick") stolen = st;
      }
      if (ratio > 0) {
        const sys = (chunk * ratio * kSlow) / slow;
        this.stats.stime += sys;
        this.stats.utime += chunk - sys + stolen;
        const inKernel = s.sampleKernelTicks(ticks, sys / chunk);
        this.stats.sysTicks += inKernel;
        this.stats.userTicks += ticks - inKernel;
      } else {
        this.stats.utime += chunk + stolen;
        this.stats.userTicks += ticks;
      }
      this.vruntime += chunk + stolen;
      left -= chunk / slow;
      if (left <= 0.5) left = 0;
      if (ratio > 0) {
        // the entries' contended-lock waits (as kernel() draws them for a contiguous path)
        const waits = s.lockWaits((chunk * ratio * kSlow) / slow);
        for (let i = 0; i < waits; i++) yield* this.sleep(20_000);
      }
      if (s.queued(this.here.id) > 0) {
        const wakeup = this.needResched;
        this.needResched = false;
        if (s.preemptSwitch(this, wakeup)) yield* this.waitDispatch();
      }
    }
    if (this.cpu) this.cpu.taskMode = "kernel";
  }

  /** Runs a kernel path on this task's CPU, accounting the time as system time. */
  *kernel<T>(fn: (cpu: Cpu) => Kfn<T>, extraNs = 0): Kfn<T> {
    const cpu = this.here;
    cpu.taskMode = "kernel";
    const s = this.sched;
    const t0 = s.sim.now;
    const off0 = this.offCpuNs;
    const st0 = s.stealAccounting === "none" ? 0 : this.stolen();
    const r = yield* fn(cpu);
    if (extraNs > 0) yield Math.round(extraNs * s.sysSlowdown(cpu));
    const now = s.sim.now;
    // the path's span on the CPU, sleeps left out
    const d = now - t0 - (this.offCpuNs - off0);
    // of which the vCPU ran (steal accounting: the tick samples only that) …
    let ran = d;
    // … and the runtime the scheduler charges (without steal only under "rq")
    let rtime = d;
    if (s.stealAccounting !== "none") {
      const st = this.stolen() - st0;
      s.stealNs += st;
      ran = d - st;
      if (s.stealAccounting === "rq") rtime = ran;
    }
    this.stats.stime += rtime;
    // a path that slept is taken as on the CPU for the last `ran` ns of its span
    this.stats.sysTicks += s.ticksIn(now - ran, now);
    this.vruntime += rtime;
    const waits = s.lockWaits(d);
    for (let i = 0; i < waits; i++) yield* this.sleep(20_000);
    return r;
  }

  /** Blocks for `ns` (a voluntary context switch), then waits for a CPU again. */
  *sleep(ns: number): Kfn<void> {
    const ev = new SimEvent<void>("timer");
    this.sched.sim.schedule(Math.max(0, Math.round(ns)), () => ev.succeed());
    yield* this.waitFor(ev);
  }

  /** Blocks until `ev` (a voluntary context switch if it has not happened yet). */
  *waitFor(ev: SimEvent<unknown>): Kfn<void> {
    if (ev.triggered) return;
    this.stats.nvcsw++;
    const t0 = this.sched.sim.now;
    this.sched.block(this);
    yield ev;
    this.sched.wake(this);
    yield* this.waitDispatch();
    this.offCpuNs += this.sched.sim.now - t0;
  }
}

/** Takes `q[i]` out of a run queue, keeping the others' order (`splice` without the array it
 * returns, on every context switch: docs/benchmarks.md, "Performance devices"). */
function removeAt(q: Task[], i: number): Task {
  const t = q[i]!;
  for (let j = i + 1; j < q.length; j++) q[j - 1] = q[j]!;
  q.pop();
  return t;
}

function allowedOn(t: Task, cpu: number): boolean {
  return t.cpusAllowed === null || t.cpusAllowed.has(cpu);
}

/** ilog2 factor of sysctl_sched_tunable_scaling = SCHED_TUNABLESCALING_LOG. */
export function schedScaleFactor(ncpus: number): number {
  return 1 + Math.floor(Math.log2(Math.min(ncpus, 8)));
}

export class Scheduler {
  readonly machine: Machine;
  readonly sim: Machine["sim"];
  readonly latencyNs: number;
  readonly minGranularityNs: number;
  readonly smt: number;
  readonly smtSlowdown: number;
  readonly contentionSlowdown: number;
  readonly sysContentionSlowdown: number;
  /** Longest user-time step between preemption checks (the tick's role), ns. */
  readonly chunkNs: number;
  readonly wakeupGranularityNs: number;
  readonly kthreadWakeupsPerSec: number;
  readonly lockWaitsPerSysMs: number;
  /** ns between scheduler ticks (0: runtime not sampled) and the first tick's offset. */
  readonly tickNs: number;
  readonly tickPhaseNs: number;
  readonly stealAccounting: StealAccounting;
  /** Steal time the guest's ticks took off its tasks (cpustat[CPUTIME_STEAL] while a task ran),
   * ns; 0 without steal accounting. */
  stealNs = 0;
  /** Involuntary switches caused by kernel threads (they preempt, but are not make's children). */
  kthreadPreemptions = 0;
  /** Live tasks (the task list): a task leaves it when it exits, so a long build does not keep
   * 17,000 dead tasks and their mms reachable. */
  readonly tasks = new Set<Task>();
  private readonly rq: Task[][];
  private readonly siblingsOf: readonly (readonly number[])[];
  private readonly curr: (Task | null)[];
  private busyCount = 0;
  private nextId = 1;
  private readonly onSwitch: SchedParams["onSwitch"];
  private tickRng: Rng | null = null;

  constructor(machine: Machine, params: SchedParams = {}) {
    this.machine = machine;
    this.sim = machine.sim;
    const n = machine.nrCpus;
    const f = schedScaleFactor(n);
    this.latencyNs =
      checkInt("latencyNs", params.latencyNs ?? 6_000_000, 100_000, 1e9, "Scheduler") * f;
    this.minGranularityNs =
      checkInt("minGranularityNs", params.minGranularityNs ?? 750_000, 10_000, 1e9, "Scheduler") *
      f;
    this.smt = checkInt("smt", params.smt ?? 1, 1, 8, "Scheduler");
    if (n % this.smt !== 0)
      throw new KernelStateError(
        "Scheduler",
        `${n} CPUs cannot be split into ${this.smt}-thread cores`,
      );
    this.smtSlowdown = checkNumber("smtSlowdown", params.smtSlowdown ?? 0, 0, 4, "Scheduler");
    this.contentionSlowdown = checkNumber(
      "contentionSlowdown",
      params.contentionSlowdown ?? 0,
      0,
      4,
      "Scheduler",
    );
    this.sysContentionSlowdown = checkNumber(
      "sysContentionSlowdown",
      params.sysContentionSlowdown ?? 0,
      0,
      4,
      "Scheduler",
    );
    this.chunkNs = this.minGranularityNs;
    this.wakeupGranularityNs =
      checkInt(
        "wakeupGranularityNs",
        params.wakeupGranularityNs ?? 1_000_000,
        0,
        1e9,
        "Scheduler",
      ) * f;
    this.kthreadWakeupsPerSec = checkNumber(
      "kthreadWakeupsPerSec",
      params.kthreadWakeupsPerSec ?? 0,
      0,
      1e5,
      "Scheduler",
    );
    this.lockWaitsPerSysMs = checkNumber(
      "lockWaitsPerSysMs",
      params.lockWaitsPerSysMs ?? 0,
      0,
      1e3,
      "Scheduler",
    );
    const hz = checkInt("hz", params.hz ?? 0, 0, 10_000, "Scheduler");
    this.tickNs = hz === 0 ? 0 : 1e9 / hz;
    this.tickPhaseNs = checkNumber(
      "tickPhaseNs",
      params.tickPhaseNs ?? 0,
      0,
      Math.max(0, this.tickNs - 1),
      "Scheduler",
    );
    this.stealAccounting = checkName(
      "stealAccounting",
      params.stealAccounting ?? "none",
      STEAL_ACCOUNTING,
      "Scheduler",
    );
    const cores = n / this.smt;
    // SMT siblings of each CPU (asked on every user-time chunk: computed once)
    this.siblingsOf = machine.cpus.map((c) =>
      Array.from({ length: this.smt - 1 }, (_, k) => (c.id + (k + 1) * cores) % n),
    );
    this.rq = machine.cpus.map(() => []);
    this.curr = machine.cpus.map(() => null);
    this.onSwitch = params.onSwitch;
  }

  /** Scheduler ticks in [from, to), ns: the samples a task running over that span receives. */
  ticksIn(from: number, to: number): number {
    const T = this.tickNs;
    if (T === 0 || to <= from) return 0;
    const p = this.tickPhaseNs;
    return Math.floor((to - p) / T) - Math.floor((from - p) / T);
  }

  /** Of `ticks` scheduler ticks in a span where the task is in kernel mode a fraction `p` of
   * the time in many short entries, how many find it in kernel mode (a binomial draw, from the
   * scheduler's own stream: forked on first use, so runs without interleaved kernel work draw
   * nothing from it). */
  sampleKernelTicks(ticks: number, p: number): number {
    if (ticks <= 0 || p <= 0) return 0;
    this.tickRng ??= this.sim.rng.fork();
    let k = 0;
    for (let i = 0; i < ticks; i++) if (this.tickRng.float() < p) k++;
    return k;
  }

  /** Tasks waiting (not running) on a CPU's queue. */
  queued(cpu: number): number {
    return this.rq[cpu]!.length;
  }

  /** CPUs running a task. */
  get busy(): number {
    return this.busyCount;
  }

  private siblings(cpu: number): readonly number[] {
    return this.siblingsOf[cpu]!;
  }

  /** Whether an SMT sibling of `cpu` is running a task (a loop, not `some`: docs/benchmarks.md,
   * "Performance devices"). */
  private siblingBusy(cpu: number): boolean {
    const sibs = this.siblingsOf[cpu]!;
    for (let i = 0; i < sibs.length; i++) if (this.curr[sibs[i]!] !== null) return true;
    return false;
  }

  userSlowdown(cpu: Cpu): number {
    const n = this.machine.nrCpus;
    const othersBusy = n > 1 ? (this.busyCount - 1) / (n - 1) : 0;
    const sib = this.siblingBusy(cpu.id) ? this.smtSlowdown : 0;
    return 1 + sib + this.contentionSlowdown * Math.max(0, othersBusy);
  }

  sysSlowdown(cpu: Cpu): number {
    const n = this.machine.nrCpus;
    const othersBusy = n > 1 ? (this.busyCount - 1) / (n - 1) : 0;
    const sib = this.siblingBusy(cpu.id) ? this.smtSlowdown : 0;
    return 1 + sib + this.sysContentionSlowdown * Math.max(0, othersBusy);
  }

  /** Contended-lock waits for `sysNs` of system time at the current contention (a Poisson draw). */
  lockWaits(sysNs: number): number {
    if (this.lockWaitsPerSysMs === 0) return 0;
    const n = this.machine.nrCpus;
    const othersBusy = n > 1 ? Math.max(0, this.busyCount - 1) / (n - 1) : 0;
    const mean = (sysNs / 1e6) * this.lockWaitsPerSysMs * othersBusy;
    let k = 0;
    // Poisson by inversion for small means; means here are well below 10
    const rng = this.sim.rng;
    let p = Math.exp(-mean);
    let u = rng.float();
    while (u > p && k < 50) {
      u -= p;
      k++;
      p *= mean / k;
    }
    return k;
  }

  /**
   * Kernel threads: each CPU is woken at random (Poisson, `kthreadWakeupsPerSec` while busy);
   * a kworker preempts the running task for a few µs — an involuntary switch for that task.
   */
  startKthreads(until: () => boolean): void {
    if (this.kthreadWakeupsPerSec === 0) return;
    const meanGap = 1e9 / this.kthreadWakeupsPerSec;
    for (const cpu of this.machine.cpus)
      this.sim.process(`kworker/${cpu.id}`, this.kworker(cpu, meanGap, until));
  }

  private *kworker(cpu: Cpu, meanGap: number, until: () => boolean): Kfn<void> {
    while (!until()) {
      yield Math.max(1, Math.round(this.sim.rng.exponential(meanGap)));
      const cur = this.curr[cpu.id] ?? null;
      if (cur !== null && !cpu.stalled && !until()) {
        cur.stats.nivcsw++;
        this.kthreadPreemptions++;
        cpu.runKthread(5_000, "kworker");
      }
    }
  }

  /** fork + wake_up_new_task: a new runnable task placed on the idlest CPU (of `cpus`, its
   * affinity mask, when given: sched_setaffinity before it first runs). */
  spawn(name: string, body: TaskBody, nearCpu = 0, cpus?: readonly number[]): Task {
    const t = new Task(this, this.nextId++, name, nearCpu);
    if (cpus !== undefined) {
      for (const c of cpus) checkInt("cpus[]", c, 0, this.machine.nrCpus - 1, "Scheduler.spawn");
      if (cpus.length === 0)
        throw new KernelStateError("Scheduler.spawn", `task ${name}: an empty affinity mask`);
      t.cpusAllowed = new Set(cpus);
      if (!t.cpusAllowed.has(nearCpu)) t.prevCpu = cpus[0]!;
    }
    this.tasks.add(t);
    t.proc = this.sim.process(`task/${name}`, this.taskMain(t, body));
    this.enqueue(t, true);
    return t;
  }

  private *taskMain(t: Task, body: TaskBody): Kfn<void> {
    yield* t.waitDispatch();
    yield* body(t);
    this.exit(t);
  }

  /** select_task_rq_fair, simplified: prev CPU if idle; an idle core; an idle CPU; the shortest
   * queue. */
  private selectCpu(t: Task): number {
    const n = this.machine.nrCpus;
    const allowed = t.cpusAllowed;
    if (allowed !== null) return this.selectAllowedCpu(t, allowed);
    const idle = (c: number) => this.curr[c] === null && this.rq[c]!.length === 0;
    if (idle(t.prevCpu) && this.siblings(t.prevCpu).every(idle)) return t.prevCpu;
    for (let i = 0; i < n; i++) {
      const c = (t.prevCpu + i) % n;
      if (idle(c) && this.siblings(c).every(idle)) return c;
    }
    if (idle(t.prevCpu)) return t.prevCpu;
    for (let i = 0; i < n; i++) {
      const c = (t.prevCpu + i) % n;
      if (idle(c)) return c;
    }
    let best = t.prevCpu;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const c = (t.prevCpu + i) % n;
      const load = this.rq[c]!.length + (this.curr[c] ? 1 : 0);
      if (load < bestLoad) {
        bestLoad = load;
        best = c;
      }
    }
    return best;
  }

  /** Tasks of queue `q` that may run on `cpu` (a loop: idle balancing runs at every switch). */
  private movableTo(q: readonly Task[], cpu: number): number {
    let n = 0;
    for (let i = 0; i < q.length; i++) if (allowedOn(q[i]!, cpu)) n++;
    return n;
  }

  /** select_task_rq within an affinity mask: the previous CPU if it is allowed and idle, else
   * the allowed CPU with the shortest queue. */
  private selectAllowedCpu(t: Task, allowed: ReadonlySet<number>): number {
    const load = (c: number) => this.rq[c]!.length + (this.curr[c] ? 1 : 0);
    if (allowed.has(t.prevCpu) && load(t.prevCpu) === 0) return t.prevCpu;
    let best = -1;
    for (const c of allowed) if (best < 0 || load(c) < load(best)) best = c;
    return best;
  }

  private enqueue(t: Task, fresh: boolean): void {
    const c = t.wakeOn ?? this.selectCpu(t);
    t.wakeOn = null;
    const q = this.rq[c]!;
    // place_entity: a new or woken task starts at the queue's minimum vruntime
    let base = this.curr[c]?.vruntime ?? Number.POSITIVE_INFINITY;
    for (const x of q) if (x.vruntime < base) base = x.vruntime;
    if (Number.isFinite(base))
      t.vruntime = fresh ? base : Math.max(t.vruntime, base - this.latencyNs / 2);
    t.state = "runnable";
    q.push(t);
    const cur = this.curr[c] ?? null;
    if (cur === null) this.schedule(this.machine.cpus[c]!, null);
    else if (!fresh && cur.vruntime - t.vruntime > this.wakeupGranularityNs) cur.needResched = true;
  }

  /** Picks the next task for `cpu` (lowest vruntime), or idle-balances, or goes idle. */
  private schedule(cpu: Cpu, prev: Task | null): void {
    let q = this.rq[cpu.id]!;
    if (q.length === 0) {
      // idle balance: pull a waiting task from the busiest queue
      let src = -1;
      let most = 0;
      for (let c = 0; c < this.rq.length; c++) {
        const n = this.movableTo(this.rq[c]!, cpu.id);
        if (n > most) {
          most = n;
          src = c;
        }
      }
      if (src >= 0) {
        const from = this.rq[src]!;
        let i = 0;
        while (!allowedOn(from[i]!, cpu.id)) i++;
        q.push(removeAt(from, i));
      }
      q = this.rq[cpu.id]!;
    }
    let next: Task | null = null;
    if (q.length > 0) {
      let bi = 0;
      for (let i = 1; i < q.length; i++) if (q[i]!.vruntime < q[bi]!.vruntime) bi = i;
      next = removeAt(q, bi);
    }
    if (next === null && this.curr[cpu.id] === null) {
      this.onSwitch?.(cpu, null, prev);
      return;
    }
    if (next === null) return;
    if (this.curr[cpu.id] === null) this.busyCount++;
    this.curr[cpu.id] = next;
    next.prevCpu = cpu.id;
    const nr = q.length + 1;
    next.sliceEnd = this.sim.now + Math.max(this.latencyNs / nr, this.minGranularityNs);
    cpu.setTask(next.proc);
    cpu.taskMode = "kernel";
    this.onSwitch?.(cpu, next, prev);
    next.dispatch(cpu);
  }

  /**
   * SchedOps.sleep_on for the kernel paths of this scheduler's tasks: the task on `cpu` sleeps
   * until `event` (a voluntary switch; the CPU runs another task or idles) and is woken on the
   * same CPU — the model's kernel paths keep the CPU they started on, as if the wakee were
   * affine to it. A context that is not the CPU's current task waits in place.
   */
  *sleepOn(cpu: Cpu, event: SimEvent<void>): Kfn<void> {
    const t = this.curr[cpu.id] ?? null;
    if (t === null || t.cpu !== cpu || t.proc !== cpu.task) {
      yield waitFor(event);
      return;
    }
    t.wakeOn = cpu.id;
    yield* t.waitFor(event);
  }

  /** The seam mm/ sleeps through (Kernel.sched). */
  schedOps(): SchedOps {
    return { sleep_on: (cpu: Cpu, event: SimEvent<void>) => this.sleepOn(cpu, event) };
  }

  /** The running task leaves its CPU (sleep, wait, exit): the CPU picks another. */
  private release(t: Task): void {
    const cpu = t.here;
    this.curr[cpu.id] = null;
    this.busyCount--;
    cpu.setTask(null);
    t.cpu = null;
    cpu.contextSwitches++;
    this.machine.notifyContextSwitch(cpu);
    this.schedule(cpu, t);
  }

  /** Scheduler use from Task: block the running task. */
  block(t: Task): void {
    if (this.stealAccounting !== "none") t.stealLeave();
    t.state = "sleeping";
    this.release(t);
  }

  /** try_to_wake_up. */
  wake(t: Task): void {
    if (t.state !== "sleeping") return;
    this.enqueue(t, false);
  }

  /**
   * check_preempt_tick (v4.14): the running task is rescheduled when it has run longer than its
   * ideal slice, or — once it has run min_granularity — when it is ahead of the leftmost waiting
   * task by more than that slice; a wake-up that set need_resched preempts at once.
   */
  *preempt(t: Task, wakeup = false): Kfn<void> {
    if (this.preemptSwitch(t, wakeup)) yield* t.waitDispatch();
  }

  /** {@link preempt}'s decision and switch, as a plain call (it runs on every user-time chunk
   * with a waiting task): true when `t` was switched out and must wait to be dispatched. */
  preemptSwitch(t: Task, wakeup = false): boolean {
    const cpu = t.here;
    const q = this.rq[cpu.id]!;
    let leftmost = Number.POSITIVE_INFINITY;
    for (const x of q) if (x.vruntime < leftmost) leftmost = x.vruntime;
    if (!wakeup) {
      const ideal = Math.max(this.latencyNs / (q.length + 1), this.minGranularityNs);
      const ran = this.sim.now - (t.sliceEnd - ideal);
      const expired = this.sim.now >= t.sliceEnd;
      const ahead = ran >= this.minGranularityNs && t.vruntime - leftmost > ideal;
      if (!expired && !ahead) return false;
    }
    // __schedule picks the leftmost entity: if that is still this task, nothing switches
    if (leftmost >= t.vruntime) {
      t.sliceEnd = this.sim.now + Math.max(this.latencyNs / (q.length + 1), this.minGranularityNs);
      return false;
    }
    t.stats.nivcsw++;
    if (this.stealAccounting !== "none") t.stealLeave();
    t.state = "runnable";
    this.curr[cpu.id] = null;
    this.busyCount--;
    cpu.setTask(null);
    t.cpu = null;
    this.rq[cpu.id]!.push(t);
    cpu.contextSwitches++;
    this.machine.notifyContextSwitch(cpu);
    this.schedule(cpu, t);
    return true;
  }

  private exit(t: Task): void {
    t.state = "sleeping";
    this.release(t);
    t.state = "dead";
    this.tasks.delete(t);
    t.exited.succeed();
  }
}
