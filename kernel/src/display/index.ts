/**
 * Notebook displays: multi-MIME bundles (custom JSON payload + static `text/html` SVG +
 * `text/plain`) for page tables, timelines and plots; progress displays updated in place.
 * See mime.ts for how a value chooses its bundle and how to add adapters.
 */
export {
  clearOutput,
  display,
  displayBundle,
  displayPageTables,
  displayPlot,
  displayTimeline,
  input,
  newDisplayId,
  page,
  type DisplayHandle,
  type DisplayOptions,
} from "./display.js";
export {
  isQuietResult,
  MMULAB_MIME,
  plainText,
  QUIET_RESULT,
  registerMimeAdapter,
  toMimeBundle,
  type MimeAdapter,
  type MimeDisplayable,
} from "./mime.js";
export { pageTablesBundle, pageTablesSvg, pageTablesText } from "./pagetable.js";
export { plotBundle, plotSvg, plotText } from "./plot.js";
export {
  progress,
  progressBundle,
  runWithProgress,
  type ProgressOptions,
  type TerminalStream,
  type ProgressUpdater,
  type Runnable,
  type RunWithProgressOptions,
} from "./progress.js";
export {
  interruptRequested,
  notebookRuntime,
  onInterrupt,
  setNotebookRuntime,
  type MimeBundle,
  type NotebookRuntime,
} from "./runtime.js";
export { timelineBundle, timelineSvg, timelineText } from "./timeline.js";
export {
  checkPageTablePayload,
  checkPlotPayload,
  checkTimelinePayload,
  PayloadError,
} from "../contract/payload.js";
export { formatNumber, markdown, mdTable, type Markdown } from "./markdown.js";
export {
  isRaceMatrix,
  raceMatrixBundle,
  raceMatrixHtml,
  raceMatrixMarkdown,
} from "./race-matrix.js";
export { isSeedTable, seedTableBundle, seedTableHtml, seedTableMarkdown } from "./seed-table.js";
export { traceBundle } from "./trace.js";
export { formatNs } from "./svg.js";
