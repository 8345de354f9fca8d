/**
 * Checks that a value is a payload of one of the three MIME contracts before it is rendered or
 * published. Errors name the MIME type, the version received and the versions supported (the
 * contract's rule for consumers), or the first field that is wrong.
 *
 * Every check first walks the whole value once, without recursion ({@link checkJsonTree}): a
 * payload must be a JSON tree — plain objects and arrays, strings, booleans, null and finite
 * numbers — at most {@link MAX_PAYLOAD_DEPTH} deep and {@link MAX_PAYLOAD_VALUES} values large,
 * with no object inside itself. So a cycle, NaN, a stack-deep chain or a value JSON cannot carry
 * is a PayloadError here rather than a hang, a RangeError or a silent `null` later. (An object
 * shared by two parents is fine, as it is for JSON.stringify, and counts each time it appears.) lab-extension/src/payload.ts checks the same limits on the browser side.
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

/** Deepest nesting of objects and arrays in a payload (a 5-level page-table tree is about 16). */
export const MAX_PAYLOAD_DEPTH = 64;
/** Most JSON values (objects, arrays and primitives) in one payload: room for the renderers'
 * 2,000,000 page-table nodes, and a bound on the time and memory a check and a render take. */
export const MAX_PAYLOAD_VALUES = 2 ** 25;

/** One object or array being walked, with the key it sits under in its parent. */
interface Frame {
  readonly node: object;
  readonly keys: readonly string[] | null;
  readonly key: string | number | null;
  next: number;
}

function pathOf(frames: readonly Frame[], last: string | number | null): string {
  let path = "";
  for (const k of [...frames.map((f) => f.key), last])
    if (k !== null) path += typeof k === "number" ? `[${k}]` : path === "" ? k : `.${k}`;
  return path === "" ? "the payload" : path;
}

/**
 * Checks that `value` is finite JSON within the payload limits; iterative, so a deep or cyclic
 * value cannot overflow the stack or loop. Throws a {@link PayloadError} naming the path.
 */
export function checkJsonTree(mime: string, value: unknown): void {
  const onPath = new Set<object>();
  const frames: Frame[] = [];
  let count = 0;
  const fail = (key: string | number | null, problem: string): never => {
    throw new PayloadError(mime, `${pathOf(frames, key)} ${problem}`);
  };
  /** Checks a primitive, or opens an object or array (pushes its frame). */
  const visit = (v: unknown, key: string | number | null, inArray: boolean): void => {
    if (++count > MAX_PAYLOAD_VALUES)
      throw new PayloadError(mime, `more than ${MAX_PAYLOAD_VALUES} values`);
    const t = typeof v;
    if (t === "string" || t === "boolean") return;
    if (t === "number") {
      if (!Number.isFinite(v)) fail(key, `is ${String(v)}; numbers must be finite`);
      return;
    }
    if (t === "undefined") {
      // an absent optional field; in an array JSON would turn it into null
      if (inArray) fail(key, "is undefined, which JSON cannot hold");
      return;
    }
    if (t !== "object") return fail(key, `is a ${t}, which JSON cannot hold`);
    if (v === null) return;
    const o = v as object;
    if (onPath.has(o)) fail(key, "contains itself (a cycle); JSON cannot hold it");
    const array = Array.isArray(o);
    if (!array) {
      const proto: unknown = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) fail(key, "is not a plain object or array");
    }
    if (frames.length >= MAX_PAYLOAD_DEPTH)
      fail(key, `is nested more than ${MAX_PAYLOAD_DEPTH} deep`);
    onPath.add(o);
    frames.push({ node: o, keys: array ? null : Object.keys(o), key, next: 0 });
  };
  try {
    visit(value, null, false);
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      const keys = f.keys;
      if (keys === null) {
        const a = f.node as unknown[];
        if (f.next < a.length) {
          const i = f.next++;
          visit(a[i], i, true);
          continue;
        }
      } else if (f.next < keys.length) {
        const k = keys[f.next++]!;
        visit((f.node as Obj)[k], k, false);
        continue;
      }
      frames.pop();
      onPath.delete(f.node);
    }
  } catch (e) {
    if (e instanceof PayloadError) throw e;
    // a getter or proxy that throws: the value cannot be read as JSON
    const why = e instanceof Error ? e.message : String(e);
    throw new PayloadError(mime, `the payload cannot be read (${why})`);
  }
}

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
  checkJsonTree(mime, value);
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
  checkJsonTree(mime, value);
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
  checkJsonTree(mime, value);
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
