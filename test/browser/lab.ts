/**
 * Helpers for the browser tests and benchmarks: start JupyterLab (lab-app, served by Debian's
 * jupyter_server through lab-app/serve.py) on a free port with private settings and workspaces,
 * launch Debian's Chromium through playwright-core with a fresh profile, and open JupyterLab or a
 * notebook in it. Conditions on the page are JavaScript strings (these files have no DOM types);
 * the app is `window.jupyterapp` (serve.py's expose_app_in_browser) and lab-app's start-up record
 * `window.mmulabLab`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../kernel/src/notebook-kernel/client.js";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const CHROMIUM = process.env["MMULAB_CHROMIUM"] ?? "/usr/bin/chromium";
export const PYTHON = process.env["MMULAB_PYTHON"] ?? "/usr/bin/python3";
export const SERVE = join(ROOT, "lab-app", "serve.py");
export const LAB_BUILD = join(ROOT, "lab-app", "dist", "static", "index.html");
export const INSTALLED_EXTENSION = join(
  ROOT,
  ".jupyter-data",
  "labextensions",
  "@mmulab",
  "lab-extension",
  "package.json",
);
export const ARTIFACTS = join(ROOT, "test-artifacts", "browser");

/**
 * Copies a screenshot taken by a test to docs/screenshots/<name>.png, which the README shows —
 * only with MMULAB_UPDATE_SCREENSHOTS=1, so that a plain test run leaves the tree as it found it.
 */
export function updateDocsScreenshot(file: string, name: string): void {
  if (process.env["MMULAB_UPDATE_SCREENSHOTS"] !== "1") return;
  const docs = join(ROOT, "docs", "screenshots");
  mkdirSync(docs, { recursive: true });
  copyFileSync(file, join(docs, `${name}.png`));
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** What is missing for the browser tests, each with the command that fixes it. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(CHROMIUM)) {
    missing.push(`${CHROMIUM} (apt-get install --no-install-recommends chromium)`);
  }
  if (!existsSync("/usr/lib/python3/dist-packages/jupyterlab_server")) {
    missing.push(
      "Debian's jupyterlab_server (apt-get install --no-install-recommends python3-jupyter-server python3-jupyterlab-server)",
    );
  }
  if (!existsSync(LAB_BUILD)) missing.push(`${LAB_BUILD} (npm run build)`);
  if (!existsSync(INSTALLED_EXTENSION)) missing.push(`${INSTALLED_EXTENSION} (npm run build)`);
  return missing;
}

/** The mmulab kernelspec the npm test bootstrap installs. */
export const MMULAB_KERNELSPEC = join(ROOT, ".jupyter-data", "kernels", "mmulab", "kernel.json");

/** Throws, naming each missing piece and its fix, unless the browser tests can run (and, with
 * `kernel`, the mmulab kernelspec is installed). */
export function requirePrerequisites(o: { kernel?: boolean } = {}): void {
  const missing = missingPrerequisites();
  if (o.kernel === true && !existsSync(MMULAB_KERNELSPEC))
    missing.push(`${MMULAB_KERNELSPEC} (the npm test bootstrap installs it)`);
  if (missing.length > 0)
    throw new Error(
      `browser tests need:\n  ${missing.join("\n  ")}\n(npm test installs and builds them)`,
    );
}

/** An nbformat 4 code cell with no outputs. */
export function codeCell(id: string, source: string): Record<string, unknown> {
  return { id, cell_type: "code", metadata: {}, execution_count: null, source, outputs: [] };
}

/** An nbformat 4 notebook on the mmulab kernel. */
export function mmulabNotebook(cells: Record<string, unknown>[]): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "mmulab", display_name: "mmulab (TypeScript)", language: "typescript" },
    },
    cells,
  };
}

export interface Lab {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Server output so far (for failure messages). */
  log(): string;
  /** GET (or `init`) a server path such as `/api/kernels` with the token; the parsed JSON. */
  api<T = unknown>(path: string, init?: RequestInit): Promise<T>;
  stop(): Promise<void>;
}

export interface LabOptions {
  /** The Jupyter data directory serve.py uses instead of the project's .jupyter-data. */
  readonly dataDir?: string;
  /** Extra environment (e.g. JUPYTER_PATH) and server flags. */
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  readonly timeoutMs?: number;
}

