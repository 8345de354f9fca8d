/**
 * How a long experiment reports progress without knowing where it is shown. The race matrix, the
 * kernbench seed table and kernbench's builds (experiments/) sit below the notebook displays and
 * the CLI, so they call {@link startProgress} here, and whoever runs them installs the sink:
 * display/progress.ts installs the notebook's in-place display (and, outside a kernel, a bar on a
 * terminal's stderr) when it loads; the CLI loads it too. Nothing installed: a no-op.
 *
 * Truthful by construction: `done` is what was reported last, and `finish` shows that (not the
 * total) unless told otherwise, so an interrupted run ends at the point it reached.
 *
 * Kept on `globalThis` under a registered symbol, as the interrupt check is (user-interrupt.ts).
 */
import { SimulationStopped } from "./errors.js";

/** Call with the amount done so far (0 … total) and an optional note. */
export interface ProgressSink {
  (done: number, note?: string): void;
  /** Shows the final state: `done` (default: the last reported) and a note. Later calls are
   * ignored. */
  finish(note?: string, done?: number): void;
}

export interface ProgressStart {
  readonly label: string;
  /** How the counts read ("12 / 40 builds"); default plain numbers. */
  readonly format?: (n: number) => string;
}

export type ProgressFactory = (total: number, o: ProgressStart) => ProgressSink;

const KEY = Symbol.for("mmulab.sim.progressFactory");

type Holder = { [KEY]?: ProgressFactory | null };

/** Installs (or, with null, removes) what {@link startProgress} shows progress with. */
export function setProgressFactory(factory: ProgressFactory | null): void {
  (globalThis as Holder)[KEY] = factory;
}

/** The installed factory, or null. */
export function progressFactory(): ProgressFactory | null {
  return (globalThis as Holder)[KEY] ?? null;
}

const noop: ProgressSink = Object.assign(() => undefined, { finish: () => undefined });

/** A progress display for `total` units, wherever the process shows them; a no-op when nothing
 * is installed or `total` is 0. */
export function startProgress(total: number, o: ProgressStart): ProgressSink {
  const f = progressFactory();
  if (f === null || !(total > 0)) return noop;
  return f(total, o);
}

/**
 * Runs `body` with a progress display of `total` units and finishes it truthfully: with `done`'s
 * note on success, and on a throw (an interrupt, a failure) at the last reported point with
 * "interrupted" or the error's message.
 */
export function withProgress<T>(
  total: number,
  o: ProgressStart & { readonly enabled?: boolean },
  body: (report: ProgressSink) => T,
  done: (result: T) => string = () => "",
): T {
  const bar = o.enabled === false ? noop : startProgress(total, o);
  let result: T;
  try {
    result = body(bar);
  } catch (e) {
    bar.finish(stopNote(e));
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r: unknown) => {
        bar.finish(done(r as T));
        return r;
      },
      (e: unknown) => {
        bar.finish(stopNote(e));
        throw e;
      },
    ) as T;
  }
  bar.finish(done(result));
  return result;
}

function stopNote(e: unknown): string {
  if (e instanceof SimulationStopped) return "interrupted";
  return `stopped: ${e instanceof Error ? e.message : String(e)}`.slice(0, 200);
}
