#!/usr/bin/env node
/**
 * Entry of the mmulab Jupyter kernel, as the kernelspec starts it:
 *
 *   node kernel/dist/notebook-kernel/main.js --connection-file <file>
 */
import { runKernel } from "./run.js";

runKernel(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `mmulab kernel: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
