import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/contract/mime.js";
import type { Comm } from "../../src/notebook-kernel/comm.js";
import { ParameterError } from "../../src/sim/errors.js";
import {
  liveSweepHandler,
  runSweep,
  sweepResultPlot,
  type SweepSpec,
} from "../../src/sweep/index.js";

const spec: SweepSpec = {
  run: "synthetic",
  params: { x: [1, 2, 3], y: { kind: "int", min: 1, max: 10, step: 3 } },
  seeds: 2,
};
const comm = {} as Comm;

describe("live sweeps over the mmulab.sweep comm", () => {
  it("answers a slider position with the same traces as the precomputed frame", async () => {
    const r = await runSweep(spec, { workers: 0 });
    const plot = sweepResultPlot(r, { metric: "f" });
    const handler = liveSweepHandler(spec, { metric: "f" });
    const answer = (await handler({ key: [4] }, comm)) as JsonObject;
    const frame = plot.sweep!.frames.find((f) => f.key[0] === 4)!;
    expect(answer).toEqual({ key: [4], data: frame.data });
  });

  it("computes slices off the precomputed grid inside the space, and rejects the rest", async () => {
    const handler = liveSweepHandler(spec, { metric: "f" });
    const a = (await handler({ key: [5] }, comm)) as { data: { y: number[] }[] };
    expect(a.data[0]!.y.map(Math.floor)).toEqual([5, 10, 15]);
    await expect(handler({ key: [11] }, comm)).rejects.toThrow(ParameterError);
    await expect(handler({ key: [] }, comm)).rejects.toThrow(/key = \[\] is not accepted/);
  });

  it("maps boolean axes, which the plot carries as strings, back to booleans", async () => {
    const flagged: SweepSpec = { run: "synthetic", params: { x: [1, 2], flag: [true, false] } };
    const r = await runSweep(flagged, { workers: 0 });
    const plot = sweepResultPlot(r, { metric: "f" });
    expect(plot.sweep!.axes[0]!.values).toEqual(["true", "false"]);
    const handler = liveSweepHandler(flagged, { metric: "f" });
    const answer = (await handler({ key: ["false"] }, comm)) as JsonObject;
    const frame = plot.sweep!.frames.find((f) => f.key[0] === "false")!;
    expect(answer.data).toEqual(frame.data);
    await expect(handler({ key: ["maybe"] }, comm)).rejects.toThrow(ParameterError);
  });
});
