import { describe, expect, it } from "vitest";
import { logTicks, plotSvg } from "../../src/display/plot.js";

describe("the static plot's log axes", () => {
  it("tick at decades, with 2 and 5 between them when few decades show", () => {
    const at = (lo: number, hi: number) => logTicks(lo, hi).map((v) => Math.round(10 ** v));
    expect(at(2, 3.7)).toEqual([100, 200, 500, 1000, 2000, 5000]);
    expect(at(0, 4)).toEqual([1, 10, 100, 1000, 10000]);
  });

  it("labels each tick with its full value", () => {
    const svg = plotSvg({
      version: 1,
      data: [{ type: "scatter", x: [1, 2, 3], y: [100, 900, 5000] }],
      layout: { yaxis: { type: "log" } },
    });
    const labels = [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1]);
    expect(labels).toEqual(["100", "200", "500", "1000", "2000", "5000"]);
  });
});
