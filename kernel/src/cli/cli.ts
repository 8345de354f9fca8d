/**
 * The `mmulab` command-line dispatcher: global flags, subcommand lookup, `--help` handling and
 * exit codes. Pure with respect to the process (all output goes through a {@link CliIO}), so tests
 * drive it with a fake command list.
 */
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

export function findCommand(commands: readonly Command[], name: string): Command | undefined {
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

/**
 * Runs the CLI for `argv` (the arguments after the program name) and resolves to the exit code:
 * 0 success, 1 failure, 2 usage error (unknown command or flag, bad value).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIO,
  commands: readonly Command[],
  version = "0.0.0",
): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
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
    io.err(`${PROGRAM}: unknown option '${first}'\n`);
    io.err(`Run '${PROGRAM} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  const command = findCommand(commands, first);
  if (command === undefined) return unknownCommand(io, commands, first);

  // `mmulab <cmd> ... --help`: anywhere before a `--` terminator.
  const terminator = rest.indexOf("--");
  const flags = terminator === -1 ? rest : rest.slice(0, terminator);
  if (flags.some((a) => HELP_FLAGS.has(a))) {
    io.out(formatCommandHelp(command));
    return EXIT_OK;
  }

  try {
    return await command.run([...rest], io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${PROGRAM} ${command.name}: ${error.message}\n`);
      io.err(`Run '${PROGRAM} help ${command.name}' for usage.\n`);
      return EXIT_USAGE;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`${PROGRAM} ${command.name}: ${detail}\n`);
    return EXIT_FAILURE;
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
