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
      // 60,000 spans: published reduced; zooms ask the kernel over mmulab.timeline
      codeCell(
        "big-timeline",
        [
          "const bigSpans = [];",
          "for (let i = 0; i < 60_000; i++)",
          "  bigSpans.push({ lane: `cpu${i % 2}`, start: (i >> 1) * 1000, end: (i >> 1) * 1000 + 600,",
          '    kind: i % 3 === 0 ? "gup-walk" : "flush-wait", label: `span ${i}` });',
          'displayTimeline({ version: 1, title: "big", unit: "ns",',
          '  lanes: [{ id: "cpu0", label: "CPU 0" }, { id: "cpu1", label: "CPU 1" }],',
          "  spans: bigSpans, instants: [], arrows: [] });",
        ].join("\n"),
      ),
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
    const tl = page.locator(".mmulab-Timeline").first();
    await expect.poll(() => tl.getAttribute("data-plotted"), { timeout: 60_000 }).toBe("true");
    expect(await tl.getAttribute("data-uaf")).toBe("1");
    const pl = page.locator(".mmulab-Plot");
    await expect.poll(() => pl.getAttribute("data-plotted"), { timeout: 60_000 }).toBe("true");
    expect(await pl.getAttribute("data-traces")).toBe("3");
    await page.screenshot({ path: join(ARTIFACTS, "kernel-run.png") });
  }, 180_000);

  it("publishes a big timeline reduced and fetches a zoomed window's exact spans from the kernel", async () => {
    const big = page.locator('.mmulab-Timeline[data-reduced="true"]');
    await expect.poll(() => big.getAttribute("data-plotted"), { timeout: 60_000 }).toBe("true");
    expect(await big.getAttribute("data-spans")).toBe("60000");
    const canvas = big.locator("canvas");
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    // drag across the right half of the plot: outside the exact window the payload carries
    const y = box.y + 20;
    await page.mouse.move(box.x + box.width * 0.7, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.72, y, { steps: 4 });
    await page.mouse.up();
    await expect
      .poll(() => big.getAttribute("data-exact-from"), { timeout: 30_000 })
      .not.toBeNull();
    const from = Number(await big.getAttribute("data-exact-from"));
    expect(from).toBeGreaterThan(15_000_000); // the payload's exact window is the run's start
    expect(await big.locator(".mmulab-Timeline-status").textContent()).not.toContain("summary");
    await big.screenshot({ path: join(ARTIFACTS, "timeline-kernel-zoom.png") });
  }, 120_000);
});
