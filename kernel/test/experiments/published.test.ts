import { describe, expect, it } from "vitest";
import { runPublished } from "../../src/experiments/published.js";
import { ParameterError } from "../../src/sim/errors.js";

const row = (
  r: Awaited<ReturnType<typeof runPublished>>,
  match: Readonly<Record<string, string | number>>,
) => {
  const found = r.model.find((m) => Object.entries(match).every(([k, v]) => m.config[k] === v));
  if (found === undefined) throw new Error(`no row ${JSON.stringify(match)}`);
  return found.values;
};

describe("published experiments (scaled down)", () => {
  it("Xen shim: beside other VMs the IPI shim waits for descheduled vCPUs, the assisted one (as measured) does not", async () => {
    const r = await runPublished({ experiment: "xen-kernel-build", scale: 0.01, workers: 0 });
    expect(r.published).toHaveLength(2);
    const ipi = row(r, {
      workload: "ebizzy (threads share one mm)",
      flush: "shim-ipi",
      otherVcpus: 32,
    });
    const assisted = row(r, {
      workload: "ebizzy (threads share one mm)",
      flush: "shim-assisted",
      otherVcpus: 32,
    });
    expect(ipi["meanFlushWaitNs"]!).toBeGreaterThan(2 * assisted["meanFlushWaitNs"]!);
    // the build sends no remote flush of its own: Xen's type-change flushes make the difference
    const build = (flush: string, otherVcpus: number) =>
      row(r, { workload: "kernbench -j 128", flush, otherVcpus });
    const early = "shim-assisted before 5b718d24e8";
    expect(build("shim-ipi", 0)["remoteFlushes"]).toBe(0);
    expect(build("shim-ipi", 32)["typeChangeFlushes"]!).toBeGreaterThan(1000);
    // alone every vCPU runs: the shims cost about the same
    expect(build("shim-ipi", 0)["elapsed"]!).toBeLessThan(1.05 * build(early, 0)["elapsed"]!);
    // beside other VMs the IPI shim waits for descheduled vCPUs, the measured assisted one never
    expect(build("shim-ipi", 32)["flushesThatWaited"]!).toBeGreaterThan(0);
    expect(build(early, 32)["flushesThatWaited"]).toBe(0);
    expect(build("shim-ipi", 32)["elapsed"]!).toBeGreaterThan(build(early, 32)["elapsed"]!);
    expect(build("shim-ipi", 32)["system"]!).toBeGreaterThan(2 * build(early, 32)["system"]!);
    // Xen 4.14 as released flushes freed tables by IPI: it waits as well
    expect(build("shim-assisted", 32)["noAssistFlushes"]!).toBeGreaterThan(0);
    expect(build("shim-assisted", 32)["flushesThatWaited"]!).toBeGreaterThan(0);
  }, 60_000);

  it("tlb_flush2_threads: INVLPGB cuts the share of CPU time in TLB invalidation", async () => {
    const r = await runPublished({ experiment: "tlb-flush2", scale: 0.05 });
    const native = row(r, { flush: "native" });
    const invlpgb = row(r, { flush: "invlpgb" });
    expect(native["tlbInvalidationShare"]!).toBeGreaterThan(2 * invlpgb["tlbInvalidationShare"]!);
    expect(invlpgb["loopsPerSec"]!).toBeGreaterThan(native["loopsPerSec"]!);
  }, 60_000);

  it("refuses an unknown experiment and a bad scale with typed errors", async () => {
    await expect(runPublished({ experiment: "ebizzy-3vm" })).rejects.toThrow(/experiment/);
    await expect(runPublished({ experiment: "tlb-flush2", scale: 2 })).rejects.toThrow(
      ParameterError,
    );
  });
});
