/**
 * Makes `import { … } from "mmulab"` work in every notebook, wherever it lives, with types.
 *
 * Two resolvers see a cell's imports:
 * - tslab's compiler (TypeScript, Node10 resolution from the notebook's directory), which gives
 *   the types that completion and inspect use;
 * - Node's `require` at run time (tslab compiles cells to CommonJS).
 *
 * For the compiler, `<cwd>/node_modules/mmulab` is made to exist as an alias of this package's
 * root (whose package.json points `types` at dist/index.d.ts). The alias is installed on the
 * compiler's `sys` object, through which tslab's compiler host does every file-system call.
 * For Node, `require("mmulab")` and `require("mmulab/<subpath>")` resolve to this package.
 *
 * The same hook keeps the compiler's automatic type inclusion to `@types/node`: TypeScript would
 * otherwise load every package under each `node_modules/@types` it finds above the notebook (a
 * JupyterLab checkout has dozens), which slows the kernel's start and leaks unrelated globals.
 * Other `@types` packages are still found when a cell imports their module. When tslab's own
 * fallback type root is empty (a hoisted install), it is aliased to the `@types` directory that
 * holds `@types/node`.
 */
import { existsSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { TsSys } from "./tslab.js";

/** The name cells import the simulator by. */
export const MODULE_NAME = "mmulab";

/** The @mmulab/kernel package root (two levels above src/notebook-kernel or dist/notebook-kernel). */
export const KERNEL_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export interface PathAlias {
  /** Absolute path that does not exist on disk (or should be shadowed). */
  readonly from: string;
  /** Absolute path it stands for. */
  readonly to: string;
}

/** Maps `path` through the first alias whose `from` is it or a parent of it. */
export function aliasPath(path: string, aliases: readonly PathAlias[]): string {
  for (const a of aliases) {
    if (path === a.from) return a.to;
    if (path.startsWith(a.from + "/") || path.startsWith(a.from + sep)) {
      return a.to + path.slice(a.from.length);
    }
  }
  return path;
}

function isTypesDir(path: string): boolean {
  return /[\\/]node_modules[\\/]@types[\\/]?$/.test(path);
}

/**
 * Patches the compiler's `sys` in place: aliased paths, and `@types` directories listing only
 * `allowedTypes`. Idempotent per `sys` object (a second call replaces the aliases).
 */
export function installCompilerAliases(
  sys: TsSys,
  aliases: readonly PathAlias[],
  allowedTypes: readonly string[] = ["node"],
): void {
  const marker = Symbol.for("mmulab.compilerAliases");
  const holder = sys as TsSys & { [marker]?: { aliases: readonly PathAlias[] } };
  const existing = holder[marker];
  if (existing !== undefined) {
    existing.aliases = aliases;
    return;
  }
  const state = { aliases };
  holder[marker] = state;
  const map = (p: string) => aliasPath(p, state.aliases);
  const orig = {
    fileExists: sys.fileExists.bind(sys),
    directoryExists: sys.directoryExists.bind(sys),
    readFile: sys.readFile.bind(sys),
    getDirectories: sys.getDirectories.bind(sys),
    readDirectory: sys.readDirectory.bind(sys),
    realpath: sys.realpath?.bind(sys),
    getModifiedTime: sys.getModifiedTime?.bind(sys),
  };
  const allowed = new Set(allowedTypes);
  sys.fileExists = (p) => orig.fileExists(map(p));
  sys.directoryExists = (p) => orig.directoryExists(map(p));
  sys.readFile = (p, encoding) => orig.readFile(map(p), encoding);
  sys.getDirectories = (p) => {
    const dirs = orig.getDirectories(map(p));
    return isTypesDir(p) ? dirs.filter((d) => allowed.has(d)) : dirs;
  };
  sys.readDirectory = (p, extensions, exclude, include, depth) =>
    orig.readDirectory(map(p), extensions, exclude, include, depth);
  if (orig.realpath !== undefined) {
    const realpath = orig.realpath;
    sys.realpath = (p) => realpath(map(p));
  }
  if (orig.getModifiedTime !== undefined) {
    const mtime = orig.getModifiedTime;
    sys.getModifiedTime = (p) => mtime(map(p));
  }
}

/**
 * The aliases a kernel running in `cwd` needs: `mmulab` in the notebook's node_modules, and
 * tslab's fallback type root when it is empty.
 */
export function notebookAliases(cwd: string, tslabDir: string): PathAlias[] {
  const aliases: PathAlias[] = [{ from: join(cwd, "node_modules", MODULE_NAME), to: KERNEL_ROOT }];
  const fallbackTypes = join(tslabDir, "node_modules", "@types");
  if (!existsSync(join(fallbackTypes, "node"))) {
    try {
      const nodeTypes = dirname(
        createRequire(join(tslabDir, "package.json")).resolve("@types/node/package.json"),
      );
      aliases.push({ from: fallbackTypes, to: dirname(nodeTypes) });
    } catch {
      // No @types/node anywhere: cells then lack Node's types, as in plain tslab.
    }
  }
  return aliases;
}

type ResolveFilename = (
  request: string,
  parent: unknown,
  isMain: boolean,
  options?: unknown,
) => string;

/** Makes `require("mmulab")` (and `mmulab/<subpath>`) resolve to this package, from anywhere. */
export function installRuntimeAlias(): void {
  const M = Module as unknown as { _resolveFilename: ResolveFilename & { mmulab?: true } };
  if (M._resolveFilename.mmulab === true) return;
  const orig = M._resolveFilename;
  const self = createRequire(join(KERNEL_ROOT, "package.json"));
  const patched: ResolveFilename & { mmulab?: true } = function (this: unknown, request, ...rest) {
    if (request === MODULE_NAME) return join(KERNEL_ROOT, "dist", "index.js");
    if (request.startsWith(`${MODULE_NAME}/`)) {
      return self.resolve(`@mmulab/kernel/${request.slice(MODULE_NAME.length + 1)}`);
    }
    return orig.call(this, request, ...rest);
  };
  patched.mmulab = true;
  M._resolveFilename = patched;
}
