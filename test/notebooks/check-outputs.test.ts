// The output regression check (scripts/check-outputs.mjs) on synthetic notebooks: what it
// sanitises, and that it fails when a key result changes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  cellText,
  checkCell,
  checkNotebook,
  roundNumbers,
  sanitise,
} from "../../scripts/check-outputs.mjs";
import type { Cell, Notebook } from "../../scripts/notebooks.mjs";

const dir = mkdtempSync(join(tmpdir(), "mmulab-check-outputs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cell(tags: string[], outputs: NonNullable<Cell["outputs"]>): Cell {
  return { cell_type: "code", metadata: { tags }, source: "", outputs, execution_count: 1 };
}

function notebook(cells: Cell[], metadata: Record<string, unknown> = {}): Notebook {
  return { cells, metadata, nbformat: 4, nbformat_minor: 5 };
}

const MATRIX = "v4.13 xen-pv 5/40\nv4.14 xen-pv 0/40";

describe("cell text and sanitising", () => {
  it("joins streams, text/plain of displays and errors", () => {
    const c = cell(
      ["check-x"],
      [
        { output_type: "stream", name: "stdout", text: ["a\n", "b\n"] },
        {
          output_type: "display_data",
          data: { "text/plain": ["**md**"], "text/markdown": "**md**" },
        },
        { output_type: "error", ename: "RangeError", evalue: "bad", traceback: [] },
      ],
    );
    expect(cellText(c)).toBe("a\nb\n**md**\nERROR RangeError: bad");
  });

  it("masks wall-clock times, progress timings and dates", () => {
    expect(sanitise("done (wall 12.5 s) and (wall 300 ms)")).toBe("done (wall <t>) and (wall <t>)");
    expect(sanitise("cells [####] 100% (120 / 120) 2.112 s")).toBe(
      "cells [####] 100% (120 / 120) <t> s",
    );
    expect(sanitise("at 2026-11-29T13:07:18.032Z")).toBe("at <date>");
    expect(sanitise("x=1", [["x=\\d", "x=?"]])).toBe("x=?");
  });

  it("rounds decimals to significant digits, leaving integers alone", () => {
    expect(roundNumbers("0.30000000000000004 and 17.4499999 of 40", 6)).toBe("0.3 and 17.45 of 40");
  });
});

describe("checkCell", () => {
  it("accepts the same text up to floating noise, and fails on a changed verdict", () => {
    expect(
      checkCell("munmap 10.5900000001 µs\n" + MATRIX, { text: "munmap 10.59 µs\n" + MATRIX }, 6),
    ).toEqual([]);
    const changed = checkCell(MATRIX.replace("5/40", "0/40"), { text: MATRIX }, 6);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toContain("- v4.13 xen-pv 5/40");
    expect(changed[0]).toContain("+ v4.13 xen-pv 0/40");
  });

  it("checks numbers against a value with tolerance, and bounds", () => {
    const text = "flush wait **17.45 µs**; native 4,432 µs; elapsed −0.31 %";
    const ok = checkCell(
      text,
      {
        numbers: [
          { pattern: "wait \\*\\*([\\d.]+) µs", value: 17, tolerance: 0.05, relative: true },
          { pattern: "native ([\\d,]+) µs", min: 500 },
          { pattern: "elapsed ([-−\\d.]+) %", min: -1, max: 1, value: -0.3, tolerance: 0.02 },
        ],
      },
      6,
    );
    expect(ok).toEqual([]);
    const bad = checkCell(
      text,
      {
        numbers: [
          {
            label: "wait",
            pattern: "wait \\*\\*([\\d.]+) µs",
            value: 10,
            tolerance: 0.1,
            relative: true,
          },
          { label: "native", pattern: "native ([\\d,]+) µs", max: 100 },
          { label: "missing", pattern: "absent (\\d+)" },
        ],
      },
      6,
    );
    expect(bad).toEqual([
      "wait: 17.45, expected 10 ± 0.1 (relative)",
      "native: 4432 > 100",
      "missing: no match for /absent (\\d+)/",
    ]);
  });

  it("checks literals, absences, regular expressions and errors", () => {
    expect(
      checkCell(
        "RCU closes it: 0 reads",
        { contains: ["0 reads"], absent: ["5 reads"], matches: ["^RCU"] },
        6,
      ),
    ).toEqual([]);
    expect(
      checkCell("5 reads", { contains: ["0 reads"], absent: ["5 reads"], matches: ["^RCU"] }, 6),
    ).toEqual(['missing "0 reads"', 'unexpected "5 reads"', "no match for /^RCU/"]);
    expect(checkCell("ERROR TSError: nope", {}, 6)).toEqual([
      "the cell failed: ERROR TSError: nope",
    ]);
  });
});

describe("checkNotebook", () => {
  const executed = join(dir, "nb.ipynb");
  const expected = join(dir, "nb.json");

  function write(nb: Notebook, cells: Record<string, unknown>) {
    writeFileSync(executed, JSON.stringify(nb));
    writeFileSync(expected, JSON.stringify({ notebook: "nb.ipynb", cells }));
  }

  it("passes when every tagged cell meets its expectation", () => {
    write(
      notebook([cell(["check-matrix"], [{ output_type: "stream", name: "stdout", text: MATRIX }])]),
      {
        "check-matrix": { text: MATRIX },
      },
    );
    const r = checkNotebook(executed, expected);
    expect(r.failures).toEqual([]);
    expect(r.cells).toBe(1);
  });

  it("fails on a cell error, an unchecked tag, a missing cell and injected parameters", () => {
    write(
      notebook([
        cell(
          ["check-a"],
          [{ output_type: "error", ename: "Error", evalue: "boom", traceback: [] }],
        ),
        cell(["check-b"], []),
      ]),
      { "check-a": { contains: ["x"] }, "check-c": { contains: ["y"] } },
    );
    const r = checkNotebook(executed, expected);
    expect(r.failures).toEqual([
      "cell 0: Error: boom",
      "cell tagged check-b has no expectation",
      "check-a: the cell failed: ERROR Error: boom",
      'check-a: missing "x"',
      "no cell tagged check-c",
    ]);
    write(notebook([], { mmulab: { parameters: { trials: 3 } } }), {});
    expect(checkNotebook(executed, expected).failures[0]).toContain("injected parameters");
  });

  it("rewrites text snapshots with --update, and only those", () => {
    write(
      notebook([cell(["check-matrix"], [{ output_type: "stream", name: "stdout", text: MATRIX }])]),
      {
        "check-matrix": { text: "old", contains: ["5/40"] },
      },
    );
    const r = checkNotebook(executed, expected, { update: true });
    expect(r.updated).toBe(true);
    expect(r.failures).toEqual([]);
    const saved = JSON.parse(readFileSync(expected, "utf8")) as {
      cells: Record<string, { text: string; contains: string[] }>;
    };
    expect(saved.cells["check-matrix"]).toEqual({ text: MATRIX, contains: ["5/40"] });
  });
});
