/**
 * The CLI's one input layer: every subcommand parses its command line with {@link parseFlags}
 * (`node:util` `parseArgs`, strict) and turns each value into what it needs with the readers
 * below. Whatever a reader refuses becomes a {@link UsageError} naming the option, the value and
 * what it accepts, so `mmulab` exits 2 before any work starts.
 *
 * Rules, the same for every command:
 * - integers are plain decimal (`-3`, `0`, `42`): no `0x10`, `1e3`, `+7`, `7.0` or spaces;
 * - a negative number is a value, not an option: `--seed -1` reads `-1` (and is then refused by
 *   the range, not as "ambiguous");
 * - a single-valued option given twice is an error, not "the last one wins";
 * - lists are comma-separated, without empty or repeated items;
 * - names (profiles, backends, hosts, …) are checked against the known ones, with no aliases;
 * - output paths are checked to be writable before the run, not after it.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { makeDirectory } from "../notebook-kernel/make-dir.js";
import { parseRedisUrl } from "../sweep/distributed.js";
import { ParameterError, UnknownNameError } from "../sim/errors.js";
import { HOST_PRESET_NAMES, MAX_HOST_SPEC_CHARS, parseHostSpec } from "../system/host.js";
import type { CliIO } from "./command.js";
import { UsageError } from "./command.js";

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
/** A `parseArgs` options object. Declare one with `satisfies FlagSpec` to keep literal types. */
export type FlagSpec = NonNullable<ParseArgsOptions>;

/** What {@link parseFlags} returns for the flag spec `O`. */
export type ParsedFlags<O extends FlagSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>
>;

/** Spread into a subcommand's flag spec: every result-printing subcommand accepts `--json`. */
export const jsonFlag = {
  json: { type: "boolean", default: false },
} satisfies FlagSpec;

/** Text for the `--json` line of a usage message. */
export const JSON_FLAG_USAGE = "  --json            print the result as JSON on stdout";

/** A token that is a negative decimal number (`-1`, `-0.5`, `-.5`), so a value, not an option. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Rewrites `--opt -1` and `-o -1` as `--opt=-1` for string options, so that `parseArgs` takes a
 * negative number as the option's value instead of refusing it as ambiguous.
 */
function joinNegativeValues(argv: readonly string[], options: FlagSpec): string[] {
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    let name: string | undefined;
    if (a.startsWith("--") && !a.includes("=")) name = a.slice(2);
    else if (/^-[^-]$/.test(a)) name = byShort.get(a.slice(1));
    if (
      name !== undefined &&
      Object.hasOwn(options, name) &&
      options[name]!.type === "string" &&
      next !== undefined &&
      NEGATIVE_NUMBER.test(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The option a `parseArgs` error message names (`'--seed'`, `'-j'`), if any. */
function optionInMessage(message: string): string | undefined {
  return /'(--?[^'\s<=]+)/.exec(message)?.[1];
}

/**
 * Parses `argv` strictly against `options`. Unknown flags, missing values, a single-valued flag
 * given twice and (unless `allowPositionals`) stray positional arguments raise a
 * {@link UsageError} naming the culprit.
 */
export function parseFlags<O extends FlagSpec>(
  argv: readonly string[],
  options: O,
  allowPositionals = false,
): ParsedFlags<O> {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals,
      tokens: true,
    });
  } catch (error) {
    if (error instanceof TypeError && "code" in error) {
      const code = String(error.code);
      if (code.startsWith("ERR_PARSE_ARGS_") || code === "ERR_INVALID_ARG_VALUE") {
        const parameter = optionInMessage(error.message);
        throw new UsageError(error.message.replace(/\n+/g, " "), { parameter });
      }
    }
    throw error;
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== "option") continue;
    if (options[t.name]?.multiple !== true && seen.has(t.name))
      throw new UsageError(`option '--${t.name}' is given more than once`, {
        parameter: `--${t.name}`,
      });
    seen.add(t.name);
  }
  const { values, positionals } = parsed;
  return { values, positionals };
}

/** Throws a UsageError unless each of `names` was given. */
export function requireFlags(values: Readonly<Record<string, unknown>>, names: string[]): void {
  for (const name of names)
    if (values[name] === undefined)
      throw new UsageError(`option '--${name}' is required`, { parameter: `--${name}` });
}

