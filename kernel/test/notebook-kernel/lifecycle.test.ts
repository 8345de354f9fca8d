/**
 * A kernel ends with all its processes: the front (the kernel process) and the executor it forked
 * (whose interrupt worker is a thread of it), when it is told to shut down, when the front is
 * killed, and when the process that started it (the Jupyter server, JPY_PARENT_PID) goes away —
 * even while a cell spins and the executor's event loop never turns.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KernelClient, launchKernel, newConnectionInfo } from "../../src/notebook-kernel/client.js";
import { KERNEL_MAIN } from "../../src/notebook-kernel/kernelspec.js";

const built = existsSync(KERNEL_MAIN);

/** Whether `pid` is a live process (a zombie is not: it has exited, unreaped). */
function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** Resolves once `pid` has exited; the test's timeout bounds the wait. */
async function gone(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
}

/** The executor's pid, asked of a cell, and a cell that never yields, started. */
async function spinning(client: KernelClient): Promise<number> {
  const r = await client.execute("process.pid");
  const data = r.outputs.find((m) => m.header.msg_type === "execute_result")?.content["data"];
  const pid = Number((data as Record<string, string>)["text/plain"]);
  expect(pid).toBeGreaterThan(1);
  const run = client.startExecute("while (true) {}");
  // It never gets a reply: the kernel goes away under it.
  run.done.catch(() => undefined);
  await client.waitFor(
    (m) => m.parent_header.msg_id === run.msgId && m.header.msg_type === "execute_input",
  );
  return pid;
}

describe.runIf(built)("the kernel's processes end with it", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "mmulab-life-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it("on shutdown_request, while a cell spins", async () => {
    const k = await launchKernel({ cwd: tempDir() });
    cleanups.push(() => k.process.kill("SIGKILL"));
    const executor = await spinning(k.client);
    const exited = new Promise((r) => k.process.on("exit", r));
    const reply = await k.client.request("control", "shutdown_request", { restart: false }).reply;
    expect(reply.content).toEqual({ status: "ok", restart: false });
    await exited;
    await gone(executor);
    k.client.close();
  }, 60_000);

  it("when the front is killed, while a cell spins", async () => {
    const k = await launchKernel({ cwd: tempDir() });
    cleanups.push(() => k.process.kill("SIGKILL"));
    const executor = await spinning(k.client);
    k.process.kill("SIGKILL");
    await gone(executor);
    k.client.close();
  }, 60_000);

  it("when the process that started it (JPY_PARENT_PID) dies without a word", async () => {
    const dir = tempDir();
    const conn = await newConnectionInfo();
    const file = join(dir, "kernel.json");
    writeFileSync(file, JSON.stringify(conn));
    // A stand-in for the Jupyter server: starts the kernel as jupyter_client does (own session,
    // JPY_PARENT_PID set to itself), prints the kernel's pid, and waits to be killed.
    const server = spawn(
      process.execPath,
      [
        "-e",
        `const { spawn } = require("node:child_process");
         const k = spawn(process.execPath, [process.argv[1], "--connection-file", process.argv[2]], {
           cwd: process.argv[3], detached: true, stdio: "ignore",
           env: { ...process.env, JPY_PARENT_PID: String(process.pid) },
         });
         console.log(k.pid);
         setInterval(() => {}, 1000);`,
        KERNEL_MAIN,
        file,
        dir,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    cleanups.push(() => server.kill("SIGKILL"));
    const kernel = await new Promise<number>((resolve) =>
      server.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim()))),
    );
    cleanups.push(() => {
      if (alive(kernel)) process.kill(kernel, "SIGKILL");
    });
    const client = new KernelClient(conn);
    cleanups.push(() => client.close());
    await client.connect();
    const executor = await spinning(client);
    server.kill("SIGKILL");
    await gone(kernel);
    await gone(executor);
  }, 60_000);
});
