/**
 * Checking untrusted payloads. Saved notebooks can hold anything under an mmulab MIME type, so the
 * renderers check every field they use before drawing and throw a `PayloadError` that names the
 * MIME type, the version and the path of the bad field. The host (JupyterLab's output area) shows
 * a rejected `renderModel` as an error message in place of the output.
 */
import type * as Contract from "@mmulab/kernel/contract";

export const PAGETABLE_MIME =
  "application/vnd.mmulab.pagetable+json" satisfies typeof Contract.PAGETABLE_MIME;
export const TIMELINE_MIME =
  "application/vnd.mmulab.timeline+json" satisfies typeof Contract.TIMELINE_MIME;
export const PLOT_MIME = "application/vnd.mmulab.plot+json" satisfies typeof Contract.PLOT_MIME;

export const PAGETABLE_VERSIONS = [1] as const satisfies typeof Contract.PAGETABLE_VERSIONS;
export const TIMELINE_VERSIONS = [1] as const satisfies typeof Contract.TIMELINE_VERSIONS;
export const PLOT_VERSIONS = [1] as const satisfies typeof Contract.PLOT_VERSIONS;

/** A payload the renderer cannot draw; the message is meant for the notebook user. */
export class PayloadError extends Error {
  constructor(
    readonly mimeType: string,
    message: string,
  ) {
    super(`${mimeType}: ${message}`);
    this.name = "PayloadError";
  }
}

/** A short, printable rendering of any JSON value for error messages (never markup). */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (_error) {
    text = undefined;
  }
  text ??= typeof value === "object" && value !== null ? "an object" : typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Deepest nesting of objects and arrays in a payload; kernel/src/display/validate.ts agrees. */
export const MAX_PAYLOAD_DEPTH = 64;
/** Most JSON values in one payload; kernel/src/display/validate.ts agrees. */
export const MAX_PAYLOAD_VALUES = 2 ** 25;

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
 * Walks the whole payload once, without recursion, before any field is read: JSON values only
 * (`1e999` parses to Infinity, which no renderer can place), finite numbers, no cycle, at most
 * {@link MAX_PAYLOAD_DEPTH} deep and {@link MAX_PAYLOAD_VALUES} values. The same rule as the
 * kernel's `checkJsonTree` (kernel/src/display/validate.ts), so both sides refuse the same
 * payloads; parts the renderers pass on to plotly unread (traces, layout) are covered too.
 */
export function checkJsonTree(mimeType: string, value: unknown): void {
  const onPath = new Set<object>();
  const frames: Frame[] = [];
  let count = 0;
  const fail = (key: string | number | null, problem: string): never => {
    throw new PayloadError(mimeType, `${pathOf(frames, key)} ${problem}`);
  };
  const visit = (v: unknown, key: string | number | null, inArray: boolean): void => {
    if (++count > MAX_PAYLOAD_VALUES)
      throw new PayloadError(mimeType, `more than ${MAX_PAYLOAD_VALUES} values`);
    const t = typeof v;
    if (t === "string" || t === "boolean") return;
    if (t === "number") {
      if (!Number.isFinite(v)) fail(key, `is ${String(v)}; numbers must be finite`);
      return;
    }
    if (t === "undefined") {
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
        visit((f.node as Record<string, unknown>)[k], k, false);
        continue;
      }
      frames.pop();
      onPath.delete(f.node);
    }
  } catch (e) {
    if (e instanceof PayloadError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new PayloadError(mimeType, `the payload cannot be read (${why})`);
  }
}

/**
 * Checks `version` first, before anything else: an unknown version is reported as such rather
 * than as whatever field happens to differ.
 */
export function checkVersion(
  mimeType: string,
  data: unknown,
  supported: readonly number[],
): Record<string, unknown> {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new PayloadError(mimeType, `expected a JSON object, got ${describe(data)}`);
  }
  const record = data as Record<string, unknown>;
  const version = record["version"];
  if (typeof version !== "number" || !supported.includes(version)) {
    const got = version === undefined ? "no version field" : `version ${describe(version)}`;
    throw new PayloadError(
      mimeType,
      `unsupported payload: ${got}; this renderer supports version ${supported.join(", ")}. ` +
        "Update the mmulab lab extension or the kernel so that they match.",
    );
  }
  checkJsonTree(mimeType, record);
  return record;
}

/** Field readers: each throws a PayloadError naming the field's path and what it holds. */
export class Reader {
  constructor(readonly mimeType: string) {}

  fail(path: string, expected: string, got: unknown): never {
    throw new PayloadError(this.mimeType, `${path}: expected ${expected}, got ${describe(got)}`);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(path, "an object", value);
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(path, "an array", value);
    return value as readonly unknown[];
  }

  optionalArray(value: unknown, path: string): readonly unknown[] {
    return value === undefined ? [] : this.array(value, path);
  }

  string(value: unknown, path: string): string {
    if (typeof value !== "string") this.fail(path, "a string", value);
    return value;
  }

  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined ? undefined : this.string(value, path);
  }

  /** A finite number (JSON can spell 1e999, which parses to Infinity). */
  number(value: unknown, path: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      this.fail(path, "a finite number", value);
    }
    return value;
  }

  /** A non-negative integer that a float64 holds exactly (frame numbers, indices, counts). */
  count(value: unknown, path: string): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      this.fail(path, "a non-negative integer below 2^53", value);
    }
    return value;
  }

  oneOf<T extends string | number>(value: unknown, allowed: readonly T[], path: string): T {
    if (!allowed.includes(value as T)) this.fail(path, `one of ${allowed.join(", ")}`, value);
    return value as T;
  }
}

/** Formats nanoseconds for people: "812 ns", "12.5 µs", "3.2 ms", "1.5 s". */
export function formatNs(ns: number): string {
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${trim(ns)} ns`;
  if (abs < 1e6) return `${trim(ns / 1e3)} µs`;
  if (abs < 1e9) return `${trim(ns / 1e6)} ms`;
  return `${trim(ns / 1e9)} s`;
}

function trim(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e6 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/** Hex with 0x, for frame numbers and addresses; exponent form when past 2^64. */
export function hex(n: number): string {
  if (!Number.isFinite(n) || n < 0 || n >= 2 ** 64) return String(n);
  return `0x${Math.floor(n).toString(16)}`;
}

/** Thousands separators, locale-independent so tests and screenshots are stable. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Escapes text for plotly, whose labels accept a small HTML-like markup: show it literally. */
export function plotlyText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** document.createElement with a class and optional text (textContent: never parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
