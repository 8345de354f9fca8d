#!/usr/bin/env node
// Output regression check for executed notebooks, in the spirit of nbval: selected outputs of
// the notebooks in notebooks/, executed with their default parameters, are compared with the
// expectations committed in test/notebooks/expected/<notebook>.json.
//
//   node scripts/check-outputs.mjs [--dir reports] [--update]
//
// A cell is selected by a tag (cells tagged `check-…`; every such cell must have an
// expectation). Its text is the concatenation of its outputs: stream text, `text/plain` of
// display data and results, and "ERROR ename: evalue" for errors. Before comparison the text is
// sanitised: wall-clock timings and dates are masked (DEFAULT_SANITISERS plus the file's own
// `sanitise` pairs) and, for `text` snapshots, every decimal number is rounded to `digits`
// significant digits (default 6) so that floating-point noise does not count.
//
// Expectation file:
//   { "notebook": "03-kernel-versions.ipynb", "digits": 6, "sanitise": [["regex", "with"]],
//     "cells": { "check-matrix": {
//        "text": "the whole sanitised text (a snapshot)",
//        "contains": ["literal", …], "absent": ["literal", …], "matches": ["regex", …],
//        "numbers": [{ "label": "…", "pattern": "regex with one capture group",
//                      "value": 5, "tolerance": 0.1, "relative": true,   // |x − value| ≤ tol (× value)
//                      "min": 0, "max": 10 }] } } }                     // and/or bounds
//
// --update rewrites the `text` snapshots from the executed notebooks (review the diff!); the
// other checks are written by hand and never updated.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { cellTags, joinText, readNotebook, ROOT } from "./notebooks.mjs";

export const EXPECTED_DIR = join(ROOT, "test", "notebooks", "expected");
export const CHECK_TAG_PREFIX = "check-";

