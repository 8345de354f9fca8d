/** `mmulab published`: the experiments the literature publishes about hosts, guests and flushes. */
import {
  DEFAULT_SCALE,
  formatPublished,
  PUBLISHED_EXPERIMENTS,
  runPublished,
} from "../../experiments/published.js";
import { MAX_BUILD_WORKERS } from "../../experiments/kernbench-table.js";
import {
  choiceFlag,
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  numberFlag,
  parseFlags,
  requireFlags,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";

export const publishedCommand: Command = {
  name: "published",
  summary: "run a published host/guest TLB-flush experiment on the model, next to its figures",
  usage: [
    `Usage: ${PROGRAM} published --experiment E [--seed S] [--scale F] [--workers W] [--json]`,
    "",
    "Runs one experiment that a patch series or paper published, scaled down to finish within a",
    "minute, and prints the model's prediction next to the published figures with a reading of",
    "where and why they differ. No parameter is fitted to these results (docs/model.md,",
    '"Published experiments").',
    "",
    "Experiments:",
    "  xen-kernel-build    a 32-vCPU Xen PV guest in a PV shim, make -j 128: shim IPIs vs the",
    "                      L0-assisted flush (Xen e9aca9470e); elapsed and system time",
    "  tlb-flush2          will-it-scale tlb_flush2_threads, 36 threads on 36 CPUs: native vs",
    "                      INVLPGB (Rik van Riel's series); loops/s, share of time in TLB flushing",
    "  kernbench-scaling   kernbench at 32 and 64 CPUs, CURRENT vs HAVE_RCU_TABLE_FREE",
    "  seed-table-guests   the seed's optimal-load cells as a guest of each backend",
    "",
    "Options:",
    `  --experiment E      ${PUBLISHED_EXPERIMENTS.join(", ")}`,
    "  --seed S            seed (default 1)",
    `  --scale F           size, 0 < F ≤ 1 (defaults: ${Object.entries(DEFAULT_SCALE)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")})`,
    `  --workers W         build processes, 0 … ${MAX_BUILD_WORKERS} (default: available parallelism)`,
    JSON_FLAG_USAGE,
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      experiment: { type: "string" },
      seed: { type: "string" },
      scale: { type: "string" },
      workers: { type: "string" },
    });
    requireFlags(values, ["experiment"]);
    const experiment = choiceFlag(values.experiment, "experiment", PUBLISHED_EXPERIMENTS)!;
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 101 });
    const scale =
      values.scale === undefined
        ? undefined
        : numberFlag(values.scale, "scale", 1, { min: 0, max: 1, minExclusive: true });
    const workers =
      values.workers === undefined
        ? undefined
        : intFlag(values.workers, "workers", 0, { min: 0, max: MAX_BUILD_WORKERS });
    const r = await runPublished({
      experiment,
      seed,
      ...(scale !== undefined ? { scale } : {}),
      ...(workers !== undefined ? { workers } : {}),
    });
    io.out(values.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatPublished(r)}\n`);
    return EXIT_OK;
  },
};
