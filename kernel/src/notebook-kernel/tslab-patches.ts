/**
 * Two fixes to tslab 1.0.22's converter (dist/converter.js), applied when the kernel loads it.
 *
 * Both bugs sit inside `createConverter`'s closure, where no wrapper can reach: the converter
 * builds the cell's `export { … }` list and rewrites references to earlier cells' names while it
 * emits. So the kernel reads the pinned file, replaces the lines below (each must occur exactly
 * once, or loading fails and names the patch: an upgrade of tslab cannot slip past them), and
 * compiles the result in place of the original module. No tslab file is copied into this
 * repository; tslab is Apache-2.0, Copyright 2019 Yu Watanabe, and the replaced lines are quoted
 * from it.
 *
 * 1. **Names that start with two underscores** (`__get_user_pages_fast`). TypeScript stores such
 *    an identifier's text with a third underscore prepended (`escapedText`), and tslab joined
 *    those escaped keys into the `export { … }` list it appends to the cell, so the cell failed
 *    with "Cannot find name '___get_user_pages_fast'". The keys are unescaped first.
 * 2. **Shorthand properties of earlier cells' names** (`{ seed }`). tslab rewrites an identifier
 *    that refers to an earlier cell's declaration into `exports.seed`, finding it with
 *    `getSymbolAtLocation`; for the name of a shorthand property that returns the property, not
 *    the variable, so `{ seed }` stayed and threw ReferenceError at run time. A shorthand whose
 *    value is an earlier cell's name is rewritten to `seed: exports.seed` (in a destructuring
 *    assignment with a default, `seed: exports.seed = default`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { compileFunction } from "node:vm";

export interface SourcePatch {
  /** What it fixes, for the error raised when it no longer applies. */
  readonly why: string;
  readonly find: string;
  readonly replace: string;
}

export const CONVERTER_PATCHES: readonly SourcePatch[] = [
  {
    why: "export list of names with two leading underscores",
    find: "                keys.add(key);\n",
    replace: "                keys.add(ts.unescapeLeadingUnderscores(key));\n",
  },
  {
    why: "class or enum overwritten by a value, with two leading underscores",
    find: "            anyVarsDecls.push(`let ${name}: any;\\n`);\n",
    replace:
      "            anyVarsDecls.push(`let ${ts.unescapeLeadingUnderscores(name)}: any;\\n`);\n",
  },
  {
    why: "shorthand property naming an earlier cell's declaration",
    find:
      "            if (!ts.isIdentifier(node)) {\n" +
      "                return ts.visitEachChild(node, wrapPrevIdentifier, nullTransformationContext);\n" +
      "            }\n",
    replace:
      "            if (ts.isShorthandPropertyAssignment(node)) {\n" +
      "                const value = checker.getShorthandAssignmentValueSymbol(node);\n" +
      "                if (value && (value.declarations || []).some((d) => d.getSourceFile() === declsFile)) {\n" +
      "                    const name = ts.idText(node.name);\n" +
      '                    const ref = ts.factory.createPropertyAccessExpression(ts.factory.createIdentifier("exports"), ts.factory.createIdentifier(name));\n' +
      "                    const init = node.objectAssignmentInitializer\n" +
      "                        ? ts.factory.createAssignment(ref, ts.visitNode(node.objectAssignmentInitializer, wrapPrevIdentifier))\n" +
      "                        : ref;\n" +
      "                    return ts.factory.createPropertyAssignment(ts.factory.createIdentifier(name), init);\n" +
      "                }\n" +
      "            }\n" +
      "            if (!ts.isIdentifier(node)) {\n" +
      "                return ts.visitEachChild(node, wrapPrevIdentifier, nullTransformationContext);\n" +
      "            }\n",
  },
];

/** `source` with every patch applied; throws when a patch does not match exactly once. */
export function applyPatches(
  source: string,
  patches: readonly SourcePatch[],
  file: string,
): string {
  let out = source;
  for (const p of patches) {
    const at = out.indexOf(p.find);
    if (at < 0 || out.indexOf(p.find, at + 1) >= 0) {
      throw new Error(
        `${file}: the patch for "${p.why}" ${at < 0 ? "does not match" : "matches more than once"} ` +
          "(tslab is not the pinned version?)",
      );
    }
    out = out.slice(0, at) + p.replace + out.slice(at + p.find.length);
  }
  return out;
}

/** Loads the CommonJS module `file` with `patches` applied, resolving its requires from its own
 * directory; returns its exports. */
export function loadPatchedModule(file: string, patches: readonly SourcePatch[]): unknown {
  const source = applyPatches(readFileSync(file, "utf8"), patches, file);
  const fn = compileFunction(source, ["exports", "require", "module", "__filename", "__dirname"], {
    filename: file,
  }) as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} as unknown };
  fn(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}
