/**
 * Entry of the executor process, forked by the front (front.ts) with an IPC channel and the
 * interrupt pipe on fd 4. Not meant to be started by hand.
 */
import { tuneV8ForShortLivedSimulations } from "../sim/v8-tuning.js";
import { ExecutorHost } from "./executor.js";
import type { ExecutorToFront, FrontToExecutor } from "./ipc.js";

if (typeof process.send !== "function") {
  process.stderr.write("mmulab executor: must be started by the kernel front (no IPC channel)\n");
  process.exit(2);
}

// notebook cells run race trials and sweeps by the thousand
tuneV8ForShortLivedSimulations();

const send = (message: ExecutorToFront): void => {
  process.send?.(message);
};

const host = new ExecutorHost({ cwd: process.cwd(), send, interruptPipe: true });

process.on("message", (message) => host.receive(message as FrontToExecutor));
// The front is gone: nothing left to run for.
process.on("disconnect", () => process.exit(0));
// Errors nothing waits for (timers, callbacks, unhandled rejections) go to the notebook, on the
// cell that started them; the process goes on.
process.on("uncaughtException", (error) => host.lateError("uncaught", error));
process.on("unhandledRejection", (reason) => host.lateError("unhandled-rejection", reason));

host.start();
