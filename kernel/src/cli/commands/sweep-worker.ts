/** `mmulab sweep-worker`: runs sweep jobs from a BullMQ queue on Redis until interrupted. */
import { DEFAULT_SWEEP_QUEUE, startSweepWorker } from "../../sweep/distributed.js";
import { intFlag, parseFlags, queueFlag, redisFlag, requireFlags } from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";

export const sweepWorkerCommand: Command = {
  name: "sweep-worker",
  summary: "run parameter-sweep jobs from Redis (the distributed sweep engine)",
  usage: [
    `Usage: ${PROGRAM} sweep-worker --redis redis://HOST:PORT [--queue NAME] [--threads N] [--concurrency N] [--lock-ms MS] [--grace-ms MS]`,
    "",
    "Connects to the Redis of a distributed sweep and runs its jobs until SIGINT or SIGTERM.",
    "Start one on every machine that should help; a worker that dies loses no result (its jobs",
    "go back to the queue once their lock expires). On SIGTERM it takes no new job, lets running",
    "ones finish for --grace-ms, then hands them back to the queue and exits.",
    "",
    "Options:",
    "  --redis URL        the Redis (required)",
    `  --queue NAME       queue name (default ${DEFAULT_SWEEP_QUEUE})`,
    "  --threads N        worker threads, one job on each, 1 … 1024 (default 1)",
    "  --concurrency N    jobs held at once, computing or waiting for a thread, 1 … 1024",
    "                     (default: threads)",
    "  --lock-ms MS       job lock and stalled-job check interval, 100 … 3600000 (default 30000)",
    "  --grace-ms MS      on SIGTERM, how long running jobs may finish, 0 … 3600000 (default 5000)",
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      redis: { type: "string" },
      queue: { type: "string" },
      threads: { type: "string" },
      concurrency: { type: "string" },
      "lock-ms": { type: "string" },
      "grace-ms": { type: "string" },
    });
    requireFlags(values, ["redis"]);
    const redis = redisFlag(values.redis)!;
    const queue = queueFlag(values.queue);
    const threads = intFlag(values.threads, "threads", 1, { min: 1, max: 1024 });
    const concurrency = intFlag(values.concurrency, "concurrency", threads, { min: 1, max: 1024 });
    const lockMs = intFlag(values["lock-ms"], "lock-ms", 30_000, { min: 100, max: 3_600_000 });
    const graceMs = intFlag(values["grace-ms"], "grace-ms", 5000, { min: 0, max: 3_600_000 });
    const handle = await startSweepWorker({
      redis,
      ...(queue !== undefined ? { queue } : {}),
      threads,
      concurrency,
      lockMs,
      graceMs,
      onJob: (row) => io.out(`job ${row.point}:${row.rep} ${row.status}\n`),
    });
    io.out(`sweep-worker ready: ${redis} queue ${queue ?? DEFAULT_SWEEP_QUEUE}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await handle.close();
    io.out(`sweep-worker stopped after ${handle.processed()} jobs\n`);
    return EXIT_OK;
  },
};
