/**
 * A worker thread of the executor process that hears interrupts while the main thread is busy.
 *
 * The front writes a byte on a pipe (the executor's fd {@link INTERRUPT_FD}) when the user
 * interrupts. This thread reads it, sets the shared interrupt flag at once — so a synchronous
 * loop polling `interruptRequested()` (runWithProgress, or any user loop) sees it on its next
 * check — and tells the main thread, which runs the interrupt listeners as soon as it is free.
 *
 * It also ends the process if the front disappears (the parent pid changes): a main thread stuck
 * in a loop would otherwise never notice that the IPC channel closed.
 */
import { Socket } from "node:net";
import { parentPort, workerData } from "node:worker_threads";

interface InterruptWorkerData {
  readonly flag: SharedArrayBuffer;
  readonly fd: number;
  readonly parentPid: number;
}

const data = workerData as InterruptWorkerData;
const flag = new Int32Array(data.flag);

const pipe = new Socket({ fd: data.fd, readable: true, writable: false });
pipe.on("data", (bytes: Buffer) => {
  if (bytes.length === 0) return;
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  parentPort?.postMessage("interrupt");
});
pipe.on("error", () => undefined);
pipe.on("end", () => undefined);

setInterval(() => {
  if (process.ppid !== data.parentPid) process.kill(process.pid, "SIGKILL");
}, 1000);
