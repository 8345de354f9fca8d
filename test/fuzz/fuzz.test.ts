/**
 * The fuzzing properties at suite size: a few hundred cases each, with a fixed seed
 * so that the suite is deterministic. `npm run fuzz` runs them at 10,000 cases each with a fresh
 * seed (test/fuzz/run.ts; figures in docs/reliability.md).
 */
import { describe, expect, it } from "vitest";
import { FUZZ_PROPERTIES } from "./properties.js";

const CASES: Readonly<Record<string, number>> = {
  cli: 250,
  "system-spec": 500,
  payloads: 500,
  // every run of a random valid system finishes, conserves frames, repeats per seed
  guests: 1000,
};
const SEED = 22;

describe("fuzzing: any input gives a result or a typed error", () => {
  it.each(FUZZ_PROPERTIES.map((p) => [p.name, p] as const))(
    "%s",
    async (_name, p) => {
      const r = await p.run(CASES[p.name] ?? 200, SEED);
      expect(r.finding, r.finding === null ? "" : `${r.finding.error}\n${r.finding.input}`).toBe(
        null,
      );
      expect(r.cases).toBe(CASES[p.name] ?? 200);
      // the generators reach both sides: inputs that work and inputs that are refused
      expect(Object.keys(r.outcomes).length).toBeGreaterThan(1);
    },
    120_000,
  );
});
