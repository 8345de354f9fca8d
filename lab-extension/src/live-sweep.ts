/**
 * Live interactive sweeps: sliders of a plot payload with `sweep` axes ask the kernel, over the
 * `mmulab.sweep` comm (@mmulab/kernel/contract's comm.ts), for the traces at the chosen point
 * and re-plot with the answer. The precomputed frames stay the first answer (and the only one
 * without a kernel), so a saved notebook keeps its offline sliders. Only a plot that carries its
 * own sweep id (`sweep.id`: the kernel's handler for it) asks the kernel; one with precomputed
 * frames alone never does, so its sliders can only ever show its own frames.
 *
 *   front end → kernel  {id, sweep, key: [one value per axis]}
 *   kernel → front end  {id, ok: true, result: {key, data, layout?}}  or  {id, ok: false, error}
 *
 * The transport is a few functions ({@link SweepTransport}); kernel-comm.ts adapts a JupyterLab
 * comm to it, and the plugin (plugin.ts) installs the connector that finds, for a rendered plot,
 * the kernel of the notebook that holds it. This module has no JupyterLab runtime imports.
 */
import type {
  JsonObject,
  JsonValue,
  PlotlyJson,
  PlotPayload,
  SweepRequest,
  SweepSlice,
} from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { PLOT_MIME } from "./payload.js";
import { RenderedPlot } from "./plot.js";

export interface SweepTransport {
  send(data: JsonObject): void;
  listen(handler: (data: JsonObject) => void): void;
  /** Called once when the channel ends (the kernel closed the comm, restarted or died). */
  onClose?(handler: (reason: string) => void): void;
  /** Ends the channel from this side (the renderer is re-rendered or disposed). */
  close?(): void;
}

/**
 * Finds the kernel channel for a rendered plot: given the renderer's node, the transport of the
 * kernel of the notebook that holds it, or null (no notebook, no kernel: offline sliders only).
 * Called on every slider move, so it should cache its channel per node and kernel.
 */
export type LiveSweepConnector = (node: HTMLElement) => SweepTransport | null;

export type SweepKey = readonly (number | string)[];

export type SweepAnswer = SweepSlice;

export class LiveSweepError extends Error {}

/** The kernel's `error`: `{name, message}` (SweepErrorInfo), or a string from an older kernel. */
function errorText(err: JsonValue | undefined): string {
  if (typeof err === "string") return err;
  if (err !== null && typeof err === "object" && !Array.isArray(err)) {
    const message = err["message"];
    const name = err["name"];
    if (typeof message === "string")
      return typeof name === "string" ? `${name}: ${message}` : message;
  }
  return "the kernel refused the request";
}

/** Request/response client of the `mmulab.sweep` comm, with timeouts and latest-wins requests. */
export class LiveSweepClient {
  private nextId = 1;
  private latest = 0;
  private closedReason: string | null = null;
  private readonly pending = new Map<
    number,
    {
      resolve: (a: SweepAnswer) => void;
      reject: (e: Error) => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();

  constructor(
    private readonly transport: SweepTransport,
    private readonly timeoutMs = 10_000,
  ) {
    transport.listen((msg) => this.receive(msg));
    transport.onClose?.((reason) => this.fail(reason));
  }

  /** The transport ended (null while it is open). */
  get closed(): string | null {
    return this.closedReason;
  }

  private fail(reason: string): void {
    this.closedReason = reason;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new LiveSweepError(reason));
    }
  }

  private receive(msg: JsonObject): void {
    const id = msg["id"];
    if (typeof id !== "number") return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (msg["ok"] !== true) {
      p.reject(new LiveSweepError(errorText(msg["error"])));
      return;
    }
    const result = msg["result"];
    if (
      result === null ||
      typeof result !== "object" ||
      Array.isArray(result) ||
      !Array.isArray(result["data"]) ||
      !Array.isArray(result["key"])
    ) {
      p.reject(new LiveSweepError("the kernel's answer has no {key, data}"));
      return;
    }
    // Checked like a payload's frames (plot-figure.ts): a list of trace objects.
    if (!result["data"].every((t) => t !== null && typeof t === "object" && !Array.isArray(t))) {
      p.reject(new LiveSweepError("the kernel's answer: data is not a list of traces"));
      return;
    }
    const layout = result["layout"];
    if (
      layout !== undefined &&
      (layout === null || typeof layout !== "object" || Array.isArray(layout))
    ) {
      p.reject(new LiveSweepError("the kernel's answer: layout is not an object"));
      return;
    }
    p.resolve({
      key: result["key"] as (number | string)[],
      data: result["data"] as PlotlyJson[],
      ...(layout === undefined ? {} : { layout }),
    });
  }

  /** Asks for the traces at `key` of the kernel's sweep `sweep` (the plot's `sweep.id`). */
  request(key: SweepKey, sweep: string): Promise<SweepAnswer> {
    if (this.closedReason !== null) {
      return Promise.reject(new LiveSweepError(this.closedReason));
    }
    const id = this.nextId++;
    return new Promise<SweepAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LiveSweepError(`no answer from the kernel within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        const request: SweepRequest = { id, sweep, key };
        this.transport.send({ ...request, key: [...key] as JsonValue[] });
      } catch (e) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(
          new LiveSweepError(
            `could not send to the kernel: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    });
  }

  /** Like request, but resolves null when a later call superseded this one. */
  async requestLatest(key: SweepKey, sweep: string): Promise<SweepAnswer | null> {
    const mine = ++this.latest;
    const a = await this.request(key, sweep);
    return mine === this.latest ? a : null;
  }
}

