import { describe, expect, it } from "vitest";
import { globToRegExp, History, historyQueryOf } from "../../src/notebook-kernel/history.js";

function filled(): History {
  const h = new History();
  h.add(1, "const a = 1;");
  h.add(2, "a + 1", "2");
  h.add(3, "sim.run()", null);
  h.add(4, "a + 1", "2");
  return h;
}

describe("kernel history", () => {
  it("answers tail, with and without output", () => {
    const h = filled();
    expect(h.query({ hist_access_type: "tail", n: 2 })).toEqual([
      [1, 3, "sim.run()"],
      [1, 4, "a + 1"],
    ]);
    expect(h.query({ hist_access_type: "tail", n: 1, output: true })).toEqual([
      [1, 4, ["a + 1", "2"]],
    ]);
  });

  it("answers range in the current session (0 and 1 both name it)", () => {
    const h = filled();
    expect(h.query({ hist_access_type: "range", session: 1, start: 2, stop: 4 })).toEqual([
      [1, 2, "a + 1"],
      [1, 3, "sim.run()"],
    ]);
    expect(h.query({ hist_access_type: "range", session: 0, start: 4 })).toEqual([[1, 4, "a + 1"]]);
    expect(h.query({ hist_access_type: "range", session: 7 })).toEqual([]);
  });

  it("searches with IPython's globs, unique and n", () => {
    const h = filled();
    expect(h.query({ hist_access_type: "search", pattern: "a *" })).toHaveLength(2);
    expect(h.query({ hist_access_type: "search", pattern: "a *", unique: true })).toEqual([
      [1, 4, "a + 1"],
    ]);
    expect(h.query({ hist_access_type: "search", pattern: "*", n: 3 })).toHaveLength(3);
    expect(h.query({ hist_access_type: "search", pattern: "sim.run?)" })).toHaveLength(1);
  });

  it("translates globs", () => {
    expect(globToRegExp("a*b").test("a+xb")).toBe(true);
    expect(globToRegExp("a?b").test("ab")).toBe(false);
    expect(globToRegExp("[!x]y").test("zy")).toBe(true);
    expect(globToRegExp("f(x)").test("f(x)")).toBe(true);
  });

  it("reads a request's content", () => {
    expect(
      historyQueryOf({
        hist_access_type: "search",
        pattern: "x*",
        n: 3,
        unique: true,
        output: false,
      }),
    ).toMatchObject({
      hist_access_type: "search",
      pattern: "x*",
      n: 3,
      unique: true,
      output: false,
    });
    expect(historyQueryOf({ hist_access_type: "bogus" }).hist_access_type).toBe("tail");
  });
});
