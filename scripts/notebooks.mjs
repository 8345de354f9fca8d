// Running the notebooks headless: parameter injection (papermill style), execution on the mmulab
// kernel with Debian's nbclient and HTML reports with Debian's nbconvert (both through
// scripts/nbexec.py, run with /usr/bin/python3). Used by scripts/run-notebook.mjs,
// scripts/reproduce.mjs and the notebook tests (test/notebooks/).
//
// Node builtins only; the kernelspec comes from the built kernel (kernel/dist), which
// `npm run build` (or the pretest / prereproduce bootstrap) makes.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const NOTEBOOKS_DIR = join(ROOT, "notebooks");
export const PYTHON = process.env["MMULAB_PYTHON"] ?? "/usr/bin/python3";
export const NBEXEC = join(ROOT, "scripts", "nbexec.py");
/** HTML reports of executed notebooks (static and interactive), used by nbexec.py. */
export const REPORT = join(ROOT, "scripts", "report.py");
/** The renderers an interactive report inlines (lab-extension/scripts/build.mjs builds them). */
export const STANDALONE_RENDERERS = join(ROOT, "lab-extension", "dist", "standalone");
/** Debian packages the runner needs (.ci/run installs them). */
export const APT_PACKAGES = "python3-nbclient python3-nbformat python3-nbconvert";
export const KERNEL_NAME = "mmulab";
const KERNELSPEC_JS = join(ROOT, "kernel", "dist", "notebook-kernel", "kernelspec.js");

/**
 * @typedef {import("../kernel/src/contract/mime.js").JsonValue} JsonValue
 * @typedef {{ output_type: string, name?: string, text?: string | string[],
 *   data?: Record<string, unknown>, ename?: string, evalue?: string, traceback?: string[] }} Output
 * @typedef {{ cell_type: string, id?: string, metadata: { tags?: string[], [key: string]: unknown },
 *   source: string | string[], outputs?: Output[], execution_count?: number | null }} Cell
 * @typedef {{ cells: Cell[], metadata: Record<string, unknown>, nbformat: number,
 *   nbformat_minor: number }} Notebook
 */

/**
 * @param {string} path
 * @returns {Notebook}
 */
export function readNotebook(path) {
  return /** @type {Notebook} */ (JSON.parse(readFileSync(path, "utf8")));
}

/**
 * @param {string} path
 * @param {Notebook} nb
 */
