/**
 * sim/v8-tuning.ts: with the tuning applied, a race trial's objects start young even after
 * thousands of trials. Without it, V8 had pretenured the literals of a system by then (58 of a
 * fresh trial's 143 objects were born in the old generation). Checked in a child process, as
 * V8 flags are per process and %InYoungGeneration needs --allow-natives-syntax.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const dist = new URL("../../dist/", import.meta.url).href;

/** Runs `trials` trials, then one more, and counts the objects reachable from its result that
 * are already in the old generation. */
const CHILD = `
const { tuneV8ForShortLivedSimulations } = await import("${dist}sim/v8-tuning.js");
tuneV8ForShortLivedSimulations();
const { runTrial } = await import("${dist}experiments/scenarios.js");
const opts = (i) => ({ scenario: "walker-vs-munmap", profile: i % 2 ? "v4.14" : "v4.19",
  backend: i % 4 < 2 ? "xen-pv" : "kvm-pv", nrCpus: 4, seed: i, trace: false, history: false });
for (let i = 0; i < 6000; i++) runTrial(opts(i));
const r = runTrial(opts(7));
// the kernel profile tables are module-level and rightly old: not part of the trial
const shared = new Set([r.system.resolved.profile]);
const seen = new Set();
const stack = [r];
let objects = 0;
let old = 0;
while (stack.length > 0) {
  const o = stack.pop();
  if (o === null || typeof o !== "object" || seen.has(o) || shared.has(o)) continue;
  seen.add(o);
  objects++;
  if (!%InYoungGeneration(o)) old++;
  if (ArrayBuffer.isView(o)) continue;
  for (const k of Object.keys(o)) stack.push(o[k]);
  if (o instanceof Map) for (const [k, v] of o) stack.push(k, v);
}
process.stdout.write(JSON.stringify({ objects, old }));
`;

describe("tuneV8ForShortLivedSimulations", () => {
  it("keeps a trial's objects young after thousands of trials", () => {
    const r = spawnSync(
      process.execPath,
      ["--allow-natives-syntax", "--input-type=module", "-e", CHILD],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(r.stderr).toBe("");
    const { objects, old } = JSON.parse(r.stdout) as { objects: number; old: number };
    expect(objects).toBeGreaterThan(100);
    // a few objects may be promoted by a scavenge during the trial itself
    expect(old).toBeLessThanOrEqual(5);
  });
});
