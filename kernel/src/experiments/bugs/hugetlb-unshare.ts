/**
 * §7 of docs/bugs.md (CVE-2025-38085): huge_pmd_unshare drops a process's use of a shared
 * hugetlb PMD table without waiting for that process's IRQ-off gup_fast, which may go on walking
 * the table after the other process has made it its own ordinary table.
 */
import { pathScenarioTrial } from "./path-trial.js";
import type { BugDefinition } from "./types.js";

export const hugetlbUnshare: BugDefinition = {
  name: "hugetlb-pmd-unshare-vs-gup",
  title: "hugetlb PMD unsharing lets gup_fast walk another process's page table",
  year: 2025,
  section: "§7",
  introduced: {
    commit: "39dde65c9940",
    release: null,
    note: "[PATCH] shared page table for hugetlb page (Ken Chen, 2006; Fixes tag). Release believed v2.6.20, unconfirmed.",
  },
  fixed: {
    commit: "1013af4f585f",
    subject: "mm/hugetlb: fix huge_pmd_unshare() vs GUP-fast race",
    release: "v6.16",
  },
  cve: "CVE-2025-38085",
  reader: "foreign-table",
  scenario: "hugetlb-unshare-vs-gup",
  scenarioText:
    "Processes A and B map the same hugetlbfs file 1 GiB aligned and share one PMD table; A has faulted 16 " +
    "huge pages. A's thread W pins them with IRQ-off gup_fast and is held by a VM exit right after reading " +
    "A's PUD. A's thread U munmaps the range: __unmap_hugepage_range unshares (pud_clear, share count down), " +
    "flushes by hypercall and drops the i_mmap lock. B, waiting for that lock, unmaps its first 32 MiB — the " +
    "table is B's alone now, so the huge entries are cleared — and maps ordinary memory there. W resumes and " +
    "reads the table.",
  before: {
    profile: "v6.15",
    backend: "hyperv",
    config: {},
    counterfactual: false,
    why: "v6.15 in a Hyper-V guest: the flush is a hypercall that waits for no vCPU.",
  },
  after: {
    profile: "v6.16",
    backend: "hyperv",
    config: {},
    counterfactual: false,
    why: "v6.16: huge_pmd_unshare waits with tlb_remove_table_sync_one() before the lock is dropped.",
  },
  counterfactual: false,
  mechanism:
    "Processes mapping the same hugetlbfs file at the same 1 GiB-aligned place share one PMD table, kept " +
    "alive by a share count. When one process stops sharing (munmap, mprotect, a VMA split) it clears its " +
    "own PUD entry and drops the count under the file's i_mmap lock; nothing is freed, so nothing waited for " +
    "walkers. But a gup_fast of that process may already have read the PUD and be on its way into the table. " +
    "Once the lock is dropped the last sharer owns the table: it may free it, or fill it with entries for " +
    "unrelated mappings, and the walker follows them as if they were its own. The fix sends the IRQ-off " +
    "walkers' IPI (tlb_remove_table_sync_one) in huge_pmd_unshare, before the lock is dropped.",
  fix: {
    step: "tlb_remove_table_sync_one() in huge_pmd_unshare after pud_clear",
    mutation: { resolve: { without: ["huge_pmd_unshare-sync"] } },
  },
  conditions: [
    "a flush that waits for no vCPU (hypercall or INVLPGB broadcast): on native x86 the forced flush " +
      "__unmap_hugepage_range sends before dropping the i_mmap lock (a4a118f2eead, v5.16) is an IPI, which " +
      "waits for the walker, and the model shows no bad read there",
    "the reader is the walk's read of the shared table: its entry changed after A stopped sharing it",
  ],
  trial: pathScenarioTrial("hugetlb-unshare-vs-gup", { showMm: "last" }),
};
