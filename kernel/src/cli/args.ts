/**
 * Flag parsing for subcommands: a thin layer over `node:util` `parseArgs` that turns its errors
 * into {@link UsageError}s, plus the shared `--json` flag and helpers for numeric flags.
 */
import { parseArgs } from "node:util";
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

/**
 * Parses `argv` strictly against `options`. Unknown flags, missing values and (unless
 * `allowPositionals`) stray positional arguments raise a {@link UsageError} naming the culprit.
 */
export function parseFlags<O extends FlagSpec>(
  argv: readonly string[],
  options: O,
  allowPositionals = false,
): ParsedFlags<O> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (error) {
    if (error instanceof TypeError && "code" in error) {
      const code = String(error.code);
      if (code.startsWith("ERR_PARSE_ARGS_") || code === "ERR_INVALID_ARG_VALUE") {
        throw new UsageError(error.message);
      }
    }
    throw error;
  }
}

/** Reads an integer flag value; `undefined` gives `fallback`. */
export function intFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n)) {
    throw new UsageError(`option '--${flag}' expects an integer, got '${value}'`);
  }
  if (n < min || n > max) {
    throw new UsageError(`option '--${flag}' must be between ${min} and ${max}, got ${n}`);
  }
  return n;
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
