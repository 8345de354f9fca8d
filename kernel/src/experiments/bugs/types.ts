/**
 * The bug registry's data model (docs/bugs.md): one {@link BugDefinition} per x86
 * page-table freeing bug, with the commits that introduced and fixed it, the reader that sees
 * freed (or wrong) memory, and the two profile runs — before and after the fix — that
 * {@link runBug} executes over many seeds. Nothing in a definition is a result: verdicts are
 * computed by running the modelled mechanism (run.ts).
 *
 * Adding a bug: write one module next to this file exporting a `BugDefinition`, and list it in
 * registry.ts.
 */
import type { BackendName, ProfileName } from "../../config/profiles.js";
import type { UafReport } from "../../mm/oracle.js";
import type { System, SystemOptions } from "../../system/build.js";

/**
 * Who reads freed or wrong memory (docs/bugs.md, "The readers"):
 *   software       an IRQ-off lockless walker (gup_fast);
 *   software-rcu   a pte_offset_map() walker inside rcu_read_lock(), IRQs on (v6.5+);
 *   hw-walker      the CPU's page walker, through a cached paging-structure entry;
 *   stale-tlb      a program access through a TLB entry whose page has been freed;
 *   not-a-table    a walk that reaches a frame that is not a page table at all;
 *   foreign-table  a walk that reaches a live table owned by another mm.
 * The oracle reports the first four as use-after-free readers; the last two are reports a bug's
 * trial makes itself.
 */
export const BUG_READER_KINDS = [
  "software",
  "software-rcu",
  "hw-walker",
  "stale-tlb",
  "not-a-table",
  "foreign-table",
] as const;
export type BugReaderKind = (typeof BUG_READER_KINDS)[number];

/** The commit (and release) that brought the bug in. Unknown parts are null, with a note. */
export interface BugIntroduced {
  /** Abbreviated hash as cited in docs/bugs.md, or null when no single commit is known. */
  readonly commit: string | null;
  /** First release with it ("v4.14"), or null. */
  readonly release: string | null;
  /** How it came in, and how sure the attribution is. */
  readonly note: string;
}

/** The commit that fixed it. */
export interface BugFixed {
  /** Abbreviated hash, or null when the upstream hash is not confirmed (the subject is). */
  readonly commit: string | null;
  readonly subject: string;
  /** First release with the fix. */
  readonly release: string;
}

/**
 * The options of one run besides profile, backend and seed: CONFIG_PARAVIRT, a forced
 * HAVE_RCU_TABLE_FREE (`resolve`), the counterfactual switches buildSystem takes
 * (`mmUsersShortcut`, `tableInvalidate`, `collapseSyncOne`, `mremapFlushUnderPtl`, …), a host.
 */
export type BugRunConfig = Readonly<
  Omit<SystemOptions, "profile" | "backend" | "seed" | "trace" | "history">
>;

/** One side of a bug: the kernel profile, flush backend and config its trials run. */
export interface BugProfileRun {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly config: BugRunConfig;
  /** No released kernel had this combination (a "before" built to show what the fix guards
   * against, when the fix landed with the change that needed it). */
  readonly counterfactual: boolean;
  /** Why this profile, backend and config (e.g. why the "after" needs RCU table freeing on). */
  readonly why: string;
}

/** The fix's step in the model, and the switch that removes it (the mutation test). */
export interface BugFixStep {
  /** The step in the kernel's words ("tlb_remove_table_sync_one() after pmdp_collapse_flush"). */
  readonly step: string;
  /** Config applied on top of the "after" run to remove the step; the bug must come back. */
  readonly mutation: BugRunConfig;
}

/** The options one trial of a bug runs with. */
export interface BugTrialOptions {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly config: BugRunConfig;
  readonly seed: number;
  /** Record a trace and frame histories (for a replay's timeline and page-table views). */
  readonly trace: boolean;
  /** Stop at this simulated time, ns, and return the system as it is then (the page tables at
   * the moment of a bad read). Absent: run to the end. */
  readonly stopAtNs?: number;
}

/** What one trial saw. */
export interface BugTrialResult {
  /** Every bad read, in time order; `reader` is one of {@link BUG_READER_KINDS}. */
  readonly reports: readonly (Omit<UafReport, "reader"> & { readonly reader: BugReaderKind })[];
  /** The system, for views (timeline, page tables) and inspection. */
  readonly system: System;
  /** The mm whose tables the bug is about (what a ptdump shows). */
  readonly mmId: number;
}

/** The explorer's spec for a bug small enough to explore exhaustively (one side). */
export interface BugExploreSpec {
  /** A race scenario the explorer knows (explore/world.ts). */
  readonly scenario: string;
  readonly before: { readonly profile: ProfileName; readonly backend: BackendName };
  readonly after: { readonly profile: ProfileName; readonly backend: BackendName };
  /** Explore with the CPUs' page walkers and paging-structure caches (`explore --hardware`), for
   * a bug whose reader is the hardware. Default false: the software walker only. */
  readonly hardware?: boolean;
  /** What the exploration shows, when it is a variant of the bug rather than the bug itself. */
  readonly note?: string;
}

export interface BugDefinition {
  /** Registry key: lower-case, dashes ("seed-pv-flush"). */
  readonly name: string;
  readonly title: string;
  /** Year of the fix. */
  readonly year: number;
  /** Section of docs/bugs.md with the research. */
  readonly section: string;
  readonly introduced: BugIntroduced;
  readonly fixed: BugFixed;
  readonly cve?: string;
  /** The reader that sees the bad memory in the "before" run. */
  readonly reader: BugReaderKind;
  /** The scenario its trials run (a race-matrix scenario, or the bug's own). */
  readonly scenario: string;
  /** What the scenario does, step by step, in one paragraph. */
  readonly scenarioText: string;
  readonly before: BugProfileRun;
  readonly after: BugProfileRun;
  /** The "before" is a counterfactual (no released kernel had it). */
  readonly counterfactual: boolean;
  /** One paragraph, in our words: how the bad read comes about and how the fix closes it. */
  readonly mechanism: string;
  readonly fix: BugFixStep;
  /** Modelling conditions a reader should know (e.g. "no PCID"). */
  readonly conditions?: readonly string[];
  /** For the bugs small enough: the explorer's scenario and profiles (explore/ runs it). */
  readonly explore?: BugExploreSpec;
  /** Runs one seeded trial. Deterministic: same options, same result. */
  trial(opts: BugTrialOptions): BugTrialResult;
}
