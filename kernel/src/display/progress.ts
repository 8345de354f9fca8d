/**
 * Progress displays for long runs: one `display_data` with a display id, then
 * `update_display_data` replacing it in place, at most every `minIntervalMs` (10 Hz by default,
 * so a tight loop does not flood the front end). The bundle has `text/plain` as well as
 * `text/html`, because display ids are transient and a saved notebook keeps only the last state.
 * Outside the kernel the same bar is redrawn in place on stderr when that is a terminal (the
 * CLI), and nothing is written when it is not (pipes, logs, tests).
 *
 * The state shown is always the last one reported: `finish()` keeps it (a cancelled sweep ends
 * at the rows it finished, not at 100 %) unless given the final count. Loading this module
 * installs it as the sink of sim/progress.ts, which the experiments below report to.
 *
 * `runWithProgress` runs a simulation in chunks of events with such a display, and stops cleanly
 * at an event boundary when the cell is interrupted: it polls the kernel's interrupt flag between
 * chunks, which another thread sets, so this works although the loop never yields.
 */
import type { JsonObject } from "../contract/mime.js";
import { checkInt, ParameterError, SimulationStopped } from "../sim/errors.js";
import { setProgressFactory } from "../sim/progress.js";
import type { RunResult } from "../sim/simulation.js";
import { displayBundle, newDisplayId } from "./display.js";
import { QUIET_RESULT } from "./mime.js";
import { interruptRequested, notebookRuntime, type MimeBundle } from "./runtime.js";
import { esc, formatNs, trim } from "./svg.js";

export interface ProgressOptions {
  /** Shown before the bar. */
  readonly label?: string;
  /** Least time between two updates, ms (default 100: 10 Hz). */
  readonly minIntervalMs?: number;
  /** How `done` and `total` read in the text, e.g. formatNs for simulated time. */
  readonly format?: (n: number) => string;
  /** Outside the kernel: where to draw the bar (default: stderr when it is a terminal, else
   * nowhere). */
  readonly stream?: TerminalStream | null;
}

/** What the terminal bar needs of a stream (process.stderr has it). */
export interface TerminalStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Call with the amount done so far (0 … total). */
export interface ProgressUpdater {
  (done: number, note?: string): void;
  readonly total: number;
  readonly displayId: string;
  /** Shows the final state now, unthrottled: `done` (default: the last reported) and a note.
   * Later calls are ignored. */
  finish(note?: string, done?: number): void;
}

const BAR = 24;

/** The bundle of one progress state. */
export function progressBundle(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  note: string,
  format: (n: number) => string = trim,
): MimeBundle {
  const frac = total > 0 ? Math.min(Math.max(done / total, 0), 1) : 0;
  const pct = Math.floor(frac * 100);
  const filled = Math.round(frac * BAR);
  const time = `${trim(elapsedMs / 1000)} s`;
  const counts = `${format(done)} / ${format(total)}`;
  const head = label === "" ? "" : `${label} `;
  const tail = note === "" ? "" : ` — ${note}`;
  return {
    "text/plain": `${head}[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${pct}% (${counts}) ${time}${tail}`,
    "text/html":
      `<div class="mmulab-progress" style="font-family:monospace;font-size:12px">` +
      (label === "" ? "" : `<span>${esc(label)}</span> `) +
      `<progress max="1000" value="${Math.round(frac * 1000)}" style="width:240px;vertical-align:middle"></progress>` +
      ` <span>${pct}% (${esc(counts)}) ${esc(time)}${esc(tail)}</span></div>`,
  };
}

/** One terminal line of a progress state, at most `width` characters: the bar and the counts
 * always show; the label and the note are cut to fit. */
export function progressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  note: string,
  format: (n: number) => string,
  width: number,
): string {
  const core = progressBundle("", done, total, elapsedMs, "", format)["text/plain"];
  const cut = (t: string, room: number) =>
    t.length <= room ? t : room <= 1 ? "" : `${t.slice(0, room - 1)}…`;
  const label2 = cut(label, Math.max(0, width - core.length - 1));
  const head = label2 === "" ? "" : `${label2} `;
  const room = width - head.length - core.length;
  const tail = note === "" || room < 6 ? "" : ` — ${cut(note, room - 3)}`;
  return `${head}${core}${tail}`;
}

/**
 * A progress display for `total` units of work; returns the updater. Outside the kernel the
 * updater does nothing.
 */
