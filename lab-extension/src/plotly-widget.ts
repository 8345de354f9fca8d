/**
 * The plotly side of a renderer widget, shared by the plot and the timeline: the loaded module,
 * the node plotly draws into, and the Lumino lifecycle (resize when the output area resizes or is
 * shown, purge plotly's state when the widget is detached).
 */
import type { Message } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";
import type { Plotly } from "./plotly.js";

export abstract class PlotlyWidget extends Widget {
  protected plotly: Plotly | null = null;
  protected plotNode: HTMLDivElement | null = null;

  protected override onResize(_msg: Widget.ResizeMessage): void {
    this.resizePlot();
  }

  protected override onAfterShow(_msg: Message): void {
    this.resizePlot();
  }

  protected override onBeforeDetach(_msg: Message): void {
    if (this.plotly !== null && this.plotNode !== null) this.plotly.purge(this.plotNode);
  }

  private resizePlot(): void {
    if (this.plotly === null || this.plotNode === null || this.node.dataset["plotted"] !== "true") {
      return;
    }
    void this.plotly.Plots.resize(this.plotNode);
  }
}
