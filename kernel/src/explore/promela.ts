/**
 * The Promela model's parameters for a race-matrix cell (docs/models/mmu_race.pml), derived from
 * the same source of truth as the simulator: `resolveProfile` for everything version-dependent,
 * the scenario name for the scenario, and — for how a flush backend treats its targets — the
 * kernel's documented behaviour in `FLUSH_SEMANTICS` (reference/kernel.md §2.4–2.6), which a test
 * checks against the simulator's backends by probing them (`probeFlush`).
 *
 * The model is deliberately not generated from the simulator's code: it restates the mechanism
 * (unlink before free, flush before free, the table batch through RCU, the three v4.14 holes) in
 * a few dozen Promela statements, so that spin's verdict is an independent check of the
 * explorer's.
 */
import { local_irq_disable, local_irq_enable } from "../hw/irqflags.js";
import { PARAVIRT_BACKENDS, type BackendName } from "../config/profiles.js";
import { buildSystem } from "../system/build.js";
import { establish_global_asid, type FlushTlbInfo } from "../arch/x86/tlb.js";
import { INVLPGB_MIN_CPUS } from "../arch/x86/backends.js";
import type { Kfn } from "../sim/process.js";
import { resolveExploreOptions, type ExploreOptions, type ExploreSpec } from "./options.js";

/** How a remote TLB flush treats a target CPU. */
export interface FlushSemantics {
  /** The sender waits until a target with IRQs off has taken the flush IPI (native IPIs). */
  readonly waitsForIrqOff: boolean;
  /** ... except for a vCPU the host has descheduled (KVM PV: steal_time.preempted). */
  readonly skipsPreempted: boolean;
}

/**
 * reference/kernel.md §2.4–2.6: native_flush_tlb_others IPIs and waits; xen_flush_tlb_others and
 * hyperv_flush_tlb_others flush by hypercall and never involve the target; kvm_flush_tlb_others
 * drops preempted vCPUs and IPIs the rest; INVLPGB broadcasts for an mm with a global ASID —
 * which the explored process has from the start when more than INVLPGB_MIN_CPUS CPUs run it
 * (establish_global_asid in World and probeFlush) — and uses native IPIs otherwise.
 */
export function flushSemantics(backend: BackendName, cpusInMask: number): FlushSemantics {
  switch (backend) {
    case "native":
      return { waitsForIrqOff: true, skipsPreempted: false };
    case "xen-pv":
    case "hyperv":
      return { waitsForIrqOff: false, skipsPreempted: false };
    case "kvm-pv":
      return { waitsForIrqOff: true, skipsPreempted: true };
    case "invlpgb":
      return cpusInMask > INVLPGB_MIN_CPUS
        ? { waitsForIrqOff: false, skipsPreempted: false }
        : { waitsForIrqOff: true, skipsPreempted: false };
  }
}

/** The -D parameters of mmu_race.pml (see its header), 0/1 for booleans. */
export interface PromelaParams {
  readonly NPAGES: number;
  readonly TABLE_VIA_RCU: number;
  readonly MM_USERS_SHORTCUT: number;
  readonly MM_USERS: number;
  readonly TABLE_INVALIDATE: number;
  readonly TABLE_FLUSH_IN_FREE: number;
  readonly PT_RECLAIM: number;
  readonly FLUSH_WAITS_IRQOFF: number;
  readonly FLUSH_SKIPS_PREEMPTED: number;
  readonly RCU_SCHED: number;
  readonly USE_MM: number;
  readonly STALLS: number;
  readonly STALL_PREEMPTS: number;
  readonly ALLOC_FAIL: number;
  readonly HW: number;
}

/** CPUs in mm_cpumask when the munmap flushes: every thread's CPU, or the thread and the use_mm
 * kernel thread. */
function cpusInMask(spec: ExploreSpec): number {
  return spec.scenario === "use-mm-walker" ? 2 : spec.cpus;
}

const b = (x: boolean): number => (x ? 1 : 0);

