/**
 * One run of a race scenario under the explorer's control: the race matrix's system and kernel
 * paths (system/build.ts, sys_munmap, __get_user_pages_fast, the flush backends), with the
 * engine in exploration mode, so the explorer — not time — decides which pending step runs next.
 *
 * Scenario (the race matrix's, experiments/scenarios.ts, made small and untimed):
 *   set-up  (timed, run to completion before exploring) CPU 0 maps a `pages`-page buffer with
 *           MAP_POPULATE; the process has one thread per CPU (use-mm-walker: one thread on CPU 0)
 *   cpu0    munmap-thread: sys_munmap of the buffer (zap, free_pgtables, tlb_finish_mmu: flush,
 *           free)
 *   cpu1    dio-thread: __get_user_pages_fast over the buffer (IRQs off); in use-mm-walker a
 *           kernel thread (kthread-use_mm) that first calls use_mm
 *   cpu2…   user-thread: another thread of the process in user mode (not in use-mm-walker)
 *   choices the walker's CPU may be held at any point — `stall cpu1` / `resume cpu1` (a VM exit;
 *           Host.preempt, which KVM's steal time records, in preempted-walker) — at most `stalls`
 *           times; batch-alloc-failure makes the first table-batch allocation fail. RCU quiescent
 *           states are recorded after every step where readers.ts allows one (explore/rcu.ts);
 *           an RCU callback then runs as a process, whenever the explorer schedules it.
 *
 * Differences from a timed trial, all widening what can happen: the munmap does not wait for the
 * stall to begin; the stall may start and end at any step instead of at a drawn time; grace
 * periods end as early as the RCU contract allows (explore/rcu.ts). A use-after-free a trial can
 * show is therefore reachable here. The trial's user-mode stretches around the walk and after
 * the munmap are left out: they exist to give the timed RCU ticks a user-mode CPU to report, and
 * here a finished task leaves its CPU idle, which is a quiescent state already; the walker's
 * quiescent states before its walk cannot matter (a table it can reach is unlinked during its
 * walk, so its callback is queued after the walk began).
 *
 * Actions. Every pending engine event is one action: a process step (the generator runs from one
 * yield to the next — labelled by the process name, "cpu0/munmap-thread") or an IPI reaching its
 * target ("ipi CALL_FUNCTION_SINGLE cpu0->cpu1"); plus the explorer's choices above. Delays only
 * order nothing: the clock shows steps (1 µs each) so traces read in order.
 */
import type { Cpu } from "../hw/cpu.js";
import { __get_user_pages_fast, use_mm } from "../gup/gup-fast.js";
import { sys_mmap, sys_munmap } from "../mm/mmap.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { BUFFER, userTime } from "../experiments/scenarios.js";
import { installPageWalker, type HwPageWalker } from "../arch/x86/page-walker.js";
import { establish_global_asid } from "../arch/x86/tlb.js";
import { PAGE_SIZE } from "../mm/pgtable.js";
import { buildSystem, type System } from "../system/build.js";
import type { Kfn, Process } from "../sim/process.js";
import type { PendingEvent } from "../sim/simulation.js";
import type { ExploreSpec } from "./options.js";
import { ExploreRcu } from "./rcu.js";

/** Simulated time a step is drawn with in traces and timelines, ns. */
export const STEP_NS = 1000;

export type ActionKind = "step" | "ipi" | "stall" | "resume" | "hw";

/** Something the explorer can do next. `label` identifies it across re-executions. */
export interface Action {
  readonly label: string;
  readonly kind: ActionKind;
  /** CPU lane it happens on; −1 for RCU callbacks (machine lane). */
  readonly cpu: number;
  readonly event?: PendingEvent;
}

/**
 * What the QS recording after every step reads and writes besides the step's own keys: RCU's
 * waiting callbacks (a QS clears CPUs from them, the last one starts a callback process).
 * Eligibility is read from irq:/ctx: of each CPU; a step that changes a CPU's eligibility writes
 * those keys itself, and one that queues a callback writes "rcu", which every step reads — so two
 * steps whose order decides which CPUs a callback waits for are never independent.
 */
const QUIESCE_READS = ["rcu", "proc:rcu/", "pc:rcu/"] as const;

/** Process names (cpu.run prefixes "cpu<id>/"). */
const FREER_TASK = "munmap-thread";
const WALKER_TASK = "dio-thread";
const USE_MM_TASK = "kthread-use_mm";
const USER_TASK = "user-thread";

/** The freeing CPU's path: munmap of the buffer. */
function* freerPath(k: System["k"], cpu: Cpu, mm: MmStruct, length: number): Kfn<void> {
  yield* sys_munmap(k, cpu, mm, BUFFER, length);
}

