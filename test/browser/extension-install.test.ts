/**
 * Adding mmulab to a JupyterLab 4 the way lab-extension/README.md tells users to: the prebuilt
 * extension and the kernelspec installed into an environment's prefix (a venv's or conda
 * environment's sys.prefix) with the README's two commands. Here the JupyterLab is the embedded one,
 * started on an empty Jupyter data directory with JUPYTER_PATH naming the prefix's share/jupyter, as
 * Jupyter finds sys.prefix/share/jupyter: before, neither is there; after, the lab lists the
 * extension as installed and enabled, the page loads it, its plugin activates and its renderer
 * draws a saved output, also after a reload; disabled through the extension manager it is listed
 * as disabled and no longer loads; uninstalled it is gone.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeNotebook, makePageTable, TREE_SMALL } from "../../lab-extension/test/fixtures.js";
import {
  type Browser,
  documentReady,
  type Lab,
  launchChromium,
  openLab,
  requirePrerequisites,
  ROOT,
  startLab,
} from "./lab.js";

const NAME = "@mmulab/lab-extension";
const PLUGIN = "@mmulab/lab-extension:live-sweep";
const PAGETABLE = "application/vnd.mmulab.pagetable+json";

interface ListedExtension {
  readonly name: string;
  readonly enabled: boolean;
  readonly installed: boolean;
  readonly pkg_type: string;
  readonly status: string;
}

/** Runs one of the README's commands from the repository root; its output on failure. */
function readmeCommand(command: string, args: string[]): string {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return r.stdout + r.stderr;
}

describe("the extension and kernelspec installed into a JupyterLab's prefix (README commands)", () => {
  let lab: Lab;
  let browser: Browser;
  let work: string;
  let prefix: string;

  async function listed(): Promise<ListedExtension | undefined> {
    const all = await lab.api<ListedExtension[]>("/lab/api/extensions");
    return all.find((e) => e.name === NAME);
  }

  async function kernelNames(): Promise<string[]> {
    const specs = await lab.api<{ kernelspecs: Record<string, unknown> }>("/api/kernelspecs");
    return Object.keys(specs.kernelspecs);
  }

  /** Opens the notebook with a saved page-table output in a new page. */
  function openSaved(): Promise<Page> {
    return openLab(lab, browser, "saved.ipynb", documentReady("saved.ipynb"));
  }

  beforeAll(async () => {
    requirePrerequisites();
    work = mkdtempSync(join(tmpdir(), "mmulab-ext-install-"));
    prefix = join(work, "env"); // stands for sys.prefix or $CONDA_PREFIX
    const data = join(work, "jupyter-data"); // the lab's own data directory: empty
    const root = join(work, "notebooks");
    mkdirSync(data);
    mkdirSync(root);
    const notebook = makeNotebook([
      { [PAGETABLE]: makePageTable(TREE_SMALL), "text/plain": "PageTable(saved)" },
    ]);
    writeFileSync(join(root, "saved.ipynb"), JSON.stringify(notebook));
    lab = await startLab(root, {
      dataDir: data,
      env: { JUPYTER_PATH: join(prefix, "share", "jupyter") },
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("before: neither the extension nor the kernel is there", async () => {
    expect(await listed()).toBeUndefined();
    expect(await kernelNames()).not.toContain("mmulab");
  });

  it("after the README's commands: listed, enabled, loaded and drawing, also after a reload", async () => {
    readmeCommand(process.execPath, [
      join("lab-extension", "scripts", "install.mjs"),
      "--prefix",
      prefix,
    ]);
    readmeCommand(join("node_modules", ".bin", "mmulab"), [
      "kernel",
      "install",
      "--prefix",
      prefix,
    ]);

    expect(await listed()).toEqual(
      expect.objectContaining({
        installed: true,
        enabled: true,
        pkg_type: "prebuilt",
        status: "ok",
      }),
    );
    expect(await kernelNames()).toContain("mmulab");

    const page = await openSaved();
    expect(await page.evaluate("window.mmulabLab.federated.failed")).toEqual([]);
    expect(
      await page.evaluate(`window.jupyterapp.isPluginActivated(${JSON.stringify(PLUGIN)})`),
    ).toBe(true);
    const tree = page.locator(".mmulab-PageTable");
    await tree.waitFor({ timeout: 30_000 });
    const nodes = await tree.getAttribute("data-node-count");
    expect(Number(nodes)).toBeGreaterThan(0);
    await page.reload();
    await page.waitForFunction(documentReady("saved.ipynb"), null, { timeout: 60_000 });
    await page.locator(".mmulab-PageTable").waitFor({ timeout: 30_000 });
    expect(await page.locator(".mmulab-PageTable").getAttribute("data-node-count")).toBe(nodes);
    await page.close();
  }, 120_000);

  it("disabled through the extension manager, it is listed as disabled and does not load", async () => {
    const post = (cmd: string) =>
      lab.api("/lab/api/extensions", {
        method: "POST",
        body: JSON.stringify({ cmd, extension_name: NAME }),
      });
    await post("disable");
    expect((await listed())?.enabled).toBe(false);
    const page = await openSaved();
    expect(await page.evaluate("window.mmulabLab.disabled")).toContain(PLUGIN);
    expect(
      await page.evaluate(`window.jupyterapp.isPluginActivated(${JSON.stringify(PLUGIN)})`),
    ).toBe(false);
    // The saved output falls back to its text: no mmulab renderer is registered.
    await page.locator(".jp-OutputArea-output", { hasText: "PageTable(saved)" }).waitFor();
    expect(await page.locator(".mmulab-PageTable").count()).toBe(0);
    await page.close();
    await post("enable");
    expect((await listed())?.enabled).toBe(true);
  }, 120_000);

  it("uninstalled, it is gone", async () => {
    readmeCommand(process.execPath, [
      join("lab-extension", "scripts", "install.mjs"),
      "--prefix",
      prefix,
      "--uninstall",
    ]);
    expect(await listed()).toBeUndefined();
  });
});
