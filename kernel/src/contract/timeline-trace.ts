/**
 * A timeline payload as Chrome trace-event JSON ("JSON Object Format"), which Perfetto
 * (ui.perfetto.dev, "Open trace file") and chrome://tracing open: the renderer's "Download
 * trace" button. One thread per lane (named after it, in lane order), spans as complete events
 * ("X"), instants as thread-scoped instant events ("i"), IPI arrows as flow events ("s"/"f"). A
 * reduced timeline's overview becomes one counter track ("C") per lane and kind — the busy share
 * of each bucket, in % — so the file shows the whole run and the exact events of the detail
 * window. Times are µs (the format's unit), from integer ns.
 *
 * Pure (contract/): the renderers' bundle carries it.
 */
import type { JsonPrimitive, TimelinePayload } from "./mime.js";

export interface ChromeTraceJson {
  readonly traceEvents: readonly Record<string, JsonPrimitive | Record<string, JsonPrimitive>>[];
  readonly displayTimeUnit: "ns";
  readonly metadata: Record<string, JsonPrimitive>;
}

export function timelineToChromeTrace(p: TimelinePayload): ChromeTraceJson {
  type Ev = Record<string, JsonPrimitive | Record<string, JsonPrimitive>>;
  const tid = new Map(p.lanes.map((l, i) => [l.id, i + 1]));
  const events: Ev[] = [
    { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: p.title ?? "mmulab timeline" } },
  ];
  p.lanes.forEach((l, i) => {
    events.push({ name: "thread_name", ph: "M", pid: 1, tid: i + 1, args: { name: l.label } });
    events.push({
      name: "thread_sort_index",
      ph: "M",
      pid: 1,
      tid: i + 1,
      args: { sort_index: i },
    });
  });
  const us = (ns: number): number => ns / 1000;
  for (const s of p.spans)
    events.push({
      name: s.label,
      cat: s.kind,
      ph: "X",
      ts: us(s.start),
      dur: us(s.end - s.start),
      pid: 1,
      tid: tid.get(s.lane) ?? 0,
      args: { ...s.args },
    });
  for (const i of p.instants)
    events.push({
      name: i.label,
      cat: i.kind,
      ph: "i",
      s: "t",
      ts: us(i.t),
      pid: 1,
      tid: tid.get(i.lane) ?? 0,
      args: { ...i.args },
    });
  p.arrows.forEach((a, k) => {
    const common = { name: a.label, cat: a.kind, id: k + 1, pid: 1 };
    events.push({ ...common, ph: "s", ts: us(a.fromT), tid: tid.get(a.fromLane) ?? 0 });
    events.push({ ...common, ph: "f", bp: "e", ts: us(a.toT), tid: tid.get(a.toLane) ?? 0 });
  });
  const o = p.overview;
  if (o !== undefined)
    for (const row of o.rows) {
      const label = p.lanes.find((l) => l.id === row.lane)?.label ?? row.lane;
      const name = `${label} ${row.kind} busy %`;
      for (let b = 0; b < o.buckets; b++)
        events.push({
          name,
          ph: "C",
          ts: us(o.start + b * o.bucketNs),
          pid: 1,
          tid: 0,
          args: { busy: Math.round(((row.busy[b] ?? 0) / o.bucketNs) * 1000) / 10 },
        });
    }
  return {
    traceEvents: events,
    displayTimeUnit: "ns",
    metadata: {
      source: "mmulab",
      reduced: o !== undefined,
      ...(p.detail === undefined ? {} : { exactFromNs: p.detail.from, exactToNs: p.detail.to }),
    },
  };
}