/** The walker's path: __get_user_pages_fast over the buffer (after use_mm for a kthread). */
function* walkerPath(
  k: System["k"],
  cpu: Cpu,
  mm: MmStruct,
  pages: number,
  useMm: boolean,
): Kfn<void> {
  if (useMm) use_mm(k, cpu, mm);
  yield* __get_user_pages_fast(k, cpu, mm, BUFFER, pages);
}

interface ProcInfo {
  steps: number;
  /** What the process did at each of its steps: "+<ns>" yielded a delay, "s" spins, "w" waits,
   * "d" finished. With the step count it stands for the generator's position, which cannot be
   * read. */
  chain: string;
}

export interface WorldOptions {
  /** Record the trace and frame histories (counterexample replay). */
  readonly trace?: boolean;
}

export class World {
  readonly spec: ExploreSpec;
  readonly sys: System;
  readonly mm: MmStruct;
  readonly rcu: ExploreRcu;
  readonly freer: Cpu;
  readonly walker: Cpu;
  /** Full process names of the freeing task and the walker. */
  readonly freerName: string;
  readonly walkerName: string;
  /** The CPUs' page walkers (spec.hardware), driven by the explorer: null without them. */
  readonly hw: HwPageWalker | null;
  /** The page every hardware walk goes to: the one after the buffer, under the same pde (the
   * buffer is 2 MiB aligned, 8 pages at most). Never mapped, so never in a TLB: each walk goes
   * through the paging-structure caches and reads the pte table, as a speculative access near
   * recently used data does. */
  readonly hwWalkVa: number;
  /** Steps executed since the set-up. */
  stepNo = 0;
  private stallsUsed = 0;
  /** Simulated time when exploration began (the end of the set-up), ns. */
  readonly t0: number;
  private readonly procs = new Map<Process<unknown>, ProcInfo>();
  private pending: PendingEvent[];

  constructor(spec: ExploreSpec, opts: WorldOptions = {}) {
    this.spec = spec;
    const trace = opts.trace ?? false;
    const sys = buildSystem({
      profile: spec.profile,
      backend: spec.backend,
      resolve: spec.resolve,
      ...(spec.tableInvalidate === undefined ? {} : { tableInvalidate: spec.tableInvalidate }),
      nrCpus: spec.cpus,
      seed: 1,
      trace,
      history: trace,
      costs: { jitter: 0 },
    });
    this.sys = sys;
    const { sim, m, k, x86 } = sys;
    this.rcu = new ExploreRcu(m, sys.resolved.rcuFlavour);
    k.rcu = this.rcu;
    // untimed: a walk is an action of its own ("hw cpuN"), enabled wherever the CPU executes with
    // the mm in CR3; the flushes' invalidations apply as in a timed run
    this.hw = spec.hardware ? installPageWalker(x86, undefined, false) : null;
    this.hwWalkVa = BUFFER + spec.pages * PAGE_SIZE;
    this.freer = m.cpu(0);
    this.walker = m.cpu(1);
    const useMm = spec.scenario === "use-mm-walker";
    const mm = k.mm_alloc();
    this.mm = mm;
    if (useMm) x86.switch_mm(this.freer, mm);
    else {
      mm.mm_users = m.nrCpus;
      for (const c of m.cpus) x86.switch_mm(c, mm);
      // INVLPGB: the process is one that already has its global ASID (the broadcast case, with
      // no IPI); a fresh process's first flushes are IPIs, which the native cells explore
      establish_global_asid(x86, mm);
    }
    const length = spec.pages * 4096;

    // set-up, timed and deterministic: map and populate the buffer
    this.freer.run(
      "mmap",
      sys_mmap(k, this.freer, mm, { addr: BUFFER, length, populate: true, name: "dio-buffer" }),
    );
    sim.run();
    sim.beginExploration();
    this.t0 = sim.now;
    if (spec.scenario === "batch-alloc-failure") k.alloc.failNextNowait(1, "tables");

    const freer = this.freer;
    // The paths are module-level generators, not closures made per world: the explorer builds a
    // world for every path it re-executes (docs/architecture.md on generator closures).
    freer.run(FREER_TASK, freerPath(k, freer, mm, length));
    const walker = this.walker;
    walker.run(useMm ? USE_MM_TASK : WALKER_TASK, walkerPath(k, walker, mm, spec.pages, useMm));
    if (!useMm) for (const c of m.cpus.slice(2)) c.run(USER_TASK, userTime(sys, c.id, 50_000));
    this.freerName = `cpu${freer.id}/${FREER_TASK}`;
    this.walkerName = `cpu${walker.id}/${useMm ? USE_MM_TASK : WALKER_TASK}`;
    this.pending = sim.pendingEvents();
  }

