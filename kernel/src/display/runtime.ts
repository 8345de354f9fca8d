/**
 * The seam between notebook-facing helpers (display, progress, comms) and the Jupyter kernel that
 * runs them.
 *
 * The kernel's executor process installs a {@link NotebookRuntime} when it starts; code running
 * anywhere else (a plain `node` script, vitest) finds none, and the helpers fall back to printing
 * text. The runtime is kept on `globalThis` under a registered symbol rather than in module state,
 * so that two copies of this module (say the kernel's and one a cell resolved from elsewhere)
 * still talk to the same kernel.
 */
import type { JsonObject, JsonValue } from "../contract/mime.js";
import { setUserInterruptCheck } from "../sim/user-interrupt.js";

/**
 * A Jupyter MIME bundle: MIME type → representation. `text/plain` is always present so that every
 * front end shows something; JSON MIME types carry objects, text types strings.
 */
export type MimeBundle = { readonly "text/plain": string } & {
  readonly [mimeType: string]: JsonValue;
};

/** What the kernel provides to notebook helpers while it runs cells. */
export interface NotebookRuntime {
  /**
   * Publishes `display_data`, or `update_display_data` when `update` is set (then `displayId`
   * names the display to replace).
   */
  displayData(
    bundle: MimeBundle,
    metadata: JsonObject,
    displayId: string | null,
    update: boolean,
  ): void;
  /** Publishes `clear_output`; with `wait`, the front end clears when the next output arrives. */
  clearOutput(wait: boolean): void;
  /** Adds a pager payload (`source: "page"`) to the running cell's execute_reply. */
  page(bundle: MimeBundle): void;
  /** Publishes any iopub message in the context of the running request (comms use it). */
  publish(
    msgType: string,
    content: JsonObject,
    metadata?: JsonObject,
    buffers?: readonly Uint8Array[],
  ): void;
  /**
   * True once the user asked to interrupt the running cell. Cheap (one `Atomics.load` on memory
   * another thread writes), so a synchronous loop can poll it: it turns true even while this
   * thread never yields.
   */
  interruptRequested(): boolean;
  /** Calls `fn` (on this thread, once it is free) when the running cell is interrupted. Returns a
   * function that unsubscribes. */
  onInterrupt(fn: () => void): () => void;
  /** Asks the front end for a line of input (stdin channel); rejects when it does not allow it. */
  input(prompt: string, password: boolean): Promise<string>;
}

const RUNTIME_KEY = Symbol.for("mmulab.notebook.runtime");

type RuntimeHolder = { [RUNTIME_KEY]?: NotebookRuntime | null };

/** The kernel's runtime, or null outside a kernel. */
export function notebookRuntime(): NotebookRuntime | null {
  return (globalThis as RuntimeHolder)[RUNTIME_KEY] ?? null;
}

/** Installs (or, with null, removes) the runtime. Called by the kernel's executor, and by tests. */
export function setNotebookRuntime(runtime: NotebookRuntime | null): void {
  (globalThis as RuntimeHolder)[RUNTIME_KEY] = runtime;
  // and a plain sim.run() in a cell stops between two events on interrupt (sim/user-interrupt.ts)
  setUserInterruptCheck(runtime === null ? null : () => runtime.interruptRequested());
}

/** True when running under the mmulab kernel and the user asked to interrupt the cell. */
export function interruptRequested(): boolean {
  return notebookRuntime()?.interruptRequested() ?? false;
}

/** Registers `fn` to run when the cell is interrupted; a no-op outside a kernel. */
export function onInterrupt(fn: () => void): () => void {
  return notebookRuntime()?.onInterrupt(fn) ?? (() => undefined);
}
