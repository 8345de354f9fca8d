/**
 * The one payload validator, shared by both sides of the contract: the kernel checks a payload
 * before it publishes it (display/), the renderers (lab-extension/) check it again before they
 * draw, because a saved notebook can hold anything under an mmulab MIME type. One set of rules, so
 * what one side accepts the other draws. Errors name the MIME type, the version received and the
 * versions supported (the contract's rule for consumers), or the path of the first field that is
 * wrong.
 *
 * Pure: no imports outside contract/, no Node or DOM API, so the renderers' bundle can carry it.
 *
 * Every check first walks the whole value once, without recursion ({@link checkJsonTree}): a
 * payload must be a JSON tree — plain objects and arrays, strings, booleans, null and finite
 * numbers — at most {@link MAX_PAYLOAD_DEPTH} deep and {@link MAX_PAYLOAD_VALUES} values large,
 * with no object inside itself. So a cycle, NaN, a stack-deep chain or a value JSON cannot carry
 * is a PayloadError here rather than a hang, a RangeError or a silent `null` later. (An object
 * shared by two parents is fine, as it is for JSON.stringify, and counts each time it appears.)
 */
import {
  PAGETABLE_MIME,
  PAGETABLE_VERSIONS,
  PLOT_MIME,
  PLOT_VERSIONS,
  TIMELINE_MIME,
  TIMELINE_VERSIONS,
  type PageState,
  type PageTableLevel,
  type PageTablePayload,
  type PlotPayload,
  type TimelinePayload,
  type TimelineInstantKind,
  type TimelineSpanKind,
} from "./mime.js";

/** A value that does not satisfy a MIME contract; the message is meant for the notebook user. */
export class PayloadError extends TypeError {
  readonly mimeType: string;
  constructor(mimeType: string, problem: string) {
    super(`${mimeType}: ${problem}`);
    this.name = "PayloadError";
    this.mimeType = mimeType;
  }
}

type Obj = Record<string, unknown>;

/** A short, printable rendering of any value for error messages (never markup). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  if (value === null) return "null";
  if (typeof value === "function") return `a function ${value.name || "(anonymous)"}`;
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

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

/**
 * Checks `version` first, before anything else, so an unknown version is reported as such rather
 * than as whatever field happens to differ; then the whole value as JSON ({@link checkJsonTree}).
 * Returns the payload as a record for the field checks.
 */
export function checkVersion(mime: string, value: unknown, supported: readonly number[]): Obj {
  if (!isObj(value))
    throw new PayloadError(mime, `expected a JSON object, got ${describeValue(value)}`);
  const version = value["version"];
  if (typeof version !== "number" || !supported.includes(version)) {
    const got = version === undefined ? "no version field" : `version ${describeValue(version)}`;
    throw new PayloadError(
      mime,
      `unsupported payload: ${got}; supported: version ${supported.join(", ")}. ` +
        "Update the mmulab lab extension or the kernel so that they match.",
    );
  }
  checkJsonTree(mime, value);
  return value;
}

/**
 * Field readers, each throwing a PayloadError that names the field's path, what it expected and
 * what it got. The renderers use `fail` for their own drawing limits (most nodes, spans, frames).
 */
export class Fields {
  constructor(readonly mime: string) {}

  fail(path: string, expected: string, got: unknown): never {
    throw new PayloadError(this.mime, `${path}: expected ${expected}, got ${describeValue(got)}`);
  }

  object(v: unknown, path: string): Obj {
    if (!isObj(v)) this.fail(path, "an object", v);
    return v;
  }

  array(v: unknown, path: string): readonly unknown[] {
    if (!Array.isArray(v)) this.fail(path, "an array", v);
    return v as readonly unknown[];
  }

  optionalArray(v: unknown, path: string): readonly unknown[] {
    return v === undefined ? [] : this.array(v, path);
  }

  string(v: unknown, path: string): string {
    if (typeof v !== "string") this.fail(path, "a string", v);
    return v;
  }

  optionalString(v: unknown, path: string): string | undefined {
    return v === undefined ? undefined : this.string(v, path);
  }

