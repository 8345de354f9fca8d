import { describe, expect, it } from "vitest";
import * as mmulab from "../src/index.js";

describe('public API (import … from "mmulab")', () => {
  it("exposes every layer's entry points", () => {
    for (const name of [
      "Simulation",
      "Machine",
      "smp_call_function_many",
      "local_irq_disable",
      "Kernel",
      "sys_mmap",
      "sys_munmap",
      "tlb_gather_mmu",
      "tlb_remove_table",
      "free_pgtables",
      "exportPageTables",
      "ptdump",
      "installX86",
      "flush_tlb_mm_range",
      "xenPvBackend",
      "kvmPvBackend",
      "Rcu",
      "get_user_pages_fast",
      "resolveProfile",
      "runTrial",
      "runPathTrial",
      "runRaceMatrix",
      "traceToTimeline",
      "raceExampleTimeline",
      "counterexampleViews",
      "PAGETABLE_MIME",
      "HostCpus",
      "buildHostSystem",
      "runEbizzyVms",
      "SchedulerTick",
    ])
      expect(mmulab, name).toHaveProperty(name);
  });

  it("runs a scenario end to end through the top-level exports", () => {
    const r = mmulab.runTrial({
      scenario: "use-mm-walker",
      profile: "v4.14",
      backend: "native",
      seed: 7,
      trace: false,
    });
    expect(r.uaf).toBeGreaterThan(0);
    const tree = mmulab.exportPageTables(r.system.k, r.mm);
    expect(tree.detached?.some((d) => d.state === "freed" || d.state === "reused")).toBe(true);
  });
});

describe("what the `mmulab` entry leaves to other entries or keeps internal", () => {
  it("exports the workloads' and scheduler's entry points", () => {
    for (const name of ["runMicro", "MICRO_WORKLOADS", "Scheduler", "makeBuild", "runKernbench"])
      expect(mmulab, name).toHaveProperty(name);
  });

  it("leaves worker pools, comms and the queue to mmulab/notebook and mmulab/distributed", () => {
    for (const name of [
      "runSweep",
      "serveLiveSweep",
      "registerCommTarget",
      "runDistributedSweep",
      "startSweepWorker",
    ])
      expect(mmulab, name).not.toHaveProperty(name);
  });

  it("has one version of each mmu_gather step: plain calls, run with runRest", () => {
    for (const name of ["tlb_remove_page_inline", "tlb_remove_table_inline"])
      expect(mmulab, name).not.toHaveProperty(name);
    expect(mmulab).toHaveProperty("runRest");
  });
});
