/**
 * The symbols through which a value chooses how a notebook shows it: its own bundle
 * ({@link MMULAB_MIME}) or no result at all ({@link QUIET_RESULT}). Registered symbols
 * (`Symbol.for`), so that two copies of the library agree on them.
 */
import type { MimeBundle } from "./runtime.js";

/** The method a value implements to choose its own bundle. */
export const MMULAB_MIME: unique symbol = Symbol.for("mmulab.mime");

/** A value that renders itself. */
export interface MimeDisplayable {
  [MMULAB_MIME](): MimeBundle;
}

/**
 * Marks values that are not worth showing as a cell's result (display handles, progress
 * updaters): the kernel publishes no `execute_result` for them, as IPython shows nothing for the
 * `None` that `display()` returns.
 */
export const QUIET_RESULT: unique symbol = Symbol.for("mmulab.quietResult");

/** Whether the kernel should skip `execute_result` for this value. */
export function isQuietResult(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    (value as { [QUIET_RESULT]?: unknown })[QUIET_RESULT] === true
  );
}
