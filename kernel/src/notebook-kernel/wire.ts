/**
 * The Jupyter wire protocol (messaging spec 5.3, "The Wire Protocol"): how one message travels as
 * ZeroMQ frames, and how it is signed.
 *
 *   [identity…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffer…]
 *
 * The signature is the hex HMAC (scheme from the connection file, normally hmac-sha256) of the four
 * JSON frames in that order. An empty key disables signing (signature ""). A message whose
 * signature does not verify, or that repeats a signature already seen, is rejected: the spec asks
 * kernels to guard against replay, as ipykernel does with its digest history.
 *
 * Pure: no sockets here, so the tests drive it with frames.
 */
import { createHmac, getHashes, randomUUID, timingSafeEqual } from "node:crypto";
import type { JsonObject } from "../contract/mime.js";

export const PROTOCOL_VERSION = "5.3";
export const DELIMITER = "<IDS|MSG>";
const DELIMITER_BYTES = Buffer.from(DELIMITER);

export interface MessageHeader {
  readonly msg_id: string;
  readonly session: string;
  readonly username: string;
  /** ISO 8601. */
  readonly date: string;
  readonly msg_type: string;
  readonly version: string;
}

/** One Jupyter message. `parent_header` is `{}` for messages that answer nothing. */
export interface JupyterMessage {
  /** ZeroMQ routing prefix (ROUTER sockets); replies copy it from their request. */
  readonly identities: readonly Buffer[];
  readonly header: MessageHeader;
  readonly parent_header: MessageHeader | Record<string, never>;
  readonly metadata: JsonObject;
  readonly content: JsonObject;
  readonly buffers: readonly Buffer[];
}

/** A malformed, unsigned or replayed message. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

/**
 * Signs and verifies messages for one connection. Keeps the last `historySize` signatures it
 * verified to refuse replays.
 */
export class Signer {
  readonly scheme: string;
  private readonly key: Buffer;
  private readonly algorithm: string | null;
  private readonly seen = new Set<string>();
  private readonly historySize: number;

  constructor(scheme: string, key: string, historySize = 1024) {
    this.scheme = scheme;
    this.key = Buffer.from(key, "utf8");
    this.historySize = historySize;
    if (key === "") {
      this.algorithm = null;
      return;
    }
    const match = /^hmac-([a-z0-9-]+)$/i.exec(scheme);
    const algorithm = match?.[1]?.toLowerCase();
    if (algorithm === undefined || !getHashes().includes(algorithm)) {
      throw new WireError(
        `signature_scheme = ${JSON.stringify(scheme)} is not supported; expected "hmac-<hash>" ` +
          `with a hash Node's crypto knows (e.g. "hmac-sha256")`,
      );
    }
    this.algorithm = algorithm;
  }

  /** Whether messages are signed at all (a non-empty key). */
  get enabled(): boolean {
    return this.algorithm !== null;
  }

  /** The hex signature of the four JSON frames. */
  sign(frames: readonly Buffer[]): string {
    if (this.algorithm === null) return "";
    const hmac = createHmac(this.algorithm, this.key);
    for (const f of frames) hmac.update(f);
    return hmac.digest("hex");
  }

  /** Throws a WireError unless `signature` signs `frames` and was not seen before. */
  verify(signature: string, frames: readonly Buffer[]): void {
    if (this.algorithm === null) return;
    const expected = Buffer.from(this.sign(frames), "utf8");
    const got = Buffer.from(signature, "utf8");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new WireError("message signature does not verify");
    }
    if (this.seen.has(signature)) throw new WireError("message signature was already used");
    this.seen.add(signature);
    if (this.seen.size > this.historySize) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

function parseJsonFrame(frame: Buffer | undefined, what: string): JsonObject {
  if (frame === undefined) throw new WireError(`message has no ${what} frame`);
  let value: unknown;
  try {
    value = JSON.parse(frame.toString("utf8"));
  } catch (error) {
    throw new WireError(`${what} frame is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new WireError(`${what} frame is not a JSON object`);
  }
  return value as JsonObject;
}

function checkHeader(h: JsonObject, what: string): MessageHeader {
  for (const key of ["msg_id", "msg_type"] as const) {
    if (typeof h[key] !== "string")
      throw new WireError(`${what}.${key} is missing or not a string`);
  }
  return {
    msg_id: h["msg_id"] as string,
    msg_type: h["msg_type"] as string,
    session: typeof h["session"] === "string" ? h["session"] : "",
    username: typeof h["username"] === "string" ? h["username"] : "",
    date: typeof h["date"] === "string" ? h["date"] : "",
    version: typeof h["version"] === "string" ? h["version"] : PROTOCOL_VERSION,
  };
}

/** Frames received on a socket → a verified message. */
export function decodeMessage(frames: readonly Buffer[], signer: Signer): JupyterMessage {
  const delim = frames.findIndex((f) => f.equals(DELIMITER_BYTES));
  if (delim < 0) throw new WireError(`message has no ${DELIMITER} delimiter`);
  const signature = frames[delim + 1];
  if (signature === undefined) throw new WireError("message has no signature frame");
  const body = frames.slice(delim + 2, delim + 6);
  if (body.length < 4) throw new WireError(`message has ${body.length} of the 4 JSON frames`);
  signer.verify(signature.toString("utf8"), body);
  const header = checkHeader(parseJsonFrame(body[0], "header"), "header");
  const parentRaw = parseJsonFrame(body[1], "parent_header");
  const parent_header =
    Object.keys(parentRaw).length === 0
      ? ({} as Record<string, never>)
      : checkHeader(parentRaw, "parent_header");
  return {
    identities: frames.slice(0, delim),
    header,
    parent_header,
    metadata: parseJsonFrame(body[2], "metadata"),
    content: parseJsonFrame(body[3], "content"),
    buffers: frames.slice(delim + 6),
  };
}

/** A message → the frames to send, signed. */
export function encodeMessage(msg: JupyterMessage, signer: Signer): Buffer[] {
  const body = [msg.header, msg.parent_header, msg.metadata, msg.content].map((part) =>
    Buffer.from(JSON.stringify(part), "utf8"),
  );
  return [
    ...msg.identities,
    DELIMITER_BYTES,
    Buffer.from(signer.sign(body), "utf8"),
    ...body,
    ...msg.buffers,
  ];
}

/** A fresh header. */
export function newHeader(msgType: string, session: string, username = "mmulab"): MessageHeader {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

export interface NewMessageOptions {
  readonly parent?: JupyterMessage | MessageHeader | null;
  readonly identities?: readonly Buffer[];
  readonly metadata?: JsonObject;
  readonly buffers?: readonly Buffer[];
  readonly session: string;
}

/** Builds a message; with `parent` a message, identities default to the parent's (a reply). */
export function newMessage(
  msgType: string,
  content: JsonObject,
  options: NewMessageOptions,
): JupyterMessage {
  const parent = options.parent ?? null;
  const parentHeader =
    parent === null ? ({} as Record<string, never>) : "header" in parent ? parent.header : parent;
  const identities =
    options.identities ?? (parent !== null && "header" in parent ? parent.identities : []);
  return {
    identities,
    header: newHeader(msgType, options.session),
    parent_header: parentHeader,
    metadata: options.metadata ?? {},
    content,
    buffers: options.buffers ?? [],
  };
}
