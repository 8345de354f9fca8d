// Parameter injection (papermill style): scripts/notebooks.mjs's injectParameters, and
// scripts/run-notebook.mjs end to end on the mmulab kernel — the injected cell sits right after
// the `parameters` cell, the run uses its values, a failing cell fails the command.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkNotebook, EXPECTED_DIR } from "../../scripts/check-outputs.mjs";
import {
  cellTags,
  declaredParameters,
  injectParameters,
  joinText,
  missingPrerequisites,
  parseParameterValue,
  readNotebook,
  tsLiteral,
  type Cell,
  type Notebook,
} from "../../scripts/notebooks.mjs";
import { ROOT } from "../kernel-protocol/jupyter.js";

const OUT = join(ROOT, "test-artifacts", "notebooks");

function code(source: string, tags: string[] = []): Cell {
  return {
    cell_type: "code",
    metadata: tags.length > 0 ? { tags } : {},
    source,
    outputs: [],
    execution_count: null,
  };
}

function nbOf(cells: Cell[]): Notebook {
  return { cells, metadata: { kernelspec: { name: "mmulab" } }, nbformat: 4, nbformat_minor: 5 };
}

function runNotebook(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts", "run-notebook.mjs"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

describe("injectParameters", () => {
  const params = code(
    '// Parameters\nconst seed: number = 1; // first seed\nlet names: readonly string[] = ["a"];\nconst free = "x";',
    ["parameters"],
  );
  const nb = nbOf([{ cell_type: "markdown", metadata: {}, source: "# t" }, params, code("seed")]);

  it("reads the declarations of the parameters cell with their types", () => {
    expect([...declaredParameters(joinText(params.source))]).toEqual([
      ["seed", "number"],
      ["names", "readonly string[]"],
      ["free", null],
    ]);
  });

  it("inserts a typed re-declaration right after the parameters cell, replacing an older one", () => {
    const once = injectParameters(nb, { seed: 7, names: ["b", "c"], other: true });
    const twice = injectParameters(once.notebook, { seed: 8 });
    for (const [r, source] of [
      [
        once,
        '// Injected parameters\nconst seed: number = 7;\nconst names: readonly string[] = ["b","c"];\nconst other = true;',
      ],
      [twice, "// Injected parameters\nconst seed: number = 8;"],
    ] as const) {
      const cells = r.notebook.cells;
      expect(cells).toHaveLength(4);
      expect(cellTags(cells[2]!)).toEqual(["injected-parameters"]);
      expect(joinText(cells[2]!.source)).toBe(source);
      expect(cells[1]).toBe(params);
      expect(r.hasParametersCell).toBe(true);
    }
    expect(once.unknown).toEqual(["other"]);
    expect(twice.notebook.metadata["mmulab"]).toEqual({ parameters: { seed: 8 } });
    // The input notebook is not modified.
    expect(nb.cells).toHaveLength(3);
  });

  it("puts the cell first when there is no parameters cell, and rejects what TypeScript cannot take", () => {
    const r = injectParameters(nbOf([code("1")]), { x: "s" });
    expect(r.hasParametersCell).toBe(false);
    expect(joinText(r.notebook.cells[0]!.source)).toBe('// Injected parameters\nconst x = "s";');
    expect(() => injectParameters(nb, { "bad-name": 1 })).toThrow(/bad parameter name/);
    expect(() => tsLiteral(Number.NaN)).toThrow(/not a finite number/);
  });

  it("parses command-line values as JSON when they are JSON", () => {
    expect(parseParameterValue("10")).toBe(10);
    expect(parseParameterValue("0.5")).toBe(0.5);
    expect(parseParameterValue("true")).toBe(true);
    expect(parseParameterValue('["v4.13","v4.14"]')).toEqual(["v4.13", "v4.14"]);
    expect(parseParameterValue("xen-pv")).toBe("xen-pv");
    expect(parseParameterValue('"10"')).toBe("10");
  });
});

describe("run-notebook.mjs on the mmulab kernel", () => {
  beforeAll(() => {
    const missing = missingPrerequisites();
    if (missing !== null) throw new Error(`the notebook tests need: ${missing}`);
    mkdirSync(OUT, { recursive: true });
  });

  it("runs a notebook with injected parameters and writes the executed notebook", async () => {
    const out = join(OUT, "03-trials-3.ipynb");
    const r = await runNotebook([
      join(ROOT, "notebooks", "03-kernel-versions.ipynb"),
      "-p",
      "trials",
      "3",
      "-p",
      "seed",
      "5",
      "-o",
      out,
    ]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("03-kernel-versions.ipynb: ok");
    const nb = readNotebook(out);
    const at = nb.cells.findIndex((c) => cellTags(c).includes("parameters"));
    const injected = nb.cells[at + 1]!;
    expect(cellTags(injected)).toEqual(["injected-parameters"]);
    expect(joinText(injected.source)).toBe(
      "// Injected parameters\nconst trials: number = 3;\nconst seed: number = 5;",
    );
    expect(injected.execution_count).toBe(2);
    const matrix = nb.cells.find((c) => cellTags(c).includes("check-matrix"))!;
    const text = (matrix.outputs ?? [])
      .map((o) => joinText(o.data?.["text/plain"] as string | string[]))
      .join("");
    expect(text).toContain("/3");
    expect(text).not.toContain("/10");
    expect(nb.metadata["mmulab"]).toMatchObject({ parameters: { trials: 3, seed: 5 } });
    // The committed expectations hold for the default parameters only.
    const check = checkNotebook(out, join(EXPECTED_DIR, "03-kernel-versions.json"));
    expect(check.failures[0]).toContain("injected parameters");
  }, 180_000);

  it("fails on a failing cell, keeping the executed notebook with the error", async () => {
    const input = join(OUT, "failing.ipynb");
    const out = join(OUT, "failing-out.ipynb");
    writeFileSync(
      input,
      JSON.stringify(
        nbOf([
          code("const n: number = 1;", ["parameters"]),
          code('if (n > 1) throw new RangeError(`boom ${n}`);\n"not reached"'),
          code('"after"'),
        ]),
      ),
    );
    const r = await runNotebook([input, "-p", "n", "2", "-o", out]);
    expect(r.status, r.output).toBe(1);
    expect(r.output).toContain("FAILED in cell 2");
    expect(r.output).toContain("RangeError: boom 2");
    const nb = readNotebook(out);
    expect(nb.cells[2]!.outputs).toMatchObject([
      { output_type: "error", ename: "RangeError", evalue: "boom 2" },
    ]);
    expect(nb.cells[3]!.execution_count).toBeNull();
    expect(JSON.parse(readFileSync(out, "utf8"))).toMatchObject({
      metadata: { mmulab: { parameters: { n: 2 } } },
    });
  }, 180_000);

  it("rejects bad usage with exit status 2", async () => {
    const r = await runNotebook([join(ROOT, "notebooks", "03-kernel-versions.ipynb"), "--bogus"]);
    expect(r.status).toBe(2);
    expect(r.output).toContain("unknown option --bogus");
  });
});