/**
 * Refuses options that the chosen mode would ignore (`--host` with `--seed-table`, `--workers`
 * with `--redis`): silently dropping something the user typed hides a mistake.
 */
export function rejectIgnored(
  values: Readonly<Record<string, unknown>>,
  names: string[],
  mode: string,
): void {
  for (const name of names) {
    const v = values[name];
    if (v !== undefined && v !== false)
      throw new UsageError(`option '--${name}' has no effect ${mode}; leave it out`, {
        parameter: `--${name}`,
      });
  }
}

/** Strict decimal integer syntax. */
const INTEGER = /^-?\d+$/;
/** Strict decimal number syntax (what a person types: no hex, no Infinity, no blanks). */
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Reads a decimal number in the strict syntax, or returns undefined. */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n + 0 : undefined; // + 0 turns -0 into 0
}

function range(min: number, max: number, what: string): string {
  return `${what} from ${min} to ${max}`;
}

/** Reads an integer flag value; `undefined` gives `fallback`. */
export function intFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  if (value === undefined) return fallback;
  const n = INTEGER.test(value) ? Number(value) + 0 : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw UsageError.invalid(`--${flag}`, value, range(min, max, "a decimal integer"));
  return n;
}

/** Reads a decimal number flag value in [min, max] (or (min, max] with `minExclusive`). */
export function numberFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  { min, max, minExclusive = false }: { min: number; max: number; minExclusive?: boolean },
): number {
  if (value === undefined) return fallback;
  const n = parseDecimal(value);
  if (n === undefined || n > max || (minExclusive ? n <= min : n < min))
    throw UsageError.invalid(
      `--${flag}`,
      value,
      minExclusive
        ? `a decimal number greater than ${min} and at most ${max}`
        : range(min, max, "a decimal number"),
    );
  return n;
}

/** Reads a name that must be one of `choices`, exactly (no aliases, no case folding). */
export function choiceFlag<C extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly C[],
): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw UsageError.invalid(`--${flag}`, value, `one of ${choices.join(", ")}`);
  return value as C;
}

/**
 * Reads a comma-separated list: no empty items, no repeats, and with `choices` only those.
 * `undefined` stays undefined (the command's default).
 */
export function listFlag<C extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly C[],
): C[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",");
  const accepted = `a comma-separated list of ${choices.join(", ")}, each at most once`;
  if (items.some((s) => s === ""))
    throw UsageError.invalid(`--${flag}`, value, `${accepted} (an item is empty)`);
  const repeated = items.find((s, i) => items.indexOf(s) !== i);
  if (repeated !== undefined)
    throw UsageError.invalid(`--${flag}`, value, `${accepted} ('${repeated}' is repeated)`);
  const unknown = items.find((s) => !(choices as readonly string[]).includes(s));
  if (unknown !== undefined)
    throw UsageError.invalid(`--${flag}`, value, `${accepted} ('${unknown}' is not one)`);
  return items as C[];
}

function fsReason(e: unknown): string {
  const code = e !== null && typeof e === "object" && "code" in e ? String(e.code) : "";
  if (code === "ENOENT") return "does not exist";
  if (code === "ENOTDIR") return "a part of the path is not a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EROFS") return "read-only file system";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Checks, before the run, that a file can be written at `value` (its directory exists and is
 * writable, and it is not a directory); returns the path as given.
 */
export function outputFileFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const refuse = (reason: string): never => {
    throw UsageError.invalid(`--${flag}`, value, `a writable file path (${reason})`);
  };
  if (value === "") refuse("the path is empty");
  const path = resolve(value);
  let isDir = false;
  let exists = false;
  try {
    const st = statSync(path);
    exists = true;
    isDir = st.isDirectory();
  } catch (e) {
    const code = e !== null && typeof e === "object" && "code" in e ? e.code : "";
    if (code !== "ENOENT") refuse(`${path}: ${fsReason(e)}`);
  }
  if (isDir) refuse(`${path} is a directory`);
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) refuse(`${dir} is not a directory`);
    accessSync(exists ? path : dir, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    refuse(`${exists ? path : `directory ${dir}`}: ${fsReason(e)}`);
  }
  return value;
}

/**
 * Makes the output directory `value` now, before the run (its parents too), and checks that it
 * is writable: only making it shows that it can be made. Returns the path as given.
 */
