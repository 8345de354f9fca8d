/**
 * The executor process: compiles and runs cells with tslab, turns what happens into Jupyter
 * content, and sends it to the front over IPC (ipc.ts). It never touches ZeroMQ.
 *
 * What it adds around tslab's executor:
 * - **Results and errors as data.** tslab's executor reports through a console object we pass it:
 *   compile diagnostics and thrown values go to `error`, the last expression's value to `log`
 *   (user code's own `console` is the process's). We collect them and build `execute_result`
 *   bundles (display/mime.ts) and `error` content (errors.ts).
 * - **Streams.** `process.stdout`/`stderr` writes become `stream` messages, buffered until the
 *   next other message or the next turn of the event loop, and attributed to the request whose
 *   code (or whose timers and promises, tracked with AsyncLocalStorage) wrote them.
 * - **Cell names.** Each compiled cell gets a `//# sourceURL` so stack frames name their cell.
 * - **What a failed cell leaves defined** (declarations.ts): the declarations carried from cell to
 *   cell are kept here rather than in tslab's executor, which dropped a failed cell's; after a
 *   failure they hold what the cell assigned before it stopped.
 * - **Late errors.** An exception thrown by a callback (timer, event) or a promise rejection that
 *   nothing handles becomes an `error` output on the cell whose code started it (see
 *   {@link ExecutorHost.lateError}).
 * - **Interrupts** (see front.ts for the whole design): a worker thread sets a shared flag as soon
 *   as the front asks (interrupt-worker.ts); the main thread then runs interrupt listeners and
 *   rejects an awaiting cell (tslab's `interrupt()`). A synchronous cell is stopped by SIGINT,
 *   which tslab's `vm.runInThisContext(…, { breakOnSigint: true })` turns into an exception.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Worker } from "node:worker_threads";
import type { JsonObject, JsonValue } from "../contract/mime.js";
import { isQuietResult, toMimeBundle } from "../display/mime.js";
import { setNotebookRuntime, type MimeBundle, type NotebookRuntime } from "../display/runtime.js";
import {
  commInfo,
  dispatchCommClose,
  dispatchCommMsg,
  dispatchCommOpen,
  installSweepTarget,
} from "../notebook/comm.js";
import { installTimelineTarget } from "../notebook/timeline-comm.js";
import {
  declarationsAfterFailure,
  snapshotExports,
  splitExportPrologue,
  unassignedNames,
  type ExportsSnapshot,
} from "./declarations.js";
import {
  compileError,
  runtimeError,
  type CellDiagnostic,
  type CellError,
  type CellSource,
} from "./errors.js";
import { calleeOffset } from "./inspect.js";
import {
  INTERRUPT_FD,
  type ExecutorRequest,
  type ExecutorToFront,
  type FrontToExecutor,
} from "./ipc.js";
import { installCompilerAliases, installRuntimeAlias, notebookAliases } from "./resolve.js";
import {
  loadTslab,
  tslabVersions,
  type Tslab,
  type TslabConsole,
  type TslabConverter,
  type TslabConverterSet,
  type TslabExecutor,
} from "./tslab.js";

/** Cells whose sources are kept for mapping stack frames (older ones show compiled lines). */
const MAX_CELLS_KEPT = 500;
/** Stream text is sent at least this often while a cell writes (bytes). */
const STREAM_FLUSH_BYTES = 16 * 1024;

export interface ExecutorOptions {
  /** Directory cells run in (the notebook's). */
  readonly cwd: string;
  /** Sends a message to the front. */
  readonly send: (message: ExecutorToFront) => void;
  /** Start the interrupt worker on fd 4 (false in tests that run the host in-process). */
  readonly interruptPipe: boolean;
}

