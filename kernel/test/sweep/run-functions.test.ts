/**
 * The built-in run functions as a sweep sees them: kernbench-build and workload build hosts and
 * guests from the system spec's parameters (issue 18: sweeps build systems, not only bare metal).
 */
import { afterAll, describe, expect, it } from "vitest";
import { UnknownNameError } from "../../src/sim/errors.js";
import { getRunFunction } from "../../src/sweep/run-functions.js";
import { closeSweepPools, runSweep } from "../../src/sweep/local.js";

afterAll(closeSweepPools);

describe("workload run function", () => {
  const run = getRunFunction("workload");
  const base = { workload: "ebizzy", profile: "v6.1", cpus: 4, durationMs: 10 };

  it("runs on bare metal, in one guest, and in several guests that share the host", () => {
    const bare = run(base, 1);
    const one = run({ ...base, pcpus: 4 }, 1);
    const two = run({ ...base, pcpus: 4, vms: 2 }, 1);
    expect(bare["hostPreemptions"]).toBe(0);
    expect(one["opsPerSec"]).toBeGreaterThan(0);
    // two guests of 4 vCPUs on 4 pCPUs: each gets about half the host, and the host preempts
    expect(two["opsPerSec"]).toBeLessThan(0.75 * one["opsPerSec"]!);
    expect(two["hostPreemptions"]).toBeGreaterThan(one["hostPreemptions"]!);
  });

  it("with overcommit, KVM's PV flush waits less for descheduled vCPUs than the native IPI", () => {
    const host = { ...base, workload: "mmap-munmap", profile: "v4.19", pcpus: 2, durationMs: 20 };
    const native = run({ ...host, backend: "native" }, 3);
    const pv = run({ ...host, backend: "kvm-pv" }, 3);
    expect(pv["meanFlushWaitNs"]).toBeLessThan(native["meanFlushWaitNs"]!);
  });

  it("refuses unknown names with typed errors", () => {
    expect(() => run({ ...base, hypervisor: "hyperv" }, 1)).toThrow(UnknownNameError);
    expect(() => run({ ...base, workload: "nope" }, 1)).toThrow(UnknownNameError);
    expect(() => run({ ...base, vms: 2, pcpus: 4, hostKernel: "v9" }, 1)).toThrow(/host kernel/);
  });
});

describe("kernbench-build run function", () => {
  const run = getRunFunction("kernbench-build");

  it("builds in several guests and reports their mean; a Xen PV guest's host is a parameter", () => {
    const p = { host: "6cpu", jobs: 3, scale: 0.02 };
    const alone = run(p, 1);
    const two = run({ ...p, vms: 2 }, 1);
    // two half-loaded builds share six pCPUs: each is a little slower than the build alone
    expect(two["elapsed"]).toBeGreaterThan(alone["elapsed"]!);
    expect(two["elapsed"]).toBeLessThan(1.5 * alone["elapsed"]!);
    const xen = run({ ...p, backend: "xen-pv", xenHost: "shim-ipi", kernel: "rcu" }, 1);
    expect(xen["elapsed"]).toBeGreaterThan(0);
    expect(() => run({ ...p, backend: "xen-pv", xenHost: "dom0" }, 1)).toThrow(UnknownNameError);
  });

  it("a sweep over guests gives the same rows on 0 and 2 workers", async () => {
    const spec = {
      run: "workload",
      params: { vms: [1, 2], backend: ["native", "kvm-pv"] },
      fixed: { workload: "madvise-storm", profile: "v6.1", cpus: 2, pcpus: 2, durationMs: 2 },
      seeds: 2,
    };
    const inline = await runSweep(spec, { workers: 0, progress: false });
    const threads = await runSweep(spec, { workers: 2, progress: false });
    expect(inline.rows).toHaveLength(8);
    expect(threads.rows).toEqual(inline.rows);
  });
});
