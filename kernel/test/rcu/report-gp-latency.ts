/**
 * Prints the grace-period latency distribution of the lightly loaded 4-CPU machine at HZ=1000
 * and HZ=250 (docs/model.md, "RCU"). Regenerate with:
 *
 *     npx tsx kernel/test/rcu/report-gp-latency.ts
 *
 * Scenario: 4 CPUs, flavour "sched" with default parameters, seed 1, 4 s of simulated work
 * (workload.ts `lightLoadPlans`), the run latency.test.ts asserts on; then the same machine with
 * nothing but synchronize callers ("idle", 1 s). Every number is in ms.
 */
import { measureGpLatency, type LatencyStats } from "./workload.js";

const ms = (ns: number): string => (ns / 1e6).toFixed(2);
const row = (label: string, s: LatencyStats): string =>
  `| ${label} | ${s.n} | ${ms(s.min)} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.max)} | ${ms(s.mean)} |`;

console.log("| HZ, quantity | n | min | median | p90 | max | mean |");
console.log("|---|---|---|---|---|---|---|");
for (const hz of [1000, 250]) {
  const r = measureGpLatency({ hz, seed: 1, horizonNs: 4_000_000_000 });
  console.log(row(`${hz}, light load, synchronize_sched()`, r.sync));
  console.log(row(`${hz}, light load, grace period (init → cleanup)`, r.gp));
  console.log(row(`${hz}, light load, call_rcu_sched → callback`, r.callback));
  const idle = measureGpLatency({ hz, seed: 1, horizonNs: 1_000_000_000, idle: true });
  console.log(row(`${hz}, idle, synchronize_sched()`, idle.sync));
}
