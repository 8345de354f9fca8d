/**
 * The package's entry points by audience (kernel/src/index.ts's header): `mmulab` is the simulator
 * library and its views, and must load none of the packages that only sweeps, the distributed
 * queue or the notebook kernel need. The walk follows every relative import, re-export, dynamic
 * import and worker URL from the entry file, and collects the packages the reached files name.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { specifiers } from "./scan.js";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
const HEAVY = ["bullmq", "ioredis", "piscina", "tslab", "zeromq"];

interface Graph {
  readonly files: Set<string>;
  /** package name → the first file (relative to src) that imports it */
  readonly packages: Map<string, string>;
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function importGraph(entry: string): Graph {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const todo = [resolve(SRC, entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
        if (statSync(target, { throwIfNoEntry: false })?.isFile() === true) todo.push(target);
      } else if (!spec.startsWith("node:")) {
        const name = packageName(spec);
        if (!packages.has(name)) packages.set(name, relative(SRC, file));
      }
    }
  }
  return { files, packages };
}

function heavyIn(g: Graph): string[] {
  return HEAVY.filter((p) => g.packages.has(p)).map((p) => `${p} (via ${g.packages.get(p)})`);
}

describe("entry points by audience", () => {
  it("keeps bullmq, zeromq, tslab and piscina out of the `mmulab` entry's import graph", () => {
    const g = importGraph("index.ts");
    expect(g.files.size).toBeGreaterThan(50); // the walk reached the library
    expect(heavyIn(g)).toEqual([]);
  });

  it("gives `mmulab/notebook` worker threads but no Redis client or kernel process", () => {
    const g = importGraph("notebook-entry.ts");
    expect(g.packages.has("piscina")).toBe(true); // the walk sees packages at all
    expect(heavyIn(g).filter((p) => !p.startsWith("piscina"))).toEqual([]);
  });

  it("gives `mmulab/distributed` BullMQ and nothing of the notebook kernel", () => {
    const g = importGraph("distributed-entry.ts");
    expect(g.packages.has("bullmq")).toBe(true);
    expect(g.packages.has("tslab")).toBe(false);
    expect(g.packages.has("zeromq")).toBe(false);
  });

  it("maps each subpath entry for both resolvers: package exports and typesVersions", () => {
    const pkg = JSON.parse(readFileSync(resolve(SRC, "../package.json"), "utf8")) as {
      exports: Record<string, { types: string; default: string }>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    for (const sub of ["contract", "notebook", "distributed"]) {
      const e = pkg.exports[`./${sub}`];
      expect(e, sub).toBeDefined();
      expect(pkg.typesVersions["*"]![sub]).toEqual([e!.types]);
      // the source of each built entry exists
      const src = resolve(
        SRC,
        "..",
        e!.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"),
      );
      expect(statSync(src, { throwIfNoEntry: false })?.isFile(), src).toBe(true);
    }
  });
});
