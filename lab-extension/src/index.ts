/**
 * @mmulab/lab-extension: JupyterLab 4 MIME renderers for mmulab's three payloads. The default
 * export is what JupyterLab loads from a mime extension: one IExtension per MIME type.
 */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import pagetable from "./pagetable.js";
import plot from "./plot.js";
import timeline from "./timeline.js";

export { RenderedPageTable } from "./pagetable.js";
export { RenderedPlot } from "./plot.js";
export { RenderedTimeline } from "./timeline.js";
export * from "./payload.js";

const extensions: IRenderMime.IExtension[] = [pagetable, timeline, plot];

export default extensions;
