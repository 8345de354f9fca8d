/**
 * Renderer for `application/vnd.mmulab.timeline+json`: per-CPU lanes of spans (IRQ-off, gup walk,
 * flush wait, IPI handler, hypercall, grace period, RCU callback), IPI arrows and use-after-free
 * markers on a canvas with level of detail (timeline-canvas.ts). Drag to zoom to a range,
 * shift-drag to pan, ctrl-wheel to zoom, double-click to reset; "Download trace" saves the
 * timeline as Chrome trace JSON, which Perfetto opens.
 *
 * A reduced timeline (a big run: the kernel sends an overview and the exact events of one
 * window) asks its notebook's kernel over the `mmulab.timeline` comm for the exact events of the
 * window the user zooms to, when the plugin gave it a connector and the kernel still has the run;
 * otherwise it draws the overview, and says so. The use-after-free list under the plot is plain
 * DOM text.
 */
import type { JsonObject, TimelinePayload, TimelineWindow } from "@mmulab/kernel/contract";
import { checkTimelinePayload, timelineToChromeTrace } from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type { Message } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";
import { el, formatCount, formatNs, TIMELINE_MIME } from "./payload.js";
import { TimelineScene, type DrawStats, type View } from "./timeline-canvas.js";
import { KIND_COLORS, parseTimeline, SPAN_KINDS, UAF_TRACE_NAME } from "./timeline-figure.js";

const CLASS = "mmulab-Timeline";

/** A channel to the notebook's kernel (a comm on `mmulab.timeline`, kernel-comm.ts). */
export interface TimelineTransport {
  send(data: JsonObject): void;
  listen(handler: (data: JsonObject) => void): void;
  onClose?(handler: (reason: string) => void): void;
  close?(): void;
}

/** Finds the kernel channel for a rendered timeline's node, or null (no notebook or kernel). */
export type TimelineConnector = (node: HTMLElement) => TimelineTransport | null;

let connector: TimelineConnector | null = null;

/** Installed by the JupyterLab plugin (plugin.ts); null: overview only. */
export function setTimelineConnector(fn: TimelineConnector | null): void {
  connector = fn;
}

/** Milliseconds a view must stay before its exact events are asked for. */
const FETCH_DELAY_MS = 120;

/** Checks a window answer with the contract's validator (as a payload of the same lanes). */
export function checkTimelineWindow(t: TimelinePayload, w: unknown): TimelineWindow {
  if (w === null || typeof w !== "object" || Array.isArray(w))
    throw new TypeError("mmulab.timeline: the kernel's answer is not an object");
  const o = w as Record<string, unknown>;
  const probe: Record<string, unknown> = {
    version: 1,
    unit: "ns",
    lanes: t.lanes,
    spans: o["spans"],
    instants: o["instants"],
    arrows: o["arrows"],
  };
  if (o["overview"] !== undefined) {
    probe["overview"] = o["overview"];
    probe["detail"] = { from: o["from"], to: o["to"] };
  }
  checkTimelinePayload(probe);
  if (
    typeof o["from"] !== "number" ||
    typeof o["to"] !== "number" ||
    typeof o["exact"] !== "boolean"
  )
    throw new TypeError("mmulab.timeline: the kernel's answer lacks from, to or exact");
  return w as TimelineWindow;
}