  /** Finite: checkJsonTree has seen to that. */
  number(v: unknown, path: string): number {
    if (typeof v !== "number") this.fail(path, "a finite number", v);
    return v;
  }

  count(v: unknown, path: string): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      this.fail(path, "a non-negative integer below 2^53", v);
    return v;
  }

  oneOf<T>(v: unknown, allowed: readonly T[], path: string): T {
    if (!allowed.includes(v as T)) this.fail(path, `one of ${allowed.join(", ")}`, v);
    return v as T;
  }
}

export const PAGETABLE_LEVELS: readonly PageTableLevel[] = [
  "pgd",
  "p4d",
  "pud",
  "pmd",
  "pte",
  "page",
];
export const PAGE_STATES: readonly PageState[] = [
  "live",
  "unlinked",
  "pending-rcu",
  "freed",
  "reused",
];
/** Span kinds in the order the timeline stacks them inside a lane. */
export const TIMELINE_SPAN_KINDS: readonly TimelineSpanKind[] = [
  "irq-off",
  "preempted",
  "gup-walk",
  "flush-wait",
  "ipi-handler",
  "hypercall",
  "grace-period",
  "rcu-callback",
  "other",
];

/** Instant kinds the validator accepts. */
export const TIMELINE_INSTANT_KINDS: readonly TimelineInstantKind[] = ["uaf", "marker"];

/** Throws a {@link PayloadError} unless `value` is a page-table payload this code renders. */
export function checkPageTablePayload(value: unknown): asserts value is PageTablePayload {
  const v = checkVersion(PAGETABLE_MIME, value, PAGETABLE_VERSIONS);
  const f = new Fields(PAGETABLE_MIME);
  f.optionalString(v["title"], "title");
  f.count(v["mm"], "mm");
  f.oneOf(v["levels"], [4, 5], "levels");
  f.optionalArray(v["walkerPath"], "walkerPath").forEach((x, i) => f.count(x, `walkerPath[${i}]`));
  // iterative: checkJsonTree bounds the depth, this bounds nothing else
  const stack: [unknown, string][] = [[v["root"], "root"]];
  f.optionalArray(v["detached"], "detached").forEach((d, i) => stack.push([d, `detached[${i}]`]));
  while (stack.length > 0) {
    const [n, p] = stack.pop()!;
    const o = f.object(n, p);
    f.oneOf(o["level"], PAGETABLE_LEVELS, `${p}.level`);
    f.count(o["index"], `${p}.index`);
    f.count(o["frame"], `${p}.frame`);
    f.number(o["va"], `${p}.va`);
    f.oneOf(o["state"], PAGE_STATES, `${p}.state`);
    f.count(o["entries"], `${p}.entries`);
    if (o["huge"] !== undefined && typeof o["huge"] !== "boolean")
      f.fail(`${p}.huge`, "true or false", o["huge"]);
    f.optionalArray(o["history"], `${p}.history`).forEach((h, i) => {
      const hp = `${p}.history[${i}]`;
      const ho = f.object(h, hp);
      f.number(ho["t"], `${hp}.t`);
      f.string(ho["what"], `${hp}.what`);
      f.optionalString(ho["by"], `${hp}.by`);
    });
    f.optionalArray(o["cachedBy"], `${p}.cachedBy`).forEach((c, i) =>
      f.count(c, `${p}.cachedBy[${i}]`),
    );
    const kids = f.optionalArray(o["children"], `${p}.children`);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], `${p}.children[${i}]`]);
  }
}

