/**
 * The data contract between the simulator (kernel/) and the JupyterLab renderers
 * (lab-extension/): three versioned JSON payloads, each under its own MIME type. Both workspaces
 * import these types from here; nothing else defines them.
 *
 * Rules for producers: every payload carries `version`; numbers are finite; times are integer
 * nanoseconds of simulated time. Rules for consumers (renderers): treat payloads as untrusted —
 * check `version` first and reject unknown ones with a readable error naming the MIME type, the
 * version received and the versions supported; escape every string; never build HTML from data.
 */

export const PAGETABLE_MIME = "application/vnd.mmulab.pagetable+json";
export const TIMELINE_MIME = "application/vnd.mmulab.timeline+json";
export const PLOT_MIME = "application/vnd.mmulab.plot+json";

export const PAGETABLE_VERSIONS = [1] as const;
export const TIMELINE_VERSIONS = [1] as const;
export const PLOT_VERSIONS = [1] as const;

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------- page-table tree

/** x86-64 paging levels, top down; "page" is a data page mapped by a leaf entry. */
export type PageTableLevel = "pgd" | "p4d" | "pud" | "pmd" | "pte" | "page";

/**
 * Life of a frame as the renderer colours it:
 * - live: linked into the tree (or, for a data page, mapped);
 * - unlinked: cleared from its parent entry, queued in an mmu_gather, not yet freed;
 * - pending-rcu: handed to RCU (call_rcu_sched), freed after a grace period;
 * - freed: back in the page allocator;
 * - reused: freed and allocated again for something else (what a stale walker then reads).
 */
export type PageState = "live" | "unlinked" | "pending-rcu" | "freed" | "reused";

export interface FrameHistoryItem {
  /** Simulated time, ns. */
  readonly t: number;
  /** What happened: "alloc pte table", "unlink", "pending-rcu", "free", … */
  readonly what: string;
  /** Who did it (CPU and code path), when known. */
  readonly by?: string;
}

export interface PageTableNode {
  readonly level: PageTableLevel;
  /** Index of this node's entry in its parent table (0 … 511); 0 for the root. */
  readonly index: number;
  /** Page-frame number. */
  readonly frame: number;
  /** First virtual address this node maps. A number: page-aligned addresses below 2^57 are
   * exact in a float64 (they are multiples of 4096). */
  readonly va: number;
  readonly state: PageState;
  /** Present entries in this table (0 for data pages). */
  readonly entries: number;
  /** A 2 MiB or 1 GiB leaf mapped directly by a pmd or pud entry. */
  readonly huge?: boolean;
  readonly history?: readonly FrameHistoryItem[];
  /** CPUs whose paging-structure caches still hold a pointer to this table (a page walker there
   * can reach it without reading its parent entry); absent when none or not modelled. */
  readonly cachedBy?: readonly number[];
  readonly children?: readonly PageTableNode[];
}

export interface PageTablePayload {
  readonly version: 1;
  readonly title?: string;
  /** mm id within the simulation. */
  readonly mm: number;
  /** CONFIG_PGTABLE_LEVELS. */
  readonly levels: 4 | 5;
  readonly root: PageTableNode;
  /** Tables no longer reachable from the root but not yet reused: unlinked, pending RCU, freed
   * (drawn beside the tree so a stale walker's path has somewhere to point). */
  readonly detached?: readonly PageTableNode[];
  /** Frames a walker visited, top down; the renderer highlights this path. */
  readonly walkerPath?: readonly number[];
}

// ---------------------------------------------------------------- timeline

export type TimelineSpanKind =
  | "irq-off"
  | "gup-walk"
  | "flush-wait"
  | "ipi-handler"
  | "hypercall"
  | "grace-period"
  | "rcu-callback"
  | "preempted"
  | "other";

export interface TimelineLane {
  /** Stable id used by spans, instants and arrows ("cpu0", "rcu"). */
  readonly id: string;
  readonly label: string;
}

export interface TimelineSpan {
  readonly lane: string;
  /** ns */
  readonly start: number;
  /** ns, ≥ start */
  readonly end: number;
  readonly kind: TimelineSpanKind;
  readonly label: string;
  readonly args?: Readonly<Record<string, JsonPrimitive>>;
}

