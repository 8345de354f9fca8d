/**
 * sweep/wire.ts: a chunk packed for a worker thread and its packed outcomes give back exactly what
 * running each task in place gives, failures and odd metric shapes included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { registerRunFunction, type Metrics } from "../../src/sweep/run-functions.js";
import { sweepTasks } from "../../src/sweep/space.js";
import { runTask } from "../../src/sweep/task.js";
import { packOutcomes, packTasks, runChunk, unpackOutcomes } from "../../src/sweep/wire.js";

// Metric names that depend on the seed: some tasks of a chunk do not share the first one's.
registerRunFunction("wire-test-shapes", (p, seed): Metrics => {
  if (seed % 3 === 0) return { a: seed, b: Number(p.x) };
  return seed % 3 === 1 ? { b: 1, a: 2 } : { c: -0.5 };
});

describe("sweep wire format", () => {
  it("round-trips any chunk of a sweep to the outcomes of running its tasks one by one", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("synthetic", "wire-test-shapes"),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.nat(),
        (run, points, seeds, seed, cut) => {
          const tasks = sweepTasks({
            run,
            params: { x: { kind: "int", min: 1, max: points } },
            // synthetic throws for x = 2: failed outcomes travel too
            fixed: { failWhen: 2, work: 3 },
            seeds,
            seed,
          });
          const start = cut % tasks.length;
          const part = tasks.slice(start, start + 1 + (cut % 7));
          // what a worker thread receives is a structured clone
          const chunk = structuredClone(packTasks(part));
          const back = unpackOutcomes(structuredClone(runChunk(chunk)));
          expect(back).toEqual(part.map(runTask));
        },
      ),
    );
  });

  it("packs a chunk's parameters once per point and its metrics into one array", () => {
    const tasks = sweepTasks({ run: "synthetic", params: { x: [1, 3] }, seeds: 4 });
    const chunk = packTasks(tasks);
    expect(chunk.params).toEqual([{ x: 1 }, { x: 3 }]);
    expect([...chunk.which]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const packed = packOutcomes(tasks.map(runTask));
    expect(packed.names).toEqual(["f", "h"]);
    expect(packed.values).toHaveLength(16);
    expect(packed.others).toEqual([]);
  });
});
