// `npm run reproduce` end to end: scripts/reproduce.mjs executes every notebook of notebooks/ on
// the mmulab kernel (Debian's nbclient) and writes executed notebooks and HTML reports (Debian's
// nbconvert) into test-artifacts/reports/, then runs the output regression check. Then:
// - no cell failed, every code cell ran;
// - each notebook opens with markdown, has one `parameters` cell, and types no number in its prose;
// - the HTML reports show every figure as an inline SVG (the static fallback), and Chromium
//   draws them (a screenshot of one report: test-artifacts/notebooks/, and
//   docs/screenshots/report.png with MMULAB_UPDATE_SCREENSHOTS=1).
//
// Needs Debian's python3-nbclient, python3-nbformat, python3-nbconvert and chromium (.ci/run
// installs them) and the built kernel (the pretest bootstrap).
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cellTags,
  joinText,
  listNotebooks,
  missingPrerequisites,
  readNotebook,
  type Notebook,
} from "../../scripts/notebooks.mjs";
import {
  launchChromium,
  missingPrerequisites as missingBrowser,
  type Browser,
  updateDocsScreenshot,
} from "../browser/lab.js";
import { ROOT } from "../kernel-protocol/jupyter.js";

const OUT = join(ROOT, "test-artifacts", "reports");
const SHOTS = join(ROOT, "test-artifacts", "notebooks");
const FIGURE_MIMES = [
  "application/vnd.mmulab.pagetable+json",
  "application/vnd.mmulab.timeline+json",
  "application/vnd.mmulab.plot+json",
];

interface Summary {
  seconds: number;
  notebooks: {
    input: string;
    output: string;
    html: string | null;
    seconds: number;
    failure: { ename: string; evalue: string; cell?: number } | null;
  }[];
  checks: { notebook: string; cells: number; failures: string[] }[];
}

/** Runs the reproduce script as `npm run reproduce` does (without its bootstrap). */
function reproduce(): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts", "reproduce.mjs"), "--out", OUT], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

