/**
 * The HTML reports (scripts/report.py) open in Chromium from a copied folder with no console
 * errors and no request outside the file itself: the static report (inline SVG figures, no
 * require.js, no MathJax) and the interactive one (the standalone renderers inlined, drawing the
 * payloads). Outputs come from the kernel's own bundles (display/), including a hostile payload
 * whose labels try to close the payload's <script> and a big timeline published reduced.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageTablesBundle } from "../../kernel/src/display/pagetable.js";
import { plotBundle } from "../../kernel/src/display/plot.js";
import { timelineBundle } from "../../kernel/src/display/timeline.js";
import {
  makeNotebook,
  makePageTable,
  makePlot,
  makeTimeline,
  TREE_SMALL,
} from "../../lab-extension/test/fixtures.js";
import { type Browser, launchChromium, PYTHON, requirePrerequisites, ROOT } from "./lab.js";

const RENDERERS = join(ROOT, "lab-extension", "dist", "standalone");
const SCRIPT_BREAK = '</script><script>window.__mmulabPwned = "report"</script>';

function bundles(): Record<string, unknown>[] {
  const hostile = makeTimeline(40, { hostile: true });
  return [
    pageTablesBundle(makePageTable(TREE_SMALL)),
    timelineBundle(makeTimeline(400)),
    timelineBundle({ ...hostile, title: SCRIPT_BREAK }),
    timelineBundle(makeTimeline(40_000)), // reduced: > 20,000 events
    plotBundle(makePlot({ sweep: true })),
  ];
}

interface Visit {
  readonly errors: string[];
  readonly requests: string[];
}

/** Opens `file` and records console errors, page errors and every request but the file's own. */
async function visit(page: Page, file: string): Promise<Visit> {
  const url = pathToFileURL(file).href;
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (u !== url && !u.startsWith("data:") && !u.startsWith("blob:")) requests.push(u);
  });
  await page.goto(url, { waitUntil: "load" });
  return { errors, requests };
}

describe("HTML reports opened from a copied folder (Chromium)", () => {
  let browser: Browser;
  let work: string;
  let copied: string;
  let hidden: string;

  beforeAll(async () => {
    requirePrerequisites();
    work = mkdtempSync(join(tmpdir(), "mmulab-reports-"));
    const made = join(work, "made");
    mkdirSync(made);
    const nb = makeNotebook(bundles());
    const nbPath = join(work, "report.ipynb");
    writeFileSync(nbPath, JSON.stringify(nb));
    const run = (out: string, extra: string[]): void => {
      const r = spawnSync(
        PYTHON,
        [join(ROOT, "scripts", "report.py"), nbPath, out, "--renderers", RENDERERS, ...extra],
        { encoding: "utf8", env: { ...process.env, PYTHONNOUSERSITE: "1" } },
      );
      if (r.status !== 0) throw new Error(`report.py failed (${r.status}):\n${r.stderr}`);
    };
    run(made, []);
    hidden = join(work, "hidden");
    run(hidden, ["--hide-code"]);
    // the reader gets a copy of the folder, somewhere else
    copied = join(work, "elsewhere", "reports");
    cpSync(made, copied, { recursive: true });
    rmSync(made, { recursive: true });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("the static report: inline figures, nothing loaded, no console errors", async () => {
    const file = join(copied, "report.html");
    const html = readFileSync(file, "utf8");
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/file:\/\/|mathjax|require\.js/i);
    expect(html).toContain("frame: flush backend = native, CPUs = 2");
    const page = await browser.context.newPage();
    const v = await visit(page, file);
    expect(await page.locator("svg").count()).toBeGreaterThanOrEqual(5);
    expect(await page.evaluate("window.__mmulabPwned ?? null")).toBeNull();
    expect(v.requests).toEqual([]);
    expect(v.errors).toEqual([]);
    await page.close();
  });

  it("the interactive report: the renderers draw every payload, nothing loaded, no errors", async () => {
    const file = join(copied, "report.interactive.html");
    const page = await browser.context.newPage();
    const v = await visit(page, file);
    await page.waitForSelector("body[data-mmulab-rendered='true']", { timeout: 60_000 });
    const states = await page.$$eval(".mmulab-interactive", (els) =>
      els.map((e) => (e as HTMLElement).dataset["rendered"] ?? "none"),
    );
    expect(states).toEqual(["true", "true", "true", "true", "true"]);
    expect(await page.locator(".mmulab-Timeline canvas").count()).toBe(3);
    expect(await page.locator('.mmulab-Timeline[data-reduced="true"]').count()).toBe(1);
    expect(await page.locator(".mmulab-PageTable").count()).toBe(1);
    await page.locator('.mmulab-Plot[data-plotted="true"]').waitFor({ timeout: 30_000 });
    // the hostile title is text, and its </script> did not end the payload's script
    expect(await page.locator(".mmulab-Timeline-title").nth(1).textContent()).toBe(SCRIPT_BREAK);
    expect(await page.evaluate("window.__mmulabPwned ?? null")).toBeNull();
    // static figures are hidden once drawn
    expect(await page.locator(".mmulab-static:visible").count()).toBe(0);
    expect(v.requests).toEqual([]);
    expect(v.errors).toEqual([]);
    await page.close();
  });

  it("hides the code when asked", () => {
    const withCode = readFileSync(join(copied, "report.html"), "utf8");
    const without = readFileSync(join(hidden, "report.html"), "utf8");
    expect(withCode).toContain("// output 1");
    expect(without).not.toContain("// output 1");
    expect(readFileSync(join(hidden, "report.interactive.html"), "utf8")).not.toContain(
      "// output 1",
    );
    expect(without).toContain("<svg");
  });
});
