#!/usr/bin/env node
// Builds the prebuilt (federated) JupyterLab extension with npm packages only, no Python:
//
//   1. tsc -b            src/ -> dist/lib/ (and the kernel's contract types it imports)
//   2. build-labextension --core-path dist/core .   dist/lib/ -> dist/labextension/
//   3. esbuild           src/standalone.ts -> dist/standalone/mmulab-renderers.js (one IIFE, plotly
//                        inside) and mmulab-renderers.css: the renderers an interactive HTML
//                        report inlines (scripts/nbexec.py)
//
// @jupyterlab/builder needs a directory whose package.json is JupyterLab's staging/package.json
// (the shared-module versions and singletons of the JupyterLab the extension loads into).
// @jupyterlab/core-meta ships that file as core.package.json; pointing --core-path at the package
// itself fails (the builder would read core-meta's own manifest), so it is copied to dist/core.
//
//   node scripts/build.mjs                     tsc + labextension (production)
//   node scripts/build.mjs --labextension-only skip tsc
//   node scripts/build.mjs --development       unminified, with source maps
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(here, "package.json"));
const args = new Set(process.argv.slice(2));

/** @param {string[]} argv */
function node(argv) {
  const started = Date.now();
  const result = spawnSync(process.execPath, argv, { cwd: here, stdio: "inherit" });
  if (result.status !== 0) {
    process.stderr.write(`lab-extension build: ${argv.join(" ")} failed\n`);
    process.exit(result.status ?? 1);
  }
  return Date.now() - started;
}

if (!args.has("--labextension-only")) {
  node([require.resolve("typescript/bin/tsc"), "-b", here]);
}

const core = join(here, "dist", "core");
mkdirSync(core, { recursive: true });
copyFileSync(
  require.resolve("@jupyterlab/core-meta/core.package.json"),
  join(core, "package.json"),
);

const builder = require.resolve("@jupyterlab/builder/lib/build-labextension.js");
const mode = args.has("--development") ? ["--development"] : [];
const ms = node([builder, "--core-path", core, ...mode, here]);
process.stderr.write(
  `lab-extension build: dist/labextension built in ${(ms / 1000).toFixed(1)} s\n`,
);

// 3. the standalone renderers for interactive reports
const esbuild = await import(require.resolve("esbuild"));
const standalone = join(here, "dist", "standalone");
mkdirSync(standalone, { recursive: true });
const started = Date.now();
await esbuild.build({
  entryPoints: [join(here, "src", "standalone.ts")],
  outfile: join(standalone, "mmulab-renderers.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  minify: !args.has("--development"),
  legalComments: "none",
  logLevel: "warning",
  // the bundle is inlined in a <script>: esbuild escapes "</script" in strings
  supported: { "inline-script": true },
});
copyFileSync(join(here, "style", "index.css"), join(standalone, "mmulab-renderers.css"));
const bundle = readFileSync(join(standalone, "mmulab-renderers.js"), "utf8");
if (/<\/script/i.test(bundle)) {
  process.stderr.write("lab-extension build: the standalone bundle contains </script\n");
  process.exit(1);
}
process.stderr.write(
  `lab-extension build: dist/standalone built in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
    `(${(bundle.length / 1e6).toFixed(2)} MB)\n`,
);
