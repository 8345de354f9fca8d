// @vitest-environment happy-dom
/**
 * A reduced timeline and its kernel: after a zoom outside the exact window the renderer asks the
 * kernel (a fake transport here; kernel-comm.ts in JupyterLab) for the window's events over the
 * `mmulab.timeline` protocol, checks the answer with the contract's validator and draws it;
 * without a connector, or on a refusal, it stays on the overview and says why.
 */
import type { Kernel } from "@jupyterlab/services";
import type { JsonObject, TimelinePayload } from "@mmulab/kernel/contract";
import { TIMELINE_COMM_TARGET } from "@mmulab/kernel/contract";
import { afterEach, describe, expect, it, vi } from "vitest";
import { notebookKernelConnector, type KernelHost } from "../src/kernel-comm.js";
import { TIMELINE_MIME } from "../src/payload.js";
import { RenderedTimeline, setTimelineConnector, type TimelineTransport } from "../src/timeline.js";
import { mimeModel } from "./support.js";

function reduced(): TimelinePayload {
  const spans = Array.from({ length: 100 }, (_, i) => ({
    lane: "cpu0",
    start: i * 100,
    end: i * 100 + 50,
    kind: "gup-walk" as const,
    label: `s${i}`,
  }));
  // about two buckets a pixel of a 900 px plot, as the kernel sends (2,000 over the run)
  const buckets = 4_000;
  return {
    version: 1,
    title: "big",
    unit: "ns",
    lanes: [{ id: "cpu0", label: "CPU 0" }],
    spans,
    instants: [],
    arrows: [],
    overview: {
      start: 0,
      bucketNs: 250,
      buckets,
      rows: [
        {
          lane: "cpu0",
          kind: "gup-walk",
          busy: new Array<number>(buckets).fill(125),
          count: new Array<number>(buckets).fill(2),
        },
      ],
      ipis: new Array<number>(buckets).fill(0),
      totals: { spans: 10_000, instants: 0, arrows: 0 },
    },
    detail: { from: 0, to: 10_000 },
    source: "timeline-7",
  };
}

class FakeTransport implements TimelineTransport {
  readonly sent: JsonObject[] = [];
  handler: ((d: JsonObject) => void) | null = null;
  send(data: JsonObject): void {
    this.sent.push(data);
  }
  listen(handler: (d: JsonObject) => void): void {
    this.handler = handler;
  }
}

function widget(): RenderedTimeline {
  const w = new RenderedTimeline({
    mimeType: TIMELINE_MIME,
    sanitizer: { sanitize: (s) => s },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
  });
  document.body.append(w.node);
  return w;
}

afterEach(() => {
  setTimelineConnector(null);
  vi.useRealTimers();
});

describe("a reduced timeline's zoom", () => {
  it("asks the kernel for the window's exact events and draws them", async () => {
    vi.useFakeTimers();
    const tr = new FakeTransport();
    const nodes: HTMLElement[] = [];
    setTimelineConnector((node) => {
      nodes.push(node);
      return tr;
    });
    const w = widget();
    await w.renderModel(mimeModel(TIMELINE_MIME, reduced()));
    expect(w.node.dataset["reduced"]).toBe("true");
    expect(w.node.dataset["spans"]).toBe("10000");
    vi.advanceTimersByTime(500);
    expect(tr.sent).toEqual([]); // the whole run: the payload's overview is fine enough
    w.zoomTo(500_000, 600_000);
    vi.advanceTimersByTime(500);
    expect(nodes).toEqual([w.node]);
    expect(tr.sent).toHaveLength(1);
    const req = tr.sent[0]!;
    expect(req).toMatchObject({ source: "timeline-7", from: 500_000, to: 600_000 });
    expect(req["buckets"]).toBeGreaterThan(0);
    tr.handler!({ ready: true, protocol: 1 });
    tr.handler!({
      id: req["id"]!,
      ok: true,
      result: {
        source: "timeline-7",
        from: 500_000,
        to: 600_000,
        exact: true,
        spans: [{ lane: "cpu0", start: 550_000, end: 551_000, kind: "gup-walk", label: "w" }],
        instants: [],
        arrows: [],
      },
    });
    expect(w.node.dataset["exactFrom"]).toBe("500000");
    expect(w.node.querySelector(".mmulab-Timeline-status")?.textContent).not.toContain("summary");
    w.dispose();
  });

  it("keeps the overview and shows the kernel's refusal or a bad answer", async () => {
    vi.useFakeTimers();
    const tr = new FakeTransport();
    setTimelineConnector(() => tr);
    const w = widget();
    await w.renderModel(mimeModel(TIMELINE_MIME, reduced()));
    w.zoomTo(500_000, 600_000);
    vi.advanceTimersByTime(500);
    const status = () => w.node.querySelector(".mmulab-Timeline-status")?.textContent ?? "";
    tr.handler!({
      id: tr.sent[0]!["id"]!,
      ok: false,
      error: { name: "ParameterError", message: "run the timeline's cell again" },
    });
    expect(status()).toContain("kernel: run the timeline's cell again");
    w.zoomTo(700_000, 800_000);
    vi.advanceTimersByTime(500);
    tr.handler!({
      id: tr.sent[1]!["id"]!,
      ok: true,
      result: { from: 7, to: 8, exact: true, spans: [{ lane: "cpu9" }], instants: [], arrows: [] },
    });
    expect(status()).toContain("bad answer from the kernel");
    expect(w.node.dataset["exactFrom"]).toBeUndefined();
    w.dispose();
  });

  it("without a kernel, says the summary is what there is", async () => {
    const w = widget();
    await w.renderModel(mimeModel(TIMELINE_MIME, reduced()));
    w.zoomTo(500_000, 600_000);
    expect(w.node.querySelector(".mmulab-Timeline-status")?.textContent).toContain(
      "exact spans need the kernel that ran the cell",
    );
    w.dispose();
  });
});

describe("the plugin's connector for timelines", () => {
  it("opens the mmulab.timeline comm on the notebook's kernel", () => {
    const targets: string[] = [];
    const kernel = {
      status: "idle",
      isDisposed: false,
      handleComms: true,
      statusChanged: { connect: () => true, disconnect: () => true },
      createComm: (target: string) => {
        targets.push(target);
        return { open: () => undefined, isDisposed: false, onClose: null, onMsg: null };
      },
    } as unknown as Kernel.IKernelConnection;
    const node = document.createElement("div");
    const host = { node, sessionContext: { session: { kernel } } } as unknown as KernelHost;
    const connect = notebookKernelConnector(
      { find: (fn) => (fn(host) ? host : undefined) },
      TIMELINE_COMM_TARGET,
    );
    expect(connect(node)).not.toBeNull();
    expect(targets).toEqual(["mmulab.timeline"]);
  });
});