/**
 * Wires the sliders (`input[data-axis]`) under `root` to the kernel: each change asks the kernel's
 * sweep `payload.sweep.id` for the slider position's traces and calls `replot` with the newest
 * answer (answers and errors of superseded requests are dropped). Sets `root.dataset.live` to
 * "pending", "ok" or "error". `client` may be a function, called on each change, that returns the
 * client to ask (null: no kernel now, the change stays offline). A plot without a sweep id is
 * never wired: its precomputed frames are all it has. Returns a function that detaches.
 */
export function attachLiveSweep(
  root: HTMLElement,
  payload: PlotPayload,
  client: LiveSweepClient | (() => LiveSweepClient | null),
  replot: (answer: SweepAnswer) => Promise<void>,
): () => void {
  const sweep = payload.sweep;
  const id = sweep?.id;
  if (sweep === undefined || id === undefined) return () => undefined;
  const axes = sweep.axes;
  let latest = 0;
  const onInput = (ev: Event) => {
    const target = ev.target;
    if (!(target instanceof HTMLInputElement) || target.dataset["axis"] === undefined) return;
    const c = typeof client === "function" ? client() : client;
    const mine = ++latest;
    if (c === null) {
      delete root.dataset["live"];
      return;
    }
    const inputs = [...root.querySelectorAll<HTMLInputElement>("input[data-axis]")];
    const key = axes.map((a) => {
      const input = inputs.find((i) => i.dataset["axis"] === a.name);
      return a.values[Number(input?.value ?? 0)] ?? a.values[0]!;
    });
    root.dataset["live"] = "pending";
    c.request(key, id).then(
      async (answer) => {
        if (mine !== latest) return;
        await replot(answer);
        if (mine !== latest) return;
        root.dataset["live"] = "ok";
        root.title = "";
      },
      (e: unknown) => {
        if (mine !== latest) return;
        root.dataset["live"] = "error";
        root.title = `live sweep: ${e instanceof Error ? e.message : String(e)}`;
      },
    );
  };
  root.addEventListener("input", onInput);
  return () => root.removeEventListener("input", onInput);
}

let connector: LiveSweepConnector | null = null;

/**
 * Installed by the JupyterLab plugin (plugin.ts), which finds the notebook's kernel for a node;
 * null: offline sliders only.
 */
export function setLiveSweepConnector(fn: LiveSweepConnector | null): void {
  connector = fn;
}

/**
 * The plot renderer with live sliders: the precomputed frames answer first (and alone without a
 * kernel); with a kernel each slider move also asks it over the comm and re-plots with its answer.
 * The kernel is looked up when a slider moves (the output is in its notebook by then), so a
 * restarted or changed kernel gets a new comm.
 */
export class RenderedLiveSweepPlot extends RenderedPlot {
  private detach: (() => void) | null = null;
  private transport: SweepTransport | null = null;
  private client: LiveSweepClient | null = null;

  private disconnect(): void {
    this.detach?.();
    this.detach = null;
    this.transport?.close?.();
    this.transport = null;
    this.client = null;
    delete this.node.dataset["live"];
  }

  /** The client for this node's kernel now, or null. */
  private currentClient(): LiveSweepClient | null {
    const transport = connector?.(this.node) ?? null;
    if (transport !== this.transport) {
      this.transport = transport;
      this.client = transport === null ? null : new LiveSweepClient(transport);
    }
    return this.client;
  }

  override async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.disconnect();
    await super.renderModel(model);
    const payload = this.payload;
    // Only a plot that names its kernel-side sweep asks the kernel (contract/comm.ts).
    if (payload?.sweep?.id === undefined || this.plotNode === null) return;
    const status = this.node.querySelector<HTMLElement>(".mmulab-Plot-status");
    this.detach = attachLiveSweep(
      this.node,
      payload,
      () => this.currentClient(),
      async (answer) => {
        await this.showTraces(answer.data, answer.layout);
        // The kernel answered for a point the frames may lack: drop "no precomputed result".
        if (status !== null) status.textContent = "";
      },
    );
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.disconnect();
    super.dispose();
  }
}

/**
 * The plot MIME type's one renderer factory: RenderedPlot plus the live comm when a kernel is
 * connected (without one it behaves as RenderedPlot). Safe: plotly draws the figure as SVG; its
 * label markup is a fixed subset with no script, and the kernel's traces go the same way.
 */
export const liveSweepRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PLOT_MIME],
  defaultRank: 40,
  createRenderer: (options) => new RenderedLiveSweepPlot(options),
};

/** Rank 40: below text/html's 50, so the live plot wins over the static SVG fallback. */
const extension: IRenderMime.IExtension = {
  id: "@mmulab/lab-extension:plot",
  description:
    "Plotly figure renderer for mmulab, with sweep sliders (precomputed frames, and the kernel's " +
    "answers over the mmulab.sweep comm when the notebook has a kernel; plotly.js loaded on first use)",
  rendererFactory: liveSweepRendererFactory,
  rank: 40,
  dataType: "json",
};

export default extension;
