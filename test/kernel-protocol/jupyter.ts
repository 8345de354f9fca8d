/**
 * What the Python-side kernel tests need: Debian's interpreter with jupyter_client,
 * jupyter_kernel_test and nbclient (apt packages installed by .ci/run), the built kernel, and the
 * `mmulab` kernelspec in the project's .jupyter-data (written by the pretest bootstrap; written
 * here too, idempotently, so a bare `vitest run` works after a build).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  installKernelSpec,
  KERNEL_MAIN,
  projectDataDir,
} from "../../kernel/src/notebook-kernel/kernelspec.js";

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const PYTHON = process.env["MMULAB_PYTHON"] ?? "/usr/bin/python3";
export const APT_PACKAGES =
  "python3-jupyter-client python3-jupyter-kernel-test python3-nbclient python3-nbformat";

/** Why the Python kernel tests cannot run here, or null when they can. */
export function missingPrerequisites(): string | null {
  if (!existsSync(KERNEL_MAIN)) return `${KERNEL_MAIN} is not built (npm run build)`;
  const probe = spawnSync(
    PYTHON,
    ["-c", "import jupyter_client, jupyter_kernel_test, nbclient, nbformat"],
    { encoding: "utf8" },
  );
  if (probe.error !== undefined || probe.status !== 0) {
    return `${PYTHON} lacks Jupyter's test packages (apt-get install --no-install-recommends ${APT_PACKAGES})`;
  }
  return null;
}

/** Environment for a Python Jupyter client that finds the project's `mmulab` kernelspec. */
export function jupyterEnv(): NodeJS.ProcessEnv {
  const data = projectDataDir();
  installKernelSpec(data);
  const runtime = mkdtempSync(join(tmpdir(), "mmulab-jupyter-runtime-"));
  return {
    ...process.env,
    JUPYTER_PATH: [data, process.env["JUPYTER_PATH"] ?? ""].filter((p) => p !== "").join(":"),
    JUPYTER_RUNTIME_DIR: runtime,
    // Python must not pick up a user's site packages or a pyenv shim's environment.
    PYTHONNOUSERSITE: "1",
    PYTHONDONTWRITEBYTECODE: "1",
  };
}

export interface PythonRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs Debian's python3 with `args` in `cwd`; resolves with its output. */
export function runPython(
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [...args], {
      cwd,
      env: jupyterEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`python ${args.join(" ")} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
