/**
 * The mmulab Jupyter kernel: a complete messaging-5.3 layer on ZeroMQ around tslab's compiler and
 * executor.
 *
 * ## Two processes
 *
 * The kernel is two Node processes. This one, the **front**, owns the five sockets (shell, iopub,
 * stdin, control, heartbeat), signs and checks every message, keeps the execution count and
 * history, queues shell requests, publishes busy/idle, and never runs user code. The **executor**
 * (executor.ts), forked at start, compiles and runs cells with tslab and sends results back over
 * IPC. Because the front never blocks, the heartbeat, the control channel and interrupts keep
 * working while a cell spins, and a cell that kills its process (an infinite loop the interrupt
 * cannot reach, `process.exit`, an out-of-memory crash) costs the kernel's state, not the kernel.
 *
 * ## Interrupt
 *
 * `interrupt_request` on control (the kernelspec asks for `interrupt_mode: "message"`) or SIGINT
 * to this process escalates in three steps while the request is still running:
 *
 * 1. at once, a byte on the executor's interrupt pipe: a worker thread there sets a shared flag
 *    (seen immediately by synchronous loops that poll `interruptRequested()`, such as
 *    `runWithProgress`, which then stop between two simulation events) and the main thread, when
 *    free, runs interrupt listeners and rejects an awaiting cell;
 * 2. after `interruptGraceMs`, SIGINT to the executor: tslab runs cells under
 *    `vm.runInThisContext(…, { breakOnSigint: true })`, so a cell's synchronous code (a `while
 *    (true) {}`, a long `sim.run()`) is terminated with an exception, and the kernel keeps all
 *    its variables (a simulation stopped that way may be mid-event: prefer `runWithProgress`);
 * 3. after `killAfterMs` more, the executor is killed and a fresh one started: this catches code
 *    that SIGINT cannot reach (a busy loop in a timer callback or after an `await`). The reply is
 *    a `KeyboardInterrupt` error saying that the kernel's state was lost.
 *
 * Stopping V8 from another thread (inspector `Runtime.terminateExecution`) was tried and rejected:
 * outside `vm`, terminating a callback corrupts Node's async-hooks stack and aborts the process.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Publisher, Reply, Router } from "zeromq";
import type { JsonObject, JsonValue } from "../contract/mime.js";
import { endpoint, type ConnectionInfo } from "./connection.js";
import { ExecutorExited, ExecutorProcess, type ReadyInfo } from "./executor-process.js";
import { History, historyQueryOf } from "./history.js";
import type { ExecutorRequest, ExecutorToFront, IopubEvent } from "./ipc.js";
import { KERNEL_ROOT } from "./resolve.js";
import { tslabVersions } from "./tslab.js";
import {
  decodeMessage,
  encodeMessage,
  newMessage,
  PROTOCOL_VERSION,
  Signer,
  WireError,
  type JupyterMessage,
} from "./wire.js";

export interface FrontOptions {
  readonly connection: ConnectionInfo;
  /** Where cells run (default: this process's cwd, which Jupyter sets to the notebook's). */
  readonly cwd?: string;
  /** Step 1 → step 2 of an interrupt, ms (default 300). */
  readonly interruptGraceMs?: number;
  /** Step 2 → step 3 of an interrupt, ms (default 5000). */
  readonly killAfterMs?: number;
  /** Diagnostics of the kernel itself (default: stderr, which Jupyter servers log). */
  readonly log?: (line: string) => void;
  /** Exit the process after shutdown (default true; tests run the front in-process). */
  readonly exitOnShutdown?: boolean;
  /**
   * The process that started the kernel and owns its connection file, as the Jupyter server
   * passes it in JPY_PARENT_PID (run.ts): when it is gone, the kernel shuts down (default: none).
   */
  readonly parentPid?: number;
}

