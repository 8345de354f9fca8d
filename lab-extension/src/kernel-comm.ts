/**
 * The JupyterLab side of the `mmulab.sweep` comm: for a rendered plot, the kernel of the notebook
 * whose output holds it, and a comm on that kernel adapted to {@link SweepTransport}.
 *
 * The kernel is resolved from the renderer's node, not from the "current" notebook: the notebook
 * panel whose node contains it (a plot in a background tab talks to its own notebook's kernel).
 * One comm per rendered plot and kernel, opened on the first slider move and reused; a restarted,
 * changed or dead kernel, or a comm the kernel closed, gets a new comm on the next move.
 *
 * JupyterLab types only (no runtime imports), so the unit tests can drive it with fakes.
 */
import type { Kernel } from "@jupyterlab/services";
import { SWEEP_COMM_TARGET } from "@mmulab/kernel/contract";
import type { LiveSweepConnector, SweepTransport } from "./live-sweep.js";

/** The comm target the mmulab kernel registers at start-up (contract/comm.ts). */
export { SWEEP_COMM_TARGET };

/** What the connector uses of a notebook panel (a NotebookPanel has it). */
export interface KernelHost {
  readonly node: HTMLElement;
  readonly sessionContext: {
    readonly session: { readonly kernel: Kernel.IKernelConnection | null } | null;
  };
}

/** What the connector uses of the notebook tracker (INotebookTracker has it). */
export interface KernelHostTracker {
  find(fn: (host: KernelHost) => boolean): KernelHost | undefined;
}

/** The kernel of the notebook whose panel contains `node`; null outside notebooks or without one. */
export function kernelOf(
  tracker: KernelHostTracker,
  node: HTMLElement,
): Kernel.IKernelConnection | null {
  const host = tracker.find((h) => h.node.contains(node));
  return host?.sessionContext.session?.kernel ?? null;
}

const ENDED: ReadonlySet<Kernel.Status> = new Set(["restarting", "autorestarting", "dead"]);

/**
 * Adapts an opened comm to a {@link SweepTransport}. The transport ends (onClose) when the kernel
 * closes the comm, restarts or dies; close() closes the comm from this side.
 */
export function commTransport(
  kernel: Kernel.IKernelConnection,
  comm: Kernel.IComm,
): SweepTransport {
  const closeHandlers: ((reason: string) => void)[] = [];
  let ended = false;
  const end = (reason: string): void => {
    if (ended) return;
    ended = true;
    kernel.statusChanged.disconnect(onStatus);
    for (const h of closeHandlers) h(reason);
  };
  function onStatus(_k: Kernel.IKernelConnection, status: Kernel.Status): void {
    if (ENDED.has(status)) end(`the kernel is ${status === "dead" ? "dead" : "restarting"}`);
  }
  kernel.statusChanged.connect(onStatus);
  comm.onClose = () => end("the kernel closed the mmulab.sweep comm");
  return {
    send: (data) => {
      comm.send(data);
    },
    listen: (handler) => {
      comm.onMsg = (msg) => handler(msg.content.data);
    },
    onClose: (handler) => {
      closeHandlers.push(handler);
    },
    close: () => {
      end("closed");
      if (!comm.isDisposed && !kernel.isDisposed) comm.close();
    },
  };
}

interface Open {
  readonly kernel: Kernel.IKernelConnection;
  readonly comm: Kernel.IComm;
  readonly transport: SweepTransport;
}

/** Whether comms can be opened on `kernel` now. */
function usable(kernel: Kernel.IKernelConnection): boolean {
  return !kernel.isDisposed && kernel.handleComms && !ENDED.has(kernel.status);
}

/**
 * The connector the plugin installs: for a rendered plot's node, a transport over a
 * `mmulab.sweep` comm (or the comm `target`: the timeline renderer asks for `mmulab.timeline`) on
 * its notebook's kernel (cached per node while the kernel and the comm last), or null when the
 * node is in no notebook or the notebook has no usable kernel.
 */
export function notebookKernelConnector(
  tracker: KernelHostTracker,
  target: string = SWEEP_COMM_TARGET,
): LiveSweepConnector {
  const open = new WeakMap<HTMLElement, Open>();
  return (node) => {
    const kernel = kernelOf(tracker, node);
    const cached = open.get(node);
    if (
      cached !== undefined &&
      cached.kernel === kernel &&
      !cached.comm.isDisposed &&
      usable(cached.kernel)
    ) {
      return cached.transport;
    }
    if (cached !== undefined) {
      open.delete(node);
      cached.transport.close?.();
    }
    if (kernel === null || !usable(kernel)) return null;
    try {
      const comm = kernel.createComm(target);
      comm.open({});
      const transport = commTransport(kernel, comm);
      open.set(node, { kernel, comm, transport });
      return transport;
    } catch (e) {
      console.warn(`mmulab: could not open the ${target} comm:`, e);
      return null;
    }
  };
}
