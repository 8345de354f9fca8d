/**
 * The CLI's input layer (cli/args.ts) through the real commands: every bad command line is a
 * usage error (exit 2) that names the option, the value and what is accepted, before any work;
 * `--json` makes errors JSON on stdout; stack traces only with `--debug`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { intFlag, listFlag, numberFlag, parseFlags } from "../../src/cli/args.js";
import { runCli } from "../../src/cli/cli.js";
import type { Command } from "../../src/cli/command.js";
import { UsageError } from "../../src/cli/command.js";
import { commands } from "../../src/cli/commands.js";
import { parseParam } from "../../src/cli/commands/sweep.js";
import { captureIO } from "../support/io.js";

const dir = mkdtempSync(join(tmpdir(), "mmulab-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const io = captureIO();
  const code = await runCli(argv, io, commands);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** Runs argv and checks it is a usage error naming `parameter` and the words in `says`. */
async function usageError(argv: string[], parameter: string, ...says: string[]) {
  const r = await cli(...argv);
  expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(2);
  expect(r.out).toBe("");
  expect(r.err).toContain(parameter);
  for (const s of says) expect(r.err).toContain(s);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  if (!commands.find((c) => c.name === argv[0])?.usage.includes("--json")) return r.err;
  const j = await cli(...argv, "--json");
  expect(j.code).toBe(2);
  expect(j.err).toBe("");
  const body = JSON.parse(j.out) as { error: { type: string; parameter: string; message: string } };
  expect(Object.keys(body.error).sort()).toEqual(["message", "parameter", "type"]);
  expect(body.error.parameter).toContain(parameter.replace(/^--/, ""));
  return r.err;
}

describe("numbers", () => {
  it("reads a negative number as a value, then refuses it by its range", async () => {
    const err = await usageError(["race-matrix", "--seed", "-1"], "--seed", '"-1"', "from 0 to");
    expect(err).not.toContain("ambiguous");
    await usageError(["kernbench", "-j", "-3", "--host", "6cpu"], "--jobs", '"-3"');
  });

  it("gives a negative number to the option whose value it is, long or short, = or not", () => {
    const { values } = parseFlags(["--offset", "-3", "-d", "-0.5", "--at=-7"], {
      offset: { type: "string" },
      delta: { type: "string", short: "d" },
      at: { type: "string" },
    });
    expect(intFlag(values.offset, "offset", 0, { min: -10, max: 10 })).toBe(-3);
    expect(numberFlag(values.delta, "delta", 0, { min: -1, max: 1 })).toBe(-0.5);
    expect(intFlag(values.at, "at", 0, { min: -10, max: 10 })).toBe(-7);
    // a word after an option is still an option, and a boolean option takes no value
    expect(() => parseFlags(["--offset", "-x"], { offset: { type: "string" } })).toThrow(
      UsageError,
    );
    expect(() => parseFlags(["--all", "-1"], { all: { type: "boolean" } })).toThrow(UsageError);
  });

  it.each(["0x10", "1e3", " 7 ", "+7", "7.0", "", "7abc", "Infinity", "NaN", "1_000"])(
    "refuses %j as an integer",
    async (text) => {
      await usageError(["race-matrix", "--trials", text], "--trials", "decimal integer");
    },
  );

  it("refuses --scale outside (0, 1] and in hex", async () => {
    for (const s of ["0", "-0.5", "1.5", "0x1", "Infinity"])
      await usageError(["kernbench", "--host", "6cpu", "--scale", s], "--scale", "greater than 0");
  });

  it("refuses a single-valued option given twice", async () => {
    await usageError(["race-matrix", "--seed", "1", "--seed", "2"], "--seed", "more than once");
  });
});

