/**
 * Plots that survive interaction, end to end in the embedded JupyterLab with its full
 * shortcut set, on the mmulab kernel:
 *
 * - a plot with precomputed frames only never changes its data to another sweep's: its sliders
 *   do not ask the kernel at all, while a plot served live after it (the kernel's most recent
 *   sweep, what protocol 1 answered id-less requests with) does;
 * - the arrow keys move a focused slider although the notebook binds them in command mode;
 * - a box zoom survives a slider move; the PNG download is named after the frame; no cloud button;
 * - interact() re-plots from a function defined in the notebook, with a variable a later cell
 *   changed (so the answer cannot have been precomputed);
 * - a saved, untrusted plot whose layout loads external images (and carries links) makes no
 *   request.
 *
 * Needs what test/browser/kernel.test.ts needs (chromium, Debian's jupyter server, the build and
 * the mmulab kernelspec); fails naming what is missing.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeNotebook, makePlot } from "../../lab-extension/test/fixtures.js";
import {
  ARTIFACTS,
  type Browser,
  codeCell,
  dismissKernelDialog,
  documentReady,
  type Lab,
  launchChromium,
  mmulabNotebook,
  openLab,
  openNotebook,
  requirePrerequisites,
  runAllCells,
  startLab,
} from "./lab.js";

const PLOT = "application/vnd.mmulab.plot+json";

/** Plot A: precomputed frames only (no sweep id). Plot B: served live, a different sweep over
 * the same slider values (x ten times larger), shown after A, so it is the kernel's latest. */
const SWEEPS_CELL = `import { displayPlot, sweepResultPlot } from "mmulab";
import { runSweep, serveLiveSweep } from "mmulab/notebook";
const a = await runSweep({ run: "synthetic", params: { x: [1, 2, 3], y: [1, 2, 3] }, seeds: 2 }, { workers: 0, progress: false });
const own = sweepResultPlot(a, { metric: "f", title: "precomputed only" });
displayPlot(own);
console.log("own-frames " + JSON.stringify(own.sweep!.frames));
const b = await runSweep({ run: "synthetic", params: { x: [10, 20, 30], y: [1, 2, 3] }, seeds: 2 }, { workers: 0, progress: false });
displayPlot(serveLiveSweep(b, { metric: "f", title: "served live" }));`;

/** interact() over a notebook function that reads \`state.scale\`; only n = 1 is precomputed. */
const INTERACT_CELL = `import { interact } from "mmulab/notebook";
const state = { scale: 1 };
const handle = await interact(
  ({ n }) => [{ type: "scatter", name: "n·x·scale", x: [1, 2, 3], y: [1, 2, 3].map((x) => n * x * state.scale) }],
  { n: [1, 2, 3, 4] },
  { title: "interact", precompute: 1 },
);`;

/** Run after the interact cell: only the kernel, running the function now, can know it. */
const SCALE_CELL = `state.scale = 1000;`;

interface Frame {
  readonly key: (number | string)[];
  readonly data: { readonly x: number[]; readonly y: number[] }[];
}

/** The x and y plotly is showing in the plot output titled `title`. */
function shown(page: Page, title: string): Promise<{ x: number[]; y: number[] }[]> {
  return page.evaluate<{ x: number[]; y: number[] }[]>(`(() => {
    const plot = [...document.querySelectorAll(".mmulab-Plot")].find(
      (p) => p.querySelector(".mmulab-Plot-title")?.textContent === ${JSON.stringify(title)});
    const div = plot && plot.querySelector(".mmulab-Plot-plot");
    return ((div && div.data) || []).map((t) => ({ x: Array.from(t.x), y: Array.from(t.y) }));
  })()`);
}

/** The x axis range plotly is drawing in the plot titled `title`. */
function xRange(page: Page, title: string): Promise<number[]> {
  return page.evaluate<number[]>(`(() => {
    const plot = [...document.querySelectorAll(".mmulab-Plot")].find(
      (p) => p.querySelector(".mmulab-Plot-title")?.textContent === ${JSON.stringify(title)});
    return Array.from(plot.querySelector(".mmulab-Plot-plot")._fullLayout.xaxis.range);
  })()`);
}

