/**
 * Cell errors as Jupyter `error` content: `ename`, `evalue` and a `traceback` that points at cell
 * lines.
 *
 * Compile errors come from TypeScript with cell line and column already. Runtime errors come with
 * a V8 stack of the *compiled* JavaScript: tslab emits no source map, so a frame's JavaScript line
 * is matched back to the TypeScript line whose words (identifiers, keywords, literals) contain the
 * JavaScript line's words in order — the compiled line is the source line with types erased, with
 * earlier-cell names prefixed by `exports.` and the last expression assigned to `tsLastExpr`,
 * which are ignored. Ties go to the line nearest the JavaScript line's relative position. Each
 * cell's script carries a `//# sourceURL` naming it, so frames in functions defined by earlier
 * cells map to those cells.
 */
import { inspect } from "node:util";

export interface CellError {
  readonly ename: string;
  readonly evalue: string;
  readonly traceback: readonly string[];
}

/** A TypeScript diagnostic, 1-based. */
export interface CellDiagnostic {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  /** For diagnostics in an imported local file; absent for the cell itself. */
  readonly file?: string;
}

/** A cell as compiled: what the user wrote and the JavaScript that ran. */
export interface CellSource {
  /** "Cell In[5]" */
  readonly label: string;
  readonly ts: string;
  readonly js: string;
}

const CONTEXT = 2;

/** Source lines around `line` (1-based) with an arrow at it, ipykernel style. */
export function contextLines(source: string, line: number, column?: number): string {
  const lines = source.split("\n");
  const from = Math.max(1, line - CONTEXT);
  const to = Math.min(lines.length, line + CONTEXT);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    const mark = n === line ? "---->" : "     ";
    out.push(`${mark} ${String(n).padStart(width)} | ${lines[n - 1] ?? ""}`);
    if (n === line && column !== undefined && column >= 1) {
      out.push(`      ${" ".repeat(width)} | ${" ".repeat(column - 1)}^`);
    }
  }
  return out.join("\n");
}

/** `error` content for diagnostics; `kind` is "SyntaxError" for parse errors, "TSError" else. */
export function compileError(
  kind: "SyntaxError" | "TSError",
  diagnostics: readonly CellDiagnostic[],
  cell: Pick<CellSource, "label" | "ts">,
): CellError {
  const first = diagnostics[0];
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
  const evalue = first === undefined ? "compilation failed" : `${first.message}${more}`;
  const traceback: string[] = [`${kind}: ${evalue}`];
  for (const d of diagnostics) {
    if (d.file === undefined) {
      traceback.push(
        `${cell.label}, line ${d.line}, column ${d.column}\n` +
          `${contextLines(cell.ts, d.line, d.column)}\n${d.message}`,
      );
    } else {
      traceback.push(`${d.file}, line ${d.line}, column ${d.column}\n${d.message}`);
    }
  }
  return { ename: kind, evalue, traceback };
}

// --------------------------------------------------------------------------- runtime errors

export interface StackFrame {
  readonly fn: string | null;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;

/** The frames of a V8 stack string (lines that are not frames are skipped). */
export function parseStack(stack: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const line of stack.split("\n")) {
    if (!/^\s*at /.test(line)) continue;
    const m = FRAME.exec(line);
    if (m === null) continue;
    frames.push({
      fn: m[1] ?? null,
      file: m[2]!,
      line: Number(m[3]),
      column: Number(m[4]),
    });
  }
  return frames;
}

const WORD = /[A-Za-z_$][\w$]*|\d[\w.]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g;

function words(line: string): string[] {
  return line.match(WORD) ?? [];
}

/** Words of a compiled line that carry no source information. */
function jsWords(line: string): string[] {
  return words(line).filter(
    (w) => w !== "exports" && w !== "void" && !/^tsLastExpr\d*$/.test(w) && !/^\w+_\d+$/.test(w),
  );
}

/** Length of the longest common subsequence. */
function lcs(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The TypeScript line (1-based) that compiled JavaScript line `jsLine` (1-based) came from, or
 * null when no line matches well enough.
 */
export function mapJsLineToSource(js: string, jsLine: number, ts: string): number | null {
  const jsLines = js.split("\n");
  const tsLines = ts.split("\n");
  let target: string[] = [];
  // A line of only punctuation (a closing brace) borrows the words of the line above it.
  for (let l = jsLine; l >= 1 && target.length === 0; l--) target = jsWords(jsLines[l - 1] ?? "");
  if (target.length === 0) return null;
  const expected = ((jsLine - 1) / Math.max(jsLines.length - 1, 1)) * (tsLines.length - 1);
  let best: { line: number; score: number; cover: number; dist: number } | null = null;
  tsLines.forEach((text, i) => {
    const w = words(text);
    if (w.length === 0) return;
    const common = lcs(target, w);
    if (common === 0) return;
    const score = common / target.length;
    const cover = common / w.length;
    const dist = Math.abs(i - expected);
    if (
      best === null ||
      score > best.score + 1e-9 ||
      (Math.abs(score - best.score) <= 1e-9 &&
        (cover > best.cover + 1e-9 || (Math.abs(cover - best.cover) <= 1e-9 && dist < best.dist)))
    ) {
      best = { line: i + 1, score, cover, dist };
    }
  });
  const found = best as { line: number; score: number } | null;
  return found !== null && found.score >= 0.6 ? found.line : null;
}

/** Frames from the machinery that runs a cell, not from user or simulator code. */
function isMachinery(file: string): boolean {
  return (
    file.startsWith("node:") ||
    file.includes("/tslab/dist/") ||
    file.includes("/notebook-kernel/") ||
    file === "evalmachine.<anonymous>"
  );
}

function errorName(error: unknown): string {
  if (error instanceof Error) {
    if (typeof error.name === "string" && error.name !== "") return error.name;
    return error.constructor.name;
  }
  return "Error";
}

/**
 * `error` content for a value a cell threw. `cellOf` maps a script name (the `sourceURL`) to the
 * cell it compiled.
 */
export function runtimeError(
  error: unknown,
  cellOf: (scriptName: string) => CellSource | undefined,
): CellError {
  if (!(error instanceof Error)) {
    const evalue = inspect(error, { depth: 2 });
    return {
      ename: "Error",
      evalue: `a non-Error value was thrown: ${evalue}`,
      traceback: [`Error: uncaught ${evalue}`],
    };
  }
  const ename = errorName(error);
  const evalue = error.message;
  const traceback: string[] = [`${ename}: ${evalue}`];
  const frames = parseStack(error.stack ?? "");
  for (const f of frames) {
    const cell = cellOf(f.file);
    if (cell !== undefined) {
      // tslab's wrapper calls the cell's function from a line after the compiled code.
      if (f.line > cell.js.split("\n").length) continue;
      const line = mapJsLineToSource(cell.js, f.line, cell.ts);
      const where = f.fn !== null && f.fn !== "" ? `, in ${f.fn}` : "";
      traceback.push(
        line === null
          ? `${cell.label}${where} (compiled line ${f.line})`
          : `${cell.label}, line ${line}${where}\n${contextLines(cell.ts, line)}`,
      );
      continue;
    }
    if (isMachinery(f.file)) continue;
    traceback.push(
      `    at ${f.fn !== null ? `${f.fn} (${f.file}:${f.line}:${f.column})` : `${f.file}:${f.line}:${f.column}`}`,
    );
  }
  return { ename, evalue, traceback };
}
