// The notebook helpers for experiments: markdown prose, number formatting, Markdown tables
// (display/markdown.ts), the race-matrix and seed-table bundles (display/race-matrix.ts,
// display/seed-table.ts, experiments/seed-comparison.ts), and the plot builders with sweep axes
// (views/).
import { describe, expect, it } from "vitest";
import { PLOT_MIME } from "../../src/contract/mime.js";
import {
  checkPlotPayload,
  formatNumber,
  isRaceMatrix,
  isSeedTable,
  markdown,
  mdTable,
  plotSvg,
  raceMatrixMarkdown,
  seedTableMarkdown,
  toMimeBundle,
} from "../../src/display/index.js";
import { seedTableRows } from "../../src/experiments/seed-comparison.js";
import { raceMatrixPlot, sweepFrame, sweepPlot } from "../../src/views/index.js";
import { runSeedTable, type SeedTable } from "../../src/experiments/kernbench-table.js";
import { formatRaceMatrix, runRaceMatrix } from "../../src/experiments/race-matrix.js";
import * as mmulab from "../../src/index.js";

describe("markdown and numbers for prose", () => {
  it("displays markdown as text/markdown with the source as text/plain", () => {
    const md = markdown("**5** of 40");
    expect(toMimeBundle(md)).toEqual({
      "text/markdown": "**5** of 40",
      "text/plain": "**5** of 40",
    });
    expect(String(md)).toBe("**5** of 40");
  });

  it("formats numbers with significant digits, separators from five digits, words for non-finite", () => {
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(8634)).toBe("8634");
    expect(formatNumber(17268)).toBe("17,268");
    expect(formatNumber(1518.25)).toBe("1518");
    expect(formatNumber(1518.25, 6)).toBe("1518.25");
    expect(formatNumber(75912.5, 6)).toBe("75,912.5");
    expect(formatNumber(23.456)).toBe("23.5");
    expect(formatNumber(0.000220905)).toBe("0.000221");
    expect(formatNumber(2.5)).toBe("2.5");
    expect(formatNumber(-1234567.8)).toBe("-1,234,568");
    expect(formatNumber(Number.NaN)).toBe("n/a");
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe("∞");
  });

  it("builds Markdown tables, escaping pipes and line breaks", () => {
    expect(
      mdTable(
        ["a", "b"],
        [
          ["x|y", 1.5],
          ["two\nlines", 20000],
        ],
      ),
    ).toBe(["| a | b |", "| --- | ---: |", "| x\\|y | 1.5 |", "| two lines | 20,000 |"].join("\n"));
    expect(mdTable(["a", "b"], [], ["center", "left"])).toContain("| :---: | --- |");
  });
});

describe("race matrices in notebooks", () => {
  const m = runRaceMatrix({
    profiles: ["v4.13", "v4.14", "v6.15"],
    backends: ["native", "xen-pv", "invlpgb"],
    scenarios: ["walker-vs-munmap", "use-mm-walker"],
    trials: 10,
    examples: false,
  });

  it("is recognised by the adapter: HTML tables and formatRaceMatrix as text", () => {
    expect(isRaceMatrix(m)).toBe(true);
    expect(isRaceMatrix({ cells: [] })).toBe(false);
    const b = toMimeBundle(m);
    expect(b["text/plain"]).toBe(formatRaceMatrix(m));
    const html = b["text/html"] as string;
    expect(html).toContain("<table");
    expect(html).toContain("walker-vs-munmap");
    // v4.13 × xen-pv has use-after-free trials at 10 trials (seeds 1…10): a red cell.
    expect(html).toContain("#f6c9c9");
    expect(html).not.toContain("<script");
  });

  it("renders as Markdown tables with a dash for combinations the version does not have", () => {
    const md = raceMatrixMarkdown(m);
    expect(md).toContain("**use-mm-walker**");
    expect(md).toMatch(/\| v4\.13 \| 0\/10 \| \d+\/10 \| — \|/);
    expect(md).toMatch(/\| v4\.14 \| 10\/10 † \|/);
  });

  it("plots one bar per backend and one slider frame per scenario", () => {
    const p = raceMatrixPlot(m, "t");
    checkPlotPayload(p);
    expect(p.sweep?.axes).toEqual([
      { name: "scenario", label: "scenario", values: ["walker-vs-munmap", "use-mm-walker"] },
    ]);
    expect(p.sweep?.frames.map((f) => f.key)).toEqual([["walker-vs-munmap"], ["use-mm-walker"]]);
    expect(p.data).toEqual(p.sweep?.frames[0]?.data);
    expect(p.data.map((t) => t["name"])).toEqual(["native", "xen-pv", "invlpgb"]);
    // invlpgb is refused before v6.15: a bar for v6.15 only.
    expect(p.data[2]?.["x"]).toEqual(["v6.15"]);
    const useMm = p.sweep?.frames[1]?.data[0];
    expect(useMm?.["y"]).toEqual([0, 1, 0]); // native: only v4.14's mm_users < 2 shortcut
    expect(plotSvg(p)).toContain("<svg");
    expect(Object.keys(toMimeBundle(p))).toContain(PLOT_MIME);
  });
});

