/**
 * Kernel-version profiles: what each version does when it frees page tables, as data plus the
 * switches mm/ and arch/x86 read (reference/kernel.md §1, §2.5, §4, §6 item 18). A profile is
 * resolved together with a flush backend, because since v4.19 the backend decides (through
 * pv_mmu_ops.tlb_remove_table) whether tables are RCU-freed.
 *
 * Each profile names the commits behind its behaviour. Invalid combinations — a backend the
 * version does not have — are refused with the reason, the way Kconfig would not offer them.
 */
import type { X86Behaviour } from "../arch/x86/tlb.js";
import type { MmuGatherBehaviour } from "../mm/kernel.js";
import type { Flavour } from "../rcu/params.js";
import {
  checkBool,
  checkOptions,
  MmulabError,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";

export const PROFILE_NAMES = [
  "v4.13",
  "v4.14-posted",
  "v4.14",
  "v4.19",
  "v5.10",
  "v6.0",
  "v6.1",
  "v6.6",
  "v6.6-retract-ipi",
  "v6.12",
  "v6.14",
  "v6.14-semi-rcu",
  "v6.15",
  "v6.16",
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** The profiles the race matrix runs by default: the versions its scenarios were built for
 * (the later ones add kernel paths — pte_offset_map walkers, retract, PT_RECLAIM, mremap,
 * hugetlb sharing — that only the bug registry's scenarios exercise). */
export const MATRIX_PROFILES = [
  "v4.13",
  "v4.14-posted",
  "v4.14",
  "v4.19",
  "v5.10",
  "v6.0",
  "v6.1",
  "v6.15",
] as const satisfies readonly ProfileName[];

/**
 * A fix's step that a mutation test removes from a profile that has it ("the after profile
 * without the fix"): each names the one switch it turns back.
 * - "pte_free_defer": retract_page_tables frees as v6.1 did (sync IPI, then pte_free);
 * - "move_normal_pmd-recheck": v6.12's pmd re-check in move_normal_pmd;
 * - "pt_reclaim-rcu": v6.14's RCU free of single tables, and native tables through
 *   tlb_remove_table (back to tlb_remove_page);
 * - "huge_pmd_unshare-sync": v6.16's tlb_remove_table_sync_one in huge_pmd_unshare.
 */
export const FIX_STEPS = [
  "pte_free_defer",
  "move_normal_pmd-recheck",
  "pt_reclaim-rcu",
  "huge_pmd_unshare-sync",
] as const;
export type FixStep = (typeof FIX_STEPS)[number];

export const BACKEND_NAMES = ["native", "xen-pv", "hyperv", "kvm-pv", "invlpgb"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Backends that replace the flush IPI with a hypercall (they select CONFIG_PARAVIRT). */
export const PARAVIRT_BACKENDS: readonly BackendName[] = ["xen-pv", "hyperv", "kvm-pv"];

export interface KernelProfile {
  readonly name: ProfileName;
  readonly title: string;
  /** Commits that make this profile what it is. */
  readonly commits: readonly string[];
  /** When HAVE_RCU_TABLE_FREE (MMU_GATHER_RCU_TABLE_FREE) is selected on x86. */
  readonly rcuTableFree: "never" | "if-paravirt" | "always";
  /** The generic mmu_gather switches (mm/kernel.ts declares each; the RCU-table-free parts
   * apply only when HAVE_RCU_TABLE_FREE ends up built in, see {@link resolveProfile}). */
  readonly gather: Omit<MmuGatherBehaviour, "rcuTableFree">;
  /** The x86 switches (arch/x86/tlb.ts declares each). `tableFreeVia` is what ___pXd_free_tlb
   * calls when RCU table free is built in. */
  readonly x86: X86Behaviour;
  /** The RCU the table batch waits for: call_rcu_sched before v4.20, call_rcu after. */
  readonly rcuFlavour: Flavour;
  /** Backends the version cannot have, with the reason. */
  readonly unavailable: Readonly<Partial<Record<BackendName, string>>>;
  /** As a KVM guest: kvm_smp_send_call_func_ipi yields to a preempted IPI target with
   * KVM_HC_SCHED_YIELD when the host offers it ("KVM: X86: Implement PV sched yield in linux
   * guest", Wanpeng Li, v5.3). */
  readonly pvSchedYield: boolean;
  /** Set on a profile no released kernel was: why it exists and what it changes. */
  readonly counterfactual?: string;
}

const NO_INVLPGB =
  "INVLPGB broadcast flush arrived in v6.15 (Rik van Riel's series, CONFIG_BROADCAST_TLB_FLUSH); this kernel has no INVLPGB support";

/** The later profiles ({@link laterProfiles}), each a released one plus the paths after it. */
type LaterProfileName =
  "v6.6" | "v6.6-retract-ipi" | "v6.12" | "v6.14" | "v6.14-semi-rcu" | "v6.16";

const RELEASED: Readonly<Record<Exclude<ProfileName, LaterProfileName>, KernelProfile>> = {
  "v4.13": {
    name: "v4.13",
    title: "v4.13: page tables freed by tlb_remove_page, after the flush (before the seed patch)",
    commits: ["e585513b76f7 x86/mm/gup: switch GUP to the generic get_user_page_fast()"],
    rcuTableFree: "never",
    gather: {
      mmUsersShortcut: false,
      tableInvalidate: false,
      tableFlushIn: "tlbonly",
      freedTables: false,
      ptReclaimFallback: false,
      munmapDowngrade: false,
      rwsemReaderSteal: false,
      collapseSyncOne: false,
      mremapFlushUnderPtl: false,
    },
    x86: {
      tableFreeVia: "tlb_remove_page",
      skipLazyUnlessFreedTables: false,
      tlbGen: false,
      pageSizeAwareFlush: false,
      flushMulti: false,
    },
    rcuFlavour: "sched",
    // Xen PV has flushed by hypercall for years; Hyper-V (2ffd9e33ce4a) and KVM (858a43aae236)
    // hooks applied to v4.13 show what they would have done without the seed patch.
    pvSchedYield: false,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v4.14-posted": {
    name: "v4.14-posted",
    title: "v4.14 as posted in the seed: select HAVE_RCU_TABLE_FREE if SMP && PARAVIRT",
    commits: [
      "seed: [PATCH] x86: enable RCU based table free when PARAVIRT (Vitaly Kuznetsov, 2017-08-23)",
    ],
    rcuTableFree: "if-paravirt",
    gather: {
      mmUsersShortcut: true,
      tableInvalidate: false,
      tableFlushIn: "tlbonly",
      freedTables: false,
      ptReclaimFallback: false,
      munmapDowngrade: false,
      rwsemReaderSteal: false,
      collapseSyncOne: false,
      mremapFlushUnderPtl: false,
    },
    x86: {
      tableFreeVia: "tlb_remove_table",
      skipLazyUnlessFreedTables: false,
      tlbGen: true,
      pageSizeAwareFlush: false,
      flushMulti: false,
    },
    rcuFlavour: "sched",
    pvSchedYield: false,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v4.14": {
    name: "v4.14",
    title:
      "v4.14 as merged: HAVE_RCU_TABLE_FREE unconditional, with v4.14's three early-free paths",
    commits: [
      "9e52fc2b50de x86/mm: Enable RCU based page table freeing (CONFIG_HAVE_RCU_TABLE_FREE=y)",
      "2ffd9e33ce4a x86/hyper-v: Use hypercall for remote TLB flush",
    ],
    rcuTableFree: "always",
    gather: {
      mmUsersShortcut: true,
      tableInvalidate: false,
      tableFlushIn: "tlbonly",
      freedTables: false,
      ptReclaimFallback: false,
      munmapDowngrade: false,
      rwsemReaderSteal: false,
      collapseSyncOne: false,
      mremapFlushUnderPtl: false,
    },
    x86: {
      tableFreeVia: "tlb_remove_table",
      skipLazyUnlessFreedTables: false,
      tlbGen: true,
      pageSizeAwareFlush: false,
      flushMulti: false,
    },
    rcuFlavour: "sched",
    pvSchedYield: false,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v4.19": {
    name: "v4.19",
    title:
      "v4.19: RCU table free only for paravirt (pv_mmu_ops.tlb_remove_table), invalidate before free, no mm_users shortcut",
    commits: [
      "48a8b97cfd80 x86/mm: Only use tlb_remove_table() for paravirt",
      "d86564a2f085 mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE",
      "mm/tlb: Remove tlb_remove_table() non-concurrent condition",
      "mm: move tlb_table_flush to tlb_flush_mmu_free",
      "eb66ae030829 mremap: properly flush TLB before releasing the page (CVE-2018-18281)",
      "858a43aae236 KVM: X86: use paravirtualized TLB Shootdown (v4.16)",
    ],
    rcuTableFree: "if-paravirt",
    gather: {
      mmUsersShortcut: false,
      tableInvalidate: true,
      tableFlushIn: "free",
      freedTables: false,
      ptReclaimFallback: false,
      munmapDowngrade: false,
      rwsemReaderSteal: false,
      collapseSyncOne: false,
      mremapFlushUnderPtl: true,
    },
    x86: {
      tableFreeVia: "paravirt",
      skipLazyUnlessFreedTables: false,
      tlbGen: true,
      pageSizeAwareFlush: false,
      flushMulti: false,
    },
    rcuFlavour: "sched",
    pvSchedYield: false,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v5.10": {
    name: "v5.10",
    title:
      "v5.10: unified RCU (call_rcu), freed_tables, lazy CPUs skipped unless tables were freed",
    commits: [
      "RCU flavour consolidation (v4.20)",
      "016c4d92cd16 x86/mm: freed_tables in tlb_flush (v4.20)",
      "MMU_GATHER_RCU_TABLE_FREE rename and tlb_needs_table_invalidate (v5.6)",
    ],
    rcuTableFree: "if-paravirt",
    gather: {
      mmUsersShortcut: false,
      tableInvalidate: true,
      tableFlushIn: "free",
      freedTables: true,
      ptReclaimFallback: false,
      munmapDowngrade: true,
      rwsemReaderSteal: false,
      collapseSyncOne: false,
      mremapFlushUnderPtl: true,
    },
    x86: {
      tableFreeVia: "paravirt",
      skipLazyUnlessFreedTables: true,
      tlbGen: true,
      pageSizeAwareFlush: true,
      flushMulti: false,
    },
    rcuFlavour: "unified",
    pvSchedYield: true,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v6.0": {
    name: "v6.0",
    title:
      "v6.0: as v6.1, but khugepaged frees a collapsed pte table right after pmdp_collapse_flush, with no IPI to IRQ-off walkers",
    commits: [
      "4ce94eabac16 x86/mm/tlb: Flush remote and local TLBs concurrently (v5.13)",
      "fe978069739b x86/mm/tlb: Privatize cpu_tlbstate (is_lazy in cpu_tlbstate_shared, v5.13)",
      "mm: mmu_gather: remove __tlb_reset_range() for force flush (Yang Shi, v5.2: a nested gather flushes fullmm with freed_tables)",
      "arch/x86/kernel/paravirt.c (6.1): .mmu.tlb_remove_table = tlb_remove_page; KVM, Xen PV and Hyper-V install tlb_remove_table",
      "70cbc3cc78a9 mm: gup: fix the fast GUP race against THP collapse (v6.0: gup_fast re-checks the pmd; it still reads the table)",
    ],
    rcuTableFree: "if-paravirt",
    gather: {
      mmUsersShortcut: false,
      tableInvalidate: true,
      tableFlushIn: "free",
      freedTables: true,
      ptReclaimFallback: false,
      munmapDowngrade: true,
      rwsemReaderSteal: true,
      collapseSyncOne: false,
      mremapFlushUnderPtl: true,
    },
    x86: {
      tableFreeVia: "paravirt",
      skipLazyUnlessFreedTables: true,
      tlbGen: true,
      pageSizeAwareFlush: true,
      flushMulti: true,
    },
    rcuFlavour: "unified",
    pvSchedYield: true,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v6.1": {
    name: "v6.1",
    title:
      "v6.1: RCU table free only behind the paravirt hook (native: tlb_remove_page), flush_tlb_multi, lazy CPUs IPI'd only when tables are freed",
    commits: [
      "4ce94eabac16 x86/mm/tlb: Flush remote and local TLBs concurrently (v5.13)",
      "fe978069739b x86/mm/tlb: Privatize cpu_tlbstate (is_lazy in cpu_tlbstate_shared, v5.13)",
      "mm: mmu_gather: remove __tlb_reset_range() for force flush (Yang Shi, v5.2: a nested gather flushes fullmm with freed_tables)",
      "arch/x86/kernel/paravirt.c (6.1): .mmu.tlb_remove_table = tlb_remove_page; KVM, Xen PV and Hyper-V install tlb_remove_table",
      "6.1.y stable: should_flush_tlb() filters the IPI targets (Debian 6.1.192)",
      "2ba99c5e0881 mm/khugepaged: fix GUP-fast interaction by sending IPI (tlb_remove_table_sync_one after pmdp_collapse_flush)",
    ],
    rcuTableFree: "if-paravirt",
    gather: {
      mmUsersShortcut: false,
      tableInvalidate: true,
      tableFlushIn: "free",
      freedTables: true,
      ptReclaimFallback: false,
      munmapDowngrade: true,
      rwsemReaderSteal: true,
      collapseSyncOne: true,
      mremapFlushUnderPtl: true,
    },
    x86: {
      tableFreeVia: "paravirt",
      skipLazyUnlessFreedTables: true,
      tlbGen: true,
      pageSizeAwareFlush: true,
      flushMulti: true,
    },
    rcuFlavour: "unified",
    pvSchedYield: true,
    unavailable: { invlpgb: NO_INVLPGB },
  },
  "v6.15": {
    name: "v6.15",
    title:
      "v6.15: MMU_GATHER_RCU_TABLE_FREE unconditional for INVLPGB; PT_RECLAIM frees single tables by call_rcu",
    commits: [
      "a37259732a7d x86/mm: Make MMU_GATHER_RCU_TABLE_FREE unconditional",
      "f2c5c2105827 x86/mm: Remove pv_ops.mmu.tlb_remove_table call",
      "PT_RECLAIM: x86: mm: free page table pages by RCU instead of semi RCU (v6.14)",
      "209954cbc7d0 x86/mm/tlb: Update mm_cpumask lazily (v6.13), 6db2526c1d69 trim it once a second",
    ],
    rcuTableFree: "always",
    gather: {
      mmUsersShortcut: false,
      tableInvalidate: true,
      tableFlushIn: "free",
      freedTables: true,
      ptReclaimFallback: true,
      munmapDowngrade: true,
      rwsemReaderSteal: true,
      collapseSyncOne: true,
      mremapFlushUnderPtl: true,
      retractFree: "pte_free_defer",
      mremapPmdRecheck: true,
    },
    x86: {
      tableFreeVia: "tlb_remove_table",
      skipLazyUnlessFreedTables: true,
      tlbGen: true,
      pageSizeAwareFlush: true,
      flushMulti: true,
      lazyCpumask: true,
    },
    rcuFlavour: "unified",
    pvSchedYield: true,
    unavailable: {},
  },
};

/**
 * The profiles of the later table-freeing paths (docs/bugs.md §5–§7): v6.1 (or, for
 * v6.16, v6.15) with the switches of the paths that came after it. Only what changes is written;
 * everything else is the base profile's.
 */
function laterProfiles(
  v61: KernelProfile,
  v615: KernelProfile,
): Record<LaterProfileName, KernelProfile> {
  const v66: KernelProfile = {
    ...v61,
    name: "v6.6",
    title:
      "v6.6: khugepaged retracts pte tables without the mmap lock and frees them by RCU (pte_free_defer); pte_offset_map() walks under rcu_read_lock()",
    commits: [
      "1d65b771bc08 mm/khugepaged: retract_page_tables() without mmap or vma lock",
      "13cf577e6b66 mm/pgtable: add pte_free_defer() for pgtable as page",
      "a349d72fd9ef mm/pgtable: add rcu_read_lock() and rcu_read_unlock()s",
      ...v61.commits,
    ],
    gather: { ...v61.gather, retractFree: "pte_free_defer", mremapPmdRecheck: false },
  };
  const v612: KernelProfile = {
    ...v66,
    name: "v6.12",
    title: "v6.12: move_normal_pmd re-checks the old pmd under the locks (CVE-2024-50066)",
    commits: [
      "6fa1066fc5d0 mm/mremap: fix move_normal_pmd/retract_page_tables race (stable 6.6.58)",
      ...v66.commits,
    ],
    gather: { ...v66.gather, mremapPmdRecheck: true },
  };
  const v614: KernelProfile = {
    ...v612,
    name: "v6.14",
    title:
      "v6.14: PT_RECLAIM frees empty pte tables on MADV_DONTNEED, by RCU (single tables by call_rcu, native tables through tlb_remove_table)",
    commits: [
      "6375e95f381e mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)",
      "718b13861d22 x86: mm: free page table pages by RCU instead of semi RCU",
      "4817f70c25b6 x86: select ARCH_SUPPORTS_PT_RECLAIM if X86_64",
      ...v612.commits,
    ],
    gather: { ...v612.gather, ptReclaim: true, ptReclaimFallback: true },
    // with PT_RECLAIM, native_tlb_remove_table is tlb_remove_table too
    x86: { ...v612.x86, tableFreeVia: "tlb_remove_table" },
  };
  return {
    "v6.6": v66,
    "v6.6-retract-ipi": {
      ...v66,
      name: "v6.6-retract-ipi",
      title:
        "counterfactual: v6.6's lockless retract_page_tables freeing the pte table as v6.1 did (tlb_remove_table_sync_one, then pte_free)",
      commits: [
        "1d65b771bc08 mm/khugepaged: retract_page_tables() without mmap or vma lock",
        "v6.1 collapse_and_free_pmd: tlb_remove_table_sync_one(); pte_free()",
      ],
      gather: { ...v66.gather, retractFree: "sync-then-pte_free" },
      counterfactual:
        "No released kernel: 13cf577e6b66 (pte_free_defer) came in the same series as lockless retract (1d65b771bc08). This is v6.6 with the table freed the v6.1 way, to show that an IPI does not wait for an rcu_read_lock() walker.",
    },
    "v6.12": v612,
    "v6.14": v614,
    "v6.14-semi-rcu": {
      ...v614,
      name: "v6.14-semi-rcu",
      title:
        "counterfactual: v6.14's PT_RECLAIM on the semi-RCU table freeing it replaced (single tables after an IPI, native tables by tlb_remove_page)",
      commits: [
        "6375e95f381e mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)",
        "without 718b13861d22 x86: mm: free page table pages by RCU instead of semi RCU",
      ],
      gather: { ...v614.gather, ptReclaimFallback: false },
      x86: { ...v614.x86, tableFreeVia: "paravirt" },
      counterfactual:
        "No released kernel: x86 opted into PT_RECLAIM (4817f70c25b6) only after 718b13861d22 moved its table freeing to RCU, in the same series. This is v6.14 without that commit.",
    },
    "v6.16": {
      ...v615,
      name: "v6.16",
      title:
        "v6.16: huge_pmd_unshare waits for lockless walkers (tlb_remove_table_sync_one) before the i_mmap lock is dropped",
      commits: [
        "1013af4f585f mm/hugetlb: fix huge_pmd_unshare() vs GUP-fast race (CVE-2025-38085)",
        "081056dc00a2 mm/hugetlb: unshare page tables during VMA split, not before",
        ...v615.commits,
      ],
      gather: { ...v615.gather, hugetlbUnshareSync: true },
    },
  };
}

export const PROFILES: Readonly<Record<ProfileName, KernelProfile>> = Object.freeze({
  ...RELEASED,
  ...laterProfiles(RELEASED["v6.1"], RELEASED["v6.15"]),
});

export class IncompatibleBackendError extends MmulabError {
  constructor(
    readonly profile: ProfileName,
    readonly backend: BackendName,
    readonly reason: string,
  ) {
    super(`backend "${backend}" is not available on profile "${profile}": ${reason}`);
  }
}

export function checkProfileName(name: string): ProfileName {
  if (typeof name !== "string" || !(PROFILE_NAMES as readonly string[]).includes(name))
    throw new UnknownNameError("profile", name, PROFILE_NAMES);
  return name as ProfileName;
}

export function checkBackendName(name: string): BackendName {
  if (typeof name !== "string" || !(BACKEND_NAMES as readonly string[]).includes(name))
    throw new UnknownNameError("backend", name, BACKEND_NAMES);
  return name as BackendName;
}

/**
 * CONFIG_PARAVIRT unless a caller says otherwise: set, as distribution kernels build it (Debian's
 * 6.1 config reads PARAVIRT=y, and so did the 2017 RHEL/Fedora kernels the seed's kernbench hosts
 * ran) — so a native flush on a v4.19–v6.14 profile has HAVE_RCU_TABLE_FREE built in, with the
 * paravirt hook leaving native table frees on tlb_remove_page. A bare-metal build without it is
 * the explicit `paravirt: false` (the paravirt backends refuse it).
 */
export const DEFAULT_PARAVIRT = true;

export interface ResolveOptions {
  /** CONFIG_PARAVIRT. Default {@link DEFAULT_PARAVIRT} (a distribution kernel); false is a
   * bare-metal build — it matters for the "if-paravirt" profiles. */
  readonly paravirt?: boolean;
  /** Counterfactual: force HAVE_RCU_TABLE_FREE on or off regardless of the version, to ask
   * "what if" (e.g. INVLPGB without RCU table freeing). */
  readonly rcuTableFree?: boolean;
  /** Mutation: the fixes' steps to take out of the profile ({@link FIX_STEPS}). Each is
   * refused on a profile that does not have it. */
  readonly without?: readonly FixStep[];
}

export interface ResolvedProfile {
  readonly profile: KernelProfile;
  readonly backend: BackendName;
  readonly paravirt: boolean;
  /** HAVE_RCU_TABLE_FREE built in. */
  readonly rcuTableFree: boolean;
  readonly gather: MmuGatherBehaviour;
  readonly x86: X86Behaviour;
  readonly rcuFlavour: Flavour;
}

/** Profile × backend → the switches mm/ and arch/x86 read, or a typed refusal. */
export function resolveProfile(
  profileName: string,
  backendName: string,
  opts: ResolveOptions = {},
): ResolvedProfile {
  const profile = PROFILES[checkProfileName(profileName)];
  const backend = checkBackendName(backendName);
  checkOptions("resolve", opts, ["paravirt", "rcuTableFree", "without"], "resolveProfile");
  checkBool("resolve.paravirt", opts.paravirt, false, "resolveProfile");
  checkBool("resolve.rcuTableFree", opts.rcuTableFree, false, "resolveProfile");
  const reason = profile.unavailable[backend];
  if (reason !== undefined) throw new IncompatibleBackendError(profile.name, backend, reason);
  const isPv = PARAVIRT_BACKENDS.includes(backend);
  const paravirt = opts.paravirt ?? DEFAULT_PARAVIRT;
  if (isPv && !paravirt)
    throw new IncompatibleBackendError(
      profile.name,
      backend,
      "a paravirt flush backend needs CONFIG_PARAVIRT",
    );
  const built =
    profile.rcuTableFree === "always" || (profile.rcuTableFree === "if-paravirt" && paravirt);
  const rcuTableFree = opts.rcuTableFree ?? built;
  // Kconfig's "depends on": the parts of HAVE_RCU_TABLE_FREE go when it is not built in, and
  // without it tlb_remove_table is tlb_remove_page.
  const p = withoutFixSteps(profile, opts.without);
  const gather: MmuGatherBehaviour = {
    rcuTableFree,
    ...p,
    mmUsersShortcut: rcuTableFree && p.mmUsersShortcut,
    tableInvalidate: rcuTableFree && p.tableInvalidate,
    ptReclaimFallback: rcuTableFree && p.ptReclaimFallback,
  };
  const via =
    opts.without?.includes("pt_reclaim-rcu") === true ? "paravirt" : profile.x86.tableFreeVia;
  const x86: X86Behaviour = {
    ...profile.x86,
    tableFreeVia: !rcuTableFree
      ? "tlb_remove_page"
      : via === "tlb_remove_page"
        ? "tlb_remove_table"
        : via,
  };
  return Object.freeze({
    profile,
    backend,
    paravirt,
    rcuTableFree,
    gather,
    x86,
    rcuFlavour: profile.rcuFlavour,
  });
}

/** Each fix step: whether a profile has it, and the profile's switches without it. */
const FIX_STEP_SWITCHES: Readonly<
  Record<
    FixStep,
    {
      readonly has: (g: KernelProfile["gather"]) => boolean;
      readonly remove: (g: KernelProfile["gather"]) => KernelProfile["gather"];
    }
  >
> = {
  pte_free_defer: {
    has: (g) => g.retractFree === "pte_free_defer",
    remove: (g) => ({ ...g, retractFree: "sync-then-pte_free" }),
  },
  "move_normal_pmd-recheck": {
    has: (g) => g.mremapPmdRecheck === true,
    remove: (g) => ({ ...g, mremapPmdRecheck: false }),
  },
  "pt_reclaim-rcu": {
    has: (g) => g.ptReclaim === true && g.ptReclaimFallback,
    remove: (g) => ({ ...g, ptReclaimFallback: false }),
  },
  "huge_pmd_unshare-sync": {
    has: (g) => g.hugetlbUnshareSync === true,
    remove: (g) => ({ ...g, hugetlbUnshareSync: false }),
  },
};

/** The profile's generic switches with the `without` fix steps taken out; a step the profile
 * does not have is refused. */
function withoutFixSteps(
  profile: KernelProfile,
  without: readonly FixStep[] | undefined,
): KernelProfile["gather"] {
  if (without === undefined) return profile.gather;
  if (!Array.isArray(without))
    throw new ParameterError(
      "resolve.without",
      without,
      `a list of ${FIX_STEPS.join(", ")}`,
      "resolveProfile",
    );
  let g = profile.gather;
  for (const step of without as readonly unknown[]) {
    if (typeof step !== "string" || !(FIX_STEPS as readonly string[]).includes(step))
      throw new UnknownNameError("resolve.without", String(step), FIX_STEPS, "resolveProfile");
    const sw = FIX_STEP_SWITCHES[step as FixStep];
    if (!sw.has(g))
      throw new ParameterError(
        "resolve.without",
        step,
        `a fix step profile "${profile.name}" has`,
        "resolveProfile",
      );
    g = sw.remove(g);
  }
  return g;
}
