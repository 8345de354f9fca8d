import { describe, expect, it } from "vitest";
// @ts-expect-error KfnOrDone is the fast path's plumbing, not part of the `mmulab` API.
import type { KfnOrDone as _KfnOrDone } from "../src/index.js";
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
