#!/usr/bin/env node
// `npm run reproduce`: executes every notebook of notebooks/ headless with its default
// parameters (Debian's nbclient, the mmulab kernel), writes the executed notebooks and HTML
// reports (Debian's nbconvert; figures as inline SVG, the static fallbacks) under reports/, an
// index.html and summary.json, then checks key outputs against test/notebooks/expected/
// (scripts/check-outputs.mjs). Each notebook gets two self-contained reports: NAME.html (static:
// the figures' inline SVG fallbacks) and NAME.interactive.html (the renderers bundled in, drawing
// the payloads as JupyterLab does); scripts/report.py. --hide-code leaves the code out of both.
//
//   node scripts/reproduce.mjs [--out DIR] [--only 01,03] [--no-check] [--timeout SECONDS]
//                              [--hide-code]
//
// Exit status 1 when a notebook fails or an output check fails.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { checkAll, describeChecks } from "./check-outputs.mjs";
import { describeResult, executeNotebooks, listNotebooks, ROOT } from "./notebooks.mjs";

/** @param {string} s */
function esc(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * @param {string} message
 * @returns {never}
 */
function usage(message) {
  process.stderr.write(
    `reproduce: ${message}\nusage: node scripts/reproduce.mjs [--out DIR] [--only 01,03] [--no-check] [--timeout SECONDS] [--hide-code]\n`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
let out = join(ROOT, "reports");
/** @type {string[] | null} */
let only = null;
let check = true;
let timeout = 600;
let hideCode = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--out") out = resolve(args[++i] ?? usage("--out needs a directory"));
  else if (a === "--only") only = (args[++i] ?? usage("--only needs a list")).split(",");
  else if (a === "--no-check") check = false;
  else if (a === "--timeout") timeout = Number(args[++i] ?? usage("--timeout needs seconds"));
  else if (a === "--hide-code") hideCode = true;
  else usage(`unknown argument ${a}`);
}

const notebooks = listNotebooks().filter(
  (p) => only === null || only.some((o) => basename(p).startsWith(o)),
);
if (notebooks.length === 0) usage("no notebook selected");
mkdirSync(out, { recursive: true });
// Remove only what an earlier run wrote (never the directory itself: --out may be anything).
for (const f of readdirSync(out)) {
  if (/\.(ipynb|html)$/.test(f) || f === "summary.json") rmSync(join(out, f), { force: true });
}
const started = Date.now();
process.stdout.write(`reproduce: executing ${notebooks.length} notebooks into ${out}\n`);
const results = await executeNotebooks(
  notebooks.map((input) => {
    const name = basename(input, ".ipynb");
    return {
      input,
      output: join(out, `${name}.ipynb`),
      html: join(out, `${name}.html`),
      interactive: join(out, `${name}.interactive.html`),
      hideCode,
    };
  }),
  {
    timeoutSeconds: timeout,
    onResult: (r) => process.stdout.write(`  ${describeResult(r)}\n`),
  },
);
const checks = check ? checkAll(out, { only: notebooks.map((p) => basename(p)) }) : [];
if (checks.length > 0) process.stdout.write(`output checks:\n${describeChecks(checks)}\n`);
const seconds = (Date.now() - started) / 1000;

const rows = results
  .map((r) => {
    const name = basename(r.output, ".ipynb");
    const status = r.failure === null ? "ok" : `failed: ${r.failure.ename}: ${r.failure.evalue}`;
    const checked = checks.find((c) => c.notebook === `${name}.ipynb`);
    const checkStatus =
      checked === undefined
        ? "—"
        : checked.failures.length === 0
          ? `${checked.cells} cells ok`
          : `${checked.failures.length} failure(s)`;
    return (
      `<tr><td><a href="${esc(name)}.html">${esc(name)}</a> ` +
      `(<a href="${esc(name)}.interactive.html">interactive</a>)</td><td>${esc(status)}</td>` +
      `<td>${r.seconds.toFixed(1)} s</td><td>${esc(checkStatus)}</td>` +
      `<td><a href="${esc(name)}.ipynb">ipynb</a></td></tr>`
    );
  })
  .join("\n");
writeFileSync(
  join(out, "index.html"),
  `<!doctype html><meta charset="utf-8"><title>mmulab reports</title>` +
    `<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style>` +
    `<h1>mmulab notebooks, executed</h1><p>Default parameters; ${seconds.toFixed(0)} s in all. ` +
    `Regenerate with <code>npm run reproduce</code>.</p>` +
    `<table><tr><th>notebook</th><th>run</th><th>time</th><th>output checks</th><th></th></tr>\n${rows}</table>\n`,
);
writeFileSync(
  join(out, "summary.json"),
  `${JSON.stringify(
    {
      seconds,
      notebooks: results.map((r) => ({
        ...r,
        input: relative(ROOT, r.input),
        output: relative(ROOT, r.output),
        html: r.html === null ? null : relative(ROOT, r.html),
      })),
      checks,
    },
    null,
    2,
  )}\n`,
);
const failed = results.filter((r) => r.failure !== null).length;
const checkFailures = checks.filter((c) => c.failures.length > 0).length;
process.stdout.write(
  `reproduce: ${results.length - failed}/${results.length} notebooks ran, ` +
    `${check ? `${checks.length - checkFailures}/${checks.length} passed the output checks, ` : ""}` +
    `${seconds.toFixed(0)} s; open ${join(relative(process.cwd(), out) || ".", "index.html")}\n`,
);
process.exitCode = failed > 0 || checkFailures > 0 ? 1 : 0;
