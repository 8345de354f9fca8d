/**
 * §5b of docs/bugs.md (CVE-2024-50066): mremap's move_normal_pmd races with v6.6's lockless
 * retract_page_tables and installs a pmd made from an empty one — a pmd pointing at page frame 0.
 */
import { pathScenarioTrial } from "./path-trial.js";
import type { BugDefinition } from "./types.js";

export const mremapMovePmd: BugDefinition = {
  name: "mremap-move-pmd-vs-retract",
  title: "mremap's move_normal_pmd installs a pmd to page 0 after a lockless retract",
  year: 2024,
  section: "§5b",
  introduced: {
    commit: "1d65b771bc08",
    release: "v6.6",
    note: "Fixes tag of the fix: lockless retract_page_tables can clear the pmd mremap has chosen to move.",
  },
  fixed: {
    commit: "6fa1066fc5d0",
    subject: "mm/mremap: fix move_normal_pmd/retract_page_tables race",
    release: "v6.12",
  },
  cve: "CVE-2024-50066",
  reader: "not-a-table",
  scenario: "mremap-vs-retract",
  scenarioText:
    "Processes A and B map the same shmem file 2 MiB aligned; A has faulted 16 pages. A mremaps the range: " +
    "move_page_tables reads the old pmd, chooses to move the whole table (NORMAL_PMD) and is preempted " +
    "before take_rmap_locks. B's MADV_COLLAPSE runs collapse_file and retract_page_tables, which clears " +
    "A's old pmd and frees the table by RCU. A resumes under the i_mmap lock: move_normal_pmd reads the " +
    "now-empty pmd and populates the new one from it. A then touches the new address and its fault's " +
    "pte_offset_map() walks the frame the new pmd names.",
  before: {
    profile: "v6.6",
    backend: "native",
    config: { hardware: true },
    counterfactual: false,
    why: "v6.6 (and 6.6.y before 6.6.58): lockless retract, no re-check in move_normal_pmd.",
  },
  after: {
    profile: "v6.12",
    backend: "native",
    config: { hardware: true },
    counterfactual: false,
    why: "v6.12: move_normal_pmd re-reads the pmd under the locks and backs off if it is not a table.",
  },
  counterfactual: false,
  mechanism:
    "mremap decides how to move each 2 MiB chunk — the whole pte table, or pte by pte — from a look at the " +
    "old pmd, but takes the rmap locks that exclude khugepaged's retract only afterwards. Since v6.6 retract " +
    "needs no mmap lock, so it can clear that pmd in between. move_normal_pmd then read the empty pmd, " +
    "cleared it again and installed pmd_pgtable() of it as the new pmd: on x86 a table pointer to physical " +
    "page 0, which the mm's walkers — the CPU's own and the kernel's pte walkers — then read as a pte table. " +
    "The fix re-checks under the locks that the old pmd is still a present, non-leaf entry and otherwise " +
    "leaves the chunk to the pte-level path, which finds nothing to move.",
  fix: {
    step: "move_normal_pmd: if (!pmd_present(pmd) || pmd_leaf(pmd)) back off",
    mutation: { resolve: { without: ["move_normal_pmd-recheck"] } },
  },
  conditions: [
    "the CPUs' page walkers modelled: the mremapping CPU's walker reads frame 0 as a pte table " +
      "(reader hw-walker) in most trials, and the process's page fault (pte_offset_map under " +
      "rcu_read_lock, reader software-rcu) does in every one",
    "frame 0 is not reserved: it is whatever the allocator handed out first (here A's pgd), read as a pte table",
  ],
  trial: pathScenarioTrial("mremap-vs-retract"),
};
