/**
 * Browser benchmarks of the renderers, measured in Debian's Chromium inside JupyterLab (lab-app,
 * the prebuilt extension loaded through module federation, as users get it): each run creates the
 * renderer from the open notebook's rendermime registry, adds it to the main area and times
 * renderModel to the first frame painted after it (two animation frames).
 *
 *   lab/pagetable-first-paint-10k     10,117-node tree: renderModel to the first painted frame
 *                                      (target <= 500 ms)
 *   lab/timeline-first-paint-100k     100,000-span timeline (2,000 IPIs): renderModel to the first
 *                                      painted frame (target <= 1 s)
 *   lab/timeline-zoom-100k            one zoom on it, the slower of zooming into the middle fifth
 *                                      and back out to the whole run, to the painted frame
 *                                      (target <= 200 ms)
 *   lab/timeline-first-paint-1m       1,000,000 spans (50,000 IPIs) sent whole, as a saved
 *                                      notebook could hold them (track only)
 *   lab/timeline-zoom-1m              a zoom on that (track only)
 *   lab/timeline-first-paint-1m-reduced  the same run as the kernel publishes it, reduced
 *                                      (views/timeline-reduce.ts; track only)
 *
 * The kernel's harness (kernel/dist/bench/harness.js) measures (median of --runs after --warmup)
 * and merges the entries into bench/results.json like `bench/run.mjs` does. Run by `npm run bench`
 * through scripts/bench.mjs, with the same flags.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import {
  DEFAULT_RUNS,
  DEFAULT_WARMUP,
  formatTable,
  meetsTarget,
  mergeResults,
  parseResults,
  runBenchmarks,
  selectBenchmarks,
} from "../../kernel/dist/bench/harness.js";
import type { Benchmark, BenchResult } from "../../kernel/dist/bench/types.js";
import { syntheticTimeline } from "../../kernel/dist/bench/suites/views.js";
import { reduceTimeline } from "../../kernel/dist/views/timeline-reduce.js";
import {
  ARTIFACTS,
  documentReady,
  launchChromium,
  missingPrerequisites,
  openLab,
  ROOT,
  startLab,
} from "../../test/browser/lab.js";
import { makePageTable, makeTimeline, TREE_10K } from "../test/fixtures.js";

const PAGETABLE = "application/vnd.mmulab.pagetable+json";
const TIMELINE = "application/vnd.mmulab.timeline+json";

function browserBenchmarks(page: () => Page): Benchmark[] {
  const paint = (mime: string, key: string) => () =>
    page().evaluate<number>(`(async () => {
      const app = window.jupyterapp;
      const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
      if (window.mmulabBenchWidget) window.mmulabBenchWidget.dispose();
      const rendermime = window.mmulabBenchNotebook.content.rendermime;
      const renderer = rendermime.createRenderer(${JSON.stringify(mime)});
      renderer.id = "mmulab-bench";
      renderer.title.label = "bench";
      window.mmulabBenchWidget = renderer;
      window.mmulabBenchKey = ${JSON.stringify(key)};
      app.shell.add(renderer, "main");
      app.shell.activateById(renderer.id);
      await nextFrame();
      const model = {
        trusted: true,
        data: { [${JSON.stringify(mime)}]: window.mmulabBenchData[${JSON.stringify(key)}] },
        metadata: {},
        setData() {},
      };
      const start = performance.now();
      await renderer.renderModel(model);
      await nextFrame();
      await nextFrame();
      return performance.now() - start;
    })()`);
  /** Renders `key` once (untimed) unless it is already shown, then times one zoom in and one
   * zoom out and returns the slower. */
  const zoom = (key: string) => () =>
    page().evaluate<number>(`(async () => {
      const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
      const key = ${JSON.stringify(key)};
      let w = window.mmulabBenchWidget;
      if (!w || window.mmulabBenchKey !== key) {
        if (w) w.dispose();
        const app = window.jupyterapp;
        w = window.mmulabBenchNotebook.content.rendermime.createRenderer(${JSON.stringify(TIMELINE)});
        w.id = "mmulab-bench";
        w.title.label = "bench";
        window.mmulabBenchWidget = w;
        window.mmulabBenchKey = key;
        app.shell.add(w, "main");
        app.shell.activateById(w.id);
        await nextFrame();
        await w.renderModel({ trusted: true, data: { [${JSON.stringify(TIMELINE)}]: window.mmulabBenchData[key] }, metadata: {}, setData() {} });
        await nextFrame();
      }
      const whole = w.visible;
      const width = whole.to - whole.from;
      const time = async (from, to) => {
        const start = performance.now();
        w.zoomTo(from, to);
        await nextFrame();
        await nextFrame();
        return performance.now() - start;
      };
      const zin = await time(whole.from + width * 0.4, whole.from + width * 0.6);
      const zout = await time(whole.from, whole.to);
      return Math.max(zin, zout);
    })()`);
  return [
    {
      name: "lab/pagetable-first-paint-10k",
      unit: "ms",
      target: 500,
      better: "lower",
      run: paint(PAGETABLE, "tree"),
    },
    {
      name: "lab/timeline-first-paint-100k",
      unit: "ms",
      target: 1000,
      better: "lower",
      run: paint(TIMELINE, "timeline"),
    },
    {
      name: "lab/timeline-zoom-100k",
      unit: "ms",
      target: 200,
      better: "lower",
      run: zoom("timeline"),
    },
    {
      name: "lab/timeline-first-paint-1m",
      unit: "ms",
      target: null,
      better: "lower",
      run: paint(TIMELINE, "million"),
    },
    {
      name: "lab/timeline-zoom-1m",
      unit: "ms",
      target: null,
      better: "lower",
      run: zoom("million"),
    },
    {
      name: "lab/timeline-first-paint-1m-reduced",
      unit: "ms",
      target: null,
      better: "lower",
      run: paint(TIMELINE, "millionReduced"),
    },
  ];
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string", multiple: true, default: [] },
      // the kernel's bench flags (bench/run.mjs): --exact selects here too; the browser
      // benchmarks share one page whatever --in-process says
      exact: { type: "string", multiple: true, default: [] },
      "in-process": { type: "boolean", default: false },
      runs: { type: "string" },
      warmup: { type: "string" },
      out: { type: "string" },
      "no-write": { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return 0; // bench/run.mjs printed the usage
  let current: Page | null = null;
  const all = browserBenchmarks(() => {
    if (current === null) throw new Error("no page");
    return current;
  });
  const selected = selectBenchmarks(all, values.only).filter(
    (b) => values.exact.length === 0 || values.exact.includes(b.name),
  );
  if (values.list) {
    if (!values.json) for (const b of selected) process.stdout.write(`${b.name}\n`);
    return 0;
  }
  if (selected.length === 0) return 0;
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    process.stderr.write(`bench (browser): skipped, missing:\n  ${missing.join("\n  ")}\n`);
    return values.strict ? 1 : 0;
  }
  const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs);
  const warmup = values.warmup === undefined ? DEFAULT_WARMUP : Number(values.warmup);

  const root = join(ARTIFACTS, "bench-notebooks");
  await mkdir(root, { recursive: true });
  // A notebook without a kernel: its rendermime registry has every renderer.
  const notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] };
  await writeFile(join(root, "bench.ipynb"), JSON.stringify(notebook));
  const lab = await startLab(root);
  const browser = await launchChromium();
  let fresh: BenchResult[];
  try {
    const page = await openLab(lab, browser, "bench.ipynb", documentReady("bench.ipynb"));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate("window.mmulabBenchNotebook = window.jupyterapp.shell.currentWidget");
    await page.evaluate(
      ([tree, timeline]) => {
        (window as unknown as { mmulabBenchData: unknown }).mmulabBenchData = { tree, timeline };
      },
      [makePageTable(TREE_10K), makeTimeline(100_000)] as const,
    );
    if (selected.some((b) => b.name.includes("-1m"))) {
      // built in the page: a 150 MB payload is too much to pass through the protocol
      await page.evaluate(
        `window.mmulabBenchData.million = (${syntheticTimeline.toString()})(1000000)`,
      );
      const reduced = reduceTimeline(syntheticTimeline(1_000_000), { source: "timeline-1" });
      await page.evaluate((r) => {
        (window as unknown as { mmulabBenchData: Record<string, unknown> }).mmulabBenchData[
          "millionReduced"
        ] = r;
      }, reduced);
    }
    current = page;
    if (!values.json) {
      process.stderr.write(
        `bench (browser): ${selected.length} benchmark(s) in Chromium, median of ${runs} after ${warmup} warm-up\n`,
      );
    }
    fresh = await runBenchmarks(selected, { runs, warmup }, (r) => {
      if (!values.json) process.stderr.write(`  done ${r.name}\n`);
    });
    await page.screenshot({ path: join(ARTIFACTS, "bench-timeline-100k.png") });
  } finally {
    await browser.close();
    await lab.stop();
  }
  process.stdout.write(values.json ? `${JSON.stringify(fresh, null, 2)}\n` : formatTable(fresh));
  if (!values["no-write"]) {
    const path = values.out ?? join(ROOT, "bench", "results.json");
    let existing: BenchResult[] = [];
    try {
      existing = parseResults(JSON.parse(await readFile(path, "utf8")));
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "ENOENT")) throw error;
    }
    const order = [...existing.map((r) => r.name), ...all.map((b) => b.name)];
    await writeFile(path, `${JSON.stringify(mergeResults(existing, fresh, order), null, 2)}\n`);
    if (!values.json) process.stderr.write(`bench (browser): wrote ${path}\n`);
  }
  const missed = fresh.filter((r) => meetsTarget(r.value, r.target, r.better) === false);
  if (missed.length > 0) {
    process.stderr.write(
      `bench (browser): target(s) missed: ${missed.map((r) => r.name).join(", ")}\n`,
    );
    if (values.strict) return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
