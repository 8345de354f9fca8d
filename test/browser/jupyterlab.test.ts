/**
 * JupyterLab (lab-app on Debian's jupyter_server) driven as a user drives it, in Chromium, on the
 * mmulab kernel: two notebooks in visible tabs, Tab completion of a mmulab name, Shift+Tab inside
 * a call's parentheses, a Markdown cell rendered, Run All from the Run menu on a project notebook,
 * a restart from the Kernel menu, a kernel shut down from the running-kernels panel, README.md
 * opened. Screenshots go to test-artifacts/browser/ and, for the README, docs/screenshots/ (with
 * MMULAB_UPDATE_SCREENSHOTS=1).
 *
 * The tests share one server and one page and run in order: each continues from the last.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ARTIFACTS,
  type Browser,
  codeCell,
  type Lab,
  launchChromium,
  mmulabNotebook,
  notebookReady,
  openLab,
  requirePrerequisites,
  ROOT,
  startLab,
  updateDocsScreenshot,
} from "./lab.js";

const RACE = "01-the-race.ipynb";

interface KernelModel {
  readonly id: string;
}

describe("JupyterLab as a user drives it (Chromium, mmulab kernel)", () => {
  let lab: Lab;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  /** A screenshot into test-artifacts/browser and, with `docs` (and MMULAB_UPDATE_SCREENSHOTS=1),
   * docs/screenshots: of the page,
   * or of the top `height` pixels of `target`. */
  async function shot(name: string, docs = false, target?: Locator, height = 0): Promise<void> {
    const file = join(ARTIFACTS, `${name}.png`);
    const box = target === undefined ? null : await target.boundingBox();
    const clip = box === null ? undefined : { ...box, height: height || box.height };
    await page.screenshot({ path: file, ...(clip === undefined ? {} : { clip }) });
    if (docs) updateDocsScreenshot(file, name);
  }

  /** Opens a file of the root by double-clicking it in the file browser. */
  async function openFromFileBrowser(name: string): Promise<void> {
    await page.evaluate(`window.jupyterapp.commands.execute("filebrowser:activate")`);
    const item = page.locator(".jp-DirListing-item", {
      has: page.locator(".jp-DirListing-itemText", { hasText: new RegExp(`^${name}$`) }),
    });
    await item.dblclick();
  }

  /** The open notebook `path` has focus, its kernel idle. */
  async function notebookActive(path: string): Promise<void> {
    await page.waitForFunction(notebookReady(path), null, { timeout: 60_000 });
  }

  /** The text of the active cell's editor. */
  function activeCellText(): Promise<string> {
    return page.evaluate<string>(
      "window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.getSource()",
    );
  }

  /** Clicks a top menu, then an item of it (by its label). */
  async function menu(top: string, item: RegExp): Promise<void> {
    await page.locator(".lm-MenuBar-itemLabel", { hasText: new RegExp(`^${top}$`) }).click();
    await page.locator(".lm-Menu-itemLabel", { hasText: item }).first().click();
  }

  /** Types `source` into a new code cell at the end of the current notebook (edit mode). */
  async function newCodeCell(source: string): Promise<void> {
    await page.evaluate(`(() => {
      const nb = window.jupyterapp.shell.currentWidget.content;
      nb.activeCellIndex = nb.widgets.length - 1;
      nb.mode = "command";
    })()`);
    await page.keyboard.press("b"); // command mode: insert a cell below
    await page.keyboard.press("Enter"); // edit it
    await page.keyboard.type(source);
  }

  /** Runs the active cell in place (Ctrl+Enter) and waits until it has run: a new execution
   * count, and the kernel idle again. */
  async function runActiveCell(): Promise<void> {
    const cell = "window.jupyterapp.shell.currentWidget.content.activeCell";
    const path = await page.evaluate<string>("window.jupyterapp.shell.currentWidget.context.path");
    await page.evaluate(`${cell}.model.executionCount = null`);
    await page.keyboard.press("Control+Enter");
    await page.waitForFunction(`${cell}.model.executionCount !== null`, null, { timeout: 60_000 });
    await notebookActive(path);
  }

  beforeAll(async () => {
    requirePrerequisites({ kernel: true });
    const root = join(ARTIFACTS, "jupyterlab-notebooks");
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    copyFileSync(join(ROOT, "notebooks", RACE), join(root, RACE));
    copyFileSync(join(ROOT, "notebooks", "README.md"), join(root, "README.md"));
    for (const name of ["first", "second"]) {
      writeFileSync(
        join(root, `${name}.ipynb`),
        JSON.stringify(mmulabNotebook([codeCell("setup", 'import * as mmulab from "mmulab";')])),
      );
    }
    lab = await startLab(root);
    browser = await launchChromium();
    page = await openLab(lab, browser, null, "true", (p) =>
      p.on("pageerror", (e) => pageErrors.push(e.message)),
    );
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it("starts JupyterLab's core plugins and mmulab's extension", async () => {
    expect(await page.evaluate("window.mmulabLab.failedModules")).toEqual([]);
    expect(await page.evaluate("window.mmulabLab.federated.failed")).toEqual([]);
    const activated = await page.evaluate<Record<string, boolean>>(`(() => {
      const ids = ${JSON.stringify([
        "@jupyterlab/application-extension:main",
        "@jupyterlab/notebook-extension:tracker",
        "@jupyterlab/completer-extension:manager",
        "@jupyterlab/tooltip-extension:notebooks",
        "@jupyterlab/mainmenu-extension:plugin",
        "@jupyterlab/apputils-extension:palette",
        "@jupyterlab/running-extension:plugin",
        "@jupyterlab/launcher-extension:plugin",
        "@jupyterlab/filebrowser-extension:browser",
        "@jupyterlab/fileeditor-extension:plugin",
        "@jupyterlab/markdownviewer-extension:plugin",
        "@jupyterlab/toc-extension:registry",
        "@jupyterlab/settingeditor-extension:form-ui",
        "@jupyterlab/apputils-extension:themes",
        "@jupyterlab/help-extension:about",
        "@jupyterlab/terminal-extension:plugin",
        "@jupyterlab/console-extension:tracker",
        "@mmulab/lab-extension:live-sweep",
      ])};
      return Object.fromEntries(ids.map((id) => [id, window.jupyterapp.isPluginActivated(id)]));
    })()`);
    expect(Object.entries(activated).filter(([, on]) => !on)).toEqual([]);
    // Not only those: every plugin registered (the 51 core extension packages' and mmulab's) is
    // activated, and only the announcements plugin, which needs the `jupyterlab` package's
    // handlers, is disabled (lab-extension/README.md says why for each core plugin that cannot
    // work on Debian's server).
    const registered = await page.evaluate<string[]>("window.jupyterapp.listPlugins()");
    expect(registered.length).toBeGreaterThan(200);
    expect(
      await page.evaluate<string[]>(
        "window.jupyterapp.listPlugins().filter((id) => !window.jupyterapp.isPluginActivated(id))",
      ),
    ).toEqual([]);
    expect(await page.evaluate("window.mmulabLab.disabled")).toEqual([
      "@jupyterlab/apputils-extension:announcements",
    ]);
    // The menu bar and the left sidebar are there.
    for (const top of ["File", "Edit", "View", "Run", "Kernel", "Tabs", "Settings", "Help"]) {
      await expect
        .poll(() => page.locator(".lm-MenuBar-itemLabel", { hasText: top }).count())
        .toBeGreaterThan(0);
    }
  });

  it("opens two notebooks in visible tabs", async () => {
    await openFromFileBrowser("first.ipynb");
    await notebookActive("first.ipynb");
    await openFromFileBrowser("second.ipynb");
    await notebookActive("second.ipynb");
    const tabs = page.locator(".jp-MainAreaWidget-tab, #jp-main-dock-panel .lm-TabBar-tab");
    for (const name of ["first.ipynb", "second.ipynb"]) {
      const tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", { hasText: name });
      await expect.poll(() => tab.isVisible()).toBe(true);
      const box = await tab.boundingBox();
      expect(box?.height ?? 0).toBeGreaterThan(15);
      expect(box?.width ?? 0).toBeGreaterThan(40);
    }
    expect(await tabs.count()).toBeGreaterThanOrEqual(2);
    // Clicking the first tab brings its notebook back.
    await page.locator("#jp-main-dock-panel .lm-TabBar-tab", { hasText: "first.ipynb" }).click();
    await notebookActive("first.ipynb");
    await shot("two-notebooks");
  });

  it("completes a mmulab name with Tab (the kernel's completion)", async () => {
    await page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first().click();
    await runActiveCell(); // import * as mmulab from "mmulab"
    await newCodeCell("mmulab.run");
    await page.keyboard.press("Tab");
    const completer = page.locator(".jp-Completer:not(.lm-mod-hidden)");
    await completer.waitFor({ state: "visible", timeout: 30_000 });
    const items = await completer.locator(".jp-Completer-item").allTextContents();
    expect(items.join(" ")).toContain("runTrial");
    expect(items.join(" ")).toContain("runRaceMatrix");
    await shot("completion", true, page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)"), 360);
    await completer
      .locator(".jp-Completer-item", { hasText: /^\s*runTrial\b/ })
      .first()
      .click();
    expect(await activeCellText()).toBe("mmulab.runTrial");
  }, 90_000);

  /** Presses Shift+Tab and returns the text of the tooltip it opens (a signature and doc). */
  async function tooltipText(): Promise<string> {
    const code = await activeCellText();
    await page.keyboard.press("Shift+Tab");
    const tooltip = page.locator(".jp-Tooltip");
    try {
      await tooltip.waitFor({ state: "visible", timeout: 15_000 });
    } catch (error) {
      // JupyterLab shows no tooltip when the kernel's inspect_reply says found: false.
      throw new Error(`Shift+Tab in ${JSON.stringify(code)} opened no tooltip`, { cause: error });
    }
    return (await tooltip.textContent()) ?? "";
  }

  it("shows runTrial's signature with Shift+Tab on the name", async () => {
    // The cursor is at the end of "mmulab.runTrial", where the completion left it.
    const shown = await tooltipText();
    expect(shown).toContain("function runTrial(opts: mmulab.TrialOptions)");
    await shot("tooltip", true, page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)"), 160);
    await page.keyboard.press("Escape"); // closes the tooltip, stays in the editor
  }, 90_000);

  it("shows runTrial's signature with Shift+Tab right after `runTrial(`", async () => {
    // Back into the cell's editor, at the end of "mmulab.runTrial".
    await page
      .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active .cm-content")
      .click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("(");
    // CodeMirror closes the bracket: put the cursor right after "(".
    if ((await activeCellText()).endsWith(")")) await page.keyboard.press("ArrowLeft");
    expect(await activeCellText()).toMatch(/^mmulab\.runTrial\(\)?$/);
    const shown = await tooltipText();
    expect(shown).toContain("function runTrial(opts: mmulab.TrialOptions)");
    await page.keyboard.press("Escape");
  }, 90_000);

  it("renders a Markdown cell", async () => {
    await page.keyboard.press("Escape"); // command mode
    await page.keyboard.press("b");
    await page.keyboard.press("m"); // Markdown
    await page.keyboard.press("Enter");
    await page.keyboard.type("# Freed after a grace period\n\nThe walker runs with **IRQs off**.");
    await page.keyboard.press("Shift+Enter");
    const rendered = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown").last();
    await expect.poll(() => rendered.locator("h1").textContent()).toContain("Freed after a grace");
    expect(await rendered.locator("strong").textContent()).toBe("IRQs off");
  });

  it("runs a project notebook with Run > Run All Cells", async () => {
    await openFromFileBrowser(RACE);
    await notebookActive(RACE);
    await menu("Run", /^Run All Cells$/);
    // Every code cell ran once, in order, without an error.
    await page.waitForFunction(
      `(() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const code = nb.widgets.filter((c) => c.model.type === "code");
        return code.length > 0 && code.every((c) => c.model.executionCount !== null) &&
          window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === "idle";
      })()`,
      null,
      { timeout: 180_000, polling: 500 },
    );
    const counts = await page.evaluate<number[]>(`window.jupyterapp.shell.currentWidget.content
      .widgets.filter((c) => c.model.type === "code").map((c) => c.model.executionCount)`);
    expect(counts).toEqual(counts.map((_, i) => i + 1));
    expect(
      await page
        .locator(
          ".jp-OutputArea-output.jp-mod-error, [data-mime-type='application/vnd.jupyter.error']",
        )
        .count(),
    ).toBe(0);
    const tree = page.locator(".mmulab-PageTable").first();
    await tree.waitFor({ timeout: 60_000 });
    expect(Number(await tree.getAttribute("data-node-count"))).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('.mmulab-Timeline[data-plotted="true"]').count(), {
        timeout: 60_000,
      })
      .toBeGreaterThan(0);
    await tree.scrollIntoViewIfNeeded();
    await page.mouse.move(0, 0);
    await shot("jupyterlab", true);
  }, 240_000);

  it("restarts the kernel from Kernel > Restart Kernel…", async () => {
    await page.locator("#jp-main-dock-panel .lm-TabBar-tab", { hasText: "second.ipynb" }).click();
    await notebookActive("second.ipynb");
    const output = (): Promise<string> =>
      page.evaluate<string>(
        "window.jupyterapp.shell.currentWidget.content.activeCell.outputArea.node.textContent",
      );
    const probe = 'console.log(String((globalThis as Record<string, unknown>)["beforeRestart"]));';
    await newCodeCell(`(globalThis as Record<string, unknown>)["beforeRestart"] = 41; ${probe}`);
    await runActiveCell();
    await expect.poll(output, { timeout: 30_000 }).toContain("41");
    const before = await page.evaluate<string>(
      "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id",
    );
    await menu("Kernel", /^Restart Kernel…$/);
    await page.locator(".jp-Dialog button", { hasText: /^Restart$/ }).click();
    await notebookActive("second.ipynb");
    await newCodeCell(probe);
    await runActiveCell();
    await expect.poll(output, { timeout: 30_000 }).toContain("undefined");
    // Same kernel, fresh state: the cell's execution count starts again at 1.
    expect(
      await page.evaluate<string>(
        "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id",
      ),
    ).toBe(before);
    expect(
      await page.evaluate<number>(
        "window.jupyterapp.shell.currentWidget.content.activeCell.model.executionCount",
      ),
    ).toBe(1);
  }, 90_000);

  it("shuts a kernel down from the running-kernels panel", async () => {
    expect((await lab.api<KernelModel[]>("/api/kernels")).length).toBe(3); // first, second, race
    const target = await page.evaluate<string>(
      "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id",
    );
    await page.evaluate(`window.jupyterapp.commands.execute("running:show-panel")`);
    const panel = page.locator("#jp-running-sessions");
    await panel.waitFor({ state: "visible" });
    // The Kernels section lists each kernel as "<notebook> (<first 8 hex digits of its id>)".
    const item = panel.locator(".jp-RunningSessions-item", {
      has: page.locator(":scope > .jp-RunningSessions-itemLabel", {
        hasText: `(${target.slice(0, 8)})`,
      }),
    });
    await item.waitFor({ timeout: 30_000 });
    // For the screenshot, only the Kernels section open, so that all three kernels show.
    const otherOpen = panel.locator(".lm-AccordionPanel-title[aria-expanded='true']", {
      hasNotText: /^\s*kernels/i,
    });
    while ((await otherOpen.count()) > 0) await otherOpen.first().click();
    // One entry per kernel the server runs, each "<notebook> (<8 hex digits of its id>)".
    const kernelLabels = panel.locator(".jp-RunningSessions-itemLabel", {
      hasText: /\([0-9a-f]{8}\)/,
    });
    await expect.poll(() => kernelLabels.count()).toBe(3);
    await shot("running", true);
    await item.hover();
    const shutdown = item.locator(":scope > .jp-RunningSessions-itemShutdown");
    expect(await shutdown.getAttribute("title")).toBe("Shut Down");
    await shutdown.click();
    await expect
      .poll(async () => (await lab.api<KernelModel[]>("/api/kernels")).map((k) => k.id), {
        timeout: 30_000,
      })
      .not.toContain(target);
    expect((await lab.api<KernelModel[]>("/api/kernels")).length).toBe(2);
    await expect.poll(() => item.count()).toBe(0);
    await expect.poll(() => kernelLabels.count()).toBe(2);
  }, 90_000);

  it("opens README.md, as text and as a rendered Markdown preview", async () => {
    await openFromFileBrowser("README.md");
    const tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", { hasText: "README.md" });
    await expect.poll(() => tab.isVisible()).toBe(true);
    const editor = page.locator(".jp-FileEditor .cm-content").first();
    await expect.poll(() => editor.textContent()).toContain("# notebooks");
    await page.evaluate(
      `window.jupyterapp.commands.execute("markdownviewer:open", { path: "README.md" }).then(() => true)`,
    );
    const preview = page.locator(".jp-MarkdownViewer .jp-RenderedMarkdown").first();
    // The heading, and JupyterLab's anchor link after it.
    await expect.poll(() => preview.locator("h1").first().textContent()).toMatch(/^notebooks¶?$/);
    expect(await preview.locator("table").count()).toBeGreaterThan(0);
    // JupyterLab 4.6's debugger extension calls displayModules() on every execute_reply and, for a
    // kernel without debugger support (the mmulab kernel), that rejects unhandled: upstream noise.
    expect(pageErrors.filter((e) => e !== "No active debugger session")).toEqual([]);
  }, 90_000);
});