describe("lists and names", () => {
  it("refuses empty items, repeats and unknown names in a list", async () => {
    await usageError(["race-matrix", "--profiles", "v4.13,,v4.14"], "--profiles", "empty");
    await usageError(["race-matrix", "--profiles", "v4.13,"], "--profiles", "empty");
    await usageError(["race-matrix", "--backends", ""], "--backends", "empty");
    await usageError(["race-matrix", "--profiles", "v4.13,v4.13"], "--profiles", "repeated");
    await usageError(["race-matrix", "--scenarios", "nope"], "--scenarios", "'nope'", "use-mm");
    // no case folding, no blanks: names are exact
    await usageError(["race-matrix", "--profiles", "V4.13"], "--profiles");
    await usageError(["race-matrix", "--profiles", "v4.13, v4.14"], "--profiles");
  });

  it.each([
    [["workload", "--name", "x", "--profile", "v4.13", "--backend", "native"], "--name"],
    [["workload", "--name", "ebizzy", "--profile", "v9", "--backend", "native"], "--profile"],
    [["workload", "--name", "ebizzy", "--profile", "v4.13", "--backend", "kvm"], "--backend"],
    [["kernbench", "--host", "toString"], "--host"],
    [["kernbench", "--host", "6cpu", "--rcu-table-free", "rcu"], "--rcu-table-free"],
    [["explore", "--profile", "v4.13", "--backend", "native", "--scenario", "x"], "--scenario"],
    [["sweep", "--run", "nope", "--param", "a=1"], "--run"],
  ])("refuses an unknown name: %j", async (argv, parameter) => {
    await usageError(argv, parameter, "one of");
  });

  it("refuses a profile × backend the version does not have, as a usage error", async () => {
    await usageError(
      ["explore", "--profile", "v4.13", "--backend", "invlpgb", "--scenario", "walker-vs-munmap"],
      "backend",
      "not available",
    );
  });

  it("says the command once when the library's error names it as its context", async () => {
    const err = await usageError(
      ["sweep", "--run", "synthetic", "--param", "x=1,a", "--workers", "0"],
      "x",
      "values all of one type",
    );
    expect(err).toMatch(/^mmulab sweep: x = \[1,"a"\] is not accepted/);
  });

  it("refuses an unknown metric once the sweep knows its metrics", async () => {
    await usageError(
      ["sweep", "--run", "synthetic", "--param", "x=1,2", "--workers", "0", "--metric", "nope"],
      "metric",
      '"nope"',
    );
  });

  it("has no undocumented aliases: --j is not -j", async () => {
    await usageError(["kernbench", "--j", "3", "--host", "6cpu"], "--j", "Unknown option");
  });

  it("lists parse as documented", () => {
    expect(listFlag("a,b", "x", ["a", "b", "c"])).toEqual(["a", "b"]);
    expect(listFlag(undefined, "x", ["a"])).toBeUndefined();
    expect(() => listFlag("a,b,a", "x", ["a", "b"])).toThrow(UsageError);
  });
});

describe("options a mode ignores", () => {
  it.each([
    [["kernbench", "--seed-table", "--host", "6cpu"], "--host", "--seed-table"],
    [["kernbench", "--seed-table", "-j", "3"], "--jobs", "--seed-table"],
    [["kernbench", "--seed-table", "--rcu-table-free", "on"], "--rcu-table-free", "--seed-table"],
    [
      ["sweep", "--run", "synthetic", "--param", "x=1", "--redis", "redis://h", "--workers", "2"],
      "--workers",
      "--redis",
    ],
    [
      ["sweep", "--run", "synthetic", "--param", "x=1", "--metric", "f", "--json"],
      "--metric",
      "--json",
    ],
  ])("refuses %j, saying which mode ignores it", async (argv, parameter, mode) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    const text = argv.includes("--json") ? r.out : r.err;
    expect(text).toContain(parameter);
    expect(text).toContain(`no effect with ${mode}`);
  });
});

describe("output paths are checked before the run", () => {
  it("names the path and the reason, without a stack trace", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    await usageError(
      ["demo", "--trace-out", join(dir, "missing", "t.json")],
      "--trace-out",
      "does not exist",
    );
    await usageError(["demo", "--trace-out", dir], "--trace-out", "is a directory");
    await usageError(
      ["demo", "--trace-out", join(file, "t.json")],
      "--trace-out",
      "not a directory",
    );
    await usageError(["demo", "--trace-out", ""], "--trace-out", "empty");
    await usageError(
      ["sweep", "--run", "synthetic", "--param", "x=1", "--csv", join(dir, "no", "x.csv")],
      "--csv",
      "does not exist",
    );
    await usageError(
      ["race-matrix", "--examples", join(file, "sub")],
      "--examples",
      "not a directory",
    );
  });

  it("writes where it may", async () => {
    const r = await cli("demo", "--trace-out", join(dir, "t.json"), "--json");
    expect(r.code).toBe(0);
  });
});

