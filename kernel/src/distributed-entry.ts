/**
 * `mmulab/distributed`: sweeps on a BullMQ queue in Redis, run by queue workers on any number of
 * machines. Kept apart from `mmulab` so that importing the simulator loads no Redis client.
 */
export * from "./sweep/distributed.js";
export * from "./sweep/queue-worker.js";
