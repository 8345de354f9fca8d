/**
 * The contract every `mmulab` subcommand implements, and the I/O it is given.
 *
 * A subcommand never touches `process` directly: it writes through `io` and returns its exit code,
 * so it runs the same under the real binary, in tests and from a notebook.
 */
import { MmulabError } from "../sim/errors.js";

/** Where a subcommand writes. Each call writes the text as is; add the newline yourself. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export interface Command {
  /** The word typed after `mmulab`. Lower-case, no spaces. */
  readonly name: string;
  /** One line, shown in `mmulab --help`. */
  readonly summary: string;
  /** Full usage text shown by `mmulab help <name>` and `mmulab <name> --help`. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(argv: string[], io: CliIO): Promise<number>;
}

/** Exit codes shared by all subcommands. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Thrown for a bad command line (unknown flag, missing or malformed value, a value out of range).
 * The CLI prints the message, points at the command's help and exits with {@link EXIT_USAGE}.
 * `parameter` names the option (`--seed`) when there is one.
 */
export class UsageError extends MmulabError {
  readonly parameter: string | undefined;
  constructor(message: string, options: { readonly parameter?: string | undefined } = {}) {
    super(message);
    this.parameter = options.parameter;
  }

  /** `option '--seed' = "-1" is not accepted; expected …`, in ParameterError's words. */
  static invalid(parameter: string, value: string, accepted: string): UsageError {
    return new UsageError(
      `option '${parameter}' = ${JSON.stringify(value)} is not accepted; expected ${accepted}`,
      { parameter },
    );
  }
}

/** An {@link CliIO} writing to the process's stdout and stderr. */
export const processIO: CliIO = {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
};
