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
process.on("uncaughtException", (error) => {
  process.stderr.write(`Uncaught exception: ${error.stack ?? String(error)}\n`);
});
process.on("unhandledRejection", (reason) => {
  const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
  process.stderr.write(`Unhandled promise rejection: ${text}\n`);
});

host.start();
