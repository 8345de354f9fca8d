/** Starts Debian's redis-server on loopback on a free port with its data in a temp dir. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeRedis } from "../../src/sweep/distributed.js";

export function redisServerPath(): string {
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const path = r.stdout.trim();
  if (path === "")
    throw new Error(
      "redis-server is not installed: the distributed sweep tests need Debian's redis-server " +
        "(apt-get install -y redis-server; .ci/run installs it)",
    );
  return path;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class TestRedis {
  private proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), "mmulab-redis-"));
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.startProcess();
    return r;
  }
  /** (Re)starts the server; its append-only file in `dir` survives a restart. */
  async startProcess(): Promise<void> {
    this.proc = spawn(
      redisServerPath(),
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--maxmemory-policy",
        "noeviction",
      ],
      { stdio: "ignore" },
    );
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        await probeRedis(this.url, 500);
        return;
      } catch (e) {
        if (Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  /** Stops the server (SIGTERM: a clean shutdown) and waits for it to exit. */
  async stopProcess(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGTERM");
    });
    this.proc = null;
  }
  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
