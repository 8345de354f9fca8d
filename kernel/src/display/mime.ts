/**
 * Value → MIME bundle: what `display(x)` shows and what a cell's last expression becomes.
 *
 * ## Extension point
 *
 * A value gets a rich bundle in one of three ways, tried in this order:
 *
 * 1. **It knows its own display**: it has a method under the {@link MMULAB_MIME} symbol, or a
 *    method named `mmulabMime`, returning a {@link MimeBundle}. Classes of the simulator implement
 *    this when they own their picture.
 * 2. **An adapter recognises it**: `registerMimeAdapter({ name, test, toBundle })`. Use this for
 *    types that should not depend on the display layer. The most recently registered adapter wins.
 * 3. **It is one of the library's results** that has a picture: a race matrix, the seed's
 *    kernbench table, a simulation's trace (a timeline).
 * 4. **It is a payload** of one of the three contracts (page tables, timeline, plot), recognised
 *    by shape and validated against its version.
 *
 * Anything else becomes `text/plain` through `util.inspect`, as the Node REPL prints it.
 */
import { inspect } from "node:util";
import type { PageTablePayload, PlotPayload, TimelinePayload } from "../contract/mime.js";
import type { SeedTable } from "../experiments/kernbench-table.js";
import type { RaceMatrix } from "../experiments/race-matrix.js";
import { Trace } from "../sim/trace.js";
import { looksLikePageTables, looksLikePlot, looksLikeTimeline } from "../contract/payload.js";
import { pageTablesBundle } from "./pagetable.js";
import { plotBundle } from "./plot.js";
import { isRaceMatrix, raceMatrixBundle } from "./race-matrix.js";
import type { MimeBundle } from "./runtime.js";
import { isSeedTable, seedTableBundle } from "./seed-table.js";
import { MMULAB_MIME } from "./symbols.js";
import { timelineBundle } from "./timeline.js";
import { traceBundle } from "./trace.js";

export { isQuietResult, MMULAB_MIME, QUIET_RESULT, type MimeDisplayable } from "./symbols.js";

/** Turns values of one kind into bundles; see the module comment. */
export interface MimeAdapter<T = unknown> {
  /** For error messages: "race matrix", "kernbench table", … */
  readonly name: string;
  test(value: unknown): value is T;
  toBundle(value: T): MimeBundle;
}

const ADAPTERS_KEY = Symbol.for("mmulab.display.adapters");

function adapters(): MimeAdapter[] {
  const g = globalThis as { [ADAPTERS_KEY]?: MimeAdapter[] };
  return (g[ADAPTERS_KEY] ??= []);
}

/**
 * Registers an adapter; later registrations are tried first. Returns a function that removes it.
 */
export function registerMimeAdapter<T>(adapter: MimeAdapter<T>): () => void {
  const list = adapters();
  list.unshift(adapter);
  return () => {
    const i = list.indexOf(adapter);
    if (i >= 0) list.splice(i, 1);
  };
}

/** The library's results that have a picture, then the payload contracts: last in line. */
const BUILT_IN: readonly MimeAdapter[] = [
  {
    name: "race matrix",
    test: (v): v is RaceMatrix => isRaceMatrix(v),
    toBundle: raceMatrixBundle,
  },
  {
    name: "kernbench seed table",
    test: (v): v is SeedTable => isSeedTable(v),
    toBundle: seedTableBundle,
  },
  { name: "trace", test: (v): v is Trace => v instanceof Trace, toBundle: traceBundle },
  {
    name: "page-table payload",
    test: (v): v is PageTablePayload => looksLikePageTables(v),
    toBundle: pageTablesBundle,
  },
  {
    name: "timeline payload",
    test: (v): v is TimelinePayload => looksLikeTimeline(v),
    toBundle: timelineBundle,
  },
  {
    name: "plot payload",
    test: (v): v is PlotPayload => looksLikePlot(v),
    toBundle: plotBundle,
  },
];

/** `util.inspect` as the Node REPL uses it, bounded for notebook output. */
export function plainText(value: unknown): string {
  return inspect(value, {
    depth: 4,
    maxArrayLength: 100,
    maxStringLength: 20_000,
    breakLength: 100,
  });
}

function callable(value: unknown, key: PropertyKey): (() => unknown) | null {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return null;
  const f = (value as Record<PropertyKey, unknown>)[key];
  return typeof f === "function" ? (f as () => unknown).bind(value) : null;
}

/** Checks a bundle an object or adapter produced; adds `text/plain` when it is missing. */
function finish(bundle: unknown, value: unknown, source: string): MimeBundle {
  if (bundle === null || typeof bundle !== "object" || Array.isArray(bundle)) {
    throw new TypeError(`${source} returned ${plainText(bundle)}; expected a MIME bundle object`);
  }
  const b = bundle as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!/^[\w\-+.]+\/[\w\-+.]+$/.test(key)) {
      throw new TypeError(
        `${source} returned a bundle with key ${JSON.stringify(key)}; expected MIME types`,
      );
    }
  }
  if (typeof b["text/plain"] !== "string")
    return { ...(b as MimeBundle), "text/plain": plainText(value) };
  return b as MimeBundle;
}

/** The bundle for any value; see the module comment for the order of the rules. */
export function toMimeBundle(value: unknown): MimeBundle {
  const own = callable(value, MMULAB_MIME) ?? callable(value, "mmulabMime");
  if (own !== null) return finish(own(), value, "the value's mmulabMime method");
  for (const adapter of [...adapters(), ...BUILT_IN]) {
    if (adapter.test(value))
      return finish(adapter.toBundle(value), value, `the ${adapter.name} adapter`);
  }
  return { "text/plain": plainText(value) };
}
