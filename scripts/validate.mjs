#!/usr/bin/env node
// `npm run validate`: the larger run of `mmulab validate` (the test suite runs a small set):
// Debian's installed kernel under qemu TCG with 1, 2 and 4 vCPUs, every workload at its default
// size and the tlb_flush2 loops at four times theirs, then will-it-scale's unaligned tlb_flush2
// (reported, not checked). Writes reports/validate/{aligned,unaligned}.{json,txt} and prints the
// tables; docs/model.md ("Validation against a real kernel") quotes such a run. About 4 minutes
// of wall time on an idle two-core machine.
//
//   node scripts/validate.mjs [--out DIR] [--cpus 1,2,4]
//
// Exit status 1 when a checked counter disagrees.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "kernel", "bin", "mmulab.js");

/**
 * @param {string} message
 * @returns {never}
 */
function usage(message) {
  process.stderr.write(
    `validate: ${message}\nusage: node scripts/validate.mjs [--out DIR] [--cpus 1,2,4]\n`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
let out = join(ROOT, "reports", "validate");
let cpus = "1,2,4";
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--out") out = resolve(args[++i] ?? usage("--out needs a directory"));
  else if (a === "--cpus") cpus = args[++i] ?? usage("--cpus needs a list");
  else usage(`unknown argument ${a}`);
}
mkdirSync(out, { recursive: true });

const runs = [
  { name: "aligned", flags: ["--iterations", "16", "--passes", "8", "--reuse-passes", "16"] },
  {
    name: "unaligned",
    flags: [
      "--workloads",
      "tlb_flush2,tlb_flush2-reuse",
      "--passes",
      "8",
      "--reuse-passes",
      "16",
      "--unaligned-passes",
    ],
  },
];

/** @param {number | null} v */
const fmt = (v) => (v === null ? "—" : Number.isInteger(v) ? String(v) : v.toFixed(3));

let status = 0;
for (const run of runs) {
  process.stderr.write(`validate: ${run.name} (${run.flags.join(" ")}) on ${cpus} vCPU(s)\n`);
  const r = spawnSync(process.execPath, [CLI, "validate", "--cpus", cpus, ...run.flags, "--json"], {
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 256 * 1024 * 1024,
  });
  // exit 1: a checked counter disagrees (or the guest failed: the JSON says which); 2: usage
  if (r.status !== 0 && r.status !== 1) {
    process.stderr.write(`validate: mmulab validate exited ${r.status}\n`);
    process.exit(1);
  }
  writeFileSync(join(out, `${run.name}.json`), r.stdout);
  const json = JSON.parse(readFileSync(join(out, `${run.name}.json`), "utf8"));
  if (json.error) {
    process.stderr.write(`validate: ${json.error.message}\n`);
    process.exit(1);
  }
  // the unaligned run is reported, not checked: only the aligned one decides the status
  if (run.name === "aligned" && !json.ok) status = 1;
  const lines = [`# ${run.name}: mmulab validate --cpus ${cpus} ${run.flags.join(" ")}`, ""];
  lines.push(
    `${"workload".padEnd(17)} ${"vCPUs".padStart(5)}  ${"counter".padEnd(52)} ${"kernel".padStart(9)} ${"model".padStart(9)} ${"ratio".padStart(7)}  check`,
  );
  for (const c of json.comparisons)
    for (const row of c.rows) {
      if (row.tolerance === null && !/remote flushes received|function-call/.test(row.metric))
        continue;
      const check = row.ok === null ? "" : row.ok ? "ok" : "DISAGREES";
      lines.push(
        `${c.workload.padEnd(17)} ${String(c.cpus).padStart(5)}  ${row.metric.padEnd(52)} ${fmt(row.kernel).padStart(9)} ${fmt(row.model).padStart(9)} ${fmt(row.ratio).padStart(7)}  ${check}`,
      );
    }
  writeFileSync(join(out, `${run.name}.txt`), `${lines.join("\n")}\n`);
  process.stdout.write(`${lines.join("\n")}\n\n`);
}
process.stderr.write(`validate: results in ${out}\n`);
process.exit(status);
