// @vitest-environment happy-dom
/**
 * The plot renderer's drawing choices: untrusted figures stripped of external images,
 * menus and links; coinciding series kept visible; log axes labelled in full; the y range held
 * across frames on request; the zoom kept across slider moves; the PNG titled with the frame.
 */
import type { JsonObject, PlotPayload } from "@mmulab/kernel/contract";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { PLOT_MIME } from "../src/payload.js";
import { RenderedPlot, UI_REVISION } from "../src/plot.js";
import {
  exportFileName,
  fixedYRange,
  frameTitle,
  fullLogTicks,
  safeLayout,
  safePlot,
  separateCoinciding,
  yExtent,
} from "../src/plot-figure.js";
import { plotConfig } from "../src/plotly.js";
import { makePlot } from "./fixtures.js";
import { fakePlotly, mimeModel, rendererOptions, settle, type FakePlotly } from "./support.js";

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

function plot(): RenderedPlot {
  const w = new RenderedPlot(rendererOptions(PLOT_MIME));
  document.body.append(w.node);
  return w;
}

function move(w: RenderedPlot, axis: string, index: number): void {
  const input = w.node.querySelector<HTMLInputElement>(`input[data-axis="${axis}"]`)!;
  input.value = String(index);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

type Call = [unknown, JsonObject[], JsonObject, JsonObject];
const lastDraw = (): Call => {
  const calls = [...plotly.current.newPlot.mock.calls, ...plotly.current.react.mock.calls];
  const react = plotly.current.react.mock.calls.at(-1) as Call | undefined;
  return react ?? (calls.at(-1) as Call);
};

describe("untrusted plot payloads", () => {
  const hostile: PlotPayload = {
    version: 1,
    title: "t",
    data: [
      {
        type: "scatter",
        name: '<a href="http://evil.example/x">click</a> me',
        x: [1],
        y: [2],
        hovertemplate: "<A HREF='javascript:alert(1)'>x</A>",
      },
    ],
    layout: {
      images: [{ source: "http://evil.example/i.png", xref: "paper", yref: "paper" }],
      updatemenus: [{ buttons: [{ method: "relayout", args: [{ images: [] }] }] }],
      sliders: [{ steps: [] }],
      template: { layout: { images: [{ source: "https://evil.example/t.png" }] } },
      annotations: [{ text: '<a href="https://evil.example">doc</a>', x: 0, y: 0 }],
    },
  };

  it("drops external images and plotly's menus, and keeps the text of links only", () => {
    const safe = safePlot(hostile);
    const text = JSON.stringify(safe);
    expect(text).not.toMatch(/evil\.example|href|<a/i);
    expect(safe.layout["images"]).toBeUndefined();
    expect(safe.layout["updatemenus"]).toBeUndefined();
    expect(safe.layout["sliders"]).toBeUndefined();
    expect(safe.data[0]!["name"]).toBe("click me");
    expect(safe.layout["annotations"]).toEqual([{ text: "doc", x: 0, y: 0 }]);
    expect(safeLayout({ xaxis: { title: { text: "a<b" } } })).toEqual({
      xaxis: { title: { text: "a<b" } },
    });
  });

  it("draws the stripped figure, frames and live answers included", async () => {
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, hostile));
    const [, data, layout] = plotly.current.newPlot.mock.calls[0] as Call;
    expect(JSON.stringify([data, layout])).not.toMatch(/evil\.example|href/i);
  });

  it("asks plotly for no cloud button and no link to a web service", () => {
    const c = plotConfig();
    expect(c.showSendToCloud).toBe(false);
    expect(c.showEditInChartStudio).toBe(false);
    expect(c.showLink).toBe(false);
  });
});