/** Markdown prose with code spans, code blocks and link targets taken out. */
function prose(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/`[^`]*`/g, " ")
    .replace(/\]\([^)]*\)/g, "] ");
}

const names = listNotebooks().map((p) => p.slice(p.lastIndexOf("/") + 1));

describe("npm run reproduce: every notebook, headless", () => {
  let run: { status: number | null; output: string };
  let summary: Summary;
  const executed = new Map<string, Notebook>();

  beforeAll(async () => {
    const missing = missingPrerequisites();
    if (missing !== null) throw new Error(`the notebook tests need: ${missing}`);
    run = await reproduce();
    summary = JSON.parse(readFileSync(join(OUT, "summary.json"), "utf8")) as Summary;
    for (const n of names) executed.set(n, readNotebook(join(OUT, n)));
  }, 600_000);

  it("finds the notebooks", () => {
    expect(names).toEqual([
      "01-the-race.ipynb",
      "02-kernbench-table.ipynb",
      "03-kernel-versions.ipynb",
      "04-sweeps.ipynb",
      "05-api-tour.ipynb",
      "06-bug-history.ipynb",
      "07-hosts-and-guests.ipynb",
    ]);
  });

  it("runs every cell of every notebook without an error", () => {
    expect(run.status, run.output).toBe(0);
    expect(summary.notebooks.map((n) => n.failure)).toEqual(names.map(() => null));
    for (const [name, nb] of executed) {
      const code = nb.cells.filter((c) => c.cell_type === "code");
      expect(
        code.map((c) => c.execution_count),
        name,
      ).toEqual(code.map((_, i) => i + 1));
      const errors = nb.cells.flatMap((c) =>
        (c.outputs ?? []).filter((o) => o.output_type === "error"),
      );
      expect(errors, name).toEqual([]);
    }
  });

  it("passes the output regression check (test/notebooks/expected)", () => {
    const expected = readdirSync(join(ROOT, "test", "notebooks", "expected")).sort();
    expect(expected).toEqual(names.map((n) => n.replace(/\.ipynb$/, ".json")));
    for (const c of summary.checks) expect(c.failures, c.notebook).toEqual([]);
    expect(summary.checks.map((c) => c.notebook)).toEqual(names);
    expect(summary.checks.every((c) => c.cells >= 5)).toBe(true);
  });

  it("opens each notebook with markdown and one parameters cell, on the mmulab kernel", () => {
    for (const name of names) {
      const nb = readNotebook(join(ROOT, "notebooks", name));
      expect(nb.cells[0]?.cell_type, name).toBe("markdown");
      const params = nb.cells.filter((c) => cellTags(c).includes("parameters"));
      expect(params, name).toHaveLength(1);
      expect(params[0]?.cell_type).toBe("code");
      expect(
        nb.cells.find((c) => c.cell_type === "code"),
        name,
      ).toBe(params[0]);
      expect((nb.metadata["kernelspec"] as { name?: string }).name).toBe("mmulab");
      // Committed notebooks carry no outputs: they are written by `npm run reproduce`.
      expect(
        nb.cells.every((c) => (c.outputs ?? []).length === 0),
        name,
      ).toBe(true);
    }
  });

  it("types no number in its prose: numbers come from the outputs", () => {
    for (const name of names) {
      const nb = readNotebook(join(ROOT, "notebooks", name));
      for (const cell of nb.cells.filter((c) => c.cell_type === "markdown")) {
        const text = prose(joinText(cell.source)).replace(/\bx86(-64)?\b/g, "");
        expect(text.match(/\d+/g), `${name}: ${joinText(cell.source).slice(0, 80)}`).toBeNull();
      }
      // Conclusions are Markdown displayed by code cells.
      const md = [...executed.get(name)!.cells].flatMap((c) =>
        (c.outputs ?? []).filter((o) => o.data?.["text/markdown"] !== undefined),
      );
      expect(md.length, name).toBeGreaterThanOrEqual(3);
    }
  });

  it("shows every figure as an inline SVG in the HTML reports", () => {
    for (const name of names) {
      const nb = executed.get(name)!;
      const figures = nb.cells.flatMap((c) =>
        (c.outputs ?? []).filter((o) => FIGURE_MIMES.some((m) => o.data?.[m] !== undefined)),
      );
      const html = readFileSync(join(OUT, name.replace(/\.ipynb$/, ".html")), "utf8");
      const inline =
        html.match(/<div class="mmulab-figure mmulab-(pagetable|timeline|plot)"[^>]*><svg /g) ?? [];
      expect(inline.length, name).toBe(figures.length);
      expect(html).not.toContain("application/vnd.mmulab");
    }
    const race = readFileSync(join(OUT, "01-the-race.html"), "utf8");
    for (const kind of ["pagetable", "timeline"])
      expect(race).toContain(`mmulab-figure mmulab-${kind}`);
    for (const n of ["02-kernbench-table", "03-kernel-versions", "04-sweeps"]) {
      expect(readFileSync(join(OUT, `${n}.html`), "utf8")).toContain("mmulab-figure mmulab-plot");
    }
    expect(readFileSync(join(OUT, "index.html"), "utf8")).toContain('href="01-the-race.html"');
    expect(readFileSync(join(OUT, "index.html"), "utf8")).toContain(
      'href="01-the-race.interactive.html"',
    );
  });

  describe("a report in Chromium", () => {
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      const missing = missingBrowser().filter((m) => m.includes("chromium"));
      if (missing.length > 0) throw new Error(`the report screenshot needs ${missing.join(", ")}`);
      browser = await launchChromium();
      page = await browser.context.newPage();
      // The report is self-contained: nothing but file:// may load.
      await page.route(/^(?!file:)/, (route) => route.abort());
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      page.on("pageerror", (e) => consoleErrors.push(e.message));
      page.on("request", (r) => {
        if (!r.url().startsWith("data:")) requests.push(r.url());
      });
      await page.goto(`file://${join(OUT, "01-the-race.html")}`);
    }, 60_000);

    const consoleErrors: string[] = [];
    const requests: string[] = [];

    it("loads nothing but itself and logs no error (no require.js, no MathJax)", () => {
      expect(requests).toEqual([`file://${join(OUT, "01-the-race.html")}`]);
      expect(consoleErrors).toEqual([]);
    });

    it("has an interactive twin whose renderers draw every figure without errors", async () => {
      const p = await browser.context.newPage();
      const errors: string[] = [];
      p.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      p.on("pageerror", (e) => errors.push(e.message));
      await p.route(/^(?!file:)/, (route) => route.abort());
      await p.goto(`file://${join(OUT, "01-the-race.interactive.html")}`);
      await p.waitForSelector("body[data-mmulab-rendered='true']", { timeout: 60_000 });
      const states = await p.$$eval(".mmulab-interactive", (els) =>
        els.map((e) => (e as HTMLElement).dataset["rendered"]),
      );
      expect(states.length).toBeGreaterThanOrEqual(5);
      expect(states.every((x) => x === "true")).toBe(true);
      expect(await p.locator(".mmulab-Timeline canvas").count()).toBeGreaterThanOrEqual(3);
      expect(errors).toEqual([]);
      await p.close();
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
    });

    it("draws the tree, the timeline and the tables as pictures", async () => {
      for (const kind of ["pagetable", "timeline"]) {
        const svg = page.locator(`.mmulab-${kind} svg`).first();
        const box = await svg.boundingBox();
        expect(box, kind).not.toBeNull();
        expect(box!.width).toBeGreaterThan(300);
        expect(box!.height).toBeGreaterThan(50);
      }
      // The walker's path is drawn in red in the tree, the use-after-free marked on the timeline.
      expect(
        await page.locator('.mmulab-pagetable svg path[stroke="#d03b3b"]').count(),
      ).toBeGreaterThan(0);
      expect(await page.locator(".mmulab-timeline svg").count()).toBeGreaterThanOrEqual(5);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, "report-01-full.png"), fullPage: true });
      // The three timelines of the step-by-step race, one under the other.
      await page.evaluate(
        "document.querySelector('.mmulab-timeline').scrollIntoView(); window.scrollBy(0, -40)",
      );
      await page.screenshot({ path: join(SHOTS, "report.png") });
      updateDocsScreenshot(join(SHOTS, "report.png"), "report");
    }, 60_000);
  });
});
