import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/contract/mime.js";
import { setNotebookRuntime, type NotebookRuntime } from "../../src/display/runtime.js";
import {
  commInfo,
  dispatchCommClose,
  dispatchCommMsg,
  dispatchCommOpen,
  installSweepTarget,
  openComm,
  registerCommTarget,
  registerSweepHandler,
} from "../../src/notebook/comm.js";

interface Published {
  msgType: string;
  content: JsonObject;
}

function fakeRuntime(log: Published[]): NotebookRuntime {
  return {
    displayData: () => undefined,
    clearOutput: () => undefined,
    page: () => undefined,
    publish: (msgType, content) => {
      log.push({ msgType, content });
    },
    interruptRequested: () => false,
    onInterrupt: () => () => undefined,
    input: () => Promise.reject(new Error("no stdin")),
  };
}

const msg = (data: JsonObject) => ({ data, metadata: {}, buffers: [] });

describe("comms", () => {
  let log: Published[];
  let uninstall: () => void;
  beforeEach(() => {
    log = [];
    setNotebookRuntime(fakeRuntime(log));
    uninstall = installSweepTarget();
  });
  afterEach(() => {
    uninstall();
    setNotebookRuntime(null);
  });

  it("mmulab.sweep says it is ready, answers with the sweep's handler, and sends its errors", async () => {
    expect(await dispatchCommOpen("s1", "mmulab.sweep", msg({}))).toBe(true);
    expect(log[0]).toEqual({
      msgType: "comm_msg",
      content: { comm_id: "s1", data: { ready: true, protocol: 2 } },
    });
    const off = registerSweepHandler("cpus", async (req) => {
      await Promise.resolve();
      const [cpus] = req["key"] as number[];
      if (cpus === 0) throw new RangeError("no CPUs");
      return { ipis: Number(cpus) - 1 };
    });
    await dispatchCommMsg("s1", msg({ id: 8, sweep: "cpus", key: [4] }));
    expect(log[1]?.content["data"]).toEqual({ id: 8, ok: true, result: { ipis: 3 } });
    await dispatchCommMsg("s1", msg({ id: 9, sweep: "cpus", key: [0] }));
    expect(log[2]?.content["data"]).toEqual({
      id: 9,
      ok: false,
      error: { name: "RangeError", message: "no CPUs" },
    });
    off();
    expect(commInfo("mmulab.sweep")).toEqual({ s1: { target_name: "mmulab.sweep" } });
    expect(await dispatchCommClose("s1", msg({}))).toBe(true);
    expect(commInfo(null)).toEqual({});
  });

  it("answers a request naming a sweep with that sweep's handler, and refuses the rest", async () => {
    const offA = registerSweepHandler("a", () => "from a");
    const offB = registerSweepHandler("b", () => "from b");
    await dispatchCommOpen("s2", "mmulab.sweep", msg({}));
    await dispatchCommMsg("s2", msg({ id: 1, sweep: "a", key: [1] }));
    await dispatchCommMsg("s2", msg({ id: 2, sweep: "b", key: [1] }));
    // No sweep id: refused, although handlers exist (protocol 1 answered it with the last one).
    await dispatchCommMsg("s2", msg({ id: 3, key: [1] }));
    offA();
    await dispatchCommMsg("s2", msg({ id: 4, sweep: "a", key: [1] }));
    await dispatchCommMsg("s2", msg({ id: 5, sweep: 7, key: [1] }));
    offB();
    const answers = log.slice(1).map((p) => p.content["data"] as JsonObject);
    expect(answers.slice(0, 2).map((a) => a["result"])).toEqual(["from a", "from b"]);
    expect(answers[2]).toMatchObject({ id: 3, ok: false, error: { name: "ParameterError" } });
    expect((answers[2]!["error"] as JsonObject)["message"]).toMatch(
      /sweep = undefined is not accepted; expected the id of the sweep a live plot carries/,
    );
    expect(answers[3]).toMatchObject({ id: 4, ok: false, error: { name: "ParameterError" } });
    expect((answers[3]!["error"] as JsonObject)["message"]).toMatch(/sweep = "a"/);
    expect(answers[4]).toMatchObject({ id: 5, ok: false, error: { name: "ParameterError" } });
  });

  it("closes comms to unknown targets and ignores unknown ids", async () => {
    expect(await dispatchCommOpen("x", "nobody", msg({}))).toBe(false);
    expect(log).toEqual([{ msgType: "comm_close", content: { comm_id: "x", data: {} } }]);
    expect(await dispatchCommMsg("nope", msg({}))).toBe(false);
  });

  it("opens comms from the kernel and delivers close to handlers", async () => {
    const c = openComm("front.thing", { a: 1 });
    expect(log[0]?.msgType).toBe("comm_open");
    expect(log[0]?.content["target_name"]).toBe("front.thing");
    let closed = false;
    c.onClose(() => {
      closed = true;
    });
    await dispatchCommClose(c.commId, msg({}));
    expect(closed).toBe(true);
    expect(() => c.send({})).toThrow(/closed/);
  });

  it("unregisters targets", async () => {
    const off = registerCommTarget("t", (comm) => comm.send({ hi: true }));
    off();
    expect(await dispatchCommOpen("c", "t", msg({}))).toBe(false);
  });
});
