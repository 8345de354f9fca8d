/**
 * The reduction of big timelines (views/timeline-reduce.ts), the store behind the
 * `mmulab.timeline` comm, its target (notebook/timeline-comm.ts) and the Chrome-trace export.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  checkTimelinePayload,
  timelineToChromeTrace,
  type TimelinePayload,
  type TimelineSpan,
} from "../../src/contract/index.js";
import { answerTimelineWindow } from "../../src/notebook/timeline-comm.js";
import { ParameterError } from "../../src/sim/errors.js";
import { overviewOf, reduceTimeline, timelineWindow } from "../../src/views/timeline-reduce.js";
import {
  clearStoredTimelines,
  storedTimeline,
  storeTimeline,
} from "../../src/views/timeline-store.js";

/** `n` back-to-back 100 ns spans alternating kinds on two CPUs, a use-after-free at 5 µs. */
function timeline(n: number): TimelinePayload {
  const spans: TimelineSpan[] = [];
  for (let i = 0; i < n; i++)
    spans.push({
      lane: `cpu${i % 2}`,
      start: Math.floor(i / 2) * 100,
      end: Math.floor(i / 2) * 100 + 60,
      kind: i % 4 < 2 ? "gup-walk" : "flush-wait",
      label: `s${i}`,
    });
  return {
    version: 1,
    title: "t",
    unit: "ns",
    lanes: [
      { id: "cpu0", label: "CPU 0" },
      { id: "cpu1", label: "CPU 1" },
    ],
    spans,
    instants: [
      { lane: "cpu1", t: 5_000, kind: "uaf", label: "uaf" },
      { lane: "cpu0", t: 10, kind: "marker", label: "m" },
    ],
    arrows: [{ fromLane: "cpu0", fromT: 0, toLane: "cpu1", toT: 50, kind: "ipi", label: "IPI" }],
  };
}

afterEach(() => clearStoredTimelines());

describe("overviewOf", () => {
  it("sums busy time per lane, kind and bucket, and counts spans and IPIs", () => {
    const p = timeline(400); // 200 spans a lane over 20 µs, 60 ns busy in each 100 ns
    const o = overviewOf(p, 0, 20_000, 10);
    expect(o.bucketNs).toBe(2_000);
    const rows = o.rows.filter((r) => r.lane === "cpu0");
    const busy = rows.reduce((s, r) => s + r.busy[3]!, 0);
    expect(busy).toBe(20 * 60); // 20 spans of 60 ns start in bucket 3 on cpu0
    expect(rows.reduce((s, r) => s + r.count[3]!, 0)).toBe(20);
    expect(o.ipis[0]).toBe(1);
    expect(o.ipis.slice(1).every((x) => x === 0)).toBe(true);
    expect(o.totals).toEqual({ spans: 400, instants: 2, arrows: 1 });
  });

  it("splits a long span over the buckets it covers and never exceeds a bucket", () => {
    const p: TimelinePayload = {
      ...timeline(0),
      spans: [
        { lane: "cpu0", start: 500, end: 3_500, kind: "grace-period", label: "gp" },
        { lane: "cpu0", start: 0, end: 4_000, kind: "grace-period", label: "gp2" },
      ],
    };
    const o = overviewOf(p, 0, 4_000, 4);
    expect(o.rows[0]!.busy).toEqual([1_000, 1_000, 1_000, 1_000]);
    expect(o.rows[0]!.count).toEqual([2, 0, 0, 0]);
  });
});

describe("reduceTimeline", () => {
  it("leaves a small timeline alone", () => {
    const p = timeline(100);
    expect(reduceTimeline(p)).toBe(p);
  });

  it("keeps an exact window around the use-after-free, an overview of all, and stays valid", () => {
    const p = timeline(100_000);
    const r = reduceTimeline(p, { maxExact: 1_000, buckets: 500, source: "timeline-9" });
    checkTimelinePayload(r);
    expect(r.spans.length).toBeGreaterThan(900);
    expect(r.spans.length).toBeLessThan(1_100);
    expect(r.detail!.from).toBeLessThanOrEqual(5_000);
    expect(r.detail!.to).toBeGreaterThanOrEqual(5_000);
    for (const s of r.spans) expect(s.end >= r.detail!.from && s.start <= r.detail!.to).toBe(true);
    expect(r.instants.filter((i) => i.kind === "uaf")).toHaveLength(1);
    expect(r.overview!.buckets).toBe(500);
    expect(r.overview!.totals.spans).toBe(100_000);
    expect(r.source).toBe("timeline-9");
    // the whole run is summarised: total busy equals total span time
    const total = r.overview!.rows.reduce((s, row) => s + row.busy.reduce((a, b) => a + b, 0), 0);
    expect(total).toBeCloseTo(100_000 * 60, -3);
    // far smaller than the full payload
    expect(JSON.stringify(r).length).toBeLessThan(JSON.stringify(p).length / 10);
  });

  it("refuses a bad resolution by name", () => {
    expect(() => reduceTimeline(timeline(10), { detail: { from: 0, to: 1 }, buckets: 0 })).toThrow(
      ParameterError,
    );
    expect(() => overviewOf(timeline(10), 0, 1, 1e9)).toThrow(/buckets = 1000000000/);
  });

  it("is refused by the validator when its overview is malformed", () => {
    const r = reduceTimeline(timeline(3_000), { maxExact: 100, buckets: 10 });
    expect(() =>
      checkTimelinePayload({ ...r, overview: { ...r.overview!, ipis: [1, 2] } }),
    ).toThrow(/overview\.ipis: expected 10 values, one per bucket/);
    expect(() =>
      checkTimelinePayload({
        ...r,
        overview: { ...r.overview!, rows: [{ ...r.overview!.rows[0]!, lane: "cpu7" }] },
      }),
    ).toThrow(/overview\.rows\[0\]\.lane/);
    expect(() => checkTimelinePayload({ ...r, detail: undefined })).toThrow(/overview/);
  });
});

