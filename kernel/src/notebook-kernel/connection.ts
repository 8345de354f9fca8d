/**
 * The connection file a Jupyter client writes before it starts a kernel ("Handling a connection
 * file" in the jupyter_client docs): transport, address, the five ports and the signing key.
 */
import { readFileSync } from "node:fs";

export interface ConnectionInfo {
  readonly transport: "tcp" | "ipc";
  readonly ip: string;
  readonly shell_port: number;
  readonly iopub_port: number;
  readonly stdin_port: number;
  readonly control_port: number;
  readonly hb_port: number;
  readonly key: string;
  readonly signature_scheme: string;
  readonly kernel_name?: string;
}

export type Channel = "shell" | "iopub" | "stdin" | "control" | "hb";

/** Thrown for a connection file that is missing, not JSON, or lacks a field. */
export class ConnectionFileError extends Error {
  constructor(path: string, problem: string) {
    super(`connection file ${path}: ${problem}`);
    this.name = "ConnectionFileError";
  }
}

/** Validates a parsed connection file; `where` names it in errors. */
export function parseConnectionInfo(value: unknown, where: string): ConnectionInfo {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConnectionFileError(where, "is not a JSON object");
  }
  const o = value as Record<string, unknown>;
  const transport = o["transport"] ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new ConnectionFileError(
      where,
      `transport = ${JSON.stringify(transport)}; expected "tcp" or "ipc"`,
    );
  }
  const port = (name: string): number => {
    const p = o[name];
    if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 65535) {
      throw new ConnectionFileError(
        where,
        `${name} = ${JSON.stringify(p)}; expected an integer 0 … 65535`,
      );
    }
    return p;
  };
  const str = (name: string, fallback?: string): string => {
    const s = o[name] ?? fallback;
    if (typeof s !== "string") {
      throw new ConnectionFileError(where, `${name} = ${JSON.stringify(s)}; expected a string`);
    }
    return s;
  };
  const kernelName = o["kernel_name"];
  return {
    transport,
    ip: str("ip", "127.0.0.1"),
    shell_port: port("shell_port"),
    iopub_port: port("iopub_port"),
    stdin_port: port("stdin_port"),
    control_port: port("control_port"),
    hb_port: port("hb_port"),
    key: str("key", ""),
    signature_scheme: str("signature_scheme", "hmac-sha256"),
    ...(typeof kernelName === "string" ? { kernel_name: kernelName } : {}),
  };
}

export function readConnectionFile(path: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConnectionFileError(path, `cannot be read (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConnectionFileError(path, `is not JSON (${(error as Error).message})`);
  }
  return parseConnectionInfo(value, path);
}

/** The ZeroMQ endpoint of one channel: tcp://ip:port, or ipc://ip-port as jupyter_client names
 * IPC endpoints. */
export function endpoint(info: ConnectionInfo, channel: Channel): string {
  const port = info[`${channel}_port`];
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
