/**
 * §2 of docs/bugs.md: v4.14's tlb_remove_table frees a page table without first invalidating
 * the TLB and paging-structure caches, on the batch-allocation-failure path
 * (tlb_remove_table_one) and when a full batch goes to RCU before the range is flushed. A CPU's
 * page walker, starting from a cached PDE, then reads the freed table.
 */
import { raceScenarioTrial } from "./race-trial.js";
import type { BugDefinition } from "./types.js";

export const missingInvalidate: BugDefinition = {
  name: "missing-table-invalidate",
  title: "Page table freed before the TLB and paging-structure caches are invalidated",
  year: 2018,
  section: "§2",
  introduced: {
    commit: "9e52fc2b50de",
    release: "v4.14",
    note:
      "Derived: before it x86 freed tables with tlb_remove_page, always after tlb_flush; the generic RCU " +
      "table-free code it switched on came from architectures that need no invalidation for tables.",
  },
  fixed: {
    commit: "d86564a2f085",
    subject: "mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE",
    release: "v4.19",
  },
  reader: "hw-walker",
  scenario: "batch-alloc-failure",
  scenarioText:
    "Four threads of a process have used a buffer, so every CPU's paging-structure cache holds a PDE " +
    "pointing at its pte table. One thread munmaps it while the mmu_table_batch page allocation fails: " +
    "tlb_remove_table_one sends an empty IPI (answered at once), frees the table and the allocator hands " +
    "the frame out again; the TLB flush comes only later, in tlb_finish_mmu. Meanwhile a CPU's page " +
    "walker walks through its cached PDE into the freed frame.",
  before: {
    profile: "v4.14",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v4.14 as merged: RCU table freeing with no tlb_table_invalidate.",
  },
  after: {
    profile: "v4.19",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why:
      "v4.19 with a paravirt backend, so tables still go through tlb_remove_table (native v4.19 frees " +
      "them with tlb_remove_page after the flush, clean for another reason: 48a8b97cfd80).",
  },
  counterfactual: false,
  mechanism:
    "The x86 rule is unlink, invalidate, then free, and the invalidation must reach the paging-structure " +
    "caches, which keep pointers to tables after the pmd that led there has been cleared. v4.14's " +
    "tlb_remove_table frees on two paths without it: when the batch page cannot be allocated, " +
    "tlb_remove_table_one waits for an empty IPI and frees the table on the spot; when a batch fills, " +
    "tlb_table_flush hands it to call_rcu_sched before the range is flushed. Neither the IPI nor the grace " +
    "period invalidates anything, so a CPU running the mm can walk from its cached PDE into the freed page " +
    "— by then someone else's data — and cache what it finds there. The fix calls tlb_table_invalidate() " +
    "(tlb_flush_mmu_tlbonly) before both the RCU hand-off and the single-table free.",
  fix: {
    step: "tlb_table_invalidate() before tlb_remove_table_one and before call_rcu_sched",
    mutation: { tableInvalidate: false },
  },
  conditions: [
    "two or more users of the mm (with one, §3's shortcut frees even earlier)",
    "the CPUs' page walkers modelled (arch/x86/page-walker.ts)",
  ],
  explore: {
    scenario: "batch-alloc-failure",
    before: { profile: "v4.14", backend: "xen-pv" },
    after: { profile: "v4.19", backend: "xen-pv" },
    hardware: true,
  },
  trial: raceScenarioTrial("batch-alloc-failure"),
};
