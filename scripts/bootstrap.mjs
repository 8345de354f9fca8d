#!/usr/bin/env node
// Makes a checkout runnable: installs the Debian packages the command needs (scripts/debian-packages,
// via system-packages.mjs) and the npm dependencies when they are missing or stale, then builds the
// kernel workspace so kernel/dist exists, the lab extension (the renderers with tsc, the prebuilt
// extension, copied into .jupyter-data/labextensions) and JupyterLab (lab-app/dist), each only
// when its inputs are newer than its output. Run by the prestart, pretest and prebench scripts.
//
// Dependency-free on purpose (node: builtins only): it runs before node_modules exists.
//
//   node scripts/bootstrap.mjs [--system start|test]  Debian packages for `npm start`/`npm test`
//                                                     (MMULAB_APT=dry-run|off), install, build
//   node scripts/bootstrap.mjs --build-only           build only (the `npm run build` script)
//   node scripts/bootstrap.mjs --check                say whether an npm install is needed
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureSystemPackages, SECTIONS } from "./system-packages.mjs";

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

/**
 * Newest modification time (ms) of the files under `paths` (files or directories, recursively;
 * node_modules and dist skipped); 0 when none exist.
 * @param {string[]} paths
 */
function newest(paths) {
  let max = 0;
  /** @param {string} path */
  const visit = (path) => {
    if (!existsSync(path)) return;
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) {
        if (name !== "node_modules" && name !== "dist") visit(join(path, name));
      }
    } else if (st.mtimeMs > max) {
      max = st.mtimeMs;
    }
  };
  for (const p of paths) visit(p);
  return max;
}

/**
 * The lab extension: tsc -b (incremental), then the prebuilt extension when its inputs changed.
 * Set MMULAB_SKIP_LAB_BUILD=1 to skip the webpack build.
 */
function buildLab() {
  const lab = join(root, "lab-extension");
  run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-b", lab]);
  if (process.env.MMULAB_SKIP_LAB_BUILD === "1") return;
  const deps = [join(root, "package-lock.json"), join(lab, "package.json")];
  const extOut = join(lab, "dist", "labextension", "package.json");
  const installed = join(root, ".jupyter-data", "labextensions", "@mmulab", "lab-extension");
  const extIn = newest([
    ...deps,
    join(lab, "dist", "lib"),
    // the contract (validator, MIME names, comm target) is bundled into the extension
    join(root, "kernel", "dist", "contract"),
    join(lab, "style"),
    join(lab, "scripts"),
  ]);
  // the same build writes the standalone renderers of the interactive reports
  const standalone = join(lab, "dist", "standalone", "mmulab-renderers.js");
  if (!existsSync(extOut) || !existsSync(standalone) || statSync(extOut).mtimeMs < extIn) {
    log("building the prebuilt JupyterLab extension (lab-extension/dist/labextension)");
    run(process.execPath, [join(lab, "scripts", "build.mjs"), "--labextension-only"]);
  }
  const installedPkg = join(installed, "package.json");
  if (!existsSync(installedPkg) || statSync(installedPkg).mtimeMs < statSync(extOut).mtimeMs) {
    run(process.execPath, [join(lab, "scripts", "install.mjs")]);
  }
}

/**
 * JupyterLab (lab-app): webpack over every core extension into lab-app/dist, when the lockfile,
 * lab-app/package.json, its sources, template or build script are newer than the built page.
 * Set MMULAB_SKIP_LAB_BUILD=1 to skip it.
 */
function buildLabApp() {
  if (process.env.MMULAB_SKIP_LAB_BUILD === "1") return;
  const app = join(root, "lab-app");
  const out = join(app, "dist", "static", "index.html");
  const inputs = newest([
    join(root, "package-lock.json"),
    join(app, "package.json"),
    join(app, "src"),
    join(app, "templates"),
    join(app, "build.mjs"),
  ]);
  if (!existsSync(out) || statSync(out).mtimeMs < inputs) {
    log("building JupyterLab (lab-app/dist); about a minute on two cores");
    run(process.execPath, [join(app, "build.mjs")]);
  }
}

/**
 * Keeps the `mmulab` Jupyter kernelspec in the project's .jupyter-data current (it names this
 * checkout's kernel/dist and this Node). kernelspec.js uses node: builtins only.
 */
async function installKernelspec() {
  const mod = join(root, "kernel", "dist", "notebook-kernel", "kernelspec.js");
  if (!existsSync(mod)) return;
  const { installKernelSpec, projectDataDir } = await import(pathToFileURL(mod).href);
  const result = installKernelSpec(projectDataDir());
  if (result.changed) log(`installed the mmulab kernelspec in ${result.path}`);
}

/**
 * The Debian packages of `npm start` or `npm test` (--system start|test); exits when they are
 * missing and this user cannot install them.
 * @param {string[]} argv
 */
function systemPackages(argv) {
  const i = argv.indexOf("--system");
  if (i === -1) return;
  const section = argv[i + 1];
  if (!(/** @type {readonly (string | undefined)[]} */ (SECTIONS).includes(section))) {
    fail(`--system takes one of ${SECTIONS.join(", ")}, got ${JSON.stringify(section ?? "")}`);
  }
  const mode = process.env.MMULAB_APT ?? "";
  if (mode === "off") return;
  const ok = ensureSystemPackages(
    /** @type {import("./system-packages.mjs").Section} */ (section),
    {
      dryRun: mode === "dry-run",
    },
  );
  if (!ok) process.exit(1);
}

checkNode();
const argv = process.argv.slice(2);
const args = new Set(argv);
if (args.has("--check")) {
  const reason = installReason();
  log(reason ?? "node_modules is up to date");
  process.exit(reason === null ? 0 : 1);
}
if (!args.has("--build-only")) {
  systemPackages(argv);
  install();
}
build();
await installKernelspec();
buildLab();
buildLabApp();
