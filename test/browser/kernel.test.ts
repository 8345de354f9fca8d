/**
 * End to end on the mmulab kernel: JupyterLab opens a notebook without outputs, runs it on the
 * `mmulab` kernel (.jupyter-data/kernels/mmulab, installed by the bootstrap), and the cells'
 * displayPageTables / displayTimeline / displayPlot outputs are drawn by the renderers.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countStates,
  makePageTable,
  makePlot,
  makeTimeline,
  TREE_SMALL,
} from "../../lab-extension/test/fixtures.js";
import {
  ARTIFACTS,
  type Browser,
  codeCell,
  type Lab,
  launchChromium,
  mmulabNotebook,
  openNotebook,
  requirePrerequisites,
  runAllCells,
  startLab,
} from "./lab.js";

const tree = makePageTable(TREE_SMALL);
const timeline = makeTimeline(120);
const plot = makePlot({ sweep: true });

describe("a notebook run on the mmulab kernel in JupyterLab (Chromium)", () => {
  let lab: Lab;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    requirePrerequisites({ kernel: true });
    const root = join(ARTIFACTS, "kernel-notebooks");
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const notebook = mmulabNotebook([
      codeCell(
        "imports",
        'import { displayPageTables, displayTimeline, displayPlot } from "mmulab";',
      ),
      codeCell("tree", `displayPageTables(${JSON.stringify(tree)});`),
      codeCell("timeline", `displayTimeline(${JSON.stringify(timeline)});`),
      codeCell("plot", `displayPlot(${JSON.stringify(plot)});`),
    ]);
    writeFileSync(join(root, "run.ipynb"), JSON.stringify(notebook));
    lab = await startLab(root);
    browser = await launchChromium();
    page = await openNotebook(lab, browser, "run.ipynb");
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it("runs every cell and the renderers draw the outputs", async () => {
    const ok = await runAllCells(page);
    if (!ok) throw new Error(`a cell failed; server log:\n${lab.log().slice(-3000)}`);
    const el = page.locator(".mmulab-PageTable");
    await el.waitFor({ timeout: 60_000 });
    expect(await el.getAttribute("data-node-count")).toBe(String(countStates(tree).total));
    expect(await el.getAttribute("data-state-reused")).toBe("1");
    const tl = page.locator(".mmulab-Timeline");
    await expect.poll(() => tl.getAttribute("data-plotted"), { timeout: 60_000 }).toBe("true");
    expect(await tl.getAttribute("data-uaf")).toBe("1");
    const pl = page.locator(".mmulab-Plot");
    await expect.poll(() => pl.getAttribute("data-plotted"), { timeout: 60_000 }).toBe("true");
    expect(await pl.getAttribute("data-traces")).toBe("3");
    await page.screenshot({ path: join(ARTIFACTS, "kernel-run.png") });
  }, 180_000);
});