/** @type {readonly (readonly [string, string])[]} regex source → replacement */
export const DEFAULT_SANITISERS = [
  // wall-clock durations printed by the notebooks: "(wall 1.2 s)"
  [String.raw`\(wall [\d.]+ ?m?s\)`, "(wall <t>)"],
  // progress bars: "100% (3 / 3) 0.001 s"
  [String.raw`(\d+% \([^)]*\)) [\d.]+ s\b`, "$1 <t> s"],
  // ISO dates and times
  [String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?`, "<date>"],
];

/**
 * @typedef {{ label?: string, pattern: string, value?: number, tolerance?: number,
 *   relative?: boolean, min?: number, max?: number }} NumberCheck
 * @typedef {{ text?: string, contains?: string[], absent?: string[], matches?: string[],
 *   numbers?: NumberCheck[] }} CellExpectation
 * @typedef {{ notebook: string, description?: string, digits?: number,
 *   sanitise?: [string, string][], cells: Record<string, CellExpectation> }} Expectations
 */

/**
 * The text of a cell's outputs.
 * @param {import("./notebooks.mjs").Cell} cell
 */
export function cellText(cell) {
  const parts = [];
  for (const o of cell.outputs ?? []) {
    if (o.output_type === "stream") parts.push(joinText(o.text).replace(/\n$/, ""));
    else if (o.output_type === "error") parts.push(`ERROR ${o.ename ?? ""}: ${o.evalue ?? ""}`);
    else if (o.data !== undefined) {
      const t = o.data["text/plain"];
      parts.push(joinText(/** @type {string | string[] | undefined} */ (t)));
    }
  }
  return parts.join("\n");
}

/**
 * Masks what may legitimately vary.
 * @param {string} text
 * @param {readonly (readonly [string, string])[]} [extra]
 */
export function sanitise(text, extra = []) {
  let out = text.replace(/\r\n/g, "\n");
  for (const [re, withText] of [...DEFAULT_SANITISERS, ...extra]) {
    out = out.replace(new RegExp(re, "g"), withText);
  }
  return out;
}

/** Rounds every decimal number in `text` to `digits` significant digits. */
/**
 * @param {string} text
 * @param {number} [digits]
 */
export function roundNumbers(text, digits = 6) {
  return text.replace(/-?\d+\.\d+(?:e[+-]?\d+)?/g, (m) => {
    const n = Number(m);
    if (!Number.isFinite(n)) return m;
    const p = Number(n.toPrecision(digits));
    return String(p);
  });
}

/** A captured number: thousands separators and Unicode minus signs allowed. */
/** @param {string} s */
export function parseNumber(s) {
  return Number(s.replace(/,/g, "").replace(/\u2212/g, "-"));
}

/**
 * Checks one cell's sanitised text against its expectation; returns the failures.
 * @param {string} text sanitised text
 * @param {CellExpectation} exp
 * @param {number} digits
 * @returns {string[]}
 */
export function checkCell(text, exp, digits) {
  /** @type {string[]} */
  const failures = [];
  if (/^ERROR /m.test(text)) failures.push(`the cell failed: ${/^ERROR .*$/m.exec(text)?.[0]}`);
  if (exp.text !== undefined) {
    const want = roundNumbers(exp.text, digits);
    const got = roundNumbers(text, digits);
    if (want !== got) failures.push(`text differs:\n${diffLines(want, got)}`);
  }
  for (const s of exp.contains ?? []) {
    if (!text.includes(s)) failures.push(`missing ${JSON.stringify(s)}`);
  }
  for (const s of exp.absent ?? []) {
    if (text.includes(s)) failures.push(`unexpected ${JSON.stringify(s)}`);
  }
  for (const re of exp.matches ?? []) {
    if (!new RegExp(re, "m").test(text)) failures.push(`no match for /${re}/`);
  }
  for (const n of exp.numbers ?? []) {
    const label = n.label ?? n.pattern;
    const m = new RegExp(n.pattern, "m").exec(text);
    if (m === null || m[1] === undefined) {
      failures.push(`${label}: no match for /${n.pattern}/`);
      continue;
    }
    const x = parseNumber(m[1]);
    if (!Number.isFinite(x)) {
      failures.push(`${label}: ${JSON.stringify(m[1])} is not a number`);
      continue;
    }
    if (n.value !== undefined) {
      const tol = (n.tolerance ?? 0) * (n.relative === true ? Math.abs(n.value) : 1);
      if (Math.abs(x - n.value) > tol + 1e-12) {
        failures.push(
          `${label}: ${x}, expected ${n.value} ± ${n.tolerance ?? 0}${n.relative === true ? " (relative)" : ""}`,
        );
      }
    }
    if (n.min !== undefined && x < n.min) failures.push(`${label}: ${x} < ${n.min}`);
    if (n.max !== undefined && x > n.max) failures.push(`${label}: ${x} > ${n.max}`);
  }
  return failures;
}

/**
 * A short line diff for failure messages.
 * @param {string} a
 * @param {string} b
 */
function diffLines(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  const out = [];
  for (let i = 0; i < Math.max(x.length, y.length) && out.length < 12; i++) {
    if (x[i] !== y[i]) {
      if (x[i] !== undefined) out.push(`    - ${x[i]}`);
      if (y[i] !== undefined) out.push(`    + ${y[i]}`);
    }
  }
  return out.join("\n");
}

/**
 * @typedef {{ notebook: string, executed: string, cells: number,
 *   failures: string[], updated: boolean }} NotebookCheck
 */

/**
 * Checks one executed notebook against its expectation file.
 * @param {string} executedPath
 * @param {string} expectedPath
 * @param {{ update?: boolean }} [options]
 * @returns {NotebookCheck}
 */
export function checkNotebook(executedPath, expectedPath, options = {}) {
  const exp = /** @type {Expectations} */ (JSON.parse(readFileSync(expectedPath, "utf8")));
  const digits = exp.digits ?? 6;
  /** @type {string[]} */
  const failures = [];
  const result = {
    notebook: exp.notebook,
    executed: executedPath,
    cells: 0,
    failures,
    updated: false,
  };
  if (!existsSync(executedPath)) {
    failures.push(`${executedPath} does not exist (run npm run reproduce)`);
    return result;
  }
  const nb = readNotebook(executedPath);
  const meta = /** @type {{ parameters?: Record<string, unknown> } | undefined} */ (
    nb.metadata["mmulab"]
  );
  if (meta?.parameters !== undefined && Object.keys(meta.parameters).length > 0) {
    failures.push(
      `executed with injected parameters ${JSON.stringify(meta.parameters)}; expectations hold for the defaults`,
    );
    return result;
  }
  for (const [i, cell] of nb.cells.entries()) {
    for (const o of cell.outputs ?? []) {
      if (o.output_type === "error") {
        failures.push(`cell ${i}: ${o.ename ?? ""}: ${o.evalue ?? ""}`);
      }
    }
  }
  const extra = exp.sanitise ?? [];
  /** @type {Map<string, string>} */
  const texts = new Map();
  for (const cell of nb.cells) {
    for (const tag of cellTags(cell)) {
      if (!tag.startsWith(CHECK_TAG_PREFIX)) continue;
      if (texts.has(tag)) failures.push(`tag ${tag} is on more than one cell`);
      texts.set(tag, sanitise(cellText(cell), extra));
      if (exp.cells[tag] === undefined) failures.push(`cell tagged ${tag} has no expectation`);
    }
  }
  for (const [tag, cellExp] of Object.entries(exp.cells)) {
    const text = texts.get(tag);
    if (text === undefined) {
      failures.push(`no cell tagged ${tag}`);
      continue;
    }
    result.cells++;
    if (options.update === true && cellExp.text !== undefined) {
      if (cellExp.text !== text) {
        cellExp.text = text;
        result.updated = true;
      }
    }
    for (const f of checkCell(text, cellExp, digits)) failures.push(`${tag}: ${f}`);
  }
  if (result.updated) writeFileSync(expectedPath, `${JSON.stringify(exp, null, 2)}\n`);
  return result;
}

/**
 * Checks every expectation file against the executed notebooks in `dir`.
 * @param {string} dir
 * @param {{ update?: boolean, only?: readonly string[] }} [options] `only`: notebook file names
 * @returns {NotebookCheck[]}
 */
export function checkAll(dir, options = {}) {
  return readdirSync(EXPECTED_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const expectedPath = join(EXPECTED_DIR, f);
      const exp = /** @type {Expectations} */ (JSON.parse(readFileSync(expectedPath, "utf8")));
      return { expectedPath, exp };
    })
    .filter(({ exp }) => options.only === undefined || options.only.includes(exp.notebook))
    .map(({ expectedPath, exp }) =>
      checkNotebook(join(dir, basename(exp.notebook)), expectedPath, options),
    );
}

/** @param {NotebookCheck[]} results */
export function describeChecks(results) {
  return results
    .map((r) =>
      r.failures.length === 0
        ? `${r.notebook}: ${r.cells} checked cells ok${r.updated ? " (snapshots updated)" : ""}`
        : `${r.notebook}: ${r.failures.length} failure(s)\n${r.failures.map((f) => `  ${f.replace(/\n/g, "\n  ")}`).join("\n")}`,
    )
    .join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const dirAt = args.indexOf("--dir");
  const dir = dirAt >= 0 ? (args[dirAt + 1] ?? "reports") : join(ROOT, "reports");
  const results = checkAll(dir, { update: args.includes("--update") });
  process.stdout.write(`${describeChecks(results)}\n`);
  process.exitCode = results.every((r) => r.failures.length === 0) ? 0 : 1;
}
