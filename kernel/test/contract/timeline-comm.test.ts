/**
 * The `mmulab.timeline` comm protocol and the reduced-timeline fields of the timeline payload,
 * pinned by the type checker (`npm run typecheck` compiles this file) and at run time.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  TIMELINE_COMM_TARGET,
  TIMELINE_KIND_COLOURS,
  TIMELINE_PROTOCOL_VERSION,
  TIMELINE_SPAN_KINDS,
  type TimelineOverview,
  type TimelinePayload,
  type TimelineReady,
  type TimelineSpan,
  type TimelineSpanKind,
  type TimelineWindow,
  type TimelineWindowRequest,
  type TimelineWindowResponse,
} from "../../src/contract/index.js";

describe("the mmulab.timeline comm protocol", () => {
  it("has one target name and version, and typed messages each way", () => {
    expectTypeOf<typeof TIMELINE_COMM_TARGET>().toEqualTypeOf<"mmulab.timeline">();
    expectTypeOf<typeof TIMELINE_PROTOCOL_VERSION>().toEqualTypeOf<1>();
    expectTypeOf<TimelineReady>().toEqualTypeOf<{ readonly ready: true; readonly protocol: 1 }>();
    expectTypeOf<TimelineWindowRequest>().toEqualTypeOf<{
      readonly id: number;
      readonly source: string;
      readonly from: number;
      readonly to: number;
      readonly buckets: number;
    }>();
    expectTypeOf<
      Extract<TimelineWindowResponse, { ok: true }>["result"]
    >().toEqualTypeOf<TimelineWindow>();
    expectTypeOf<TimelineWindow["spans"]>().toEqualTypeOf<readonly TimelineSpan[]>();
    expectTypeOf<TimelineWindow["overview"]>().toEqualTypeOf<TimelineOverview | undefined>();
    expect(TIMELINE_COMM_TARGET).toBe("mmulab.timeline");
    expect(TIMELINE_PROTOCOL_VERSION).toBe(1);
  });

  it("adds the reduced form to the timeline payload as optional fields", () => {
    expectTypeOf<TimelinePayload["overview"]>().toEqualTypeOf<TimelineOverview | undefined>();
    expectTypeOf<TimelinePayload["source"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<TimelinePayload["detail"]>().toEqualTypeOf<
      { readonly from: number; readonly to: number } | undefined
    >();
    expectTypeOf<TimelineOverview["rows"][number]["kind"]>().toEqualTypeOf<TimelineSpanKind>();
  });

  it("gives every span kind one colour, shared by both pictures", () => {
    expectTypeOf(TIMELINE_KIND_COLOURS).toEqualTypeOf<Readonly<Record<TimelineSpanKind, string>>>();
    expect(Object.keys(TIMELINE_KIND_COLOURS).sort()).toEqual([...TIMELINE_SPAN_KINDS].sort());
    expect(new Set(Object.values(TIMELINE_KIND_COLOURS)).size).toBe(TIMELINE_SPAN_KINDS.length);
  });
});
