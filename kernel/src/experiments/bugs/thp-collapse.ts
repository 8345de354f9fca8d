/**
 * §4 of docs/bugs.md: khugepaged's collapse of a shmem range frees the old pte table with
 * pte_free() right after pmdp_collapse_flush; with a hypercall flush nothing waited for an IRQ-off
 * gup_fast that had read the pmd, and it reads the freed table. v6.1 sends
 * tlb_remove_table_sync_one() in between.
 *
 * The scenario (thp-collapse-vs-gup-fast): a process maps a 2 MiB shmem range MAP_SHARED and has
 * faulted 64 pages of it; a thread pins them with __get_user_pages_fast and is held by a VM exit
 * inside its IRQ-off walk; meanwhile khugepaged (a kernel thread on CPU 0) collapses the range:
 * unmaps the small pages, puts a huge page in the page cache, and retract_page_tables takes the
 * pte table out of the process and frees it.
 */
import { __get_user_pages_fast } from "../../gup/gup-fast.js";
import { collapse_file, HPAGE_PMD_NR } from "../../mm/khugepaged.js";
import { mmap_shared_file, shmem_fault, shmem_file_setup } from "../../mm/shmem.js";
import { waitFor, type Kfn } from "../../sim/process.js";
import { BUFFER, BUFFER_PAGES, userTime } from "../scenarios.js";
import { runTrialSystem, trialSystem } from "./trial-system.js";
import type { BugDefinition, BugTrialOptions, BugTrialResult } from "./types.js";

function thpCollapseTrial(o: BugTrialOptions): BugTrialResult {
  const sys = trialSystem(o);
  const { sim, m, k, x86 } = sys;
  const stallNs = sim.rng.int(20_000, 200_000);
  const mm = k.mm_alloc();
  // three threads of the process on CPUs 1–3; khugepaged runs on CPU 0
  mm.mm_users = 3;
  for (const c of m.cpus.slice(1)) x86.switch_mm(c, mm);
  const file = shmem_file_setup("shmem-buffer", HPAGE_PMD_NR);
  const mapped = sim.event("buffer mapped");
  const stalled = sim.event("walker stalled");
  const collapsed = sim.event("range collapsed");

  function* walker(): Kfn<void> {
    const cpu = m.cpu(1);
    const vma = yield* mmap_shared_file(k, cpu, mm, file, { addr: BUFFER, pages: HPAGE_PMD_NR });
    for (let i = 0; i < BUFFER_PAGES; i++) yield* shmem_fault(k, cpu, mm, vma, BUFFER + i * 4096);
    mapped.succeed();
    yield* userTime(sys, 1, sim.rng.int(100, 2_000));
    const walkNs = BUFFER_PAGES * 25;
    const at = sim.rng.int(Math.floor(walkNs / 4), Math.floor((3 * walkNs) / 4));
    m.stallFor(cpu, at, stallNs, "vm-exit");
    sim.schedule(at, () => stalled.succeed());
    yield* __get_user_pages_fast(k, cpu, mm, BUFFER, BUFFER_PAGES);
    yield* userTime(sys, 1, 10_000);
  }
  function* khugepaged(): Kfn<void> {
    yield waitFor(stalled);
    yield sim.rng.int(0, Math.floor(stallNs / 2));
    // khugepaged_scan_file found the range: collapse it
    yield* collapse_file(k, m.cpu(0), file, 0);
    collapsed.succeed();
  }
  function* user(cpuId: number): Kfn<void> {
    yield waitFor(mapped);
    while (!collapsed.triggered) yield* userTime(sys, cpuId, 50_000);
  }

  sys.rcu.start();
  m.cpu(1).run("dio-thread", walker());
  m.cpu(0).run("khugepaged", khugepaged());
  for (const c of m.cpus.slice(2)) c.run("user-thread", user(c.id));
  runTrialSystem(sys, o.stopAtNs);
  return { reports: k.oracle.reports, system: sys, mmId: mm.id };
}

export const thpCollapse: BugDefinition = {
  name: "thp-collapse-gup-fast",
  title: "khugepaged frees a collapsed pte table under an IRQ-off gup_fast",
  year: 2022,
  section: "§4",
  introduced: {
    commit: "ba76149f47d8",
    release: null,
    note:
      'Fixes tag: ba76149f47d8 "thp: khugepaged" (Andrea Arcangeli, 2011). The file/shmem collapse ' +
      "that frees the table came later; 70cbc3cc78a9 (2022) made gup_fast re-check the pmd, which does not " +
      "stop it reading the freed table.",
  },
  fixed: {
    commit: "2ba99c5e0881",
    subject: "mm/khugepaged: fix GUP-fast interaction by sending IPI",
    release: "v6.1",
  },
  reader: "software",
  scenario: "thp-collapse-vs-gup-fast",
  scenarioText:
    "A process maps a 2 MiB shmem range and has faulted 64 pages of it. A thread pins them with " +
    "__get_user_pages_fast and is held by a VM exit inside the IRQ-off walk, after it read the pmd. " +
    "khugepaged collapses the range: it unmaps the small pages (flush by hypercall), puts a huge page in " +
    "the page cache, and retract_page_tables → collapse_and_free_pmd clears the pmd, flushes " +
    "(pmdp_collapse_flush, by hypercall again) and pte_free()s the table; the walker then reads it.",
  before: {
    profile: "v6.0",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v6.0: pte_free() right after pmdp_collapse_flush; Xen PV flushes by hypercall.",
  },
  after: {
    profile: "v6.1",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v6.1: tlb_remove_table_sync_one() after pmdp_collapse_flush waits for every IRQ-off section.",
  },
  counterfactual: false,
  mechanism:
    "khugepaged replaces a pte table full of small pages with one huge pmd. On the file and shmem paths " +
    "the old table leaves through collapse_and_free_pmd: pmdp_collapse_flush clears the pmd and flushes " +
    "the range, and pte_free() hands the table straight back to the page allocator — no mmu_gather, no " +
    "table batch, no grace period. The only thing that could hold the free back for a gup_fast walking " +
    "with interrupts off is the flush, and on a kernel with RCU table freeing that flush need not be an " +
    "IPI: a Xen PV or Hyper-V hypercall completes without the walker's vCPU. So a walker that read the pmd " +
    "before it was cleared reads the freed, soon reused, table. The fix calls tlb_remove_table_sync_one() " +
    "— an empty IPI to every CPU, waited for — between the flush and the free; without RCU table freeing " +
    "it is empty, because the flush was an IPI already.",
  fix: {
    step: "tlb_remove_table_sync_one() after pmdp_collapse_flush in collapse_and_free_pmd",
    mutation: { collapseSyncOne: false },
  },
  conditions: [
    "a hypercall flush backend (xen-pv, hyperv); native shows it in neither version",
    "khugepaged only: MADV_COLLAPSE (7d8faaf15545, 34488399fa08) is v6.1",
  ],
  trial: thpCollapseTrial,
};
