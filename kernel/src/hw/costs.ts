/**
 * The cost model: how long each modelled hardware and kernel step takes, in integer nanoseconds.
 *
 * Every default cites ../shared/reference/costs.md (section and source) so a user can see where a
 * number comes from and sweep it. It lives at the bottom of the stack (hw/) because every layer
 * above charges time through it. A run takes one frozen `CostModel`; `resolveCosts` fills the
 * defaults in and rejects values outside each field's range.
 */
import { checkNumber, ParameterError, UnknownNameError } from "../sim/errors.js";

export interface CostModel {
  /** Relative jitter applied to latencies (uniform ±). Real shootdowns vary run to run; 0 makes
   * a run's timing exactly the sum of the defaults (tests use that). Default 0.1. */
  readonly jitter: number;

  // --- IPIs (costs.md §1b; §2 "Native IPI shootdown") ---
  /** Sender: queue the csd and write the ICR for the first target. Default 150 ns. Part of the
   * ≈0.8 µs 1-target shootdown (Amit 2019, +775 ns for one remote target). */
  readonly ipiSendNs: number;
  /** Sender: each additional target. Default 70 ns (Amit 2019: 1→3 targets +135 ns). */
  readonly ipiPerExtraTargetNs: number;
  /** APIC delivery, ICR write to the target's interrupt request. Default 250 ns (the remainder of
   * the 0.8 µs after send and handler; costs.md §2 range 0.6–1.8 µs total). */
  readonly ipiDeliveryNs: number;
  /** Target: interrupt entry until the handler body runs. Default 150 ns (costs.md §2 puts the
   * whole target cost at 0.5–1 µs [U]). */
  readonly irqEntryNs: number;
  /** Target: handler exit back to the interrupted context. Default 100 ns. */
  readonly irqExitNs: number;
  /** Target: one csd function call and unlock inside the handler, excluding the function's own
   * work. Default 50 ns. */
  readonly csdCallNs: number;

  // --- TLB (costs.md §1a) ---
  /** One INVLPG. Default 100 ns: the kernel comment above tlb_single_page_flush_ceiling ("each
   * single flush is about 100 ns"); Hansen 2014 measured ≈100 cycles. */
  readonly invlpgNs: number;
  /** A full local flush (CR3 write). Default 100 ns (Molnar 2015: 96 cycles; Hansen: "not by
   * much" more than one INVLPG). The refill cost afterwards is not charged here. */
  readonly fullFlushNs: number;

  // --- memory management steps (costs.md §1e: ≤ 2.5 µs sys per fault) ---
  /** Reading one page-table entry during a walk (a cached load). Default 5 ns. */
  readonly pteReadNs: number;
  /** Allocating and zeroing one page (page-table or data page). Default 250 ns. */
  readonly pageAllocNs: number;
  /** Freeing one page to the allocator. Default 100 ns (costs.md §1d: 0.1–0.3 µs per free_page). */
  readonly pageFreeNs: number;
  /** Fixed cost of a page fault besides allocations (entry, vma lookup, exit). Default 1000 ns. */
  readonly faultBaseNs: number;
  /** Per-PTE zap in zap_pte_range. Default 20 ns. */
  readonly zapPteNs: number;
  /** Fixed syscall cost (entry and exit, e.g. munmap). Default 300 ns. */
  readonly syscallNs: number;

  // --- virtualisation (costs.md §1c; §2 "KVM PV flush / Hyper-V / Xen hypercall flush") ---
  /** One hypercall round trip (VM exit and entry). Default 700 ns: VMCALL ≈ 1,530–1,560 cycles
   * on Skylake-SP (kvm-unit-tests, Wanpeng Li 2020) ≈ 0.6 µs; costs.md §2 "≈ 1 exit (≈0.5–1 µs)". */
  readonly hypercallNs: number;
  /** Hypervisor-side work of a remote-flush hypercall, independent of the targets' IF: host IPIs
   * to the pCPUs running target vCPUs. Default 1,500 ns (costs.md §2: "≈1–2 µs"). */
  readonly pvFlushHostNs: number;
  /** Per rep of a Hyper-V HvFlushVirtualAddressList (one GVA entry, ≤ 4096 pages). Default 50 ns
   * [U: no primary figure; rep hypercalls return to the guest within 50 µs per chunk]. */
  readonly hvFlushRepNs: number;
  /** AMD INVLPGB broadcast issue, per flush. Default 200 ns [U]. */
  readonly invlpgbNs: number;
  /** TLBSYNC wait for the broadcast to complete. Default 500 ns [U]: costs.md §2 "initiator cost
   * about a local flush plus TLBSYNC". */
  readonly tlbsyncNs: number;
  /** Host-side flush of a preempted vCPU's TLB at its next VM entry (KVM_VCPU_FLUSH_TLB in
   * record_steal_time). Default 200 ns. */
  readonly kvmEntryFlushNs: number;
}

export const DEFAULT_COSTS: CostModel = Object.freeze({
  jitter: 0.1,
  ipiSendNs: 150,
  ipiPerExtraTargetNs: 70,
  ipiDeliveryNs: 250,
  irqEntryNs: 150,
  irqExitNs: 100,
  csdCallNs: 50,
  invlpgNs: 100,
  fullFlushNs: 100,
  pteReadNs: 5,
  pageAllocNs: 250,
  pageFreeNs: 100,
  faultBaseNs: 1000,
  zapPteNs: 20,
  syscallNs: 300,
  hypercallNs: 700,
  pvFlushHostNs: 1500,
  hvFlushRepNs: 50,
  invlpgbNs: 200,
  tlbsyncNs: 500,
  kvmEntryFlushNs: 200,
});

/** Upper bound for any single cost: one simulated second is far beyond any modelled step. */
const MAX_COST_NS = 1e9;

/** Fills defaults in and validates. Unknown fields are rejected (a typo must not be ignored). */
export function resolveCosts(partial: Partial<CostModel> = {}): CostModel {
  const valid = Object.keys(DEFAULT_COSTS);
  if (partial === null || typeof partial !== "object" || Array.isArray(partial))
    throw new ParameterError("costs", partial, "an object of cost overrides", "resolveCosts");
  for (const k of Object.keys(partial)) {
    if (!valid.includes(k)) throw new UnknownNameError("costs field", k, valid, "resolveCosts");
  }
  const out: Record<string, number> = { ...DEFAULT_COSTS };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (k === "jitter") checkNumber("costs.jitter", v, 0, 0.9, "resolveCosts");
    else {
      checkNumber(`costs.${k}`, v, 0, MAX_COST_NS, "resolveCosts (ns)");
      if (!Number.isInteger(v))
        throw new ParameterError(
          `costs.${k}`,
          v,
          "an integer number of nanoseconds",
          "resolveCosts",
        );
    }
    out[k] = v;
  }
  return Object.freeze(out) as unknown as CostModel;
}