/** Throws a {@link PayloadError} unless `value` is a timeline payload this code renders. */
export function checkTimelinePayload(value: unknown): asserts value is TimelinePayload {
  const v = checkVersion(TIMELINE_MIME, value, TIMELINE_VERSIONS);
  const f = new Fields(TIMELINE_MIME);
  f.optionalString(v["title"], "title");
  f.oneOf(v["unit"], ["ns"], "unit");
  const ids = new Set<string>();
  f.array(v["lanes"], "lanes").forEach((l, i) => {
    const o = f.object(l, `lanes[${i}]`);
    const id = f.string(o["id"], `lanes[${i}].id`);
    f.string(o["label"], `lanes[${i}].label`);
    if (ids.has(id)) f.fail(`lanes[${i}].id`, "a lane id not used before", id);
    ids.add(id);
  });
  const lane = (x: unknown, path: string): void => {
    if (!ids.has(f.string(x, path)))
      f.fail(path, `the id of a lane (${[...ids].slice(0, 8).join(", ")})`, x);
  };
  const args = (x: unknown, path: string): void => {
    if (x === undefined) return;
    for (const [k, a] of Object.entries(f.object(x, path)))
      if (a !== null && typeof a === "object")
        f.fail(`${path}.${k}`, "a string, number, boolean or null", a);
  };
  f.array(v["spans"], "spans").forEach((s, i) => {
    const p = `spans[${i}]`;
    const o = f.object(s, p);
    lane(o["lane"], `${p}.lane`);
    const start = f.number(o["start"], `${p}.start`);
    if (f.number(o["end"], `${p}.end`) < start)
      f.fail(`${p}.end`, `a time at or after start (${start})`, o["end"]);
    f.oneOf(o["kind"], TIMELINE_SPAN_KINDS, `${p}.kind`);
    f.string(o["label"], `${p}.label`);
    args(o["args"], `${p}.args`);
  });
  f.array(v["instants"], "instants").forEach((s, i) => {
    const p = `instants[${i}]`;
    const o = f.object(s, p);
    lane(o["lane"], `${p}.lane`);
    f.number(o["t"], `${p}.t`);
    f.oneOf(o["kind"], TIMELINE_INSTANT_KINDS, `${p}.kind`);
    f.string(o["label"], `${p}.label`);
    args(o["args"], `${p}.args`);
  });
  f.array(v["arrows"], "arrows").forEach((s, i) => {
    const p = `arrows[${i}]`;
    const o = f.object(s, p);
    lane(o["fromLane"], `${p}.fromLane`);
    f.number(o["fromT"], `${p}.fromT`);
    lane(o["toLane"], `${p}.toLane`);
    f.number(o["toT"], `${p}.toT`);
    f.oneOf(o["kind"], ["ipi"], `${p}.kind`);
    f.string(o["label"], `${p}.label`);
  });
  checkTimelineReduction(f, v, lane);
}

/** Most buckets an overview may have (a wide screen is a few thousand pixels). */
export const MAX_OVERVIEW_BUCKETS = 20_000;

/** The optional reduced form: `overview`, `detail` and `source` come together. */
function checkTimelineReduction(f: Fields, v: Obj, lane: (x: unknown, path: string) => void): void {
  const present = ["overview", "detail", "source"].filter((k) => v[k] !== undefined);
  if (present.length === 0) return;
  if (v["overview"] === undefined || v["detail"] === undefined)
    f.fail("overview", "overview and detail together (a reduced timeline)", v["overview"]);
  const d = f.object(v["detail"], "detail");
  const { from: lo, to: hi } = d;
  // template literals: the layering test reads the word followed by a quote as an import
  const start = f.number(lo, `detail.from`);
  if (f.number(hi, `detail.to`) < start)
    f.fail(`detail.to`, `a time at or after detail.from (${start})`, hi);
  if (v["source"] !== undefined) {
    const id = f.string(v["source"], "source");
    if (id.length === 0 || id.length > 200)
      f.fail("source", "a non-empty string of at most 200 characters", id);
  }
  checkTimelineOverview(f, v["overview"], "overview", lane);
}

