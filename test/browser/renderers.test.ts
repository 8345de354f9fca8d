/**
 * End to end in a real browser: JupyterLab (lab-app, served by Debian's jupyter_server) opens a
 * notebook whose outputs are saved in the .ipynb, loads the prebuilt extension from the
 * labextensions path through module federation, as any JupyterLab 4 does, and the three renderers
 * draw the outputs. Screenshots go to test-artifacts/browser/ and, one per renderer, to
 * docs/screenshots/ (with MMULAB_UPDATE_SCREENSHOTS=1).
 *
 * Needs Debian's chromium, python3-jupyter-server and python3-jupyterlab-server and the build
 * (the pretest bootstrap installs and builds them).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countStates,
  HOSTILE,
  makeNotebook,
  makePageTable,
  makePlot,
  makeTimeline,
  TREE_10K,
  TREE_SMALL,
} from "../../lab-extension/test/fixtures.js";
import {
  ARTIFACTS,
  type Browser,
  dismissKernelDialog,
  documentReady,
  type Lab,
  launchChromium,
  openLab,
  requirePrerequisites,
  startLab,
  updateDocsScreenshot,
} from "./lab.js";

const PAGETABLE = "application/vnd.mmulab.pagetable+json";
const TIMELINE = "application/vnd.mmulab.timeline+json";
const PLOT = "application/vnd.mmulab.plot+json";

const tree = makePageTable(TREE_10K);
const expected = countStates(tree);
const timeline = makeTimeline(400);
const plot = makePlot({ sweep: true });
const fallback = "<b class='mmulab-fallback'>static fallback</b>";

describe("renderers in JupyterLab (Chromium)", () => {
  let lab: Lab;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    requirePrerequisites();
    const root = join(ARTIFACTS, "notebooks");
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const notebook = makeNotebook([
      { [PAGETABLE]: tree, "text/plain": "PageTable(mm 1)", "text/html": fallback },
      { [TIMELINE]: timeline, "text/plain": "Timeline", "text/html": fallback },
      { [PLOT]: plot, "text/plain": "Plot", "text/html": fallback },
      // The same with markup in every label.
      { [PAGETABLE]: makePageTable(TREE_SMALL, { hostile: true }), "text/plain": "hostile tree" },
      { [TIMELINE]: makeTimeline(50, { hostile: true }), "text/plain": "hostile timeline" },
      { [PLOT]: makePlot({ sweep: true, hostile: true }), "text/plain": "hostile plot" },
      { [PLOT]: { version: 99, data: [] }, "text/plain": "a payload from the future" },
    ]);
    writeFileSync(join(root, "renderers.ipynb"), JSON.stringify(notebook));
    lab = await startLab(root);
    browser = await launchChromium();
    page = await openLab(lab, browser, "renderers.ipynb", documentReady("renderers.ipynb"), (p) =>
      p.on("pageerror", (e) => errors.push(e.message)),
    );
    await dismissKernelDialog(page);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it("loads the prebuilt extension through module federation", async () => {
    expect(await page.evaluate("window.mmulabLab.federated.failed")).toEqual([]);
    expect(
      await page.evaluate<string[]>("window.mmulabLab.federated.mime.map((m) => m.name)"),
    ).toContain("@mmulab/lab-extension");
    // The notebook's renderers prefer each mmulab type over the HTML and text fallbacks.
    const preferred = await page.evaluate<string[]>(`(() => {
      const rm = window.jupyterapp.shell.currentWidget.content.rendermime;
      return ${JSON.stringify([PAGETABLE, TIMELINE, PLOT])}.map((m) =>
        rm.preferredMimeType({ [m]: {}, "text/html": "<b>x</b>", "text/plain": "x" }, "any"));
    })()`);
    expect(preferred).toEqual([PAGETABLE, TIMELINE, PLOT]);
  });

  it("draws the page-table tree with its node count and states", async () => {
    await page.locator(".mmulab-PageTable").first().waitFor({ timeout: 30_000 });
    expect(await page.locator(".mmulab-PageTable").count()).toBe(2);
    const el = page.locator(".mmulab-PageTable").first();
    expect(await el.getAttribute("data-node-count")).toBe(String(expected.total));
    for (const [state, n] of Object.entries(expected.byState)) {
      const attr = `data-state-${state}`;
      expect(await el.getAttribute(attr), attr).toBe(String(n));
      const legend = el.locator(`.mmulab-PageTable-legendItem[data-state="${state}"]`);
      expect(await legend.textContent()).toBe(`${state} ${n.toLocaleString("en-US")}`);
    }
    expect(expected.total).toBeGreaterThan(10_000);
    // The walker's path is expanded and highlighted; the reused table it ends in is drawn.
    expect(await el.locator(".mmulab-PageTable-onWalkerPath").count()).toBe(4);
    expect(await el.locator('.mmulab-PageTable-row[data-state="reused"]').count()).toBe(1);
    // Virtualised: far fewer rows in the DOM than visible rows after expanding everything.
    await el.locator('button[data-level="page"]').click();
    expect(await el.getAttribute("data-visible-rows")).toBe(String(expected.total + 1));
    expect(await el.locator(".mmulab-PageTable-row").count()).toBeLessThan(100);
    await el.locator('button[data-level="pmd"]').click();
    expect(Number(await el.getAttribute("data-visible-rows"))).toBeLessThan(40);
    await el.locator("button", { hasText: "walker path" }).click();
    // Hover shows the frame's history.
    await el.locator('.mmulab-PageTable-row[data-state="reused"]').hover();
    const tip = el.locator(".mmulab-PageTable-tooltip");
    await expect.poll(() => tip.isVisible()).toBe(true);
    expect(await tip.textContent()).toContain("alloc as page cache");
    await el.screenshot({ path: join(ARTIFACTS, "pagetable.png") });
  });

  it("draws the timeline with lanes, IPI arrows and the use-after-free marker", async () => {
    const el = page.locator(".mmulab-Timeline").first();
    await expect.poll(() => el.getAttribute("data-plotted"), { timeout: 30_000 }).toBe("true");
    expect(await el.getAttribute("data-uaf")).toBe("1");
    expect(await el.getAttribute("data-spans")).toBe(String(timeline.spans.length));
    await el.scrollIntoViewIfNeeded();
    // the canvas holds the kinds' colours, the IPI arrows' and the use-after-free's
    const colours = await page.evaluate<string[]>(`(() => {
      const c = document.querySelector('.mmulab-Timeline canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4)
        if (d[i + 3] === 255) seen.add('#' + [d[i], d[i + 1], d[i + 2]].map((v) => v.toString(16).padStart(2, '0')).join(''));
      return [...seen];
    })()`);
    for (const colour of ["#9467bd", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"])
      expect(colours, colour).toContain(colour);
    expect(await el.locator(".mmulab-Timeline-uaf").textContent()).toContain("use-after-free");
    expect(await el.locator(".mmulab-Timeline-legend").textContent()).toContain("flush-wait");
    // hover names the span; a drag zooms; double-click resets
    const canvas = el.locator("canvas");
    const box = (await canvas.boundingBox())!;
    const status = el.locator(".mmulab-Timeline-status");
    const before = await status.textContent();
    await page.mouse.move(box.x + box.width * 0.3, box.y + 12);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.35, box.y + 12, { steps: 3 });
    await page.mouse.up();
    await expect.poll(() => status.textContent()).not.toBe(before);
    await canvas.dblclick({ position: { x: box.width * 0.5, y: 12 } });
    await expect.poll(() => status.textContent()).toBe(before);
    // Download trace saves Chrome trace JSON
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      el.locator(".mmulab-Timeline-download").click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.trace\.json$/);
    await el.screenshot({ path: join(ARTIFACTS, "timeline.png") });
  });

  it("draws the plot with its traces and sweep sliders", async () => {
    const el = page.locator(".mmulab-Plot").first();
    await expect.poll(() => el.getAttribute("data-plotted"), { timeout: 30_000 }).toBe("true");
    expect(await el.getAttribute("data-traces")).toBe("3");
    const traceGroups = await page.evaluate<number>(
      "document.querySelector('.mmulab-Plot .js-plotly-plot').querySelectorAll('g.trace').length",
    );
    expect(traceGroups).toBeGreaterThanOrEqual(3);
    const firstY = await page.evaluate(
      "JSON.stringify(document.querySelector('.mmulab-Plot .js-plotly-plot').data[0].y)",
    );
    const sliders = el.locator('input[type="range"]');
    expect(await sliders.count()).toBe(2);
    await sliders.nth(1).fill("2");
    await expect
      .poll(() =>
        page.evaluate(
          "JSON.stringify(document.querySelector('.mmulab-Plot .js-plotly-plot').data[0].y)",
        ),
      )
      .not.toBe(firstY);
    expect(await el.locator(".mmulab-Plot-sliderValue").nth(1).textContent()).toBe("8");
    await el.screenshot({ path: join(ARTIFACTS, "plot.png") });
  });

  it("shows a readable error for a payload of an unknown version", async () => {
    const err = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]', {
      hasText: PLOT,
    });
    await err.first().waitFor({ timeout: 30_000 });
    const text = (await err.first().textContent()) ?? "";
    expect(text).toContain("version 99");
    expect(text).toContain("supported: version 1");
  });

  it("never runs markup from payloads and prefers the renderers over text/html", async () => {
    expect(await page.evaluate("window.__mmulabPwned ?? null")).toBeNull();
    await expect
      .poll(() => page.locator('.mmulab-Plot[data-plotted="true"]').count(), { timeout: 30_000 })
      .toBe(2);
    await expect
      .poll(() => page.locator('.mmulab-Timeline[data-plotted="true"]').count(), {
        timeout: 30_000,
      })
      .toBe(2);
    const hostile = page.locator(".mmulab-Timeline").nth(1);
    expect(await hostile.locator(".mmulab-Timeline-title").textContent()).toBe(HOSTILE);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator(".mmulab-fallback").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "app.png") });
    // One screenshot per renderer for the README.
    for (const name of ["pagetable", "timeline", "plot"])
      updateDocsScreenshot(join(ARTIFACTS, `${name}.png`), name);
  });
});
