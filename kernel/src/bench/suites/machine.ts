/**
 * The speed of each CPU, measured just before the sweep-scaling figures, so that a run on a
 * machine whose two vCPUs do not run at the same speed (a busy neighbour on one host core, a
 * throttled core) is recognisable beside them: a sweep on two workers cannot reach 2× the one on
 * one worker when one of the two CPUs is slower.
 *
 * Each CPU in turn runs a fixed integer loop in a child process pinned to it (`taskset -c`,
 * util-linux); the loop's rate in M iterations/s is that CPU's speed. One measurement returns the
 * slowest CPU's speed or the ratio of the fastest to the slowest.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import type { Benchmark } from "../types.js";

/** 200 M iterations of an xorshift step: about half a second, no allocation, no memory traffic. */
const SPIN = `
const t0 = process.hrtime.bigint();
let x = 88172645 | 0;
for (let i = 0; i < 200_000_000; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; }
const s = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({ rate: 200 / s, x }));
`;

/** M iterations/s of each CPU, pinned one at a time. */
export function cpuSpeeds(): number[] {
  const speeds: number[] = [];
  for (let cpu = 0; cpu < availableParallelism(); cpu++) {
    const r = spawnSync("taskset", ["-c", String(cpu), process.execPath, "-e", SPIN], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`taskset -c ${cpu}: ${r.error?.message ?? r.stderr}`);
    speeds.push((JSON.parse(r.stdout) as { rate: number }).rate);
  }
  return speeds;
}

export const machineBenchmarks: Benchmark[] = [
  {
    name: "machine/cpu-spin-slowest",
    unit: "M iter/s",
    target: null,
    better: "higher",
    run: () => Math.min(...cpuSpeeds()),
  },
  {
    name: "machine/cpu-spin-spread",
    unit: "fastest/slowest",
    target: null,
    better: "lower",
    run: () => {
      const s = cpuSpeeds();
      return Math.max(...s) / Math.min(...s);
    },
  },
];
