#!/usr/bin/env node
// Installs the prebuilt extension the way pip installs one: a copy of dist/labextension at
// <data-dir>/labextensions/@mmulab/lab-extension/, where every JupyterLab 4 (stock, pip, conda,
// system, or this repository's lab-app) finds it. Same destinations as `mmulab kernel install`.
//
//   node lab-extension/scripts/install.mjs                  <repo>/.jupyter-data (the bootstrap)
//   node lab-extension/scripts/install.mjs --prefix DIR     DIR/share/jupyter: a venv or conda
//                                                           environment (sys.prefix, $CONDA_PREFIX)
//   node lab-extension/scripts/install.mjs --user           your Jupyter data directory
//                                                           (`jupyter --data-dir`)
//   node lab-extension/scripts/install.mjs --data-dir DIR   this Jupyter data directory
//   ... --uninstall                                         remove it from there instead
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = dirname(pkgDir);
const NAME = "@mmulab/lab-extension";

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  process.stderr.write(`install: ${message}\n`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      options: {
        "data-dir": { type: "string" },
        prefix: { type: "string" },
        user: { type: "boolean" },
        uninstall: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    return fail(
      `${String(error instanceof Error ? error.message : error)}\n` +
        "usage: install.mjs [--user | --prefix DIR | --data-dir DIR] [--uninstall]",
    );
  }
}

const values = options();
const chosen = [
  values["data-dir"] !== undefined && "--data-dir",
  values.prefix !== undefined && "--prefix",
  values.user === true && "--user",
].filter((flag) => flag !== false);
if (chosen.length > 1)
  fail(`choose one of --user, --prefix, --data-dir (got ${chosen.join(", ")})`);

/** The Jupyter data directory to install into. */
async function dataDir() {
  if (values["data-dir"] !== undefined) return resolve(values["data-dir"]);
  if (values.prefix !== undefined) return join(resolve(values.prefix), "share", "jupyter");
  if (values.user === true) {
    // The kernel's own notion of `jupyter --data-dir` (kernel/src/notebook-kernel/kernelspec.ts).
    const module = join(repo, "kernel", "dist", "notebook-kernel", "kernelspec.js");
    if (!existsSync(module)) fail(`${module} is not built; run \`npm run build\` first`);
    /** @type {{ userDataDir(): string }} */
    const kernelspec = await import(pathToFileURL(module).href);
    return kernelspec.userDataDir();
  }
  return join(repo, ".jupyter-data");
}

const target = join(await dataDir(), "labextensions", ...NAME.split("/"));
if (values.uninstall === true) {
  const existed = existsSync(target);
  rmSync(target, { recursive: true, force: true });
  process.stderr.write(`install: ${existed ? "removed" : "no extension at"} ${target}\n`);
  process.exit(0);
}
const source = join(pkgDir, "dist", "labextension");
if (!existsSync(join(source, "package.json"))) {
  process.stderr.write(`install: ${source} is not built; run \`npm run build\` first\n`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true });
process.stderr.write(`install: copied the prebuilt extension to ${target}\n`);
