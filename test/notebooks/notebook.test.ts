// Debian's nbclient executes test/notebooks/kernel-smoke.ipynb on the mmulab kernel (through
// run_notebook.py) and we check the executed notebook: an execution count on every code cell,
// cells after an error still run with allow-errors, figures with all three MIME types; and that
// without allow-errors nbclient stops with the error's name and message.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { missingPrerequisites, ROOT, runPython } from "../kernel-protocol/jupyter.js";

// The apt packages come from .ci/run; a machine without them fails here, saying what is missing.
const missing = missingPrerequisites();

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  text?: string | string[];
}
interface Cell {
  cell_type: string;
  source: string;
  execution_count?: number | null;
  outputs?: Output[];
}

/** nbformat stores multi-line strings as lists of lines; join them back. */
function joinMultiline(cell: Cell): Cell {
  const join1 = (v: unknown): unknown => (Array.isArray(v) ? v.join("") : v);
  return {
    ...cell,
    outputs: (cell.outputs ?? []).map((o) => ({
      ...o,
      ...(o.text !== undefined ? { text: join1(o.text) as string } : {}),
      ...(o.data !== undefined
        ? { data: Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, join1(v)])) }
        : {}),
    })),
  };
}

const OUTPUT = join(ROOT, "test-artifacts", "notebooks", "kernel-smoke.ipynb");

describe("the smoke notebook under nbclient", () => {
  let summary: {
    seconds: number;
    strict: { ename: string; evalue: string; message: string } | null;
    strict_second_cell_ran: boolean;
  };
  let cells: Cell[];

  beforeAll(async () => {
    expect(missing, "prerequisites").toBeNull();
    const r = await runPython(
      ["run_notebook.py", "kernel-smoke.ipynb", "--output", OUTPUT],
      join(ROOT, "test", "notebooks"),
      240_000,
    );
    expect(r.status, r.stderr).toBe(0);
    summary = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as typeof summary;
    const nb = JSON.parse(readFileSync(OUTPUT, "utf8")) as { cells: Cell[] };
    cells = nb.cells.filter((c) => c.cell_type === "code").map(joinMultiline);
  }, 300_000);

  it("gives every code cell an execution count, in order", () => {
    expect(cells.length).toBeGreaterThanOrEqual(6);
    expect(cells.map((c) => c.execution_count)).toEqual(cells.map((_, i) => i + 1));
  });

  it("runs the cells after the failing one (allow-errors)", () => {
    const failing = cells.findIndex((c) => c.outputs?.some((o) => o.output_type === "error"));
    expect(failing).toBeGreaterThan(0);
    const error = cells[failing]!.outputs!.find((o) => o.output_type === "error")!;
    expect(error.ename).toBe("Error");
    expect(error.evalue).toBe("expected failure in the smoke notebook");
    const after = cells.slice(failing + 1);
    expect(after.length).toBeGreaterThan(0);
    for (const c of after) expect(c.outputs?.length ?? 0).toBeGreaterThan(0);
    expect(after[0]!.outputs!.some((o) => o.text === "still running after the error\n")).toBe(true);
  });

  it("carries the custom payload, the SVG fallback and text for each figure", () => {
    const rich = cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data !== undefined);
    for (const mime of [
      "application/vnd.mmulab.pagetable+json",
      "application/vnd.mmulab.timeline+json",
      "application/vnd.mmulab.plot+json",
    ]) {
      const o = rich.find((x) => x.data?.[mime] !== undefined);
      expect(o, mime).toBeDefined();
      expect(typeof o!.data!["text/plain"]).toBe("string");
      expect(String(o!.data!["text/html"])).toContain("<svg");
    }
    const tree = rich.find((x) => x.data?.["application/vnd.mmulab.pagetable+json"] !== undefined)!;
    expect(tree.data!["text/plain"]).toContain("after 8 faults");
    // Labels are escaped in the SVG.
    const timeline = rich.find(
      (x) => x.data?.["application/vnd.mmulab.timeline+json"] !== undefined,
    )!;
    expect(String(timeline.data!["text/html"])).toContain("CPU 1 &lt;walker&gt;");
  });

  it("stops with the error's name and message without allow-errors", () => {
    expect(summary.strict).not.toBeNull();
    expect(summary.strict!.ename).toBe("RangeError");
    expect(summary.strict!.evalue).toBe("strict mode stops here");
    expect(summary.strict_second_cell_ran).toBe(false);
  });
});
