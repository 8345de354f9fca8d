#!/usr/bin/env node
// Installs the prebuilt extension the way pip would: a copy of dist/labextension at
// <data-dir>/labextensions/@mmulab/lab-extension/. JupyterLab (stock, 4.x) and the mmulab app
// find it there through JUPYTER_PATH (or the data dir's default place in it).
//
//   node lab-extension/scripts/install.mjs                 into <repo>/.jupyter-data
//   node lab-extension/scripts/install.mjs --data-dir DIR  e.g. $(jupyter --data-dir), or
//                                                          <sys.prefix>/share/jupyter
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({ options: { "data-dir": { type: "string" } } });
const dataDir = resolve(values["data-dir"] ?? join(dirname(pkgDir), ".jupyter-data"));
const source = join(pkgDir, "dist", "labextension");
if (!existsSync(join(source, "package.json"))) {
  process.stderr.write(`install: ${source} is not built; run \`npm run build\` first\n`);
  process.exit(1);
}
const target = join(dataDir, "labextensions", "@mmulab", "lab-extension");
rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true });
process.stderr.write(`install: copied the prebuilt extension to ${target}\n`);
