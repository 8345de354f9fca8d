/** Payloads built from simulation results: plots of race matrices and of computed points. */
export { raceMatrixPlot } from "./race-matrix.js";
export { sweepFrame, sweepPlot, type SweepPlotSpec, type SweepPoint } from "./sweep-plot.js";
