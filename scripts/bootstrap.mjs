#!/usr/bin/env node
// Makes a checkout runnable: installs dependencies when they are missing or stale, then builds the
// kernel workspace so kernel/dist exists. Run by the prestart, pretest and prebench scripts.
//
// Dependency-free on purpose (node: builtins only): it runs before node_modules exists.
//
//   node scripts/bootstrap.mjs               install if needed, then build
//   node scripts/bootstrap.mjs --build-only  build only (the `npm run build` script)
//   node scripts/bootstrap.mjs --check       say whether an install is needed; exit 1 if so
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const MIN_NODE = [20, 19, 0];

/** @param {string} message */
function log(message) {
  process.stderr.write(`bootstrap: ${message}\n`);
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  log(message);
  process.exit(1);
}

function checkNode() {
  const have = process.versions.node.split(".").map(Number);
  for (let i = 0; i < MIN_NODE.length; i++) {
    const h = have[i] ?? 0;
    const m = MIN_NODE[i] ?? 0;
    if (h > m) return;
    if (h < m) fail(`Node ${MIN_NODE.join(".")} or newer is required; this is ${process.version}`);
  }
}

/** Why an install is needed, or null when node_modules is up to date. */
function installReason() {
  const lock = join(root, "package-lock.json");
  const modules = join(root, "node_modules");
  const marker = join(modules, ".package-lock.json");
  if (!existsSync(modules)) return "node_modules is missing";
  if (!existsSync(marker)) return "node_modules/.package-lock.json is missing";
  if (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs) {
    return "package-lock.json is newer than node_modules";
  }
  return null;
}

/**
 * @param {string} command
 * @param {string[]} args
 */
function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`${[command, ...args].join(" ")} failed (${result.signal ?? `exit ${result.status}`})`);
  }
}

/** Runs npm: the one that launched this script when there is one, else `npm` from PATH. */
/** @param {string[]} args */
function npm(args) {
  const execpath = process.env.npm_execpath;
  if (execpath && /\.[cm]?js$/.test(execpath)) run(process.execPath, [execpath, ...args]);
  else run("npm", args);
}

function install() {
  const reason = installReason();
  if (reason === null) return;
  const quiet = ["--no-audit", "--no-fund"];
  if (existsSync(join(root, "package-lock.json"))) {
    log(`${reason}: running npm ci`);
    npm(["ci", ...quiet]);
  } else {
    log(`${reason} and there is no package-lock.json: running npm install`);
    npm(["install", ...quiet]);
  }
}

/** `tsc -b` over the root solution, then make every workspace bin executable. */
function build() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) fail("typescript is not installed; run `npm ci` first");
  run(process.execPath, [tsc, "-b", "kernel"]);
  const pkg = JSON.parse(readFileSync(join(root, "kernel", "package.json"), "utf8"));
  const bins = typeof pkg.bin === "string" ? [pkg.bin] : Object.values(pkg.bin ?? {});
  bins.push("dist/cli/main.js"); // has a shebang too: runnable directly
  for (const bin of bins) {
    const file = join(root, "kernel", bin);
    if (existsSync(file)) chmodSync(file, statSync(file).mode | 0o111);
  }
}

checkNode();
const args = new Set(process.argv.slice(2));
if (args.has("--check")) {
  const reason = installReason();
  log(reason ?? "node_modules is up to date");
  process.exit(reason === null ? 0 : 1);
}
if (!args.has("--build-only")) install();
build();
