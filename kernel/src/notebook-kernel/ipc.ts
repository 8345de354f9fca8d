/**
 * Messages between the kernel's two processes (see front.ts for why there are two): the front,
 * which speaks the Jupyter protocol, and the executor, which compiles and runs cells with tslab.
 * They travel over the Node IPC channel of `child_process.fork` (structured-clone serialization,
 * so comm buffers pass as Uint8Array).
 *
 * Every request the front sends carries a number `req`; the executor answers it with exactly one
 * `reply` carrying the same number. Output the executor produces while running a request (or
 * later, from timers and promises that request started) is tagged with that `req`, so the front
 * can give it the right Jupyter parent header.
 */
import type { JsonObject } from "../contract/mime.js";

/** Request kinds the executor answers. */
export type ExecutorRequest =
  | {
      readonly t: "execute";
      readonly req: number;
      readonly code: string;
      readonly silent: boolean;
      readonly storeHistory: boolean;
      readonly executionCount: number;
      readonly userExpressions: Readonly<Record<string, string>>;
      readonly allowStdin: boolean;
    }
  | { readonly t: "complete"; readonly req: number; readonly code: string; readonly cursor: number }
  | {
      readonly t: "inspect";
      readonly req: number;
      readonly code: string;
      readonly cursor: number;
      readonly detailLevel: number;
    }
  | { readonly t: "is_complete"; readonly req: number; readonly code: string }
  | {
      readonly t: "comm_open";
      readonly req: number;
      readonly commId: string;
      readonly targetName: string;
      readonly data: JsonObject;
      readonly metadata: JsonObject;
      readonly buffers: readonly Uint8Array[];
    }
  | {
      readonly t: "comm_msg";
      readonly req: number;
      readonly commId: string;
      readonly data: JsonObject;
      readonly metadata: JsonObject;
      readonly buffers: readonly Uint8Array[];
    }
  | {
      readonly t: "comm_close";
      readonly req: number;
      readonly commId: string;
      readonly data: JsonObject;
      readonly metadata: JsonObject;
    }
  | { readonly t: "comm_info"; readonly req: number; readonly targetName: string | null };

/** Messages the front sends that are not requests (no reply). */
export type ExecutorNotice =
  | { readonly t: "input_reply"; readonly inputId: number; readonly value: string | null }
  | { readonly t: "shutdown" };

export type FrontToExecutor = ExecutorRequest | ExecutorNotice;

/** An iopub message the executor wants published. */
export interface IopubEvent {
  readonly t: "iopub";
  /** The request whose parent header applies; null: the most recent one. */
  readonly req: number | null;
  readonly msgType: string;
  readonly content: JsonObject;
  readonly metadata?: JsonObject;
  readonly buffers?: readonly Uint8Array[];
}

export type ExecutorToFront =
  | {
      readonly t: "ready";
      readonly pid: number;
      readonly typescriptVersion: string;
      readonly tslabVersion: string;
    }
  | IopubEvent
  | { readonly t: "reply"; readonly req: number; readonly content: JsonObject }
  | {
      readonly t: "input_request";
      readonly req: number | null;
      readonly inputId: number;
      readonly prompt: string;
      readonly password: boolean;
    };

/** Bytes written on the executor's interrupt pipe (its fd 4). */
export const INTERRUPT_BYTE = 0x69; // "i"

/** The fd of the interrupt pipe in the executor process: stdio slot 4, after 0–2 and the IPC
 * channel at 3. */
export const INTERRUPT_FD = 4;
