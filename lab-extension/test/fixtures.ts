/**
 * Deterministic payloads for the renderer tests, the browser tests and the first-paint benchmarks:
 * a page-table tree of a chosen size with every page state and a walker path into a reused table,
 * a timeline with every span kind, IPI arrows and a use-after-free, a plot with a two-axis sweep.
 * `hostile` adds labels with markup so the tests can check nothing is parsed as HTML.
 */
import type {
  FrameHistoryItem,
  JsonObject,
  PageState,
  PageTableNode,
  PageTablePayload,
  PlotPayload,
  TimelineArrow,
  TimelineInstant,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
} from "@mmulab/kernel/contract";

export const HOSTILE = `<img src=x onerror="window.__mmulabPwned=1"><script>window.__mmulabPwned=2</script><b>bold</b> & "q"`;

export interface TreeShape {
  readonly puds: number;
  readonly pmdsPerPud: number;
  readonly ptesPerPmd: number;
  readonly pagesPerPte: number;
}

/** 1 + 2 + 10 + 100 + 10,000 = 10,113 tree nodes, plus 4 detached tables. */
export const TREE_10K: TreeShape = { puds: 2, pmdsPerPud: 5, ptesPerPmd: 10, pagesPerPte: 100 };
export const TREE_SMALL: TreeShape = { puds: 1, pmdsPerPud: 2, ptesPerPmd: 2, pagesPerPte: 3 };

const GIB = 2 ** 30;
const PUD_SPAN = 512 * GIB;

export function makePageTable(
  shape: TreeShape,
  options: { hostile?: boolean } = {},
): PageTablePayload {
  let nextFrame = 0x1000;
  const frame = (): number => nextFrame++;
  const hist = (what: string, t: number, by?: string): FrameHistoryItem =>
    by === undefined ? { t, what } : { t, what, by };
  const mk = (
    level: PageTableNode["level"],
    index: number,
    va: number,
    state: PageState,
    children: PageTableNode[] = [],
    history: FrameHistoryItem[] = [],
  ): PageTableNode => ({
    level,
    index,
    frame: frame(),
    va,
    state,
    entries: level === "page" ? 0 : children.length,
    history,
    ...(children.length > 0 ? { children } : {}),
  });

  const root = mk("pgd", 0, 0, "live", [], [hist("alloc pgd", 0, "cpu0 mm_alloc")]);
  const puds: PageTableNode[] = [];
  for (let u = 0; u < shape.puds; u++) {
    const pmds: PageTableNode[] = [];
    for (let d = 0; d < shape.pmdsPerPud; d++) {
      const ptes: PageTableNode[] = [];
      for (let e = 0; e < shape.ptesPerPmd; e++) {
        const va = u * PUD_SPAN + d * GIB + e * 2 ** 21;
        const pages: PageTableNode[] = [];
        for (let p = 0; p < shape.pagesPerPte; p++) {
          pages.push(mk("page", p, va + p * 4096, "live"));
        }
        ptes.push(
          mk("pte", e, va, "live", pages, [
            hist("alloc pte table", 1000 + e, "cpu1 do_anonymous_page"),
          ]),
        );
      }
      pmds.push(
        mk("pmd", d, u * PUD_SPAN + d * GIB, "live", ptes, [
          hist("alloc pmd table", 500, "cpu1 __pmd_alloc"),
        ]),
      );
    }
    puds.push(mk("pud", u, u * PUD_SPAN, "live", pmds));
  }
  const rootWithKids: PageTableNode = { ...root, entries: puds.length, children: puds };

  const by = options.hostile ? HOSTILE : "cpu0 munmap";
  const detached: PageTableNode[] = [
    mk("pte", 7, 0x7f0000000000, "unlinked", [], [hist("unlink", 50_000, by)]),
    mk(
      "pte",
      8,
      0x7f0000200000,
      "pending-rcu",
      [],
      [hist("unlink", 50_000), hist("call_rcu_sched", 51_000, "cpu0 tlb_remove_table")],
    ),
    mk("pmd", 3, 0x7f0040000000, "freed", [], [hist("free", 90_000, "cpu2 rcu callback")]),
    mk(
      "pte",
      9,
      0x7f0000400000,
      "reused",
      [],
      [
        hist("unlink", 50_000, "cpu0 munmap"),
        hist("free (no RCU)", 52_000, "cpu0 tlb_finish_mmu"),
        hist("alloc as page cache", 53_500, "cpu3"),
      ],
    ),
  ];
  const pud0 = puds[0];
  const pmd0 = pud0?.children?.[0];
  const reused = detached[3] as PageTableNode;
  const walkerPath = [rootWithKids.frame, pud0?.frame ?? 0, pmd0?.frame ?? 0, reused.frame];
  return {
    version: 1,
    title: options.hostile
      ? `mm 1 ${HOSTILE}`
      : "mm 1 after munmap (Xen PV flush, no RCU table free)",
    mm: 1,
    levels: 4,
    root: rootWithKids,
    detached,
    walkerPath,
  };
}

