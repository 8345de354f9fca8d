import { describe, expect, it } from "vitest";
import * as distributed from "../src/distributed-entry.js";
import * as notebook from "../src/notebook-entry.js";

describe("mmulab/notebook and mmulab/distributed", () => {
  it("export what notebooks and queue workers use", () => {
    for (const name of ["runSweep", "serveLiveSweep", "registerCommTarget", "openComm"])
      expect(notebook, name).toHaveProperty(name);
    for (const name of ["runDistributedSweep", "startSweepWorker", "probeRedis"])
      expect(distributed, name).toHaveProperty(name);
  });
});
