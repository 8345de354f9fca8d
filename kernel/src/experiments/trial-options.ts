/**
 * What a trial passes on to `buildSystem`: its options without the trial's own keys, as a plain
 * object made key by key. Built with a rest pattern and a spread (`const { scenario, ...system }
 * = opts; buildSystem({ ...system, nrCpus })`), V8 gives nearly every such object a map of its
 * own, so every property read the build makes of it misses its inline cache: the build took
 * about 5 µs longer, a race trial 8–14 % (docs/benchmarks.md, "Performance devices").
 */
import type { SystemOptions } from "../system/build.js";

/**
 * The system's part of `opts`: every key but those in `trialOnly`, with 4 CPUs and the hardware
 * model as `hardware` says unless `opts` says otherwise.
 */
export function systemOptionsOf(
  opts: object,
  trialOnly: readonly string[],
  hardware: boolean,
): SystemOptions {
  const from = opts as Readonly<Record<string, unknown>>;
  const o: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!trialOnly.includes(key)) o[key] = from[key];
  o["nrCpus"] = from["nrCpus"] ?? 4;
  o["hardware"] = from["hardware"] ?? hardware;
  return o as unknown as SystemOptions;
}
