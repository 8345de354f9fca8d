/**
 * sim/v8-tuning.ts: with the tuning applied, a race trial's objects start young even after
 * thousands of trials. Without it, V8 had pretenured the literals of a system by then (58 of a
 * fresh trial's 143 objects were born in the old generation). And scavenges run on the
 * allocating thread alone, which V8's own GC trace (--trace-gc-nvp) reports per collection.
 * Checked in child processes, as V8 flags are per process and %InYoungGeneration needs
 * --allow-natives-syntax.
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

/** Runs trials with V8's per-collection trace on; prints the trace (stdout). */
const traced = (tuned: boolean) => `
const v8 = await import("node:v8");
if (${tuned}) {
  const { tuneV8ForShortLivedSimulations } = await import("${dist}sim/v8-tuning.js");
  tuneV8ForShortLivedSimulations();
}
const { runTrial } = await import("${dist}experiments/scenarios.js");
v8.setFlagsFromString("--trace-gc-nvp");
for (let i = 0; i < 3000; i++)
  runTrial({ scenario: "walker-vs-munmap", profile: "v4.14", backend: "xen-pv", nrCpus: 4,
    seed: i, trace: false, history: false });
`;

/** Milliseconds of each scavenge that V8's helper threads spent on it. */
function helperScavengeMs(tuned: boolean): number[] {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", traced(tuned)], {
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(r.stderr).toBe("");
  return r.stdout
    .split("\n")
    .filter((l) => /\bgc=s\b/.test(l))
    .map((l) => Number(/background\.scavenge\.parallel=([\d.]+)/.exec(l)?.[1] ?? NaN));
}

describe("tuneV8ForShortLivedSimulations", () => {
  it("keeps scavenges on the allocating thread", () => {
    const tuned = helperScavengeMs(true);
    expect(tuned.length).toBeGreaterThan(20);
    expect(tuned.every((ms) => ms === 0)).toBe(true);
    // the control: by default V8 hands part of the scavenges to its helper threads
    const untuned = helperScavengeMs(false);
    expect(untuned.length).toBeGreaterThan(20);
    expect(untuned.some((ms) => ms > 0)).toBe(true);
  });

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
