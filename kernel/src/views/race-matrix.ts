/**
 * A race matrix as a plot payload: grouped bars per kernel profile, one bar per backend, a slider
 * over the scenarios. The matrix itself (experiments/race-matrix.ts) is data.
 */
import type { PlotlyJson, PlotPayload, SweepFrame } from "../contract/mime.js";
import type { RaceCell, RaceMatrix } from "../experiments/race-matrix.js";

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
