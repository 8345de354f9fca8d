/** Worker thread entry: runs kernbench builds sent by the pool (see kernbench-table.ts). */
import { parentPort } from "node:worker_threads";
import { runKernbench, type KernbenchRunOptions } from "./kernbench.js";

parentPort?.on("message", (msg: { id: number; options: KernbenchRunOptions }) => {
  try {
    const r = runKernbench(msg.options);
    parentPort?.postMessage({ id: msg.id, run: r });
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
