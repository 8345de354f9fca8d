/** `mmulab help [command]`: the command list, or one command's usage. */
import { JSON_FLAG_USAGE, jsonFlag, parseFlags, printResult } from "../args.js";
import { formatCommandHelp, formatHelp, PROGRAM, unknownCommand } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../command.js";

export const helpCommand: Command = {
  name: "help",
  summary: "list the commands, or show one command's usage",
  usage: [
    `Usage: ${PROGRAM} help [command] [--json]`,
    "",
    "Without a command, lists every command with its summary.",
    "",
    "Options:",
    JSON_FLAG_USAGE,
  ].join("\n"),

  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...jsonFlag }, true);
    if (positionals.length > 1) {
      throw new UsageError(`expected at most one command name, got ${positionals.length}`, {
        parameter: "command",
      });
    }
    // Imported here, not at the top: the registry imports this module.
    const { commands } = await import("../commands.js");
    const name = positionals[0];
    if (name === undefined) {
      const list = commands.map(({ name, summary, usage }) => ({ name, summary, usage }));
      printResult(io, list, values.json, () => formatHelp(commands));
      return EXIT_OK;
    }
    const command = commands.find((c) => c.name === name);
    if (command === undefined) {
      if (values.json)
        throw UsageError.invalid(
          "command",
          name,
          `one of ${commands.map((c) => c.name).join(", ")}`,
        );
      return unknownCommand(io, commands, name);
    }
    const { summary, usage } = command;
    printResult(io, { name, summary, usage }, values.json, () => formatCommandHelp(command));
    return EXIT_OK;
  },
};
