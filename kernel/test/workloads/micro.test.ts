import { describe, expect, it } from "vitest";
import { workloadCommand } from "../../src/cli/commands/workload.js";
import { UnknownNameError } from "../../src/sim/index.js";
import { runMicro } from "../../src/workloads/micro.js";
import { captureIO } from "../support/io.js";

/** 4 vCPUs on 2 host CPUs, PLE off: the flush backends alone decide how long a flush waits. */
const GUEST = { pcpus: 2, ple: false };

describe("mm microworkloads", () => {
  it("madvise storm: every iteration flushes the other threads' CPUs", () => {
    const r = runMicro({
      workload: "madvise-storm",
      profile: "v4.19",
      backend: "native",
      durationNs: 5_000_000,
    });
    expect(r.ops).toBeGreaterThan(100);
    // each madvise of a 4-thread process flushes the other CPUs (an IPI per target whose csd
    // queue was empty: concurrent flushes share one)
    expect(r.remoteFlushes).toBeGreaterThanOrEqual(r.ops - 4);
    expect(r.ipis).toBeGreaterThan(r.remoteFlushes);
    expect(r.ipis).toBeLessThanOrEqual(3 * r.remoteFlushes);
  });

  it("in an overcommitted guest, native flushes wait for descheduled vCPUs; KVM's PV flush skips them", () => {
    for (const workload of ["madvise-storm", "ebizzy"]) {
      const o = { workload, profile: "v6.1", durationNs: 100_000_000 };
      const native = runMicro({ ...o, backend: "native", host: GUEST });
      const pv = runMicro({ ...o, backend: "kvm-pv", host: GUEST });
      const bare = runMicro({ ...o, backend: "native", durationNs: 20_000_000 });
      expect(native.hostPreemptions).toBeGreaterThan(10);
      expect(bare.hostPreemptions).toBe(0);
      // a flush waits for a vCPU's turn: hundreds of µs, against a few µs without overcommit
      expect(native.meanFlushWaitNs).toBeGreaterThan(50 * bare.meanFlushWaitNs);
      expect(pv.opsPerSec).toBeGreaterThan(3 * native.opsPerSec);
      expect(pv.meanFlushWaitNs).toBeLessThan(native.meanFlushWaitNs / 10);
    }
  });

  it("gup_fast against munmap: RCU table freeing keeps the walkers safe in a guest", () => {
    const r = runMicro({
      workload: "gup-vs-munmap",
      profile: "v4.19",
      backend: "kvm-pv",
      host: GUEST,
      durationNs: 10_000_000,
    });
    expect(r.ops).toBeGreaterThan(5);
    expect(r.uaf).toBe(0);
  });

  it("mmap/munmap frees tables every time and is deterministic", () => {
    const a = runMicro({
      workload: "mmap-munmap",
      profile: "v4.14",
      backend: "native",
      threads: 1,
      durationNs: 2_000_000,
      seed: 4,
    });
    const b = runMicro({
      workload: "mmap-munmap",
      profile: "v4.14",
      backend: "native",
      threads: 1,
      durationNs: 2_000_000,
      seed: 4,
    });
    expect(a).toEqual(b);
    expect(a.tablesFreed).toBeGreaterThanOrEqual(a.ops);
  });

  it("rejects unknown names", () => {
    expect(() => runMicro({ workload: "stream", profile: "v4.19", backend: "native" })).toThrow(
      UnknownNameError,
    );
    expect(() => runMicro({ workload: "ebizzy", profile: "v4.14", backend: "invlpgb" })).toThrow(
      /not available on profile "v4.14"/,
    );
  });

  it("mmulab workload --json", async () => {
    const io = captureIO();
    expect(
      await workloadCommand.run(
        [
          "--name",
          "ebizzy",
          "--profile",
          "v4.19",
          "--backend",
          "kvm-pv",
          "--pcpus",
          "2",
          "--duration-ms",
          "5",
          "--json",
        ],
        io,
      ),
    ).toBe(0);
    const r = JSON.parse(io.stdout()) as { workload: string; hostPreemptions: number };
    expect(r.workload).toBe("ebizzy");
    expect(r.hostPreemptions).toBeGreaterThan(0);
  });
});