/** Checks an overview (a payload's, or a window's in a `mmulab.timeline` answer). */
export function checkTimelineOverview(
  f: Fields,
  x: unknown,
  path: string,
  lane: (x: unknown, path: string) => void,
): void {
  const o = f.object(x, path);
  f.number(o["start"], `${path}.start`);
  if (f.number(o["bucketNs"], `${path}.bucketNs`) <= 0)
    f.fail(`${path}.bucketNs`, "a positive number of ns", o["bucketNs"]);
  const n = f.count(o["buckets"], `${path}.buckets`);
  if (n < 1 || n > MAX_OVERVIEW_BUCKETS)
    f.fail(`${path}.buckets`, `1 to ${MAX_OVERVIEW_BUCKETS} buckets`, n);
  const series = (s: unknown, p: string): void => {
    const a = f.array(s, p);
    if (a.length !== n) f.fail(p, `${n} values, one per bucket`, `${a.length} values`);
    for (let i = 0; i < a.length; i++) if (typeof a[i] !== "number") f.number(a[i], `${p}[${i}]`);
  };
  f.array(o["rows"], `${path}.rows`).forEach((r, i) => {
    const p = `${path}.rows[${i}]`;
    const ro = f.object(r, p);
    lane(ro["lane"], `${p}.lane`);
    f.oneOf(ro["kind"], TIMELINE_SPAN_KINDS, `${p}.kind`);
    series(ro["busy"], `${p}.busy`);
    series(ro["count"], `${p}.count`);
  });
  series(o["ipis"], `${path}.ipis`);
  const t = f.object(o["totals"], `${path}.totals`);
  for (const k of ["spans", "instants", "arrows"]) f.count(t[k], `${path}.totals.${k}`);
}

/** Throws a {@link PayloadError} unless `value` is a plot payload this code renders. */
export function checkPlotPayload(value: unknown): asserts value is PlotPayload {
  const v = checkVersion(PLOT_MIME, value, PLOT_VERSIONS);
  const f = new Fields(PLOT_MIME);
  f.optionalString(v["title"], "title");
  const traces = (x: unknown, path: string): void => {
    f.array(x, path).forEach((t, i) => f.object(t, `${path}[${i}]`));
  };
  traces(v["data"], "data");
  f.object(v["layout"], "layout");
  if (v["sweep"] === undefined) return;
  const s = f.object(v["sweep"], "sweep");
  const axes = f.array(s["axes"], "sweep.axes").map((a, i) => {
    const p = `sweep.axes[${i}]`;
    const o = f.object(a, p);
    const name = f.string(o["name"], `${p}.name`);
    f.string(o["label"], `${p}.label`);
    const values = f.array(o["values"], `${p}.values`);
    if (values.length === 0) f.fail(`${p}.values`, "at least one value", values);
    values.forEach((x, j) => {
      if (typeof x !== "string") f.number(x, `${p}.values[${j}]`);
    });
    return { name, values };
  });
  if (axes.length === 0) f.fail("sweep.axes", "at least one axis", s["axes"]);
  f.array(s["frames"], "sweep.frames").forEach((fr, i) => {
    const p = `sweep.frames[${i}]`;
    const o = f.object(fr, p);
    const key = f.array(o["key"], `${p}.key`);
    if (key.length !== axes.length) f.fail(`${p}.key`, `${axes.length} values, one per axis`, key);
    key.forEach((k, j) => {
      const axis = axes[j]!;
      if (!axis.values.includes(k)) f.fail(`${p}.key[${j}]`, `a value of axis '${axis.name}'`, k);
    });
    traces(o["data"], `${p}.data`);
  });
  const id = s["id"];
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > 200))
    f.fail("sweep.id", "a non-empty string of at most 200 characters", id);
  if (s["yRange"] !== undefined) f.oneOf(s["yRange"], ["auto", "fixed"], "sweep.yRange");
}

/** Structural guesses used by toMimeBundle: does this look like a payload of that kind (even a
 * wrong-version one, which then fails loudly in its check)? */
export function looksLikePageTables(v: unknown): boolean {
  return isObj(v) && ["version", "root", "levels", "mm"].every((k) => Object.hasOwn(v, k));
}

export function looksLikeTimeline(v: unknown): boolean {
  return (
    isObj(v) &&
    ["version", "lanes", "spans"].every((k) => Object.hasOwn(v, k)) &&
    v["unit"] === "ns"
  );
}

export function looksLikePlot(v: unknown): boolean {
  return isObj(v) && Object.hasOwn(v, "version") && Array.isArray(v["data"]) && isObj(v["layout"]);
}
