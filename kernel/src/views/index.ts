/** Payloads built from simulation results: an mm's page-table tree, plots of race matrices, of
 * sweep results and of computed points, large timelines reduced to an overview plus an exact
 * window, and interact()'s frames. */
export { exportPageTables, pageStateOf, type ExportOptions } from "./pagetable.js";
export { raceMatrixPlot } from "./race-matrix.js";
export {
  meanStdCi,
  summarize,
  sweepResultPlot,
  tQuantile975,
  type PointSummary,
  type SweepPlotOptions,
  type SweepResultData,
  type SweepRowData,
} from "./sweep-result.js";
export { sweepFrame, sweepPlot, type SweepPlotSpec, type SweepPoint } from "./sweep-plot.js";
export {
  REDUCE_THRESHOLD,
  reduceTimeline,
  timelineWindow,
  type ReduceOptions,
} from "./timeline-reduce.js";
export * from "./interact.js";
