/**
 * A small Jupyter client for this kernel (or any kernel speaking messaging 5.x): launch a kernel
 * process on a fresh connection file, send requests on shell/control, collect iopub output per
 * request, answer stdin. Used by the kernel's tests and by `npm run bench`; it is what
 * jupyter_client's BlockingKernelClient does, in TypeScript.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dealer, Subscriber } from "zeromq";
import type { JsonObject } from "../contract/mime.js";
import { endpoint, type ConnectionInfo } from "./connection.js";
import { KERNEL_MAIN } from "./kernelspec.js";
import { decodeMessage, encodeMessage, newMessage, Signer, type JupyterMessage } from "./wire.js";

/** A free TCP port on 127.0.0.1 (released before it is returned, as jupyter_client does). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A connection description with free ports and a random key. */
export async function newConnectionInfo(): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  return {
    transport: "tcp",
    ip: "127.0.0.1",
    shell_port: shell!,
    iopub_port: iopub!,
    stdin_port: stdin!,
    control_port: control!,
    hb_port: hb!,
    key: randomBytes(16).toString("hex"),
    signature_scheme: "hmac-sha256",
    kernel_name: "mmulab",
  };
}

export interface ExecuteOutcome {
  readonly reply: JupyterMessage;
  /** iopub messages of the request between busy and idle (status messages excluded). */
  readonly outputs: readonly JupyterMessage[];
}

export interface ExecuteOptions {
  readonly silent?: boolean;
  readonly storeHistory?: boolean;
  readonly stopOnError?: boolean;
  readonly allowStdin?: boolean;
  readonly userExpressions?: Readonly<Record<string, string>>;
  /** Answers `input_request`s (needs allowStdin). */
  readonly onInput?: (prompt: string, password: boolean) => string;
  readonly timeoutMs?: number;
}

interface Waiter {
  readonly test: (m: JupyterMessage) => boolean;
  readonly resolve: (m: JupyterMessage) => void;
}

export class KernelClient {
  readonly connection: ConnectionInfo;
  readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly shell = new Dealer();
  private readonly control = new Dealer();
  private readonly stdin = new Dealer();
  private readonly iopub = new Subscriber();
  private readonly replies = new Map<string, (m: JupyterMessage) => void>();
  /** iopub messages by parent msg_id, in arrival order. */
  private readonly byParent = new Map<string, JupyterMessage[]>();
  private waiters: Waiter[] = [];
  private inputHandler: ((prompt: string, password: boolean) => string) | null = null;
  private closed = false;
  private sending: Record<"shell" | "control" | "stdin", Promise<void>> = {
    shell: Promise.resolve(),
    control: Promise.resolve(),
    stdin: Promise.resolve(),
  };
  /** Every iopub message received, in order. */
  readonly iopubLog: JupyterMessage[] = [];

  constructor(connection: ConnectionInfo) {
    this.connection = connection;
    this.signer = new Signer(connection.signature_scheme, connection.key, 1 << 20);
    this.shell.routingId = this.session;
    this.stdin.routingId = this.session;
    for (const s of [this.shell, this.control, this.stdin, this.iopub]) s.linger = 0;
  }

