/**
 * The `mmulab` command-line dispatcher: global flags, subcommand lookup, `--help` handling and
 * exit codes. Pure with respect to the process (all output goes through a {@link CliIO}), so tests
 * drive it with a fake command list.
 */
import { IncompatibleBackendError } from "../config/profiles.js";
import { PayloadError } from "../contract/payload.js";
import { MmulabError, ParameterError } from "../sim/errors.js";
import type { CliIO, Command } from "./command.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./command.js";

export const PROGRAM = "mmulab";

const HELP_FLAGS = new Set(["--help", "-h"]);
const VERSION_FLAGS = new Set(["--version", "-V"]);

/** The overview printed by `mmulab --help`. */
export function formatHelp(commands: readonly Command[]): string {
  const width = Math.max(4, ...commands.map((c) => c.name.length));
  const lines = [
    `Usage: ${PROGRAM} <command> [options]`,
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Global options:",
    "  -h, --help      show this help, or a command's help after its name",
    "  -V, --version   print the version",
    "  --debug         print stack traces with errors",
    "",
    `Run '${PROGRAM} help <command>' or '${PROGRAM} <command> --help' for a command's usage.`,
  ];
  return `${lines.join("\n")}\n`;
}

/** The help of one command: its summary, then its usage text. */
export function formatCommandHelp(command: Command): string {
  const usage = command.usage.endsWith("\n") ? command.usage : `${command.usage}\n`;
  return `${PROGRAM} ${command.name} — ${command.summary}\n\n${usage}`;
}

function findCommand(commands: readonly Command[], name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}

/** Writes "unknown command" with a suggestion when one name is close. */
export function unknownCommand(io: CliIO, commands: readonly Command[], name: string): number {
  const close = commands.filter((c) => editDistance(c.name, name) <= 2).map((c) => c.name);
  const hint = close.length > 0 ? ` Did you mean '${close.join("' or '")}'?` : "";
  io.err(`${PROGRAM}: unknown command '${name}'.${hint}\n`);
  io.err(`Run '${PROGRAM} --help' for the list of commands.\n`);
  return EXIT_USAGE;
}

/** What an error becomes on the command line. */
export interface CliErrorReport {
  /** The error's class name (`UsageError`, `UnknownNameError`, …) or errno code (`EACCES`). */
  readonly type: string;
  /** The option or parameter at fault, when the error names one. */
  readonly parameter: string | null;
  readonly message: string;
  /** {@link EXIT_USAGE} for bad input, {@link EXIT_FAILURE} otherwise. */
  readonly exitCode: number;
  /** Not an error the simulator or the CLI raises on purpose: a bug worth a stack trace. */
  readonly internal: boolean;
}

function errnoCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || !("code" in error) || !("syscall" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/**
 * Classifies an error a command threw. Bad input — a {@link UsageError}, or a simulator
 * {@link ParameterError} (unknown names included) or {@link IncompatibleBackendError} raised
 * while a command validated what it was given — is a usage error (exit 2). Other typed errors
 * and failed file operations exit 1 with their message; anything else is internal.
 */
function classifyError(error: unknown): CliErrorReport {
  if (error instanceof UsageError)
    return usage("UsageError", error.parameter ?? null, error.message);
  if (error instanceof ParameterError) return usage(error.name, error.parameter, error.message);
  if (error instanceof IncompatibleBackendError) return usage(error.name, "backend", error.message);
  const code = errnoCode(error);
  if (code !== undefined)
    return failure(code, (error as Error & { path?: unknown }).path, (error as Error).message);
  if (error instanceof MmulabError || error instanceof PayloadError)
    return failure(error.name, null, error.message);
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { type: name, parameter: null, message, exitCode: EXIT_FAILURE, internal: true };
}

function usage(type: string, parameter: string | null, message: string): CliErrorReport {
  return { type, parameter, message, exitCode: EXIT_USAGE, internal: false };
}

function failure(type: string, parameter: unknown, message: string): CliErrorReport {
  const p = typeof parameter === "string" ? parameter : null;
  return { type, parameter: p, message, exitCode: EXIT_FAILURE, internal: false };
}

/** How errors are printed: `--json` puts them on stdout as JSON, `--debug` adds stack traces. */
interface ErrorStyle {
  readonly json: boolean;
  readonly debug: boolean;
}

/** Prints an error the way `style` asks and returns its exit code. */
function reportError(
  io: CliIO,
  where: string,
  error: unknown,
  style: ErrorStyle,
  helpHint?: string,
): number {
  const r = classifyError(error);
  if (style.json) {
    const body = { error: { type: r.type, parameter: r.parameter, message: r.message } };
    io.out(`${JSON.stringify(body)}\n`);
  } else {
    // "mmulab sweep: sweep: x = …" says sweep twice: a library error's context that is the
    // command's own name goes
    const command = where.slice(PROGRAM.length + 1);
    const message =
      command !== "" && r.message.startsWith(`${command}: `)
        ? r.message.slice(command.length + 2)
        : r.message;
    io.err(`${where}: ${r.internal ? `internal error: ${r.type}: ` : ""}${message}\n`);
    if (r.exitCode === EXIT_USAGE && helpHint !== undefined) io.err(`${helpHint}\n`);
    if (r.internal && !style.debug)
      io.err(`Run again with --debug for the stack trace, and please report it.\n`);
  }
  if (style.debug && error instanceof Error && error.stack !== undefined)
    io.err(`${error.stack}\n`);
  return r.exitCode;
}

/** Removes the global `--debug` flag (anywhere before a `--`); says whether it was there. */
function takeDebug(argv: readonly string[]): { args: string[]; debug: boolean } {
  const terminator = argv.indexOf("--");
  const head = terminator === -1 ? [...argv] : argv.slice(0, terminator);
  const tail = terminator === -1 ? [] : argv.slice(terminator);
  const args = head.filter((a) => a !== "--debug");
  return { args: [...args, ...tail], debug: args.length !== head.length };
}

/**
 * Runs the CLI for `argv` (the arguments after the program name) and resolves to the exit code:
 * 0 success, 1 failure, 2 usage error (unknown command or flag, bad value). `--json` anywhere
 * before `--` makes errors JSON on stdout (`{"error": {type, parameter, message}}`); `--debug`
 * adds stack traces.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIO,
  commands: readonly Command[],
  version = "0.0.0",
): Promise<number> {
  const { args, debug } = takeDebug(argv);
  const [first, ...rest] = args;
  const terminator = rest.indexOf("--");
  const flags = terminator === -1 ? rest : rest.slice(0, terminator);
  const style: ErrorStyle = { json: first === "--json" || flags.includes("--json"), debug };
  if (first === undefined) {
    if (style.json) return reportError(io, PROGRAM, new UsageError("missing command"), style);
    io.err(formatHelp(commands));
    io.err(`\n${PROGRAM}: missing command\n`);
    return EXIT_USAGE;
  }
  if (HELP_FLAGS.has(first)) {
    io.out(formatHelp(commands));
    return EXIT_OK;
  }
  if (VERSION_FLAGS.has(first)) {
    io.out(`${version}\n`);
    return EXIT_OK;
  }
  if (first.startsWith("-")) {
    const e = new UsageError(`unknown option '${first}'`, { parameter: first });
    return reportError(io, PROGRAM, e, style, `Run '${PROGRAM} --help' for usage.`);
  }
  const command = findCommand(commands, first);
  if (command === undefined) {
    if (style.json)
      return reportError(io, PROGRAM, new UsageError(`unknown command '${first}'`), style);
    return unknownCommand(io, commands, first);
  }

  // `mmulab <cmd> ... --help`: anywhere before a `--` terminator.
  if (flags.some((a) => HELP_FLAGS.has(a))) {
    io.out(formatCommandHelp(command));
    return EXIT_OK;
  }

  try {
    return await command.run([...rest], io);
  } catch (error) {
    const where = `${PROGRAM} ${command.name}`;
    return reportError(io, where, error, style, `Run '${PROGRAM} help ${command.name}' for usage.`);
  }
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