describe("Redis URLs and queue names", () => {
  it.each(["http://h:6379", "redis://", "redis://h:99999", "redis://h/16", "redis://h/x", "nope"])(
    "refuses --redis %j",
    async (url) => {
      await usageError(["sweep-worker", "--redis", url], "--redis", "redis://host");
      await usageError(
        ["sweep", "--run", "synthetic", "--param", "x=1", "--redis", url],
        "--redis",
      );
    },
  );

  it("refuses a queue name BullMQ cannot have", async () => {
    await usageError(["sweep-worker", "--redis", "redis://h", "--queue", "a:b"], "--queue");
    await usageError(["sweep-worker", "--redis", "redis://h", "--queue", ""], "--queue");
  });
});

describe("sweep specs", () => {
  it.each(["x=int:0..1000000000", "x=float:0..1:1000000000", "x=int:-9007199254740991..0"])(
    "refuses the grid of --param %j before expanding it",
    async (param) => {
      await usageError(["sweep", "--run", "synthetic", "--param", param], "--param", "1,000,000");
    },
  );

  it.each([
    ["x=int:a..b", "MIN"],
    ["x=int:0x0..10", "MIN"],
    ["x=int:5..1", "MIN ≤ MAX"],
    ["x=int:0..10:0", "STEP ≥ 1"],
    ["x=int:0..10:1.5", "STEP"],
    ["x=int:0..10:2:log", "int:MIN..MAX"],
    ["x=float:1..2:0", "STEPS ≥ 1"],
    ["x=float:1..2:3:lin", "float:MIN..MAX"],
    ["x=float:Infinity..2", "MIN"],
    ["x=1,,2", "empty"],
    ["x=", "empty"],
    ["x=1,1", "repeats"],
    ["x=1, 2", "blanks"],
    ["x=0x10", "decimal"],
    ["=1", "NAME"],
    ["1x=1", "parameter name"],
    ["__proto__=1", "parameter name"],
    ["constructor=1", "parameter name"],
    ["x", "NAME"],
  ])("refuses --param %j", async (param, says) => {
    await usageError(["sweep", "--run", "synthetic", "--param", param], "--param", says);
    expect(() => parseParam(param)).toThrow(UsageError);
  });

  it("refuses three 1,000-value axes before expanding them", async () => {
    await usageError(
      [
        "sweep",
        "--run",
        "synthetic",
        ...["a", "b", "c"].flatMap((n) => ["--param", `${n}=int:1..1000`]),
      ],
      "--param",
      "1,000,000 points",
    );
  });

  it("refuses more seeds than points × seeds allows, naming --seeds", async () => {
    const err = await usageError(
      ["sweep", "--run", "synthetic", "--param", "x=int:1..1000", "--seeds", "1001"],
      "--seeds",
      "at most 1000 seeds for the 1000 points",
    );
    expect(err).not.toContain("sweep: sweep:");
  });

  it("refuses a parameter swept twice, or both swept and fixed", async () => {
    await usageError(
      ["sweep", "--run", "synthetic", "--param", "x=1", "--param", "x=2"],
      "--param",
      "repeated",
    );
    await usageError(
      ["sweep", "--run", "synthetic", "--param", "x=1", "--fixed", "x=2"],
      "--fixed",
      "repeated",
    );
    await usageError(["sweep", "--run", "synthetic", "--param", "x=1", "--fixed", "y"], "--fixed");
  });

  it("requires --run and --param", async () => {
    await usageError(["sweep", "--param", "x=1"], "--run", "required");
    await usageError(["sweep", "--run", "synthetic"], "--param", "required");
  });

  it("parses the documented spaces", () => {
    expect(parseParam("x=int:-5..5:2")).toEqual(["x", { kind: "int", min: -5, max: 5, step: 2 }]);
    expect(parseParam("x=float:1..100:3:log")).toEqual([
      "x",
      { kind: "float", min: 1, max: 100, steps: 3, log: true },
    ]);
    expect(parseParam("x=float:1..100:log")).toEqual([
      "x",
      { kind: "float", min: 1, max: 100, log: true },
    ]);
    expect(parseParam("p=v4.13,6cpu,true,-1.5")).toEqual(["p", ["v4.13", "6cpu", true, -1.5]]);
  });
});

