/**
 * Layers import only downward (docs/architecture.md): a file in kernel/src/<layer>/ may import its
 * own layer and the layers below it, never one above. The contract, at the bottom, is also shared
 * with the lab extension's browser bundle, so it imports nothing outside itself: no other layer,
 * no package, no Node module.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { specifiers } from "./scan.js";

/** Bottom up. `validate` (the model against a real kernel under qemu) sits beside experiments. */
export const LAYERS = [
  "contract",
  "sim",
  "hw",
  "mm",
  "rcu",
  "sched",
  "gup",
  "arch",
  "config",
  "system",
  "workloads",
  "experiments",
  "validate",
  "explore",
  "views",
  "display",
  "notebook",
  "sweep",
  "notebook-kernel",
  "cli",
  "bench",
] as const;

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
const REPO = resolve(SRC, "../..");

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** The layer of a path under kernel/src (its first directory), or null for a top-level file. */
function layerOf(path: string): string | null {
  const parts = relative(SRC, path).split("/");
  return parts.length > 1 ? parts[0]! : null;
}

const files = tsFiles(SRC);

describe("kernel/src layering", () => {
  it("places every directory of kernel/src in the layer order", () => {
    const dirs = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(dirs.filter((d) => !(LAYERS as readonly string[]).includes(d))).toEqual([]);
  });

  it("has no file that imports a layer above its own", () => {
    const upward: string[] = [];
    for (const file of files) {
      const own = layerOf(file);
      if (own === null) continue; // index.ts: the package entry, above every layer
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
        // a top-level file (index.ts, the package entry) is above every layer
        const to = layerOf(target);
        if (to === own) continue;
        if (to !== null && LAYERS.indexOf(to as never) <= LAYERS.indexOf(own as never)) continue;
        const edge = `${relative(SRC, file)} -> ${relative(SRC, target)}`;
        upward.push(edge);
      }
    }
    expect(upward).toEqual([]);
  });

  it("keeps the contract self-contained, so the renderers' bundle can carry it", () => {
    const outside: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === "contract")) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        const inside =
          spec.startsWith("./") && layerOf(resolve(dirname(file), spec)) === "contract";
        if (!inside) outside.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("gives the lab extension the kernel only through @mmulab/kernel/contract", () => {
    const dir = join(REPO, "lab-extension", "src");
    const wrong: string[] = [];
    for (const file of tsFiles(dir)) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        const intoKernel =
          spec.startsWith("@mmulab/kernel") ||
          (spec.startsWith(".") && !resolve(dirname(file), spec).startsWith(dir));
        if (intoKernel && spec !== "@mmulab/kernel/contract")
          wrong.push(`${relative(REPO, file)} imports ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("sees the imports it is meant to see (the scanner is not blind)", () => {
    const text = [
      'import { a } from "../mm/x.js";',
      'import type {\n  B,\n} from "../notebook/comm.js";',
      'export * from "./y.js";',
      'const m = await import("../cli/cli.js");',
      'new URL("../sweep/worker.js", import.meta.url);',
      'import "./side-effect.js";',
    ].join("\n");
    expect(specifiers(text).sort()).toEqual(
      [
        "../mm/x.js",
        "../notebook/comm.js",
        "./y.js",
        "../cli/cli.js",
        "../sweep/worker.js",
        "./side-effect.js",
      ].sort(),
    );
  });
});
