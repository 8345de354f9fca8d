// @vitest-environment happy-dom
/**
 * The plugin's connector (kernel-comm.ts) with fake notebook panels and kernels: it resolves the
 * kernel of the notebook that contains the rendered node (not the current one), opens one
 * `mmulab.sweep` comm per node and kernel, and opens a new one after a restart or a kernel change.
 */
import type { Kernel, KernelMessage } from "@jupyterlab/services";
import { Signal } from "@lumino/signaling";
import { beforeEach, describe, expect, it } from "vitest";
import {
  commTransport,
  kernelOf,
  notebookKernelConnector,
  SWEEP_COMM_TARGET,
  type KernelHost,
  type KernelHostTracker,
} from "../src/kernel-comm.js";

class FakeComm {
  readonly opened: unknown[] = [];
  readonly sent: unknown[] = [];
  closed = 0;
  isDisposed = false;
  onMsg: ((msg: KernelMessage.ICommMsgMsg) => void) | null = null;
  onClose: ((msg: KernelMessage.ICommCloseMsg) => void) | null = null;
  constructor(
    readonly targetName: string,
    readonly kernel: FakeKernel,
  ) {}
  open(data: unknown): void {
    this.opened.push(data);
  }
  send(data: unknown): void {
    if (this.isDisposed) throw new Error("Cannot send");
    this.sent.push(data);
  }
  close(): void {
    this.closed++;
    this.isDisposed = true;
  }
  /** A comm_msg from the kernel. */
  receive(data: unknown): void {
    this.onMsg?.({ content: { comm_id: "c", data } } as unknown as KernelMessage.ICommMsgMsg);
  }
}

class FakeKernel {
  readonly statusChanged = new Signal<this, Kernel.Status>(this);
  readonly comms: FakeComm[] = [];
  status: Kernel.Status = "idle";
  isDisposed = false;
  handleComms = true;
  constructor(readonly name: string) {}
  createComm(target: string): FakeComm {
    const c = new FakeComm(target, this);
    this.comms.push(c);
    return c;
  }
  /** What JupyterLab's KernelConnection does on a restart: status, then dispose every comm. */
  restart(): void {
    this.status = "restarting";
    this.statusChanged.emit("restarting");
    for (const c of this.comms) c.isDisposed = true;
    this.status = "idle";
    this.statusChanged.emit("idle");
  }
  get connection(): Kernel.IKernelConnection {
    return this as unknown as Kernel.IKernelConnection;
  }
}

interface FakePanel extends KernelHost {
  sessionContext: { session: { kernel: Kernel.IKernelConnection | null } | null };
}

function panel(kernel: FakeKernel | null): FakePanel & { output: HTMLElement } {
  const node = document.createElement("div");
  const output = document.createElement("div");
  node.append(output);
  document.body.append(node);
  return { node, output, sessionContext: { session: { kernel: kernel?.connection ?? null } } };
}

function tracker(panels: KernelHost[]): KernelHostTracker {
  return { find: (fn) => panels.find(fn) };
}

beforeEach(() => document.body.replaceChildren());

describe("kernelOf", () => {
  it("finds the kernel of the notebook whose panel contains the node", () => {
    const a = new FakeKernel("a");
    const b = new FakeKernel("b");
    const pa = panel(a);
    const pb = panel(b);
    const t = tracker([pa, pb]);
    expect(kernelOf(t, pb.output)).toBe(b.connection);
    expect(kernelOf(t, pa.output)).toBe(a.connection);
    expect(kernelOf(t, document.createElement("div"))).toBeNull();
    const none = panel(null);
    const noSession: FakePanel = { node: none.node, sessionContext: { session: null } };
    expect(kernelOf(tracker([noSession]), none.output)).toBeNull();
    expect(kernelOf(tracker([none]), none.output)).toBeNull();
  });
});

