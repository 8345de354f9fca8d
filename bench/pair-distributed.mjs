#!/usr/bin/env node
// Pairs `sweep/distributed-job-overhead` of two builds in one process:
//   node bench/pair-distributed.mjs --base DIR --head DIR [--control DIR] [--rounds 60]
//                                   [--sweeps 1] [--warmup 20] [--json]
//   node bench/pair-distributed.mjs --solo DIR [--rounds 60] [--warmup 20] [--json]
// DIR is a checkout with kernel/dist built (`git worktree add /tmp/x <commit>`, node_modules, then
// `node node_modules/typescript/bin/tsc -b kernel` there). The measuring code is this checkout's
// (kernel/dist/bench/suites/sweep-distributed.js); only the engines (sweep/distributed.js and what
// it imports) come from the builds. Each build has its own worker on its own queue of one
// loopback redis-server; all are warmed with `--warmup` sweeps each, then every round times
// `--sweeps` sweeps of each build, in an order that goes through every permutation. Per round:
// the ratio head / base of the median wall per job (less the inline time), of the wall to the
// worker's completion of the last job, and of the CPU per job (this process, all threads; and
// with the redis-server's). Reported: the median ratio over the rounds with a bootstrap 95 %
// interval. `--control` is the A/A control: a second copy of head's build (its own modules,
// worker and queue), reported as control / head — what the benchmark resolves in this run. The
// third build read a few per cent slower than the second in every run so far, not understood
// (docs/benchmarks.md): the cleaner A/A is a two-build run of two copies of one build.
// `--solo DIR` times one build alone (`--rounds` sweeps after the warm-up): whole processes of two
// builds alternated by hand, the cross-check of the in-process pairing.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** @typedef {import("../kernel/dist/bench/suites/sweep-distributed.js").DistributedEngine} DistributedEngine */
/** @typedef {import("../kernel/dist/bench/suites/sweep-distributed.js").SweepTiming} SweepTiming */

const here = new URL("../kernel/dist/", import.meta.url);
const m = await import(new URL("bench/suites/sweep-distributed.js", here).href);
const { median } = await import(new URL("bench/harness.js", here).href);
const { tuneV8ForShortLivedSimulations } = await import(new URL("sim/v8-tuning.js", here).href);
const { sweepTasks } = await import(new URL("sweep/space.js", here).href);
const { executeTask } = await import(new URL("sweep/task.js", here).href);
const { Rng } = await import(new URL("sim/rng.js", here).href);

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    head: { type: "string" },
    control: { type: "string" },
    solo: { type: "string" },
    rounds: { type: "string", default: "60" },
    sweeps: { type: "string", default: "1" },
    warmup: { type: "string", default: String(m.WARMUP_SWEEPS) },
    json: { type: "boolean", default: false },
  },
});

/** @param {string} name @param {string | undefined} v @param {number} lo @param {number} hi */
function int(name, v, lo, hi) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    process.stderr.write(`pair-distributed: --${name} ${v}: an integer from ${lo} to ${hi}\n`);
    process.exit(2);
  }
  return n;
}
if (values.solo === undefined && (values.base === undefined || values.head === undefined)) {
  process.stderr.write(
    "pair-distributed: --base DIR and --head DIR, or --solo DIR, are required\n",
  );
  process.exit(2);
}
const pairs = int("rounds", values.rounds, 2, 1000);
const sweeps = int("sweeps", values.sweeps, 1, 100);
const warmup = int("warmup", values.warmup, 0, 1000);

/** @param {string} dir @returns {Promise<DistributedEngine>} */
async function engineOf(dir) {
  const url = pathToFileURL(resolve(dir, "kernel/dist/sweep/distributed.js")).href;
  const e = await import(url);
  return {
    runDistributedSweep: e.runDistributedSweep,
    startSweepWorker: e.startSweepWorker,
    probeRedis: e.probeRedis,
  };
}

// the host sets the process's V8 flags, as `npm run bench` does
tuneV8ForShortLivedSimulations();
const sides =
  values.solo !== undefined
    ? [{ name: "solo", engine: await engineOf(values.solo) }]
    : [
        { name: "base", engine: await engineOf(values.base ?? "") },
        { name: "head", engine: await engineOf(values.head ?? "") },
      ];
if (values.solo === undefined && values.control !== undefined)
  sides.push({ name: "control", engine: await engineOf(values.control) });
const inline = m.inlineMsPerJob(() => {
  for (const t of sweepTasks(m.SWEEP_SPEC)) executeTask(t);
});
const redis = await m.startBenchRedis(sides[0]?.engine.probeRedis ?? (() => Promise.resolve()));

/**
 * Median and bootstrap 95 % interval of the median.
 * @param {number[]} xs
 */
function summary(xs) {
  // the simulator's seeded generator: the same rounds give the same interval
  const r = new Rng(23);
  const meds = [];
  for (let i = 0; i < 4000; i++) {
    const s = xs.map(() => xs[r.int(0, xs.length - 1)] ?? 0);
    meds.push(median(s));
  }
  meds.sort((a, b) => a - b);
  return {
    median: median(xs),
    lo: meds[Math.floor(0.025 * meds.length)] ?? NaN,
    hi: meds[Math.floor(0.975 * meds.length) - 1] ?? NaN,
  };
}

/** @param {{ median: number, lo: number, hi: number }} s */
const fmt = (s) => `${s.median.toFixed(3)} (${s.lo.toFixed(3)}–${s.hi.toFixed(3)})`;

