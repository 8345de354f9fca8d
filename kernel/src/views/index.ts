/** Payloads built from simulation results: plots of race matrices and of computed points, large
 * timelines reduced to an overview plus an exact window, and interact()'s frames. */
export { raceMatrixPlot } from "./race-matrix.js";
export { sweepFrame, sweepPlot, type SweepPlotSpec, type SweepPoint } from "./sweep-plot.js";
export {
  REDUCE_THRESHOLD,
  reduceTimeline,
  timelineWindow,
  type ReduceOptions,
} from "./timeline-reduce.js";
export * from "./interact.js";
