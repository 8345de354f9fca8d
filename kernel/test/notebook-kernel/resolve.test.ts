import { describe, expect, it } from "vitest";
import { aliasPath, installCompilerAliases } from "../../src/notebook-kernel/resolve.js";
import type { TsSys } from "../../src/notebook-kernel/tslab.js";

describe("compiler path aliases", () => {
  it("maps a path and everything under it", () => {
    const aliases = [{ from: "/nb/node_modules/mmulab", to: "/repo/kernel" }];
    expect(aliasPath("/nb/node_modules/mmulab", aliases)).toBe("/repo/kernel");
    expect(aliasPath("/nb/node_modules/mmulab/dist/index.d.ts", aliases)).toBe(
      "/repo/kernel/dist/index.d.ts",
    );
    expect(aliasPath("/nb/node_modules/mmulab-other/x", aliases)).toBe(
      "/nb/node_modules/mmulab-other/x",
    );
  });

  it("patches a compiler sys: aliased reads, and @types listing only node", () => {
    const files: Record<string, string> = {
      "/repo/kernel/package.json": '{"types":"dist/index.d.ts"}',
    };
    const sys: TsSys = {
      fileExists: (p) => p in files,
      directoryExists: (p) => p === "/repo/kernel",
      readFile: (p) => files[p],
      getDirectories: (p) => (p.endsWith("@types") ? ["node", "react", "d3"] : ["a"]),
      readDirectory: () => [],
      realpath: (p) => p,
    };
    installCompilerAliases(sys, [{ from: "/nb/node_modules/mmulab", to: "/repo/kernel" }]);
    expect(sys.fileExists("/nb/node_modules/mmulab/package.json")).toBe(true);
    expect(sys.readFile("/nb/node_modules/mmulab/package.json")).toContain("types");
    expect(sys.directoryExists("/nb/node_modules/mmulab")).toBe(true);
    expect(sys.realpath?.("/nb/node_modules/mmulab/package.json")).toBe(
      "/repo/kernel/package.json",
    );
    expect(sys.getDirectories("/x/node_modules/@types")).toEqual(["node"]);
    expect(sys.getDirectories("/x/src")).toEqual(["a"]);
  });
});