  /** Connects the sockets and waits until iopub delivers (kernel_info "nudge"). */
  async connect(timeoutMs = 60_000): Promise<JupyterMessage> {
    this.shell.connect(endpoint(this.connection, "shell"));
    this.control.connect(endpoint(this.connection, "control"));
    this.stdin.connect(endpoint(this.connection, "stdin"));
    this.iopub.connect(endpoint(this.connection, "iopub"));
    this.iopub.subscribe();
    void this.loop(this.shell, (m) => this.onReply(m));
    void this.loop(this.control, (m) => this.onReply(m));
    void this.loop(this.stdin, (m) => this.onStdin(m));
    void this.loop(this.iopub, (m) => this.onIopub(m));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { msgId, reply } = this.request("shell", "kernel_info_request", {});
      const info = await withTimeout(
        reply,
        Math.max(deadline - Date.now(), 1),
        "kernel_info_reply",
      );
      const seen = await this.waitFor(
        (m) => m.parent_header.msg_id === msgId,
        Math.min(500, Math.max(deadline - Date.now(), 1)),
      ).catch(() => null);
      if (seen !== null) return info;
      if (Date.now() > deadline) throw new Error("kernel iopub never delivered a message");
    }
  }

  private async loop(
    socket: Dealer | Subscriber,
    handle: (m: JupyterMessage) => void,
  ): Promise<void> {
    try {
      for await (const frames of socket) handle(decodeMessage(frames, this.signer));
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  private onReply(m: JupyterMessage): void {
    const id = "msg_id" in m.parent_header ? m.parent_header.msg_id : "";
    const resolve = this.replies.get(id);
    if (resolve !== undefined) {
      this.replies.delete(id);
      resolve(m);
    }
  }

  private onStdin(m: JupyterMessage): void {
    if (m.header.msg_type !== "input_request") return;
    const prompt = typeof m.content["prompt"] === "string" ? m.content["prompt"] : "";
    const value = this.inputHandler?.(prompt, m.content["password"] === true) ?? "";
    this.post(
      "stdin",
      newMessage("input_reply", { value }, { parent: m.header, session: this.session }),
    );
  }

  private onIopub(m: JupyterMessage): void {
    this.iopubLog.push(m);
    const id = "msg_id" in m.parent_header ? m.parent_header.msg_id : "";
    const list = this.byParent.get(id);
    if (list === undefined) this.byParent.set(id, [m]);
    else list.push(m);
    const hits = this.waiters.filter((w) => w.test(m));
    if (hits.length > 0) {
      this.waiters = this.waiters.filter((w) => !hits.includes(w));
      for (const w of hits) w.resolve(m);
    }
  }

  private post(channel: "shell" | "control" | "stdin", msg: JupyterMessage): void {
    const socket = this[channel];
    const frames = encodeMessage(msg, this.signer);
    this.sending[channel] = this.sending[channel].then(() => socket.send(frames));
  }

  /** Sends a request; `reply` resolves with the kernel's answer on the same channel. */
  request(
    channel: "shell" | "control",
    msgType: string,
    content: JsonObject,
    options: { readonly metadata?: JsonObject; readonly buffers?: readonly Buffer[] } = {},
  ): { msgId: string; reply: Promise<JupyterMessage> } {
    const msg = newMessage(msgType, content, {
      session: this.session,
      metadata: options.metadata ?? {},
      buffers: options.buffers ?? [],
    });
    const reply = new Promise<JupyterMessage>((resolve) =>
      this.replies.set(msg.header.msg_id, resolve),
    );
    this.post(channel, msg);
    return { msgId: msg.header.msg_id, reply };
  }

  /** Sends a message that gets no reply (comm_open, comm_msg, comm_close). */
  notify(msgType: string, content: JsonObject, buffers: readonly Buffer[] = []): string {
    const msg = newMessage(msgType, content, { session: this.session, buffers });
    this.post("shell", msg);
    return msg.header.msg_id;
  }

  /** The next iopub message (already received or still to come) that satisfies `test`. */
  waitFor(test: (m: JupyterMessage) => boolean, timeoutMs = 30_000): Promise<JupyterMessage> {
    const seen = this.iopubLog.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(
      new Promise<JupyterMessage>((resolve) => this.waiters.push({ test, resolve })),
      timeoutMs,
      "iopub message",
    );
  }

  /** iopub messages whose parent is `msgId`, so far. */
  outputsOf(msgId: string): JupyterMessage[] {
    return [...(this.byParent.get(msgId) ?? [])];
  }

  /** Waits for the `idle` status of request `msgId`. */
  idle(msgId: string, timeoutMs = 60_000): Promise<JupyterMessage> {
    return this.waitFor(
      (m) =>
        m.header.msg_type === "status" &&
        m.content["execution_state"] === "idle" &&
        m.parent_header.msg_id === msgId,
      timeoutMs,
    );
  }

  /** Starts an execute request; see {@link execute} for the waiting version. */
  startExecute(
    code: string,
    options: ExecuteOptions = {},
  ): { msgId: string; done: Promise<ExecuteOutcome> } {
    this.inputHandler = options.onInput ?? null;
    const { msgId, reply } = this.request("shell", "execute_request", {
      code,
      silent: options.silent ?? false,
      store_history: options.storeHistory ?? true,
      user_expressions: { ...(options.userExpressions ?? {}) },
      allow_stdin: options.allowStdin ?? options.onInput !== undefined,
      stop_on_error: options.stopOnError ?? true,
    });
    const timeout = options.timeoutMs ?? 60_000;
    const done = (async () => {
      const r = await withTimeout(
        reply,
        timeout,
        `execute_reply for ${JSON.stringify(code.slice(0, 40))}`,
      );
      await this.idle(msgId, timeout);
      const outputs = this.outputsOf(msgId).filter((m) => m.header.msg_type !== "status");
      return { reply: r, outputs };
    })();
    return { msgId, done };
  }

  /** Runs `code` and waits for its reply and its idle status. */
  execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    return this.startExecute(code, options).done;
  }

  close(): void {
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub]) s.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export interface LaunchOptions {
  /** Directory the kernel runs cells in (default: this process's cwd). */
  readonly cwd?: string;
  /** Kernel entry (default: the built front, kernel/dist/notebook-kernel/main.js). */
  readonly main?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Forward the kernel's own stderr here (default: drop it). */
  readonly stderr?: (text: string) => void;
}

export interface LaunchedKernel {
  readonly client: KernelClient;
  readonly process: ChildProcess;
  /** kernel_info_reply content. */
  readonly info: JsonObject;
  /** ms from spawn to a connected client. */
  readonly startMs: number;
  /** Shuts the kernel down (shutdown_request, then SIGKILL if it lingers). */
  shutdown(): Promise<void>;
}

/** Starts a kernel process on a new connection file and connects a client to it. */
export async function launchKernel(options: LaunchOptions = {}): Promise<LaunchedKernel> {
  const conn = await newConnectionInfo();
  const dir = mkdtempSync(join(tmpdir(), "mmulab-kernel-"));
  const file = join(dir, "kernel.json");
  writeFileSync(file, JSON.stringify(conn));
  const t0 = performance.now();
  const child = spawn(process.execPath, [options.main ?? KERNEL_MAIN, "--connection-file", file], {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => options.stderr?.(text));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const client = new KernelClient(conn);
  let info: JupyterMessage;
  try {
    info = await client.connect();
  } catch (e) {
    child.kill("SIGKILL");
    client.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const startMs = performance.now() - t0;
  return {
    client,
    process: child,
    info: info.content,
    startMs,
    shutdown: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        client.request("control", "shutdown_request", { restart: false });
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
