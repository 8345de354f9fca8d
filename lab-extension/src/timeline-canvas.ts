/**
 * The timeline's drawing: a 2D canvas with level of detail, so a million spans stay interactive.
 *
 * Spans are indexed once per lane and kind ("row"), sorted by start, so a view draws only the
 * spans that overlap it (binary search, then a scan). Spans at least a couple of pixels wide are
 * drawn as rectangles; narrower ones are summed per pixel column into a coverage buffer and each
 * column drawn once, its opacity telling how busy it was — what plotly's one-path-per-kind could
 * not do past ~50k spans (7 s first paint for 100k). A reduced payload's overview (busy ns per
 * lane, kind and bucket, made by the kernel) fills the parts of the view the exact events do not
 * cover; a window fetched over the `mmulab.timeline` comm replaces the exact events, or adds a
 * finer overview for its range. Arrows and markers are drawn when few enough are in view.
 *
 * Text is drawn with fillText (never parsed as markup); the tooltip's lines go into the DOM as
 * textContent by the widget (timeline.ts). Canvas-free parts (layout, hit testing, what to draw)
 * are plain functions of the scene, tested without a browser.
 */
import type {
  JsonPrimitive,
  TimelineArrow,
  TimelineInstant,
  TimelineOverview,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
  TimelineWindow,
} from "@mmulab/kernel/contract";
import { TIMELINE_MARKER_COLOUR } from "@mmulab/kernel/contract";
import { formatCount, formatNs } from "./payload.js";
import { IPI_COLOR, KIND_COLORS, SPAN_KINDS, UAF_COLOR } from "./timeline-figure.js";

/** Visible time range, ns. */
export interface View {
  readonly from: number;
  readonly to: number;
}

/** Pixel geometry. */
export const SLOT_HEIGHT = 9;
export const LANE_PAD = 4;
export const AXIS_HEIGHT = 30;
export const TOP = 4;
/** Spans narrower than this many pixels are summed per pixel column. */
const MIN_RECT_PX = 1.5;
/** A span narrower than a pixel still covers this much of its column, so it shows. */
const MIN_COVER = 0.34;
/** At most this many arrows / markers are drawn; more in view and the status line says so. */
export const MAX_DRAWN_ARROWS = 3000;
export const MAX_DRAWN_MARKERS = 5000;
/** Hover tolerance, px. */
const HIT_PX = 3;

interface Row {
  readonly lane: number;
  readonly kind: TimelineSpanKind;
  /** Indices into the span array, by start. */
  readonly order: Uint32Array;
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly maxDur: number;
}

interface LaneBox {
  readonly id: string;
  readonly label: string;
  readonly top: number;
  readonly height: number;
  /** Slot (sub-row) of each kind drawn in this lane. */
  readonly slots: ReadonlyMap<TimelineSpanKind, number>;
}

/** An overview and the time range it speaks for. */
interface OverviewLayer {
  readonly o: TimelineOverview;
  readonly from: number;
  readonly to: number;
}

/** What one draw did, for the status line and the tests. */
export interface DrawStats {
  spansInView: number;
  rects: number;
  columns: number;
  overviewBuckets: number;
  arrowsInView: number;
  arrowsDrawn: number;
  markersInView: number;
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function argsText(a: Readonly<Record<string, JsonPrimitive>> | undefined): string | null {
  if (a === undefined) return null;
  const parts = Object.entries(a).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? null : parts.join(", ");
}

/** 1-2-5 tick step for about `count` ticks over `span` ns. */
export function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (p * m >= raw) return p * m;
  return p * 10;
}

export class TimelineScene {
  readonly payload: TimelinePayload;
  readonly lanes: readonly LaneBox[];
  readonly laneIndex: ReadonlyMap<string, number>;
  /** Plot area height, px (lanes), and the whole canvas height with the axis. */
  readonly lanesHeight: number;
  readonly height: number;
  /** Width of the lane-label column, px. */
  readonly labelWidth: number;
  /** Time range of the whole timeline. */
  readonly extent: View;
  private spans: readonly TimelineSpan[] = [];
  private rows: Row[] = [];
  private instants: readonly TimelineInstant[] = [];
  private arrows: readonly TimelineArrow[] = [];
  /** Where the exact events are complete (everywhere when the payload is not reduced). */
  private exact: View;
  private layers: OverviewLayer[] = [];
  private cover = new Float32Array(0);

