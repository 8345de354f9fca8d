/**
 * The parts of tslab (pinned, 1.0.22) this kernel reuses, loaded from the installed package and
 * typed here. We keep tslab's TypeScript compiler (a TS 5.0.4 fork driven as a watch program that
 * carries declarations from cell to cell) and its executor (which runs the compiled cell with
 * `vm.runInThisContext(..., { breakOnSigint: true })`, top-level await included); the protocol
 * layer around them is ours (front.ts, executor.ts).
 *
 * Only what we call is declared, so a tslab upgrade that changes these shapes fails in one place.
 * The converter is loaded with two fixes applied (tslab-patches.ts).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as TypeScript from "typescript";
import { CONVERTER_PATCHES, loadPatchedModule } from "./tslab-patches.js";

const require = createRequire(import.meta.url);

export interface TslabDiagnostic {
  readonly start: { readonly offset: number; readonly line: number; readonly character: number };
  readonly messageText: string;
  readonly code: number;
  readonly fileName?: string;
}

export interface TslabConvertResult {
  readonly output?: string;
  readonly declOutput?: string;
  readonly diagnostics: readonly TslabDiagnostic[];
  readonly lastExpressionVar?: string;
  readonly hasToplevelAwait?: boolean;
}

export interface TslabCompletionInfo {
  readonly start: number;
  readonly end: number;
  readonly candidates: readonly string[];
}

export interface TslabConverter {
  convert(prevDecl: string, src: string): TslabConvertResult;
  inspect(prevDecl: string, src: string, position: number): unknown;
  complete(prevDecl: string, src: string, position: number): TslabCompletionInfo;
  addModule(name: string, content: string, meta?: unknown): readonly TslabDiagnostic[];
  close(): void;
}

export interface TslabConverterSet {
  readonly node: TslabConverter;
  readonly browser: TslabConverter;
  close(): void;
}

/** What tslab's executor writes to: diagnostics and thrown values to `error`, the last
 * expression's value to `log`. User code's own `console` is the process's, not this one. */
export interface TslabConsole {
  log(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  inspect(src: string, position: number): unknown;
  complete(src: string, position: number): TslabCompletionInfo;
  reset(): void;
  interrupt(): void;
  close(): void;
}

export interface TsSys {
  fileExists(path: string): boolean;
  directoryExists(path: string): boolean;
  readFile(path: string, encoding?: string): string | undefined;
  getDirectories(path: string): string[];
  readDirectory(
    path: string,
    extensions?: readonly string[],
    exclude?: readonly string[],
    include?: readonly string[],
    depth?: number,
  ): string[];
  realpath?(path: string): string;
  getModifiedTime?(path: string): Date | undefined;
}

export interface TsSourceFile {
  readonly parseDiagnostics?: readonly unknown[];
}

/** The subset of the bundled TypeScript we use directly. */
export interface TsModule {
  readonly version: string;
  readonly sys: TsSys;
  readonly ScriptTarget: { readonly Latest: number };
  readonly ScriptKind: { readonly TS: number };
  createSourceFile(
    fileName: string,
    text: string,
    target: number,
    setParentNodes?: boolean,
    kind?: number,
  ): TsSourceFile;
}

/** The bundled TypeScript (5.0.4) typed with the workspace's TypeScript declarations, for the
 * syntax-tree work of declarations.ts and inspect.ts: use only APIs that 5.0 already has. */
export type TypeScriptApi = typeof TypeScript;

export interface TslabDisplayData {
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly transient: { readonly display_id?: string };
}

export interface Tslab {
  readonly dir: string;
  readonly ts: TsModule;
  /** The same object as `ts`, fully typed. */
  readonly tsApi: TypeScriptApi;
  createConverter(options?: { isJS?: boolean; isBrowser?: boolean }): TslabConverter;
  isCompleteCode(src: string): { completed: boolean; indent?: string };
  createExecutor(rootDir: string, convs: TslabConverterSet, console: TslabConsole): TslabExecutor;
  printQuickInfo(info: unknown): string;
  /** tslab's `display` API (`import * as tslab from "tslab"`) writes through this hook. */
  setDisplayHook(hook: ((data: TslabDisplayData, update: boolean) => void) | null): void;
}

/** Directory of the installed tslab package. */
export function tslabDir(): string {
  return dirname(require.resolve("tslab/package.json"));
}

function versionOf(packageJson: string): string {
  const pkg = JSON.parse(readFileSync(packageJson, "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

/** tslab's and its TypeScript's versions, read from their package.json files (cheap: loads
 * neither). */
export function tslabVersions(): { tslab: string; typescript: string } {
  const dir = tslabDir();
  const tsRequire = createRequire(join(dir, "package.json"));
  return {
    tslab: versionOf(join(dir, "package.json")),
    typescript: versionOf(tsRequire.resolve("@tslab/typescript-for-tslab/package.json")),
  };
}

/** Loads tslab's modules (the TypeScript compiler with them: about half a second). */
export function loadTslab(): Tslab {
  const dir = tslabDir();
  const req = createRequire(join(dir, "package.json"));
  const converter = loadPatchedModule(req.resolve("./dist/converter.js"), CONVERTER_PATCHES) as {
    createConverter: Tslab["createConverter"];
    isCompleteCode: Tslab["isCompleteCode"];
  };
  const executor = req("./dist/executor.js") as { createExecutor: Tslab["createExecutor"] };
  const inspect = req("./dist/inspect.js") as { printQuickInfo: Tslab["printQuickInfo"] };
  const jupyter = req("./dist/jupyter.js") as {
    lastWriteDisplayData: ((data: TslabDisplayData, update: boolean) => void) | null;
  };
  const ts = req("@tslab/typescript-for-tslab") as TsModule;
  return {
    dir,
    ts,
    tsApi: ts as unknown as TypeScriptApi,
    createConverter: converter.createConverter,
    isCompleteCode: converter.isCompleteCode,
    createExecutor: executor.createExecutor,
    printQuickInfo: inspect.printQuickInfo,
    setDisplayHook: (hook) => {
      jupyter.lastWriteDisplayData = hook;
    },
  };
}
