import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/contract/mime.js";
import { setNotebookRuntime } from "../../src/display/runtime.js";
import {
  dispatchCommMsg,
  dispatchCommOpen,
  installSweepTarget,
  type Comm,
} from "../../src/notebook/comm.js";
import { ParameterError } from "../../src/sim/errors.js";
import {
  liveSweepHandler,
  runSweep,
  serveLiveSweep,
  type SweepSpec,
} from "../../src/sweep/index.js";
import { sweepResultPlot } from "../../src/views/sweep-result.js";
import { recordingRuntime } from "../support/runtime.js";

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

  it("carries the fixed y-range option to the plot", async () => {
    const r = await runSweep(spec, { workers: 0 });
    expect(sweepResultPlot(r, { metric: "f", yRange: "fixed" }).sweep?.yRange).toBe("fixed");
    expect(sweepResultPlot(r, { metric: "f" }).sweep).not.toHaveProperty("yRange");
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

  it("gives each served plot its own id and handler, so two live plots do not mix", async () => {
    const other: SweepSpec = { run: "synthetic", params: { x: [1, 2, 3], y: [100, 200] } };
    const p1 = serveLiveSweep(await runSweep(spec, { workers: 0 }), { metric: "f" });
    const p2 = serveLiveSweep(await runSweep(other, { workers: 0 }), { metric: "f" });
    expect(p1.sweep?.id).toMatch(/^sweep-\d+$/);
    expect(p2.sweep?.id).not.toBe(p1.sweep?.id);
    const rt = recordingRuntime();
    const sent = rt.sent;
    setNotebookRuntime(rt);
    const uninstall = installSweepTarget();
    try {
      const msg = (data: JsonObject) => ({ data, metadata: {}, buffers: [] });
      await dispatchCommOpen("live", "mmulab.sweep", msg({}));
      // y = 4 exists only in the first sweep, y = 200 only in the second
      await dispatchCommMsg("live", msg({ id: 1, sweep: p1.sweep!.id!, key: [4] }));
      await dispatchCommMsg("live", msg({ id: 2, sweep: p2.sweep!.id!, key: [200] }));
      await dispatchCommMsg("live", msg({ id: 3, sweep: p1.sweep!.id!, key: [200] }));
      const [a1, a2, a3] = sent.slice(1);
      const ys = (a: JsonObject | undefined) =>
        ((a!["result"] as JsonObject)["data"] as { y: number[] }[])[0]!.y.map(Math.floor);
      expect(ys(a1)).toEqual([4, 8, 12]);
      expect(ys(a2)).toEqual([200, 400, 600]);
      expect(a3).toMatchObject({ id: 3, ok: false });
    } finally {
      uninstall();
      setNotebookRuntime(null);
    }
  });
});
