/**
 * The notebook kernel, measured as a Jupyter client sees it (ZeroMQ, signed messages, the built
 * kernel/dist front and executor):
 * - cold start to first result: spawn the kernel process, connect, run `1 + 1`, until its
 *   execute_result arrives (target ≤ 3 s; most of it is tslab's TypeScript compiler loading the
 *   standard library and @types/node);
 * - per-cell overhead: the mean round trip of a trivial cell (`1`) on a warm kernel, from
 *   execute_request to the idle status after its reply.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchKernel } from "../../notebook-kernel/client.js";
import type { Benchmark } from "../types.js";

const TRIVIAL_CELLS = 100;

async function withKernel<T>(
  fn: (k: Awaited<ReturnType<typeof launchKernel>>, t0: number) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "mmulab-bench-nb-"));
  const t0 = performance.now();
  const k = await launchKernel({ cwd: dir });
  try {
    return await fn(k, t0);
  } finally {
    await k.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function coldStartMs(): Promise<number> {
  return withKernel(async (k, t0) => {
    const r = await k.client.execute("1 + 1");
    const got = r.outputs.find((m) => m.header.msg_type === "execute_result");
    if (got === undefined) throw new Error("no execute_result for 1 + 1");
    const arrived = k.client.iopubLog.indexOf(got);
    if (arrived < 0) throw new Error("execute_result not logged");
    return performance.now() - t0;
  });
}

async function perCellMs(): Promise<number> {
  return withKernel(async (k) => {
    await k.client.execute("1");
    const t = performance.now();
    for (let i = 0; i < TRIVIAL_CELLS; i++) {
      const r = await k.client.execute("1");
      if (r.reply.content["status"] !== "ok") throw new Error("trivial cell failed");
    }
    return (performance.now() - t) / TRIVIAL_CELLS;
  });
}

export const notebookKernelBenchmarks: readonly Benchmark[] = [
  {
    name: "kernel/cold start to first result",
    unit: "ms",
    target: 3000,
    better: "lower",
    run: coldStartMs,
  },
  {
    name: "kernel/trivial cell round trip",
    unit: "ms",
    target: 25,
    better: "lower",
    run: perCellMs,
  },
];
