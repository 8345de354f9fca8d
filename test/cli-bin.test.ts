// Runs the built `mmulab` binary the way a user does (the pretest bootstrap builds kernel/dist).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = fileURLToPath(new URL("../node_modules/.bin/mmulab", import.meta.url));
const built = fileURLToPath(new URL("../kernel/dist/cli/main.js", import.meta.url));

function mmulab(...args: string[]) {
  // a bound: a regression of a hang fails the test instead of stalling the suite
  return spawnSync(bin, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
}

describe.runIf(existsSync(built))("the mmulab binary", () => {
  it("prints help and exits 0", () => {
    const r = mmulab("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: mmulab <command>");
    expect(r.stdout).toContain("help");
  });

  it("exits 2 naming an unknown command", () => {
    const r = mmulab("no-such-command");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });

  it("reports bad input as a usage error: exit 2, no stack trace, JSON with --json", () => {
    const r = mmulab("race-matrix", "--seed", "-1");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("option '--seed' = \"-1\" is not accepted");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const j = mmulab("race-matrix", "--profiles", "v9", "--json");
    expect(j.status).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({
      error: { type: "UsageError", parameter: "--profiles" },
    });
  });

  // procfs answers ENOENT to mkdir of an absent child, and Node's recursive mkdir then loops for
  // ever (a C++ loop no vm timeout can stop, hence a child process with a deadline)
  it.runIf(existsSync("/proc/self"))(
    "refuses an output directory under /proc instead of spinning in mkdir",
    () => {
      const where = "/proc/mmulab-no-such-dir/x";
      for (const args of [
        ["kernel", "install", "--data-dir", where],
        ["race-matrix", "--trials", "1", "--profiles", "v4.13", "--examples", where],
      ]) {
        const r = mmulab(...args);
        expect(r.signal, args.join(" ")).toBe(null);
        expect(r.status).toBe(2);
        expect(r.stderr).toContain("cannot be made there");
      }
    },
  );
});
