/**
 * The pieces behind the kernel's cell semantics, on tslab's own compiler (loaded as the kernel
 * loads it, patches included): the declarations a failed cell leaves, the compiled prologue that
 * would wipe earlier values, the callee found for Shift+Tab, and the converter patches.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  declarationsAfterFailure,
  snapshotExports,
  splitExportPrologue,
  unassignedNames,
} from "../../src/notebook-kernel/declarations.js";
import { calleeOffset } from "../../src/notebook-kernel/inspect.js";
import { applyPatches, CONVERTER_PATCHES } from "../../src/notebook-kernel/tslab-patches.js";
import { loadTslab, type Tslab, type TslabConverter } from "../../src/notebook-kernel/tslab.js";

let tslab: Tslab;
let conv: TslabConverter;

beforeAll(() => {
  tslab = loadTslab();
  conv = tslab.createConverter({ isJS: false, isBrowser: false });
  return () => conv.close();
}, 60_000);

describe("the compiled prologue", () => {
  it("lists the cell's exported values and is removed, whatever else the cell holds", () => {
    const r = conv.convert(
      "",
      'import { cpus } from "os";\nconst a = 1, [b] = [2];\nfunction f() { return a; }\ninterface I { x: number }\na + b',
    );
    expect(r.diagnostics).toEqual([]);
    const { names, js } = splitExportPrologue(r.output!);
    expect(new Set(names)).toEqual(new Set(["a", "b", "f", "cpus", r.lastExpressionVar]));
    expect(js).not.toMatch(/void 0/);
    expect(js).toContain("exports.a = a;");
    expect(js.startsWith('Object.defineProperty(exports, "__esModule"')).toBe(true);
  });

  it("leaves code without a prologue as it is", () => {
    const js = 'Object.defineProperty(exports, "__esModule", { value: true });\nconsole.log(1);';
    expect(splitExportPrologue(js)).toEqual({ names: [], js });
  });

  it("reads 50-name statements one after another", () => {
    const line = (from: number) =>
      Array.from({ length: 50 }, (_, i) => `exports.n${from + i} = `).join("") + "void 0;";
    const { names, js } = splitExportPrologue(`${line(0)}\n${line(50)}\nexports.n0 = 1;`);
    expect(names).toHaveLength(100);
    expect(js).toBe("exports.n0 = 1;");
  });
});

describe("what a failed cell assigned", () => {
  it("counts a name as assigned when it is new or its value changed", () => {
    const exportsObject: Record<string, unknown> = { kept: "old", same: 1, changed: [1] };
    const before = snapshotExports(exportsObject, ["kept", "same", "changed", "fresh", "never"]);
    exportsObject["changed"] = [1];
    exportsObject["fresh"] = undefined;
    exportsObject["same"] = 1;
    expect(unassignedNames(exportsObject, before)).toEqual(new Set(["kept", "same", "never"]));
  });
});

describe("declarations after a failed cell", () => {
  const previous =
    'import { cpus, hostname } from "os";\ndeclare let kept: string;\ndeclare function f(): string;\n';

  it("drops what was never assigned and brings back its earlier declaration", () => {
    const next =
      'import { cpus, hostname } from "os";\n' +
      "declare const early = 1, kept: number;\n" +
      "declare function f(): number;\n" +
      "declare class C {\n}\n" +
      "interface Shape {\n    x: number;\n}\n" +
      "type Id = string;\n";
    const out = declarationsAfterFailure(
      tslab.tsApi,
      previous,
      next,
      new Set(["kept", "f", "C", "hostname"]),
    );
    expect(out).toContain("declare const early = 1;");
    expect(out).not.toContain("kept: number");
    expect(out).toContain("declare let kept: string;");
    expect(out).toContain("declare function f(): string;");
    expect(out).not.toContain("f(): number");
    expect(out).not.toContain("class C");
    // Types cost nothing at run time: they stay.
    expect(out).toContain("interface Shape");
    expect(out).toContain("type Id = string;");
    // hostname was not assigned again, but it was before: its import comes back from `previous`.
    expect(out.match(/hostname/g)).toHaveLength(1);
    expect(out).toMatch(/import \{ cpus \} from "os";/);
  });

  it("is the cell's own declarations when everything was assigned", () => {
    expect(
      declarationsAfterFailure(tslab.tsApi, previous, "declare const x = 1;\n", new Set()),
    ).toBe("declare const x = 1;\n");
  });

  it("compiles the next cell against the result", () => {
    const decls = declarationsAfterFailure(
      tslab.tsApi,
      previous,
      "declare const early = 1, kept: number;\n",
      new Set(["kept"]),
    );
    expect(conv.convert(decls, "kept.toUpperCase() + early").diagnostics).toEqual([]);
  });
});

describe("the callee at a call's parentheses", () => {
  const at = (code: string, cursor = code.length) => {
    const o = calleeOffset(tslab.tsApi, code, cursor);
    return o === null ? null : code.slice(0, o + 1);
  };

  it("finds the innermost call whose parentheses hold the cursor", () => {
    expect(at("runTrial(")).toBe("runTrial");
    expect(at("sim.run(")).toBe("sim.run");
    expect(at("new Simulation(")).toBe("new Simulation");
    expect(at("f(1, g(2, ")).toBe("f(1, g");
    expect(at("f(g() ")).toBe("f");
    const code = "f(1, g(2), 3)";
    expect(at(code, code.indexOf("3"))).toBe("f");
    expect(at(code)).toBe("f"); // just after ")"
  });

  it("finds nothing outside parentheses", () => {
    expect(at("runTrial")).toBeNull();
    expect(at("f(1) + 2")).toBeNull();
    expect(at("f(1)", 0)).toBeNull();
  });
});

describe("tslab converter patches", () => {
  it("refuse to apply to a file they do not match", () => {
    expect(() => applyPatches("nothing here", CONVERTER_PATCHES, "converter.js")).toThrow(
      /converter\.js: the patch for "export list of names with two leading underscores" does not match/,
    );
    const twice = CONVERTER_PATCHES[0]!.find.repeat(2);
    expect(() => applyPatches(twice, CONVERTER_PATCHES.slice(0, 1), "c.js")).toThrow(
      /matches more than once/,
    );
  });

  it("export names with two leading underscores under their own name", () => {
    const r = conv.convert("", "const __mine = 1;");
    expect(r.diagnostics).toEqual([]);
    expect(r.output).toContain("exports.__mine = __mine;");
    expect(r.declOutput).toContain("declare const __mine = 1;");
  });

  it("read an earlier cell's name in a shorthand property from exports", () => {
    const r = conv.convert("declare const seed: number;\n", "const o = { seed, x: 1 };");
    expect(r.diagnostics).toEqual([]);
    expect(r.output).toContain("{ seed: exports.seed, x: 1 }");
    // A shorthand naming a name of this cell is left alone.
    const own = conv.convert("", "const local = 1;\nconst p = { local };");
    expect(own.output).toContain("{ local }");
  });
});
