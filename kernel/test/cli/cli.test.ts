import { describe, expect, it } from "vitest";
import { intFlag, jsonFlag, parseFlags, printResult } from "../../src/cli/args.js";
import { formatHelp, runCli } from "../../src/cli/cli.js";
import type { Command } from "../../src/cli/command.js";
import { UsageError } from "../../src/cli/command.js";
import { commands } from "../../src/cli/commands.js";
import { captureIO } from "../support/io.js";

const echo: Command = {
  name: "echo",
  summary: "print the arguments",
  usage: "Usage: mmulab echo [--upper] [--json] <words...>",
  run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { upper: { type: "boolean", default: false }, ...jsonFlag },
      true,
    );
    const words = values.upper ? positionals.map((w) => w.toUpperCase()) : positionals;
    printResult(io, { words }, values.json, (r) => r.words.join(" "));
    return Promise.resolve(0);
  },
};

const boom: Command = {
  name: "boom",
  summary: "always fails",
  usage: "Usage: mmulab boom",
  run() {
    return Promise.reject(new Error("kaboom"));
  },
};

const fake = [echo, boom];

describe("runCli", () => {
  it("prints the command list for --help", async () => {
    const io = captureIO();
    expect(await runCli(["--help"], io, fake)).toBe(0);
    expect(io.stdout()).toContain("echo  print the arguments");
    expect(io.stdout()).toContain("boom  always fails");
    expect(io.stderr()).toBe("");
  });

  it("exits 2 with help on stderr when no command is given", async () => {
    const io = captureIO();
    expect(await runCli([], io, fake)).toBe(2);
    expect(io.stderr()).toContain("missing command");
    expect(io.stdout()).toBe("");
  });

  it("runs a command with its flags", async () => {
    const io = captureIO();
    expect(await runCli(["echo", "--upper", "a", "b"], io, fake)).toBe(0);
    expect(io.stdout()).toBe("A B\n");
  });

  it("prints JSON on stdout with --json", async () => {
    const io = captureIO();
    expect(await runCli(["echo", "--json", "x"], io, fake)).toBe(0);
    expect(JSON.parse(io.stdout())).toEqual({ words: ["x"] });
  });

  it("shows a command's usage for <cmd> --help, but not after --", async () => {
    const io = captureIO();
    expect(await runCli(["echo", "a", "--help"], io, fake)).toBe(0);
    expect(io.stdout()).toContain("Usage: mmulab echo");

    const io2 = captureIO();
    expect(await runCli(["echo", "--", "--help"], io2, fake)).toBe(0);
    expect(io2.stdout()).toBe("--help\n");
  });

  it("names an unknown command on stderr and exits 2, suggesting a close one", async () => {
    const io = captureIO();
    expect(await runCli(["ecko"], io, fake)).toBe(2);
    expect(io.stderr()).toContain("unknown command 'ecko'");
    expect(io.stderr()).toContain("Did you mean 'echo'?");
  });

  it("names an unknown global option and exits 2", async () => {
    const io = captureIO();
    expect(await runCli(["--frobnicate"], io, fake)).toBe(2);
    expect(io.stderr()).toContain("'--frobnicate'");
  });

  it("names an unknown command flag and exits 2", async () => {
    const io = captureIO();
    expect(await runCli(["echo", "--shout"], io, fake)).toBe(2);
    expect(io.stderr()).toContain("--shout");
    expect(io.stderr()).toContain("mmulab help echo");
  });

  it("exits 1 and reports the error when a command throws", async () => {
    const io = captureIO();
    expect(await runCli(["boom"], io, fake)).toBe(1);
    expect(io.stderr()).toContain("kaboom");
  });

  it("prints the version", async () => {
    const io = captureIO();
    expect(await runCli(["--version"], io, fake, "1.2.3")).toBe(0);
    expect(io.stdout()).toBe("1.2.3\n");
  });
});

describe("the registered commands", () => {
  it("have unique, well-formed names and non-empty summaries and usage", () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of commands) {
      expect(c.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(c.summary.length).toBeGreaterThan(0);
      expect(c.usage).toContain(`mmulab ${c.name}`);
    }
  });

  it("help lists every command, as text and as JSON", async () => {
    const io = captureIO();
    expect(await runCli(["help"], io, commands)).toBe(0);
    expect(io.stdout()).toBe(formatHelp(commands));

    const io2 = captureIO();
    expect(await runCli(["help", "--json"], io2, commands)).toBe(0);
    const list = JSON.parse(io2.stdout()) as { name: string }[];
    expect(list.map((c) => c.name)).toEqual(commands.map((c) => c.name));
  });

  it("help <cmd> shows that command's usage; help <unknown> exits 2", async () => {
    const io = captureIO();
    expect(await runCli(["help", "help"], io, commands)).toBe(0);
    expect(io.stdout()).toContain("Usage: mmulab help");

    const io2 = captureIO();
    expect(await runCli(["help", "nope"], io2, commands)).toBe(2);
    expect(io2.stderr()).toContain("unknown command 'nope'");
  });
});

describe("intFlag", () => {
  it("parses integers within bounds and rejects the rest", () => {
    expect(intFlag(undefined, "runs", 5)).toBe(5);
    expect(intFlag("7", "runs", 5, { min: 1 })).toBe(7);
    expect(() => intFlag("x", "runs", 5)).toThrow(UsageError);
    expect(() => intFlag("1.5", "runs", 5)).toThrow(/integer/);
    expect(() => intFlag("0", "runs", 5, { min: 1 })).toThrow(/from 1 to/);
  });
});
