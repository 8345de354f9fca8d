/**
 * Jupyter comms (messaging spec "Custom Messages"): long-lived two-way channels between a front-end
 * component and code in the kernel, opened by either side against a named target.
 *
 * Cells use `registerCommTarget(name, (comm, open) => …)` to accept comms a front end opens, and
 * `openComm(target, data)` to open one from the kernel. The kernel's executor calls the
 * `dispatchComm*` functions when comm messages arrive. State lives on `globalThis` under a
 * registered symbol so that every copy of this module in the process shares one registry.
 *
 * The notebook seam: the library (sweep/, cells) registers targets and handlers here without
 * importing the kernel process (notebook-kernel/), whose executor calls the `dispatchComm*`
 * functions when comm messages arrive and installs the `mmulab.sweep` target at start-up.
 *
 * The target {@link SWEEP_COMM_TARGET} (`mmulab.sweep`) serves live interactive sweeps; its
 * protocol (version {@link SWEEP_PROTOCOL_VERSION}, the message shapes) is part of the contract
 * with the front end, contract/comm.ts. `result` is what the handler registered for the request's
 * `sweep` id returns ({@link registerSweepHandler}; a live plot carries its id). A request without
 * an id, or with one this kernel does not serve, is refused: there is no default handler, so no
 * plot is ever answered with another plot's sweep.
 */
import { randomUUID } from "node:crypto";
import {
  SWEEP_COMM_TARGET,
  SWEEP_PROTOCOL_VERSION,
  type SweepReady,
  type SweepResponse,
} from "../contract/comm.js";
import type { JsonObject, JsonValue } from "../contract/mime.js";
import { notebookRuntime } from "../display/runtime.js";
import { ParameterError } from "../sim/errors.js";

export interface CommMessage {
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  readonly buffers: readonly Uint8Array[];
}

export type CommMsgHandler = (msg: CommMessage) => void | Promise<void>;

/** Called when a front end opens a comm against the target. */
export type CommTarget = (comm: Comm, open: CommMessage) => void | Promise<void>;

interface Registry {
  readonly targets: Map<string, CommTarget>;
  readonly comms: Map<string, Comm>;
  /** Handlers of plots that carry a sweep id (serveLiveSweep), by id. */
  readonly sweepHandlers: Map<string, SweepHandler>;
  sweepsServed: number;
}

const REGISTRY_KEY = Symbol.for("mmulab.comm.registry");

function registry(): Registry {
  const g = globalThis as { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= {
    targets: new Map(),
    comms: new Map(),
    sweepHandlers: new Map(),
    sweepsServed: 0,
  });
}

/** One open comm. */
export class Comm {
  readonly commId: string;
  readonly targetName: string;
  private readonly msgHandlers: CommMsgHandler[] = [];
  private readonly closeHandlers: CommMsgHandler[] = [];
  private isClosed = false;

  /** Use {@link openComm}, or receive one in a {@link CommTarget}. */
  constructor(commId: string, targetName: string) {
    this.commId = commId;
    this.targetName = targetName;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends `comm_msg` to the front end. */
  send(
    data: JsonObject = {},
    metadata: JsonObject = {},
    buffers: readonly Uint8Array[] = [],
  ): void {
    if (this.isClosed) throw new Error(`comm ${this.commId} (${this.targetName}) is closed`);
    publish("comm_msg", { comm_id: this.commId, data }, metadata, buffers);
  }

  /** Closes the comm from the kernel side (sends `comm_close`). */
  close(data: JsonObject = {}, metadata: JsonObject = {}): void {
    if (this.isClosed) return;
    this.isClosed = true;
    registry().comms.delete(this.commId);
    publish("comm_close", { comm_id: this.commId, data }, metadata);
  }

  /** Handles messages from the front end. */
  onMsg(handler: CommMsgHandler): void {
    this.msgHandlers.push(handler);
  }

  /** Handles the front end closing the comm. */
  onClose(handler: CommMsgHandler): void {
    this.closeHandlers.push(handler);
  }

  /** @internal Delivers a front-end message to the handlers, in order. */
  async deliver(msg: CommMessage): Promise<void> {
    for (const h of this.msgHandlers) await h(msg);
  }

  /** @internal The front end closed the comm. */
  async remoteClose(msg: CommMessage): Promise<void> {
    this.isClosed = true;
    registry().comms.delete(this.commId);
    for (const h of this.closeHandlers) await h(msg);
  }
}

function publish(
  msgType: string,
  content: JsonObject,
  metadata: JsonObject = {},
  buffers: readonly Uint8Array[] = [],
): void {
  const rt = notebookRuntime();
  if (rt === null) throw new Error("comms need the mmulab notebook kernel");
  rt.publish(msgType, content, metadata, buffers);
}

/** Accepts comms the front end opens against `name`. Returns a function that unregisters. */
export function registerCommTarget(name: string, target: CommTarget): () => void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("registerCommTarget: the target name must be a non-empty string");
  }
  const targets = registry().targets;
  targets.set(name, target);
  return () => {
    if (targets.get(name) === target) targets.delete(name);
  };
}