/** One cell's model parameters (same options as `explore`). */
export function promelaParams(opts: ExploreOptions | ExploreSpec): PromelaParams {
  const spec = "resolved" in opts ? opts : resolveExploreOptions(opts);
  const { gather, x86, backend, rcuFlavour } = spec.resolved;
  const via = x86.tableFreeVia;
  const tableViaRcu =
    via === "tlb_remove_table" || (via === "paravirt" && PARAVIRT_BACKENDS.includes(backend));
  const flush = flushSemantics(backend, cpusInMask(spec));
  const useMm = spec.scenario === "use-mm-walker";
  return {
    NPAGES: spec.pages,
    TABLE_VIA_RCU: b(tableViaRcu),
    MM_USERS_SHORTCUT: b(gather.mmUsersShortcut),
    MM_USERS: useMm ? 1 : spec.cpus,
    // the explorer's counterfactual overrides the profile's as SystemOptions' does (system/build.ts)
    TABLE_INVALIDATE: b(spec.tableInvalidate ?? gather.tableInvalidate),
    TABLE_FLUSH_IN_FREE: b(gather.tableFlushIn === "free"),
    PT_RECLAIM: b(gather.ptReclaimFallback),
    FLUSH_WAITS_IRQOFF: b(flush.waitsForIrqOff),
    FLUSH_SKIPS_PREEMPTED: b(flush.skipsPreempted),
    RCU_SCHED: b(rcuFlavour === "sched"),
    USE_MM: b(useMm),
    STALLS: spec.stalls,
    STALL_PREEMPTS: b(spec.scenario === "preempted-walker"),
    ALLOC_FAIL: b(spec.scenario === "batch-alloc-failure"),
    HW: b(spec.hardware),
  };
}

/**
 * Measures how the simulator's flush backend for this cell treats a target: a timed run in which
 * CPU 1 keeps IRQs off for 1 ms (does flush_tlb_others return before?), and one in which the host
 * deschedules CPU 1 for 1 ms (likewise). `cpus` CPUs, all in mm_cpumask.
 */
export function probeFlush(
  opts: Pick<ExploreOptions, "profile" | "backend" | "resolve">,
  cpus: number,
): FlushSemantics {
  const hold = 1_000_000;
  const returnedAt = (mode: "irq-off" | "preempted"): number => {
    const sys = buildSystem({
      profile: opts.profile,
      backend: opts.backend,
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
      nrCpus: cpus,
      trace: false,
      history: false,
      costs: { jitter: 0 },
    });
    const { sim, m, k, x86, host } = sys;
    const mm = k.mm_alloc();
    mm.mm_users = cpus;
    for (const c of m.cpus) x86.switch_mm(c, mm);
    // as the explorer's world: an INVLPGB process on more than 3 CPUs has its global ASID
    establish_global_asid(x86, mm);
    const target = m.cpu(1);
    if (mode === "irq-off")
      target.run(
        "irq-off",
        (function* (): Kfn<void> {
          local_irq_disable(target);
          yield hold;
          yield* local_irq_enable(target);
        })(),
      );
    else host.preemptFor(target, 0, hold);
    const info: FlushTlbInfo = {
      mm,
      start: 0,
      end: 4096,
      stride_shift: 12,
      new_tlb_gen: 1,
      freed_tables: true,
      initiating_cpu: 0,
    };
    const sender = m.cpu(0);
    const others = m.cpus.map((c) => c.id).filter((id) => id !== 0);
    let at = -1;
    sender.run(
      "flush",
      (function* (): Kfn<void> {
        yield 1000;
        yield* x86.backend.flush_tlb_others(x86, sender, others, info);
        at = sim.now;
      })(),
    );
    sim.run();
    return at;
  };
  const waitsForIrqOff = returnedAt("irq-off") >= hold;
  const waitsForPreempted = returnedAt("preempted") >= hold;
  return { waitsForIrqOff, skipsPreempted: waitsForIrqOff && !waitsForPreempted };
}
