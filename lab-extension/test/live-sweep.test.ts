// @vitest-environment happy-dom
/**
 * Live sweeps: the comm client's protocol (answers, errors, timeouts, stale answers, a closed
 * channel) and the renderer's sliders with a kernel (re-plot with the kernel's answer, a new
 * client when the connector hands out a new channel) and without (offline frames).
 */
import type { JsonObject, PlotPayload } from "@mmulab/kernel/contract";
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
import { fakePlotly, mimeModel, rendererOptions, settle, type FakePlotly } from "./support.js";

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
  closes: number;
  end(reason: string): void;
} {
  let handler: ((d: JsonObject) => void) | null = null;
  let onClose: ((reason: string) => void) | null = null;
  const sent: JsonObject[] = [];
  return {
    sent,
    closes: 0,
    send(data) {
      sent.push(data);
      const a = answer(data);
      if (a !== undefined) queueMicrotask(() => handler?.(a));
    },
    listen(h) {
      handler = h;
    },
    onClose(h) {
      onClose = h;
    },
    close() {
      this.closes++;
    },
    end(reason) {
      onClose?.(reason);
    },
  };
}

const echoTraces = (data: JsonObject[]) => (req: JsonObject) => ({
  id: req["id"]!,
  ok: true,
  result: { key: req["key"]!, data },
});

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
    await expect(c.request(["xen-pv", 4], "s1")).resolves.toEqual({
      key: ["xen-pv", 4],
      data: [TRACE],
    });
    await expect(c.request(["bad"], "s1")).rejects.toThrow(LiveSweepError);
    await expect(c.request(["bad"], "s1")).rejects.toThrow(/y = 11/);
    expect(t.sent.map((s) => s["id"])).toEqual([1, 2, 3]);
  });

  it("reports the kernel's {name, message} errors and ignores messages without an id", async () => {
    const t = fakeKernel((req) => ({
      id: req["id"]!,
      ok: false,
      error: { name: "ParameterError", message: "y = 11 is not accepted" },
    }));
    const c = new LiveSweepClient(t);
    await expect(c.request([11], "s1")).rejects.toThrow("ParameterError: y = 11 is not accepted");
    const junk = fakeKernel((req) => ({
      id: req["id"]!,
      ok: true,
      result: { key: req["key"]!, data: [TRACE, "<img src=x>"] },
    }));
    await expect(new LiveSweepClient(junk).request([1], "s1")).rejects.toThrow(
      /not a list of traces/,
    );
    const ready = fakeKernel(() => ({ ready: true, protocol: 2 }));
    await expect(new LiveSweepClient(ready, 20).request([1], "s1")).rejects.toThrow(/within 20 ms/);
  });

  it("fails pending and later requests at once when the channel ends or cannot send", async () => {
    const t = fakeKernel(() => undefined);
    const c = new LiveSweepClient(t, 60_000);
    const pending = c.request([1], "s1");
    t.end("the kernel is restarting");
    await expect(pending).rejects.toThrow("the kernel is restarting");
    expect(c.closed).toBe("the kernel is restarting");
    await expect(c.request([2], "s1")).rejects.toThrow("the kernel is restarting");
    const broken: SweepTransport = {
      send: () => {
        throw new Error("Cannot send");
      },
      listen: () => undefined,
    };
    await expect(new LiveSweepClient(broken, 60_000).request([1], "s1")).rejects.toThrow(
      "could not send to the kernel: Cannot send",
    );
  });

  it("times out without an answer and drops superseded answers", async () => {
    const silent = new LiveSweepClient(
      fakeKernel(() => undefined),
      20,
    );
    await expect(silent.request([1], "s1")).rejects.toThrow(
      /no answer from the kernel within 20 ms/,
    );
    const c = new LiveSweepClient(
      fakeKernel((req) => ({ id: req["id"]!, ok: true, result: { key: req["key"]!, data: [] } })),
    );
    const first = c.requestLatest([1], "s1");
    const second = c.requestLatest([2], "s1");
    expect(await first).toBeNull();
    expect((await second)?.key).toEqual([2]);
  });
});

function renderer(): RenderedLiveSweepPlot {
  const w = new RenderedLiveSweepPlot(rendererOptions(PLOT_MIME));
  document.body.append(w.node);
  return w;
}

