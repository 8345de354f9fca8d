// @vitest-environment happy-dom
/**
 * The three renderers in happy-dom, with hostile payloads: markup in labels, huge numbers,
 * missing fields, wrong types, wrong or missing versions. plotly.js is replaced by a recorder.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import extensions from "../src/index.js";
import pagetableExt, { RenderedPageTable } from "../src/pagetable.js";
import { LEVELS } from "../src/pagetable-model.js";
import { PAGETABLE_MIME, PayloadError, PLOT_MIME, TIMELINE_MIME } from "../src/payload.js";
import plotExt, { liveSweepRendererFactory, RenderedLiveSweepPlot } from "../src/live-sweep.js";
import { DEFAULT_PLOT_HEIGHT, RenderedPlot } from "../src/plot.js";
import timelineExt, { RenderedTimeline } from "../src/timeline.js";
import { TimelineScene } from "../src/timeline-canvas.js";
import { KIND_COLORS, parseTimeline, UAF_COLOR } from "../src/timeline-figure.js";
import {
  countStates,
  HOSTILE,
  makePageTable,
  makePlot,
  makeTimeline,
  TREE_SMALL,
} from "./fixtures.js";
import { fakePlotly, mimeModel, settle, type FakePlotly } from "./support.js";

const plotly: { current: FakePlotly } = { current: fakePlotly() };
vi.mock("plotly.js-basic-dist-min", () => ({
  default: new Proxy(
    {},
    { get: (_t, key: string) => (plotly.current as unknown as Record<string, unknown>)[key] },
  ),
}));

beforeEach(() => {
  plotly.current = fakePlotly();
  document.body.replaceChildren();
});

function pagetable(): RenderedPageTable {
  const w = new RenderedPageTable({
    mimeType: PAGETABLE_MIME,
    sanitizer: { sanitize: (s) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  });
  document.body.append(w.node);
  return w;
}
function timeline(): RenderedTimeline {
  const w = new RenderedTimeline({
    mimeType: TIMELINE_MIME,
    sanitizer: { sanitize: (s) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  });
  document.body.append(w.node);
  return w;
}
function plot(): RenderedPlot {
  const w = new RenderedPlot({
    mimeType: PLOT_MIME,
    sanitizer: { sanitize: (s) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  });
  document.body.append(w.node);
  return w;
}

/** A 2D context that records what is drawn (happy-dom has no canvas). */
function recordingContext(): {
  ctx: CanvasRenderingContext2D;
  fills: { style: string }[];
  strokes: string[];
  texts: string[];
} {
  const fills: { style: string }[] = [];
  const strokes: string[] = [];
  const texts: string[] = [];
  const state: Record<string, unknown> = { fillStyle: "#000", strokeStyle: "#000" };
  const ctx = new Proxy(state, {
    get: (target, key: string) => {
      if (key in target) return target[key];
      if (key === "fillRect") return () => fills.push({ style: String(state["fillStyle"]) });
      if (key === "stroke") return () => strokes.push(String(state["strokeStyle"]));
      if (key === "fillText") return (text: string) => texts.push(text);
      return () => undefined;
    },
    set: (target, key: string, value) => {
      target[key] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
  return { ctx, fills, strokes, texts };
}

const noMarkup = (root: Element) => {
  expect(root.querySelector("img, script, b, a, iframe")).toBeNull();
};

describe("extension exports", () => {
  it("registers one safe, JSON, rank-40 renderer per MIME type, ahead of text/html (50)", () => {
    expect(extensions.map((e) => e.rendererFactory.mimeTypes)).toEqual([
      [PAGETABLE_MIME],
      [TIMELINE_MIME],
      [PLOT_MIME],
    ]);
    for (const ext of [pagetableExt, timelineExt, plotExt]) {
      expect(ext.rendererFactory.safe).toBe(true);
      expect(ext.dataType).toBe("json");
      expect(ext.rank).toBeLessThan(50);
      expect(ext.rendererFactory.defaultRank).toBeLessThan(50);
      expect(ext.id).toMatch(/^@mmulab\/lab-extension:/);
    }
  });

  it("registers one renderer for the plot MIME type: the live one, a RenderedPlot", () => {
    const plots = extensions.filter((e) => e.rendererFactory.mimeTypes.includes(PLOT_MIME));
    expect(plots).toEqual([plotExt]);
    expect(plotExt.rendererFactory).toBe(liveSweepRendererFactory);
    const w = liveSweepRendererFactory.createRenderer({
      mimeType: PLOT_MIME,
      sanitizer: { sanitize: (s) => s },
      resolver: null,
      linkHandler: null,
      latexTypesetter: null,
    });
    expect(w).toBeInstanceOf(RenderedLiveSweepPlot);
    expect(w).toBeInstanceOf(RenderedPlot);
  });
});

describe("page-table renderer", () => {
  it("draws the tree with counts per state, the walker path and the detached tables", async () => {
    const payload = makePageTable(TREE_SMALL);
    const { total, byState } = countStates(payload);
    const w = pagetable();
    await w.renderModel(mimeModel(PAGETABLE_MIME, payload));
    expect(w.node.dataset["nodeCount"]).toBe(String(total));
    expect(w.node.dataset["stateReused"]).toBe(String(byState.reused));
    expect(w.node.dataset["statePendingRcu"]).toBe("1");
    expect(w.node.querySelectorAll(".mmulab-PageTable-onWalkerPath")).toHaveLength(4);
    expect(w.node.querySelector(".mmulab-PageTable-walker")?.textContent).toContain("(reused)");
    expect(w.node.querySelector(".mmulab-PageTable-groupHeader")?.textContent).toContain(
      "detached",
    );
  });

  it("expands and collapses by level and by clicking a row", async () => {
    const payload = makePageTable(TREE_SMALL);
    const w = pagetable();
    await w.renderModel(mimeModel(PAGETABLE_MIME, payload));
    const rows = () => Number(w.node.dataset["visibleRows"]);
    const button = (level: string) =>
      w.node.querySelector<HTMLButtonElement>(`button[data-level="${level}"]`) as HTMLButtonElement;
    expect(w.node.querySelector('button[data-level="p4d"]')).toBeNull(); // 4-level paging
    button("page").click();
    const { total } = countStates(payload);
    expect(rows()).toBe(total + 1); // every node plus the detached header
    button("pgd").click();
    expect(rows()).toBe(1 + 1 + 4); // the root, the header, the detached tables
    const root = w.node.querySelector<HTMLElement>('[data-row="0"] .mmulab-PageTable-toggle');
    root?.click();
    expect(rows()).toBe(1 + 1 + 1 + 4);
  });

  it("puts hostile text in as text, in the title and in the history tooltip", async () => {
    const w = pagetable();
    await w.renderModel(mimeModel(PAGETABLE_MIME, makePageTable(TREE_SMALL, { hostile: true })));
    expect(w.node.querySelector(".mmulab-PageTable-title")?.textContent).toContain(HOSTILE);
    w.node.querySelector<HTMLButtonElement>('button[data-level="page"]')?.click();
    const unlinked = w.node.querySelector('.mmulab-PageTable-row[data-state="unlinked"]');
    unlinked?.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: 5, clientY: 5 }));
    const tip = w.node.querySelector<HTMLElement>(".mmulab-PageTable-tooltip");
    expect(tip?.hidden).toBe(false);
    expect(tip?.textContent).toContain(HOSTILE);
    noMarkup(w.node);
  });

  it("draws only the rows in view for a large tree", async () => {
    const w = pagetable();
    await w.renderModel(
      mimeModel(
        PAGETABLE_MIME,
        makePageTable({ puds: 2, pmdsPerPud: 4, ptesPerPmd: 8, pagesPerPte: 200 }),
      ),
    );
    w.node.querySelector<HTMLButtonElement>('button[data-level="page"]')?.click();
    expect(Number(w.node.dataset["visibleRows"])).toBeGreaterThan(12_000);
    expect(w.node.querySelectorAll(".mmulab-PageTable-row").length).toBeLessThan(100);
  });

  it("redraws from scratch when the output is updated", async () => {
    const w = pagetable();
    await w.renderModel(mimeModel(PAGETABLE_MIME, makePageTable(TREE_SMALL)));
    await w.renderModel(
      mimeModel(PAGETABLE_MIME, makePageTable({ ...TREE_SMALL, pagesPerPte: 1 })),
    );
    expect(w.node.querySelectorAll(".mmulab-PageTable-viewport")).toHaveLength(1);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      "a newer version",
      { ...makePageTable(TREE_SMALL), version: 2 },
      /version 2; supported: version 1/,
    ],
    ["no version", { mm: 1 }, /no version field; supported: version 1/],
    ["a string version", { version: "1" }, /version "1"/],
    ["not an object", "hello", /expected a JSON object, got "hello"/],
    ["null", null, /expected a JSON object, got null/],
    ["an array", [1, 2], /expected a JSON object/],
    ["no root", { version: 1, mm: 1, levels: 4 }, /root: expected an object, got nothing/],
    [
      "a bad level count",
      { ...makePageTable(TREE_SMALL), levels: 3 },
      /levels: expected one of 4, 5, got 3/,
    ],
    [
      "a missing frame",
      {
        version: 1,
        mm: 1,
        levels: 4,
        root: { level: "pgd", index: 0, va: 0, state: "live", entries: 0 },
      },
      /root\.frame: expected a non-negative integer/,
    ],
    [
      "a huge frame",
      {
        version: 1,
        mm: 1,
        levels: 4,
        root: { level: "pgd", index: 0, frame: 1e300, va: 0, state: "live", entries: 0 },
      },
      /root\.frame: .*below 2\^53, got 1e\+300/,
    ],
    [
      "an unknown state",
      {
        version: 1,
        mm: 1,
        levels: 4,
        root: { level: "pgd", index: 0, frame: 1, va: 0, state: "zombie", entries: 0 },
      },
      /root\.state: expected one of live, unlinked, pending-rcu, freed, reused, got "zombie"/,
    ],
    [
      "a bad child",
      {
        version: 1,
        mm: 1,
        levels: 4,
        root: {
          level: "pgd",
          index: 0,
          frame: 1,
          va: 0,
          state: "live",
          entries: 1,
          children: [{ level: "pud" }],
        },
      },
      /root\.children\[0\]\.index/,
    ],
    [
      "a history without time",
      {
        version: 1,
        mm: 1,
        levels: 4,
        root: {
          level: "pgd",
          index: 0,
          frame: 1,
          va: 0,
          state: "live",
          entries: 0,
          history: [{ what: "x" }],
        },
      },
      /root\.history\[0\]\.t: expected a finite number/,
    ],
  ];
  it.each(bad)(
    "rejects %s with a message naming the MIME type and the field",
    async (_name, payload, message) => {
      const w = pagetable();
      const result = w.renderModel(mimeModel(PAGETABLE_MIME, payload));
      await expect(result).rejects.toBeInstanceOf(PayloadError);
      await expect(result).rejects.toThrow(message);
      await expect(w.renderModel(mimeModel(PAGETABLE_MIME, payload))).rejects.toThrow(
        PAGETABLE_MIME,
      );
    },
  );

  it("draws huge but valid numbers, and refuses nesting deeper than a payload may be", async () => {
    const w = pagetable();
    const root = {
      level: "pgd",
      index: 511,
      frame: Number.MAX_SAFE_INTEGER,
      va: 1e300,
      state: "live",
      entries: 9e15,
    };
    await w.renderModel(mimeModel(PAGETABLE_MIME, { version: 1, mm: 1, levels: 5, root }));
    expect(w.node.textContent).toContain("pfn 0x1fffffffffffff");
    expect(w.node.textContent).toContain("va 1e+300");
    const chain = (n: number): Record<string, unknown> => {
      let deep: Record<string, unknown> = {
        level: "page",
        index: 0,
        frame: 1,
        va: 0,
        state: "live",
        entries: 0,
      };
      for (let i = 0; i < n; i++)
        deep = {
          level: "pte",
          index: 0,
          frame: i + 2,
          va: 0,
          state: "live",
          entries: 1,
          children: [deep],
        };
      return deep;
    };
    // each tree level is two JSON levels (the node and its children array)
    await w.renderModel(
      mimeModel(PAGETABLE_MIME, { version: 1, mm: 1, levels: 4, root: chain(30) }),
    );
    expect(w.node.dataset["nodeCount"]).toBe("31");
    const hostile = w.renderModel(
      mimeModel(PAGETABLE_MIME, { version: 1, mm: 1, levels: 4, root: chain(20_000) }),
    );
    await expect(hostile).rejects.toBeInstanceOf(PayloadError);
    await expect(hostile).rejects.toThrow(/nested more than 64 deep/);
    expect(LEVELS).toContain("p4d");
  });
});

