import { describe, expect, it } from "vitest";
import { demoCommand } from "../../src/cli/commands/demo.js";
import { runIrqOffMunmap } from "../../src/experiments/irqoff-munmap.js";
import { ParameterError } from "../../src/sim/index.js";
import { captureIO } from "../support/io.js";

describe("irqoff-munmap scenario (npm start's demo)", () => {
  it("frees the tables only after the IRQ-off walk ends, for several walk lengths", () => {
    for (const irqOffNs of [5_000, 20_000, 80_000]) {
      const { result } = runIrqOffMunmap({ irqOffNs, seed: 3 });
      expect(result.tablesFreed).toHaveLength(3);
      for (const t of result.tablesFreed) expect(t.freedAt).toBeGreaterThan(result.walkerIrqsOnAt);
      // the longer the walk, the longer munmap waits in the flush
      expect(result.flushWaitNs).toBeGreaterThan(irqOffNs - 3_000);
      expect(result.useAfterFree).toBe(0);
    }
  });

  it("is a pure function of its seed", () => {
    expect(JSON.stringify(runIrqOffMunmap({ seed: 5 }))).toBe(
      JSON.stringify(runIrqOffMunmap({ seed: 5 })),
    );
  });

  it("rejects bad parameters by name", () => {
    expect(() => runIrqOffMunmap({ pages: 0 })).toThrow(ParameterError);
    expect(() => runIrqOffMunmap({ irqOffNs: -1 })).toThrow(/irqOffNs = -1/);
  });

  it("prints JSON with --json", async () => {
    const io = captureIO();
    expect(await demoCommand.run(["--json", "--seed", "2"], io)).toBe(0);
    const parsed = JSON.parse(io.stdout()) as { seed: number; tablesFreed: unknown[] };
    expect(parsed.seed).toBe(2);
    expect(parsed.tablesFreed).toHaveLength(3);
  });
});