/** Kinds of instants: "uaf" marks a use-after-free found by the oracle. A new kind (a TLB fill,
 * an invalidation) is added here and to TIMELINE_INSTANT_KINDS (payload.ts); renderers draw
 * kinds they do not single out as markers. */
export type TimelineInstantKind = "uaf" | "marker";

export interface TimelineInstant {
  readonly lane: string;
  readonly t: number;
  readonly kind: TimelineInstantKind;
  readonly label: string;
  readonly args?: Readonly<Record<string, JsonPrimitive>>;
}

export interface TimelineArrow {
  readonly fromLane: string;
  readonly fromT: number;
  readonly toLane: string;
  readonly toT: number;
  readonly kind: "ipi";
  readonly label: string;
}

/**
 * Busy time of one lane and span kind per time bucket: the reduced form of a timeline too big to
 * ship span by span (kernel/src/views/timeline-reduce.ts builds it).
 */
export interface TimelineOverviewRow {
  readonly lane: string;
  readonly kind: TimelineSpanKind;
  /** ns of each bucket covered by spans of this kind on this lane (0 … bucketNs), `buckets` long. */
  readonly busy: readonly number[];
  /** Spans of this kind starting in each bucket, `buckets` long. */
  readonly count: readonly number[];
}

/** The whole timeline summarised per pixel-sized time bucket. */
export interface TimelineOverview {
  /** ns; bucket i covers [start + i·bucketNs, start + (i+1)·bucketNs). */
  readonly start: number;
  /** ns, > 0 */
  readonly bucketNs: number;
  readonly buckets: number;
  readonly rows: readonly TimelineOverviewRow[];
  /** IPI arrows sent in each bucket, `buckets` long. */
  readonly ipis: readonly number[];
  /** Sizes of the full timeline. */
  readonly totals: { readonly spans: number; readonly instants: number; readonly arrows: number };
}

export interface TimelinePayload {
  readonly version: 1;
  readonly title?: string;
  readonly unit: "ns";
  readonly lanes: readonly TimelineLane[];
  /** All spans, or with `overview` only those overlapping `detail`. */
  readonly spans: readonly TimelineSpan[];
  /** All instants, or with `overview` those in `detail` and every use-after-free. */
  readonly instants: readonly TimelineInstant[];
  /** All arrows, or with `overview` those overlapping `detail`. */
  readonly arrows: readonly TimelineArrow[];
  /** Present on a reduced timeline: the whole run per time bucket. */
  readonly overview?: TimelineOverview;
  /** With `overview`: the window (ns) whose events `spans`, `instants` and `arrows` hold exactly. */
  readonly detail?: { readonly from: number; readonly to: number };
  /** With `overview`: the id under which the kernel that published it serves other windows
   * exactly over the `mmulab.timeline` comm (contract/timeline-comm.ts). */
  readonly source?: string;
}

// ---------------------------------------------------------------- plot

/** One plotly trace (`data` element) or layout, as plain JSON. */
export type PlotlyJson = JsonObject;

export interface SweepAxis {
  readonly name: string;
  readonly label: string;
  readonly values: readonly (number | string)[];
}

export interface SweepFrame {
  /** One value per axis, in `axes` order. */
  readonly key: readonly (number | string)[];
  readonly data: readonly PlotlyJson[];
}

export interface PlotPayload {
  readonly version: 1;
  readonly title?: string;
  readonly data: readonly PlotlyJson[];
  readonly layout: PlotlyJson;
  /** Precomputed sweep: the renderer shows one slider per axis and swaps in the matching
   * frame's data; works in a saved notebook without a kernel. `id` names the kernel's handler
   * for live requests (serveLiveSweep, interact), sent back as the request's `sweep`; a plot
   * without one never asks the kernel. `yRange`: "fixed" keeps one y range over every frame so
   * frames compare by eye; "auto" (the default) fits each frame (the reader can switch). */
  readonly sweep?: {
    readonly axes: readonly SweepAxis[];
    readonly frames: readonly SweepFrame[];
    readonly id?: string;
    readonly yRange?: "auto" | "fixed";
  };
}

export type MmulabMimeBundle = {
  readonly "text/plain": string;
  readonly "text/html"?: string;
  readonly [PAGETABLE_MIME]?: PageTablePayload;
  readonly [TIMELINE_MIME]?: TimelinePayload;
  readonly [PLOT_MIME]?: PlotPayload;
};