/** Code points → UTF-16 offset (Jupyter counts cursor positions in code points since 5.2). */
export function codePointsToUtf16(text: string, cp: number): number {
  let i = 0;
  for (let n = 0; n < cp && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

/** UTF-16 offset → code points. */
export function utf16ToCodePoints(text: string, offset: number): number {
  let n = 0;
  for (let i = 0; i < offset && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return n;
}

interface RunCapture {
  hasValue: boolean;
  value: unknown;
  readonly thrown: unknown[];
  readonly diagnostics: CellDiagnostic[];
}

function newCapture(): RunCapture {
  return { hasValue: false, value: undefined, thrown: [], diagnostics: [] };
}

/** A cell as tslab's converter compiled it, until it has run. */
interface Converted {
  /** The declarations after the cell, had it run to the end. */
  readonly decls: string;
  /** Values of the names it exports, before it ran. */
  readonly before: ExportsSnapshot;
  readonly lastExpressionVar: string | undefined;
}

/** tslab's `exports` object, where cells keep their top-level values (set by createExecutor). */
function tslabExports(): Record<string, unknown> {
  const t = (globalThis as { __tslab__?: { exports?: Record<string, unknown> } }).__tslab__;
  if (t?.exports === undefined) throw new Error("tslab's executor is not set up");
  return t.exports;
}

interface Running {
  readonly req: number;
  readonly allowStdin: boolean;
  readonly payload: JsonObject[];
}

function isInterruptError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as Error & { code?: unknown }).code;
  return code === "ERR_SCRIPT_EXECUTION_INTERRUPTED" || e.message === "Interrupted asynchronously";
}

const INTERRUPTED: CellError = {
  ename: "KeyboardInterrupt",
  evalue: "execution interrupted",
  traceback: ["KeyboardInterrupt: execution interrupted"],
};

/** The executor's state and request handling; one per process. */
export class ExecutorHost {
  private readonly opts: ExecutorOptions;
  private tslab!: Tslab;
  private executor!: TslabExecutor;
  private nodeConverter!: TslabConverter;
  private readonly als = new AsyncLocalStorage<number>();
  private lastReq: number | null = null;
  private running: Running | null = null;
  private capture: RunCapture = newCapture();
  private compiling: { name: string; label: string; ts: string; req: number } | null = null;
  /** Declarations of every earlier cell's names (a `.d.ts` text), see declarations.ts. */
  private decls = "";
  private converted: Converted | null = null;
  private readonly cells = new Map<string, CellSource>();
  /** Cell script name → the request that ran it (late errors). */
  private readonly cellRequests = new Map<string, number>();
  private silentCount = 0;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly interruptListeners = new Set<() => void>();
  private pendingStream: { req: number | null; name: "stdout" | "stderr"; text: string } | null =
    null;
  private flushScheduled = false;
  private nextInputId = 1;
  private readonly inputs = new Map<
    number,
    { resolve: (v: string) => void; reject: (e: Error) => void }
  >();

  constructor(opts: ExecutorOptions) {
    this.opts = opts;
  }

  /** Loads tslab and the compiler (the slow part of a kernel start), then says "ready". */
  start(): void {
    this.captureStreams();
    if (this.opts.interruptPipe) this.startInterruptWorker();
    process.on("SIGINT", () => this.interrupt());
    this.tslab = loadTslab();
    installCompilerAliases(this.tslab.ts.sys, notebookAliases(this.opts.cwd, this.tslab.dir));
    installRuntimeAlias();
    this.nodeConverter = this.tslab.createConverter({ isJS: false, isBrowser: false });
    const tslab = this.tslab;
    const node = this.nodeConverter;
    let browser: TslabConverter | null = null;
    const convs: TslabConverterSet = {
      node: this.wrapConverter(node),
      // Only `//%browser` cells use it; created on first use as tslab does.
      get browser(): TslabConverter {
        return (browser ??= tslab.createConverter({ isJS: false, isBrowser: true }));
      },
      close: () => {
        node.close();
        browser?.close();
      },
    };
    const sink: TslabConsole = {
      log: (...args: unknown[]) => {
        this.capture.hasValue = true;
        this.capture.value = args[0];
      },
      error: (...args: unknown[]) => {
        if (args.length === 5 && args[0] === "%s%d:%d - %s") {
          const file = String(args[1]).trim();
          this.capture.diagnostics.push({
            line: Number(args[2]),
            column: Number(args[3]),
            message: String(args[4]),
            ...(file !== "" ? { file } : {}),
          });
        } else {
          this.capture.thrown.push(args[0]);
        }
      },
    };
    this.executor = this.tslab.createExecutor(this.opts.cwd, convs, sink);
    setNotebookRuntime(this.runtime());
    this.tslab.setDisplayHook((data, update) => {
      this.emitIopub(update ? "update_display_data" : "display_data", {
        data: data.data as JsonObject,
        metadata: data.metadata as JsonObject,
        transient:
          data.transient.display_id !== undefined ? { display_id: data.transient.display_id } : {},
      });
    });
    installSweepTarget();
    installTimelineTarget();
    // Type-check once now, so the first cell does not pay for the checker's start.
    this.nodeConverter.convert("", "");
    const versions = tslabVersions();
    this.send({
      t: "ready",
      pid: process.pid,
      typescriptVersion: this.tslab.ts.version,
      tslabVersion: versions.tslab,
    });
  }

  /** Handles one message from the front. */
  receive(message: FrontToExecutor): void {
    switch (message.t) {
      case "input_reply": {
        const waiting = this.inputs.get(message.inputId);
        if (waiting === undefined) return;
        this.inputs.delete(message.inputId);
        if (message.value === null) waiting.reject(new Error("input request was interrupted"));
        else waiting.resolve(message.value);
        return;
      }
      case "shutdown":
        this.executor.close();
        this.flushStreams();
        process.exit(0);
        return;
      default:
        void this.handle(message);
    }
  }

  private async handle(r: ExecutorRequest): Promise<void> {
    let content: JsonObject;
    try {
      content = await this.als.run(r.req, () => this.dispatch(r));
    } catch (error) {
      const e = runtimeError(error, () => undefined);
      content = { status: "error", ename: e.ename, evalue: e.evalue, traceback: [...e.traceback] };
    }
    this.send({ t: "reply", req: r.req, content });
  }

  private async dispatch(r: ExecutorRequest): Promise<JsonObject> {
    this.lastReq = r.req;
    switch (r.t) {
      case "execute":
        return this.execute(r);
      case "complete":
        return this.complete(r.code, r.cursor);
      case "inspect":
        return this.inspect(r.code, r.cursor);
      case "is_complete":
        return this.isComplete(r.code);
      case "comm_open":
        await dispatchCommOpen(r.commId, r.targetName, r);
        return { status: "ok" };
      case "comm_msg":
        await dispatchCommMsg(r.commId, r);
        return { status: "ok" };
      case "comm_close":
        await dispatchCommClose(r.commId, { ...r, buffers: [] });
        return { status: "ok" };
      case "comm_info":
        return { status: "ok", comms: commInfo(r.targetName) };
    }
  }

  // --------------------------------------------------------------------------------- execute

  private async execute(r: Extract<ExecutorRequest, { t: "execute" }>): Promise<JsonObject> {
    const name = r.silent
      ? `mmulab-silent-${++this.silentCount}`
      : `mmulab-cell-${r.executionCount}`;
    const label = r.silent ? "Cell (silent)" : `Cell In[${r.executionCount}]`;
    const running: Running = { req: r.req, allowStdin: r.allowStdin, payload: [] };
    const { ok, capture } = await this.run(r.code, name, label, running);
    if (!ok) {
      const error = this.cellError(capture, label, r.code);
      this.emitIopub("error", {
        ename: error.ename,
        evalue: error.evalue,
        traceback: [...error.traceback],
      });
      return {
        status: "error",
        execution_count: r.executionCount,
        ename: error.ename,
        evalue: error.evalue,
        traceback: [...error.traceback],
      };
    }
    if (capture.hasValue && !r.silent && !isQuietResult(capture.value)) {
      let bundle: MimeBundle;
      try {
        bundle = toMimeBundle(capture.value);
      } catch (e) {
        const error = runtimeError(e, (s) => this.cells.get(s));
        this.emitIopub("error", {
          ename: error.ename,
          evalue: error.evalue,
          traceback: [...error.traceback],
        });
        return {
          status: "error",
          execution_count: r.executionCount,
          ename: error.ename,
          evalue: error.evalue,
          traceback: [...error.traceback],
        };
      }
      this.emitIopub("execute_result", {
        execution_count: r.executionCount,
        data: bundle,
        metadata: {},
      });
    }
    const userExpressions: JsonObject = {};
    for (const [key, expr] of Object.entries(r.userExpressions)) {
      userExpressions[key] = await this.evaluate(expr);
    }
    return {
      status: "ok",
      execution_count: r.executionCount,
      payload: running.payload,
      user_expressions: userExpressions,
    };
  }

  /** Runs code through tslab's executor and collects what it reported. */
  private async run(
    code: string,
    name: string,
    label: string,
    running: Running,
  ): Promise<{ ok: boolean; capture: RunCapture }> {
    const capture = newCapture();
    this.capture = capture;
    this.compiling = { name, label, ts: code, req: running.req };
    Atomics.store(this.flag, 0, 0);
    this.running = running;
    this.converted = null;
    let ok = false;
    try {
      ok = await this.executor.execute(code);
    } finally {
      this.running = null;
      this.compiling = null;
      this.keepDeclarations(ok);
      this.flushStreams();
    }
    return { ok, capture };
  }

  /** After a cell: its declarations if it ran to the end, what it assigned if it failed at run
   * time, nothing new if it did not compile (declarations.ts). */
  private keepDeclarations(ok: boolean): void {
    const c = this.converted;
    this.converted = null;
    if (c === null) return;
    if (ok) {
      this.decls = c.decls;
      return;
    }
    const exportsObject = tslabExports();
    const unassigned = unassignedNames(exportsObject, c.before);
    // A failed cell's last expression is never shown: do not keep its value alive.
    if (c.lastExpressionVar !== undefined) {
      delete exportsObject[c.lastExpressionVar];
      unassigned.delete(c.lastExpressionVar);
    }
    try {
      this.decls = declarationsAfterFailure(this.tslab.tsApi, this.decls, c.decls, unassigned);
    } catch (e) {
      process.stderr.write(`mmulab: keeping the failed cell's declarations failed: ${String(e)}\n`);
    }
  }

  private cellError(capture: RunCapture, label: string, code: string): CellError {
    if (capture.diagnostics.length > 0) {
      const parsed = this.tslab.ts.createSourceFile(
        "cell.ts",
        `export {};\n${code}`,
        this.tslab.ts.ScriptTarget.Latest,
        false,
        this.tslab.ts.ScriptKind.TS,
      );
      const kind = (parsed.parseDiagnostics?.length ?? 0) > 0 ? "SyntaxError" : "TSError";
      return compileError(kind, capture.diagnostics, { label, ts: code });
    }
    const thrown = capture.thrown[0];
    if (isInterruptError(thrown)) return INTERRUPTED;
    if (capture.thrown.length === 0) {
      return {
        ename: "Error",
        evalue: "execution failed",
        traceback: [`${label}: execution failed`],
      };
    }
    return runtimeError(thrown, (script) => this.cells.get(script));
  }

  /** A user expression's value as `user_expressions` content. */
  private async evaluate(expr: string): Promise<JsonObject> {
    const running: Running = { req: this.running?.req ?? -1, allowStdin: false, payload: [] };
    const { ok, capture } = await this.run(expr, "mmulab-expression", "user expression", running);
    if (!ok) {
      const e = this.cellError(capture, "user expression", expr);
      return { status: "error", ename: e.ename, evalue: e.evalue, traceback: [...e.traceback] };
    }
    try {
      const bundle = toMimeBundle(capture.hasValue ? capture.value : undefined);
      return { status: "ok", data: bundle, metadata: {} };
    } catch (error) {
      const e = runtimeError(error, () => undefined);
      return { status: "error", ename: e.ename, evalue: e.evalue, traceback: [...e.traceback] };
    }
  }

  /**
   * tslab's node converter, given our declarations instead of tslab's (which it would drop after
   * a failed cell). For a cell about to run: removes the `exports` prologue and notes the values
   * it would have wiped (declarations.ts), keeps the compiled JS for tracebacks and names it.
   */
  private wrapConverter(conv: TslabConverter): TslabConverter {
    return {
      convert: (_prevDecl, src) => {
        const result = conv.convert(this.decls, src);
        const cell = this.compiling;
        if (result.output === undefined || cell === null || cell.ts !== src) return result;
        const { names, js } = splitExportPrologue(result.output);
        this.converted = {
          decls: result.declOutput ?? "",
          before: snapshotExports(tslabExports(), names),
          lastExpressionVar: result.lastExpressionVar,
        };
        this.cells.set(cell.name, { label: cell.label, ts: cell.ts, js });
        this.cellRequests.set(cell.name, cell.req);
        if (this.cells.size > MAX_CELLS_KEPT) {
          const oldest = this.cells.keys().next().value;
          if (oldest !== undefined) {
            this.cells.delete(oldest);
            this.cellRequests.delete(oldest);
          }
        }
        return { ...result, output: `${js}\n//# sourceURL=${cell.name}\n` };
      },
      inspect: (_prevDecl, src, position) => conv.inspect(this.decls, src, position),
      complete: (_prevDecl, src, position) => conv.complete(this.decls, src, position),
      addModule: (name, content, meta) => conv.addModule(name, content, meta),
      close: () => conv.close(),
    };
  }

  // ------------------------------------------------------------------- introspection requests

  private complete(code: string, cursor: number): JsonObject {
    const pos = codePointsToUtf16(code, cursor);
    const info = this.executor.complete(code, pos);
    return {
      status: "ok",
      matches: [...info.candidates],
      cursor_start: utf16ToCodePoints(code, info.start),
      cursor_end: utf16ToCodePoints(code, info.end),
      metadata: {},
    };
  }

  /** Quick info of the name at the cursor or, inside a call's parentheses, of the callee
   * (inspect.ts). */
  private inspect(code: string, cursor: number): JsonObject {
    const offset = codePointsToUtf16(code, cursor);
    let info = this.executor.inspect(code, offset);
    if (info === undefined || info === null) {
      const callee = calleeOffset(this.tslab.tsApi, code, offset);
      if (callee !== null) info = this.executor.inspect(code, callee);
    }
    if (info === undefined || info === null) {
      return { status: "ok", found: false, data: {}, metadata: {} };
    }
    const text = this.tslab.printQuickInfo(info);
    return { status: "ok", found: true, data: { "text/plain": text }, metadata: {} };
  }

  private isComplete(code: string): JsonObject {
    const r = this.tslab.isCompleteCode(code);
    if (!r.completed) return { status: "incomplete", indent: r.indent ?? "" };
    const parsed = this.tslab.ts.createSourceFile(
      "cell.ts",
      `export {};\n${code}`,
      this.tslab.ts.ScriptTarget.Latest,
      false,
      this.tslab.ts.ScriptKind.TS,
    );
    return { status: (parsed.parseDiagnostics?.length ?? 0) > 0 ? "invalid" : "complete" };
  }

  // ---------------------------------------------------------------------------- late errors

  /**
   * An error no cell is waiting for: an exception thrown by a callback (a timer, an event
   * listener) or a promise rejection nothing handled, typically after the cell that started it
   * has finished. It becomes an `error` output with the usual traceback, on the cell whose code
   * started the callback or the promise (the request in whose async context it ran, else the cell
   * named by its innermost cell frame, else the one running or the last one). ipykernel does the
   * same with what an asyncio task prints, and JupyterLab keeps a cell's output area listening
   * until the cell runs again. The cell's status stays as it was, and the kernel goes on: a late
   * error ends nothing.
   */
  lateError(kind: "uncaught" | "unhandled-rejection", error: unknown): void {
    try {
      const req =
        this.als.getStore() ?? this.reqOfStack(error) ?? this.running?.req ?? this.lastReq;
      const e = runtimeError(error, (s) => this.cells.get(s));
      const head =
        kind === "uncaught"
          ? "Uncaught exception in a callback (a timer or an event listener); no cell was waiting for it:"
          : "Unhandled promise rejection; no cell was waiting for this promise:";
      this.send({
        t: "iopub",
        req,
        msgType: "error",
        content: { ename: e.ename, evalue: e.evalue, traceback: [head, ...e.traceback] },
      });
    } catch (failed) {
      // No front to tell (the IPC channel is gone): the kernel's log is all there is.
      process.stderr.write(`mmulab: ${kind}: ${String(error)} (${String(failed)})\n`);
    }
  }

  /** The request of the innermost cell frame in `error`'s stack. */
  private reqOfStack(error: unknown): number | null {
    if (!(error instanceof Error) || typeof error.stack !== "string") return null;
    for (const name of error.stack.match(/mmulab-(?:cell|silent)-\d+/g) ?? []) {
      const req = this.cellRequests.get(name);
      if (req !== undefined) return req;
    }
    return null;
  }

  // --------------------------------------------------------------------------- interrupts

  private startInterruptWorker(): void {
    try {
      const worker = new Worker(new URL("./interrupt-worker.js", import.meta.url), {
        workerData: { flag: this.flag.buffer, fd: INTERRUPT_FD, parentPid: process.ppid },
      });
      worker.on("message", () => this.interrupt());
      worker.on("error", (e) =>
        process.stderr.write(`mmulab: interrupt worker failed: ${e.message}\n`),
      );
      worker.unref();
    } catch (e) {
      process.stderr.write(`mmulab: no interrupt worker (${(e as Error).message}); SIGINT only\n`);
    }
  }

  /** The user interrupted: tell listeners, and stop an awaiting cell. */
  interrupt(): void {
    if (this.running === null) return;
    Atomics.store(this.flag, 0, 1);
    for (const fn of [...this.interruptListeners]) {
      try {
        fn();
      } catch (e) {
        process.stderr.write(`interrupt listener failed: ${String(e)}\n`);
      }
    }
    for (const [id, waiting] of this.inputs) {
      this.inputs.delete(id);
      waiting.reject(new Error("input request was interrupted"));
    }
    this.executor.interrupt();
  }

  // ----------------------------------------------------------------------- output plumbing

  private send(message: ExecutorToFront): void {
    if (message.t !== "iopub" || message.msgType !== "stream") this.flushStreams();
    this.opts.send(message);
  }

  private currentReq(): number | null {
    return this.als.getStore() ?? this.lastReq;
  }

  private emitIopub(
    msgType: string,
    content: JsonObject,
    metadata?: JsonObject,
    buffers?: readonly Uint8Array[],
  ): void {
    this.send({
      t: "iopub",
      req: this.currentReq(),
      msgType,
      content,
      ...(metadata !== undefined ? { metadata } : {}),
      ...(buffers !== undefined && buffers.length > 0 ? { buffers } : {}),
    });
  }

  private writeStream(name: "stdout" | "stderr", text: string): void {
    const req = this.currentReq();
    const p = this.pendingStream;
    if (p !== null && (p.req !== req || p.name !== name)) this.flushStreams();
    if (this.pendingStream === null) this.pendingStream = { req, name, text };
    else this.pendingStream.text += text;
    if (this.pendingStream.text.length >= STREAM_FLUSH_BYTES) this.flushStreams();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushStreams();
      });
    }
  }

  private flushStreams(): void {
    const p = this.pendingStream;
    if (p === null) return;
    this.pendingStream = null;
    this.opts.send({
      t: "iopub",
      req: p.req,
      msgType: "stream",
      content: { name: p.name, text: p.text },
    });
  }

  private captureStreams(): void {
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      const write = (
        chunk: string | Uint8Array,
        encoding?: BufferEncoding | ((err?: Error | null) => void),
        cb?: (err?: Error | null) => void,
      ): boolean => {
        const enc = typeof encoding === "string" ? encoding : "utf8";
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(enc);
        this.writeStream(name, text);
        const done = typeof encoding === "function" ? encoding : cb;
        if (done !== undefined) queueMicrotask(() => done(null));
        return true;
      };
      stream.write = write;
    }
  }

  // ------------------------------------------------------------------------------ runtime

  private runtime(): NotebookRuntime {
    return {
      displayData: (bundle, metadata, displayId, update) => {
        this.emitIopub(update ? "update_display_data" : "display_data", {
          data: bundle,
          metadata,
          transient: displayId !== null ? { display_id: displayId } : {},
        });
      },
      clearOutput: (wait) => this.emitIopub("clear_output", { wait }),
      page: (bundle) => {
        const data = bundle as unknown as JsonValue;
        if (this.running !== null) this.running.payload.push({ source: "page", data, start: 0 });
        else this.emitIopub("display_data", { data, metadata: {}, transient: {} });
      },
      publish: (msgType, content, metadata, buffers) =>
        this.emitIopub(msgType, content, metadata, buffers),
      interruptRequested: () => Atomics.load(this.flag, 0) === 1,
      onInterrupt: (fn) => {
        this.interruptListeners.add(fn);
        return () => {
          this.interruptListeners.delete(fn);
        };
      },
      input: (prompt, password) => {
        const running = this.running;
        if (running === null || !running.allowStdin) {
          return Promise.reject(
            new Error("input(): this front end does not allow stdin requests (allow_stdin false)"),
          );
        }
        const inputId = this.nextInputId++;
        return new Promise<string>((resolve, reject) => {
          this.inputs.set(inputId, { resolve, reject });
          this.send({ t: "input_request", req: running.req, inputId, prompt, password });
        });
      },
    };
  }
}
