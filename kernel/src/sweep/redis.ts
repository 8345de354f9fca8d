/**
 * Reaching the Redis of a distributed sweep: its URL, BullMQ's connection options, a bounded
 * probe, and the typed error for a Redis that cannot be reached or stopped answering.
 */
import { connect } from "node:net";
import type { ConnectionOptions } from "bullmq";
import { MmulabError, ParameterError } from "../sim/errors.js";
import type { SweepResult } from "./results.js";

/**
 * Redis could not be reached (or stopped answering for too long). Thrown mid-sweep, it carries
 * the rows already collected in `partial`.
 */
export class RedisUnavailableError extends MmulabError {
  readonly url: string;
  readonly partial?: SweepResult;
  constructor(url: string, reason: string, partial?: SweepResult) {
    super(
      `Redis at ${url} is unavailable: ${reason}` +
        (partial === undefined ? "" : ` (${partial.rows.length} rows kept in .partial)`),
    );
    this.url = url;
    if (partial !== undefined) this.partial = partial;
  }
}

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db?: number;
  readonly username?: string;
  readonly password?: string;
}

export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ParameterError("redis", url, "a URL redis://host:port[/db]", "sweep");
  }
  if (u.protocol !== "redis:")
    throw new ParameterError("redis", url, "a URL redis://host:port[/db]", "sweep");
  const port = u.port === "" ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname === "" ? "127.0.0.1" : u.hostname.replace(/^\[|\]$/g, ""),
    port,
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.username !== "" ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== "" ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** BullMQ's connection: commands wait through a reconnect (the callers bound every wait). */
export function connection(url: string): ConnectionOptions {
  return {
    ...parseRedisUrl(url),
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
}

/** Opens a TCP connection and sends PING; rejects with RedisUnavailableError within timeoutMs. */
export function probeRedis(url: string, timeoutMs = 2000): Promise<void> {
  const t = parseRedisUrl(url);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: t.host, port: t.port });
    const fail = (why: string) => {
      sock.destroy();
      reject(new RedisUnavailableError(url, why));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.once("error", (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => {
      clearTimeout(timer);
      sock.destroy();
      const s = d.toString();
      if (s.startsWith("+PONG") || s.startsWith("-NOAUTH")) resolve();
      else reject(new RedisUnavailableError(url, `unexpected answer ${JSON.stringify(s.trim())}`));
    });
  });
}

/** `p`, or a rejection after `ms` (the operation itself goes on; its result is dropped). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
