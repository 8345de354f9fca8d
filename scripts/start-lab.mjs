#!/usr/bin/env node
// Starts a notebook front end on notebooks/ with the mmulab kernel and renderers, prints its URL
// and opens no browser:
//
//   - stock JupyterLab 4 (`jupyter lab`, e.g. installed with pip) when it is on PATH;
//   - otherwise the mmulab notebook app (lab-extension/app/serve.py) on Debian's jupyter_server.
//
// Both find the mmulab kernelspec and the prebuilt extension in .jupyter-data/ (JUPYTER_PATH),
// where the bootstrap installs them. Dependency-free (node: builtins only).
//
//   node scripts/start-lab.mjs [--app] [--port N] [-- extra server flags]
//     --app      use the mmulab app even when `jupyter lab` exists
//     --port N   listen on N (default 8888; the server tries the next ports when taken)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const data = join(root, ".jupyter-data");
const notebooks = join(root, "notebooks");
const python = process.env.MMULAB_PYTHON ?? "/usr/bin/python3";

const { values, positionals } = parseArgs({
  options: { app: { type: "boolean", default: false }, port: { type: "string", default: "8888" } },
  allowPositionals: true,
});

/** @param {string} message */
function log(message) {
  process.stderr.write(`start-lab: ${message}\n`);
}

/** `jupyter lab` 4.x's version, or null when there is none. */
function stockLabVersion() {
  const probe = spawnSync("jupyter", ["lab", "--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return null;
  const version = probe.stdout.trim();
  return /^4\./.test(version) ? version : null;
}

const env = {
  ...process.env,
  JUPYTER_PATH: [data, process.env.JUPYTER_PATH].filter(Boolean).join(delimiter),
};
mkdirSync(notebooks, { recursive: true });

const stock = values.app ? null : stockLabVersion();
/** @type {[string, string[]]} */
let command;
if (stock !== null) {
  log(`JupyterLab ${stock} found; starting \`jupyter lab\` on notebooks/`);
  command = [
    "jupyter",
    ["lab", "--no-browser", `--port=${values.port}`, `--notebook-dir=${notebooks}`, ...positionals],
  ];
} else {
  const check = spawnSync(python, ["-c", "import jupyter_server, jupyterlab_server"]);
  if (check.error || check.status !== 0) {
    log(
      `no \`jupyter lab\` 4.x on PATH, and ${python} lacks Debian's Jupyter server; for the notebooks install one:\n` +
        "  apt-get install --no-install-recommends python3-jupyter-server python3-jupyterlab-server\n" +
        "  (or: pip install 'jupyterlab>=4,<5')\n" +
        "meanwhile, the command-line demo (npx mmulab --help lists the other commands):",
    );
    // Still do something useful: the simulator itself works without any Jupyter.
    const demo = spawnSync(process.execPath, [join(root, "kernel", "bin", "mmulab.js"), "demo"], {
      stdio: "inherit",
    });
    process.exit(demo.status ?? 1);
  }
  if (!existsSync(join(root, "lab-extension", "dist", "app", "main.js"))) {
    log("the notebook app is not built; run `npm run build` first");
    process.exit(1);
  }
  log("no `jupyter lab` 4.x on PATH; starting the mmulab notebook app (Debian's jupyter_server)");
  command = [
    python,
    [join(root, "lab-extension", "app", "serve.py"), `--port=${values.port}`, ...positionals],
  ];
}
if (!existsSync(join(data, "kernels", "mmulab", "kernel.json"))) {
  log("note: the mmulab kernelspec is not installed in .jupyter-data/kernels yet");
}
const child = spawn(command[0], command[1], { cwd: root, env, stdio: "inherit" });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
