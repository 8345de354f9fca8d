/**
 * §1 of docs/bugs.md: the seed's race. A paravirtual TLB flush (Xen PV multicall, Hyper-V
 * hypercall) completes without an IPI to the target vCPU, so it does not wait for an IRQ-off
 * gup_fast walker, and v4.13 frees the page table right after it.
 */
import { raceScenarioTrial } from "./race-trial.js";
import type { BugDefinition } from "./types.js";

export const seedPvFlush: BugDefinition = {
  name: "seed-pv-flush",
  title: "A paravirtual flush does not wait for an IRQ-off gup_fast walker",
  year: 2017,
  section: "§1",
  introduced: {
    commit: null,
    release: null,
    note:
      "No Fixes tag: the meeting of x86's IRQ-off fast GUP (Nick Piggin, 2008) with a flush_tlb_others " +
      "that completes without IPIs (Xen PV's multicall; Hyper-V's 2ffd9e33ce4a arrived with the fix, KVM's " +
      "858a43aae236 in v4.16).",
  },
  fixed: {
    commit: "9e52fc2b50de",
    subject: "x86/mm: Enable RCU based page table freeing (CONFIG_HAVE_RCU_TABLE_FREE=y)",
    release: "v4.14",
  },
  reader: "software",
  scenario: "walker-vs-munmap",
  scenarioText:
    "A thread pins a 256 KiB buffer with __get_user_pages_fast (IRQs off) and is held inside the walk by " +
    "a VM exit, after it read the pmd; meanwhile another thread of the process munmaps the buffer: " +
    "zap, free_pgtables clears the pmd and queues the pte table, tlb_flush_mmu flushes — by hypercall " +
    "under Xen PV — and frees the table; the walker then reads it.",
  before: {
    profile: "v4.13",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v4.13 frees page tables with tlb_remove_page right after the flush; Xen PV flushes by hypercall.",
  },
  after: {
    profile: "v4.14",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v4.14 sends tables through tlb_remove_table and an RCU-sched grace period, which the IRQ-off walker holds up.",
  },
  counterfactual: false,
  mechanism:
    "x86's fast GUP takes no lock: it disables interrupts and relies on the freeing CPU having to flush " +
    "every CPU's TLB first — on bare metal an IPI the freer waits for, which a CPU with interrupts off " +
    "cannot answer. A paravirtual flush is carried out by the hypervisor without running anything on the " +
    "target vCPU, so the freer goes straight on to free the table in tlb_flush_mmu_free, and the page is " +
    "handed out again while the walker still reads it. The fix makes ___pte_free_tlb call " +
    "tlb_remove_table, which batches tables and frees them after an RCU-sched grace period; an IRQ-off " +
    "section is an RCU-sched read-side critical section, so the grace period, not the flush, now waits " +
    "for the walker.",
  fix: {
    step: "___pte_free_tlb → tlb_remove_table → call_rcu_sched (HAVE_RCU_TABLE_FREE)",
    mutation: { resolve: { rcuTableFree: false } },
  },
  conditions: [
    "a hypercall flush backend (xen-pv, hyperv; kvm-pv with the walker's vCPU preempted)",
  ],
  explore: {
    scenario: "walker-vs-munmap",
    before: { profile: "v4.13", backend: "xen-pv" },
    after: { profile: "v4.14", backend: "xen-pv" },
  },
  trial: raceScenarioTrial("walker-vs-munmap"),
};
