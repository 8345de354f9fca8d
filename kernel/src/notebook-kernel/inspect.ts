/**
 * Where to inspect when the cursor is inside a call's parentheses, as IPython does for Shift+Tab:
 * a name right at the cursor wins (its own quick info), otherwise the innermost call or `new`
 * whose argument list holds the cursor — just after its `(`, among its arguments, or just after
 * its `)` — is inspected at its callee's name, which gives the function's signature and doc.
 */
import type * as TypeScript from "typescript";

type Ts = typeof TypeScript;

/** The callee's name node of a call (the `run` of `sim.run(…)`), or the callee itself. */
function calleeName(ts: Ts, callee: TypeScript.Expression): TypeScript.Node {
  if (ts.isPropertyAccessExpression(callee)) return callee.name;
  return callee;
}

/**
 * UTF-16 offset inside the callee's name of the innermost call whose parentheses hold `offset`
 * (the argument list from just after `(` to just after `)`), or null.
 */
export function calleeOffset(ts: Ts, code: string, offset: number): number | null {
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  // A call still being typed has no ")" and ends with its last argument, before the blanks the
  // cursor may be after.
  let typed = offset;
  while (typed > 0 && /\s/.test(code[typed - 1]!)) typed--;
  let found: TypeScript.CallExpression | TypeScript.NewExpression | null = null;
  const visit = (node: TypeScript.Node): void => {
    if (typed < node.pos || typed > node.end) return;
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments !== undefined) {
      // The argument list starts right after "(", and a call ends right after ")".
      const last = node.arguments[node.arguments.length - 1];
      const closed = code[node.end - 1] === ")" && (last === undefined || last.end < node.end);
      if (offset >= node.arguments.pos && (closed ? offset : typed) <= node.end) found = node;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const call = found as TypeScript.CallExpression | TypeScript.NewExpression | null;
  if (call === null) return null;
  const name = calleeName(ts, call.expression);
  const start = name.getStart(sf);
  return name.end > start ? name.end - 1 : null;
}
