/**
 * The pieces behind the kernel's cell semantics, on tslab's own compiler (loaded as the kernel
 * loads it, patches included): the converter patches.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { applyPatches, CONVERTER_PATCHES } from "../../src/notebook-kernel/tslab-patches.js";
import { loadTslab, type Tslab, type TslabConverter } from "../../src/notebook-kernel/tslab.js";

let tslab: Tslab;
let conv: TslabConverter;

beforeAll(() => {
  tslab = loadTslab();
  conv = tslab.createConverter({ isJS: false, isBrowser: false });
  return () => conv.close();
}, 60_000);

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
