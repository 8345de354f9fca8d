/**
 * What a cell leaves behind when it fails: the kernel's rule is Python's — every assignment that
 * ran before the exception (or the interrupt) stays, and a name the cell never got to keeps what
 * it had before.
 *
 * tslab carries names from cell to cell in two places: the values in an `exports` object that the
 * compiled cells read and write (`exports.x = x` right after each top-level declaration), and a
 * declaration file (`.d.ts` text, "decls") that the compiler checks the next cell against. It only
 * replaced the decls when a cell succeeded, so a cell that threw lost every declaration it had made
 * although its values were set: `const sys = buildSystem(…); sys.run()` throwing left `sys`
 * unknown to later cells. The executor now keeps the decls itself (executor.ts):
 *
 * - success: the cell's decls, as tslab computed them;
 * - failure at run time: the cell's decls without the names it declared but never assigned, plus
 *   the earlier decls of those names (declarationsAfterFailure);
 * - failure to compile: unchanged.
 *
 * Which names were assigned is read from `exports`: before the cell runs, the executor notes the
 * value of each name the cell exports; afterwards a name counts as assigned when it is new or its
 * value changed. For that to hold, the compiled prologue `exports.a = exports.b = void 0;`, which
 * TypeScript's CommonJS emit puts first and which would wipe the earlier values of every name the
 * cell redeclares, is removed (splitExportPrologue): the names it lists are the cell's exported
 * values, and nothing reads them before their declarations have run.
 */
import type * as TypeScript from "typescript";

type Ts = typeof TypeScript;

const PROLOGUE_LINE = /^exports\.[^\s=]+ = (?:exports\.[^\s=]+ = )*void 0;$/;
const PROLOGUE_NAME = /exports\.([^\s=]+) = /g;

/**
 * The names in the `exports.… = void 0;` prologue of a compiled cell, and the cell without that
 * prologue. TypeScript writes it right after the `__esModule` marker, in statements of at most 50
 * names.
 */
export function splitExportPrologue(js: string): { names: string[]; js: string } {
  const lines = js.split("\n");
  let i = 0;
  if (lines[0]?.startsWith('Object.defineProperty(exports, "__esModule"')) i = 1;
  const start = i;
  const names: string[] = [];
  while (i < lines.length && PROLOGUE_LINE.test(lines[i]!)) {
    for (const m of lines[i]!.matchAll(PROLOGUE_NAME)) names.push(m[1]!);
    i++;
  }
  if (i === start) return { names, js };
  return { names, js: [...lines.slice(0, start), ...lines.slice(i)].join("\n") };
}

/** The value of each name in `exports` before a cell runs. */
export type ExportsSnapshot = ReadonlyMap<
  string,
  { readonly had: boolean; readonly value: unknown }
>;

export function snapshotExports(exportsObject: object, names: readonly string[]): ExportsSnapshot {
  const snap = new Map<string, { had: boolean; value: unknown }>();
  for (const name of names) {
    const had = Object.prototype.hasOwnProperty.call(exportsObject, name);
    snap.set(name, {
      had,
      value: had ? (exportsObject as Record<string, unknown>)[name] : undefined,
    });
  }
  return snap;
}

/** Names of the snapshot the cell did not assign: still absent, or still the same value. */
export function unassignedNames(exportsObject: object, before: ExportsSnapshot): Set<string> {
  const out = new Set<string>();
  for (const [name, was] of before) {
    const has = Object.prototype.hasOwnProperty.call(exportsObject, name);
    const now = has ? (exportsObject as Record<string, unknown>)[name] : undefined;
    if (was.had ? Object.is(now, was.value) : !has) out.add(name);
  }
  return out;
}

/** Declares a value (as opposed to a type only)? Classes and enums are both. */
type Pick = (name: string, value: boolean) => boolean;

/** The statements of a declaration file that `pick` keeps, declarator by declarator. */
function select(ts: Ts, sf: TypeScript.SourceFile, pick: Pick): TypeScript.Statement[] {
  const f = ts.factory;
  const out: TypeScript.Statement[] = [];
  for (const s of sf.statements) {
    if (ts.isVariableStatement(s)) {
      const kept = s.declarationList.declarations.filter(
        (d) => !ts.isIdentifier(d.name) || pick(ts.idText(d.name), true),
      );
      if (kept.length === s.declarationList.declarations.length) out.push(s);
      else if (kept.length > 0) {
        out.push(
          f.updateVariableStatement(
            s,
            s.modifiers,
            f.updateVariableDeclarationList(s.declarationList, kept),
          ),
        );
      }
    } else if (
      ts.isFunctionDeclaration(s) ||
      ts.isClassDeclaration(s) ||
      ts.isEnumDeclaration(s) ||
      ts.isImportEqualsDeclaration(s) ||
      (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name))
    ) {
      const name = s.name !== undefined && ts.isIdentifier(s.name) ? ts.idText(s.name) : null;
      if (name === null || pick(name, true)) out.push(s);
    } else if (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) {
      if (pick(ts.idText(s.name), false)) out.push(s);
    } else if (ts.isImportDeclaration(s)) {
      const kept = selectImport(ts, s, pick);
      if (kept !== null) out.push(kept);
    } else if (pick("", false)) {
      out.push(s);
    }
  }
  return out;
}

function selectImport(
  ts: Ts,
  s: TypeScript.ImportDeclaration,
  pick: Pick,
): TypeScript.ImportDeclaration | null {
  const clause = s.importClause;
  if (clause === undefined) return pick("", false) ? s : null;
  const value = !clause.isTypeOnly;
  const name =
    clause.name !== undefined && pick(ts.idText(clause.name), value) ? clause.name : undefined;
  let bindings = clause.namedBindings;
  if (bindings !== undefined) {
    if (ts.isNamespaceImport(bindings)) {
      if (!pick(ts.idText(bindings.name), value)) bindings = undefined;
    } else {
      const elements = bindings.elements.filter((e) =>
        pick(ts.idText(e.name), value && !e.isTypeOnly),
      );
      bindings =
        elements.length === 0
          ? undefined
          : elements.length === bindings.elements.length
            ? bindings
            : ts.factory.updateNamedImports(bindings, elements);
    }
  }
  if (name === clause.name && bindings === clause.namedBindings) return s;
  if (name === undefined && bindings === undefined) return null;
  return ts.factory.updateImportDeclaration(
    s,
    s.modifiers,
    ts.factory.updateImportClause(clause, clause.isTypeOnly, name, bindings),
    s.moduleSpecifier,
    s.assertClause,
  );
}

function print(ts: Ts, sf: TypeScript.SourceFile, statements: readonly TypeScript.Statement[]) {
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  return statements.map((s) => printer.printNode(ts.EmitHint.Unspecified, s, sf) + "\n").join("");
}

function parse(ts: Ts, text: string): TypeScript.SourceFile {
  return ts.createSourceFile("decls.d.ts", text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/**
 * The decls after a cell that failed at run time: `next` (the decls had it succeeded) without the
 * values named in `unassigned`, followed by `previous`'s declarations of those names.
 */
export function declarationsAfterFailure(
  ts: Ts,
  previous: string,
  next: string,
  unassigned: ReadonlySet<string>,
): string {
  if (unassigned.size === 0) return next;
  const nextFile = parse(ts, next);
  const prevFile = parse(ts, previous);
  const kept = select(ts, nextFile, (name, value) => !(value && unassigned.has(name)));
  const restored = select(ts, prevFile, (name, value) => value && unassigned.has(name));
  return print(ts, nextFile, kept) + print(ts, prevFile, restored);
}