/** Nodes per state in a payload (tree and detached), as the renderer should count them. */
export function countStates(p: PageTablePayload): {
  total: number;
  byState: Record<PageState, number>;
} {
  const byState: Record<PageState, number> = {
    live: 0,
    unlinked: 0,
    "pending-rcu": 0,
    freed: 0,
    reused: 0,
  };
  let total = 0;
  const stack: PageTableNode[] = [p.root, ...(p.detached ?? [])];
  while (stack.length > 0) {
    const n = stack.pop() as PageTableNode;
    total++;
    byState[n.state]++;
    for (const c of n.children ?? []) stack.push(c);
  }
  return { total, byState };
}

const KINDS: readonly TimelineSpanKind[] = [
  "irq-off",
  "gup-walk",
  "flush-wait",
  "ipi-handler",
  "hypercall",
  "grace-period",
  "rcu-callback",
  "preempted",
];

/** A timeline of about `spans` spans over 4 CPU lanes and an RCU lane, with one use-after-free. */
export function makeTimeline(spans: number, options: { hostile?: boolean } = {}): TimelinePayload {
  const lanes = [0, 1, 2, 3].map((c) => ({ id: `cpu${c}`, label: `CPU ${c}` }));
  lanes.push({ id: "rcu", label: options.hostile ? HOSTILE : "RCU" });
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const out: TimelineSpan[] = [];
  const arrows: TimelineArrow[] = [];
  const perLane = Math.ceil(spans / lanes.length);
  for (const [li, lane] of lanes.entries()) {
    let t = 0;
    for (let i = 0; i < perLane && out.length < spans; i++) {
      const kind =
        lane.id === "rcu"
          ? i % 2 === 0
            ? "grace-period"
            : "rcu-callback"
          : (KINDS[(i + li) % 6] as TimelineSpanKind);
      const dur = 200 + Math.floor(rand() * 3000);
      out.push({
        lane: lane.id,
        start: t,
        end: t + dur,
        kind,
        label: `${kind} #${i}`,
        args: { cpu: li, n: i },
      });
      if (kind === "flush-wait" && li < 4 && arrows.length < 2000) {
        const to = `cpu${(li + 1) % 4}`;
        arrows.push({
          fromLane: lane.id,
          fromT: t,
          toLane: to,
          toT: t + dur - 100,
          kind: "ipi",
          label: `flush IPI ${lane.id}→${to}`,
        });
      }
      t += dur + Math.floor(rand() * 500);
    }
  }
  if (options.hostile && out[0] !== undefined) out[0] = { ...out[0], label: HOSTILE };
  const instants: TimelineInstant[] = [
    {
      lane: "cpu1",
      t: 4200,
      kind: "uaf",
      label: "gup_fast read pte table pfn 0x100e after free (reused as page cache)",
      args: { pfn: 4110 },
    },
    { lane: "cpu0", t: 1500, kind: "marker", label: "munmap starts" },
  ];
  return {
    version: 1,
    title: options.hostile ? HOSTILE : "gup_fast vs munmap under Xen PV flush",
    unit: "ns",
    lanes,
    spans: out,
    instants,
    arrows,
  };
}

/** Two line traces plus a bar trace; with `sweep`, frames over backend × CPUs. */
export function makePlot(options: { sweep?: boolean; hostile?: boolean } = {}): PlotPayload {
  const xs = [1, 2, 4, 8, 16, 32];
  const series = (scale: number, backend: number) =>
    xs.map((x) => Math.round(scale * Math.log2(x + 1) * (1 + backend / 3) * 100) / 100);
  const traces = (b: number, cpus: number): JsonObject[] => [
    {
      type: "scatter",
      mode: "lines+markers",
      name: options.hostile ? HOSTILE : "RCU table free",
      x: xs,
      y: series(cpus, b),
    },
    { type: "scatter", mode: "lines+markers", name: "IPI flush", x: xs, y: series(cpus * 1.5, b) },
    { type: "bar", name: "grace periods", x: xs, y: xs.map((x) => x + b + cpus), opacity: 0.4 },
  ];
  const backends = ["native", "xen-pv", "hyperv"];
  const cpus = [2, 4, 8];
  const payload: PlotPayload = {
    version: 1,
    title: "munmap latency (µs) vs mapped GiB",
    data: traces(0, 2),
    layout: {
      xaxis: { title: { text: "mapped GiB" } },
      yaxis: { title: { text: "latency (µs)" } },
      height: 360,
    },
  };
  if (!options.sweep) return payload;
  return {
    ...payload,
    sweep: {
      axes: [
        { name: "backend", label: "flush backend", values: backends },
        { name: "cpus", label: "CPUs", values: cpus },
      ],
      frames: backends.flatMap((b, bi) => cpus.map((c) => ({ key: [b, c], data: traces(bi, c) }))),
    },
  };
}

/** A notebook (nbformat 4.5) whose outputs are saved: what the browser test opens. */
export function makeNotebook(
  outputs: readonly Record<string, unknown>[],
  kernel = "mmulab",
): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: kernel, display_name: "mmulab (TypeScript)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: [
      {
        id: "intro",
        cell_type: "markdown",
        metadata: {},
        source: ["# mmulab renderers\n", "Saved outputs: page-table tree, timeline, plot."],
      },
      ...outputs.map((data, i) => ({
        id: `out${i}`,
        cell_type: "code",
        metadata: {},
        execution_count: i + 1,
        source: [`// output ${i + 1}`],
        outputs: [{ output_type: "display_data", metadata: {}, data }],
      })),
    ],
  };
}
