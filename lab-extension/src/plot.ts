/**
 * Renderer for `application/vnd.mmulab.plot+json`: a plotly figure (plotly.js loaded lazily).
 * When the payload carries a precomputed sweep, one slider per axis picks the frame whose traces
 * are shown, so a saved notebook stays explorable without a kernel.
 */
import type { PlotlyJson, PlotPayload, SweepFrame } from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type * as PlotlyTypes from "plotly.js";
import { el, PLOT_MIME } from "./payload.js";
import { frameKey, parsePlot } from "./plot-figure.js";
import { loadPlotly, plotConfig } from "./plotly.js";
import { PlotlyWidget } from "./plotly-widget.js";

const CLASS = "mmulab-Plot";

/** plotly mutates what it is given; hand it copies so the notebook's output stays as saved. */
function traces(data: readonly PlotlyJson[]): PlotlyTypes.Data[] {
  return structuredClone(data) as unknown as PlotlyTypes.Data[];
}

function layoutOf(p: PlotPayload): Partial<PlotlyTypes.Layout> {
  const layout = structuredClone(p.layout) as Partial<PlotlyTypes.Layout>;
  layout.autosize ??= true;
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

/** Safe: plotly draws the figure as SVG; its label markup is a fixed subset with no script. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PLOT_MIME],
  defaultRank: 40,
  createRenderer: (options) => new RenderedPlot(options),
};

/** Rank 40: below text/html's 50, so the live plot wins over the static SVG fallback. */
const extension: IRenderMime.IExtension = {
  id: "@mmulab/lab-extension:plot",
  description:
    "Plotly figure renderer for mmulab, with sweep sliders (plotly.js loaded on first use)",
  rendererFactory,
  rank: 40,
  dataType: "json",
};

export default extension;