  constructor(t: TimelinePayload) {
    this.payload = t;
    this.laneIndex = new Map(t.lanes.map((l, i) => [l.id, i]));
    const kinds = t.lanes.map(() => new Set<TimelineSpanKind>());
    for (const s of t.spans) kinds[this.laneIndex.get(s.lane) ?? 0]?.add(s.kind);
    for (const r of t.overview?.rows ?? []) kinds[this.laneIndex.get(r.lane) ?? 0]?.add(r.kind);
    let top = TOP;
    this.lanes = t.lanes.map((l, i) => {
      const present = SPAN_KINDS.filter((k) => kinds[i]!.has(k));
      const height = 2 * LANE_PAD + Math.max(1, present.length) * SLOT_HEIGHT;
      const box = {
        id: l.id,
        label: l.label,
        top,
        height,
        slots: new Map(present.map((k, j) => [k, j])),
      };
      top += height;
      return box;
    });
    this.lanesHeight = top;
    this.height = top + AXIS_HEIGHT;
    const longest = t.lanes.reduce((m, l) => Math.max(m, l.label.length), 0);
    this.labelWidth = Math.min(200, Math.max(56, 12 + longest * 6.5));
    this.extent = extentOf(t);
    if (t.overview !== undefined && t.detail !== undefined) {
      this.layers = [{ o: t.overview, from: this.extent.from, to: this.extent.to }];
      this.exact = { from: t.detail.from, to: t.detail.to };
    } else this.exact = this.extent;
    this.setEvents(t.spans, t.instants, t.arrows);
  }

  get reduced(): boolean {
    return this.payload.overview !== undefined;
  }

  /** Where exact events are known now. */
  get exactRange(): View {
    return this.exact;
  }

  /** Events counted in the whole timeline (the overview's totals for a reduced one). */
  get totals(): { spans: number; instants: number; arrows: number } {
    const o = this.payload.overview;
    return o !== undefined
      ? o.totals
      : { spans: this.spans.length, instants: this.instants.length, arrows: this.arrows.length };
  }

