/**
 * Lazy-load and cache plotly.js (the basic partial bundle: scatter, bar, pie). The renderers
 * import plotly for types only; the first plot or timeline on a page pays for the ~1 MB chunk,
 * later ones reuse the same promise.
 */
import type * as PlotlyTypes from "plotly.js";

export type Plotly = typeof PlotlyTypes;

/** The one cached import (a `Private` namespace in JupyterLab's code; a const object here). */
const Private: { plotlyReady: Promise<Plotly> | null } = { plotlyReady: null };

/** The plotly module, loaded on first use. A failed load is not cached, so a later render retries. */
export function loadPlotly(): Promise<Plotly> {
  Private.plotlyReady ??= import("plotly.js-basic-dist-min").then(
    (mod) => {
      // webpack hands a CommonJS module to import() as a namespace whose default is
      // module.exports; a plain ESM host may hand module.exports itself.
      const lib = (mod as { default?: Plotly }).default ?? (mod as unknown as Plotly);
      return lib;
    },
    (error: unknown) => {
      Private.plotlyReady = null;
      throw new Error(`mmulab: could not load plotly.js: ${String(error)}`);
    },
  );
  return Private.plotlyReady;
}

/** Modebar with zoom, pan, reset and PNG download; no plotly logo, no cloud ("Share chart",
 * Chart Studio: plotly 4 shows it unless told not to, and it posts the figure to a web service),
 * no wheel zoom (it would capture the notebook's scrolling). A fresh object each time: plotly
 * keeps a reference. */
export function plotConfig(): Partial<PlotlyTypes.Config> {
  return {
    displaylogo: false,
    responsive: false,
    scrollZoom: false,
    showSendToCloud: false,
    showEditInChartStudio: false,
    showLink: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "sendDataToCloud"],
  };
}