describe("drawing choices", () => {
  it("keeps coinciding series visible: stepped widths, own dashes and symbols", () => {
    const same = { type: "scatter", x: [1, 2], y: [3, 4] };
    const out = separateCoinciding([
      { ...same, name: "native" },
      { ...same, name: "xen-pv" },
      { type: "scatter", name: "other", x: [1, 2], y: [3, 5] },
      { ...same, name: "hyperv", y: [3, 4.0000000000001] },
    ]);
    const line = (i: number) => out[i]!["line"] as { width: number; dash: string };
    expect(out[2]).toEqual({ type: "scatter", name: "other", x: [1, 2], y: [3, 5] });
    expect([line(0).width, line(1).width, line(3).width]).toEqual([7, 4.5, 2]);
    expect(new Set([line(0).dash, line(1).dash, line(3).dash]).size).toBe(3);
    expect(out[0]!["meta"]).toBe("coincides with xen-pv, hyperv");
  });

  it("labels log axes in full unless the producer chose", () => {
    expect(
      fullLogTicks({
        yaxis: { type: "log" },
        xaxis2: { type: "log", tickformat: ".0f" },
        xaxis: { type: "linear" },
      }),
    ).toEqual({
      yaxis: { type: "log", minorloglabels: "complete" },
      xaxis2: { type: "log", tickformat: ".0f" },
      xaxis: { type: "linear" },
    });
  });

  it("finds the y extent with error bars and pads a fixed range (decades on a log axis)", () => {
    const e = yExtent([
      { y: [2, 4], error_y: { array: [1, 1], arrayminus: [0.5, 3] } },
      { type: "bar", y: [3] },
    ]);
    expect(e).toEqual([0, 5]);
    expect(fixedYRange([0, 10], false)).toEqual([-0.5, 10.5]);
    const log = fixedYRange([10, 1000], true)!;
    expect(log[0]).toBeCloseTo(0.9);
    expect(log[1]).toBeCloseTo(3.1);
  });

  it("titles an exported frame with its slider values and a safe file name", () => {
    const axes = [{ label: "flush backend" }, { label: "CPUs" }];
    const t = frameTitle("munmap latency", axes, ["xen-pv", 16]);
    expect(t).toBe("munmap latency — flush backend = xen-pv, CPUs = 16");
    expect(exportFileName(t)).toBe("munmap-latency_flush-backend=xen-pv_CPUs=16");
    expect(exportFileName("../../etc/passwd")).toBe("etc-passwd");
  });
});

describe("slider moves", () => {
  it("keep one uirevision, so plotly keeps the reader's zoom", async () => {
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, makePlot({ sweep: true })));
    move(w, "cpus", 2);
    move(w, "backend", 1);
    await settle();
    const revisions = [
      ...plotly.current.newPlot.mock.calls,
      ...plotly.current.react.mock.calls,
    ].map((c) => (c as Call)[2]["uirevision"]);
    expect(revisions).toEqual([UI_REVISION, UI_REVISION, UI_REVISION]);
  });

  it("hold the y range over every frame when asked, and fit each frame when not", async () => {
    const payload = makePlot({ sweep: true });
    const all = payload.sweep!.frames.flatMap((f) => f.data.flatMap((t) => t["y"] as number[]));
    const w = plot();
    await w.renderModel(
      mimeModel(PLOT_MIME, { ...payload, sweep: { ...payload.sweep!, yRange: "fixed" } }),
    );
    const yaxis = () => lastDraw()[2]["yaxis"] as { range?: number[]; autorange?: boolean };
    const first = yaxis().range!;
    expect(first[0]).toBeLessThanOrEqual(0);
    expect(first[1]).toBeGreaterThanOrEqual(Math.max(...all));
    move(w, "cpus", 2);
    await settle();
    expect(yaxis().range).toEqual(first);
    const box = w.node.querySelector<HTMLInputElement>('input[type="checkbox"]')!;
    expect(box.checked).toBe(true);
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    await settle();
    expect(yaxis().range).toBeUndefined();
  });

  it("export the PNG titled with the frame's slider values", async () => {
    const w = plot();
    await w.renderModel(mimeModel(PLOT_MIME, makePlot({ sweep: true })));
    move(w, "backend", 2);
    move(w, "cpus", 1);
    await w.downloadPng();
    const [figure, opts] = plotly.current.downloadImage.mock.calls[0] as [
      { layout: { title: { text: string } } },
      { filename: string; format: string },
    ];
    expect(figure.layout.title.text).toBe(
      "munmap latency (µs) vs mapped GiB — flush backend = hyperv, CPUs = 4",
    );
    expect(opts.format).toBe("png");
    expect(opts.filename).toContain("flush-backend=hyperv_CPUs=4");
    expect(w.node.dataset["exported"]).toBe(figure.layout.title.text);
  });
});