  /** Replaces the exact events (a window from the kernel, or the payload's at start). */
  private setEvents(
    spans: readonly TimelineSpan[],
    instants: readonly TimelineInstant[],
    arrows: readonly TimelineArrow[],
  ): void {
    this.spans = spans;
    this.instants = instants;
    this.arrows = arrows;
    const groups = new Map<string, number[]>();
    spans.forEach((s, i) => {
      const key = `${this.laneIndex.get(s.lane) ?? 0}\u0000${s.kind}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = []));
      g.push(i);
    });
    this.rows = [];
    for (const [key, idx] of groups) {
      const [laneS, kind] = key.split("\u0000") as [string, TimelineSpanKind];
      idx.sort((a, b) => spans[a]!.start - spans[b]!.start);
      const order = Uint32Array.from(idx);
      const starts = new Float64Array(order.length);
      const ends = new Float64Array(order.length);
      let maxDur = 0;
      for (let k = 0; k < order.length; k++) {
        const s = spans[order[k]!]!;
        starts[k] = s.start;
        ends[k] = s.end;
        if (s.end - s.start > maxDur) maxDur = s.end - s.start;
      }
      this.rows.push({ lane: Number(laneS), kind, order, starts, ends, maxDur });
    }
  }

  /** A window answer from the kernel: exact events for its range, or a finer overview. */
  applyWindow(w: TimelineWindow): void {
    if (w.exact) {
      const uaf = this.payload.instants.filter((i) => i.kind === "uaf");
      const inWindow = w.instants.filter((i) => i.kind !== "uaf");
      this.setEvents(w.spans, [...uaf, ...inWindow], w.arrows);
      this.exact = { from: w.from, to: w.to };
      this.layers = this.layers.slice(0, 1);
    } else if (w.overview !== undefined) {
      this.layers = [this.layers[0]!, { o: w.overview, from: w.from, to: w.to }].filter(
        (l) => l !== undefined,
      );
    }
  }

  /** Whether the view shows time the exact events do not cover (a fetch would add detail). */
  needsDetail(v: View): boolean {
    return this.reduced && (v.from < this.exact.from || v.to > this.exact.to);
  }

  /** Slot geometry of a row: y of its top, px. */
  private slotY(lane: number, kind: TimelineSpanKind): number | null {
    const box = this.lanes[lane];
    const slot = box?.slots.get(kind);
    if (box === undefined || slot === undefined) return null;
    return box.top + LANE_PAD + slot * SLOT_HEIGHT;
  }

  /** Draws the view into a context already scaled to CSS pixels. */
  draw(ctx: CanvasRenderingContext2D, width: number, v: View): DrawStats {
    const stats: DrawStats = {
      spansInView: 0,
      rects: 0,
      columns: 0,
      overviewBuckets: 0,
      arrowsInView: 0,
      arrowsDrawn: 0,
      markersInView: 0,
    };
    const L = this.labelWidth;
    const W = Math.max(10, Math.floor(width - L - 8));
    const span = Math.max(v.to - v.from, 1e-9);
    const scale = W / span;
    const X = (t: number): number => L + (t - v.from) * scale;
    ctx.clearRect(0, 0, width, this.height);
    ctx.font = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
    ctx.textBaseline = "middle";
    // lanes: stripes and labels
    this.lanes.forEach((b, i) => {
      ctx.fillStyle = i % 2 === 0 ? "#f7f7f7" : "#ffffff";
      ctx.fillRect(L, b.top, W, b.height);
      ctx.fillStyle = "#222";
      ctx.textAlign = "right";
      ctx.fillText(fitText(b.label, L - 10), L - 6, b.top + b.height / 2);
    });
    ctx.save();
    ctx.beginPath();
    ctx.rect(L, 0, W, this.lanesHeight);
    ctx.clip();
    if (this.cover.length < W) this.cover = new Float32Array(W);
    const cover = this.cover;
    // overviews, where the exact events (and finer layers) do not speak
    this.layers.forEach((layer, li) => {
      const finer = this.layers.slice(li + 1);
      const o = layer.o;
      const b0 = Math.max(0, Math.floor((v.from - o.start) / o.bucketNs));
      const b1 = Math.min(o.buckets - 1, Math.ceil((v.to - o.start) / o.bucketNs) - 1);
      if (b1 < b0) return;
      for (const row of o.rows) {
        const y = this.slotY(this.laneIndex.get(row.lane) ?? -1, row.kind);
        if (y === null) continue;
        cover.fill(0, 0, W);
        let any = false;
        for (let b = b0; b <= b1; b++) {
          const busy = row.busy[b] ?? 0;
          if (busy <= 0) continue;
          const t0 = o.start + b * o.bucketNs;
          const mid = t0 + o.bucketNs / 2;
          if (mid >= this.exact.from && mid <= this.exact.to) continue;
          if (mid < layer.from || mid > layer.to) continue;
          if (finer.some((f) => mid >= f.from && mid <= f.to)) continue;
          stats.overviewBuckets++;
          any = true;
          spread(
            cover,
            (t0 - v.from) * scale,
            (t0 + o.bucketNs - v.from) * scale,
            busy / o.bucketNs,
            W,
          );
        }
        if (any) stats.columns += drawCover(ctx, cover, W, L, y, KIND_COLORS[row.kind]);
      }
    });
    // exact spans
    for (const r of this.rows) {
      const y = this.slotY(r.lane, r.kind);
      if (y === null) continue;
      const i0 = lowerBound(r.starts, v.from - r.maxDur);
      const i1 = upperBound(r.starts, v.to);
      if (i1 <= i0) continue;
      ctx.fillStyle = KIND_COLORS[r.kind];
      cover.fill(0, 0, W);
      let small = 0;
      for (let i = i0; i < i1; i++) {
        const e = r.ends[i]!;
        if (e < v.from) continue;
        stats.spansInView++;
        const x0 = (r.starts[i]! - v.from) * scale;
        const x1 = (e - v.from) * scale;
        if (x1 - x0 >= MIN_RECT_PX) {
          const a = Math.max(x0, -1);
          const b = Math.min(x1, W + 1);
          ctx.fillRect(L + a, y, b - a, SLOT_HEIGHT - 1);
          stats.rects++;
        } else {
          const c = Math.floor((x0 + x1) / 2);
          if (c >= 0 && c < W) {
            cover[c]! += Math.max(x1 - x0, MIN_COVER);
            small++;
          }
        }
      }
      if (small > 0) stats.columns += drawCover(ctx, cover, W, L, y, KIND_COLORS[r.kind]);
    }
    // arrows
    const inView = (a: TimelineArrow): boolean =>
      Math.max(a.fromT, a.toT) >= v.from && Math.min(a.fromT, a.toT) <= v.to;
    for (const a of this.arrows) if (inView(a)) stats.arrowsInView++;
    if (stats.arrowsInView <= MAX_DRAWN_ARROWS) {
      ctx.strokeStyle = IPI_COLOR;
      ctx.fillStyle = IPI_COLOR;
      ctx.lineWidth = 1;
      ctx.setLineDash([2, 2]);
      for (const a of this.arrows) {
        if (!inView(a)) continue;
        const fa = this.lanes[this.laneIndex.get(a.fromLane) ?? -1];
        const ta = this.lanes[this.laneIndex.get(a.toLane) ?? -1];
        if (fa === undefined || ta === undefined) continue;
        const x0 = X(a.fromT);
        const y0 = fa.top + fa.height / 2;
        const x1 = X(a.toT);
        const y1 = ta.top + ta.height / 2;
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        arrowHead(ctx, x0, y0, x1, y1);
        stats.arrowsDrawn++;
      }
      ctx.setLineDash([]);
    }
    // markers, then use-after-frees on top
    const marks = this.instants.filter((i) => i.kind !== "uaf" && i.t >= v.from && i.t <= v.to);
    stats.markersInView = marks.length;
    if (marks.length <= MAX_DRAWN_MARKERS) {
      ctx.fillStyle = TIMELINE_MARKER_COLOUR;
      for (const m of marks) {
        const b = this.lanes[this.laneIndex.get(m.lane) ?? -1];
        if (b === undefined) continue;
        const x = X(m.t);
        const y = b.top + b.height / 2;
        ctx.beginPath();
        ctx.moveTo(x, y - 5);
        ctx.lineTo(x + 4, y);
        ctx.lineTo(x, y + 5);
        ctx.lineTo(x - 4, y);
        ctx.closePath();
        ctx.fill();
      }
    }
    ctx.strokeStyle = UAF_COLOR;
    for (const u of this.instants) {
      if (u.kind !== "uaf" || u.t < v.from || u.t > v.to) continue;
      const b = this.lanes[this.laneIndex.get(u.lane) ?? -1];
      if (b === undefined) continue;
      const x = X(u.t);
      const y = b.top + b.height / 2;
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, this.lanesHeight);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.moveTo(x - 6, y - 6);
      ctx.lineTo(x + 6, y + 6);
      ctx.moveTo(x + 6, y - 6);
      ctx.lineTo(x - 6, y + 6);
      ctx.stroke();
    }
    ctx.restore();
    // time axis
    const axisY = this.lanesHeight;
    ctx.strokeStyle = "#333";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(L, axisY + 0.5);
    ctx.lineTo(L + W, axisY + 0.5);
    ctx.stroke();
    const step = tickStep(span, Math.max(2, Math.floor(W / 110)));
    ctx.fillStyle = "#333";
    ctx.textBaseline = "top";
    for (let t = Math.ceil(v.from / step) * step; t <= v.to; t += step) {
      const x = X(t);
      ctx.beginPath();
      ctx.moveTo(x + 0.5, axisY);
      ctx.lineTo(x + 0.5, axisY + 4);
      ctx.stroke();
      ctx.textAlign = x - L < 30 ? "left" : L + W - x < 30 ? "right" : "center";
      ctx.fillText(formatNs(Math.round(t * 1000) / 1000), x, axisY + 6);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    return stats;
  }

  /**
   * What is under the pointer: lines of plain text for the tooltip, or null. `x`, `y` in CSS
   * pixels of the canvas.
   */
  hit(x: number, y: number, width: number, v: View): string[] | null {
    const L = this.labelWidth;
    const W = Math.max(10, Math.floor(width - L - 8));
    if (x < L || x > L + W || y < TOP || y > this.lanesHeight) return null;
    const scale = W / Math.max(v.to - v.from, 1e-9);
    const t = v.from + (x - L) / scale;
    const tol = HIT_PX / scale;
    const lane = this.lanes.findIndex((b) => y >= b.top && y < b.top + b.height);
    const box = this.lanes[lane];
    if (box === undefined) return null;
    // instants first: they are small targets
    for (const i of this.instants) {
      if (i.lane !== box.id || Math.abs(i.t - t) > 2 * tol) continue;
      const lines = [
        i.kind === "uaf" ? `use-after-free: ${i.label}` : i.label,
        `${formatNs(i.t)} on ${box.label}`,
      ];
      const a = argsText(i.args);
      if (a !== null) lines.push(a);
      return lines;
    }
    const slot = Math.floor((y - box.top - LANE_PAD) / SLOT_HEIGHT);
    const kind = [...box.slots].find(([, s]) => s === slot)?.[0];
    if (kind === undefined) return null;
    if (t >= this.exact.from && t <= this.exact.to) {
      const r = this.rows.find((row) => row.lane === lane && row.kind === kind);
      if (r === undefined) return null;
      let best = -1;
      const hi = upperBound(r.starts, t + tol);
      for (let i = hi - 1, n = 0; i >= 0 && n < 5000; i--, n++) {
        if (r.starts[i]! < t - tol - r.maxDur) break;
        if (
          r.ends[i]! >= t - tol &&
          (best < 0 || r.ends[i]! - r.starts[i]! < r.ends[best]! - r.starts[best]!)
        )
          best = i;
      }
      if (best < 0) return null;
      const s = this.spans[r.order[best]!]!;
      const lines = [
        `${s.label} (${s.kind})`,
        `${formatNs(s.start)} → ${formatNs(s.end)} · ${formatNs(s.end - s.start)}`,
        box.label,
      ];
      const a = argsText(s.args);
      if (a !== null) lines.push(a);
      return lines;
    }
    for (let li = this.layers.length - 1; li >= 0; li--) {
      const layer = this.layers[li]!;
      if (t < layer.from || t > layer.to) continue;
      const o = layer.o;
      const b = Math.floor((t - o.start) / o.bucketNs);
      const row = o.rows.find((r) => r.lane === box.id && r.kind === kind);
      if (row === undefined || b < 0 || b >= o.buckets) return null;
      const t0 = o.start + b * o.bucketNs;
      return [
        `${box.label} · ${kind}`,
        `${formatCount(row.count[b] ?? 0)} spans started, ${Math.round(((row.busy[b] ?? 0) / o.bucketNs) * 100)} % busy`,
        `${formatNs(Math.round(t0))} – ${formatNs(Math.round(t0 + o.bucketNs))} (summary; zoom in for the exact spans)`,
      ];
    }
    return null;
  }
}

/** Adds `share` (0 … 1 of the time) to the pixel columns that [x0, x1) covers. */
function spread(cover: Float32Array, x0: number, x1: number, share: number, W: number): void {
  const a = Math.max(0, x0);
  const b = Math.min(W, x1);
  if (b <= a) return;
  if (b - a < 1) {
    const c = Math.floor(a);
    if (c < W) cover[c]! += Math.max(share * (b - a), MIN_COVER * Math.min(1, share * 4));
    return;
  }
  for (let c = Math.floor(a); c < Math.ceil(b) && c < W; c++) {
    const w = Math.min(b, c + 1) - Math.max(a, c);
    cover[c]! += share * w;
  }
}

/** Draws coverage columns, adjacent ones of one opacity as one rectangle; returns the count. */
function drawCover(
  ctx: CanvasRenderingContext2D,
  cover: Float32Array,
  W: number,
  L: number,
  y: number,
  colour: string,
): number {
  const level = (c: number): number =>
    c <= 0 ? 0 : c >= 0.9 ? 1 : c >= 0.5 ? 0.75 : c >= 0.2 ? 0.5 : 0.3;
  ctx.fillStyle = colour;
  let drawn = 0;
  let c = 0;
  while (c < W) {
    const a = level(cover[c]!);
    if (a === 0) {
      c++;
      continue;
    }
    let e = c + 1;
    while (e < W && level(cover[e]!) === a) e++;
    ctx.globalAlpha = a;
    ctx.fillRect(L + c, y, e - c, SLOT_HEIGHT - 1);
    drawn++;
    c = e;
  }
  ctx.globalAlpha = 1;
  return drawn;
}

function arrowHead(
  ctx: CanvasRenderingContext2D,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): void {
  const ang = Math.atan2(y1 - y0, x1 - x0);
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 7 * Math.cos(ang - 0.4), y1 - 7 * Math.sin(ang - 0.4));
  ctx.lineTo(x1 - 7 * Math.cos(ang + 0.4), y1 - 7 * Math.sin(ang + 0.4));
  ctx.closePath();
  ctx.fill();
}

/** `text` cut to about `px` pixels at 11 px sans-serif. */
function fitText(text: string, px: number): string {
  const max = Math.max(3, Math.floor(px / 6.2));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The time range of the whole timeline: events, the overview and the detail window. */
export function extentOf(t: TimelinePayload): View {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of t.spans) {
    if (s.start < lo) lo = s.start;
    if (s.end > hi) hi = s.end;
  }
  for (const i of t.instants) {
    lo = Math.min(lo, i.t);
    hi = Math.max(hi, i.t);
  }
  for (const a of t.arrows) {
    lo = Math.min(lo, a.fromT, a.toT);
    hi = Math.max(hi, a.fromT, a.toT);
  }
  const o = t.overview;
  if (o !== undefined) {
    lo = Math.min(lo, o.start);
    hi = Math.max(hi, o.start + o.buckets * o.bucketNs);
  }
  if (!Number.isFinite(lo)) return { from: 0, to: 1 };
  if (hi <= lo) hi = lo + 1;
  // a little room either side, so the first and last spans are not on the frame
  const pad = (hi - lo) * 0.01;
  return { from: lo - pad, to: hi + pad };
}