describe("timeline renderer", () => {
  it("draws every span kind in its lane, the IPIs and the use-after-free, in the shared palette", () => {
    const t = parseTimeline(makeTimeline(500));
    const scene = new TimelineScene(t);
    const ctx = recordingContext();
    const stats = scene.draw(ctx.ctx, 1000, scene.extent);
    expect(stats.spansInView).toBe(500);
    expect(stats.arrowsDrawn).toBe(t.arrows.length);
    expect(stats.markersInView).toBe(1);
    const colours = new Set(ctx.fills.map((f) => f.style));
    for (const k of new Set(t.spans.map((s) => s.kind))) expect(colours).toContain(KIND_COLORS[k]);
    expect(ctx.strokes).toContain(UAF_COLOR);
    expect(ctx.texts).toEqual(expect.arrayContaining(["CPU 0", "CPU 3", "RCU"]));
  });

  it("sums sub-pixel spans per column when zoomed out, and draws rectangles when zoomed in", () => {
    const t = parseTimeline(makeTimeline(100_000));
    const scene = new TimelineScene(t);
    const out = scene.draw(recordingContext().ctx, 1000, scene.extent);
    expect(out.spansInView).toBe(100_000);
    // at most one run per pixel column per row: far fewer draw calls than spans
    expect(out.rects + out.columns).toBeLessThan(20_000);
    expect(out.columns).toBeGreaterThan(0);
    const zoomed = scene.draw(recordingContext().ctx, 1000, { from: 10_000, to: 20_000 });
    expect(zoomed.spansInView).toBeLessThan(100);
    expect(zoomed.columns).toBe(0);
    expect(zoomed.rects).toBe(zoomed.spansInView);
  });

  it("says what is under the pointer, as plain text", () => {
    const t = parseTimeline(makeTimeline(40, { hostile: true }));
    const scene = new TimelineScene(t);
    const s = t.spans.find((x) => x.lane === "cpu0")!;
    const W = 1000 - scene.labelWidth - 8;
    const v = scene.extent;
    const x = scene.labelWidth + (((s.start + s.end) / 2 - v.from) / (v.to - v.from)) * W;
    const lane = scene.lanes[0]!;
    const y = lane.top + 4 + lane.slots.get(s.kind)! * 9 + 4;
    const lines = scene.hit(x, y, 1000, v);
    expect(lines?.[0]).toBe(`${s.label} (${s.kind})`);
    expect(scene.hit(2, y, 1000, v)).toBeNull();
  });

  it("draws a reduced timeline's overview outside its exact window, and a kernel window inside", () => {
    const full = makeTimeline(30_000);
    const detail = { from: 0, to: 20_000 };
    const spans = full.spans.filter((s) => s.end >= detail.from && s.start <= detail.to);
    const busy = [1_000, 0, 500, 250];
    const reduced = {
      ...full,
      spans,
      arrows: [],
      overview: {
        start: 0,
        bucketNs: 1_000_000,
        buckets: 4,
        rows: [{ lane: "cpu2", kind: "flush-wait", busy, count: [3, 0, 2, 1] }],
        ipis: [0, 0, 0, 0],
        totals: { spans: 30_000, instants: 2, arrows: 0 },
      },
      detail,
      source: "timeline-1",
    };
    const scene = new TimelineScene(parseTimeline(reduced));
    expect(scene.totals.spans).toBe(30_000);
    const out = scene.draw(recordingContext().ctx, 1000, { from: 0, to: 4_000_000 });
    expect(out.overviewBuckets).toBe(3); // three busy buckets, none inside the exact window
    expect(scene.needsDetail({ from: 0, to: 4_000_000 })).toBe(true);
    expect(scene.needsDetail({ from: 1_000, to: 2_000 })).toBe(false);
    const lane = scene.lanes[2]!;
    const y = lane.top + 4 + lane.slots.get("flush-wait")! * 9 + 4;
    const x = scene.labelWidth + ((2_500_000 - 0) / 4_000_000) * (1000 - scene.labelWidth - 8);
    expect(scene.hit(x, y, 1000, { from: 0, to: 4_000_000 })?.[1]).toBe(
      "2 spans started, 0 % busy",
    );
    scene.applyWindow({
      source: "timeline-1",
      from: 2_000_000,
      to: 3_000_000,
      exact: true,
      spans: [{ lane: "cpu2", start: 2_100_000, end: 2_200_000, kind: "flush-wait", label: "w" }],
      instants: [],
      arrows: [],
    });
    expect(scene.exactRange).toEqual({ from: 2_000_000, to: 3_000_000 });
    const after = scene.draw(recordingContext().ctx, 1000, { from: 2_000_000, to: 3_000_000 });
    expect(after.spansInView).toBe(1);
    expect(after.overviewBuckets).toBe(0);
  });

  it("exports the payload as Chrome trace JSON for Perfetto", async () => {
    const w = timeline();
    await w.renderModel(mimeModel(TIMELINE_MIME, makeTimeline(50, { hostile: true })));
    const trace = JSON.parse(w.traceJson()) as { traceEvents: { ph: string; args?: unknown }[] };
    expect(trace.traceEvents.filter((e) => e.ph === "X")).toHaveLength(50);
    expect(trace.traceEvents.filter((e) => e.ph === "M").map((e) => e.args)).toContainEqual({
      name: HOSTILE,
    });
    expect(w.node.querySelector(".mmulab-Timeline-download")?.textContent).toBe("Download trace");
  });

  it("writes the DOM parts as text, never markup", async () => {
    const w = timeline();
    await w.renderModel(mimeModel(TIMELINE_MIME, makeTimeline(50, { hostile: true })));
    expect(w.node.querySelector(".mmulab-Timeline-title")?.textContent).toBe(HOSTILE);
    expect(w.node.dataset["uaf"]).toBe("1");
    expect(w.node.dataset["plotted"]).toBe("true");
    noMarkup(w.node);
  });

  it("zooms to a range and back, clamped to the timeline", async () => {
    const w = timeline();
    await w.renderModel(mimeModel(TIMELINE_MIME, makeTimeline(500)));
    const whole = w.visible;
    w.zoomTo(20_000, 10_000);
    expect(w.visible).toEqual({ from: 10_000, to: 20_000 });
    w.zoomTo(-1e12, 1e12);
    expect(w.visible).toEqual(whole);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      "a newer version",
      { ...makeTimeline(5), version: 3 },
      /application\/vnd\.mmulab\.timeline\+json: unsupported payload: version 3; supported: version 1/,
    ],
    ["another unit", { ...makeTimeline(5), unit: "ms" }, /unit: expected one of ns, got "ms"/],
    [
      "an unknown lane",
      {
        ...makeTimeline(0),
        spans: [{ lane: "cpu9", start: 0, end: 1, kind: "irq-off", label: "x" }],
      },
      /spans\[0\]\.lane: expected the id of a lane/,
    ],
    [
      "an end before its start",
      {
        ...makeTimeline(0),
        spans: [{ lane: "cpu0", start: 5, end: 1, kind: "irq-off", label: "x" }],
      },
      /spans\[0\]\.end: expected a time at or after start/,
    ],
    [
      "an unknown kind",
      { ...makeTimeline(0), spans: [{ lane: "cpu0", start: 0, end: 1, kind: "nap", label: "x" }] },
      /spans\[0\]\.kind/,
    ],
    [
      "nested args",
      {
        ...makeTimeline(0),
        instants: [{ lane: "cpu0", t: 0, kind: "uaf", label: "x", args: { a: { b: 1 } } }],
      },
      /instants\[0\]\.args\.a/,
    ],
    [
      "missing arrays",
      { version: 1, unit: "ns", lanes: [] },
      /spans: expected an array, got nothing/,
    ],
    [
      "duplicate lanes",
      {
        ...makeTimeline(0),
        lanes: [
          { id: "a", label: "A" },
          { id: "a", label: "B" },
        ],
      },
      /lanes\[1\]\.id/,
    ],
  ];
  it.each(bad)("rejects %s before drawing", async (_name, payload, message) => {
    const w = timeline();
    await expect(w.renderModel(mimeModel(TIMELINE_MIME, payload))).rejects.toThrow(message);
    expect(w.node.dataset["plotted"]).toBeUndefined();
  });

  it("draws huge times", async () => {
    const w = timeline();
    const t = {
      version: 1,
      unit: "ns",
      lanes: [{ id: "c", label: "c" }],
      spans: [{ lane: "c", start: 0, end: 1e300, kind: "other", label: "long" }],
      instants: [],
      arrows: [],
    };
    await w.renderModel(mimeModel(TIMELINE_MIME, t));
    expect(w.node.dataset["plotted"]).toBe("true");
    const scene = new TimelineScene(parseTimeline(t));
    expect(scene.draw(recordingContext().ctx, 800, scene.extent).rects).toBe(1);
  });
});