describe("sweepPlot", () => {
  const points = [1, 2].flatMap((a) =>
    ["lin", "sq"].flatMap((series) =>
      [1, 2, 3].map((x) => ({
        series,
        x,
        y: series === "lin" ? a * x : a * x * x,
        key: { a, b: "k" },
      })),
    ),
  );

  it("makes one frame per combination of axis values, the first as the payload's data", () => {
    const p = sweepPlot({
      title: "t",
      xLabel: "x",
      yLabel: "y",
      yLog: true,
      axes: [
        { name: "a", label: "A" },
        { name: "b", label: "B" },
      ],
      points,
    });
    checkPlotPayload(p);
    expect(p.sweep?.axes.map((x) => x.values)).toEqual([[1, 2], ["k"]]);
    expect(p.sweep?.frames.map((f) => f.key)).toEqual([
      [1, "k"],
      [2, "k"],
    ]);
    expect(p.data).toEqual(p.sweep?.frames[0]?.data);
    expect(p.layout["yaxis"]).toEqual({ title: { text: "y" }, type: "log" });
    const f2 = sweepFrame(p, { a: 2, b: "k" });
    expect(f2?.data[1]).toEqual({
      type: "scatter",
      mode: "lines+markers",
      name: "sq",
      x: [1, 2, 3],
      y: [2, 8, 18],
    });
    expect(sweepFrame(p, { a: 3, b: "k" })).toBeUndefined();
  });

  it("draws bars without axes, and names a point that lacks an axis value", () => {
    const p = sweepPlot({
      title: "bars",
      xLabel: "x",
      yLabel: "y",
      mode: "bar",
      points: [{ series: "s", x: "a", y: 1 }],
    });
    expect(p.sweep).toBeUndefined();
    expect(p.data).toEqual([{ type: "bar", name: "s", x: ["a"], y: [1] }]);
    expect(p.layout["barmode"]).toBe("group");
    expect(() =>
      sweepPlot({
        title: "t",
        xLabel: "x",
        yLabel: "y",
        axes: [{ name: "a", label: "A" }],
        points: [{ series: "s", x: 1, y: 1 }],
      }),
    ).toThrow(/series "s" has no "a"/);
  });
});

describe("the seed's kernbench table in notebooks", () => {
  let table: SeedTable;

  it("is recognised by the adapter and set beside the seed's numbers", async () => {
    table = await runSeedTable({ hosts: ["6cpu"], runs: 1, scale: 0.005, workers: 0 });
    expect(isSeedTable(table)).toBe(true);
    const b = toMimeBundle(table);
    expect(b["text/plain"]).toContain("6-CPU host (simulated, 1 runs");
    expect(b["text/html"] as string).toContain("Elapsed Time *");
    const rows = seedTableRows(table);
    expect(rows).toHaveLength(2 * 6);
    const elapsed = rows.find((r) => r.load === "half" && r.field === "elapsed")!;
    // Extensive statistics of a scaled build are divided by the scale; the seed's are as published.
    expect(elapsed.extrapolated).toBe(true);
    expect(elapsed.current.mean).toBeCloseTo(
      table.hosts[0]!.current.printed.half.elapsed.mean / 0.005,
      6,
    );
    expect(elapsed.seedCurrent).toEqual([400.498, 0.179679]);
    expect(elapsed.currentVsSeedPct).toBeCloseTo(
      ((elapsed.current.mean - 400.498) / 400.498) * 100,
      9,
    );
    const cpu = rows.find((r) => r.load === "optimal" && r.field === "percentCpu")!;
    expect(cpu.extrapolated).toBe(false);
    expect(seedTableMarkdown(table)).toContain("**6cpu, optimal load (-j 24)**");
  }, 60_000);
});

describe("public API", () => {
  it("exports the notebook helpers and kernbench from the package root", () => {
    for (const name of [
      "markdown",
      "mdTable",
      "formatNumber",
      "formatNs",
      "sweepPlot",
      "raceMatrixPlot",
      "seedTableRows",
      "runKernbench",
      "runSeedTable",
      "formatSeedTable",
      "kernbenchPrinted",
      "trueBlock",
      "SEED_TABLE",
      "HOSTS",
    ])
      expect(mmulab, name).toHaveProperty(name);
  });
});
