import { afterEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/contract/mime.js";
import { setNotebookRuntime } from "../../src/display/runtime.js";
import { dispatchCommMsg, dispatchCommOpen, installSweepTarget } from "../../src/notebook/comm.js";
import { ParameterError } from "../../src/sim/errors.js";
import { interact } from "../../src/sweep/index.js";
import { controlValues, outputFigure, precomputedKeys } from "../../src/views/interact.js";
import { recordingRuntime } from "../support/runtime.js";

afterEach(() => setNotebookRuntime(null));

describe("interact controls and outputs", () => {
  it("turns ranges into stops and refuses bad controls by name", () => {
    expect(controlValues("x", { min: 0, max: 0.3, step: 0.1 })).toEqual([0, 0.1, 0.2, 0.3]);
    expect(controlValues("n", { min: 1, max: 4 })).toEqual([1, 2, 3, 4]);
    expect(() => controlValues("n", { min: 0, max: 1e9, step: 1 })).toThrow(
      /interact: n\.step = 1 is not accepted; expected at most 10000 stops/,
    );
    expect(() => controlValues("b", [])).toThrow(ParameterError);
    expect(() => controlValues("b", [1, 1])).toThrow(/differ/);
    expect(() => controlValues("b", [Number.NaN])).toThrow(/b\[0\] = NaN/);
  });

  it("precomputes every combination, or each slider alone from the start", () => {
    const axes = [
      { name: "a", label: "a", values: [1, 2, 3] },
      { name: "b", label: "b", values: ["x", "y"] },
    ];
    expect(precomputedKeys(axes, 6)).toHaveLength(6);
    expect(precomputedKeys(axes, 5)).toEqual([
      [1, "x"],
      [2, "x"],
      [3, "x"],
      [1, "y"],
    ]);
    expect(precomputedKeys(axes, 0)).toEqual([[1, "x"]]);
  });

  it("accepts traces, {data, layout}, a plot payload or named numbers", () => {
    const t = { type: "scatter", x: [1], y: [2] };
    expect(outputFigure([t])).toEqual({ data: [t] });
    expect(outputFigure({ data: [t], layout: { title: "a" } })).toEqual({
      data: [t],
      layout: { title: "a" },
    });
    expect(outputFigure({ version: 1, data: [t], layout: {} })).toEqual({
      data: [t],
      layout: {},
    });
    expect(outputFigure({ uaf: 1, munmapNs: 2 })).toEqual({
      data: [{ type: "bar", name: "value", x: ["uaf", "munmapNs"], y: [1, 2] }],
    });
    expect(() => outputFigure("nope")).toThrow(/fn = "nope" is not accepted/);
    expect(() => outputFigure([{ y: [Infinity] }])).toThrow(/finite/);
  });
});

describe("interact()", () => {
  it("precomputes frames from the function and answers slider moves by running it again", async () => {
    let k = 1;
    const seen: number[] = [];
    const handle = await interact(
      ({ n, shape }) => {
        seen.push(n);
        const xs = [1, 2, 3];
        return [{ type: "scatter", name: shape, x: xs, y: xs.map((x) => k * n * x) }];
      },
      { n: { min: 1, max: 3 }, shape: ["line", "flat"] },
      { title: "n·x", display: false },
    );
    expect(handle.calls).toBe(6);
    expect(handle.plot.sweep?.frames).toHaveLength(6);
    expect(handle.plot.sweep?.id).toBe(handle.id);
    expect(handle.plot.data).toEqual(handle.plot.sweep!.frames[0]!.data);

    const rt = recordingRuntime();
    const sent = rt.sent;
    setNotebookRuntime(rt);
    const uninstall = installSweepTarget();
    try {
      const msg = (data: JsonObject) => ({ data, metadata: {}, buffers: [] });
      await dispatchCommOpen("i", "mmulab.sweep", msg({}));
      k = 100; // the notebook changed a variable the function reads: the next answer shows it
      await dispatchCommMsg("i", msg({ id: 1, sweep: handle.id, key: [3, "flat"] }));
      await dispatchCommMsg("i", msg({ id: 2, sweep: handle.id, key: [4, "flat"] }));
      handle.close();
      await dispatchCommMsg("i", msg({ id: 3, sweep: handle.id, key: [3, "flat"] }));
      expect(sent[1]).toEqual({
        id: 1,
        ok: true,
        result: {
          key: [3, "flat"],
          data: [{ type: "scatter", name: "flat", x: [1, 2, 3], y: [300, 600, 900] }],
        },
      });
      expect(sent[2]).toMatchObject({ id: 2, ok: false, error: { name: "ParameterError" } });
      expect(sent[3]).toMatchObject({ id: 3, ok: false, error: { name: "ParameterError" } });
      expect(handle.calls).toBe(7);
      expect(seen.at(-1)).toBe(3);
    } finally {
      uninstall();
    }
  });

  it("names the slider values when the function throws, and checks its options", async () => {
    await expect(
      interact(
        ({ n }) => {
          if (n === 2) throw new RangeError("two");
          return [{ y: [n] }];
        },
        { n: [1, 2] },
        { display: false },
      ),
    ).rejects.toThrow("at n = 2: two");
    await expect(interact(() => [], {}, { display: false })).rejects.toThrow(
      /at least one control/,
    );
    await expect(
      interact(() => [], { n: [1] }, { display: false, precompute: -1 }),
    ).rejects.toThrow(/precompute = -1/);
  });
});
