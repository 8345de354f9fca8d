/**
 * §8 of docs/bugs.md, CVE-2018-18281: v4.14's mremap moved the ptes under the page-table locks,
 * dropped them, and flushed the old range only at the end of move_page_tables. An ftruncate of
 * the file in between finds the page at its new address through the rmap, zaps it there,
 * flushes the new address and frees the page, while another CPU's TLB still maps the old address
 * to it.
 *
 * The scenario (mremap-vs-ftruncate, after LTP's mremap06): process P maps 16 pages of a shmem
 * file read-only, across a 2 MiB boundary (two pte tables, so move_page_tables has two extents);
 * thread T1 reads the first page in a loop (its TLB caches the translation); thread T0 mremaps
 * the mapping elsewhere and is held up once, at a random point, by a VM exit; process Q on
 * another CPU truncates the file to zero at a random moment.
 */
import { mmap_shared_file, shmem_file_setup, sys_ftruncate } from "../../mm/shmem.js";
import { sys_mremap } from "../../mm/mremap.js";
import { PMD_SIZE } from "../../mm/pgtable.js";
import { MmulabError } from "../../sim/errors.js";
import { waitFor, type Kfn } from "../../sim/process.js";
import { BUFFER, userTime } from "../scenarios.js";
import { runTrialSystem, trialSystem } from "./trial-system.js";
import type { BugDefinition, BugTrialOptions, BugTrialResult } from "./types.js";

/** Pages of the file and of the mapping. */
const FILE_PAGES = 16;
/** The mapping straddles a PMD boundary: half its pages in each pte table. */
const OLD = BUFFER + PMD_SIZE - (FILE_PAGES / 2) * 4096;
/** Where mremap moves it: another pmd, another pte table. */
const NEW = BUFFER + 2 ** 30;

function mremapTrial(o: BugTrialOptions): BugTrialResult {
  const sys = trialSystem(o);
  const { sim, m, k, x86 } = sys;
  if (x86.hw === null)
    throw new MmulabError("mremap-vs-ftruncate needs the hardware model (its reader is a TLB)");
  const hw = x86.hw;
  const stallNs = sim.rng.int(20_000, 200_000);
  const mm = k.mm_alloc();
  mm.mm_users = 2;
  x86.switch_mm(m.cpu(0), mm);
  x86.switch_mm(m.cpu(1), mm);
  const q = k.mm_alloc();
  x86.switch_mm(m.cpu(2), q);
  const file = shmem_file_setup("shm-file", FILE_PAGES);
  const touched = sim.event("T1 has the page in its TLB");
  const started = sim.event("mremap started");
  const done = sim.event("mremap and ftruncate done");
  let remaining = 2;
  const finish = (): void => {
    if (--remaining === 0) done.succeed();
  };

  /** T0: map the file, then mremap it while T1 reads it. */
  function* t0(): Kfn<void> {
    const cpu = m.cpu(0);
    yield* mmap_shared_file(k, cpu, mm, file, { addr: OLD, pages: FILE_PAGES, populate: true });
    yield waitFor(touched);
    yield* userTime(sys, 0, sim.rng.int(100, 2_000));
    // held once, somewhere in the mremap (a VM exit; on bare metal, cond_resched() between the
    // extents or an interrupt would do)
    m.stallFor(cpu, sim.rng.int(0, 2_000), stallNs, "vm-exit");
    started.succeed();
    yield* sys_mremap(k, cpu, mm, OLD, FILE_PAGES * 4096, NEW);
    finish();
    yield* userTime(sys, 0, 10_000);
  }
  /** T1: the reader — its load of the old address, again and again (LTP's read_task). */
  function* t1(): Kfn<void> {
    const cpu = m.cpu(1);
    while (mm.vmaAt(OLD) === null) yield* userTime(sys, 1, 1_000);
    hw.walk(cpu, mm, OLD, true);
    touched.succeed();
    while (!done.triggered) {
      yield* userTime(sys, 1, sim.rng.int(200, 500));
      hw.walk(cpu, mm, OLD, true);
    }
  }
  /** Q: ftruncate(fd, 0) at a random moment of the mremap. */
  function* truncater(): Kfn<void> {
    const cpu = m.cpu(2);
    yield waitFor(started);
    yield* userTime(sys, 2, sim.rng.int(0, 3_000));
    yield* sys_ftruncate(k, cpu, file, 0);
    finish();
  }

  sys.rcu.start();
  m.cpu(0).run("T0 mremap", t0());
  m.cpu(1).run("T1 reader", t1());
  m.cpu(2).run("Q ftruncate", truncater());
  runTrialSystem(sys, o.stopAtNs);
  return { reports: k.oracle.reports, system: sys, mmId: mm.id };
}

