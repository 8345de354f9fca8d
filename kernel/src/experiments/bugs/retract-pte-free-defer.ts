/**
 * §5a of docs/bugs.md: v6.6 lets khugepaged retract a pte table from a file mapping without the
 * mapping mm's mmap lock, while that mm's pte_offset_map() walkers may be inside the table under
 * rcu_read_lock() with interrupts on. An IPI does not wait for them, so the table must wait for a
 * grace period: pte_free_defer(). The "before" is a counterfactual — the same series added both.
 */
import { pathScenarioTrial } from "./path-trial.js";
import type { BugDefinition } from "./types.js";

export const retractPteFreeDefer: BugDefinition = {
  name: "retract-pte-free-defer",
  title:
    "Lockless retract_page_tables frees a pte table under an rcu_read_lock() walker unless pte_free_defer() waits",
  year: 2023,
  section: "§5a",
  introduced: {
    commit: "1d65b771bc08",
    release: "v6.6",
    note:
      "mm/khugepaged: retract_page_tables() without mmap or vma lock (Hugh Dickins) made an RCU free necessary; " +
      "the fix came in the same series and the same pull, so no released kernel had the bug.",
  },
  fixed: {
    commit: "13cf577e6b66",
    subject: "mm/pgtable: add pte_free_defer() for pgtable as page",
    release: "v6.6",
  },
  reader: "software-rcu",
  scenario: "retract-vs-rcu-walker",
  scenarioText:
    "Process A maps a shmem file 2 MiB aligned and has faulted 16 of its pages. khugepaged collapses the " +
    "range: collapse_file unmaps the small pages, and a thread of A touches one of them and faults. " +
    "handle_pte_fault maps the pte table with pte_offset_map_nolock (rcu_read_lock, pmd read) and takes a " +
    "softirq before reading the pte. Meanwhile retract_page_tables, holding only the file's i_mmap lock, " +
    "clears A's pmd with pmdp_collapse_flush and frees the table. The fault then reads the pte.",
  before: {
    profile: "v6.6-retract-ipi",
    backend: "native",
    config: {},
    counterfactual: true,
    why:
      "v6.6's lockless retract with the table freed the v6.1 way (tlb_remove_table_sync_one, then pte_free): " +
      "what pte_free_defer replaced before it ever shipped.",
  },
  after: {
    profile: "v6.6",
    backend: "native",
    config: {},
    counterfactual: false,
    why: "v6.6 as released: pte_free_defer() frees the table after a grace period.",
  },
  counterfactual: true,
  mechanism:
    "Until v6.5 khugepaged retracted a file's pte table only with the mm's mmap lock, so no walker of that " +
    "mm could be inside it, and v6.1's IPI took care of gup_fast. v6.6 drops the mmap lock, and from the " +
    "same release every pte_offset_map() user — page faults, rmap walks, mincore — reads the pmd and the " +
    "table under rcu_read_lock() with interrupts on, re-checking the pmd only once it holds the table's " +
    "lock, which lives in the table's own page. Such a walker takes the sync IPI at once and goes on, so " +
    "freeing after the IPI frees the table under it; it then reads ptes from, and takes a lock in, a freed " +
    "page. pte_free_defer() frees through call_rcu instead: the walker's read-side section holds the grace " +
    "period, the table stays until it leaves, and its pmd_same re-check sends it back to the empty pmd.",
  fix: {
    step: "pte_free_defer(): call_rcu(pte_free_now) instead of tlb_remove_table_sync_one() + pte_free()",
    mutation: { resolve: { without: ["pte_free_defer"] } },
  },
  conditions: [
    "the walker is held between its pmd read and its pte read (a softirq, interrupts on)",
    "shown on native and on paravirt backends alike: no flush backend helps an rcu_read_lock() reader",
  ],
  trial: pathScenarioTrial("retract-vs-rcu-walker"),
};
