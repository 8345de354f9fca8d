import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type {
  JsonObject,
  PageTableNode,
  PageTablePayload,
  PlotPayload,
  TimelinePayload,
} from "../../src/contract/mime.js";
import {
  display,
  displayPageTables,
  isQuietResult,
  MMULAB_MIME,
  PayloadError,
  progress,
  registerMimeAdapter,
  runWithProgress,
  setNotebookRuntime,
  toMimeBundle,
  type MimeBundle,
  type NotebookRuntime,
} from "../../src/display/index.js";
import { MAX_SVG_NODES } from "../../src/display/pagetable.js";
import { SimulationStopped } from "../../src/sim/errors.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";

const PT = "application/vnd.mmulab.pagetable+json";
const TL = "application/vnd.mmulab.timeline+json";
const PL = "application/vnd.mmulab.plot+json";

function tree(fanout: number[], level = 0): PageTableNode {
  const levels = ["pgd", "pud", "pmd", "pte"] as const;
  const kids =
    level < fanout.length
      ? Array.from({ length: fanout[level]! }, (_, i) => ({ ...tree(fanout, level + 1), index: i }))
      : [];
  return {
    level: levels[level] ?? "pte",
    index: 0,
    frame: 100 + level,
    va: 0,
    state: level === 2 ? "pending-rcu" : "live",
    entries: kids.length,
    ...(kids.length > 0 ? { children: kids } : {}),
  };
}

const pageTables: PageTablePayload = {
  version: 1,
  title: "mm <b>1</b>",
  mm: 1,
  levels: 4,
  root: tree([1, 2, 2]),
  detached: [{ level: "pte", index: 0, frame: 7, va: 0, state: "freed", entries: 0 }],
  walkerPath: [100, 101],
};

const timeline: TimelinePayload = {
  version: 1,
  unit: "ns",
  lanes: [
    { id: "cpu0", label: "CPU 0" },
    { id: "cpu1", label: `<script>alert("x")</script>` },
  ],
  spans: [{ lane: "cpu1", start: 0, end: 20_000, kind: "irq-off", label: "gup & walk" }],
  instants: [{ lane: "cpu1", t: 15_000, kind: "uaf", label: "use-after-free: pte frame 7" }],
  arrows: [
    { fromLane: "cpu0", fromT: 1_000, toLane: "cpu1", toT: 20_000, kind: "ipi", label: "IPI" },
  ],
};

const plot: PlotPayload = {
  version: 1,
  title: "cost",
  data: [
    { type: "scatter", mode: "lines+markers", name: "native", x: [1, 2, 4], y: [1, 2, 4] },
    { type: "bar", name: "pv", x: [1, 2, 4], y: [0.5, 0.7, 0.9] },
  ],
  layout: { xaxis: { title: { text: "CPUs" }, type: "log" }, yaxis: { title: "µs" } },
};

/** The bundle's text/html (a string by construction). */
function html0(b: MimeBundle): string {
  const h = b["text/html"];
  if (typeof h !== "string") throw new Error("no text/html");
  return h;
}

describe("toMimeBundle", () => {
  it("gives each payload its MIME type, an SVG and text", () => {
    for (const [payload, mime] of [
      [pageTables, PT],
      [timeline, TL],
      [plot, PL],
    ] as const) {
      const b = toMimeBundle(payload);
      expect(b[mime]).toEqual(payload);
      expect(b["text/html"]).toMatch(/^<div class="mmulab-figure[^"]*"[^>]*><svg /);
      expect(b["text/plain"].length).toBeGreaterThan(10);
    }
    expect(toMimeBundle(pageTables)["text/plain"]).toContain("pmd 2");
    expect(toMimeBundle(timeline)["text/plain"]).toContain("use-after-free at 15 µs");
    expect(toMimeBundle(plot)["text/plain"]).toContain("native (scatter): 3 points");
  });

  it("escapes every label in the HTML", () => {
    const html = html0(toMimeBundle(timeline)) + html0(toMimeBundle(pageTables));
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("gup &amp; walk");
    expect(html).toContain("mm &lt;b&gt;1&lt;/b&gt;");
  });

  it("rejects an unknown payload version naming the MIME type and the versions", () => {
    expect(() => toMimeBundle({ ...plot, version: 2 })).toThrow(PayloadError);
    expect(() => toMimeBundle({ ...plot, version: 2 })).toThrow(
      "application/vnd.mmulab.plot+json: unsupported payload: version 2; supported: version 1",
    );
  });

  it("caps the static tree and says so", () => {
    const big: PageTablePayload = { ...pageTables, root: tree([1, 8, 60]) };
    const html = html0(toMimeBundle(big));
    expect(html).toContain(`showing ${MAX_SVG_NODES} of ${1 + 1 + 8 + 480} nodes`);
    expect(html).toMatch(/\+\d+ more/);
  });

  it("prefers a value's own bundle, then adapters (latest first), then payloads", () => {
    const own = {
      [MMULAB_MIME]: (): MimeBundle => ({ "text/plain": "own", "text/html": "<i>own</i>" }),
    };
    expect(toMimeBundle(own)["text/plain"]).toBe("own");
    const named = { mmulabMime: () => ({ "text/html": "<b>m</b>" }) };
    expect(toMimeBundle(named)["text/plain"]).toContain("mmulabMime");
    class RaceMatrix {
      cells = 3;
    }
    const off1 = registerMimeAdapter({
      name: "race matrix",
      test: (v): v is RaceMatrix => v instanceof RaceMatrix,
      toBundle: (m) => ({ "text/plain": `matrix of ${m.cells}` }),
    });
    const off2 = registerMimeAdapter({
      name: "race matrix v2",
      test: (v): v is RaceMatrix => v instanceof RaceMatrix,
      toBundle: (m) => ({ "text/plain": `matrix v2 of ${m.cells}` }),
    });
    expect(toMimeBundle(new RaceMatrix())["text/plain"]).toBe("matrix v2 of 3");
    off2();
    expect(toMimeBundle(new RaceMatrix())["text/plain"]).toBe("matrix of 3");
    off1();
    expect(toMimeBundle(new RaceMatrix())["text/plain"]).toBe("RaceMatrix { cells: 3 }");
    expect(() => toMimeBundle({ mmulabMime: () => ({ "not a mime": 1 }) })).toThrow(
      /expected MIME types/,
    );
  });

  it("prints other values as the REPL does", () => {
    expect(toMimeBundle("ipi")).toEqual({ "text/plain": "'ipi'" });
    expect(toMimeBundle([1, 2])).toEqual({ "text/plain": "[ 1, 2 ]" });
  });
});