/** A plot the kernel serves: its sweep carries the kernel's id for it. */
function livePlot(): PlotPayload {
  const p = makePlot({ sweep: true });
  return { ...p, sweep: { ...p.sweep!, id: "sweep-7" } };
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

  it("never asks the kernel for a plot without a sweep id: its frames are all it has", async () => {
    const kernel = fakeKernel(echoTraces([TRACE]));
    let asked = 0;
    setLiveSweepConnector(() => {
      asked++;
      return kernel;
    });
    const payload = makePlot({ sweep: true });
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, payload));
    moveSlider(w, "cpus", 2);
    moveSlider(w, "backend", 1);
    await settle();
    await settle();
    expect(asked).toBe(0);
    expect(kernel.sent).toEqual([]);
    expect(w.node.dataset["live"]).toBeUndefined();
    const frame = payload.sweep!.frames.find((f) => f.key[0] === "xen-pv" && f.key[1] === 8)!;
    const calls = plotly.current.react.mock.calls as unknown[][];
    expect(calls.at(-1)![1]).toEqual(frame.data.map((t) => ({ ...t, uid: "mutated" })));
  });

  it("asks the kernel over the comm and re-plots with its answer", async () => {
    const kernel = fakeKernel(echoTraces([TRACE]));
    const nodes: HTMLElement[] = [];
    setLiveSweepConnector((node) => {
      nodes.push(node);
      return kernel;
    });
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, livePlot()));
    moveSlider(w, "backend", 1);
    await settle();
    await settle();
    expect(kernel.sent).toEqual([{ id: 1, sweep: "sweep-7", key: ["xen-pv", 2] }]);
    const calls = plotly.current.react.mock.calls as unknown[][];
    expect(calls.at(-1)![1]).toEqual([{ ...TRACE, uid: "mutated" }]);
    expect(w.node.dataset["live"]).toBe("ok");
    expect(w.node.dataset["traces"]).toBe("1");
    // The connector is asked on the slider move, with the renderer's own node.
    expect(nodes).toEqual([w.node]);
  });

  it("names the plot's sweep in each request, so the kernel answers from that sweep", async () => {
    const kernel = fakeKernel(echoTraces([TRACE]));
    setLiveSweepConnector(() => kernel);
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, livePlot()));
    moveSlider(w, "backend", 1);
    await settle();
    await settle();
    expect(kernel.sent).toEqual([{ id: 1, sweep: "sweep-7", key: ["xen-pv", 2] }]);
    expect(w.node.dataset["live"]).toBe("ok");
  });

  it("fills in points the frames lack from the kernel, and clears the status", async () => {
    const payload = livePlot();
    const kernel = fakeKernel(echoTraces([TRACE]));
    setLiveSweepConnector(() => kernel);
    const w = renderer();
    await w.renderModel(
      mimeModel(PLOT_MIME, { ...payload, sweep: { ...payload.sweep!, frames: [] } }),
    );
    const status = w.node.querySelector(".mmulab-Plot-status")!;
    expect(status.textContent).toMatch(/no precomputed result/);
    moveSlider(w, "cpus", 2);
    expect(status.textContent).toMatch(
      /no precomputed result for flush backend = native, CPUs = 8/,
    );
    await settle();
    await settle();
    expect(kernel.sent).toEqual([{ id: 1, sweep: "sweep-7", key: ["native", 8] }]);
    expect(w.node.dataset["live"]).toBe("ok");
    expect(status.textContent).toBe("");
  });

  it("stays offline when the connector finds no kernel, and drops superseded errors", async () => {
    let kernel: SweepTransport | null = null;
    setLiveSweepConnector(() => kernel);
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, livePlot()));
    moveSlider(w, "cpus", 1);
    await settle();
    expect(w.node.dataset["live"]).toBeUndefined();
    expect(plotly.current.react).toHaveBeenCalledTimes(1); // the precomputed frame
    const silent = fakeKernel(() => undefined);
    kernel = silent;
    moveSlider(w, "cpus", 2);
    expect(w.node.dataset["live"]).toBe("pending");
    // A restart: the old channel ends, the connector hands out a new one for the next move.
    const fresh = fakeKernel(echoTraces([TRACE]));
    kernel = fresh;
    moveSlider(w, "cpus", 0);
    silent.end("the kernel is restarting");
    await settle();
    await settle();
    expect(fresh.sent).toEqual([{ id: 1, sweep: "sweep-7", key: ["native", 2] }]);
    expect(w.node.dataset["live"]).toBe("ok");
  });

  it("shows a kernel error on the node and keeps the precomputed frame", async () => {
    const kernel = fakeKernel((req) => ({ id: req["id"]!, ok: false, error: "no such point" }));
    setLiveSweepConnector(() => kernel);
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, livePlot()));
    moveSlider(w, "backend", 2);
    await settle();
    expect(w.node.dataset["live"]).toBe("error");
    expect(w.node.title).toBe("live sweep: no such point");
    expect(plotly.current.react).toHaveBeenCalledTimes(1);
    expect(w.node.dataset["traces"]).toBe("3");
  });

  it("closes its channel when re-rendered or disposed", async () => {
    const kernel = fakeKernel(echoTraces([TRACE]));
    setLiveSweepConnector(() => kernel);
    const w = renderer();
    await w.renderModel(mimeModel(PLOT_MIME, livePlot()));
    moveSlider(w, "cpus", 1);
    await settle();
    await w.renderModel(mimeModel(PLOT_MIME, livePlot()));
    expect(kernel.closes).toBe(1);
    moveSlider(w, "cpus", 2);
    await settle();
    w.dispose();
    expect(kernel.closes).toBe(2);
  });
});
