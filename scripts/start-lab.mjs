#!/usr/bin/env node
// Starts JupyterLab on notebooks/ with the mmulab kernel and renderers, prints its URL and opens
// no browser:
//
//   - stock JupyterLab 4 (`jupyter lab`, e.g. installed with pip or conda) when it is on PATH;
//   - otherwise the JupyterLab this repository builds (lab-app/, served by lab-app/serve.py on
//     Debian's jupyter_server).
//
// Both find the mmulab kernelspec and the prebuilt extension in .jupyter-data/ (JUPYTER_PATH),
// where the bootstrap installs them, and both shut down kernels that sat idle, with no browser
// connected, for 30 minutes (MMULAB_CULL_IDLE_TIMEOUT=SECONDS, 0 to keep them).
// Dependency-free (node: builtins only).
//
//   node scripts/start-lab.mjs [--app] [--port N] [-- extra server flags]
//     --app      use lab-app even when `jupyter lab` exists
//     --port N   listen on N (default 8888; the server tries the next ports when taken)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stockLabVersion } from "./system-packages.mjs";

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

const cullIdle = process.env.MMULAB_CULL_IDLE_TIMEOUT ?? "1800";
if (!/^\d+$/.test(cullIdle)) {
  log(`MMULAB_CULL_IDLE_TIMEOUT: expected whole seconds (0 keeps idle kernels), got ${cullIdle}`);
  process.exit(2);
}
// jupyter_server's kernel culling, the same for both servers.
const cull = [
  `--MappingKernelManager.cull_idle_timeout=${cullIdle}`,
  "--MappingKernelManager.cull_interval=300",
  "--MappingKernelManager.cull_connected=False",
];

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
    [
      "lab",
      "--no-browser",
      `--port=${values.port}`,
      `--notebook-dir=${notebooks}`,
      ...cull,
      ...positionals,
    ],
  ];
} else {
  const check = spawnSync(python, ["-c", "import jupyter_server, jupyterlab_server"]);
  if (check.error || check.status !== 0) {
    log(
      `${python} lacks Debian's Jupyter server (\`npm start\` installs it when it may); install it with:\n` +
        "  sudo apt-get install --no-install-recommends python3-jupyter-server python3-jupyterlab-server python3-terminado",
    );
    process.exit(1);
  }
  if (!existsSync(join(root, "lab-app", "dist", "static", "index.html"))) {
    log("JupyterLab (lab-app) is not built; run `npm run build` first");
    process.exit(1);
  }
  log("starting JupyterLab (lab-app) on Debian's jupyter_server");
  command = [
    python,
    [join(root, "lab-app", "serve.py"), `--port=${values.port}`, ...cull, ...positionals],
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
