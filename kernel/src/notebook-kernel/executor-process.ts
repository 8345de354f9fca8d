/**
 * The front's handle on the executor process: fork it, send requests and match replies, write on
 * the interrupt pipe, signal it, and notice when it dies (every pending request then fails with
 * {@link ExecutorExited}).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Writable } from "node:stream";
import type { JsonObject } from "../contract/mime.js";
import {
  INTERRUPT_BYTE,
  type ExecutorRequest,
  type ExecutorToFront,
  type FrontToExecutor,
  type IopubEvent,
} from "./ipc.js";

export const EXECUTOR_MAIN = fileURLToPath(new URL("./executor-main.js", import.meta.url));

/** The executor exited (crashed, was killed, or a cell called process.exit). */
export class ExecutorExited extends Error {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  constructor(code: number | null, signal: NodeJS.Signals | null) {
    super(
      `the execution process ${signal !== null ? `was killed (${signal})` : `exited (code ${code})`}`,
    );
    this.name = "ExecutorExited";
    this.code = code;
    this.signal = signal;
  }
}

export interface ReadyInfo {
  readonly pid: number;
  readonly typescriptVersion: string;
  readonly tslabVersion: string;
}

export interface ExecutorProcessOptions {
  readonly cwd: string;
  readonly path?: string;
  readonly onIopub: (event: IopubEvent) => void;
  readonly onInputRequest: (event: Extract<ExecutorToFront, { t: "input_request" }>) => void;
  readonly onExit: (error: ExecutorExited) => void;
}

export class ExecutorProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<ReadyInfo>;
  readonly exited: Promise<ExecutorExited>;
  private readonly pending = new Map<
    number,
    { resolve: (content: JsonObject) => void; reject: (error: Error) => void }
  >();
  private isAlive = true;

  constructor(opts: ExecutorProcessOptions) {
    const child = fork(opts.path ?? EXECUTOR_MAIN, [], {
      cwd: opts.cwd,
      stdio: ["ignore", "inherit", "inherit", "ipc", "pipe"],
      serialization: "advanced",
    });
    this.child = child;
    let resolveReady!: (info: ReadyInfo) => void;
    let rejectReady!: (error: Error) => void;
    this.ready = new Promise<ReadyInfo>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // Callers attach to `ready` when they need it; do not let an early death go unhandled.
    this.ready.catch(() => undefined);
    this.exited = new Promise<ExecutorExited>((resolve) => {
      child.on("exit", (code, signal) => {
        this.isAlive = false;
        const error = new ExecutorExited(code, signal);
        rejectReady(error);
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
        resolve(error);
        opts.onExit(error);
      });
    });
    child.on("error", (e) => {
      process.stderr.write(`mmulab kernel: executor process error: ${e.message}\n`);
    });
    child.on("message", (raw) => {
      const m = raw as ExecutorToFront;
      switch (m.t) {
        case "ready":
          resolveReady({
            pid: m.pid,
            typescriptVersion: m.typescriptVersion,
            tslabVersion: m.tslabVersion,
          });
          break;
        case "iopub":
          opts.onIopub(m);
          break;
        case "input_request":
          opts.onInputRequest(m);
          break;
        case "reply": {
          const p = this.pending.get(m.req);
          if (p !== undefined) {
            this.pending.delete(m.req);
            p.resolve(m.content);
          }
          break;
        }
      }
    });
    const pipe = child.stdio[4] as Writable | null | undefined;
    pipe?.on("error", () => undefined);
  }

  get alive(): boolean {
    return this.isAlive;
  }

  /** Sends a request once the executor is ready; resolves to its reply content. */
  async request(r: ExecutorRequest): Promise<JsonObject> {
    await this.ready;
    if (!this.isAlive) throw new ExecutorExited(this.child.exitCode, this.child.signalCode);
    return new Promise<JsonObject>((resolve, reject) => {
      this.pending.set(r.req, { resolve, reject });
      this.post(r);
    });
  }

  post(message: FrontToExecutor): void {
    if (this.isAlive && this.child.connected) this.child.send(message);
  }

  /** Interrupt, step 1: the worker thread sets the shared flag; the main thread's listeners run
   * when it is free. */
  softInterrupt(): void {
    const pipe = this.child.stdio[4] as Writable | null | undefined;
    if (this.isAlive && pipe && !pipe.destroyed) pipe.write(Buffer.from([INTERRUPT_BYTE]));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.isAlive) this.child.kill(sig);
  }

  /** Asks the executor to exit, then kills it if it has not after `graceMs`. */
  async stop(graceMs = 1000): Promise<void> {
    if (!this.isAlive) return;
    this.post({ t: "shutdown" });
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
