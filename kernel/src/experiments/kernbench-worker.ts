/**
 * Build process entry: runs kernbench builds sent by the pool (see kernbench-table.ts) and sends
 * back each result. A child process rather than a worker thread, so that it can have its own V8
 * flags (buildProcessFlags).
 */
import { runKernbench, type KernbenchRunOptions } from "./kernbench.js";

process.on("message", (msg: { id: number; options: KernbenchRunOptions }) => {
  try {
    const r = runKernbench(msg.options);
    process.send?.({ id: msg.id, run: r });
  } catch (e) {
    process.send?.({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
// The pool closes the channel when it is done: leave then.
process.on("disconnect", () => process.exit(0));