describe("plots that survive interaction (Chromium, mmulab kernel)", () => {
  let lab: Lab;
  let browser: Browser;
  let page: Page;
  let frames: Frame[] = [];
  const consoleErrors: string[] = [];
  const root = join(ARTIFACTS, "plots-notebooks");

  const plotTitled = (title: string): Locator =>
    page.locator(".mmulab-Plot", {
      has: page.locator(".mmulab-Plot-title", { hasText: new RegExp(`^${title}$`) }),
    });
  const xy = (f: Frame) => f.data.map((t) => ({ x: t.x, y: t.y }));

  beforeAll(async () => {
    requirePrerequisites({ kernel: true });
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const notebook = mmulabNotebook([
      codeCell("sweeps", SWEEPS_CELL),
      codeCell("interact", INTERACT_CELL),
      codeCell("scale", SCALE_CELL),
    ]);
    writeFileSync(join(root, "plots.ipynb"), JSON.stringify(notebook));
    lab = await startLab(root);
    browser = await launchChromium();
    page = await openNotebook(lab, browser, "plots.ipynb", (p) =>
      p.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      }),
    );
    const ok = await runAllCells(page);
    if (!ok) throw new Error(`a cell failed; server log:\n${lab.log().slice(-3000)}`);
    // the three plots drawn (expect.poll only works inside a test)
    await page.waitForFunction(
      "document.querySelectorAll('.mmulab-Plot[data-plotted=\"true\"]').length === 3",
      null,
      { timeout: 60_000 },
    );
    const stdout = page.locator(".jp-OutputArea-output", { hasText: "own-frames " });
    const text = (await stdout.textContent({ timeout: 30_000 })) ?? "";
    frames = JSON.parse(text.slice(text.indexOf("own-frames ") + 11)) as Frame[];
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it("a precomputed-only plot's slider never shows another sweep's data", async () => {
    const a = plotTitled("precomputed only");
    const b = plotTitled("served live");
    expect(frames.map((f) => f.key)).toEqual([[1], [2], [3]]);
    expect(await shown(page, "precomputed only")).toEqual(xy(frames[0]!));
    const slider = a.locator('input[data-axis="y"]');
    await slider.focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await expect.poll(() => shown(page, "precomputed only")).toEqual(xy(frames[2]!));
    // The live plot talks to the kernel meanwhile: its answers are the other sweep's.
    const other = b.locator('input[data-axis="y"]');
    await other.focus();
    await page.keyboard.press("End");
    await expect.poll(() => b.getAttribute("data-live"), { timeout: 30_000 }).toBe("ok");
    const live = await shown(page, "served live");
    expect(live[0]!.x).toEqual([10, 20, 30]);
    // Plot A never asked: no live state, still its own frame, x still 1, 2, 3.
    await page.waitForTimeout(1000);
    expect(await a.getAttribute("data-live")).toBeNull();
    expect(await shown(page, "precomputed only")).toEqual(xy(frames[2]!));
  }, 120_000);

  it("the arrow keys move a focused slider despite the notebook's own arrow-key shortcuts", async () => {
    // The embedded JupyterLab has the notebook's command-mode arrow bindings (what took the
    // keys before the sliders suppressed shortcuts).
    const bound = await page.evaluate<string[]>(`window.jupyterapp.commands.keyBindings
      .filter((b) => b.selector.includes(".jp-Notebook.jp-mod-commandMode") &&
        ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(b.keys.join(" ")))
      .map((b) => b.keys.join(" ") + " " + b.command)`);
    expect(bound).toEqual(
      expect.arrayContaining([
        "ArrowRight notebook:move-cursor-heading-below-or-expand",
        "ArrowLeft notebook:move-cursor-heading-above-or-collapse",
        "ArrowDown notebook:move-cursor-down",
        "ArrowUp notebook:move-cursor-up",
      ]),
    );
    const slider = plotTitled("precomputed only").locator('input[data-axis="y"]');
    await slider.focus();
    await page.keyboard.press("Home");
    expect(await slider.inputValue()).toBe("0");
    const notebook = "window.jupyterapp.shell.currentWidget.content";
    expect(await page.evaluate(`${notebook}.mode`)).toBe("command");
    const cell = await page.evaluate<number>(`${notebook}.activeCellIndex`);
    await page.keyboard.press("ArrowRight");
    expect(await slider.inputValue()).toBe("1");
    await page.keyboard.press("ArrowUp");
    expect(await slider.inputValue()).toBe("2");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowLeft");
    expect(await slider.inputValue()).toBe("0");
    // The keys went to the slider, not to the notebook: same cell, the slider still focused.
    expect(await page.evaluate<number>(`${notebook}.activeCellIndex`)).toBe(cell);
    expect(
      await slider.evaluate(
        (el: unknown) =>
          el === (globalThis as { document?: { activeElement?: unknown } }).document?.activeElement,
      ),
    ).toBe(true);
    await expect.poll(() => shown(page, "precomputed only")).toEqual(xy(frames[0]!));
  }, 60_000);

  it("a box zoom survives a slider move", async () => {
    const a = plotTitled("precomputed only");
    const before = await xRange(page, "precomputed only");
    const drag = a.locator(".nsewdrag").first();
    const box = (await drag.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.8, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => xRange(page, "precomputed only")).not.toEqual(before);
    const zoomed = await xRange(page, "precomputed only");
    expect(zoomed[1]! - zoomed[0]!).toBeLessThan((before[1]! - before[0]!) * 0.7);
    const slider = a.locator('input[data-axis="y"]');
    await slider.focus();
    await page.keyboard.press("ArrowRight");
    await expect.poll(() => shown(page, "precomputed only")).toEqual(xy(frames[1]!));
    expect(await xRange(page, "precomputed only")).toEqual(zoomed);
    await page.screenshot({ path: join(ARTIFACTS, "plots-zoom.png") });
  }, 60_000);

  it("downloads a PNG named after the frame, and shows no cloud button", async () => {
    const a = plotTitled("precomputed only");
    await a.locator(".mmulab-Plot-plot").hover();
    const titles = await a
      .locator(".modebar-btn")
      .evaluateAll((bs) =>
        bs.map((b) => (b as unknown as { dataset: { title?: string } }).dataset.title ?? ""),
      );
    expect(titles.some((t) => /PNG/.test(t))).toBe(true);
    expect(titles.filter((t) => /cloud|chart studio|share|edit in/i.test(t))).toEqual([]);
    const download = page.waitForEvent("download", { timeout: 30_000 });
    await a.locator('.modebar-btn[data-title^="Download plot as PNG"]').click({ force: true });
    const file = await download;
    expect(file.suggestedFilename()).toBe("precomputed-only_y=2.png");
    const path = join(root, "export.png");
    await file.saveAs(path);
    expect(readFileSync(path).subarray(1, 4).toString()).toBe("PNG");
    expect(await a.getAttribute("data-exported")).toBe("precomputed only — y = 2");
  }, 60_000);

  it("interact() re-plots from the notebook's function, run again by the kernel", async () => {
    const p = plotTitled("interact");
    expect(await shown(page, "interact")).toEqual([{ x: [1, 2, 3], y: [1, 2, 3] }]);
    const slider = p.locator('input[data-axis="n"]');
    await slider.focus();
    await page.keyboard.press("End"); // n = 4: not precomputed; scale is now 1000
    await expect.poll(() => p.getAttribute("data-live"), { timeout: 30_000 }).toBe("ok");
    expect(await shown(page, "interact")).toEqual([{ x: [1, 2, 3], y: [4000, 8000, 12000] }]);
    expect(await p.locator(".mmulab-Plot-status").textContent()).toBe("");
    await page.screenshot({ path: join(ARTIFACTS, "plots-interact.png") });
    expect(consoleErrors.filter((e) => /mmulab|sweep|plotly/i.test(e))).toEqual([]);
  }, 60_000);

  describe("an untrusted plot with external images and links", () => {
    let server: Server;
    let port = 0;
    const hits: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        hits.push(req.url ?? "");
        res.writeHead(200, { "content-type": "image/png", "access-control-allow-origin": "*" });
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const address = server.address();
      port = typeof address === "object" && address !== null ? address.port : 0;
      const base = `http://127.0.0.1:${port}`;
      const clean = makePlot({ sweep: true });
      const hostile = {
        ...clean,
        title: "hostile images",
        layout: {
          ...clean.layout,
          images: [
            {
              source: `${base}/layout.png`,
              xref: "paper",
              yref: "paper",
              x: 0,
              y: 1,
              sizex: 1,
              sizey: 1,
            },
          ],
          template: { layout: { images: [{ source: `${base}/template.png` }] } },
          updatemenus: [
            {
              buttons: [
                {
                  method: "relayout",
                  label: "go",
                  args: [{ images: [{ source: `${base}/menu.png` }] }],
                },
              ],
            },
          ],
          annotations: [
            { text: `<a href="${base}/link">details</a>`, x: 1, y: 1, showarrow: false },
          ],
        },
      };
      writeFileSync(
        join(root, "hostile.ipynb"),
        JSON.stringify(makeNotebook([{ [PLOT]: hostile, "text/plain": "hostile plot" }])),
      );
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("makes no request, and draws no image or link", async () => {
      const requests: string[] = [];
      const other = await openLab(
        lab,
        browser,
        "hostile.ipynb",
        documentReady("hostile.ipynb"),
        (p) =>
          p.on("request", (r) => {
            if (r.url().includes(`:${port}/`)) requests.push(r.url());
          }),
      );
      await dismissKernelDialog(other);
      const plot = other.locator(".mmulab-Plot", { hasText: "hostile images" });
      await expect.poll(() => plot.getAttribute("data-plotted"), { timeout: 60_000 }).toBe("true");
      // Move a slider too: a frame swap redraws the layout.
      await plot.locator('input[data-axis="cpus"]').focus();
      await other.keyboard.press("ArrowRight");
      await other.waitForTimeout(1500);
      expect(requests).toEqual([]);
      expect(hits).toEqual([]);
      expect(await plot.locator("svg image").count()).toBe(0);
      expect(await plot.locator("svg a[href], svg a").count()).toBe(0);
      expect(await plot.locator("text", { hasText: "details" }).count()).toBeGreaterThan(0);
      // The server and the request log work: a fetch from the page is seen by both.
      await other.evaluate(`fetch("http://127.0.0.1:${port}/control").then(() => true)`);
      expect(hits).toEqual(["/control"]);
      expect(requests).toEqual([`http://127.0.0.1:${port}/control`]);
      await other.close();
    }, 120_000);
  });
});