/** Starts serve.py on a free port with `rootDir` as its notebook directory, and user settings
 * and workspaces in a temporary directory of its own (removed on stop). */
export async function startLab(rootDir: string, options: LabOptions = {}): Promise<Lab> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const port = await freePort();
  const token = `mmulab-test-${process.pid}-${port}`;
  const state = mkdtempSync(join(tmpdir(), "mmulab-lab-state-"));
  mkdirSync(join(state, "settings"));
  mkdirSync(join(state, "workspaces"));
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.dataDir !== undefined) env["MMULAB_JUPYTER_DATA"] = options.dataDir;
  const child: ChildProcess = spawn(
    PYTHON,
    [
      SERVE,
      `--port=${port}`,
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${rootDir}`,
      "--MmulabLabApp.expose_app_in_browser=True",
      `--MmulabLabApp.user_settings_dir=${join(state, "settings")}`,
      `--MmulabLabApp.workspaces_dir=${join(state, "workspaces")}`,
      ...(options.args ?? []),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env },
  );
  let output = "";
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    }).finally(() => rmSync(state, { recursive: true, force: true }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`serve.py did not get ready in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const check = (): void => {
      const m = /mmulab-lab: ready at (\S+)/.exec(output);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.py exited (${code}) before it was ready:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const origin = new URL(url).origin;
  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${origin}${path}`, {
      ...init,
      headers: { Authorization: `token ${token}`, ...init.headers },
    });
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${response.status}`);
    const text = await response.text();
    return (text === "" ? null : JSON.parse(text)) as T;
  };
  return { url, port, token, origin, log: () => output, api, stop };
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile directory removed on close. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "mmulab-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The current main-area widget is the notebook `path` (relative to the server root), loaded,
 * with its kernel connected.
 */
export function notebookReady(path: string): string {
  return `(() => {
    const w = window.jupyterapp.shell.currentWidget;
    if (!w || !w.context || w.context.path !== ${JSON.stringify(path)} || !w.context.isReady) return false;
    const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
  })()`;
}

/** The current main-area widget is the document `path`, loaded (its kernel may still start). */
export function documentReady(path: string): string {
  return `(() => {
    const w = window.jupyterapp.shell.currentWidget;
    return !!w && !!w.context && w.context.path === ${JSON.stringify(path)} && w.context.isReady;
  })()`;
}

/**
 * Opens JupyterLab at `path` (a file in the lab's root, opened in a tab; none: the launcher) on a
 * new page and waits until it is restored and `ready` (a JavaScript condition) holds. `onPage`
 * runs before the navigation, so listeners it adds see the start-up.
 */
export async function openLab(
  lab: Lab,
  browser: Browser,
  path: string | null,
  ready = "true",
  onPage?: (page: Page) => void,
): Promise<Page> {
  const page = await browser.context.newPage();
  onPage?.(page);
  const url = new URL(lab.url);
  if (path !== null) url.pathname = `${url.pathname}/tree/${path}`;
  await page.goto(url.toString());
  await page.waitForFunction("window.mmulabLab !== undefined", null, { timeout: 60_000 });
  await page.evaluate("window.mmulabLab.restored.then(() => true)");
  await page.waitForFunction(ready, null, { timeout: 60_000 });
  return page;
}

/** Opens the notebook `path` and waits until its kernel is connected and idle. */
export function openNotebook(
  lab: Lab,
  browser: Browser,
  path: string,
  onPage?: (page: Page) => void,
): Promise<Page> {
  return openLab(lab, browser, path, notebookReady(path), onPage);
}

/** Runs every cell of the current notebook (JupyterLab's "Run All Cells"); false when one failed. */
export function runAllCells(page: Page): Promise<boolean> {
  return page.evaluate<boolean>(
    `window.jupyterapp.commands.execute("notebook:run-all-cells").then((ok) => ok === true)`,
  );
}

/** Dismisses JupyterLab's "Select Kernel" dialog (shown when the notebook's kernel is absent). */
export async function dismissKernelDialog(page: Page): Promise<void> {
  const noKernel = page.locator(".jp-Dialog button", { hasText: "No Kernel" });
  try {
    await noKernel.first().click({ timeout: 5000 });
  } catch (_error) {
    // No dialog: the kernel exists or the notebook names none.
  }
}