export const mremapStaleTlb: BugDefinition = {
  name: "mremap-stale-tlb",
  title: "mremap flushes the old range after dropping the page-table locks",
  year: 2018,
  section: "§8",
  cve: "CVE-2018-18281",
  introduced: {
    commit: null,
    release: null,
    note:
      "No Fixes tag. The window needs move_ptes not to hold the file's rmap lock, the common case since " +
      '38a76013ad80 "mm: avoid taking rmap locks in move_ptes()" (2012); the deferred flush itself is older.',
  },
  fixed: {
    commit: "eb66ae030829",
    subject: "mremap: properly flush TLB before releasing the page",
    release: "v4.19",
  },
  reader: "stale-tlb",
  scenario: "mremap-vs-ftruncate",
  scenarioText:
    "P maps 16 pages of a shmem file read-only across a 2 MiB boundary; thread T1 keeps reading the first " +
    "page, so its TLB caches old → X. Thread T0 mremaps the mapping elsewhere: move_ptes moves the first " +
    "extent's ptes under both pte locks and drops them; v4.14 leaves the old range's flush to the end of " +
    "move_page_tables, and T0 is held up (a VM exit) before it. Process Q truncates the file: " +
    "unmap_mapping_range finds X's pte at the new address through the file's rmap, zaps it, flushes the new " +
    "address, and truncate_inode_pages frees X. T1's next read hits its TLB entry for the old address: a " +
    "read of the freed page.",
  before: {
    profile: "v4.14",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v4.14: move_ptes only records need_flush; the flush comes after the last extent, with the locks long dropped.",
  },
  after: {
    profile: "v4.19",
    backend: "xen-pv",
    config: {},
    counterfactual: false,
    why: "v4.19: move_ptes flushes the old range before it drops the locks, so the truncate's zap waits for it.",
  },
  counterfactual: false,
  mechanism:
    "mremap moves page-table entries rather than pages, so no mmu_gather keeps a moved page alive until " +
    "its old translation is flushed: only the page-table locks order the move against anyone who reaches " +
    "the page another way. v4.14's move_ptes moved the ptes under the old and new locks, dropped the locks, " +
    "and left the flush of the old range to the end of move_page_tables. In that window ftruncate reaches " +
    "the page through the file's rmap at its new address, zaps it, flushes the new address — the only one " +
    "it knows — and frees the page, while a CPU that read the page through the old address keeps a TLB " +
    "entry for it and goes on reading (or writing) memory that now belongs to someone else. The fix " +
    "flushes the old range inside move_ptes, before the locks are dropped, whenever a present pte moved.",
  fix: {
    step: "flush_tlb_range(old range) in move_ptes before the pte locks are dropped",
    mutation: { mremapFlushUnderPtl: false },
  },
  conditions: [
    "clean (read-only) ptes: v4.9's 5d1904204c99 already flushed under the lock when a moved pte was dirty",
    "any flush backend: a TLB bug, not a walker bug; the CPUs' TLBs are modelled (arch/x86/page-walker.ts)",
  ],
  trial: mremapTrial,
};
