/**
 * Progress that tells the truth: a cancelled sweep ends at the rows it finished, the
 * race matrix counts only cells that exist, the seed table and kernbench builds report per
 * build, and outside a kernel the bar goes to a terminal only.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  progress,
  setNotebookRuntime,
  type MimeBundle,
  type TerminalStream,
} from "../../src/display/index.js";
import { runSeedTable } from "../../src/experiments/kernbench-table.js";
import { runRaceMatrix } from "../../src/experiments/race-matrix.js";
import { startProgress, withProgress } from "../../src/sim/progress.js";
import { SimulationStopped } from "../../src/sim/errors.js";
import { runSweep, SweepCancelled } from "../../src/sweep/index.js";
import { recordingRuntime } from "../support/runtime.js";

let shown: { bundle: MimeBundle; id: string }[] = [];

beforeEach(() => {
  const rt = recordingRuntime();
  shown = rt.shown;
  setNotebookRuntime(rt);
});
afterEach(() => setNotebookRuntime(null));

/** The last text of each progress display, by display id, in order of appearance. */
function finalTexts(): string[] {
  const last = new Map<string, string>();
  for (const s of shown) last.set(s.id, s.bundle["text/plain"]);
  return [...last.values()];
}

describe("truthful progress", () => {
  it("a cancelled sweep ends at the rows it finished, not at 100 %", async () => {
    const ctl = new AbortController();
    let rows = 0;
    const run = runSweep(
      { run: "synthetic", params: { x: [1, 2, 3, 4, 5, 6, 7, 8], y: [1, 2] }, seeds: 1 },
      {
        workers: 0,
        signal: ctl.signal,
        onProgress: (done) => {
          rows = done;
          if (done === 5) ctl.abort();
        },
      },
    );
    await expect(run).rejects.toBeInstanceOf(SweepCancelled);
    expect(rows).toBe(5);
    const [text] = finalTexts();
    expect(text).toMatch(/\[#+-+\] 31% \(5 \/ 16\).*— cancelled/);
  });

  it("the race matrix counts the cells that exist, and ends at all of them", () => {
    const m = runRaceMatrix({
      profiles: ["v4.13", "v4.14"],
      backends: ["native", "invlpgb"],
      scenarios: ["walker-vs-munmap"],
      trials: 1,
      examples: false,
    });
    expect(m.skipped.length).toBeGreaterThan(0);
    const [text] = finalTexts();
    const n = m.cells.length;
    expect(text).toContain(`100% (${n} / ${n})`);
    expect(text).toMatch(
      /race matrix: \d+ cells × 1 trial \(\d+ profile × backend pairs do not exist\)/,
    );
    shown.length = 0;
    runRaceMatrix({ profiles: ["v4.14"], backends: ["native"], trials: 1, progress: false });
    expect(shown).toEqual([]);
  });

  it("the seed table reports each build", async () => {
    const t = await runSeedTable({ hosts: ["6cpu"], runs: 1, scale: 0.005, workers: 0 });
    expect(t.hosts).toHaveLength(1);
    const updates = shown.map((s) => s.bundle["text/plain"]);
    expect(updates[0]).toMatch(/kernbench seed table: 4 builds/);
    expect(updates.at(-1)).toContain("100% (4 / 4)");
  });

  it("an interrupted experiment ends where it stopped, saying so", () => {
    expect(() =>
      withProgress(10, { label: "trials" }, (bar) => {
        bar(3);
        throw new SimulationStopped("interrupted");
      }),
    ).toThrow(SimulationStopped);
    expect(finalTexts()[0]).toMatch(/30% \(3 \/ 10\).*— interrupted/);
  });
});

describe("progress outside a notebook", () => {
  beforeEach(() => setNotebookRuntime(null));

  it("redraws one line on a terminal and ends it with a newline", () => {
    const out: string[] = [];
    const tty: TerminalStream = { isTTY: true, columns: 60, write: (t) => out.push(t) };
    const bar = progress(4, { label: "builds", stream: tty, minIntervalMs: 0 });
    bar(1);
    bar(2);
    bar.finish("cancelled");
    expect(out.every((l) => l.startsWith("\r"))).toBe(true);
    expect(out.at(-1)).toMatch(/50% \(2 \/ 4\).*\n$/);
    expect(out.join("").split("\n")).toHaveLength(2);
    expect(Math.max(...out.map((l) => l.replace(/[\r\n]/g, "").length))).toBeLessThanOrEqual(59);
  });

  it("writes nothing when stderr is not a terminal (pipes, logs, tests)", () => {
    expect(process.stderr.isTTY).not.toBe(true);
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (t: string) => (writes.push(t), true);
    try {
      const bar = startProgress(3, { label: "quiet" });
      bar(1);
      bar.finish();
    } finally {
      process.stderr.write = write;
    }
    expect(writes).toEqual([]);
  });
});
