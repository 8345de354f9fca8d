/** Payloads built from simulation results: an mm's page-table tree, plots of race matrices, of
 * sweep results and of computed points, a run's trace as a timeline (a race example's, an explored
 * counterexample's), large timelines reduced to an overview plus an exact window, and interact()'s
 * frames. */
export { exportPageTables, pageStateOf, type ExportOptions } from "./pagetable.js";
export { raceExampleTimeline, raceMatrixPlot } from "./race-matrix.js";
export { traceToTimeline, type TimelineOptions } from "./trace-timeline.js";
export { counterexampleViews, type CounterexampleViews } from "./counterexample.js";
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
