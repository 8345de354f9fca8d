/**
 * The `mmulab.timeline` comm protocol: exact events of a zoomed window of a reduced timeline.
 *
 * A timeline too big to ship span by span is published reduced (contract/mime.ts: `overview`,
 * the exact events of one `detail` window, and a `source` id). When the user zooms elsewhere, the
 * renderer asks the kernel that published it for the events of the new window; the kernel keeps
 * the full timelines it reduced (kernel/src/views/timeline-store.ts) and answers from them
 * (kernel/src/notebook/timeline-comm.ts). Without a kernel, or after a restart, the renderer
 * draws the overview.
 *
 * Protocol version 1:
 *
 *   front end → kernel  comm_open  data {}                                  kernel answers {ready, protocol}
 *   front end → kernel  comm_msg   data {id, source, from, to, buckets}     (TimelineWindowRequest)
 *   kernel → front end  comm_msg   data {id, ok: true, result}  or  {id, ok: false, error}
 *
 * `result` is a {@link TimelineWindow}: the exact spans, instants and arrows overlapping
 * [from, to] when there are at most {@link TIMELINE_WINDOW_MAX_EVENTS}; otherwise an overview of
 * the window at `buckets` resolution (and the use-after-free instants), still far finer than the
 * payload's.
 */
import type {
  JsonValue,
  TimelineArrow,
  TimelineInstant,
  TimelineOverview,
  TimelineSpan,
} from "./mime.js";

export const TIMELINE_COMM_TARGET = "mmulab.timeline";
export const TIMELINE_PROTOCOL_VERSION = 1;

/** Most exact events (spans + instants + arrows) one window answer carries. */
export const TIMELINE_WINDOW_MAX_EVENTS = 50_000;

/** The kernel's first message on a new `mmulab.timeline` comm. */
export interface TimelineReady {
  readonly ready: true;
  readonly protocol: typeof TIMELINE_PROTOCOL_VERSION;
}

export interface TimelineWindowRequest {
  /** Chosen by the front end; the answer carries it back. */
  readonly id: number;
  /** The payload's `source`. */
  readonly source: string;
  /** ns */
  readonly from: number;
  /** ns, > from */
  readonly to: number;
  /** Resolution of an overview answer: about the plot's width in pixels (1 … 20,000). */
  readonly buckets: number;
}

/** The events of [from, to]: exact, or (when too many) an overview of the window. */
export interface TimelineWindow {
  readonly source: string;
  readonly from: number;
  readonly to: number;
  readonly exact: boolean;
  readonly spans: readonly TimelineSpan[];
  readonly instants: readonly TimelineInstant[];
  readonly arrows: readonly TimelineArrow[];
  /** When not exact: the window per bucket. */
  readonly overview?: TimelineOverview;
}

/** Why the kernel refused a request: the error's class name and message. */
export interface TimelineErrorInfo {
  readonly name: string;
  readonly message: string;
}

export type TimelineWindowResponse =
  | { readonly id: JsonValue; readonly ok: true; readonly result: TimelineWindow }
  | { readonly id: JsonValue; readonly ok: false; readonly error: TimelineErrorInfo };

/** Comm data on the `mmulab.timeline` comm, either direction. */
export type TimelineMessage = TimelineReady | TimelineWindowRequest | TimelineWindowResponse;
