// @vitest-environment happy-dom
/**
 * Live sweeps: the comm client's protocol (answers, errors, timeouts, stale answers) and the
 * renderer's sliders with a kernel (re-plot with the kernel's answer) and without (offline frames).
 */
import type { JsonObject } from "@mmulab/kernel/contract";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  LiveSweepClient,
  LiveSweepError,
  RenderedLiveSweepPlot,
  setLiveSweepConnector,
  type SweepTransport,
} from "../src/live-sweep.js";
import { PLOT_MIME } from "../src/payload.js";
import { makePlot } from "./fixtures.js";
import { fakePlotly, mimeModel, settle, type FakePlotly } from "./support.js";

const plotly: { current: FakePlotly } = { current: fakePlotly() };
vi.mock("plotly.js-basic-dist-min", () => ({
  default: new Proxy(
    {},
    { get: (_t, key: string) => (plotly.current as unknown as Record<string, unknown>)[key] },
  ),
}));

/** A transport whose kernel side is `answer` (undefined: never answers). */
function fakeKernel(answer: (req: JsonObject) => JsonObject | undefined): SweepTransport & {
  sent: JsonObject[];
} {
  let handler: ((d: JsonObject) => void) | null = null;
  const sent: JsonObject[] = [];
  return {
    sent,
    send(data) {
      sent.push(data);
      const a = answer(data);
      if (a !== undefined) queueMicrotask(() => handler?.(a));
    },
    listen(h) {
      handler = h;
    },
  };
}

const TRACE = { type: "scatter", x: [1, 2], y: [3, 4], name: "live" };

beforeEach(() => {
  plotly.current = fakePlotly();
  document.body.replaceChildren();
});
afterEach(() => setLiveSweepConnector(null));

describe("LiveSweepClient", () => {
  it("matches answers to requests by id and reports kernel errors", async () => {
    const t = fakeKernel((req): JsonObject =>
      (req["key"] as unknown[])[0] === "bad"
        ? { id: req["id"]!, ok: false, error: "ParameterError: y = 11 is not accepted" }
        : { id: req["id"]!, ok: true, result: { key: req["key"]!, data: [TRACE] } },
    );
    const c = new LiveSweepClient(t);
    await expect(c.request(["xen-pv", 4])).resolves.toEqual({ key: ["xen-pv", 4], data: [TRACE] });
    await expect(c.request(["bad"])).rejects.toThrow(LiveSweepError);
    await expect(c.request(["bad"])).rejects.toThrow(/y = 11/);
    expect(t.sent.map((s) => s["id"])).toEqual([1, 2, 3]);
  });

  it("times out without an answer and drops superseded answers", async () => {
    const silent = new LiveSweepClient(
      fakeKernel(() => undefined),
      20,
    );
    await expect(silent.request([1])).rejects.toThrow(/no answer from the kernel within 20 ms/);
    const c = new LiveSweepClient(
      fakeKernel((req) => ({ id: req["id"]!, ok: true, result: { key: req["key"]!, data: [] } })),
    );
    const first = c.requestLatest([1]);
    const second = c.requestLatest([2]);
    expect(await first).toBeNull();
    expect((await second)?.key).toEqual([2]);
  });
});

function renderer(): RenderedLiveSweepPlot {
  const w = new RenderedLiveSweepPlot({
    mimeType: PLOT_MIME,
    sanitizer: { sanitize: (s) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  });
  document.body.append(w.node);
  return w;
}

function moveSlider(w: RenderedLiveSweepPlot, axis: string, index: number): void {
  const input = w.node.querySelector<HTMLInputElement>(`input[data-axis="${axis}"]`)!;
  input.value = String(index);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

describe("live sweep renderer", () => {
  it("keeps the offline sliders without a kernel", async () => {
    const payload = makePlot({ sweep: true });
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, payload));
    moveSlider(w, "cpus", 2);
    await settle();
    const frame = payload.sweep!.frames.find((f) => f.key[0] === "native" && f.key[1] === 8)!;
    expect(plotly.current.react).toHaveBeenCalledTimes(1);
    expect((plotly.current.react.mock.calls[0] as unknown[])[1]).toEqual(
      frame.data.map((t) => ({ ...t, uid: "mutated" })),
    );
    expect(w.node.dataset["live"]).toBeUndefined();
  });

  it("asks the kernel over the comm and re-plots with its answer", async () => {
    const kernel = fakeKernel((req) => ({
      id: req["id"]!,
      ok: true,
      result: { key: req["key"]!, data: [TRACE] },
    }));
    setLiveSweepConnector(() => kernel);
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, makePlot({ sweep: true })));
    moveSlider(w, "backend", 1);
    await settle();
    await settle();
    expect(kernel.sent).toEqual([{ id: 1, key: ["xen-pv", 2] }]);
    const calls = plotly.current.react.mock.calls as unknown[][];
    expect(calls.at(-1)![1]).toEqual([{ ...TRACE, uid: "mutated" }]);
    expect(w.node.dataset["live"]).toBe("ok");
    expect(w.node.dataset["traces"]).toBe("1");
  });
});
