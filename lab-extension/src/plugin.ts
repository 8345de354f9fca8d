/**
 * The JupyterLab plugin of @mmulab/lab-extension (the package's `jupyterlab.extension` module; the
 * renderers are its `mimeExtension`, index.ts). It gives the plot renderer's live sweep sliders
 * their kernel: the connector finds, for a rendered plot, the notebook panel that contains it
 * (INotebookTracker) and opens a `mmulab.sweep` comm on that notebook's kernel (kernel-comm.ts).
 * Without this plugin (or without a kernel) the sliders show the precomputed frames only.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { INotebookTracker } from "@jupyterlab/notebook";
import { notebookKernelConnector } from "./kernel-comm.js";
import { setLiveSweepConnector } from "./live-sweep.js";
import { setTimelineConnector } from "./timeline.js";
import { TIMELINE_COMM_TARGET } from "@mmulab/kernel/contract";

export const LIVE_SWEEP_PLUGIN_ID = "@mmulab/lab-extension:live-sweep";

const liveSweep: JupyterFrontEndPlugin<void> = {
  id: LIVE_SWEEP_PLUGIN_ID,
  description:
    "Live sweep sliders: plots with sweep axes ask their notebook's kernel over the mmulab.sweep comm",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker): void => {
    setLiveSweepConnector(notebookKernelConnector(tracker));
  },
  deactivate: (): void => {
    setLiveSweepConnector(null);
  },
};

export const TIMELINE_PLUGIN_ID = "@mmulab/lab-extension:timeline-detail";

/** Reduced timelines fetch the exact events of a zoomed window over the mmulab.timeline comm. */
const timelineDetail: JupyterFrontEndPlugin<void> = {
  id: TIMELINE_PLUGIN_ID,
  description:
    "Big timelines: a zoomed window's exact events from the notebook's kernel over the mmulab.timeline comm",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker): void => {
    setTimelineConnector(notebookKernelConnector(tracker, TIMELINE_COMM_TARGET));
  },
  deactivate: (): void => {
    setTimelineConnector(null);
  },
};

const plugins: JupyterFrontEndPlugin<void>[] = [liveSweep, timelineDetail];

export default plugins;
