import { describe, expect, it } from "vitest";
import { CallQueue } from "../../src/hw/call-queue.js";
import type { Csd } from "../../src/hw/cpu.js";
import type { Kfn } from "../../src/sim/index.js";

function csd(name: string): Csd {
  return {
    func: function* none(): Kfn<void> {},
    name,
    ack: () => {},
    unack: () => {},
  };
}

/** Takes everything queued for `cpu` and runs it through, returning the names in order. */
function drain(q: CallQueue, cpu: number): string[] {
  q.takeAll(cpu);
  const out: string[] = [];
  for (let c = q.next(cpu); c !== undefined; c = q.next(cpu)) out.push(c.name);
  return out;
}

describe("the machine-wide call queue (each CPU's call_single_queue)", () => {
  it("gives each CPU the calls sent to it, in the order they were queued", () => {
    const q = new CallQueue(4);
    const ipi: number[] = [];
    q.enqueue(csd("a"), [1, 2], ipi);
    q.enqueue(csd("b"), [2, 3], ipi);
    q.enqueue(csd("c"), [1, 3], ipi);
    expect(q.queued(1).map((c) => c.name)).toEqual(["a", "c"]);
    expect(q.queued(2).map((c) => c.name)).toEqual(["a", "b"]);
    expect(q.queued(0)).toEqual([]);
    expect(drain(q, 3)).toEqual(["b", "c"]);
    expect(drain(q, 1)).toEqual(["a", "c"]);
    expect(drain(q, 2)).toEqual(["a", "b"]);
  });

  it("asks for an IPI only where the queue was empty (llist_add returned true)", () => {
    const q = new CallQueue(3);
    const ipi: number[] = [];
    q.enqueue(csd("a"), [1, 2], ipi);
    expect(ipi).toEqual([1, 2]);
    ipi.length = 0;
    q.enqueue(csd("b"), [1, 2], ipi);
    expect(ipi).toEqual([]);
    expect(q.empty(1)).toBe(false);
    // the handler takes the whole queue (llist_del_all): the next call needs an IPI again
    q.takeAll(1);
    expect(q.empty(1)).toBe(true);
    expect(q.taken(1).map((c) => c.name)).toEqual(["a", "b"]);
    q.enqueue(csd("c"), [1, 2], ipi);
    expect(ipi).toEqual([1]);
    // what was taken runs first; what came after waits for the next take
    expect(q.next(1)?.name).toBe("a");
    expect(q.next(1)?.name).toBe("b");
    expect(q.next(1)).toBeUndefined();
    expect(drain(q, 1)).toEqual(["c"]);
    expect(drain(q, 2)).toEqual(["a", "b", "c"]);
  });

  it("keeps a call until every target has run past it, and grows past its first capacity", () => {
    const q = new CallQueue(40);
    const ipi: number[] = [];
    // cpu 39 stays behind for 100 calls while cpu 1 keeps up: the list must grow and keep order
    for (let i = 0; i < 100; i++) {
      q.enqueue(csd(`x${i}`), [1, 39], ipi);
      expect(drain(q, 1)).toEqual([`x${i}`]);
    }
    const late = drain(q, 39);
    expect(late).toHaveLength(100);
    expect(late[0]).toBe("x0");
    expect(late[99]).toBe("x99");
    // everyone ran past everything: nothing is left for anyone
    expect(drain(q, 1)).toEqual([]);
    expect(drain(q, 39)).toEqual([]);
    q.enqueue(csd("y"), [39], ipi);
    expect(drain(q, 39)).toEqual(["y"]);
  });
});