export function outputDirFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const refuse = (reason: string): never => {
    throw UsageError.invalid(`--${flag}`, value, `a writable directory (${reason})`);
  };
  if (value === "") refuse("the path is empty");
  const path = resolve(value);
  try {
    makeDirectory(path);
    accessSync(path, constants.W_OK);
  } catch (e) {
    const at = e !== null && typeof e === "object" && "path" in e ? String(e.path) : path;
    // ENOENT from mkdir under a parent that exists: a file system that holds no directories (/proc)
    const code = e !== null && typeof e === "object" && "code" in e ? e.code : "";
    refuse(`${at}: ${code === "ENOENT" ? "cannot be made there" : fsReason(e)}`);
  }
  return value;
}

/**
 * Reads `--host`: a preset name, a spec (`cpus=32,smt=2`, or inline JSON), or the path of a JSON
 * file holding one (`*.json`, at most {@link MAX_HOST_SPEC_CHARS} bytes). Returns the spec's
 * text, checked now (a bad field is a usage error before any work), for the run to parse again.
 */
export function hostFlag(value: string | undefined, flag = "host"): string | undefined {
  if (value === undefined) return undefined;
  let text = value;
  if (value.endsWith(".json") && !value.includes("=") && !value.trimStart().startsWith("{")) {
    const path = resolve(value);
    const refuse = (reason: string): never => {
      throw UsageError.invalid(
        `--${flag}`,
        value,
        `a host preset, a spec or a JSON file (${reason})`,
      );
    };
    try {
      const st = statSync(path);
      if (!st.isFile()) refuse(`${path} is not a file`);
      if (st.size > MAX_HOST_SPEC_CHARS)
        refuse(`${path} is larger than ${MAX_HOST_SPEC_CHARS} bytes`);
      text = readFileSync(path, "utf8");
    } catch (e) {
      if (e instanceof UsageError) throw e;
      refuse(`${path}: ${fsReason(e)}`);
    }
    if (!text.trimStart().startsWith("{")) refuse(`${path} does not hold a JSON object`);
  }
  try {
    parseHostSpec(text);
  } catch (e) {
    if (!(e instanceof ParameterError)) throw e;
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    throw UsageError.invalid(
      `--${flag}`,
      shown,
      e instanceof UnknownNameError && e.parameter === "host"
        ? `${e.accepted}, a spec (cpus=N,…) or a JSON file`
        : `a valid host spec (${e.message})`,
    );
  }
  return text;
}

/** What `--host` accepts, for usage texts. */
export const HOST_FLAG_USAGE = `${HOST_PRESET_NAMES.join(", ")}, or a spec: cpus=N[,smt=T][,sockets=S][,hz=HZ][,hypervisor=kvm|xen][,credit2Runqueue=cpu|core|socket|node|all][,base=PRESET] or a JSON file`;

/** Reads the Redis of a distributed sweep: redis://host[:port][/db]. */
export function redisFlag(url: string | undefined, flag = "redis"): string | undefined {
  if (url === undefined) return undefined;
  const refuse = (): never => {
    throw UsageError.invalid(
      `--${flag}`,
      url,
      "a URL redis://host[:port][/db] with a port 1 … 65535 and a db 0 … 15",
    );
  };
  try {
    parseRedisUrl(url);
  } catch {
    refuse();
  }
  const u = new URL(url);
  const db = u.pathname.slice(1);
  if (u.hostname === "" || u.search !== "" || u.hash !== "") refuse();
  if (db !== "" && !/^([0-9]|1[0-5])$/.test(db)) refuse();
  return url;
}

/** Reads a BullMQ queue name: 1 … 100 letters, digits, '.', '_' and '-' (BullMQ forbids ':'). */
export function queueFlag(name: string | undefined, flag = "queue"): string | undefined {
  if (name === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name))
    throw UsageError.invalid(
      `--${flag}`,
      name,
      "a queue name of 1 … 100 letters, digits, '.', '_' and '-'",
    );
  return name;
}

/**
 * Prints a subcommand's result: JSON (2-space indented, one trailing newline) when `json` is set,
 * otherwise the text `render` makes of it.
 */
export function printResult<T>(
  io: CliIO,
  result: T,
  json: boolean,
  render: (result: T) => string,
): void {
  if (json) {
    io.out(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const text = render(result);
    io.out(text.endsWith("\n") ? text : `${text}\n`);
  }
}