describe("explore's exit status", () => {
  it("is 1 when a use-after-free is reachable and 0 for a proof that none is", async () => {
    const small = ["--cpus", "2", "--pages", "1", "--stalls", "1", "--json"];
    const uaf = await cli(
      "explore",
      ...["--profile", "v4.13", "--backend", "xen-pv", "--scenario", "walker-vs-munmap"],
      ...small,
    );
    expect((JSON.parse(uaf.out) as { uafReachable: boolean }).uafReachable).toBe(true);
    expect(uaf.code).toBe(1);
    const safe = await cli(
      "explore",
      ...["--profile", "v4.19", "--backend", "xen-pv", "--scenario", "walker-vs-munmap"],
      ...small,
    );
    expect((JSON.parse(safe.out) as { uafReachable: boolean }).uafReachable).toBe(false);
    expect(safe.code).toBe(0);
  });
});

describe("errors, --json and --debug", () => {
  const boom: Command = {
    name: "boom",
    summary: "throws an untyped error",
    usage: "Usage: mmulab boom [--json]",
    run(argv) {
      parseFlags(argv, { json: { type: "boolean" } });
      return Promise.reject(new TypeError("cannot read x of undefined"));
    },
  };

  it("prints no stack trace for an untyped error unless --debug", async () => {
    const io = captureIO();
    expect(await runCli(["boom"], io, [boom])).toBe(1);
    expect(io.stderr()).toContain("internal error: TypeError: cannot read x of undefined");
    expect(io.stderr()).toContain("--debug");
    expect(io.stderr()).not.toMatch(/\n\s+at /);
    const dbg = captureIO();
    expect(await runCli(["boom", "--debug"], dbg, [boom])).toBe(1);
    expect(dbg.stderr()).toMatch(/\n\s+at /);
    const first = captureIO();
    expect(await runCli(["--debug", "boom"], first, [boom])).toBe(1);
    expect(first.stderr()).toMatch(/\n\s+at /);
  });

  it("prints an untyped error as JSON too, still exiting non-zero", async () => {
    const io = captureIO();
    expect(await runCli(["boom", "--json"], io, [boom])).toBe(1);
    expect(JSON.parse(io.stdout())).toEqual({
      error: { type: "TypeError", parameter: null, message: "cannot read x of undefined" },
    });
  });

  it("gives unknown commands and global options as JSON with --json", async () => {
    for (const argv of [["nope", "--json"], ["--json"], ["--frob", "--json"]]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect((JSON.parse(r.out) as { error: { type: string } }).error.type).toBe("UsageError");
    }
    const h = await cli("help", "nope", "--json");
    expect(h.code).toBe(2);
    expect((JSON.parse(h.out) as { error: { parameter: string } }).error.parameter).toBe("command");
  });
});

