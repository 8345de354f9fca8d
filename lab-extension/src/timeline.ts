/**
 * Renderer for `application/vnd.mmulab.timeline+json`: per-CPU lanes of spans (IRQ-off, gup walk,
 * flush wait, IPI handler, hypercall, grace period, RCU callback), IPI arrows and use-after-free
 * markers, drawn with plotly.js (loaded lazily) so the user can zoom (drag a box; double-click to
 * reset) and pan (modebar) along the time axis. The use-after-free list under the plot is plain
 * DOM text, so it reads the same without plotly.
 */
import type { TimelinePayload } from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { el, formatCount, formatNs, TIMELINE_MIME } from "./payload.js";
import { loadPlotly, plotConfig } from "./plotly.js";
import { PlotlyWidget } from "./plotly-widget.js";
import { parseTimeline, timelineFigure, UAF_TRACE_NAME } from "./timeline-figure.js";

const CLASS = "mmulab-Timeline";

/** The widget that draws one timeline payload. */
export class RenderedTimeline extends PlotlyWidget implements IRenderMime.IRenderer {
  private readonly mimeType: string;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS);
  }

  /** Checks the payload before loading plotly, so a bad one fails fast with a readable error. */
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    if (data === undefined) return;
    const timeline = parseTimeline(data);
    const figure = timelineFigure(timeline);
    this.drawFrame(timeline);
    const plotly = await loadPlotly();
    this.plotly = plotly;
    if (this.plotNode === null) return;
    await plotly.newPlot(this.plotNode, figure.data, figure.layout, plotConfig());
    this.node.dataset["plotted"] = "true";
  }

  /** Header, summary, plot container and the use-after-free list. */
  private drawFrame(t: TimelinePayload): void {
    const node = this.node;
    if (this.plotly !== null && this.plotNode !== null) this.plotly.purge(this.plotNode);
    node.replaceChildren();
    delete node.dataset["plotted"];
    const uaf = t.instants.filter((i) => i.kind === "uaf");
    node.dataset["lanes"] = String(t.lanes.length);
    node.dataset["spans"] = String(t.spans.length);
    node.dataset["arrows"] = String(t.arrows.length);
    node.dataset["uaf"] = String(uaf.length);

    const head = el("div", `${CLASS}-header`);
    if (t.title !== undefined) head.append(el("span", `${CLASS}-title`, t.title));
    const parts = [
      `${formatCount(t.lanes.length)} lanes`,
      `${formatCount(t.spans.length)} spans`,
      `${formatCount(t.arrows.length)} IPIs`,
    ];
    if (uaf.length > 0) parts.push(`${formatCount(uaf.length)} use-after-free`);
    head.append(el("span", `${CLASS}-summary`, parts.join(" · ")));
    node.append(head);

    const plot = el("div", `${CLASS}-plot`);
    node.append(plot);
    this.plotNode = plot;

    if (uaf.length > 0) {
      const box = el("div", `${CLASS}-uaf`);
      box.setAttribute("role", "alert");
      box.append(el("div", `${CLASS}-uafTitle`, `⚠ ${UAF_TRACE_NAME} (${uaf.length})`));
      const lanes = new Map(t.lanes.map((l) => [l.id, l.label]));
      const list = el("ul");
      for (const m of uaf.slice(0, 20)) {
        list.append(
          el("li", undefined, `${formatNs(m.t)} on ${lanes.get(m.lane) ?? m.lane}: ${m.label}`),
        );
      }
      if (uaf.length > 20) list.append(el("li", undefined, `… and ${uaf.length - 20} more`));
      box.append(list);
      node.append(box);
    }
  }
}

/** Safe: plotly draws labels as SVG text, and every payload string is escaped for it first. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [TIMELINE_MIME],
  defaultRank: 40,
  createRenderer: (options) => new RenderedTimeline(options),
};

/** Rank 40: below text/html's 50, so the timeline wins over the static SVG fallback. */
const extension: IRenderMime.IExtension = {
  id: "@mmulab/lab-extension:timeline",
  description: "Per-CPU timeline renderer for mmulab (plotly.js, loaded on first use)",
  rendererFactory,
  rank: 40,
  dataType: "json",
};

export default extension;
