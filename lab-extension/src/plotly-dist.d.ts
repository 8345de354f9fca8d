/**
 * Types for the partial plotly bundle: `plotly.js-basic-dist-min` is plotly.js with the scatter,
 * bar and pie traces only, so it has plotly.js's API; @types/plotly.js describes it. Type-only:
 * the bundle itself is loaded lazily by `plotly.ts`.
 */
declare module "plotly.js-basic-dist-min" {
  import type * as Plotly from "plotly.js";
  const plotly: typeof Plotly;
  export default plotly;
}
