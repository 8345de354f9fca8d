/**
 * A race matrix's views: the matrix as a plot payload (grouped bars per kernel profile, one bar
 * per backend, a slider over the scenarios) and a cell's example trial as a timeline around its
 * first use-after-free. The matrix itself (experiments/race-matrix.ts) is data.
 */
import type { PlotlyJson, PlotPayload, SweepFrame, TimelinePayload } from "../contract/mime.js";
import {
  uafWindow,
  type RaceCell,
  type RaceCellExample,
  type RaceMatrix,
} from "../experiments/race-matrix.js";
import { runTrial } from "../experiments/scenarios.js";
import { traceToTimeline } from "./trace-timeline.js";

/** The values in first-seen order. */
export function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** The matrix's cell for one scenario, profile and backend, if the matrix has it. */
export function findCell(
  m: RaceMatrix,
  scenario: string,
  profile: string,
  backend: string,
): RaceCell | undefined {
  return m.cells.find(
    (c) => c.scenario === scenario && c.profile === profile && c.backend === backend,
  );
}

/**
 * The matrix as grouped bars: x = profile, one bar per backend, y = fraction of trials with a
 * use-after-free; one slider position per scenario (the static picture shows the first).
 */
export function raceMatrixPlot(m: RaceMatrix, title = "Race matrix"): PlotPayload {
  const scenarios = distinct(m.cells.map((c) => c.scenario));
  const profiles = distinct(m.cells.map((c) => c.profile));
  const backends = distinct(m.cells.map((c) => c.backend));
  const traces = (s: string): PlotlyJson[] =>
    backends.map((b) => {
      const x: string[] = [];
      const y: number[] = [];
      for (const p of profiles) {
        const c = findCell(m, s, p, b);
        if (c === undefined) continue;
        x.push(p);
        y.push(c.uaf / c.trials);
      }
      return { type: "bar", name: b, x, y };
    });
  const frames: SweepFrame[] = scenarios.map((s) => ({ key: [s], data: traces(s) }));
  return {
    version: 1,
    title: `${title}: ${scenarios[0] ?? ""}`,
    data: frames[0]?.data ?? [],
    layout: {
      barmode: "group",
      xaxis: { title: { text: "kernel profile" } },
      yaxis: { title: { text: "fraction of trials with a use-after-free" }, range: [0, 1] },
    },
    ...(scenarios.length > 1
      ? { sweep: { axes: [{ name: "scenario", label: "scenario", values: scenarios }], frames } }
      : {}),
  };
}

/**
 * The timeline of a cell's example trial (`cell.example`, or `makeExample(replay)`) around its
 * first report: from before the table was torn down, on whichever CPU, to just after the read
 * (experiments/race-matrix.ts `uafWindow`). The trial is replayed with tracing on from its replay
 * literal, which fixes every random choice, so this is the trial the example recorded; a replay
 * that reads differently (an example from another version of the model) is refused.
 */
export function raceExampleTimeline(
  example: Pick<RaceCellExample, "replay" | "firstReport">,
): TimelinePayload {
  const { replay, firstReport } = example;
  const r = runTrial({ ...replay, trace: true, history: true });
  const first = r.reports[0];
  if (first === undefined || first.t !== firstReport.t || first.pfn !== firstReport.pfn)
    throw new Error(
      `replay ${JSON.stringify(replay)} does not read as the example did (first report at ` +
        `${firstReport.t} ns of frame ${firstReport.pfn}; the replay's: ` +
        `${first === undefined ? "none" : `${first.t} ns of frame ${first.pfn}`})`,
    );
  const { from, to } = uafWindow(firstReport);
  return traceToTimeline(r.system.sim.trace, {
    nrCpus: r.system.m.nrCpus,
    from,
    to,
    title: `${replay.scenario} on ${replay.profile} with ${replay.backend} (seed ${replay.seed})`,
  });
}
