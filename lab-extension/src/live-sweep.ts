/**
 * Live interactive sweeps: sliders of a plot payload with `sweep` axes ask the kernel, over the
 * `mmulab.sweep` comm (protocol version 1, kernel/src/notebook-kernel/comm.ts), for the traces
 * at the chosen point and re-plot with the answer. The precomputed frames stay the first answer
 * (and the only one without a kernel), so a saved notebook keeps its offline sliders.
 *
 *   front end → kernel  {id, key: [one value per axis]}
 *   kernel → front end  {id, ok: true, result: {key, data}}  or  {id, ok: false, error}
 *
 * The transport is two functions, so that a JupyterLab `IComm` adapts in three lines:
 * `{ send: (d) => comm.send(d), listen: (f) => { comm.onMsg = (m) => f(m.content.data); } }`.
 */
import type { JsonObject, JsonValue, PlotlyJson, PlotPayload } from "@mmulab/kernel/contract";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type * as PlotlyTypes from "plotly.js";
import { PLOT_MIME } from "./payload.js";
import { RenderedPlot } from "./plot.js";
import { loadPlotly, plotConfig } from "./plotly.js";

export interface SweepTransport {
  send(data: JsonObject): void;
  listen(handler: (data: JsonObject) => void): void;
}

export type SweepKey = readonly (number | string)[];

export interface SweepAnswer {
  readonly key: SweepKey;
  readonly data: readonly PlotlyJson[];
}

export class LiveSweepError extends Error {}

/** Request/response client of the `mmulab.sweep` comm, with timeouts and latest-wins requests. */
export class LiveSweepClient {
  private nextId = 1;
  private latest = 0;
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
  }

  private receive(msg: JsonObject): void {
    const id = msg["id"];
    if (typeof id !== "number") return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (msg["ok"] !== true) {
      const err = msg["error"];
      p.reject(
        new LiveSweepError(typeof err === "string" ? err : "the kernel refused the request"),
      );
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
    p.resolve({
      key: result["key"] as (number | string)[],
      data: result["data"] as PlotlyJson[],
    });
  }

  /** Asks for the traces at `key`. */
  request(key: SweepKey): Promise<SweepAnswer> {
    const id = this.nextId++;
    return new Promise<SweepAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LiveSweepError(`no answer from the kernel within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.transport.send({ id, key: [...key] as JsonValue[] });
    });
  }

  /** Like request, but resolves null when a later call superseded this one. */
  async requestLatest(key: SweepKey): Promise<SweepAnswer | null> {
    const mine = ++this.latest;
    const a = await this.request(key);
    return mine === this.latest ? a : null;
  }
}

/**
 * Wires the sliders (`input[data-axis]`) under `root` to the kernel: each change asks for the
 * slider position's traces and calls `replot` with the newest answer. Sets `root.dataset.live` to
 * "pending", "ok" or "error". Returns a function that detaches.
 */
export function attachLiveSweep(
  root: HTMLElement,
  payload: PlotPayload,
  client: LiveSweepClient,
  replot: (data: readonly PlotlyJson[]) => Promise<void>,
): () => void {
  const axes = payload.sweep?.axes ?? [];
  const onInput = (ev: Event) => {
    const target = ev.target;
    if (!(target instanceof HTMLInputElement) || target.dataset["axis"] === undefined) return;
    const inputs = [...root.querySelectorAll<HTMLInputElement>("input[data-axis]")];
    const key = axes.map((a) => {
      const input = inputs.find((i) => i.dataset["axis"] === a.name);
      return a.values[Number(input?.value ?? 0)] ?? a.values[0]!;
    });
    root.dataset["live"] = "pending";
    client.requestLatest(key).then(
      async (answer) => {
        if (answer === null) return;
        await replot(answer.data);
        root.dataset["live"] = "ok";
      },
      (e: unknown) => {
        root.dataset["live"] = "error";
        root.title = `live sweep: ${e instanceof Error ? e.message : String(e)}`;
      },
    );
  };
  root.addEventListener("input", onInput);
  return () => root.removeEventListener("input", onInput);
}

let connector: (() => SweepTransport | null) | null = null;

/** Installed by a JupyterLab plugin that knows the notebook's kernel; null: offline only. */
export function setLiveSweepConnector(fn: (() => SweepTransport | null) | null): void {
  connector = fn;
}

/** The plot renderer with live sliders when a kernel connection is available. */
export class RenderedLiveSweepPlot extends RenderedPlot {
  private detach: (() => void) | null = null;

  override async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.detach?.();
    this.detach = null;
    await super.renderModel(model);
    const payload = model.data[PLOT_MIME] as PlotPayload | undefined;
    const transport = connector?.() ?? null;
    const plotNode = this.node.querySelector<HTMLDivElement>(".mmulab-Plot-plot");
    if (payload?.sweep === undefined || transport === null || plotNode === null) return;
    const client = new LiveSweepClient(transport);
    const plotly = await loadPlotly();
    this.detach = attachLiveSweep(this.node, payload, client, async (data) => {
      await plotly.react(
        plotNode,
        structuredClone(data) as unknown as PlotlyTypes.Data[],
        structuredClone(payload.layout),
        plotConfig(),
      );
      this.node.dataset["traces"] = String(data.length);
    });
  }
}

export const liveSweepRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PLOT_MIME],
  defaultRank: 40,
  createRenderer: (options) => new RenderedLiveSweepPlot(options),
};