  private get preempting(): boolean {
    return this.spec.scenario === "preempted-walker";
  }

  /** Stalls of the walker's CPU still allowed. */
  get stallsLeft(): number {
    return this.spec.stalls - this.stallsUsed;
  }

  /** Use-after-free reads the oracle has seen. */
  get uaf(): number {
    return this.sys.k.oracle.reports.length;
  }

  /** Every action enabled now, sorted by label (duplicates get "#2", "#3", … in queue order). */
  actions(): Action[] {
    const out: Action[] = [];
    const seen = new Map<string, number>();
    const add = (a: Action): void => {
      const n = (seen.get(a.label) ?? 0) + 1;
      seen.set(a.label, n);
      out.push(n === 1 ? a : { ...a, label: `${a.label}#${n}` });
    };
    for (const ev of this.pending) {
      if (ev.owner !== null)
        add({ label: ev.label, kind: "step", cpu: laneOf(ev.label), event: ev });
      else add({ label: ev.label, kind: "ipi", cpu: ipiTarget(ev.label), event: ev });
    }
    const hw = this.hw;
    if (hw !== null)
      for (const c of this.sys.m.cpus)
        if (hw.canWalk(c)) add({ label: `hw cpu${c.id}`, kind: "hw", cpu: c.id });
    const w = this.walker;
    if (w.hostPreempted) add({ label: `resume cpu${w.id}`, kind: "resume", cpu: w.id });
    else if (this.stallsUsed < this.spec.stalls && w.task !== null)
      add({ label: `stall cpu${w.id}`, kind: "stall", cpu: w.id });
    return out.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  }

  /** The enabled action with this label (replay); throws if there is none (the run diverged). */
  action(label: string): Action {
    // fast path: a label without a "#n" suffix names at most one pending event
    if (!label.includes("#") || label.startsWith("rcu/")) {
      let hit: PendingEvent | null = null;
      let n = 0;
      for (const ev of this.pending)
        if (ev.label === label) {
          hit = ev;
          n++;
        }
      if (hit !== null && n === 1)
        return hit.owner !== null
          ? { label, kind: "step", cpu: laneOf(label), event: hit }
          : { label, kind: "ipi", cpu: ipiTarget(label), event: hit };
    }
    const a = this.actions().find((x) => x.label === label);
    if (a === undefined)
      throw new Error(
        `explore: replay diverged at step ${this.stepNo + 1}: "${label}" is not enabled ` +
          `(enabled: ${this.actions()
            .map((x) => x.label)
            .join(", ")})`,
      );
    return a;
  }

  /** Performs one action atomically. */
  execute(a: Action): void {
    const { sim, m, host } = this.sys;
    this.stepNo++;
    sim.now = this.t0 + this.stepNo * STEP_NS;
    sim.trace.instant(a.cpu, "mmulab:explore_step", { step: this.stepNo, action: a.label });
    let owner: Process<unknown> | null = null;
    switch (a.kind) {
      case "step":
      case "ipi":
        owner = a.event!.owner;
        sim.fire(a.event!);
        break;
      case "stall": {
        this.stallsUsed++;
        const cpu = m.cpu(a.cpu);
        if (this.preempting) host.preempt(cpu);
        else cpu.hostPreempt("vm-exit");
        break;
      }
      case "resume": {
        const cpu = m.cpu(a.cpu);
        if (this.preempting) host.resume(cpu);
        else cpu.hostResume();
        break;
      }
      case "hw":
        // a speculative walk (SDM §4.10.2.3) from the CPU's deepest cached entry for the page
        this.hw!.walk(m.cpu(a.cpu), this.mm, this.hwWalkVa, false);
        break;
    }
    this.rcu.quiesce();
    this.pending = sim.pendingEvents();
    if (owner !== null) {
      const info = this.info(owner);
      info.steps++;
      let what: string;
      if (owner.finished) what = "d";
      else {
        const ev = this.pending.find((e) => e.owner === owner);
        what = ev !== undefined ? `+${ev.time - sim.now}` : owner.status === "spinning" ? "s" : "w";
      }
      info.chain += what;
    }
  }

  private info(p: Process<unknown>): ProcInfo {
    let i = this.procs.get(p);
    if (i === undefined) {
      i = { steps: 0, chain: "" };
      this.procs.set(p, i);
    }
    return i;
  }

