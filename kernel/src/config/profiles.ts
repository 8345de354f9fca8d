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
import { checkBool, checkOptions, MmulabError, UnknownNameError } from "../sim/errors.js";

export const PROFILE_NAMES = [
  "v4.13",
  "v4.14-posted",
  "v4.14",
  "v4.19",
  "v5.10",
  "v6.0",
  "v6.1",
  "v6.15",
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

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
}

const NO_INVLPGB =
  "INVLPGB broadcast flush arrived in v6.15 (Rik van Riel's series, CONFIG_BROADCAST_TLB_FLUSH); this kernel has no INVLPGB support";

export const PROFILES: Readonly<Record<ProfileName, KernelProfile>> = Object.freeze({
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
  checkOptions("resolve", opts, ["paravirt", "rcuTableFree"], "resolveProfile");
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
  const p = profile.gather;
  const gather: MmuGatherBehaviour = {
    rcuTableFree,
    ...p,
    mmUsersShortcut: rcuTableFree && p.mmUsersShortcut,
    tableInvalidate: rcuTableFree && p.tableInvalidate,
    ptReclaimFallback: rcuTableFree && p.ptReclaimFallback,
  };
  const via = profile.x86.tableFreeVia;
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
