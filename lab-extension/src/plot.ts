/**
 * Renderer for `application/vnd.mmulab.plot+json`: a plotly figure (plotly.js loaded lazily).
 * When the payload carries a precomputed sweep, one slider per axis picks the frame whose traces
 * are shown, so a saved notebook stays explorable without a kernel.
 *
 * The MIME type's registered renderer is live-sweep.ts's RenderedLiveSweepPlot, which extends this
 * one with the kernel comm; this module has the drawing and the offline sliders only.
 */
import type { PlotlyJson, PlotPayload, SweepFrame } from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type * as PlotlyTypes from "plotly.js";
import { el } from "./payload.js";
import { frameKey, parsePlot } from "./plot-figure.js";
import { loadPlotly, plotConfig } from "./plotly.js";
import { PlotlyWidget } from "./plotly-widget.js";

const CLASS = "mmulab-Plot";

/** plotly mutates what it is given; hand it copies so the notebook's output stays as saved. */
function traces(data: readonly PlotlyJson[]): PlotlyTypes.Data[] {
  return structuredClone(data) as unknown as PlotlyTypes.Data[];
}

/** Height when the payload's layout has none: an output area has no height of its own, so an
 * autosized plot would shrink to the plot node's CSS min-height. */
export const DEFAULT_PLOT_HEIGHT = 400;

/** A copy of the payload's layout for plotly: width autosized and a height unless it says
 * otherwise. */
export function layoutOf(p: PlotPayload): Partial<PlotlyTypes.Layout> {
  const layout = structuredClone(p.layout) as Partial<PlotlyTypes.Layout>;
  layout.autosize ??= true;
  layout.height ??= DEFAULT_PLOT_HEIGHT;
  return layout;
}

/** The widget that draws one plot payload. */
export class RenderedPlot extends PlotlyWidget implements IRenderMime.IRenderer {
  private readonly mimeType: string;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    if (data === undefined) return;
    const payload = parsePlot(data);
    if (this.plotly !== null && this.plotNode !== null) this.plotly.purge(this.plotNode);
    const node = this.node;
    node.replaceChildren();
    delete node.dataset["plotted"];
    if (payload.title !== undefined) node.append(el("div", `${CLASS}-title`, payload.title));
    const plot = el("div", `${CLASS}-plot`);
    node.append(plot);
    this.plotNode = plot;

    const sweep = payload.sweep;
    const frames = new Map<string, SweepFrame>();
    for (const f of sweep?.frames ?? []) frames.set(frameKey(f.key), f);
    const position = (sweep?.axes ?? []).map(() => 0);
    const status = el("div", `${CLASS}-status`);
    const current = (): SweepFrame | undefined =>
      sweep === undefined
        ? undefined
        : frames.get(
            frameKey(sweep.axes.map((a, i) => a.values[position[i] ?? 0] as string | number)),
          );

    const plotly = await loadPlotly();
    this.plotly = plotly;
    const layout = layoutOf(payload);
    const first = current();
    const initial = first === undefined ? payload.data : first.data;
    await plotly.newPlot(plot, traces(initial), layout, plotConfig());
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
      // (ArrowLeft/ArrowRight in command mode jump between headings, selector `… :focus`) take
      // them first. Lumino's command registry skips keydown events from such an element; it
      // must be the focused input itself, as the selector already matches there.
      input.setAttribute("data-lm-suppress-shortcuts", "");
      const value = el("span", `${CLASS}-sliderValue`, String(axis.values[0]));
      input.addEventListener("input", () => {
        position[i] = Number(input.value);
        value.textContent = String(axis.values[position[i] ?? 0]);
        const frame = current();
        if (frame === undefined) {
          status.textContent = `no precomputed result for ${sweep.axes
            .map((a, j) => `${a.label} = ${String(a.values[position[j] ?? 0])}`)
            .join(", ")}`;
          return;
        }
        status.textContent = "";
        void plotly.react(plot, traces(frame.data), layoutOf(payload), plotConfig()).then(() => {
          node.dataset["traces"] = String(frame.data.length);
        });
      });
      row.append(input, value);
      panel.append(row);
    });
    if (first === undefined) status.textContent = "no precomputed result for the first sweep point";
    panel.append(status);
    node.append(panel);
  }
}
