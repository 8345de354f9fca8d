#!/usr/bin/env node
// Runs one notebook headless with parameters, papermill style: a cell tagged
// `injected-parameters` goes right after the cell tagged `parameters`, then the notebook runs top
// to bottom on the mmulab kernel (Debian's nbclient) and the executed notebook is written.
//
//   node scripts/run-notebook.mjs notebooks/01-the-race.ipynb -p trials 10 -o out.ipynb
//
// Options:
//   -p NAME VALUE   a parameter; VALUE is JSON when it parses (10, true, "x", [1,2]), else a string
//   -r NAME VALUE   a parameter taken as a raw string
//   -f FILE.json    parameters from a JSON object
//   -o OUT.ipynb    the executed notebook (default: reports/<name>.ipynb)
//   --html OUT.html also write an HTML report (Debian's nbconvert)
//   --timeout S     per-cell timeout in seconds (default 600)
//
// Exit status: 0 when every cell ran, 1 when a cell failed (the executed notebook is still
// written, with the error in that cell), 2 on a usage error.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describeResult, executeNotebooks, parseParameterValue, ROOT } from "./notebooks.mjs";

const USAGE =
  "usage: node scripts/run-notebook.mjs NOTEBOOK.ipynb [-p NAME VALUE]... [-r NAME VALUE]... " +
  "[-f PARAMS.json] [-o OUT.ipynb] [--html OUT.html] [--timeout SECONDS]\n";

/**
 * @param {string} message
 * @returns {never}
 */
function usage(message) {
  process.stderr.write(`run-notebook: ${message}\n${USAGE}`);
  process.exit(2);
}

/**
 * @param {string[]} argv
 * @returns {{ input: string, output: string, html: string | null, timeout: number,
 *   parameters: Record<string, import("./notebooks.mjs").JsonValue> }}
 */
function parseArgs(argv) {
  /** @type {Record<string, import("./notebooks.mjs").JsonValue>} */
  const parameters = {};
  let input = null;
  let output = null;
  let html = null;
  let timeout = 600;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === "-p" || a === "--parameter" || a === "-r" || a === "--raw") {
      const name = next();
      const value = next();
      parameters[name] = a === "-r" || a === "--raw" ? value : parseParameterValue(value);
    } else if (a === "-f" || a === "--parameters-file") {
      const file = next();
      const parsed = /** @type {unknown} */ (JSON.parse(readFileSync(file, "utf8")));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        usage(`${file} must hold a JSON object`);
      }
      Object.assign(parameters, parsed);
    } else if (a === "-o" || a === "--output") output = next();
    else if (a === "--html") html = next();
    else if (a === "--timeout") {
      timeout = Number(next());
      if (!(timeout > 0)) usage("--timeout needs a positive number of seconds");
    } else if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a !== undefined && a.startsWith("-")) usage(`unknown option ${a}`);
    else if (input === null && a !== undefined) input = a;
    else usage(`unexpected argument ${a}`);
  }
  if (input === null) usage("no notebook given");
  return {
    input,
    output: output ?? join(ROOT, "reports", basename(input)),
    html,
    timeout,
    parameters,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const [result] = await executeNotebooks(
    [{ input: args.input, output: args.output, html: args.html, parameters: args.parameters }],
    { timeoutSeconds: args.timeout },
  );
  if (result === undefined) throw new Error("no result");
  for (const name of result.unknownParameters) {
    process.stderr.write(
      `run-notebook: warning: the parameters cell does not declare "${name}" (injected anyway)\n`,
    );
  }
  process.stdout.write(`${describeResult(result)}\n  → ${result.output}\n`);
  if (result.html !== null) process.stdout.write(`  → ${result.html}\n`);
  process.exitCode = result.failure === null ? 0 : 1;
}

await main();
