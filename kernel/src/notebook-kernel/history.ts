/**
 * The kernel's input history, answering `history_request` (tail, range, search) the way ipykernel
 * does, from memory: entries are `[session, line, input]`, or `[session, line, [input, output]]`
 * when output is asked for, where output is the `text/plain` of the cell's result (or null).
 *
 * History lives as long as the kernel process; session number 1 is this process (0 in a request
 * also means the current session, negative numbers count back from it, as in IPython; there are
 * no earlier sessions here).
 */
import type { JsonValue } from "../contract/mime.js";

export const CURRENT_SESSION = 1;

export interface HistoryEntry {
  readonly session: number;
  readonly line: number;
  readonly input: string;
  output: string | null;
}

export type HistoryItem =
  readonly [number, number, string] | readonly [number, number, readonly [string, string | null]];

export interface HistoryQuery {
  readonly hist_access_type: "tail" | "range" | "search";
  readonly output?: boolean;
  readonly raw?: boolean;
  readonly session?: number;
  readonly start?: number;
  readonly stop?: number | null;
  readonly n?: number | null;
  readonly pattern?: string;
  readonly unique?: boolean;
}

/** IPython's glob: `*` any run, `?` one character, `[...]` a set; the pattern must match the
 * whole input. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (set.startsWith("!")) set = `^${set.slice(1)}`;
        re += `[${set}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export class History {
  private readonly entries: HistoryEntry[] = [];

  /** Records a cell; returns the entry so its output can be filled in later. */
  add(line: number, input: string, output: string | null = null): HistoryEntry {
    const e: HistoryEntry = { session: CURRENT_SESSION, line, input, output };
    this.entries.push(e);
    return e;
  }

  get size(): number {
    return this.entries.length;
  }

  private item(e: HistoryEntry, output: boolean): HistoryItem {
    return output ? [e.session, e.line, [e.input, e.output]] : [e.session, e.line, e.input];
  }

  /** Answers a `history_request`. */
  query(q: HistoryQuery): HistoryItem[] {
    const output = q.output ?? false;
    switch (q.hist_access_type) {
      case "tail": {
        const n = q.n ?? 10;
        return this.entries
          .slice(Math.max(this.entries.length - n, 0))
          .map((e) => this.item(e, output));
      }
      case "range": {
        const session = q.session ?? 0;
        const wanted = session <= 0 ? CURRENT_SESSION + session : session;
        if (wanted !== CURRENT_SESSION) return [];
        const start = q.start ?? 0;
        const stop = q.stop ?? Number.POSITIVE_INFINITY;
        return this.entries
          .filter((e) => e.line >= start && e.line < stop)
          .map((e) => this.item(e, output));
      }
      case "search": {
        const re = globToRegExp(q.pattern ?? "*");
        let hits = this.entries.filter((e) => re.test(e.input));
        if (q.unique === true) {
          const seen = new Set<string>();
          const kept: HistoryEntry[] = [];
          for (let i = hits.length - 1; i >= 0; i--) {
            const h = hits[i]!;
            if (seen.has(h.input)) continue;
            seen.add(h.input);
            kept.unshift(h);
          }
          hits = kept;
        }
        const n = q.n ?? null;
        if (n !== null && n >= 0) hits = hits.slice(Math.max(hits.length - n, 0));
        return hits.map((e) => this.item(e, output));
      }
    }
  }
}

/** Parses a `history_request` content into a query (unknown access types give tail). */
export function historyQueryOf(content: { readonly [key: string]: JsonValue }): HistoryQuery {
  const num = (v: JsonValue | undefined): number | undefined =>
    typeof v === "number" && Number.isFinite(v) ? v : undefined;
  const type = content["hist_access_type"];
  const n = num(content["n"]);
  const start = num(content["start"]);
  const stop = num(content["stop"]);
  const session = num(content["session"]);
  return {
    hist_access_type: type === "range" || type === "search" ? type : "tail",
    output: content["output"] === true,
    raw: content["raw"] !== false,
    ...(session !== undefined ? { session } : {}),
    ...(start !== undefined ? { start } : {}),
    ...(stop !== undefined ? { stop } : {}),
    ...(n !== undefined ? { n } : {}),
    ...(typeof content["pattern"] === "string" ? { pattern: content["pattern"] } : {}),
    unique: content["unique"] === true,
  };
}
