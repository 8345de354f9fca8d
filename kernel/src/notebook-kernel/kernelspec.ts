/**
 * The `mmulab` kernelspec (jupyter_client "Kernel specs"): a directory `kernels/mmulab/` holding
 * `kernel.json` and a logo, inside a Jupyter data directory. Written by hand, so installing needs
 * neither IPython nor `jupyter kernelspec` (tslab's own installer needs IPython).
 *
 * Where it goes:
 * - the project's `.jupyter-data/` (the bootstrap of `npm start`/`npm test` keeps it current);
 *   Jupyter finds it through `JUPYTER_PATH=<repo>/.jupyter-data`;
 * - the user's data directory with `mmulab kernel install --user` (found by every Jupyter);
 * - `<prefix>/share/jupyter` with `--prefix`, or any data directory with `--data-dir`.
 *
 * Node builtins only: scripts/bootstrap.mjs imports this file before anything else is needed.
 */
import { existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ParameterError } from "../sim/errors.js";
import { makeDirectory } from "./make-dir.js";
import { KERNEL_ROOT } from "./resolve.js";

export const KERNEL_NAME = "mmulab";
export const DISPLAY_NAME = "mmulab (TypeScript)";

export interface KernelSpec {
  readonly argv: readonly string[];
  readonly display_name: string;
  readonly language: string;
  readonly interrupt_mode: "signal" | "message";
  readonly env: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The compiled front entry the kernelspec starts. */
export const KERNEL_MAIN = join(KERNEL_ROOT, "dist", "notebook-kernel", "main.js");

/** kernel.json content: this Node binary running the built kernel on the connection file. */
export function kernelSpec(
  options: { readonly node?: string; readonly main?: string } = {},
): KernelSpec {
  return {
    argv: [
      options.node ?? process.execPath,
      options.main ?? KERNEL_MAIN,
      "--connection-file",
      "{connection_file}",
    ],
    display_name: DISPLAY_NAME,
    language: "typescript",
    // Interrupts arrive on the control channel; the front escalates them (front.ts).
    interrupt_mode: "message",
    env: {},
    metadata: { debugger: false },
  };
}

/** `<repo>/.jupyter-data`: the project-local Jupyter data directory. */
export function projectDataDir(): string {
  return join(dirname(KERNEL_ROOT), ".jupyter-data");
}

/** Jupyter's per-user data directory (jupyter_core's `jupyter_data_dir()`). */
export function userDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const fromEnv = env["JUPYTER_DATA_DIR"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (platform === "darwin") return join(home, "Library", "Jupyter");
  if (platform === "win32") {
    const appData = env["APPDATA"];
    return appData !== undefined && appData !== ""
      ? join(appData, "jupyter")
      : join(home, ".jupyter", "data");
  }
  const xdg = env["XDG_DATA_HOME"];
  return join(xdg !== undefined && xdg !== "" ? xdg : join(home, ".local", "share"), "jupyter");
}

/** `<prefix>/share/jupyter`, where `jupyter kernelspec install --prefix` puts kernels. */
export function prefixDataDir(prefix: string): string {
  return join(prefix, "share", "jupyter");
}

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<rect width="64" height="64" rx="10" fill="#3178c6"/>
<text x="32" y="42" text-anchor="middle" font-family="sans-serif" font-size="26" font-weight="bold" fill="#fff">mm</text>
</svg>
`;

export interface InstallResult {
  /** The kernelspec directory. */
  readonly path: string;
  /** False when kernel.json already had this content. */
  readonly changed: boolean;
  readonly spec: KernelSpec;
}

/** jupyter_client's rule for kernel names (kernelspec.py `_kernel_name_pat`). */
const KERNEL_NAME_PATTERN = /^[a-z0-9._-]+$/i;
const KERNEL_NAME_RULE =
  "a kernel name: ASCII letters, digits, '.', '_' and '-' (jupyter_client's rule), not '.' or '..'";

/**
 * `<dataDir>/kernels/<name>`, after checking that `name` is a kernel name and that the path it
 * makes is a direct child of `<dataDir>/kernels`. Jupyter's own pattern admits "." and "..",
 * which would name the kernels directory itself or the data directory; the containment check
 * refuses those and anything else that would leave `kernels/`.
 */
export function kernelSpecDir(dataDir: string, name: string): string {
  if (typeof name !== "string" || !KERNEL_NAME_PATTERN.test(name) || name === "." || name === "..")
    throw new ParameterError("name", name, KERNEL_NAME_RULE, "kernelspec");
  const kernels = resolve(dataDir, "kernels");
  const dir = resolve(kernels, name);
  if (dirname(dir) !== kernels)
    throw new ParameterError("name", name, `a directory directly inside ${kernels}`, "kernelspec");
  return dir;
}

/** Writes `<dataDir>/kernels/<name>/kernel.json` (and a logo); rewrites only when it differs. */
export function installKernelSpec(
  dataDir: string,
  options: { readonly name?: string; readonly spec?: KernelSpec } = {},
): InstallResult {
  const name = options.name ?? KERNEL_NAME;
  const dir = kernelSpecDir(dataDir, name);
  const spec = options.spec ?? kernelSpec();
  const file = join(dir, "kernel.json");
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  const same = existsSync(file) && readFileSync(file, "utf8") === text;
  if (!same) {
    makeDirectory(dir);
    writeFileSync(file, text);
  }
  const logo = join(dir, "logo-svg.svg");
  if (!existsSync(logo) || readFileSync(logo, "utf8") !== LOGO_SVG) writeFileSync(logo, LOGO_SVG);
  return { path: dir, changed: !same, spec };
}

/**
 * Removes the kernelspec `<dataDir>/kernels/<name>`; returns whether there was one. Only a
 * kernelspec directory goes (one holding kernel.json, jupyter_client's `_is_kernel_dir`); a
 * symbolic link in its place is removed itself, never what it points to.
 */
export function uninstallKernelSpec(dataDir: string, name = KERNEL_NAME): boolean {
  const dir = kernelSpecDir(dataDir, name);
  let isLink: boolean;
  try {
    isLink = lstatSync(dir).isSymbolicLink();
  } catch {
    return false;
  }
  if (isLink) {
    rmSync(dir);
    return true;
  }
  if (!existsSync(join(dir, "kernel.json"))) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}
