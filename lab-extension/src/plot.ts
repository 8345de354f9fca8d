/**
 * Renderer for `application/vnd.mmulab.plot+json`: a plotly figure (plotly.js loaded lazily).
 * When the payload carries a precomputed sweep, one slider per axis picks the frame whose traces
 * are shown, so a saved notebook stays explorable without a kernel.
 *
 * What survives a slider move: the reader's zoom and pan (one `uirevision` for the plot's life),
 * and, with "fixed y-range" ticked, one y range over every frame so frames compare by eye. The
 * payload is untrusted: external images, plotly's own menus and links are stripped before
 * drawing (plot-figure.ts). Coinciding series are drawn so each stays visible, log axes are
 * labelled in full, and the PNG download carries the title and the frame's slider values.
 *
 * The MIME type's registered renderer is live-sweep.ts's RenderedLiveSweepPlot, which extends this
 * one with the kernel comm; this module has the drawing and the offline sliders only.
 */
import type { PlotlyJson, PlotPayload, SweepFrame } from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type * as PlotlyTypes from "plotly.js";
import { el, plotlyText } from "./payload.js";
import {
  exportFileName,
  fixedYRange,
  frameKey,
  frameTitle,
  fullLogTicks,
  parsePlot,
  safeLayout,
  safePlot,
  safeTraces,
  separateCoinciding,
  widen,
  yExtent,
} from "./plot-figure.js";
import { loadPlotly, plotConfig, type Plotly } from "./plotly.js";
import { PlotlyWidget } from "./plotly-widget.js";

const CLASS = "mmulab-Plot";

/** plotly mutates what it is given; hand it copies so the notebook's output stays as saved. */
function traces(data: readonly PlotlyJson[]): PlotlyTypes.Data[] {
  return structuredClone(separateCoinciding(data));
}

/** Height when the payload's layout has none: an output area has no height of its own, so an
 * autosized plot would shrink to the plot node's CSS min-height. */
export const DEFAULT_PLOT_HEIGHT = 400;

/** Kept the same for the plot's life: plotly then keeps the reader's zoom and pan across
 * `react` calls (slider moves, live answers) instead of autoscaling to each new frame. */
export const UI_REVISION = "mmulab-plot";

/** A copy of the payload's layout for plotly: width autosized, a height unless it says
 * otherwise, log axes labelled in full, and the reader's zoom kept across updates. */
export function layoutOf(p: PlotPayload, base: PlotlyJson = p.layout): Partial<PlotlyTypes.Layout> {
  const layout = structuredClone(fullLogTicks(base)) as Partial<PlotlyTypes.Layout>;
  layout.autosize ??= true;
  layout.height ??= DEFAULT_PLOT_HEIGHT;
  layout.uirevision ??= UI_REVISION;
  return layout;
}

function isLogY(layout: Partial<PlotlyTypes.Layout>): boolean {
  return layout.yaxis?.type === "log";
}