describe("timelineWindow and the mmulab.timeline target", () => {
  it("answers a window exactly when it is small, with an overview when not", () => {
    const p = timeline(100_000);
    const small = timelineWindow(p, "x", 1_000, 2_000, 100);
    expect(small.exact).toBe(true);
    expect(small.spans.length).toBe(22); // 11 starts a lane in [1000, 2000], two lanes
    const big = timelineWindow(p, "x", 0, 5_000_000, 100, 1_000);
    expect(big.exact).toBe(false);
    expect(big.spans).toEqual([]);
    expect(big.overview!.buckets).toBe(100);
    expect(big.instants.map((i) => i.kind)).toEqual(["uaf"]);
  });

  it("serves stored timelines by source id and names a missing one", () => {
    const p = timeline(50_000);
    const id = storeTimeline(p);
    expect(storedTimeline(id)).toBe(p);
    const w = answerTimelineWindow({ id: 1, source: id, from: 0, to: 1_000, buckets: 50 });
    expect(w.exact).toBe(true);
    expect(w.spans.every((s) => s.start <= 1_000)).toBe(true);
    expect(() =>
      answerTimelineWindow({ id: 2, source: "timeline-999", from: 0, to: 1, buckets: 1 }),
    ).toThrow(/source = "timeline-999" .*run the timeline's cell again/);
    expect(() => answerTimelineWindow({ id: 3, source: id, from: 5, to: 5, buckets: 1 })).toThrow(
      /to = 5 is not accepted; expected a finite time in ns after from \(5\)/,
    );
    expect(() => answerTimelineWindow({ id: 3, source: id, from: 0, to: 5, buckets: "x" })).toThrow(
      /buckets = "x"/,
    );
  });

  it("forgets the oldest timelines first when the store is full", () => {
    const big = timeline(1_500_000);
    const first = storeTimeline(big);
    const second = storeTimeline(big);
    const third = storeTimeline(big);
    expect(storedTimeline(first)).toBeUndefined();
    expect(storedTimeline(second)).toBe(big);
    expect(storedTimeline(third)).toBe(big);
  });
});

describe("timelineToChromeTrace", () => {
  it("names one thread per lane and exports spans, instants and flows in µs", () => {
    const t = timelineToChromeTrace(timeline(4));
    const ev = t.traceEvents;
    expect(ev.filter((e) => e["name"] === "thread_name").map((e) => e["args"])).toEqual([
      { name: "CPU 0" },
      { name: "CPU 1" },
    ]);
    const x = ev.filter((e) => e["ph"] === "X");
    expect(x).toHaveLength(4);
    expect(x[2]).toMatchObject({ name: "s2", cat: "flush-wait", ts: 0.1, dur: 0.06, tid: 1 });
    expect(ev.filter((e) => e["ph"] === "i")).toHaveLength(2);
    expect(ev.filter((e) => e["ph"] === "s")[0]).toMatchObject({ id: 1, tid: 1, ts: 0 });
    expect(ev.filter((e) => e["ph"] === "f")[0]).toMatchObject({ id: 1, tid: 2, ts: 0.05 });
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  it("turns a reduced timeline's overview into busy-% counters", () => {
    const r = reduceTimeline(timeline(3_000), { maxExact: 100, buckets: 10 });
    const c = timelineToChromeTrace(r).traceEvents.filter((e) => e["ph"] === "C");
    expect(c).toHaveLength(r.overview!.rows.length * 10);
    for (const e of c) {
      const busy = (e["args"] as { busy: number }).busy;
      expect(busy).toBeGreaterThanOrEqual(0);
      expect(busy).toBeLessThanOrEqual(100);
    }
  });
});