describe("host specs on the command line", () => {
  it.each([
    [
      ["kernbench", "--host", "32cpu"],
      ["one of", "6cpu", "a spec"],
    ],
    [
      ["kernbench", "--host", "cpus=33,smt=2"],
      ["cpus = 33", "multiple of smt × sockets"],
    ],
    [
      ["kernbench", "--host", "cpus=4096"],
      ["cpus = 4096", "from 1 to 1024"],
    ],
    [["kernbench", "--host", "cpus=8,wat=1"], ["wat"]],
    [
      ["kernbench", "--host", "6cpu", "--backend", "kvm"],
      ["--backend", "one of"],
    ],
    [
      ["kernbench", "--seed-table", "--backend", "kvm-pv"],
      ["--backend", "no effect"],
    ],
  ])("refuses %j", async (argv, says) => {
    const parameter = argv.includes("--backend") ? "--backend" : "--host";
    await usageError(argv, parameter, ...says);
  });

  it("reads a JSON file, and refuses one that is missing, too large or not an object", async () => {
    const good = join(dir, "host.json");
    writeFileSync(good, JSON.stringify({ cpus: 4, costs: { ipiSendNs: 300 } }));
    const r = await cli("kernbench", "--host", good, "--runs", "1", "--scale", "0.01", "--json");
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { host: string; hostSpec: { cpus: number; costs: object } };
    expect(out.host).toBe("custom");
    expect(out.hostSpec.cpus).toBe(4);
    expect(out.hostSpec.costs).toEqual({ ipiSendNs: 300 });
    await usageError(
      ["kernbench", "--host", join(dir, "missing.json")],
      "--host",
      "does not exist",
    );
    const big = join(dir, "big.json");
    writeFileSync(big, `{"cpus": 4, "pad": "${"x".repeat(20_000)}"}`);
    await usageError(["kernbench", "--host", big], "--host", "larger than 16384 bytes");
    const arr = join(dir, "arr.json");
    writeFileSync(arr, "[1, 2]");
    await usageError(["kernbench", "--host", arr], "--host", "does not hold a JSON object");
  });

  it("runs kernbench on a spec'd host with a paravirt backend", async () => {
    const r = await cli(
      "kernbench",
      "--host",
      "cpus=32,smt=2",
      "-j",
      "32",
      "--backend",
      "kvm-pv",
      "--runs",
      "1",
      "--scale",
      "0.01",
      "--json",
    );
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as {
      backend: string;
      jobs: number;
      hostSpec: { cpus: number; smt: number };
      mechanism: { ipis: number }[];
    };
    expect(out.backend).toBe("kvm-pv");
    expect(out.jobs).toBe(32);
    expect(out.hostSpec).toMatchObject({ cpus: 32, smt: 2 });
  });
});

describe("workload --host", () => {
  it("puts the vCPUs on the host spec's CPUs, as --pcpus does, and refuses both at once", async () => {
    const argv = ["workload", "--name", "ebizzy", "--profile", "v4.19", "--backend", "native"];
    const spec = await cli(
      ...argv,
      "--cpus",
      "4",
      "--host",
      "cpus=2",
      "--duration-ms",
      "5",
      "--json",
    );
    const pcpus = await cli(...argv, "--cpus", "4", "--pcpus", "2", "--duration-ms", "5", "--json");
    expect(spec.code, spec.err).toBe(0);
    expect(spec.out).toBe(pcpus.out);
    expect((JSON.parse(spec.out) as { hostPreemptions: number }).hostPreemptions).toBeGreaterThan(
      0,
    );
    await usageError([...argv, "--host", "6cpu", "--pcpus", "2"], "--pcpus", "no effect");
    await usageError([...argv, "--host", "cpus=3,smt=2"], "--host", "multiple of smt");
  });
});

describe("workload --csd-batch", () => {
  it("takes the shortcut and says so in the result; refuses other words and guests", async () => {
    const argv = [
      "workload",
      "--name",
      "madvise-storm",
      "--profile",
      "v6.1",
      "--backend",
      "native",
    ];
    const run = (...more: string[]) =>
      cli(...argv, "--cpus", "8", "--duration-ms", "1", "--json", ...more);
    const exact = await run();
    const off = await run("--csd-batch", "off");
    const on = await run("--csd-batch", "on");
    expect(on.code, on.err).toBe(0);
    expect(off.out).toBe(exact.out);
    const result = JSON.parse(on.out) as { csdBatch?: boolean; ops: number };
    expect(result.csdBatch).toBe(true);
    expect(result.ops).toBeGreaterThan(0);
    expect((JSON.parse(exact.out) as { csdBatch?: boolean }).csdBatch).toBeUndefined();
    await usageError([...argv, "--csd-batch", "yes"], "--csd-batch", "one of");
    await usageError([...argv, "--vms", "2", "--csd-batch", "on"], "--csd-batch", "no effect");
  });
});