export function writeNotebook(path, nb) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(nb, null, 1)}\n`);
}

/**
 * nbformat keeps multi-line strings as lists of lines.
 * @param {string | string[] | undefined} s
 */
export function joinText(s) {
  return Array.isArray(s) ? s.join("") : (s ?? "");
}

/**
 * @param {Cell} cell
 * @returns {string[]}
 */
export function cellTags(cell) {
  const tags = cell.metadata.tags;
  return Array.isArray(tags) ? tags : [];
}

/**
 * The notebooks of `notebooks/` (NN-name.ipynb), sorted.
 * @returns {string[]}
 */
export function listNotebooks(dir = NOTEBOOKS_DIR) {
  return readdirSync(dir)
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

// ------------------------------------------------------------------ parameters

/**
 * Declarations of the `parameters` cell: `const|let NAME[: TYPE] = …`, one per line, with the
 * type annotation when there is one.
 * @param {string} source
 * @returns {Map<string, string | null>}
 */
export function declaredParameters(source) {
  /** @type {Map<string, string | null>} */
  const found = new Map();
  const re = /^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*([^=]+?))?\s*=/gm;
  for (const m of source.matchAll(re)) {
    if (m[1] !== undefined) found.set(m[1], m[2]?.trim() ?? null);
  }
  return found;
}

/**
 * A value given on the command line, papermill style: JSON when it parses (numbers, booleans,
 * null, quoted strings, arrays, objects), otherwise the string itself.
 * @param {string} text
 * @returns {JsonValue}
 */
export function parseParameterValue(text) {
  try {
    return /** @type {JsonValue} */ (JSON.parse(text));
  } catch {
    return text;
  }
}

/**
 * A TypeScript literal for a JSON value.
 * @param {JsonValue} value
 * @returns {string}
 */
export function tsLiteral(value) {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new RangeError(`parameter value ${value} is not a finite number`);
  }
  return JSON.stringify(value);
}

export const INJECTED_TAG = "injected-parameters";

/**
 * Papermill's injection for TypeScript cells: a code cell tagged `injected-parameters`, placed
 * right after the cell tagged `parameters` (or first, when there is none), re-declaring each
 * given parameter with the type annotation the `parameters` cell gave it. tslab lets a later cell
 * re-declare a name, and later cells see the new value. A previous injected cell is replaced.
 * Returns the new notebook and the names the parameters cell does not declare (papermill warns
 * about those too).
 * @param {Notebook} nb
 * @param {Record<string, JsonValue>} params
 * @returns {{ notebook: Notebook, unknown: string[], hasParametersCell: boolean }}
 */
export function injectParameters(nb, params) {
  const cells = nb.cells.filter((c) => !cellTags(c).includes(INJECTED_TAG));
  const at = cells.findIndex((c) => c.cell_type === "code" && cellTags(c).includes("parameters"));
  const declared = at >= 0 ? declaredParameters(joinText(cells[at]?.source)) : new Map();
  const names = Object.keys(params);
  const unknown = names.filter((n) => !declared.has(n));
  const lines = ["// Injected parameters"];
  for (const name of names) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new RangeError(`bad parameter name "${name}"`);
    const type = declared.get(name);
    const value = /** @type {JsonValue} */ (params[name]);
    lines.push(`const ${name}${type ? `: ${type}` : ""} = ${tsLiteral(value)};`);
  }
  /** @type {Cell} */
  const injected = {
    cell_type: "code",
    id: INJECTED_TAG,
    metadata: { tags: [INJECTED_TAG] },
    source: lines.join("\n"),
    outputs: [],
    execution_count: null,
  };
  cells.splice(at + 1, 0, injected);
  const meta = /** @type {Record<string, unknown>} */ (nb.metadata["mmulab"] ?? {});
  return {
    notebook: {
      ...nb,
      cells,
      metadata: { ...nb.metadata, mmulab: { ...meta, parameters: params } },
    },
    unknown,
    hasParametersCell: at >= 0,
  };
}

// ------------------------------------------------------------------ execution

/**
 * Why notebooks cannot be executed here, or null.
 * @returns {string | null}
 */
export function missingPrerequisites() {
  if (!existsSync(KERNELSPEC_JS)) return `${KERNELSPEC_JS} is not built (npm run build)`;
  const probe = spawnSync(PYTHON, ["-c", "import nbclient, nbformat, nbconvert"], {
    encoding: "utf8",
  });
  if (probe.error !== undefined || probe.status !== 0) {
    return (
      `${PYTHON} cannot import nbclient, nbformat and nbconvert ` +
      `(apt-get install --no-install-recommends ${APT_PACKAGES})`
    );
  }
  return null;
}

/** Installs (idempotently) the mmulab kernelspec into .jupyter-data; returns that directory. */
export async function ensureKernelspec() {
  /** @type {typeof import("../kernel/src/notebook-kernel/kernelspec.js")} */
  const ks = await import(pathToFileURL(KERNELSPEC_JS).href);
  const dir = ks.projectDataDir();
  ks.installKernelSpec(dir);
  return dir;
}

/**
 * @typedef {{ input: string, output: string, html?: string | null,
 *   interactive?: string | null, hideCode?: boolean,
 *   parameters?: Record<string, JsonValue> }} Job
 *   `interactive`: also write the interactive HTML report there (needs the standalone renderers,
 *   lab-extension/dist/standalone, built by the bootstrap); `hideCode`: reports without code.
 * @typedef {{ input: string, output: string, html: string | null, seconds: number,
 *   html_seconds: number | null,
 *   failure: { kind: string, ename: string, evalue: string, cell?: number } | null,
 *   unknownParameters: string[] }} JobResult
 */

/**
 * Executes notebooks one after the other in one Python process (nbclient, a fresh mmulab kernel
 * per notebook, started in the notebook's own directory), writing each executed notebook and,
 * when asked, its HTML report. Parameters are injected into a temporary copy first.
 * @param {Job[]} jobs
 * @param {{ timeoutSeconds?: number, onResult?: (r: JobResult) => void }} [options]
 * @returns {Promise<JobResult[]>}
 */
export async function executeNotebooks(jobs, options = {}) {
  const missing = missingPrerequisites();
  if (missing !== null) throw new Error(`cannot execute notebooks: ${missing}`);
  const dataDir = await ensureKernelspec();
  const work = mkdtempSync(join(tmpdir(), "mmulab-nbexec-"));
  /** @type {Map<string, string[]>} */
  const unknownByInput = new Map();
  try {
    const spec = {
      kernel: KERNEL_NAME,
      timeout: options.timeoutSeconds ?? 600,
      jobs: jobs.map((job, i) => {
        const input = resolve(job.input);
        let prepared = input;
        if (job.parameters !== undefined && Object.keys(job.parameters).length > 0) {
          const { notebook, unknown } = injectParameters(readNotebook(input), job.parameters);
          prepared = join(work, `${i}-${basename(input)}`);
          writeNotebook(prepared, notebook);
          unknownByInput.set(prepared, unknown);
        }
        return {
          input: prepared,
          output: resolve(job.output),
          html: job.html ? resolve(job.html) : null,
          interactive: job.html && job.interactive ? resolve(job.interactive) : null,
          renderers: STANDALONE_RENDERERS,
          hide_code: job.hideCode === true,
          cwd: dirname(input),
        };
      }),
    };
    const specPath = join(work, "jobs.json");
    writeFileSync(specPath, JSON.stringify(spec));
    const env = {
      ...process.env,
      JUPYTER_PATH: [dataDir, process.env["JUPYTER_PATH"] ?? ""].filter((p) => p !== "").join(":"),
      JUPYTER_RUNTIME_DIR: join(work, "runtime"),
      PYTHONNOUSERSITE: "1",
      PYTHONDONTWRITEBYTECODE: "1",
    };
    return await new Promise((resolvePromise, reject) => {
      const child = spawn(PYTHON, [NBEXEC, specPath], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      /** @type {JobResult[]} */
      const results = [];
      let buffer = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (/** @type {string} */ chunk) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line === "") continue;
          const raw = /** @type {Omit<JobResult, "unknownParameters">} */ (JSON.parse(line));
          const r = { ...raw, unknownParameters: unknownByInput.get(raw.input) ?? [] };
          const job = jobs[results.length];
          if (job !== undefined) r.input = resolve(job.input);
          results.push(r);
          options.onResult?.(r);
        }
      });
      child.stderr.setEncoding("utf8").on("data", (/** @type {string} */ t) => {
        stderr += t;
      });
      child.on("error", reject);
      child.on("close", (status) => {
        if (status !== 0 || results.length !== jobs.length) {
          reject(
            new Error(
              `nbexec.py exited with ${status} after ${results.length} of ${jobs.length} notebooks\n${stderr}`,
            ),
          );
        } else resolvePromise(results);
      });
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A one-line description of a job's outcome.
 * @param {JobResult} r
 */
export function describeResult(r) {
  const name = basename(r.input);
  if (r.failure === null) {
    return `${name}: ok in ${r.seconds.toFixed(1)} s${r.html_seconds !== null ? ` (+${r.html_seconds.toFixed(1)} s HTML)` : ""}`;
  }
  const where = r.failure.cell !== undefined ? ` in cell ${r.failure.cell}` : "";
  return `${name}: FAILED${where} after ${r.seconds.toFixed(1)} s: ${r.failure.ename}: ${r.failure.evalue}`;
}
