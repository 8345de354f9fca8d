/**
 * @mmulab/lab-extension: JupyterLab 4 MIME renderers for mmulab's three payloads. The default
 * export is what JupyterLab loads from a mime extension: one IExtension per MIME type. The plot's
 * renderer is the live one (live-sweep.ts); the plugin that connects it to the notebook's kernel
 * is the package's other module, plugin.ts (`jupyterlab.extension` in package.json).
 */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import plot from "./live-sweep.js";
import pagetable from "./pagetable.js";
import timeline from "./timeline.js";

export { RenderedPageTable } from "./pagetable.js";
export { RenderedPlot } from "./plot.js";
export { RenderedTimeline } from "./timeline.js";
export {
  attachLiveSweep,
  LiveSweepClient,
  LiveSweepError,
  liveSweepRendererFactory,
  RenderedLiveSweepPlot,
  setLiveSweepConnector,
  type LiveSweepConnector,
  type SweepAnswer,
  type SweepKey,
  type SweepTransport,
} from "./live-sweep.js";
export * from "./payload.js";

const extensions: IRenderMime.IExtension[] = [pagetable, timeline, plot];

export default extensions;