describe("notebookKernelConnector", () => {
  it("opens one mmulab.sweep comm per node on that notebook's kernel and reuses it", () => {
    const a = new FakeKernel("a");
    const b = new FakeKernel("b");
    const pa = panel(a);
    const pb = panel(b);
    const connect = notebookKernelConnector(tracker([pa, pb]));
    const t = connect(pb.output);
    expect(t).not.toBeNull();
    expect(connect(pb.output)).toBe(t);
    expect(a.comms).toHaveLength(0);
    expect(b.comms).toHaveLength(1);
    const comm = b.comms[0]!;
    expect(comm.targetName).toBe(SWEEP_COMM_TARGET);
    expect(comm.opened).toEqual([{}]);
    const got: unknown[] = [];
    t!.listen((d) => got.push(d));
    t!.send({ id: 1, key: [2] });
    expect(comm.sent).toEqual([{ id: 1, key: [2] }]);
    comm.receive({ id: 1, ok: true, result: { key: [2], data: [] } });
    expect(got).toEqual([{ id: 1, ok: true, result: { key: [2], data: [] } }]);
    // Another output of the same notebook gets its own comm.
    const other = document.createElement("div");
    pb.node.append(other);
    expect(connect(other)).not.toBe(t);
    expect(b.comms).toHaveLength(2);
  });

  it("is null outside notebooks and without a usable kernel", () => {
    const dead = new FakeKernel("dead");
    dead.status = "dead";
    const noComms = new FakeKernel("no comms");
    noComms.handleComms = false;
    const disposed = new FakeKernel("disposed");
    disposed.isDisposed = true;
    const panels = [panel(null), panel(dead), panel(noComms), panel(disposed)];
    const connect = notebookKernelConnector(tracker(panels));
    expect(connect(document.createElement("div"))).toBeNull();
    for (const p of panels) expect(connect(p.output)).toBeNull();
    expect([...dead.comms, ...noComms.comms, ...disposed.comms]).toHaveLength(0);
  });

  /** A notebook on kernel "k", its connector, a transport for its output and the close reasons
   * the transport reports. */
  function connected() {
    const k = new FakeKernel("k");
    const p = panel(k);
    const connect = notebookKernelConnector(tracker([p]));
    const t = connect(p.output)!;
    const reasons: string[] = [];
    t.onClose?.((r) => reasons.push(r));
    return { k, p, connect, t, reasons };
  }

  it("ends the transport on a restart and opens a new comm on the next call", () => {
    const { k, p, connect, t, reasons } = connected();
    k.restart();
    expect(reasons).toEqual(["the kernel is restarting"]);
    const t2 = connect(p.output);
    expect(t2).not.toBeNull();
    expect(t2).not.toBe(t);
    expect(k.comms).toHaveLength(2);
    expect(k.comms[1]!.opened).toEqual([{}]);
  });

  it("follows a kernel change and closes the old comm", () => {
    const a = new FakeKernel("a");
    const b = new FakeKernel("b");
    const p = panel(a);
    const connect = notebookKernelConnector(tracker([p]));
    const t = connect(p.output)!;
    p.sessionContext.session = { kernel: b.connection };
    const t2 = connect(p.output);
    expect(t2).not.toBe(t);
    expect(a.comms[0]!.closed).toBe(1);
    expect(b.comms).toHaveLength(1);
    p.sessionContext.session = null;
    expect(connect(p.output)).toBeNull();
    expect(b.comms[0]!.closed).toBe(1);
  });

  it("ends when the kernel closes the comm (no mmulab.sweep target there)", () => {
    const { k, p, connect, t, reasons } = connected();
    const comm = k.comms[0]!;
    comm.onClose?.({} as KernelMessage.ICommCloseMsg);
    comm.isDisposed = true;
    expect(reasons).toEqual(["the kernel closed the mmulab.sweep comm"]);
    expect(connect(p.output)).not.toBe(t);
  });
});

describe("commTransport", () => {
  it("close() closes the comm once and stops listening to the kernel's status", () => {
    const k = new FakeKernel("k");
    const comm = k.createComm(SWEEP_COMM_TARGET);
    const t = commTransport(k.connection, comm as unknown as Kernel.IComm);
    const reasons: string[] = [];
    t.onClose?.((r) => reasons.push(r));
    t.close?.();
    t.close?.();
    expect(comm.closed).toBe(1);
    k.restart();
    expect(reasons).toEqual(["closed"]);
  });
});
