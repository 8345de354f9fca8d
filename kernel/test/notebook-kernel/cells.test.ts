/**
 * Cell semantics as users of ipykernel expect them, end to end over ZeroMQ against the built
 * kernel (kernel/dist): what a failed or interrupted cell leaves defined, names that tslab's
 * compiler used to mangle across cells, Shift+Tab inside a call, aborted replies, and errors
 * raised after a cell has finished.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchKernel, type LaunchedKernel } from "../../src/notebook-kernel/client.js";
import { KERNEL_MAIN } from "../../src/notebook-kernel/kernelspec.js";
import type { JupyterMessage } from "../../src/notebook-kernel/wire.js";

const built = existsSync(KERNEL_MAIN);

function text(outputs: readonly JupyterMessage[]): string | undefined {
  const r = outputs.find((m) => m.header.msg_type === "execute_result");
  return (r?.content["data"] as Record<string, string> | undefined)?.["text/plain"];
}

describe.runIf(built)("cell semantics like ipykernel's", () => {
  let k: LaunchedKernel;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mmulab-cells-"));
    k = await launchKernel({
      cwd: dir,
      env: { ...process.env, MMULAB_INTERRUPT_GRACE_MS: "200", MMULAB_INTERRUPT_KILL_MS: "3000" },
    });
  }, 90_000);

  afterAll(async () => {
    await k?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Runs a cell that must succeed; returns its result text. */
  async function value(code: string): Promise<string | undefined> {
    const r = await k.client.execute(code);
    expect(r.reply.content["status"], JSON.stringify(r.reply.content)).toBe("ok");
    return text(r.outputs);
  }

  async function interrupted(code: string): Promise<JupyterMessage> {
    const run = k.client.startExecute(code);
    await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "execute_input",
    );
    await new Promise((r) => setTimeout(r, 100));
    k.client.request("control", "interrupt_request", {});
    return (await run.done).reply;
  }

  it("keeps what a cell declared before it threw; names after the throw stay undefined", async () => {
    const r = await k.client.execute(
      'import { Simulation, type Kfn } from "mmulab";\n' +
        "const crashed = new Simulation({ seed: 1, trace: false });\n" +
        "crashed.process('ticker', (function* (): Kfn<void> { for (;;) yield 10; })());\n" +
        "crashed.run({ until: 100 });\n" +
        "let notes = { step: 'ran to 100' };\n" +
        'throw new Error("the system crashed");\n' +
        "const after = 2;",
      { stopOnError: false },
    );
    expect(r.reply.content["evalue"]).toBe("the system crashed");
    // The crashed system can be inspected, with its type.
    expect(await value("crashed.now + ': ' + notes.step.toUpperCase()")).toBe("'100: RAN TO 100'");
    const gone = await k.client.execute("after");
    expect(gone.reply.content["ename"]).toBe("TSError");
    expect(gone.reply.content["evalue"]).toContain("Cannot find name 'after'");
  });

  it("leaves a name the failed cell redeclared but never reached as it was", async () => {
    await value('let kept = "old";');
    const r = await k.client.execute(
      'const early = 1;\nthrow new Error("stop");\nconst kept = 5;\nconst late = early;',
      { stopOnError: false },
    );
    expect(r.reply.content["status"]).toBe("error");
    expect(await value("kept.toUpperCase() + early")).toBe("'OLD1'");
    expect((await k.client.execute("late")).reply.content["evalue"]).toContain(
      "Cannot find name 'late'",
    );
  });

  it("keeps what an awaiting cell declared before it was interrupted", async () => {
    const reply = await interrupted(
      "const rows: number[] = [1, 2];\n" +
        "const started = true;\n" +
        "const big = await new Promise<number[]>(() => { rows.push(3); });",
    );
    expect(reply.content["ename"]).toBe("KeyboardInterrupt");
    expect(await value("rows.length + (started ? 10 : 0)")).toBe("13");
    expect((await k.client.execute("big")).reply.content["evalue"]).toContain(
      "Cannot find name 'big'",
    );
  });

  it("keeps what a synchronous cell declared before SIGINT stopped it", async () => {
    const reply = await interrupted("const partial = [1, 2, 3];\nwhile (true) {}");
    expect(reply.content["ename"]).toBe("KeyboardInterrupt");
    expect(await value("partial.length")).toBe("3");
  });

  it("resolves shorthand properties to earlier cells' names", async () => {
    await value("const seed = 7;\nlet total = 0;");
    expect(await value("const o = { seed, extra: 1 };\no.seed + o.extra")).toBe("8");
    // In a destructuring assignment, with and without a default.
    expect(await value("({ total } = { total: 5 });\ntotal")).toBe("5");
    expect(await value("({ total = 9 } = {});\ntotal + seed")).toBe("16");
    expect(await value("seed")).toBe("7");
  });

  it("imports and declares names with two leading underscores", async () => {
    expect(
      await value(
        'import { __get_user_pages_fast } from "mmulab";\n' +
          "const __mine = 3;\n" +
          "typeof __get_user_pages_fast + __mine",
      ),
    ).toBe("'function3'");
    expect(await value("typeof __get_user_pages_fast + (__mine + 1)")).toBe("'function4'");
  });

  it("inspects the callee inside a call's parentheses, like Shift+Tab in ipykernel", async () => {
    const inspect = async (code: string, cursor = code.length) => {
      const r = await k.client.request("shell", "inspect_request", {
        code,
        cursor_pos: cursor,
        detail_level: 0,
      }).reply;
      return {
        found: r.content["found"],
        text: (r.content["data"] as Record<string, string>)["text/plain"] ?? "",
      };
    };
    const head = 'import { runTrial, Simulation } from "mmulab";\n';
    const open = await inspect(`${head}runTrial(`);
    expect(open.found).toBe(true);
    expect(open.text).toContain("runTrial(opts: TrialOptions): TrialResult");
    expect(open.text).toContain("race scenario");
    const inArgs = `${head}runTrial({ scenario: "walker-vs-munmap", seed: 1 })`;
    const inside = await inspect(inArgs, inArgs.indexOf("seed: 1") - 1);
    expect(inside.text).toContain("runTrial(opts: TrialOptions)");
    const method = await inspect(`${head}const s = new Simulation({ seed: 1 });\ns.run(`);
    expect(method.text).toMatch(/\(method\) Simulation\.run\(/);
    const ctor = await inspect(`${head}new Simulation(`);
    expect(ctor.text).toContain("Simulation(");
    // A name at the cursor still wins inside the parentheses.
    const arg = `${head}const trialSeed = 3;\nrunTrial({ scenario: "x", seed: trialSeed`;
    expect((await inspect(arg)).text).toContain("const trialSeed: 3");
    expect((await inspect(`${head}1 + 2`)).found).toBe(false);
  });

  it("gives aborted replies no execution count", async () => {
    const first = k.client.startExecute('throw new Error("first")', { stopOnError: true });
    const second = k.client.startExecute("2 + 2");
    const failed = (await first.done).reply.content;
    expect(failed["status"]).toBe("error");
    const aborted = (await second.done).reply.content;
    expect(aborted).toEqual({ status: "aborted" });
  });

  it("shows an error raised by a timer after its cell finished, on that cell", async () => {
    const run = k.client.startExecute(
      "setTimeout(() => {\n  throw new RangeError('late timer');\n}, 50);\n'scheduled'",
    );
    expect(text((await run.done).outputs)).toBe("'scheduled'");
    const late = await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "error",
    );
    expect(late.content["ename"]).toBe("RangeError");
    expect(late.content["evalue"]).toBe("late timer");
    const tb = (late.content["traceback"] as string[]).join("\n");
    expect(tb).toContain("Uncaught exception");
    expect(tb).toMatch(/Cell In\[\d+\], line 2/);
  });

  it("shows a promise rejection nobody handled, on the cell that made it", async () => {
    const run = k.client.startExecute(
      "const failing = async () => { throw new TypeError('nobody waits'); };\nvoid failing();",
    );
    await run.done;
    const late = await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "error",
    );
    expect(late.content["ename"]).toBe("TypeError");
    expect((late.content["traceback"] as string[]).join("\n")).toContain(
      "Unhandled promise rejection",
    );
  });

  it("routes a late error to the cell that started it while another cell runs", async () => {
    const a = k.client.startExecute("setTimeout(() => { throw new Error('from A'); }, 200);");
    await a.done;
    const b = k.client.startExecute("await new Promise((r) => setTimeout(r, 600));\n'B done'");
    const late = await k.client.waitFor(
      (m) => m.header.msg_type === "error" && m.content["evalue"] === "from A",
    );
    expect(late.parent_header.msg_id).toBe(a.msgId);
    const out = await b.done;
    expect(out.reply.content["status"]).toBe("ok");
    expect(text(out.outputs)).toBe("'B done'");
  });
});