  /**
   * The model state, one string per component; the explorer hashes it to prune revisits and
   * diffs it to learn what a step wrote. Components (keys):
   *   frame:<pfn>  allocator state, generation, table level, and every non-zero entry
   *   alloc        the hot free list (which frame the next allocation reuses) and failures used
   *   irq:<cpu>    IF, in a handler, stalled (host), vectors pending in the APIC
   *   ctx:<cpu>    the task, its mode (user/kernel), preempt count
   *   csd:<cpu>    queued cross-calls
   *   tlb:<cpu>    loaded mm, lazy-TLB state and the generation flushed to (cpu_tlbstate)
   *   hwc:<cpu>    with spec.hardware: the CPU's TLB and paging-structure-cache entries
   *   steal:<cpu>  KVM steal-time flags
   *   proc:<name>  each unfinished process's status (scheduled, spinning, waiting, suspended)
   *   pc:<name>    its position: steps taken and what each step yielded
   *   mm           mm_users, mm_count, mm_cpumask, tlb_flush_pending, tlb_gen, mmap_sem, VMAs
   *   rcu          callbacks waiting and the CPUs each still waits for
   *   ev:<label>   pending IPI deliveries
   *   oracle, budget   use-after-free reports; stalls used (not hashed: the explorer lets a
   *                state with more stalls left stand for the same state with fewer)
   * Statistics counters and histories are left out: nothing reads them back.
   */
  digest(): Map<string, string> {
    const d = new Map<string, string>();
    const { m, k, x86, host, sim } = this.sys;
    const a = k.alloc;
    for (let pfn = 0; pfn < a.framesCreated; pfn++) {
      let v = `${a.stateName(pfn)} g${a.generation(pfn)}`;
      const lvl = a.levelOf(pfn);
      if (lvl !== null) v += ` ${lvl}`;
      if (k.pt.presentCount(pfn) > 0)
        for (let i = 0; i < 512; i++) {
          const e = k.pt.entry(pfn, i);
          if (e !== 0) v += ` [${i}]=${e}`;
        }
      d.set(`frame:${pfn}`, v);
    }
    d.set("alloc", `free=${a.freeList().join(",")} failed=${a.stats.nowaitFailures}`);
    for (const c of m.cpus) {
      const id = c.id;
      const tlb = x86.tlbstate[id]!;
      d.set(
        `irq:${id}`,
        `IF=${c.irqsEnabled ? 1 : 0} inirq=${c.inIrq ? 1 : 0} stalled=${c.hostPreempted ? 1 : 0}` +
          ` pending=${c.pendingVectors.join(",")}`,
      );
      d.set(
        `ctx:${id}`,
        `task=${c.task?.name ?? "-"} mode=${c.taskMode} preempt=${c.preemptCount}`,
      );
      // the csds a handler has taken off the queue and not run yet, then the queue
      const taken = Array.from(c.csdsTaken, (q) => q.name).join(",");
      const queued = Array.from(c.callSingleQueue, (q) => q.name).join(",");
      d.set(`csd:${id}`, taken === "" ? queued : `${taken}|${queued}`);
      d.set(
        `tlb:${id}`,
        `mm=${tlb.loaded_mm?.id ?? 0}${tlb.is_lazy ? " lazy" : ""} gen=${tlb.tlb_gen}`,
      );
      d.set(`steal:${id}`, String(host.stealTime[id]!.preempted));
      if (this.hw !== null) d.set(`hwc:${id}`, c.tlb.contents());
    }
    for (const p of sim.trackedProcesses()) {
      if (p.finished) continue;
      const i = this.info(p);
      d.set(`proc:${p.name}`, p.status);
      d.set(`pc:${p.name}`, `n=${i.steps} ${i.chain}`);
    }
    const mm = this.mm;
    d.set(
      "mm",
      `users=${mm.mm_users} count=${mm.mm_count} cpumask=${[...mm.cpumask].sort((x, y) => x - y).join(",")}` +
        ` flush_pending=${mm.tlb_flush_pending} tlb_gen=${mm.tlb_gen}` +
        ` sem=${mm.mmapSemReaders}${mm.mmapSemWriter ? "W" : ""} rss=${mm.rss}` +
        ` tables=${mm.nr_ptes},${mm.nr_pmds},${mm.nr_puds},${mm.nr_p4ds}` +
        ` vmas=${mm.vmas.map((v) => `${v.start.toString(16)}-${v.end.toString(16)}`).join(",")}`,
    );
    d.set("rcu", this.rcu.digest());
    for (const ev of this.pending) if (ev.owner === null) d.set(`ev:${ev.label}`, "pending");
    d.set("oracle", String(k.oracle.reports.length));
    d.set("budget", String(this.stallsUsed));
    return d;
  }