/** Names of the registered targets. */
export function commTargets(): string[] {
  return [...registry().targets.keys()];
}

/** Opens a comm from the kernel side (sends `comm_open`). */
export function openComm(
  targetName: string,
  data: JsonObject = {},
  metadata: JsonObject = {},
): Comm {
  const comm = new Comm(randomUUID(), targetName);
  registry().comms.set(comm.commId, comm);
  publish("comm_open", { comm_id: comm.commId, target_name: targetName, data }, metadata);
  return comm;
}

/** `comm_info_reply.comms`: the open comms, optionally only those of one target. */
export function commInfo(targetName: string | null): Record<string, { target_name: string }> {
  const out: Record<string, { target_name: string }> = {};
  for (const c of registry().comms.values()) {
    if (targetName === null || c.targetName === targetName) {
      out[c.commId] = { target_name: c.targetName };
    }
  }
  return out;
}

/** A front end opened a comm: run its target, or close it at once when there is none (as
 * ipykernel does). Returns whether a target accepted it. */
export async function dispatchCommOpen(
  commId: string,
  targetName: string,
  msg: CommMessage,
): Promise<boolean> {
  const reg = registry();
  const target = reg.targets.get(targetName);
  if (target === undefined) {
    publish("comm_close", { comm_id: commId, data: {} });
    return false;
  }
  const comm = new Comm(commId, targetName);
  reg.comms.set(commId, comm);
  await target(comm, msg);
  return true;
}

/** A front end sent `comm_msg`; unknown ids are ignored (the spec's advice). Returns whether the
 * comm exists. */
export async function dispatchCommMsg(commId: string, msg: CommMessage): Promise<boolean> {
  const comm = registry().comms.get(commId);
  if (comm === undefined) return false;
  await comm.deliver(msg);
  return true;
}

/** A front end closed a comm. */
export async function dispatchCommClose(commId: string, msg: CommMessage): Promise<boolean> {
  const comm = registry().comms.get(commId);
  if (comm === undefined) return false;
  await comm.remoteClose(msg);
  return true;
}

// ------------------------------------------------------------------------------ mmulab.sweep

export { SWEEP_COMM_TARGET, SWEEP_PROTOCOL_VERSION };

/** Answers one sweep request (the comm message's data); the return value is sent back as
 * `result`. Throwing sends `{ok: false, error}`. */
export type SweepHandler = (request: JsonObject, comm: Comm) => JsonValue | Promise<JsonValue>;

/**
 * Installs the handler for requests that name sweep `id` (`{id, sweep, key}`): each live plot
 * carries its own id, so two live plots in a notebook are each answered by their own sweep.
 * Returns a function that removes it.
 */
export function registerSweepHandler(id: string, handler: SweepHandler): () => void {
  const handlers = registry().sweepHandlers;
  handlers.set(id, handler);
  return () => {
    if (handlers.get(id) === handler) handlers.delete(id);
  };
}

/** A new sweep id for {@link registerSweepHandler}: a counter, not a random id, so the same
 * notebook run gives the same outputs. */
export function nextSweepId(): string {
  return `sweep-${++registry().sweepsServed}`;
}

/** The handler for a request: the one registered for its `sweep` id; anything else is refused. */
function sweepHandlerFor(request: JsonObject): SweepHandler {
  const sid = request["sweep"];
  if (sid === undefined)
    throw new ParameterError(
      "sweep",
      sid,
      "the id of the sweep a live plot carries (only plots with a sweep id ask the kernel)",
      SWEEP_COMM_TARGET,
    );
  const h = typeof sid === "string" ? registry().sweepHandlers.get(sid) : undefined;
  if (h === undefined)
    throw new ParameterError(
      "sweep",
      sid,
      "the id of a sweep this kernel serves (after a restart, run the plot's cell again)",
      SWEEP_COMM_TARGET,
    );
  return h;
}

/** The `mmulab.sweep` target; registered by the kernel at start-up. */
export const sweepTarget: CommTarget = (comm) => {
  comm.onMsg(async ({ data }) => {
    const id = data["id"] ?? null;
    try {
      const result = await sweepHandlerFor(data)(data, comm);
      if (!comm.closed) comm.send({ id, ok: true, result } satisfies SweepResponse);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      if (!comm.closed)
        comm.send({
          id,
          ok: false,
          error: { name: e.name, message: e.message },
        } satisfies SweepResponse);
    }
  });
  comm.send({ ready: true, protocol: SWEEP_PROTOCOL_VERSION } satisfies SweepReady);
};

/** Registers {@link sweepTarget} under {@link SWEEP_COMM_TARGET}. */
export function installSweepTarget(): () => void {
  return registerCommTarget(SWEEP_COMM_TARGET, sweepTarget);
}