interface Shown {
  bundle: MimeBundle;
  id: string | null;
  update: boolean;
}

describe("display and progress under a kernel", () => {
  let shown: Shown[];
  let interrupted = false;
  beforeEach(() => {
    shown = [];
    interrupted = false;
    const rt: NotebookRuntime = {
      displayData: (bundle, _m: JsonObject, id, update) => {
        shown.push({ bundle, id, update });
      },
      clearOutput: () => undefined,
      page: () => undefined,
      publish: () => undefined,
      interruptRequested: () => interrupted,
      onInterrupt: () => () => undefined,
      input: () => Promise.resolve(""),
    };
    setNotebookRuntime(rt);
  });
  afterEach(() => {
    setNotebookRuntime(null);
    vi.useRealTimers();
  });

  it("publishes a display with an id that updates in place", () => {
    const h = displayPageTables(pageTables);
    h.update("replaced");
    expect(shown).toHaveLength(2);
    expect(shown[0]!.bundle[PT]).toEqual(pageTables);
    expect(shown[1]).toMatchObject({
      id: h.displayId,
      update: true,
      bundle: { "text/plain": "'replaced'" },
    });
    expect(isQuietResult(h)).toBe(true);
    expect(isQuietResult(display(1))).toBe(true);
  });

  it("throttles progress updates and always shows the last state", () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const p = progress(100, { label: "run", minIntervalMs: 100 });
    for (let i = 0; i <= 50; i++) p(i); // all within one instant
    vi.setSystemTime(150);
    p(60);
    p.finish("stopped");
    const texts = shown.map((s) => s.bundle["text/plain"]);
    expect(shown.map((s) => s.update)).toEqual([false, true, true]);
    expect(new Set(shown.map((s) => s.id))).toEqual(new Set([p.displayId]));
    expect(texts[0]).toContain("0%");
    expect(texts[1]).toContain("60%");
    // finish keeps the last state reported: a run stopped at 60 % does not claim 100 %
    expect(texts[2]).toContain("60% (60 / 100)");
    expect(texts[2]).toContain("stopped");
    const q = progress(10, { label: "all" });
    q(9);
    q.finish("done", 10);
    expect(shown.at(-1)!.bundle["text/plain"]).toMatch(/100% \(10 \/ 10\).*— done/);
    expect(() => progress(0)).toThrow(/total = 0 is not accepted/);
  });

  function ticking(seed: number): Simulation {
    const sim = new Simulation({ seed, trace: false });
    sim.process(
      "tick",
      (function* (): Kfn<void> {
        for (;;) yield 10;
      })(),
    );
    return sim;
  }

  it("runs a simulation with progress and stops cleanly when interrupted", () => {
    const sim = ticking(1);
    const r = runWithProgress(sim, { until: 1_000_000, chunkEvents: 10_000 });
    expect(r).toMatchObject({ now: 1_000_000, reason: "until" });
    expect(shown.at(-1)!.bundle["text/plain"]).toContain("100%");

    const other = ticking(2);
    let chunks = 0;
    const run = other.run.bind(other);
    other.run = (o) => {
      if (++chunks === 3) interrupted = true;
      return run(o);
    };
    expect(() => runWithProgress(other, { until: 10_000_000, chunkEvents: 1000 })).toThrow(
      SimulationStopped,
    );
    // 2 chunks of 1000 events, the first at t = 0; the engine itself sees the interrupt that
    // arrives as the third chunk starts and stops before its first event
    expect(other.now).toBe(19_990);
    expect(shown.at(-1)!.bundle["text/plain"]).toContain("interrupted at");
    interrupted = false;
    expect(other.run({ until: other.now + 100 }).now).toBe(20_090);
  });
});
