import { describe, expect, it } from "vitest";
import {
  decodeMessage,
  DELIMITER,
  encodeMessage,
  newMessage,
  Signer,
  WireError,
} from "../../src/notebook-kernel/wire.js";

const KEY = "a0436f6c-1916-498b-8eb9-e81ab9368e84";

describe("the Jupyter wire protocol", () => {
  it("round-trips a signed message with identities and buffers", () => {
    const signer = new Signer("hmac-sha256", KEY);
    const msg = newMessage(
      "execute_request",
      { code: "1 + 1" },
      { session: "s1", identities: [Buffer.from("client-1")], buffers: [Buffer.from([1, 2, 3])] },
    );
    const frames = encodeMessage(msg, signer);
    expect(frames[0]!.toString()).toBe("client-1");
    expect(frames[1]!.toString()).toBe(DELIMITER);
    expect(frames[2]!.toString()).toMatch(/^[0-9a-f]{64}$/);
    const back = decodeMessage(frames, new Signer("hmac-sha256", KEY));
    expect(back.header).toEqual(msg.header);
    expect(back.content).toEqual({ code: "1 + 1" });
    expect(back.identities.map(String)).toEqual(["client-1"]);
    expect([...back.buffers[0]!]).toEqual([1, 2, 3]);
  });

  it("signs what jupyter_client signs: HMAC over header, parent, metadata, content", () => {
    const signer = new Signer("hmac-sha256", "key");
    const parts = ["{}", "{}", "{}", "{}"].map((s) => Buffer.from(s));
    // python3: h = hmac.HMAC(b"key", digestmod=hashlib.sha256); 4 × h.update(b"{}"); h.hexdigest()
    expect(signer.sign(parts)).toBe(
      "ca767b02c5bc061ed184a9a029e7f93a7f2f7ed4e8fe74120fc1212f0b008fa3",
    );
  });

  it("rejects a wrong signature and a replayed one", () => {
    const signer = new Signer("hmac-sha256", KEY);
    const frames = encodeMessage(newMessage("kernel_info_request", {}, { session: "s" }), signer);
    const tampered = [...frames];
    tampered[tampered.length - 1] = Buffer.from('{"evil":true}');
    const receiver = new Signer("hmac-sha256", KEY);
    expect(() => decodeMessage(tampered, receiver)).toThrow(/does not verify/);
    decodeMessage(frames, receiver);
    expect(() => decodeMessage(frames, receiver)).toThrow(/already used/);
  });

  it("does not sign with an empty key", () => {
    const signer = new Signer("hmac-sha256", "");
    expect(signer.enabled).toBe(false);
    const frames = encodeMessage(
      newMessage("status", { execution_state: "idle" }, { session: "s" }),
      signer,
    );
    expect(frames[1]!.toString()).toBe("");
    expect(decodeMessage(frames, signer).content).toEqual({ execution_state: "idle" });
  });

  it("names what is wrong with a malformed message", () => {
    const signer = new Signer("hmac-sha256", "");
    expect(() => decodeMessage([Buffer.from("x")], signer)).toThrow(WireError);
    expect(() =>
      decodeMessage([Buffer.from(DELIMITER), Buffer.from(""), Buffer.from("{}")], signer),
    ).toThrow(/1 of the 4 JSON frames/);
    const notJson = [DELIMITER, "", "{", "{}", "{}", "{}"].map((s) => Buffer.from(s));
    expect(() => decodeMessage(notJson, signer)).toThrow(/header frame is not JSON/);
    expect(() => new Signer("rot13", "k")).toThrow(/signature_scheme = "rot13"/);
  });

  it("makes replies that answer their request", () => {
    const req = newMessage(
      "kernel_info_request",
      {},
      { session: "client", identities: [Buffer.from("id")] },
    );
    const reply = newMessage(
      "kernel_info_reply",
      { status: "ok" },
      { parent: req, session: "kernel" },
    );
    expect(reply.parent_header).toEqual(req.header);
    expect(reply.identities).toEqual(req.identities);
    expect(reply.header.version).toBe("5.3");
  });
});
