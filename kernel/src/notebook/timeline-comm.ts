/**
 * The `mmulab.timeline` comm target (protocol: contract/timeline-comm.ts): a rendered reduced
 * timeline asks for the events of the window the user zoomed to, and gets them from the full
 * timeline this process kept when it published the reduced one (views/timeline-store.ts).
 * Registered by the kernel's executor at start-up, beside `mmulab.sweep`.
 */
import type { JsonObject } from "../contract/mime.js";
import {
  TIMELINE_COMM_TARGET,
  TIMELINE_PROTOCOL_VERSION,
  type TimelineReady,
  type TimelineWindow,
  type TimelineWindowResponse,
} from "../contract/timeline-comm.js";
import { ParameterError } from "../sim/errors.js";
import { timelineWindow } from "../views/timeline-reduce.js";
import { storedTimeline } from "../views/timeline-store.js";
import { registerCommTarget, type CommTarget } from "./comm.js";

/** Answers one window request (the comm message's data). */
export function answerTimelineWindow(request: JsonObject): TimelineWindow {
  const ctx = TIMELINE_COMM_TARGET;
  const source = request["source"];
  if (typeof source !== "string")
    throw new ParameterError("source", source, "the source id of a reduced timeline", ctx);
  const full = storedTimeline(source);
  if (full === undefined)
    throw new ParameterError(
      "source",
      source,
      "the id of a timeline this kernel published (after a restart, run the timeline's cell again)",
      ctx,
    );
  const num = (k: string): number => {
    const v = request[k];
    if (typeof v !== "number") throw new ParameterError(k, v, "a number", ctx);
    return v;
  };
  return timelineWindow(full, source, num("from"), num("to"), num("buckets"));
}

export const timelineTarget: CommTarget = (comm) => {
  comm.onMsg(({ data }) => {
    const id = data["id"] ?? null;
    let answer: TimelineWindowResponse;
    try {
      answer = { id, ok: true, result: answerTimelineWindow(data) };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      answer = { id, ok: false, error: { name: e.name, message: e.message } };
    }
    if (!comm.closed) comm.send(answer as unknown as JsonObject);
  });
  comm.send({ ready: true, protocol: TIMELINE_PROTOCOL_VERSION } satisfies TimelineReady);
};

/** Registers {@link timelineTarget} under {@link TIMELINE_COMM_TARGET}. */
export function installTimelineTarget(): () => void {
  return registerCommTarget(TIMELINE_COMM_TARGET, timelineTarget);
}