  /**
   * What an action may read (and so what another action must not write for the two to commute),
   * as keys or key prefixes ending in ":" or "/"; "*" is everything. It is a superset of the
   * action's writes too, so a write that leaves a value unchanged is still covered. See
   * docs/model.md, "Exhaustive exploration", for the argument.
   */
  readSet(a: Action): readonly string[] {
    const own = this.ownReads(a);
    return own[0] === "*" ? own : [...own, ...QUIESCE_READS];
  }

  private ownReads(a: Action): readonly string[] {
    const c = a.cpu;
    switch (a.kind) {
      case "ipi":
        // Cpu.raise: the target's APIC; if IF allows, takeAsyncInterrupt suspends the task and
        // starts the CPU's IRQ context
        return c >= 0
          ? [`irq:${c}`, `ctx:${c}`, `proc:cpu${c}/`, `pc:cpu${c}/irq`, `ev:${a.label}`]
          : ["*"];
      case "stall":
      case "resume":
        // hostPreempt/hostResume (Host.preempt/resume: steal time too): the CPU and its
        // contexts; a resume with IRQs pending starts the IRQ context
        // KVM's flush of a vCPU marked KVM_VCPU_FLUSH_TLB at its next entry: its caches
        return [
          `irq:${c}`,
          `ctx:${c}`,
          `steal:${c}`,
          `hwc:${c}`,
          `proc:cpu${c}/`,
          `pc:cpu${c}/irq`,
          "budget",
        ];
      case "hw":
        // HwPageWalker.walk: whether the CPU walks (task, stalled, loaded mm), its caches, the
        // tables and frame states through the oracle
        return [`irq:${c}`, `ctx:${c}`, `tlb:${c}`, `hwc:${c}`, "frame:", "mm", "oracle"];
      case "step": {
        const name = a.event!.owner!.name;
        const f = this.freer.id;
        if (name === this.freerName)
          // sys_munmap: page tables, frames and the allocator; its own CPU; the flush reads every
          // CPU's TLB state, steal time and csd queue, queues csds and sends IPIs; call_rcu.
          // It wakes no other process (no one waits for mmap_sem: gup_fast takes no lock).
          return [
            "frame:",
            "alloc",
            `irq:${f}`,
            `ctx:${f}`,
            "csd:",
            "tlb:",
            "hwc:",
            "steal:",
            "mm",
            "rcu",
            "ev:",
            `proc:cpu${f}/`,
            `pc:${name}`,
          ];
        if (name === this.walkerName)
          // use_mm (mm_count, mm_cpumask, TLB state); __get_user_pages_fast reads page tables
          // and frame states through the oracle with IF off; local_irq_restore takes pending
          // IPIs inline (this CPU's csds and TLB state; a lazy CPU leaves mm_cpumask), which
          // completes the freeing task's csd_lock_wait
          return [
            `irq:${c}`,
            `ctx:${c}`,
            `csd:${c}`,
            `tlb:${c}`,
            `hwc:${c}`,
            `proc:cpu${c}/`,
            `pc:${name}`,
            `proc:${this.freerName}`,
            "frame:",
            "mm",
            "oracle",
          ];
        if (name === `cpu${c}/irq`)
          // asyncIrq → flush_smp_call_function_queue: the same handler work, then it continues
          // the task it held
          return [
            `irq:${c}`,
            `csd:${c}`,
            `tlb:${c}`,
            `hwc:${c}`,
            `proc:cpu${c}/`,
            `pc:${name}`,
            `proc:${this.freerName}`,
            "mm",
          ];
        if (name === `cpu${c}/${USER_TASK}`) return [`ctx:${c}`, `proc:${name}`, `pc:${name}`];
        if (name.startsWith("rcu/"))
          // tlb_remove_table_rcu / __tlb_remove_table_one_rcu: free_page of tables and the batch
          return ["frame:", "alloc", `proc:${name}`, `pc:${name}`];
        return ["*"];
      }
    }
  }
}

/** The CPU lane of a process: "cpu3/…" → 3, anything else (RCU callbacks) → −1. */
function laneOf(name: string): number {
  const m = /^cpu(\d+)\//.exec(name);
  return m ? Number(m[1]) : -1;
}

/** The target of an IPI delivery labelled by Machine.sendIpi ("ipi V cpuA->cpuB"), or −1. */
function ipiTarget(label: string): number {
  const m = /->cpu(\d+)$/.exec(label);
  return m ? Number(m[1]) : -1;
}
