/**
 * The speed of each CPU, measured just before the sweep-scaling figures, so that a run on a
 * machine whose two vCPUs do not run at the same speed (a busy neighbour on one host core, a
 * throttled core) is recognisable beside them: a sweep on two workers cannot reach 2× the one on
 * one worker when one of the two CPUs is slower.
 *
 * Each CPU in turn runs a fixed integer loop in a child process pinned to it (`taskset -c`,
 * util-linux); the loop's rate in M iterations/s is that CPU's speed. One measurement returns the
 * slowest CPU's speed or the ratio of the fastest to the slowest.
 *
 * The integer loop touches no memory, and a shared host's other tenants can slow what does while
 * leaving it alone: on 2026-12-08 the same build read race trials 30 % slower than two hours
 * before with the loop's rate unchanged (docs/benchmarks.md). `machine/memory-chase` follows a
 * random cycle of pointers through 8 MiB (beyond a core's own caches, within a server's shared
 * last-level cache), one dependent load at a time: its nanoseconds per load show that state.
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

/** A random cyclic permutation (Sattolo) of 2 Mi slots, followed 20 M times; ns per load. */
const CHASE = `
const n = 1 << 21;
const next = new Int32Array(n);
for (let i = 0; i < n; i++) next[i] = i;
let seed = 12345;
for (let i = n - 1; i > 0; i--) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  const j = seed % i;
  const t = next[i]; next[i] = next[j]; next[j] = t;
}
let p = 0;
for (let i = 0; i < 2_000_000; i++) p = next[p];
const t0 = process.hrtime.bigint();
for (let i = 0; i < 20_000_000; i++) p = next[p];
const ns = Number(process.hrtime.bigint() - t0) / 20_000_000;
process.stdout.write(JSON.stringify({ ns, p }));
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

/** Nanoseconds per dependent load of the 8 MiB pointer chase, in a child process. */
export function memoryChaseNs(): number {
  const r = spawnSync(process.execPath, ["-e", CHASE], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`memory chase: ${r.error?.message ?? r.stderr}`);
  return (JSON.parse(r.stdout) as { ns: number }).ns;
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
  {
    name: "machine/memory-chase",
    unit: "ns/load",
    target: null,
    better: "lower",
    run: memoryChaseNs,
  },
];