/**
 * Every order of `n` sides, so that each side takes each place equally often.
 * @param {number} n
 */
function orders(n) {
  /** @type {number[][]} */
  const out = [];
  /** @param {number[]} head @param {number[]} rest */
  const perm = (head, rest) => {
    if (rest.length === 0) out.push(head);
    rest.forEach((x, i) => perm([...head, x], [...rest.slice(0, i), ...rest.slice(i + 1)]));
  };
  perm([], [...Array(n).keys()]);
  return out;
}

/** @param {SweepTiming[]} t @param {(x: SweepTiming) => number} f */
const med = (t, f) => median(t.map(f));
/** @param {SweepTiming[]} t @param {(x: SweepTiming) => number} f */
const sum = (t, f) => t.reduce((a, x) => a + f(x), 0);

/**
 * The ratios of one round, `num` over `den`.
 * @param {SweepTiming[]} num
 * @param {SweepTiming[]} den
 */
function roundRatios(num, den) {
  return {
    wall: med(num, (x) => x.wallMs - inline) / med(den, (x) => x.wallMs - inline),
    toLastJob: med(num, (x) => x.toLastJobMs - inline) / med(den, (x) => x.toLastJobMs - inline),
    cpu: sum(num, (x) => x.cpuMs) / sum(den, (x) => x.cpuMs),
    cpuWithRedis: sum(num, (x) => x.cpuMs + x.redisCpuMs) / sum(den, (x) => x.cpuMs + x.redisCpuMs),
  };
}

/** @typedef {ReturnType<typeof roundRatios>} Ratios */
/** @param {Ratios[]} rs */
function summarise(rs) {
  return {
    wall: summary(rs.map((r) => r.wall)),
    toLastJob: summary(rs.map((r) => r.toLastJob)),
    cpu: summary(rs.map((r) => r.cpu)),
    cpuWithRedis: summary(rs.map((r) => r.cpuWithRedis)),
  };
}

/** @param {SweepTiming[]} t */
const perJob = (t) => ({
  wallMsPerJob: med(t, (x) => x.wallMs - inline),
  toLastJobMsPerJob: med(t, (x) => x.toLastJobMs - inline),
  cpuMsPerJob: med(t, (x) => x.cpuMs),
  redisCpuMsPerJob: sum(t, (x) => x.redisCpuMs) / t.length,
});

/** @param {ReturnType<typeof summarise>} r */
const line = (r) =>
  `wall ${fmt(r.wall)}, to last job ${fmt(r.toLastJob)}, cpu ${fmt(r.cpu)}, cpu+redis ${fmt(r.cpuWithRedis)}`;

try {
  const benches = [];
  for (const s of sides) benches.push(await m.distributedBench(s.engine, redis, `pair-${s.name}`));
  try {
    for (let i = 0; i < warmup; i++) for (const b of benches) await b.sweep();
    const perms = orders(sides.length);
    /** @type {SweepTiming[][]} */
    const kept = sides.map(() => []);
    /** @type {Ratios[]} */
    const ab = [];
    /** @type {Ratios[]} */
    const aa = [];
    for (let p = 0; p < pairs; p++) {
      const order = perms[p % perms.length] ?? [];
      /** @type {SweepTiming[][]} */
      const got = sides.map(() => []);
      for (const k of order)
        for (let i = 0; i < sweeps; i++) got[k]?.push(await benches[k].sweep());
      got.forEach((g, k) => kept[k]?.push(...g));
      const [b, h, c] = got;
      if (b !== undefined && h !== undefined) ab.push(roundRatios(h, b));
      if (c !== undefined && h !== undefined) aa.push(roundRatios(c, h));
      if (!values.json)
        process.stdout.write(
          `round ${p + 1} (${order.map((k) => sides[k]?.name).join(" ")}): wall ms/job ${got.map((g) => med(g, (x) => x.wallMs - inline).toFixed(3)).join(" ")}; cpu ms/job ${got.map((g) => med(g, (x) => x.cpuMs).toFixed(3)).join(" ")}\n`,
        );
    }
    const result = {
      rounds: pairs,
      sweepsPerSide: sweeps,
      warmupSweeps: warmup,
      inlineMsPerJob: inline,
      sides: Object.fromEntries(sides.map((s, k) => [s.name, perJob(kept[k] ?? [])])),
      ...(ab.length > 0 ? { headOverBase: summarise(ab) } : {}),
      ...(aa.length > 0 ? { controlOverHead: summarise(aa) } : {}),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      for (const [name, v] of Object.entries(result.sides))
        process.stdout.write(
          `${name}: wall ${v.wallMsPerJob.toFixed(3)} ms/job (to last job ${v.toLastJobMsPerJob.toFixed(3)}), cpu ${v.cpuMsPerJob.toFixed(3)} ms/job, redis cpu ${v.redisCpuMsPerJob.toFixed(3)} ms/job\n`,
        );
      if (result.headOverBase !== undefined)
        process.stdout.write(
          `medians over ${pairs} rounds (bootstrap 95 %)\nhead / base: ${line(result.headOverBase)}\n`,
        );
      if (result.controlOverHead !== undefined)
        process.stdout.write(`control / head (A/A): ${line(result.controlOverHead)}\n`);
    }
  } finally {
    for (const b of benches) await b.close();
  }
} finally {
  await redis.stop();
}
