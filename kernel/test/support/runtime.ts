import type { JsonObject } from "../../src/contract/mime.js";
import type { MimeBundle, NotebookRuntime } from "../../src/display/runtime.js";

/**
 * A notebook runtime that records what a cell would show: displays (bundle and display id) and
 * the comm data the kernel publishes. No interrupts, no stdin.
 */
export function recordingRuntime(): NotebookRuntime & {
  readonly shown: { bundle: MimeBundle; id: string }[];
  readonly sent: JsonObject[];
} {
  const shown: { bundle: MimeBundle; id: string }[] = [];
  const sent: JsonObject[] = [];
  return {
    shown,
    sent,
    displayData: (bundle, _metadata, id) => {
      shown.push({ bundle, id: id ?? "" });
    },
    clearOutput: () => undefined,
    page: () => undefined,
    publish: (_type, content) => {
      sent.push(content["data"] as JsonObject);
    },
    interruptRequested: () => false,
    onInterrupt: () => () => undefined,
    input: () => Promise.reject(new Error("no stdin")),
  };
}
