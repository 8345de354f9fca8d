#!/usr/bin/env node
// Builds the notebook app's front end: tsc (src -> ../dist/app-lib), then webpack
// (-> ../dist/app/main.js plus chunks), served by serve.py at /static/mmulab_lab/.
//
// The app is a module-federation host, like JupyterLab: it shares JupyterLab's singleton packages
// (Lumino, @jupyterlab/*) in webpack's "default" scope so a prebuilt extension that consumes them
// (import: false) gets the app's copies. The loaders and fallbacks are @jupyterlab/builder's base
// config, the same ones prebuilt extensions are built with.
//
//   node app/build.mjs                 production build (minified)
//   node app/build.mjs --development   faster, unminified, with source maps
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const app = dirname(fileURLToPath(import.meta.url));
const pkgDir = dirname(app);
const require = createRequire(join(pkgDir, "package.json"));
const development = process.argv.includes("--development");
const lib = join(pkgDir, "dist", "app-lib");
const out = join(pkgDir, "dist", "app");

const started = Date.now();
const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", app], {
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
mkdirSync(lib, { recursive: true });
copyFileSync(join(app, "src", "app.css"), join(lib, "app.css"));

/** @type {typeof import("webpack")} */
const webpack = require("webpack");
/** @type {{ module: { rules: unknown[] }, resolve: { fallback: Record<string, unknown> }, plugins: unknown[] }} */
const base = require("@jupyterlab/builder/lib/webpack.config.base.js");

/** @param {string} name */
function versionOf(name) {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
  } catch {
    return null;
  }
}

// JupyterLab's singletons (from the core metadata the extension is built against) that this app
// has installed, at the versions it has.
const core = JSON.parse(
  readFileSync(require.resolve("@jupyterlab/core-meta/core.package.json"), "utf8"),
);
/** @type {Record<string, { singleton: boolean, requiredVersion: string, version: string }>} */
const shared = {};
for (const name of core.jupyterlab.singletonPackages) {
  const version = versionOf(name);
  if (version === null) continue;
  shared[name] = { singleton: true, requiredVersion: `^${version}`, version };
}

rmSync(out, { recursive: true, force: true });
/** @type {import("webpack").Configuration} */
const config = {
  mode: development ? "development" : "production",
  devtool: development ? "source-map" : false,
  entry: { main: join(lib, "bootstrap.js") },
  output: {
    path: out,
    filename: "[name].js",
    chunkFilename: "[name].[contenthash].js",
    publicPath: "auto",
    hashFunction: "sha256",
  },
  module: { rules: base.module.rules },
  resolve: {
    fallback: base.resolve.fallback,
    // Packages npm installed for this workspace only (e.g. tslib, which @jupyter/web-components
    // imports without declaring) are found from hoisted modules too.
    modules: ["node_modules", join(pkgDir, "node_modules")],
  },
  plugins: [
    ...base.plugins,
    new webpack.container.ModuleFederationPlugin({ name: "mmulab_app", shared }),
  ],
  performance: { hints: false },
  // Minifying ~13 MB of JupyterLab takes minutes on two cores and buys little for an app served
  // from localhost; MMULAB_APP_MINIFY=1 turns it on.
  optimization: { minimize: process.env["MMULAB_APP_MINIFY"] === "1" },
  bail: true,
  stats: "errors-warnings",
};

webpack(config, (error, stats) => {
  if (error) {
    console.error(error);
    process.exit(1);
  }
  if (stats === undefined) process.exit(1);
  const info = stats.toJson({ all: false, errors: true, warnings: true, assets: true });
  for (const w of info.warnings ?? []) console.warn(w.message);
  if (stats.hasErrors()) {
    for (const e of info.errors ?? []) console.error(e.message);
    process.exit(1);
  }
  const bytes = (info.assets ?? []).reduce((sum, a) => sum + a.size, 0);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.error(
    `app build: ${Object.keys(shared).length} shared singletons, ${(info.assets ?? []).length} files, ` +
      `${(bytes / 1e6).toFixed(1)} MB in ${out}, ${seconds} s`,
  );
  if (!existsSync(join(out, "main.js"))) process.exit(1);
});