export function progress(total: number, options: ProgressOptions = {}): ProgressUpdater {
  if (typeof total !== "number" || !Number.isFinite(total) || total <= 0) {
    throw new ParameterError("total", total, "a positive finite number", "progress");
  }
  const label = options.label ?? "";
  const minInterval = options.minIntervalMs ?? 100;
  const format = options.format ?? trim;
  const displayId = newDisplayId();
  const started = Date.now();
  const live = notebookRuntime() !== null;
  const terminal = live ? null : terminalOf(options.stream);
  let shown = false;
  let finished = false;
  let lastSent = 0;
  let lastDone = 0;
  let lastNote = "";
  let pending: { done: number; note: string } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const send = (done: number, note: string, final = false) => {
    pending = null;
    lastSent = Date.now();
    const bundle = progressBundle(label, done, total, lastSent - started, note, format);
    if (terminal !== null) {
      // one line, redrawn in place; cut to the terminal's width so it never wraps
      const width = Math.max(40, (terminal.columns || 80) - 1);
      const line = progressLine(label, done, total, lastSent - started, note, format, width);
      terminal.write(`\r${line.padEnd(Math.min(width, shownWidth))}${final ? "\n" : ""}`);
      shownWidth = line.length;
      shown = true;
      return;
    }
    if (!shown) {
      displayBundle(bundle, { displayId });
      shown = true;
    } else {
      notebookRuntime()?.displayData(bundle, {} satisfies JsonObject, displayId, true);
    }
  };
  let shownWidth = 0;
  const visible = live || terminal !== null;

  const update = ((done: number, note = "") => {
    if (finished) return;
    lastDone = done;
    lastNote = note;
    if (!visible) return;
    const now = Date.now();
    if (!shown || now - lastSent >= minInterval || done >= total) {
      send(done, note);
      return;
    }
    pending = { done, note };
    // A trailing update for code that awaits between calls; a synchronous loop never lets it
    // fire, and finish() supersedes it.
    timer ??= setTimeout(
      () => {
        timer = null;
        if (pending !== null && !finished) send(pending.done, pending.note);
      },
      Math.max(minInterval - (now - lastSent), 0),
    );
    timer.unref?.();
  }) as ProgressUpdater;

  Object.defineProperties(update, {
    [QUIET_RESULT]: { value: true },
    total: { value: total, enumerable: true },
    displayId: { value: displayId, enumerable: true },
    finish: {
      value: (note?: string, done?: number) => {
        if (finished) return;
        if (timer !== null) clearTimeout(timer);
        if (visible) send(done ?? lastDone, note ?? lastNote, true);
        finished = true;
      },
    },
  });
  return update;
}

function terminalOf(stream: TerminalStream | null | undefined): TerminalStream | null {
  if (stream === null) return null;
  if (stream !== undefined) return stream;
  return process.stderr.isTTY ? process.stderr : null;
}

// The experiments (race matrix, kernbench) report through sim/progress.ts: show them here.
setProgressFactory((total, o) =>
  progress(total, { label: o.label, ...(o.format === undefined ? {} : { format: o.format }) }),
);

/** The part of `Simulation` that {@link runWithProgress} drives. */
export interface Runnable {
  readonly now: number;
  run(options: { until?: number; maxEvents?: number }): RunResult;
}

export interface RunWithProgressOptions {
  /** Run until this simulated time, ns (the bar counts time). */
  readonly until?: number;
  /** Or until this many events have fired (the bar counts events). */
  readonly maxEvents?: number;
  /** Events per chunk between progress updates and interrupt checks (default 20 000). */
  readonly chunkEvents?: number;
  readonly label?: string;
}

/**
 * Runs `sim` like `sim.run({ until, maxEvents })`, in chunks, with a progress display. When the
 * cell is interrupted it stops between two events and throws {@link SimulationStopped}; the
 * simulation stays consistent and can be run further.
 */
export function runWithProgress(sim: Runnable, options: RunWithProgressOptions): RunResult {
  const context = "runWithProgress";
  if (options === null || typeof options !== "object")
    throw new ParameterError("options", options, "an object with until (ns) or maxEvents", context);
  const { until, maxEvents } = options;
  if (until === undefined && maxEvents === undefined) {
    throw new ParameterError("options", options, "an object with until (ns) or maxEvents", context);
  }
  if (until !== undefined) checkInt("until", until, sim.now, Number.MAX_SAFE_INTEGER, context);
  if (maxEvents !== undefined)
    checkInt("maxEvents", maxEvents, 1, Number.MAX_SAFE_INTEGER, context);
  const chunk = checkInt("chunkEvents", options.chunkEvents ?? 20_000, 1, 1e9, context);
  const start = sim.now;
  const byTime = until !== undefined;
  const total = byTime ? Math.max(until - start, 1) : (maxEvents as number);
  const bar = progress(total, {
    label: options.label ?? "simulating",
    format: byTime ? formatNs : trim,
  });
  let events = 0;
  let last: RunResult;
  for (;;) {
    if (interruptRequested()) {
      bar.finish(`interrupted at ${formatNs(sim.now)}`);
      throw new SimulationStopped(
        `interrupted at t = ${formatNs(sim.now)} after ${events} events; the simulation is ` +
          `consistent and can be run further`,
      );
    }
    const budget = maxEvents === undefined ? chunk : Math.min(chunk, maxEvents - events);
    try {
      last = sim.run({ ...(until !== undefined ? { until } : {}), maxEvents: budget });
    } catch (e) {
      // the engine saw the interrupt itself, between two events of this chunk
      if (!(e instanceof SimulationStopped) || !interruptRequested()) throw e;
      bar.finish(`interrupted at ${formatNs(sim.now)}`);
      throw new SimulationStopped(
        `interrupted at t = ${formatNs(sim.now)} after about ${events} events; the simulation ` +
          `is consistent and can be run further`,
      );
    }
    events += last.events;
    bar(byTime ? sim.now - start : events);
    const budgetLeft = maxEvents === undefined || events < maxEvents;
    if (last.reason !== "event-budget" || !budgetLeft) break;
  }
  const reason: RunResult["reason"] =
    last.reason === "event-budget" && maxEvents !== undefined && events >= maxEvents
      ? "event-budget"
      : last.reason;
  // the run did what it was asked (reached `until`, or ran out of events or budget): all of it
  bar.finish(`${events} events, t = ${formatNs(sim.now)}`, total);
  return { now: sim.now, events, reason };
}