/** Whether process `pid` exists (a zombie counts: its parent has not reaped it yet). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function kernelVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(`${KERNEL_ROOT}/package.json`, "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Sends on one socket at a time: zeromq.js allows a single pending send per socket. */
class SendQueue {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly socket: { send(frames: Buffer[]): Promise<void> },
    private readonly log: (line: string) => void,
  ) {}

  push(frames: Buffer[]): Promise<void> {
    this.chain = this.chain
      .then(() => this.socket.send(frames))
      .catch((e: unknown) => this.log(`send failed: ${String(e)}`));
    return this.chain;
  }
}

const bool = (v: JsonValue | undefined, fallback: boolean): boolean =>
  typeof v === "boolean" ? v : fallback;
const str = (v: JsonValue | undefined, fallback = ""): string =>
  typeof v === "string" ? v : fallback;
const num = (v: JsonValue | undefined, fallback = 0): number =>
  typeof v === "number" && Number.isFinite(v) ? v : fallback;
const obj = (v: JsonValue | undefined): JsonObject =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};

interface InFlight {
  readonly req: number;
  readonly msg: JupyterMessage;
  sigint: ReturnType<typeof setTimeout> | null;
  kill: ReturnType<typeof setTimeout> | null;
  interrupted: boolean;
}

export class KernelFront {
  private readonly conn: ConnectionInfo;
  private readonly cwd: string;
  private readonly graceMs: number;
  private readonly killAfterMs: number;
  private readonly log: (line: string) => void;
  private readonly exitOnShutdown: boolean;
  private readonly signer: Signer;
  private readonly session = randomUUID();
  private readonly shell = new Router();
  private readonly control = new Router();
  private readonly stdin = new Router();
  private readonly iopub = new Publisher();
  private readonly hb = new Reply();
  private readonly out: Record<"shell" | "control" | "stdin" | "iopub", SendQueue>;
  private executor!: ExecutorProcess;
  private executionCount = 0;
  private readonly history = new History();
  private readonly shellQueue: JupyterMessage[] = [];
  private shellRunning = false;
  private inFlight: InFlight | null = null;
  private nextReq = 1;
  /** Request number → the Jupyter message it came from (parent header of its output). */
  private readonly requests = new Map<number, JupyterMessage>();
  private lastParent: JupyterMessage | null = null;
  /** input_request msg_id → executor input id. */
  private readonly inputs = new Map<string, number>();
  /** execute_result text of each request, for history. */
  private readonly results = new Map<number, string>();
  private closing = false;
  private readonly parentPid: number | null;
  private parentWatch: ReturnType<typeof setInterval> | null = null;
  private readonly versions = tslabVersions();
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(options: FrontOptions) {
    this.conn = options.connection;
    this.cwd = options.cwd ?? process.cwd();
    this.graceMs = options.interruptGraceMs ?? 300;
    this.killAfterMs = options.killAfterMs ?? 5000;
    this.log = options.log ?? ((line) => process.stderr.write(`[mmulab kernel] ${line}\n`));
    this.exitOnShutdown = options.exitOnShutdown ?? true;
    this.parentPid = options.parentPid ?? null;
    this.signer = new Signer(this.conn.signature_scheme, this.conn.key);
    this.out = {
      shell: new SendQueue(this.shell, this.log),
      control: new SendQueue(this.control, this.log),
      stdin: new SendQueue(this.stdin, this.log),
      iopub: new SendQueue(this.iopub, this.log),
    };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts the executor, binds the sockets and serves until shutdown. */
  async start(): Promise<void> {
    this.executor = this.spawnExecutor();
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.linger = 1000;
    await Promise.all([
      this.shell.bind(endpoint(this.conn, "shell")),
      this.control.bind(endpoint(this.conn, "control")),
      this.stdin.bind(endpoint(this.conn, "stdin")),
      this.iopub.bind(endpoint(this.conn, "iopub")),
      this.hb.bind(endpoint(this.conn, "hb")),
    ]);
    void this.heartbeatLoop();
    void this.receiveLoop(this.shell, (m) => this.enqueueShell(m));
    void this.receiveLoop(this.control, (m) => this.handleControl(m));
    void this.receiveLoop(this.stdin, (m) => this.handleStdin(m));
    this.publish("status", { execution_state: "starting" }, null);
    this.watchParent();
  }

  /**
   * As ipykernel's parent poller does: once a second, check that the process that started the
   * kernel still exists (and that this one has not been handed to another parent); if not, shut
   * down. A Jupyter server that dies without shutting its kernels down (killed, crashed) would
   * otherwise leave them running, each with its executor, for good: nobody else has their
   * connection files.
   */
  private watchParent(): void {
    const pid = this.parentPid;
    if (pid === null) return;
    const ppid = process.ppid;
    this.parentWatch = setInterval(() => {
      if (process.ppid === ppid && processExists(pid)) return;
      this.log(`the process that started the kernel (${pid}) is gone; shutting down`);
      void this.close();
    }, 1000);
    this.parentWatch.unref();
  }

  /** Resolves when the kernel has shut down. */
  get finished(): Promise<void> {
    return this.done;
  }

  /** The executor's start-up information (resolves when it can run cells). */
  executorReady(): Promise<ReadyInfo> {
    return this.executor.ready;
  }

  // ----------------------------------------------------------------------------- sockets

  private async heartbeatLoop(): Promise<void> {
    try {
      for await (const frames of this.hb) await this.hb.send(frames);
    } catch (e) {
      if (!this.closing) this.log(`heartbeat stopped: ${String(e)}`);
    }
  }

  private async receiveLoop(
    socket: Router,
    handle: (m: JupyterMessage) => void | Promise<void>,
  ): Promise<void> {
    try {
      for await (const frames of socket) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(frames, this.signer);
        } catch (e) {
          this.log(e instanceof WireError ? `dropped a message: ${e.message}` : String(e));
          continue;
        }
        try {
          await handle(msg);
        } catch (e) {
          this.log(`handling ${msg.header.msg_type} failed: ${(e as Error).stack ?? String(e)}`);
        }
      }
    } catch (e) {
      if (!this.closing) this.log(`socket loop stopped: ${String(e)}`);
    }
  }

  private send(
    channel: "shell" | "control" | "stdin",
    parent: JupyterMessage,
    msgType: string,
    content: JsonObject,
    metadata: JsonObject = {},
  ): Promise<void> {
    const msg = newMessage(msgType, content, { parent, session: this.session, metadata });
    return this.out[channel].push(encodeMessage(msg, this.signer));
  }

  private publish(
    msgType: string,
    content: JsonObject,
    parent: JupyterMessage | null,
    metadata: JsonObject = {},
    buffers: readonly Uint8Array[] = [],
  ): void {
    const msg = newMessage(msgType, content, {
      parent,
      identities: [Buffer.from(`kernel.${this.session}.${msgType}`)],
      session: this.session,
      metadata,
      buffers: buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
    });
    void this.out.iopub.push(encodeMessage(msg, this.signer));
  }

  private status(state: "busy" | "idle", parent: JupyterMessage): void {
    this.publish("status", { execution_state: state }, parent);
  }

  // ---------------------------------------------------------------------------- executor

  private spawnExecutor(): ExecutorProcess {
    const exec = new ExecutorProcess({
      cwd: this.cwd,
      onIopub: (e) => this.forwardIopub(e),
      onInputRequest: (e) => this.forwardInputRequest(e),
      onExit: (error) => {
        if (this.closing || this.executor !== exec) return;
        this.log(`${error.message}; starting a new one`);
        this.executor = this.spawnExecutor();
      },
    });
    return exec;
  }

  private forwardIopub(e: IopubEvent): void {
    const parent = (e.req !== null ? this.requests.get(e.req) : undefined) ?? this.lastParent;
    if (e.msgType === "execute_result" && e.req !== null) {
      const text = obj(e.content["data"])["text/plain"];
      if (typeof text === "string") this.results.set(e.req, text);
    }
    this.publish(e.msgType, e.content, parent, e.metadata ?? {}, e.buffers ?? []);
  }

  private forwardInputRequest(e: Extract<ExecutorToFront, { t: "input_request" }>): void {
    const parent = (e.req !== null ? this.requests.get(e.req) : undefined) ?? this.lastParent;
    if (parent === null) {
      this.executor.post({ t: "input_reply", inputId: e.inputId, value: null });
      return;
    }
    const msg = newMessage(
      "input_request",
      { prompt: e.prompt, password: e.password },
      { parent, session: this.session },
    );
    this.inputs.set(msg.header.msg_id, e.inputId);
    void this.out.stdin.push(encodeMessage(msg, this.signer));
  }

  /** Sends a request to the executor as the running shell request; handles interrupts and
   * executor deaths. */
  private async runInExecutor(
    msg: JupyterMessage,
    make: (req: number) => ExecutorRequest,
  ): Promise<
    | { content: JsonObject; req: number }
    | { died: ExecutorExited; interrupted: boolean; req: number }
  > {
    const req = this.nextReq++;
    this.requests.set(req, msg);
    if (this.requests.size > 2000) {
      const oldest = this.requests.keys().next().value;
      if (oldest !== undefined) this.requests.delete(oldest);
    }
    this.lastParent = msg;
    const flight: InFlight = { req, msg, sigint: null, kill: null, interrupted: false };
    this.inFlight = flight;
    try {
      return { content: await this.executor.request(make(req)), req };
    } catch (e) {
      if (e instanceof ExecutorExited) return { died: e, interrupted: flight.interrupted, req };
      throw e;
    } finally {
      if (flight.sigint !== null) clearTimeout(flight.sigint);
      if (flight.kill !== null) clearTimeout(flight.kill);
      if (this.inFlight === flight) this.inFlight = null;
    }
  }

  /** See the module comment: flag, then SIGINT, then a fresh executor. */
  interrupt(): void {
    const f = this.inFlight;
    if (f === null) return;
    f.interrupted = true;
    this.executor.softInterrupt();
    if (f.sigint !== null) return;
    const exec = this.executor;
    f.sigint = setTimeout(() => {
      if (this.inFlight !== f) return;
      exec.signal("SIGINT");
      f.kill = setTimeout(() => {
        if (this.inFlight !== f || this.executor !== exec) return;
        this.log("the executor did not stop on SIGINT; restarting it");
        exec.signal("SIGKILL");
      }, this.killAfterMs);
    }, this.graceMs);
  }

  // ------------------------------------------------------------------------------- shell

  private enqueueShell(msg: JupyterMessage): void {
    this.shellQueue.push(msg);
    if (!this.shellRunning) void this.drainShell();
  }

  private async drainShell(): Promise<void> {
    this.shellRunning = true;
    try {
      while (this.shellQueue.length > 0 && !this.closing) {
        const msg = this.shellQueue.shift()!;
        this.status("busy", msg);
        try {
          await this.handleShell(msg);
        } catch (e) {
          this.log(`${msg.header.msg_type} failed: ${(e as Error).stack ?? String(e)}`);
        }
        this.status("idle", msg);
      }
    } finally {
      this.shellRunning = false;
    }
  }

  private async handleShell(msg: JupyterMessage): Promise<void> {
    const c = msg.content;
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        await this.send("shell", msg, "kernel_info_reply", this.kernelInfo());
        return;
      case "execute_request":
        await this.execute(msg);
        return;
      case "complete_request": {
        const code = str(c["code"]);
        const cursor = num(c["cursor_pos"], code.length);
        await this.simpleRequest(
          msg,
          "complete_reply",
          (req) => ({ t: "complete", req, code, cursor }),
          {
            status: "ok",
            matches: [],
            cursor_start: cursor,
            cursor_end: cursor,
            metadata: {},
          },
        );
        return;
      }
      case "inspect_request": {
        const code = str(c["code"]);
        const cursor = num(c["cursor_pos"], code.length);
        const detailLevel = num(c["detail_level"], 0);
        await this.simpleRequest(
          msg,
          "inspect_reply",
          (req) => ({ t: "inspect", req, code, cursor, detailLevel }),
          { status: "ok", found: false, data: {}, metadata: {} },
        );
        return;
      }
      case "is_complete_request": {
        const code = str(c["code"]);
        await this.simpleRequest(
          msg,
          "is_complete_reply",
          (req) => ({ t: "is_complete", req, code }),
          {
            status: "unknown",
          },
        );
        return;
      }
      case "history_request":
        await this.send("shell", msg, "history_reply", {
          status: "ok",
          history: this.history.query(historyQueryOf(c)) as unknown as JsonValue[],
        });
        return;
      case "comm_info_request": {
        const targetName = typeof c["target_name"] === "string" ? c["target_name"] : null;
        await this.simpleRequest(
          msg,
          "comm_info_reply",
          (req) => ({ t: "comm_info", req, targetName }),
          {
            status: "ok",
            comms: {},
          },
        );
        return;
      }
      case "comm_open":
      case "comm_msg":
      case "comm_close":
        await this.comm(msg);
        return;
      case "shutdown_request":
        await this.shutdown(msg, "shell");
        return;
      case "connect_request":
        await this.send("shell", msg, "connect_reply", {
          status: "ok",
          shell_port: this.conn.shell_port,
          iopub_port: this.conn.iopub_port,
          stdin_port: this.conn.stdin_port,
          control_port: this.conn.control_port,
          hb_port: this.conn.hb_port,
        });
        return;
      default:
        this.log(`unknown shell message type ${JSON.stringify(msg.header.msg_type)}; ignored`);
    }
  }

  private kernelInfo(): JsonObject {
    const version = kernelVersion();
    return {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: "mmulab",
      implementation_version: version,
      language_info: {
        name: "typescript",
        version: this.versions.typescript,
        mimetype: "text/typescript",
        file_extension: ".ts",
        pygments_lexer: "typescript",
        // As tslab sends it: JupyterLab reads `mode`, the classic notebook `name` + `typescript`.
        codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
        nbconvert_exporter: "script",
      },
      banner:
        `mmulab ${version}: simulated Linux x86 page-table freeing, in TypeScript ` +
        `${this.versions.typescript} (tslab ${this.versions.tslab}) on Node ${process.versions.node}.\n` +
        `import { … } from "mmulab"`,
      help_links: [{ text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/" }],
      debugger: false,
    };
  }

  /** A request the executor answers with the reply content as is; `fallback` when it died. */
  private async simpleRequest(
    msg: JupyterMessage,
    replyType: string,
    make: (req: number) => ExecutorRequest,
    fallback: JsonObject,
  ): Promise<void> {
    const r = await this.runInExecutor(msg, make);
    await this.send("shell", msg, replyType, "content" in r ? r.content : fallback);
  }

  private async comm(msg: JupyterMessage): Promise<void> {
    const c = msg.content;
    const commId = str(c["comm_id"]);
    const data = obj(c["data"]);
    const metadata = msg.metadata;
    const buffers = [...msg.buffers];
    const make = (req: number): ExecutorRequest => {
      switch (msg.header.msg_type) {
        case "comm_open":
          return {
            t: "comm_open",
            req,
            commId,
            targetName: str(c["target_name"]),
            data,
            metadata,
            buffers,
          };
        case "comm_msg":
          return { t: "comm_msg", req, commId, data, metadata, buffers };
        default:
          return { t: "comm_close", req, commId, data, metadata };
      }
    };
    await this.runInExecutor(msg, make);
  }

  private async execute(msg: JupyterMessage): Promise<void> {
    const c = msg.content;
    const code = str(c["code"]);
    const silent = bool(c["silent"], false);
    const storeHistory = silent ? false : bool(c["store_history"], true);
    const stopOnError = bool(c["stop_on_error"], true);
    const allowStdin = bool(c["allow_stdin"], true);
    const userExpressions: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(c["user_expressions"]))) {
      if (typeof v === "string") userExpressions[k] = v;
    }
    if (!silent) {
      this.executionCount++;
      this.publish("execute_input", { code, execution_count: this.executionCount }, msg);
    }
    const count = this.executionCount;
    const entry = storeHistory ? this.history.add(count, code) : null;
    const r = await this.runInExecutor(msg, (req) => ({
      t: "execute",
      req,
      code,
      silent,
      storeHistory,
      executionCount: count,
      userExpressions,
      allowStdin,
    }));
    let content: JsonObject;
    if ("content" in r) {
      content = { ...r.content, execution_count: count };
      const result = this.results.get(r.req);
      if (entry !== null && result !== undefined) entry.output = result;
    } else {
      const ename = r.interrupted ? "KeyboardInterrupt" : "ExecutorDied";
      const evalue = r.interrupted
        ? "the cell did not stop on interrupt, so its process was restarted: variables and " +
          "imports from earlier cells are gone"
        : `${r.died.message}; a new one was started: variables and imports from earlier cells ` +
          "are gone";
      const traceback = [`${ename}: ${evalue}`];
      this.publish("error", { ename, evalue, traceback }, msg);
      content = { status: "error", execution_count: count, ename, evalue, traceback };
    }
    this.results.delete(r.req);
    await this.send("shell", msg, "execute_reply", content, {
      status: str(content["status"], "error"),
      started: msg.header.date,
    });
    if (content["status"] === "error" && stopOnError) this.abortQueued();
  }

  /** After an error with stop_on_error: every execute request already queued is aborted, as
   * ipykernel does; other requests still run. An aborted reply carries its status only (messaging
   * spec, "Request-Reply": no other field for `aborted`): no execution count, so the front end
   * does not show the failed cell's number on cells that never ran. */
  private abortQueued(): void {
    const keep: JupyterMessage[] = [];
    for (const m of this.shellQueue.splice(0)) {
      if (m.header.msg_type !== "execute_request") {
        keep.push(m);
        continue;
      }
      this.status("busy", m);
      void this.send("shell", m, "execute_reply", { status: "aborted" }, { status: "aborted" });
      this.status("idle", m);
    }
    this.shellQueue.push(...keep);
  }

  // ----------------------------------------------------------------------- control, stdin

  private async handleControl(msg: JupyterMessage): Promise<void> {
    this.status("busy", msg);
    try {
      switch (msg.header.msg_type) {
        case "interrupt_request":
          await this.send("control", msg, "interrupt_reply", { status: "ok" });
          this.interrupt();
          break;
        case "shutdown_request":
          await this.shutdown(msg, "control");
          return;
        case "kernel_info_request":
          await this.send("control", msg, "kernel_info_reply", this.kernelInfo());
          break;
        case "debug_request":
          await this.send("control", msg, "debug_reply", {
            status: "error",
            ename: "NotImplementedError",
            evalue: "the mmulab kernel has no debugger",
            traceback: [],
          });
          break;
        default:
          this.log(`unknown control message type ${JSON.stringify(msg.header.msg_type)}; ignored`);
      }
    } finally {
      if (!this.closing) this.status("idle", msg);
    }
  }

  private handleStdin(msg: JupyterMessage): void {
    if (msg.header.msg_type !== "input_reply") return;
    const parentId = "msg_id" in msg.parent_header ? msg.parent_header.msg_id : "";
    // Some clients send no parent: then answer the oldest open request.
    const key = this.inputs.has(parentId) ? parentId : this.inputs.keys().next().value;
    if (key === undefined) return;
    const inputId = this.inputs.get(key);
    this.inputs.delete(key);
    if (inputId === undefined) return;
    this.executor.post({ t: "input_reply", inputId, value: str(msg.content["value"]) });
  }

  // ----------------------------------------------------------------------------- shutdown

  private async shutdown(msg: JupyterMessage, channel: "shell" | "control"): Promise<void> {
    const restart = bool(msg.content["restart"], false);
    await this.send(channel, msg, "shutdown_reply", { status: "ok", restart });
    this.status("idle", msg);
    await this.close();
  }

  /** Stops the executor and closes the sockets. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.parentWatch !== null) clearInterval(this.parentWatch);
    await this.executor.stop();
    // Let queued replies leave before the sockets close (linger covers the rest).
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.close();
    this.resolveDone();
    if (this.exitOnShutdown) process.exit(0);
  }
}
