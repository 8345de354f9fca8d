/**
 * Helpers for the browser tests and benchmarks: start the mmulab notebook app (Debian's
 * jupyter_server running lab-extension/app/serve.py) on a free port, and launch Debian's
 * Chromium through playwright-core with a fresh profile.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../kernel/src/notebook-kernel/client.js";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const CHROMIUM = process.env["MMULAB_CHROMIUM"] ?? "/usr/bin/chromium";
export const PYTHON = process.env["MMULAB_PYTHON"] ?? "/usr/bin/python3";
export const SERVE = join(ROOT, "lab-extension", "app", "serve.py");
export const APP_BUILD = join(ROOT, "lab-extension", "dist", "app", "main.js");
export const INSTALLED_EXTENSION = join(
  ROOT,
  ".jupyter-data",
  "labextensions",
  "@mmulab",
  "lab-extension",
  "package.json",
);
export const ARTIFACTS = join(ROOT, "test-artifacts", "browser");

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
  if (!existsSync(APP_BUILD)) missing.push(`${APP_BUILD} (npm run build)`);
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
      `browser tests need:\n  ${missing.join("\n  ")}\n(.ci/run installs them; npm test builds the rest)`,
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
  /** Server output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts serve.py on a free port with `rootDir` as its notebook directory. */
export async function startLab(rootDir: string, timeoutMs = 60_000): Promise<Lab> {
  const port = await freePort();
  const token = `mmulab-test-${process.pid}-${port}`;
  const child: ChildProcess = spawn(
    PYTHON,
    [SERVE, `--port=${port}`, `--ServerApp.token=${token}`, `--ServerApp.root_dir=${rootDir}`],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
  );
  let output = "";
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
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
  return { url, port, token, log: () => output, stop };
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

/** The app has opened its notebook (`ready` for {@link openNotebook}). */
export const NOTEBOOK_OPEN = "window.mmulabApp && window.mmulabApp.current() !== null";

/**
 * Opens `notebook` (a file in the lab's root) in the app on a new page and waits until `ready`
 * (a JavaScript condition on the page) holds. `onPage` runs before the navigation, so listeners
 * it adds see the app's start-up.
 */
export async function openNotebook(
  lab: Lab,
  browser: Browser,
  notebook: string,
  ready: string,
  onPage?: (page: Page) => void,
): Promise<Page> {
  const page = await browser.context.newPage();
  onPage?.(page);
  const url = new URL(lab.url);
  url.pathname = `${url.pathname}/tree/${notebook}`;
  await page.goto(url.toString());
  await page.waitForFunction(ready, null, { timeout: 60_000 });
  return page;
}