describe("plot renderer", () => {
  it("plots the figure without mutating the saved payload", async () => {
    const payload = makePlot();
    const saved = JSON.stringify(payload);
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, payload));
    expect(plotly.current.newPlot).toHaveBeenCalledTimes(1);
    expect(w.node.dataset["traces"]).toBe("3");
    expect(JSON.stringify(payload)).toBe(saved);
    expect(w.node.querySelector('input[type="range"]')).toBeNull();
  });

  it("gives a layout without a height one (an output area has none to autosize to)", async () => {
    const payload = makePlot();
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, { ...payload, layout: { title: { text: "t" } } }));
    await w.renderModel(mimeModel(PLOT_MIME, payload));
    const layouts = (plotly.current.newPlot.mock.calls as unknown[][]).map(
      (c) => c[2] as { height?: number; autosize?: boolean },
    );
    expect(layouts.map((l) => [l.height, l.autosize])).toEqual([
      [DEFAULT_PLOT_HEIGHT, true],
      [360, true],
    ]);
  });

  it("shows one slider per sweep axis and swaps in the matching frame", async () => {
    const payload = makePlot({ sweep: true });
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, payload));
    const sliders = w.node.querySelectorAll<HTMLInputElement>('input[type="range"]');
    expect(sliders).toHaveLength(2);
    // JupyterLab's keyboard shortcuts leave the keys pressed on a slider to it.
    for (const s of sliders) expect(s.hasAttribute("data-lm-suppress-shortcuts")).toBe(true);
    const first = sliders[0] as HTMLInputElement;
    first.value = "1";
    first.dispatchEvent(new Event("input"));
    await settle();
    expect(plotly.current.react).toHaveBeenCalledTimes(1);
    const [, data] = plotly.current.react.mock.calls[0] as [unknown, { y: number[] }[]];
    const frame = payload.sweep?.frames.find((f) => f.key[0] === "xen-pv" && f.key[1] === 2);
    expect(data[0]?.y).toEqual((frame?.data[0] as { y: number[] }).y);
    expect(w.node.querySelector(".mmulab-Plot-sliderValue")?.textContent).toBe("xen-pv");
  });

  it("says so when a sweep point has no frame", async () => {
    const payload = makePlot({ sweep: true });
    const sweep = payload.sweep;
    if (sweep === undefined) throw new Error("fixture has a sweep");
    const w = plot();
    await w.renderModel(
      mimeModel(PLOT_MIME, { ...payload, sweep: { ...sweep, frames: sweep.frames.slice(0, 1) } }),
    );
    const s = w.node.querySelectorAll<HTMLInputElement>(
      'input[type="range"]',
    )[1] as HTMLInputElement;
    s.value = "2";
    s.dispatchEvent(new Event("input"));
    expect(w.node.querySelector(".mmulab-Plot-status")?.textContent).toContain(
      "no precomputed result for",
    );
  });

  const bad: [string, unknown, RegExp][] = [
    ["version 0", { version: 0, data: [] }, /unsupported payload: version 0; supported: version 1/],
    ["data not a list", { version: 1, data: {}, layout: {} }, /data: expected an array/],
    [
      "a trace that is not an object",
      { version: 1, data: [1], layout: {} },
      /data\[0\]: expected an object, got 1/,
    ],
    [
      "a frame key of the wrong length",
      {
        ...makePlot(),
        sweep: {
          axes: [{ name: "a", label: "A", values: [1] }],
          frames: [{ key: [1, 2], data: [] }],
        },
      },
      /sweep\.frames\[0\]\.key/,
    ],
    [
      "a frame key not on its axis",
      {
        ...makePlot(),
        sweep: { axes: [{ name: "a", label: "A", values: [1] }], frames: [{ key: [7], data: [] }] },
      },
      /sweep\.frames\[0\]\.key\[0\]: expected a value of axis 'a', got 7/,
    ],
    [
      "an empty axis",
      { ...makePlot(), sweep: { axes: [{ name: "a", label: "A", values: [] }], frames: [] } },
      /sweep\.axes\[0\]\.values: expected at least one value/,
    ],
    [
      "an infinite number in a trace (JSON's 1e999)",
      {
        ...makePlot(),
        data: [{ type: "scatter", x: [1, 2], y: [1, JSON.parse("1e999") as number] }],
      },
      /data\[0\]\.y\[1\] is Infinity; numbers must be finite/,
    ],
    [
      // found by fuzzing: the kernel's check refused it and the renderer drew it
      "a payload without a layout (the contract requires one)",
      { version: 1, data: [] },
      /layout: expected an object, got nothing/,
    ],
    [
      "a sweep id that is not a string",
      {
        ...makePlot(),
        sweep: { axes: [{ name: "a", label: "A", values: [1] }], frames: [], id: { x: 1 } },
      },
      /sweep\.id: expected a non-empty string/,
    ],
  ];
  it.each(bad)("rejects %s", async (_name, payload, message) => {
    const w = plot();
    await expect(w.renderModel(mimeModel(PLOT_MIME, payload))).rejects.toThrow(message);
  });

  it("writes the title as text", async () => {
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, { ...makePlot(), title: HOSTILE }));
    expect(w.node.querySelector(".mmulab-Plot-title")?.textContent).toBe(HOSTILE);
    noMarkup(w.node);
  });
});