/** The widget that draws one timeline payload. */
export class RenderedTimeline extends Widget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  private scene: TimelineScene | null = null;
  private view: View = { from: 0, to: 1 };
  private canvas: HTMLCanvasElement | null = null;
  private plotNode: HTMLDivElement | null = null;
  private tip: HTMLDivElement | null = null;
  private band: HTMLDivElement | null = null;
  private status: HTMLSpanElement | null = null;
  private lastStats: DrawStats | null = null;
  private transport: TimelineTransport | null = null;
  private requestId = 0;
  private fetchTimer: ReturnType<typeof setTimeout> | null = null;
  private kernelNote = "";

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS);
  }

  /** Checks the payload, lays out and draws. */
  // async: a bad payload rejects the promise, which JupyterLab shows in place of the output
  // eslint-disable-next-line @typescript-eslint/require-await
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    if (data === undefined) return;
    const t = parseTimeline(data);
    this.scene = new TimelineScene(t);
    this.view = this.scene.extent;
    this.transport?.close?.();
    this.transport = null;
    this.kernelNote = "";
    this.drawFrame(t);
    this.redraw();
    this.node.dataset["plotted"] = "true";
    this.scheduleFetch();
  }

  /** The visible range, ns. */
  get visible(): View {
    return this.view;
  }

  /** What the last draw did (tests and benchmarks). */
  get stats(): DrawStats | null {
    return this.lastStats;
  }

  /** Shows [from, to] (clamped to the timeline with a little room) and redraws at once. */
  zoomTo(from: number, to: number): void {
    if (this.scene === null || !Number.isFinite(from) || !Number.isFinite(to)) return;
    const ext = this.scene.extent;
    const minSpan = 10; // ns: no zooming into nothing
    let a = Math.max(ext.from, Math.min(from, to));
    let b = Math.min(ext.to, Math.max(from, to));
    if (b - a < minSpan) {
      const mid = (a + b) / 2;
      a = mid - minSpan / 2;
      b = mid + minSpan / 2;
    }
    this.view = { from: a, to: b };
    this.redraw();
    this.scheduleFetch();
  }

  resetZoom(): void {
    if (this.scene !== null) this.zoomTo(this.scene.extent.from, this.scene.extent.to);
  }

  /** The timeline as Chrome trace JSON (the Download trace button's file). */
  traceJson(): string {
    if (this.scene === null) return "";
    return JSON.stringify(timelineToChromeTrace(this.scene.payload));
  }

  protected override onResize(_msg: Widget.ResizeMessage): void {
    this.redraw();
  }

  protected override onAfterShow(_msg: Message): void {
    this.redraw();
  }

  protected override onAfterAttach(_msg: Message): void {
    this.redraw();
  }

  override dispose(): void {
    if (this.fetchTimer !== null) clearTimeout(this.fetchTimer);
    this.transport?.close?.();
    this.transport = null;
    super.dispose();
  }

  /** Header, toolbar, canvas, legend and the use-after-free list. */
  private drawFrame(t: TimelinePayload): void {
    const node = this.node;
    node.replaceChildren();
    delete node.dataset["plotted"];
    const scene = this.scene!;
    const totals = scene.totals;
    const uaf = t.instants.filter((i) => i.kind === "uaf");
    node.dataset["lanes"] = String(t.lanes.length);
    node.dataset["spans"] = String(totals.spans);
    node.dataset["arrows"] = String(totals.arrows);
    node.dataset["uaf"] = String(uaf.length);
    node.dataset["reduced"] = String(scene.reduced);

    const head = el("div", `${CLASS}-header`);
    if (t.title !== undefined) head.append(el("span", `${CLASS}-title`, t.title));
    const parts = [
      `${formatCount(t.lanes.length)} lanes`,
      `${formatCount(totals.spans)} spans`,
      `${formatCount(totals.arrows)} IPIs`,
    ];
    if (uaf.length > 0) parts.push(`${formatCount(uaf.length)} use-after-free`);
    head.append(el("span", `${CLASS}-summary`, parts.join(" · ")));
    node.append(head);

    const bar = el("div", `${CLASS}-toolbar`);
    const button = (label: string, title: string, fn: () => void): HTMLButtonElement => {
      const b = el("button", `${CLASS}-button`, label);
      b.type = "button";
      b.title = title;
      b.addEventListener("click", fn);
      bar.append(b);
      return b;
    };
    button("Reset zoom", "Show the whole timeline (or double-click the plot)", () =>
      this.resetZoom(),
    );
    button("Zoom out", "Show three times as much time", () => {
      const v = this.view;
      const w = v.to - v.from;
      this.zoomTo(v.from - w, v.to + w);
    });
    button("Download trace", "Save as Chrome trace JSON (opens in Perfetto)", () =>
      this.download(),
    ).classList.add(`${CLASS}-download`);
    bar.append(
      el(
        "span",
        `${CLASS}-hint`,
        "drag: zoom to a range · shift+drag: pan · ctrl+wheel: zoom · double-click: reset",
      ),
    );
    this.status = el("span", `${CLASS}-status`);
    bar.append(this.status);
    node.append(bar);

    const plot = el("div", `${CLASS}-plot`);
    const canvas = el("canvas", `${CLASS}-canvas`);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${t.title ?? "timeline"}: ${parts.join(", ")}`);
    const band = el("div", `${CLASS}-band`);
    band.hidden = true;
    const tip = el("div", `${CLASS}-tip`);
    tip.hidden = true;
    plot.append(canvas, band, tip);
    node.append(plot);
    this.plotNode = plot;
    this.canvas = canvas;
    this.band = band;
    this.tip = tip;
    this.wire(canvas);

    const legend = el("div", `${CLASS}-legend`);
    const kinds = new Set([
      ...t.spans.map((s) => s.kind),
      ...(t.overview?.rows ?? []).map((r) => r.kind),
    ]);
    for (const k of SPAN_KINDS.filter((x) => kinds.has(x))) {
      const item = el("span", `${CLASS}-legendItem`);
      const swatch = el("span", `${CLASS}-swatch`);
      swatch.style.background = KIND_COLORS[k];
      item.append(swatch, document.createTextNode(k));
      legend.append(item);
    }
    node.append(legend);

    if (uaf.length > 0) {
      const box = el("div", `${CLASS}-uaf`);
      box.setAttribute("role", "alert");
      box.append(el("div", `${CLASS}-uafTitle`, `⚠ ${UAF_TRACE_NAME} (${uaf.length})`));
      const lanes = new Map(t.lanes.map((l) => [l.id, l.label]));
      const list = el("ul");
      for (const m of uaf.slice(0, 20)) {
        list.append(
          el("li", undefined, `${formatNs(m.t)} on ${lanes.get(m.lane) ?? m.lane}: ${m.label}`),
        );
      }
      if (uaf.length > 20) list.append(el("li", undefined, `… and ${uaf.length - 20} more`));
      box.append(list);
      node.append(box);
    }
  }

  private plotWidth(): number {
    const w = this.plotNode?.clientWidth ?? 0;
    return w > 50 ? w : 900;
  }

  /** Draws the current view; cheap enough for every pointer move (level of detail). */
  private redraw(): void {
    const scene = this.scene;
    const canvas = this.canvas;
    if (scene === null || canvas === null) return;
    const width = this.plotWidth();
    const dpr = typeof window === "undefined" ? 1 : window.devicePixelRatio || 1;
    const w = Math.round(width * dpr);
    const h = Math.round(scene.height * dpr);
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${scene.height}px`;
    let ctx: CanvasRenderingContext2D | null;
    try {
      ctx = canvas.getContext("2d");
    } catch {
      ctx = null; // a DOM without canvas (unit tests)
    }
    if (ctx !== null) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      this.lastStats = scene.draw(ctx, width, this.view);
    }
    this.updateStatus();
  }

  private updateStatus(): void {
    const scene = this.scene;
    if (scene === null || this.status === null) return;
    const v = this.view;
    const parts = [`${formatNs(Math.round(v.from))} – ${formatNs(Math.round(v.to))}`];
    const s = this.lastStats;
    if (s !== null && s.arrowsInView > s.arrowsDrawn)
      parts.push(`${formatCount(s.arrowsInView)} IPIs in view: zoom in to draw them`);
    if (scene.needsDetail(v))
      parts.push(
        this.kernelNote !== ""
          ? this.kernelNote
          : scene.payload.source === undefined || connector === null
            ? "outside the exact window: a summary per pixel (exact spans need the kernel that ran the cell)"
            : "outside the exact window: a summary per pixel (zoom in for exact spans)",
      );
    this.status.textContent = parts.join(" · ");
  }

  private download(): void {
    const json = this.traceJson();
    if (json === "" || typeof URL.createObjectURL !== "function") return;
    const url = URL.createObjectURL(new Blob([json], { type: "application/json" }));
    const a = document.createElement("a");
    const name = (this.scene?.payload.title ?? "timeline").replace(/[^A-Za-z0-9._-]+/g, "-");
    a.href = url;
    a.download = `${name.slice(0, 80) || "timeline"}.trace.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  /** Time at a canvas x (CSS px). */
  private timeAt(x: number): number {
    const scene = this.scene!;
    const L = scene.labelWidth;
    const W = Math.max(10, Math.floor(this.plotWidth() - L - 8));
    return this.view.from + ((x - L) / W) * (this.view.to - this.view.from);
  }

  private wire(canvas: HTMLCanvasElement): void {
    let drag: { x: number; pan: boolean; view: View } | null = null;
    const local = (e: MouseEvent): [number, number] => {
      const r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    canvas.addEventListener("mousedown", (e) => {
      if (e.button !== 0 || this.scene === null) return;
      e.preventDefault();
      drag = { x: local(e)[0], pan: e.shiftKey, view: this.view };
      const up = (ev: MouseEvent): void => {
        window.removeEventListener("mouseup", up);
        const d = drag;
        drag = null;
        if (this.band !== null) this.band.hidden = true;
        if (d === null || d.pan) return;
        const x = local(ev)[0];
        if (Math.abs(x - d.x) >= 4) this.zoomTo(this.timeAt(d.x), this.timeAt(x));
      };
      window.addEventListener("mouseup", up);
    });
    canvas.addEventListener("mousemove", (e) => {
      const [x, y] = local(e);
      if (drag !== null) {
        this.hideTip();
        if (drag.pan) {
          const dt = this.timeAt(drag.x) - this.timeAt(x);
          this.view = { from: drag.view.from + dt, to: drag.view.to + dt };
          this.redraw();
          this.scheduleFetch();
        } else if (this.band !== null) {
          this.band.hidden = false;
          this.band.style.left = `${Math.min(x, drag.x)}px`;
          this.band.style.width = `${Math.abs(x - drag.x)}px`;
          this.band.style.height = `${this.scene?.lanesHeight ?? 0}px`;
        }
        return;
      }
      this.showTip(x, y);
    });
    canvas.addEventListener("mouseleave", () => this.hideTip());
    canvas.addEventListener("dblclick", () => this.resetZoom());
    canvas.addEventListener(
      "wheel",
      (e) => {
        // plain wheel scrolls the notebook; ctrl (or ⌘) + wheel zooms around the pointer
        if (!(e.ctrlKey || e.metaKey) || this.scene === null) return;
        e.preventDefault();
        const t = this.timeAt(local(e)[0]);
        const f = Math.pow(1.0015, e.deltaY);
        this.zoomTo(t - (t - this.view.from) * f, t + (this.view.to - t) * f);
      },
      { passive: false },
    );
  }

  private showTip(x: number, y: number): void {
    const tip = this.tip;
    const scene = this.scene;
    if (tip === null || scene === null) return;
    const lines = scene.hit(x, y, this.plotWidth(), this.view);
    if (lines === null) return this.hideTip();
    tip.replaceChildren(
      ...lines.map((l, i) => el("div", i === 0 ? `${CLASS}-tipHead` : undefined, l)),
    );
    tip.hidden = false;
    const left = Math.min(x + 12, this.plotWidth() - 260);
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${y + 14}px`;
  }

  private hideTip(): void {
    if (this.tip !== null) this.tip.hidden = true;
  }

  /** After the view settles, asks the kernel for the exact events of a view they do not cover. */
  private scheduleFetch(): void {
    if (this.fetchTimer !== null) clearTimeout(this.fetchTimer);
    this.fetchTimer = null;
    const scene = this.scene;
    if (scene === null || !this.wantsDetail(scene)) return;
    this.fetchTimer = setTimeout(() => {
      this.fetchTimer = null;
      this.fetch();
    }, FETCH_DELAY_MS);
  }

  /** Whether to ask the kernel: exact events missing from the view, and the payload's overview
   * coarser there than two buckets a pixel (at the full view it is finer: nothing to gain). */
  private wantsDetail(scene: TimelineScene): boolean {
    const o = scene.payload.overview;
    if (o === undefined || scene.payload.source === undefined || !scene.needsDetail(this.view))
      return false;
    return (this.view.to - this.view.from) / o.bucketNs < 2 * this.plotWidth();
  }

  private fetch(): void {
    const scene = this.scene;
    const source = scene?.payload.source;
    if (scene === null || source === undefined || connector === null) return;
    if (this.transport === null) {
      const tr = connector(this.node);
      if (tr === null) return;
      this.transport = tr;
      tr.listen((data) => this.onAnswer(data));
      tr.onClose?.((reason) => {
        if (this.transport === tr) this.transport = null;
        this.kernelNote = `no kernel (${reason}): showing the summary`;
        this.updateStatus();
      });
    }
    const v = this.view;
    const id = ++this.requestId;
    const buckets = Math.max(1, Math.min(20_000, Math.floor(this.plotWidth())));
    this.kernelNote = "fetching exact spans from the kernel…";
    this.updateStatus();
    this.transport.send({ id, source, from: v.from, to: v.to, buckets });
  }

  private onAnswer(data: JsonObject): void {
    if (data["ready"] === true || data["id"] !== this.requestId || this.scene === null) return;
    if (data["ok"] !== true) {
      const err = data["error"];
      const msg =
        err !== null &&
        typeof err === "object" &&
        !Array.isArray(err) &&
        typeof err["message"] === "string"
          ? err["message"]
          : "the kernel refused the request";
      this.kernelNote = `kernel: ${msg}`;
      this.updateStatus();
      return;
    }
    try {
      const w = checkTimelineWindow(this.scene.payload, data["result"]);
      this.scene.applyWindow(w);
      this.kernelNote = w.exact
        ? ""
        : "too many spans in view for exact drawing: finer summary from the kernel";
      if (w.exact) {
        this.node.dataset["exactFrom"] = String(w.from);
        this.node.dataset["exactTo"] = String(w.to);
      }
    } catch (e) {
      this.kernelNote = `bad answer from the kernel: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.redraw();
  }
}

/** Safe: text is drawn on a canvas or set as textContent; nothing from the payload is markup. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [TIMELINE_MIME],
  defaultRank: 40,
  createRenderer: (options) => new RenderedTimeline(options),
};

/** Rank 40: below text/html's 50, so the timeline wins over the static SVG fallback. */
const extension: IRenderMime.IExtension = {
  id: "@mmulab/lab-extension:timeline",
  description: "Per-CPU timeline renderer for mmulab (canvas with level of detail)",
  rendererFactory,
  rank: 40,
  dataType: "json",
};

export default extension;
