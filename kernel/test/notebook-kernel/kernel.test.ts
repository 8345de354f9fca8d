/**
 * The kernel end to end over ZeroMQ: the built front (kernel/dist, made by the pretest bootstrap)
 * driven by the TypeScript client. One kernel serves the whole file, started in a directory outside
 * the repository to show that `import … from "mmulab"` resolves (with types) from anywhere.
 *
 * Covers what jupyter_kernel_test does not: interrupts of a long simulation (a plain run, a busy
 * step, runWithProgress, awaiting, unreachable), stop_on_error and aborts, comm round trips on
 * `mmulab.sweep` and user targets, displays updated in place, stdin, user expressions, an
 * executor that dies.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchKernel, type LaunchedKernel } from "../../src/notebook-kernel/client.js";
import { KERNEL_MAIN } from "../../src/notebook-kernel/kernelspec.js";
import type { JupyterMessage } from "../../src/notebook-kernel/wire.js";

const built = existsSync(KERNEL_MAIN);

function types(outputs: readonly JupyterMessage[]): string[] {
  return outputs.map((m) => m.header.msg_type);
}

function result(outputs: readonly JupyterMessage[]): Record<string, unknown> | undefined {
  const r = outputs.find((m) => m.header.msg_type === "execute_result");
  return r?.content["data"] as Record<string, unknown> | undefined;
}

describe.runIf(built)("the mmulab kernel over ZeroMQ", () => {
  let k: LaunchedKernel;
  let dir: string;
  let stderr = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mmulab-nb-"));
    k = await launchKernel({
      cwd: dir,
      env: { ...process.env, MMULAB_INTERRUPT_GRACE_MS: "200", MMULAB_INTERRUPT_KILL_MS: "1500" },
      stderr: (t) => {
        stderr += t;
      },
    });
  }, 90_000);

  afterAll(async () => {
    await k?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("answers kernel_info with status and the real TypeScript version", () => {
    expect(k.info["status"]).toBe("ok");
    expect(k.info["protocol_version"]).toBe("5.3");
    const li = k.info["language_info"] as Record<string, unknown>;
    expect(li["name"]).toBe("typescript");
    expect(li["version"]).toMatch(/^5\.\d+\.\d+$/);
  });

  it("publishes execute_input and execute_result, with counts that increase", async () => {
    const a = await k.client.execute("const answer = 6 * 7;\nanswer");
    expect(a.reply.content["status"]).toBe("ok");
    const input = a.outputs.find((m) => m.header.msg_type === "execute_input");
    const n = input?.content["execution_count"] as number;
    expect(n).toBeGreaterThan(0);
    expect(result(a.outputs)).toEqual({ "text/plain": "42" });
    expect(a.reply.content["execution_count"]).toBe(n);
    const b = await k.client.execute("answer + 1");
    expect(b.reply.content["execution_count"]).toBe(n + 1);
    expect(result(b.outputs)?.["text/plain"]).toBe("43");
  });

  it("imports the simulator by name, with types checked", async () => {
    const ok = await k.client.execute(
      'import { Simulation, Machine } from "mmulab";\n' +
        "const sim = new Simulation({ seed: 5 });\n" +
        "const m = new Machine(sim, { nrCpus: 2 });\n" +
        "m.nrCpus",
    );
    expect(ok.reply.content["status"]).toBe("ok");
    expect(result(ok.outputs)?.["text/plain"]).toBe("2");
    const bad = await k.client.execute("const n: string = m.nrCpus;");
    expect(bad.reply.content["ename"]).toBe("TSError");
    expect(bad.reply.content["evalue"]).toContain("not assignable to type 'string'");
  });

  it("maps a runtime error to the cell line, and runs the next request", async () => {
    const r = await k.client.execute(
      "function check(n: number) {\n" +
        "  if (n > 3) {\n" +
        '    throw new RangeError("too many: " + n);\n' +
        "  }\n" +
        "}\n" +
        "check(1);\n" +
        "check(9);",
    );
    expect(r.reply.content["status"]).toBe("error");
    expect(r.reply.content["ename"]).toBe("RangeError");
    expect(r.reply.content["evalue"]).toBe("too many: 9");
    const tb = (r.reply.content["traceback"] as string[]).join("\n");
    expect(tb).toMatch(/Cell In\[\d+\], line 3, in check/);
    expect(tb).toContain("----> 3 |     throw new RangeError");
    expect(tb).toMatch(/Cell In\[\d+\], line 7\n/);
    expect(types(r.outputs)).toEqual(["execute_input", "error"]);
    const next = await k.client.execute("1 + 1");
    expect(next.reply.content["status"]).toBe("ok");
  });

  it("reports a simulator exception with its class and message", async () => {
    const r = await k.client.execute(
      'import { Simulation } from "mmulab";\nnew Simulation({ seed: -3 })',
    );
    expect(r.reply.content["ename"]).toBe("ParameterError");
    expect(r.reply.content["evalue"]).toContain("seed = -3");
  });

  it("gives syntax errors their own name", async () => {
    const r = await k.client.execute("const = 1;");
    expect(r.reply.content["ename"]).toBe("SyntaxError");
  });

  it("aborts queued executes after an error only when stop_on_error is set", async () => {
    const first = k.client.startExecute('throw new Error("first")', { stopOnError: true });
    const second = k.client.startExecute("2 + 2");
    expect((await first.done).reply.content["status"]).toBe("error");
    expect((await second.done).reply.content["status"]).toBe("aborted");

    const third = k.client.startExecute('throw new Error("third")', { stopOnError: false });
    const fourth = k.client.startExecute("3 + 3");
    expect((await third.done).reply.content["status"]).toBe("error");
    const f = await fourth.done;
    expect(f.reply.content["status"]).toBe("ok");
    expect(result(f.outputs)?.["text/plain"]).toBe("6");
  });

  it("stops a plain sim.run() between two events on interrupt; every process carries on", async () => {
    await k.client.execute(
      'import { Simulation, type Kfn } from "mmulab";\n' +
        "const forever = new Simulation({ seed: 1, trace: false });\n" +
        "let ticks = 0;\n" +
        "const ticker = forever.process('ticker', (function* (): Kfn<void> { for (;;) { ticks++; yield 10; } })());",
    );
    const run = k.client.startExecute("forever.run();");
    await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "execute_input",
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const ir = await k.client.request("control", "interrupt_request", {}).reply;
    expect(ir.content["status"]).toBe("ok");
    const out = await run.done;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(out.reply.content["status"]).toBe("error");
    // the engine saw the interrupt itself, before the kernel's SIGINT could cut a step in two
    expect(out.reply.content["ename"]).toBe("SimulationStopped");
    expect(out.reply.content["evalue"]).toContain("between two events");
    // the ticker was neither lost nor half-stepped: the next run() schedules it again
    const after = await k.client.execute(
      "const t1 = ticks;\n" +
        "const r = forever.run({ until: forever.now + 100 });\n" +
        "[r.reason, ticks - t1, ticker.status, answer]",
    );
    expect(result(after.outputs)?.["text/plain"]).toBe("[ 'until', 10, 'scheduled', 42 ]");
  });

  it("interrupts a busy cell with SIGINT; a run cut inside a step refuses to go on", async () => {
    // Each busy cell writes a file before it spins, and the interrupt waits for that file: sent
    // any earlier (a slow type-check of the cell on a loaded machine), it would land before the
    // code it is meant to stop.
    const started = async (path: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!existsSync(path) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(path)).toBe(true);
    };
    const imports = await k.client.execute(
      'import { writeFileSync } from "node:fs";\n' +
        'import { Simulation, type Kfn } from "mmulab";',
    );
    expect(imports.reply.content["status"]).toBe("ok");
    const spinning = join(dir, "loop-spinning");
    const loop = k.client.startExecute(
      `writeFileSync(${JSON.stringify(spinning)}, "in"); for (;;) {}`,
    );
    await started(spinning);
    k.client.request("control", "interrupt_request", {});
    expect((await loop.done).reply.content["ename"]).toBe("KeyboardInterrupt");

    // one process step that never yields: only SIGINT stops it, inside the step
    const inside = join(dir, "spinner-inside");
    const setup = await k.client.execute(
      "const stuck = new Simulation({ seed: 1, trace: false });\n" +
        "stuck.process('spinner', (function* (): Kfn<void> {\n" +
        `  yield 5; writeFileSync(${JSON.stringify(inside)}, "in"); for (;;) {}\n` +
        "})());",
    );
    expect(setup.reply.content["status"]).toBe("ok");
    const run = k.client.startExecute("stuck.run();");
    await started(inside);
    k.client.request("control", "interrupt_request", {});
    expect((await run.done).reply.content["ename"]).toBe("KeyboardInterrupt");
    const again = await k.client.execute("stuck.run();");
    expect(again.reply.content["ename"]).toBe("KernelStateError");
    expect(again.reply.content["evalue"]).toContain('cut off in a step of process "spinner"');
  });

  it("stops runWithProgress between two events on interrupt, with the progress display", async () => {
    await k.client.execute(
      'import { Simulation, runWithProgress, type Kfn } from "mmulab";\n' +
        "const long = new Simulation({ seed: 2, trace: false });\n" +
        "long.process('ticker', (function* (): Kfn<void> { for (;;) yield 10; })());",
    );
    const run = k.client.startExecute(
      "runWithProgress(long, { until: Number.MAX_SAFE_INTEGER - 1, chunkEvents: 5000 });",
    );
    // Wait for the progress display to exist and be updated at least once.
    await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "update_display_data",
    );
    k.client.request("control", "interrupt_request", {});
    const out = await run.done;
    expect(out.reply.content["ename"]).toBe("SimulationStopped");
    expect(out.reply.content["evalue"]).toContain("can be run further");
    const shown = out.outputs.filter((m) => m.header.msg_type === "display_data");
    expect(shown).toHaveLength(1);
    const id = (shown[0]!.content["transient"] as Record<string, unknown>)["display_id"];
    const updates = out.outputs.filter((m) => m.header.msg_type === "update_display_data");
    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) {
      expect((u.content["transient"] as Record<string, unknown>)["display_id"]).toBe(id);
    }
    // Consistent: the simulation runs on from where it stopped.
    const more = await k.client.execute(
      "const before = long.now;\nlong.run({ until: before + 100 }).now - before",
    );
    expect(result(more.outputs)?.["text/plain"]).toBe("100");
  });

  it("interrupts an awaiting cell at once", async () => {
    const run = k.client.startExecute("await new Promise(() => {});");
    await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "execute_input",
    );
    k.client.request("control", "interrupt_request", {});
    const out = await run.done;
    expect(out.reply.content["ename"]).toBe("KeyboardInterrupt");
  });

  it("updates a display in place", async () => {
    const r = await k.client.execute(
      'import { display, progress } from "mmulab";\n' +
        'const h = display("first");\n' +
        'h.update("second");\n' +
        "const p = progress(3, { label: 'steps', minIntervalMs: 0 });\n" +
        "p(1); p(2); p(3); p.finish();",
    );
    const d = r.outputs.filter((m) => m.header.msg_type === "display_data");
    const u = r.outputs.filter((m) => m.header.msg_type === "update_display_data");
    expect(d).toHaveLength(2);
    const idOf = (m: JupyterMessage) =>
      (m.content["transient"] as Record<string, string>)["display_id"];
    expect((d[0]!.content["data"] as Record<string, string>)["text/plain"]).toBe("'first'");
    expect(
      u
        .filter((m) => idOf(m) === idOf(d[0]!))
        .map((m) => (m.content["data"] as Record<string, string>)["text/plain"]),
    ).toEqual(["'second'"]);
    const bar = u.filter((m) => idOf(m) === idOf(d[1]!));
    expect(bar.length).toBeGreaterThanOrEqual(2);
    const last = bar.at(-1)!.content["data"] as Record<string, string>;
    expect(last["text/plain"]).toContain("100%");
    expect(last["text/html"]).toContain("<progress");
  });

  it("round-trips messages on the mmulab.sweep comm", async () => {
    const commId = "sweep-comm-1";
    const open = k.client.notify("comm_open", {
      comm_id: commId,
      target_name: "mmulab.sweep",
      data: {},
    });
    const ready = await k.client.waitFor(
      (m) => m.header.msg_type === "comm_msg" && m.parent_header.msg_id === open,
    );
    expect(ready.content["data"]).toEqual({ ready: true, protocol: 2 });

    // A request that names no sweep is refused, whatever handlers the kernel has.
    const anon = k.client.notify("comm_msg", { comm_id: commId, data: { id: 1, key: [900] } });
    const refused = await k.client.waitFor(
      (m) => m.header.msg_type === "comm_msg" && m.parent_header.msg_id === anon,
    );
    expect(refused.content["data"]).toMatchObject({
      id: 1,
      ok: false,
      error: { name: "ParameterError" },
    });

    await k.client.execute(
      'import { registerSweepHandler } from "mmulab/notebook";\n' +
        'registerSweepHandler("double", (req) => ({ doubled: Number((req.key as number[])[0]) * 2 }));',
    );
    const ask = k.client.notify("comm_msg", {
      comm_id: commId,
      data: { id: 2, sweep: "double", key: [21] },
    });
    const answer = await k.client.waitFor(
      (m) => m.header.msg_type === "comm_msg" && m.parent_header.msg_id === ask,
    );
    expect(answer.content["data"]).toEqual({ id: 2, ok: true, result: { doubled: 42 } });

    const info = await k.client.request("shell", "comm_info_request", {
      target_name: "mmulab.sweep",
    }).reply;
    expect(info.header.msg_type).toBe("comm_info_reply");
    expect(info.content["comms"]).toEqual({ [commId]: { target_name: "mmulab.sweep" } });

    const close = k.client.notify("comm_close", { comm_id: commId, data: {} });
    await k.client.idle(close);
    const after = await k.client.request("shell", "comm_info_request", {}).reply;
    expect(after.content["comms"]).toEqual({});
  });

  it("lets cells register comm targets and open comms", async () => {
    await k.client.execute(
      'import { registerCommTarget, openComm } from "mmulab/notebook";\n' +
        'registerCommTarget("test.upper", (comm) => {\n' +
        "  comm.onMsg(({ data }) => comm.send({ text: String(data.text).toUpperCase() }));\n" +
        "});",
    );
    const open = k.client.notify("comm_open", {
      comm_id: "c2",
      target_name: "test.upper",
      data: {},
    });
    await k.client.idle(open);
    const msg = k.client.notify("comm_msg", { comm_id: "c2", data: { text: "ipi" } });
    const reply = await k.client.waitFor(
      (m) => m.header.msg_type === "comm_msg" && m.parent_header.msg_id === msg,
    );
    expect(reply.content["data"]).toEqual({ text: "IPI" });

    const unknown = k.client.notify("comm_open", {
      comm_id: "c3",
      target_name: "no.such",
      data: {},
    });
    const closed = await k.client.waitFor(
      (m) => m.header.msg_type === "comm_close" && m.parent_header.msg_id === unknown,
    );
    expect(closed.content["comm_id"]).toBe("c3");

    const r = await k.client.execute(
      'const c = openComm("frontend.target", { hello: 1 }); c.commId',
    );
    const opened = r.outputs.find((m) => m.header.msg_type === "comm_open");
    expect(opened?.content["target_name"]).toBe("frontend.target");
    expect(opened?.content["data"]).toEqual({ hello: 1 });
  });

  it("asks the front end for input on stdin", async () => {
    const r = await k.client.execute(
      'import { input } from "mmulab";\nconst name = await input("CPU count? ");\n`got ${name}`',
      { onInput: (prompt) => (prompt === "CPU count? " ? "4" : "?") },
    );
    expect(result(r.outputs)?.["text/plain"]).toBe("'got 4'");
  });

  it("evaluates user expressions and honours silent", async () => {
    const r = await k.client.execute("const ue = 5;", {
      userExpressions: { twice: "ue * 2", bad: "nope" },
    });
    const ue = r.reply.content["user_expressions"] as Record<string, Record<string, unknown>>;
    expect(ue["twice"]?.["status"]).toBe("ok");
    expect((ue["twice"]?.["data"] as Record<string, string>)["text/plain"]).toBe("10");
    expect(ue["bad"]?.["status"]).toBe("error");
    const s = await k.client.execute("99", { silent: true });
    expect(types(s.outputs)).toEqual([]);
  });

  it("answers completion, inspection and is_complete on the simulator's API", async () => {
    const code = 'import * as mm from "mmulab";\nmm.runWithProg';
    const c = await k.client.request("shell", "complete_request", { code, cursor_pos: code.length })
      .reply;
    expect(c.content["matches"]).toContain("runWithProgress");
    expect(c.content["cursor_end"]).toBe(code.length);
    const code2 = 'import { runWithProgress } from "mmulab";\nrunWithProgress';
    const i = await k.client.request("shell", "inspect_request", {
      code: code2,
      cursor_pos: code2.length,
      detail_level: 0,
    }).reply;
    expect(i.content["found"]).toBe(true);
    expect(String((i.content["data"] as Record<string, string>)["text/plain"])).toContain(
      "Runnable",
    );
    for (const [src, status] of [
      ["sim.run({", "incomplete"],
      ["sim.run({})", "complete"],
      ["sim.run(})", "invalid"],
    ] as const) {
      const r = await k.client.request("shell", "is_complete_request", { code: src }).reply;
      expect(r.content["status"], src).toBe(status);
    }
  });

  it("keeps history with outputs", async () => {
    await k.client.execute("'history marker'");
    const h = await k.client.request("shell", "history_request", {
      hist_access_type: "tail",
      n: 1,
      output: true,
      raw: true,
    }).reply;
    expect(h.content["history"]).toEqual([
      [1, expect.any(Number), ["'history marker'", "'history marker'"]],
    ]);
  });

  it("refuses a sweep past its ceilings in a cell, before any work, keeping the kernel's state", async () => {
    // before f85012b: an int range of 1e9 values was a V8 fatal error that killed the executor,
    // and three 1,000-value axes hung it
    const setup = await k.client.execute(
      'import { runSweep } from "mmulab/notebook";\nconst kept = "still here";\nkept',
    );
    expect(result(setup.outputs)?.["text/plain"]).toBe("'still here'");
    for (const params of [
      "{ x: { kind: 'int', min: 0, max: 1e9 } }",
      "{ x: { kind: 'float', min: 0, max: 1, steps: 1e9 } }",
      "{ a: { kind: 'int', min: 1, max: 1000 }, b: { kind: 'int', min: 1, max: 1000 }, " +
        "c: { kind: 'int', min: 1, max: 1000 } }",
    ]) {
      const r = await k.client.execute(`await runSweep({ run: "synthetic", params: ${params} })`);
      expect(r.reply.content["ename"], params).toBe("ParameterError");
      expect(r.reply.content["evalue"]).toMatch(/at most (10000 grid values|1000000 points)/);
    }
    const after = await k.client.execute("kept");
    expect(result(after.outputs)?.["text/plain"]).toBe("'still here'");
  }, 60_000);

  it("sweeps a run function written in a cell on worker threads, from its source", async () => {
    const r = await k.client.execute(
      [
        'import { defineRunFunction } from "mmulab";',
        'import { runSweep } from "mmulab/notebook";',
        'defineRunFunction("cell-trial", (p, seed, { runTrial }) => {',
        '  const t = runTrial({ scenario: "walker-vs-munmap", profile: String(p.profile), backend: "xen-pv", seed, trace: false, history: false });',
        "  return { uaf: t.uaf, munmapUs: t.munmapNs / 1000 };",
        "});",
        'const cellSpec = { run: "cell-trial", params: { profile: ["v4.13", "v4.14"] }, seeds: 4 };',
        "const onThreads = await runSweep(cellSpec, { workers: 2, progress: false });",
        "const inline = await runSweep(cellSpec, { workers: 0, progress: false });",
        "JSON.stringify(onThreads.rows) === JSON.stringify(inline.rows) &&",
        '  onThreads.rows.every((row) => row.status === "ok") && onThreads.rows.length',
      ].join("\n"),
    );
    expect(r.reply.content["status"], JSON.stringify(r.reply.content)).toBe("ok");
    expect(result(r.outputs)?.["text/plain"]).toBe("8");
  }, 60_000);

  it("survives a cell that never yields to SIGINT, losing only the state", async () => {
    const run = k.client.startExecute("await null;\nwhile (true) {}");
    await k.client.waitFor(
      (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "execute_input",
    );
    k.client.request("control", "interrupt_request", {});
    const out = await run.done;
    expect(out.reply.content["ename"]).toBe("KeyboardInterrupt");
    expect(out.reply.content["evalue"]).toContain("restarted");
    const gone = await k.client.execute("answer");
    expect(gone.reply.content["ename"]).toBe("TSError");
    expect(gone.reply.content["evalue"]).toContain("Cannot find name 'answer'");
    const next = await k.client.execute("const fresh = 1;\nfresh");
    expect(result(next.outputs)?.["text/plain"]).toBe("1");
  }, 60_000);

  it("replaces an executor that exits", async () => {
    const r = await k.client.execute("process.exit(3)");
    expect(r.reply.content["ename"]).toBe("ExecutorDied");
    expect(r.reply.content["evalue"]).toContain("code 3");
    const next = await k.client.execute('import { VERSION } from "mmulab";\nVERSION');
    expect(next.reply.content["status"]).toBe("ok");
    expect(stderr).toContain("starting a new one");
  }, 60_000);
});
