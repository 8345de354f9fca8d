/**
 * Run functions written in a notebook, swept on worker threads. A function cannot cross a thread
 * boundary (structured clone refuses it), and a worker thread does not have the notebook's cells,
 * so {@link defineRunFunction} keeps the function's source text (`Function.prototype.toString`,
 * which for a cell is the JavaScript tslab compiled it to) and every chunk of tasks carries it
 * (wire.ts); a worker compiles it once per name and source and registers it in its own registry.
 *
 * The rules that follow, checked where they can be:
 * - the function must be self-contained: it sees its parameters, its seed and the library (the
 *   third argument, {@link RUN_LIBRARY}), and JavaScript's globals; not the notebook's variables
 *   or imports (a name from the cell is a ReferenceError on the worker, reported on the row with
 *   this rule). Values it needs go in the sweep's `fixed` parameters.
 * - it must be a function or arrow function expression, or a method (`run(p, s) { … }`); a bound
 *   or native function has no source and is refused.
 * - it runs synchronously and returns named numbers, as a built-in run function does.
 * So that a sweep gives the same rows on any number of threads, the function this thread runs
 * (workers: 0) is compiled from the same source, not the original closure.
 *
 * A distributed sweep (distributed.ts) does not carry sources: its workers resolve names from
 * their own registry.
 */
import { ParameterError } from "../sim/errors.js";
import { RUN_LIBRARY, type RunLibrary } from "./library.js";
import { registerRunFunction, type Metrics, type RunFunction } from "./run-functions.js";
import type { Params } from "./space.js";

/** A run function as a notebook writes it: its library comes as the third argument. */
export type SourceRunFunction = (params: Params, seed: number, library: RunLibrary) => Metrics;

/** Longest source accepted (a run function, not a program). */
export const MAX_RUN_SOURCE = 200_000;

const CTX = "defineRunFunction";

/** Sources of the run functions defined here, by name (this thread's; a worker's, once used). */
const SOURCES = new Map<string, string>();

/** Compiles a function's source on its own, as a worker will; null when it does not compile. */
function compile(source: string): ((...args: unknown[]) => unknown) | null {
  const attempts = [
    `"use strict";\nreturn (${source}\n);`,
    // a method: `name(p, s) { … }` is not an expression on its own
    `"use strict";\nconst o = {${source}\n};\nreturn o[Object.keys(o)[0]];`,
  ];
  for (const body of attempts) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiling a run function's source is the point
      const f = new Function(body) as () => unknown;
      const fn = f();
      if (typeof fn === "function") return fn as (...args: unknown[]) => unknown;
    } catch {
      // next form
    }
  }
  return null;
}

function fromSource(name: string, source: string): RunFunction {
  const fn = compile(source);
  if (fn === null)
    throw new ParameterError(
      "fn",
      source.slice(0, 80),
      "a function whose source compiles on its own (a function or arrow expression, or a method; " +
        "not a bound or native function)",
      `${CTX} "${name}"`,
    );
  return (params, seed) => fn(params, seed, RUN_LIBRARY) as Metrics;
}

/**
 * Registers `fn` under `name` for sweeps on this thread and on worker threads (see the module
 * comment for how it gets there and what it may use). `metrics`: the names it always returns,
 * if fixed. Returns the name.
 */
export function defineRunFunction(
  name: string,
  fn: SourceRunFunction,
  metrics?: readonly string[],
): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(name))
    throw new ParameterError("name", name, "1 … 100 letters, digits, '.', '_', ':' or '-'", CTX);
  if (typeof fn !== "function")
    throw new ParameterError("fn", fn, "a function (params, seed, library) => metrics", CTX);
  const source = Function.prototype.toString.call(fn);
  if (source.length > MAX_RUN_SOURCE)
    throw new ParameterError(
      "fn",
      `${source.length} characters`,
      `a source of at most ${MAX_RUN_SOURCE}`,
      CTX,
    );
  registerRunFunction(name, fromSource(name, source), metrics);
  SOURCES.set(name, source);
  return name;
}

/** The source a chunk of `name`'s tasks carries to the workers, if it was defined from one. */
export function runFunctionSource(name: string): string | undefined {
  return SOURCES.get(name);
}

/** On a worker: makes sure `name` is the function compiled from `source`. */
export function ensureRunSource(name: string, source: string): void {
  if (SOURCES.get(name) === source) return;
  registerRunFunction(name, fromSource(name, source));
  SOURCES.set(name, source);
}

/** A failed row's error, with the rule a ReferenceError from a function defined from source
 * breaks most likely. */
export function explainSourceError(name: string, error: string): string {
  if (!SOURCES.has(name) || !error.startsWith("ReferenceError")) return error;
  return (
    `${error} (a run function sent to worker threads has only its parameters, its seed and the ` +
    "library argument: pass notebook values as fixed parameters)"
  );
}
