import { describe, expect, it } from "vitest";
import {
  compileError,
  contextLines,
  mapJsLineToSource,
  parseStack,
  runtimeError,
} from "../../src/notebook-kernel/errors.js";

// A cell and what tslab 1.0.22 compiles it to (taken from its converter's output).
const TS = `interface Foo {
  a: number;
}

const x: number = 1;
type T = string;

function f(a: Foo): number {
  // comment
  if (a.a > 0) {
    throw new Error("boom");
  }
  return a.a;
}
const y = f({ a: x });
y + 1`;

const JS = `Object.defineProperty(exports, "__esModule", { value: true });
exports.y = exports.x = exports.f = exports.tsLastExpr = void 0;
const x = 1;
exports.x = x;
function f(a) {
    // comment
    if (a.a > 0) {
        throw new Error("boom");
    }
    return a.a;
}
exports.f = f;
const y = f({ a: x });
exports.y = y;
exports.tsLastExpr = y + 1;
`;

describe("mapping compiled lines to cell lines", () => {
  it("finds the source line of each statement", () => {
    expect(mapJsLineToSource(JS, 8, TS)).toBe(11); // throw
    expect(mapJsLineToSource(JS, 13, TS)).toBe(15); // const y = f(...)
    expect(mapJsLineToSource(JS, 3, TS)).toBe(5); // const x
    expect(mapJsLineToSource(JS, 15, TS)).toBe(16); // the last expression
    expect(mapJsLineToSource(JS, 10, TS)).toBe(13); // return
  });

  it("gives up rather than guess on lines with no words in common", () => {
    expect(mapJsLineToSource("zzz();", 1, "const a = 1;")).toBeNull();
  });
});

describe("error content", () => {
  it("parses V8 stack frames", () => {
    const frames = parseStack(
      "Error: x\n    at f (mmulab-cell-3:8:15)\n    at mmulab-cell-3:13:11\n    at Simulation.run (/k/dist/sim/simulation.js:140:7)\n    at node:internal/x:1:1",
    );
    expect(frames).toEqual([
      { fn: "f", file: "mmulab-cell-3", line: 8, column: 15 },
      { fn: null, file: "mmulab-cell-3", line: 13, column: 11 },
      { fn: "Simulation.run", file: "/k/dist/sim/simulation.js", line: 140, column: 7 },
      { fn: null, file: "node:internal/x", line: 1, column: 1 },
    ]);
  });

  it("turns a thrown error into ename, evalue and a traceback at cell lines", () => {
    const e = new RangeError("boom");
    e.stack =
      "RangeError: boom\n    at f (mmulab-cell-3:8:15)\n    at mmulab-cell-3:13:11\n" +
      "    at Simulation.run (/k/dist/sim/simulation.js:140:7)\n    at mmulab-cell-3:18:3\n" +
      "    at Script.runInThisContext (node:vm:137:12)\n    at execute (/x/tslab/dist/executor.js:160:30)";
    const cells = { "mmulab-cell-3": { label: "Cell In[3]", ts: TS, js: JS } };
    const r = runtimeError(e, (s) => cells[s as keyof typeof cells]);
    expect(r.ename).toBe("RangeError");
    expect(r.evalue).toBe("boom");
    expect(r.traceback[0]).toBe("RangeError: boom");
    expect(r.traceback[1]).toMatch(/^Cell In\[3\], line 11, in f\n/);
    expect(r.traceback[1]).toContain('----> 11 |     throw new Error("boom");');
    expect(r.traceback[2]).toMatch(/^Cell In\[3\], line 15\n/);
    expect(r.traceback[3]).toBe("    at Simulation.run (/k/dist/sim/simulation.js:140:7)");
    // The wrapper frame (line 18 > compiled length) and machinery frames are dropped.
    expect(r.traceback).toHaveLength(4);
  });

  it("handles values that are not errors", () => {
    const r = runtimeError("plain string", () => undefined);
    expect(r.ename).toBe("Error");
    expect(r.evalue).toContain("'plain string'");
  });

  it("formats diagnostics with a caret", () => {
    const r = compileError(
      "TSError",
      [{ line: 2, column: 7, message: "Type 'string' is not assignable to type 'number'." }],
      { label: "Cell In[4]", ts: 'const a = 1;\nconst x: number = "a";' },
    );
    expect(r.ename).toBe("TSError");
    expect(r.evalue).toBe("Type 'string' is not assignable to type 'number'.");
    expect(r.traceback[1]).toContain("----> 2 | const x: number");
    expect(r.traceback[1]).toContain("      |       ^");
  });

  it("shows context lines around a line", () => {
    expect(contextLines("a\nb\nc\nd\ne\nf", 4)).toBe(
      "      2 | b\n      3 | c\n----> 4 | d\n      5 | e\n      6 | f",
    );
  });
});
