/**
 * §6 of docs/bugs.md: v6.14's PT_RECLAIM frees empty pte tables on MADV_DONTNEED, with the mmap
 * lock held only for reading, so an rcu_read_lock() walker of another thread may be inside the
 * table. The semi-RCU single-table fallback (an IPI) does not wait for it; the fix frees it by
 * call_rcu. The "before" is a counterfactual: x86 opted in only after the fix.
 */
import { pathScenarioTrial } from "./path-trial.js";
import type { BugDefinition } from "./types.js";

export const ptReclaimRcu: BugDefinition = {
  name: "pt-reclaim-semi-rcu",
  title: "PT_RECLAIM's single-table fallback: from an IPI to call_rcu",
  year: 2025,
  section: "§6",
  introduced: {
    commit: "6375e95f381e",
    release: "v6.14",
    note:
      "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED) created the hazard; x86 selected " +
      "ARCH_SUPPORTS_PT_RECLAIM (4817f70c25b6) only after the fix, in the same series: no x86 kernel had it.",
  },
  fixed: {
    commit: "718b13861d22",
    subject: "x86: mm: free page table pages by RCU instead of semi RCU",
    release: "v6.14",
  },
  reader: "software-rcu",
  scenario: "pt-reclaim-vs-fault",
  scenarioText:
    "A paravirt guest process with two threads has populated a 2 MiB buffer. Thread T1 faults in it: " +
    "pte_offset_map_nolock reads the pmd under rcu_read_lock and T1 takes a softirq. Thread T0 calls " +
    "madvise(MADV_DONTNEED) on the whole 2 MiB: the zap empties the table and PT_RECLAIM clears the pmd " +
    "and frees it through pte_free_tlb → tlb_remove_table, whose batch page cannot be allocated. T1 then " +
    "reads its pte.",
  before: {
    profile: "v6.14-semi-rcu",
    backend: "xen-pv",
    config: {},
    counterfactual: true,
    why:
      "v6.14 without 718b13861d22: tlb_remove_table_one frees the single table after an empty IPI " +
      "(and native tables go through tlb_remove_page).",
  },
  after: {
    profile: "v6.14",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v6.14: __tlb_remove_table_one frees by call_rcu.",
  },
  counterfactual: true,
  mechanism:
    "PT_RECLAIM lets madvise(MADV_DONTNEED) free a pte table once it has emptied a whole 2 MiB of it. madvise " +
    "holds the mmap lock only for reading, so other threads may be faulting in the range, and since v6.6 they " +
    "walk the pte table under rcu_read_lock() with interrupts on. x86's table freeing was semi-RCU: a batch of " +
    "tables waits a grace period, but a single table (no batch page) is freed right after an empty IPI, and " +
    "native kernels freed tables after the flush IPI, not by RCU at all. Neither IPI waits for an interrupts-on " +
    "RCU reader: it is taken at once and the walker goes on into the freed page. The fix makes the single-table " +
    "free a call_rcu and sends native tables through tlb_remove_table too, so every reclaimed table waits for a " +
    "grace period.",
  fix: {
    step: "__tlb_remove_table_one frees by call_rcu (and native_tlb_remove_table calls tlb_remove_table)",
    mutation: { resolve: { without: ["pt_reclaim-rcu"] } },
  },
  conditions: [
    "the mmu_table_batch page allocation fails (GFP_NOWAIT), so the table takes the single-table fallback",
    "the native arm (tables by tlb_remove_page after the flush IPI) shows the same read: " +
      "runPathTrial({ scenario: 'pt-reclaim-vs-fault', profile: 'v6.14-semi-rcu', backend: 'native' })",
  ],
  trial: pathScenarioTrial("pt-reclaim-vs-fault", { batchAllocFailure: true }),
};
