/**
 * The static fallbacks a report shows: the plot's SVG draws and names the frame the interactive
 * plot opens on; the timeline's SVG uses the interactive renderer's palette and keeps every label
 * inside the picture; a big timeline's bundle carries the reduced payload.
 */
import { describe, expect, it } from "vitest";
import {
  PLOT_MIME,
  TIMELINE_KIND_COLOURS,
  TIMELINE_MIME,
  TIMELINE_UAF_COLOUR,
  type PlotPayload,
  type TimelinePayload,
} from "../../src/contract/index.js";
import { openingFrame, plotBundle } from "../../src/display/plot.js";
import { timelineBundle, timelineSvg } from "../../src/display/timeline.js";

function sweepPlot(): PlotPayload {
  const line = (y: number[]) => ({ type: "scatter", x: [1, 2, 3], y, name: "munmap" });
  return {
    version: 1,
    title: "munmap latency",
    data: [line([9, 9, 9])],
    layout: {},
    sweep: {
      axes: [
        { name: "cpus", label: "CPUs", values: [2, 4] },
        { name: "backend", label: "backend", values: ["native", "xen-pv"] },
      ],
      frames: [
        { key: [4, "native"], data: [line([4, 4, 4])] },
        { key: [2, "native"], data: [line([1, 2, 3])] },
      ],
    },
  };
}

describe("static plot", () => {
  it("draws the frame the sliders open on and labels it in the figure", () => {
    const p = sweepPlot();
    expect(openingFrame(p).label).toBe("frame: CPUs = 2, backend = native");
    expect(openingFrame(p).data).toBe(p.sweep!.frames[1]!.data);
    const html = plotBundle(p)["text/html"]!;
    expect(html).toContain('class="mmulab-frame">frame: CPUs = 2, backend = native</text>');
    expect(html).toContain("one of 2 frames of a sweep over CPUs, backend");
    expect(plotBundle(p)[PLOT_MIME]).toBe(p);
  });

  it("says so when no frame sits at the first values", () => {
    const p = sweepPlot();
    const q = { ...p, sweep: { ...p.sweep!, frames: p.sweep!.frames.slice(0, 1) } };
    expect(openingFrame(q).label).toMatch(/plot's own traces/);
    expect(openingFrame({ ...p, sweep: undefined }).label).toBe("");
  });
});

function timeline(label: string, spans = 3): TimelinePayload {
  return {
    version: 1,
    title: "t",
    unit: "ns",
    lanes: [
      { id: "cpu0", label },
      { id: "cpu1", label: "CPU 1" },
    ],
    spans: Array.from({ length: spans }, (_, i) => ({
      lane: i % 2 === 0 ? "cpu0" : "cpu1",
      start: i * 10,
      end: i * 10 + 5,
      kind: i % 3 === 0 ? ("flush-wait" as const) : ("gup-walk" as const),
      label: "s",
    })),
    instants: [
      {
        lane: "cpu1",
        t: spans * 10,
        kind: "uaf",
        label: "use-after-free: pte table frame 4110 read by gup_fast after it was freed",
      },
    ],
    arrows: [{ fromLane: "cpu0", fromT: 0, toLane: "cpu1", toT: 5, kind: "ipi", label: "IPI" }],
  };
}

/** Every x of a <text> with its anchor and length, to check it stays in the viewBox. */
function texts(svg: string): { x: number; anchor: string; text: string }[] {
  return [...svg.matchAll(/<text x="([\d.-]+)"([^>]*)>([^<]*)/g)].map((m) => ({
    x: Number(m[1]),
    anchor: /text-anchor="(\w+)"/.exec(m[2]!)?.[1] ?? "start",
    text: m[3]!.replace(/&(#39|amp|quot|lt|gt);/g, "_"),
  }));
}

describe("static timeline", () => {
  it("uses the interactive renderer's colours", () => {
    const svg = timelineSvg(timeline("CPU 0"));
    expect(svg).toContain(`fill="${TIMELINE_KIND_COLOURS["flush-wait"]}"`);
    expect(svg).toContain(`fill="${TIMELINE_KIND_COLOURS["gup-walk"]}"`);
    expect(svg).toContain(`fill="${TIMELINE_UAF_COLOUR}"`);
  });

  it("keeps every label inside the picture: long lane names, a use-after-free at the right edge", () => {
    const svg = timelineSvg(timeline("vCPU 0 of guest 'kernbench' on host socket 1", 9));
    const width = Number(/viewBox="0 0 ([\d.]+)/.exec(svg)![1]);
    for (const t of texts(svg)) {
      const w = t.text.length * 6.2;
      const [lo, hi] =
        t.anchor === "end"
          ? [t.x - w, t.x]
          : t.anchor === "middle"
            ? [t.x - w / 2, t.x + w / 2]
            : [t.x, t.x + w];
      expect(lo, t.text).toBeGreaterThanOrEqual(0);
      expect(hi, t.text).toBeLessThanOrEqual(width + 0.5);
    }
  });
});

describe("a big timeline's bundle", () => {
  it("carries the reduced payload, and the SVG and text of the whole run", () => {
    const big = timeline("CPU 0", 50_000);
    const b = timelineBundle(big);
    const p = b[TIMELINE_MIME] as unknown as TimelinePayload;
    expect(p.overview?.totals.spans).toBe(50_000);
    expect(p.spans.length).toBeLessThanOrEqual(20_001);
    expect(p.source).toBeUndefined(); // no notebook kernel here: nothing to serve zooms
    expect(b["text/plain"]).toContain("50000 spans");
    expect(timelineBundle(timeline("CPU 0"))[TIMELINE_MIME]).toEqual(timeline("CPU 0"));
  });
});
