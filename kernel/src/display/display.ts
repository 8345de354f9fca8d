/**
 * What notebook cells call to show things: `display(x)` and the typed helpers for the three
 * payloads, `clearOutput`, `page`, `input`. Under the mmulab kernel these publish Jupyter
 * messages; anywhere else `display` prints the `text/plain` rendering to stdout and the rest are
 * no-ops (or, for `input`, reject).
 */
import { randomBytes } from "node:crypto";
import type {
  JsonObject,
  PageTablePayload,
  PlotPayload,
  TimelinePayload,
} from "../contract/mime.js";
import { QUIET_RESULT, toMimeBundle } from "./mime.js";
import { pageTablesBundle } from "./pagetable.js";
import { plotBundle } from "./plot.js";
import { notebookRuntime, type MimeBundle } from "./runtime.js";
import { timelineBundle } from "./timeline.js";

export interface DisplayOptions {
  /** Display metadata (per-MIME-type options), published as is. */
  readonly metadata?: JsonObject;
  /** Reuse an id to target a display later (default: a fresh random id). */
  readonly displayId?: string;
}

/** A display that can be replaced in place (`update_display_data`). */
export interface DisplayHandle {
  readonly displayId: string;
  /** Replaces the display's content with `value`'s bundle. */
  update(value: unknown): void;
  /** Replaces the display's content with a bundle as is. */
  updateBundle(bundle: MimeBundle): void;
}

/** A fresh display id (16 hex digits). */
export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}

function publish(bundle: MimeBundle, options: DisplayOptions, update: boolean): DisplayHandle {
  const displayId = options.displayId ?? newDisplayId();
  const metadata = options.metadata ?? {};
  const rt = notebookRuntime();
  if (rt !== null) rt.displayData(bundle, metadata, displayId, update);
  else if (!update) process.stdout.write(`${bundle["text/plain"]}\n`);
  const handle: DisplayHandle = {
    displayId,
    update: (value) => {
      publish(toMimeBundle(value), { metadata, displayId }, true);
    },
    updateBundle: (b) => {
      publish(b, { metadata, displayId }, true);
    },
  };
  Object.defineProperty(handle, QUIET_RESULT, { value: true });
  return handle;
}

/** Shows `value` with every representation {@link toMimeBundle} finds for it. */
export function display(value: unknown, options: DisplayOptions = {}): DisplayHandle {
  return publish(toMimeBundle(value), options, false);
}

/** Shows a MIME bundle as is (it must carry `text/plain`). */
export function displayBundle(bundle: MimeBundle, options: DisplayOptions = {}): DisplayHandle {
  if (typeof bundle["text/plain"] !== "string") {
    throw new TypeError("displayBundle: the bundle must have a text/plain string");
  }
  return publish(bundle, options, false);
}

/** Shows a page-table tree (`exportPageTables(k, mm)`): payload, SVG tree and text. */
export function displayPageTables(
  payload: PageTablePayload,
  options: DisplayOptions = {},
): DisplayHandle {
  return publish(pageTablesBundle(payload), options, false);
}

/** Shows a timeline: payload, SVG lanes and text. */
export function displayTimeline(
  payload: TimelinePayload,
  options: DisplayOptions = {},
): DisplayHandle {
  return publish(timelineBundle(payload), options, false);
}

/** Shows a plot: payload, SVG of the traces and text. */
export function displayPlot(payload: PlotPayload, options: DisplayOptions = {}): DisplayHandle {
  return publish(plotBundle(payload), options, false);
}

/** Clears the cell's output; with `wait`, only when the next output arrives (no flicker). */
export function clearOutput(wait = false): void {
  notebookRuntime()?.clearOutput(wait);
}

/** Shows `value` in the front end's pager (a `page` payload of the execute reply). */
export function page(value: unknown): void {
  const bundle = toMimeBundle(value);
  const rt = notebookRuntime();
  if (rt !== null) rt.page(bundle);
  else process.stdout.write(`${bundle["text/plain"]}\n`);
}

/** Reads a line from the user through the front end (Jupyter's stdin channel). */
export function input(prompt = "", options: { readonly password?: boolean } = {}): Promise<string> {
  const rt = notebookRuntime();
  if (rt === null) return Promise.reject(new Error("input() needs the mmulab notebook kernel"));
  return rt.input(prompt, options.password ?? false);
}
