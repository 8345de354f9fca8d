/**
 * §3 of docs/bugs.md: tlb_remove_table freed a table at once when mm_users < 2, on the theory
 * that a single-threaded process has no concurrent walker. A CPU in lazy TLB mode still has the
 * process's CR3 loaded (pinned by mm_count, not mm_users), and its page walker walks it.
 */
import { raceScenarioTrial } from "./race-trial.js";
import type { BugDefinition } from "./types.js";

export const mmUsersShortcut: BugDefinition = {
  name: "mm-users-shortcut",
  title: "The mm_users < 2 shortcut frees a table under a lazy-TLB CPU's page walker",
  year: 2018,
  section: "§3",
  introduced: {
    commit: "267239116987",
    release: "v4.14",
    note:
      "267239116987 (2011, the fix's Fixes tag) put the shortcut in the generic RCU table-free code; x86 " +
      "inherited it with 9e52fc2b50de in v4.14 (derived).",
  },
  fixed: {
    commit: null,
    subject: "mm/tlb: Remove tlb_remove_table() non-concurrent condition",
    release: "v4.19",
  },
  reader: "hw-walker",
  scenario: "lazy-tlb-walker",
  scenarioText:
    "A single-threaded process uses a buffer on CPU 2, then moves to CPU 0; CPU 2 runs a kernel thread in " +
    "lazy TLB mode (CR3 still the process's) with IRQs off. The process munmaps the buffer: with " +
    "mm_users == 1, tlb_remove_table frees the pte table at once, before any flush, while CPU 2's page " +
    "walker can still walk through its cached PDE into it.",
  before: {
    profile: "v4.14",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v4.14 as merged: RCU table freeing with the mm_users < 2 shortcut.",
  },
  after: {
    profile: "v4.19",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why:
      "v4.19 with a paravirt backend, so the table goes through tlb_remove_table, now without the " +
      "shortcut (a native v4.19 frees by tlb_remove_page, clean for another reason).",
  },
  counterfactual: false,
  mechanism:
    "tlb_remove_table skipped the batch and freed a table immediately when the mm had fewer than two " +
    "users, reasoning that a single-threaded process cannot walk its own tables while it unmaps them. " +
    "mm_users counts tasks. It does not count a CPU in lazy TLB mode that still has the mm in CR3 (held " +
    "only by mm_count), whose page walker may walk through cached pointers at any moment, speculatively; " +
    "nor a kernel thread that borrowed the mm with use_mm() and runs __get_user_pages_fast. So the table " +
    "was freed before the flush that would have reached the lazy CPU. The fix deletes the shortcut: " +
    "every table goes through the batch, the invalidate of §2 and the grace period.",
  fix: {
    step: "tlb_remove_table without the mm_users < 2 early free",
    mutation: { mmUsersShortcut: true },
  },
  conditions: [
    "no PCID: with PCID, v4.14–v4.19's enter_lazy_tlb switches to init_mm at once (tlb_defer_switch_to_init_mm) and the hardware variant disappears",
    "software variant: a use_mm() kernel thread's __get_user_pages_fast (scenario use-mm-walker) shows it even on native v4.14",
  ],
  explore: {
    scenario: "use-mm-walker",
    before: { profile: "v4.14", backend: "native" },
    after: { profile: "v4.19", backend: "native" },
    note: "the software variant: a kernel thread that did use_mm() walks with __get_user_pages_fast",
  },
  trial: raceScenarioTrial("lazy-tlb-walker"),
};