/** The widget that draws one plot payload. */
export class RenderedPlot extends PlotlyWidget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  /** The payload being shown (sanitised), and what the sliders and the y-range option hold. */
  protected payload: PlotPayload | null = null;
  private position: number[] = [];
  private fixedY = false;
  /** The y values every frame shown or precomputed spans (the fixed range holds them all). */
  private extent: [number, number] | null = null;
  private shown: { data: readonly PlotlyJson[]; layout: PlotlyJson } | null = null;
  /** One config object per drawing: plotly.react redraws from scratch (and forgets the
   * reader's zoom) when handed a config that differs from the last one, new button callbacks
   * included. */
  private plotlyConfig: Partial<PlotlyTypes.Config> | null = null;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS);
  }

  /** The slider values now, one per axis. */
  protected currentKey(): (string | number)[] {
    const sweep = this.payload?.sweep;
    if (sweep === undefined) return [];
    return sweep.axes.map((a, i) => a.values[this.position[i] ?? 0] ?? a.values[0]!);
  }

  /** The layout for the frame now shown: the payload's (or a live answer's), with the fixed
   * y range when that option is on. */
  private layoutFor(base: PlotlyJson): Partial<PlotlyTypes.Layout> {
    const p = this.payload!;
    const layout = layoutOf(p, base);
    if (!this.fixedY || this.extent === null) return layout;
    const range = fixedYRange(this.extent, isLogY(layout));
    if (range === null) return layout;
    layout.yaxis = { ...layout.yaxis, range, autorange: false };
    return layout;
  }

  /**
   * Draws `data` (a frame's traces or a live answer's) with `layout` (the payload's unless a live
   * answer brings its own). Untrusted input: both are sanitised here.
   */
  protected async showTraces(data: readonly PlotlyJson[], layout?: PlotlyJson): Promise<void> {
    const plotly = this.plotly;
    const node = this.plotNode;
    if (plotly === null || node === null || this.payload === null) return;
    const safe = safeTraces(data);
    this.extent = widen(this.extent, yExtent(safe));
    this.shown = {
      data: safe,
      layout: layout === undefined ? this.payload.layout : safeLayout(layout),
    };
    this.plotlyConfig ??= this.config();
    await plotly.react(node, traces(safe), this.layoutFor(this.shown.layout), this.plotlyConfig);
    this.node.dataset["traces"] = String(safe.length);
  }

  /** plotly's config: the shared one, with the PNG download replaced by one that titles the
   * image with the plot's title and the frame's slider values. */
  private config(): Partial<PlotlyTypes.Config> {
    const base = plotConfig();
    const plotly = this.plotly;
    if (plotly === null) return base;
    return {
      ...base,
      modeBarButtonsToRemove: [...(base.modeBarButtonsToRemove ?? []), "toImage"],
      modeBarButtonsToAdd: [
        {
          name: "download-png",
          title: "Download plot as PNG (titled with the slider values)",
          icon: plotly.Icons.camera,
          click: () => void this.downloadPng(),
        },
      ],
    };
  }

  /** The title of the frame now shown: "title — axis = value, …". */
  exportTitle(): string {
    const p = this.payload;
    if (p === null) return "";
    const title = p.title ?? "";
    return frameTitle(title, p.sweep?.axes ?? [], this.currentKey());
  }

  /** Saves the figure as shown (zoom included) as a PNG, titled with {@link exportTitle}. */
  async downloadPng(): Promise<void> {
    const plotly = this.plotly;
    const node = this.plotNode;
    if (plotly === null || node === null || this.shown === null) return;
    const title = this.exportTitle();
    // plotly keeps the figure as drawn (the reader's zoom included) on its graph div
    const drawn = (node as { layout?: Partial<PlotlyTypes.Layout> }).layout;
    const layout = structuredClone(drawn ?? this.layoutFor(this.shown.layout));
    layout.title = { text: plotlyText(title), x: 0.02, xanchor: "left" };
    const top = typeof layout.margin?.t === "number" ? layout.margin.t : 0;
    layout.margin = { ...layout.margin, t: Math.max(top, 60) };
    const figure = { data: traces(this.shown.data), layout };
    await plotly.downloadImage(figure, {
      format: "png",
      filename: exportFileName(title),
      width: node.clientWidth || 800,
      height: Number(layout.height) || DEFAULT_PLOT_HEIGHT,
    });
    this.node.dataset["exported"] = title;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    if (data === undefined) return;
    const payload = safePlot(parsePlot(data));
    if (this.plotly !== null && this.plotNode !== null) this.plotly.purge(this.plotNode);
    const node = this.node;
    node.replaceChildren();
    delete node.dataset["plotted"];
    this.payload = payload;
    this.shown = null;
    if (payload.title !== undefined) node.append(el("div", `${CLASS}-title`, payload.title));
    const plot = el("div", `${CLASS}-plot`);
    node.append(plot);
    this.plotNode = plot;

    const sweep = payload.sweep;
    const frames = new Map<string, SweepFrame>();
    for (const f of sweep?.frames ?? []) frames.set(frameKey(f.key), f);
    this.position = (sweep?.axes ?? []).map(() => 0);
    this.fixedY = sweep?.yRange === "fixed";
    this.extent = null;
    for (const f of sweep?.frames ?? []) this.extent = widen(this.extent, yExtent(f.data));
    const status = el("div", `${CLASS}-status`);
    const current = (): SweepFrame | undefined => frames.get(frameKey(this.currentKey()));

    const plotly: Plotly = await loadPlotly();
    this.plotly = plotly;
    const first = sweep === undefined ? undefined : current();
    const initial = first === undefined ? payload.data : first.data;
    this.extent = widen(this.extent, yExtent(initial));
    this.shown = { data: initial, layout: payload.layout };
    this.plotlyConfig = this.config();
    await plotly.newPlot(plot, traces(initial), this.layoutFor(payload.layout), this.plotlyConfig);
    node.dataset["traces"] = String(initial.length);
    node.dataset["plotted"] = "true";

    if (sweep === undefined) return;
    node.dataset["sweepAxes"] = String(sweep.axes.length);
    const panel = el("div", `${CLASS}-sliders`);
    sweep.axes.forEach((axis, i) => {
      const row = el("label", `${CLASS}-slider`);
      row.append(el("span", `${CLASS}-sliderLabel`, axis.label));
      const input = el("input");
      input.type = "range";
      input.min = "0";
      input.max = String(axis.values.length - 1);
      input.step = "1";
      input.value = "0";
      input.dataset["axis"] = axis.name;
      // Keys pressed on a slider move the slider: without this, JupyterLab's notebook shortcuts
      // (ArrowLeft/ArrowRight in command mode jump between headings, ArrowUp/ArrowDown select
      // another cell; selector `… :focus`) take them first. Lumino's command registry skips
      // keydown events from such an element; it must be the focused input itself, as the
      // selector already matches there.
      input.setAttribute("data-lm-suppress-shortcuts", "");
      const value = el("span", `${CLASS}-sliderValue`, String(axis.values[0]));
      input.addEventListener("input", () => {
        this.position[i] = Number(input.value);
        value.textContent = String(axis.values[this.position[i] ?? 0]);
        const frame = current();
        if (frame === undefined) {
          status.textContent = `no precomputed result for ${sweep.axes
            .map((a, j) => `${a.label} = ${String(a.values[this.position[j] ?? 0])}`)
            .join(", ")}`;
          return;
        }
        status.textContent = "";
        void this.showTraces(frame.data);
      });
      row.append(input, value);
      panel.append(row);
    });
    const fixed = el("label", `${CLASS}-fixedY`);
    const box = el("input");
    box.type = "checkbox";
    box.checked = this.fixedY;
    box.setAttribute("data-lm-suppress-shortcuts", "");
    box.addEventListener("change", () => {
      this.fixedY = box.checked;
      if (this.shown !== null) void this.showTraces(this.shown.data, this.shown.layout);
    });
    fixed.append(box, el("span", undefined, " fixed y-range across frames"));
    panel.append(fixed);
    if (first === undefined) status.textContent = "no precomputed result for the first sweep point";
    panel.append(status);
    node.append(panel);
  }
}
