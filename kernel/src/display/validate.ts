/**
 * Checks that a value is a payload of one of the three MIME contracts before it is rendered or
 * published. Errors name the MIME type, the version received and the versions supported (the
 * contract's rule for consumers), or the first field that is wrong.
 */
import {
  PAGETABLE_MIME,
  PAGETABLE_VERSIONS,
  PLOT_MIME,
  PLOT_VERSIONS,
  TIMELINE_MIME,
  TIMELINE_VERSIONS,
  type PageTablePayload,
  type PlotPayload,
  type TimelinePayload,
} from "../contract/mime.js";

/** A value that does not satisfy a MIME contract. */
export class PayloadError extends TypeError {
  readonly mimeType: string;
  constructor(mimeType: string, problem: string) {
    super(`${mimeType}: ${problem}`);
    this.name = "PayloadError";
    this.mimeType = mimeType;
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkVersion(mime: string, value: Obj, supported: readonly number[]): void {
  if (!supported.includes(value["version"] as number)) {
    throw new PayloadError(
      mime,
      `version ${JSON.stringify(value["version"])} is not supported; supported: ` +
        supported.join(", "),
    );
  }
}

function need(mime: string, ok: boolean, problem: string): void {
  if (!ok) throw new PayloadError(mime, problem);
}

/** Throws a {@link PayloadError} unless `value` is a page-table payload this code renders. */
export function checkPageTablePayload(value: unknown): asserts value is PageTablePayload {
  const mime = PAGETABLE_MIME;
  need(mime, isObj(value), "payload is not an object");
  const v = value as Obj;
  checkVersion(mime, v, PAGETABLE_VERSIONS);
  need(mime, v["levels"] === 4 || v["levels"] === 5, "levels must be 4 or 5");
  need(mime, typeof v["mm"] === "number", "mm must be a number");
  need(mime, isObj(v["root"]), "root must be a page-table node");
  const stack: unknown[] = [v["root"]];
  if (Array.isArray(v["detached"])) stack.push(...(v["detached"] as unknown[]));
  else need(mime, v["detached"] === undefined, "detached must be an array");
  while (stack.length > 0) {
    const n = stack.pop();
    need(mime, isObj(n), "a node is not an object");
    const node = n as Obj;
    need(mime, typeof node["level"] === "string", "a node has no level");
    need(mime, typeof node["frame"] === "number", "a node has no frame number");
    need(mime, typeof node["state"] === "string", "a node has no state");
    const children = node["children"];
    if (children !== undefined) {
      need(mime, Array.isArray(children), "children must be an array");
      stack.push(...(children as unknown[]));
    }
  }
}

/** Throws a {@link PayloadError} unless `value` is a timeline payload this code renders. */
export function checkTimelinePayload(value: unknown): asserts value is TimelinePayload {
  const mime = TIMELINE_MIME;
  need(mime, isObj(value), "payload is not an object");
  const v = value as Obj;
  checkVersion(mime, v, TIMELINE_VERSIONS);
  need(mime, v["unit"] === "ns", 'unit must be "ns"');
  for (const key of ["lanes", "spans", "instants", "arrows"]) {
    need(mime, Array.isArray(v[key]), `${key} must be an array`);
  }
  for (const lane of v["lanes"] as unknown[]) {
    need(mime, isObj(lane) && typeof lane["id"] === "string", "a lane has no id");
  }
  for (const s of v["spans"] as unknown[]) {
    need(
      mime,
      isObj(s) && typeof s["start"] === "number" && typeof s["end"] === "number",
      "a span has no numeric start and end",
    );
  }
}

/** Throws a {@link PayloadError} unless `value` is a plot payload this code renders. */
export function checkPlotPayload(value: unknown): asserts value is PlotPayload {
  const mime = PLOT_MIME;
  need(mime, isObj(value), "payload is not an object");
  const v = value as Obj;
  checkVersion(mime, v, PLOT_VERSIONS);
  need(mime, Array.isArray(v["data"]), "data must be an array of traces");
  need(mime, isObj(v["layout"]), "layout must be an object");
  for (const t of v["data"] as unknown[]) need(mime, isObj(t), "a trace is not an object");
}

/** Structural guesses used by toMimeBundle: does this look like a payload of that kind (even a
 * wrong-version one, which then fails loudly in its check)? */
export function looksLikePageTables(v: unknown): boolean {
  return isObj(v) && "version" in v && "root" in v && "levels" in v && "mm" in v;
}

export function looksLikeTimeline(v: unknown): boolean {
  return isObj(v) && "version" in v && "lanes" in v && "spans" in v && v["unit"] === "ns";
}

export function looksLikePlot(v: unknown): boolean {
  return isObj(v) && "version" in v && Array.isArray(v["data"]) && isObj(v["layout"]);
}
