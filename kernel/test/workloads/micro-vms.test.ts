/**
 * Microworkloads in several guests on one host (`runMicroVms`, `mmulab workload --vms/--guest`)
 * and the guest spec text (`parseGuestSpec`).
 */
import { describe, expect, it } from "vitest";
import { workloadCommand } from "../../src/cli/commands/workload.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { parseGuestSpec } from "../../src/system/build.js";
import { runMicroVms, type MicroVmsResult } from "../../src/workloads/micro.js";
import { captureIO } from "../support/io.js";

const DEFAULTS = { profile: "v6.1", backend: "native", vcpus: 2, workload: "ebizzy" };

describe("guest specs as text", () => {
  it("reads keys over the defaults", () => {
    const g = parseGuestSpec(
      "vcpus=4,backend=kvm-pv,threads=8,duration-ms=5,pinned=false,weight=2048",
      DEFAULTS,
    );
    expect(g).toEqual({
      vcpus: 4,
      profile: "v6.1",
      backend: "kvm-pv",
      pinned: false,
      weight: 2048,
      workload: "ebizzy",
      workloadOptions: { threads: 8, durationNs: 5_000_000 },
    });
  });

  it("refuses unknown keys, bad values, repeats and oversized text by name", () => {
    expect(() => parseGuestSpec("colour=red", DEFAULTS)).toThrow(UnknownNameError);
    expect(() => parseGuestSpec("vcpus=0", DEFAULTS)).toThrow(/vcpus/);
    expect(() => parseGuestSpec("vcpus=4x", DEFAULTS)).toThrow(ParameterError);
    expect(() => parseGuestSpec("pinned=yes", DEFAULTS)).toThrow(/pinned/);
    expect(() => parseGuestSpec("vcpus=2,vcpus=3", DEFAULTS)).toThrow(/once/);
    expect(() => parseGuestSpec("backend=nope", DEFAULTS)).toThrow(UnknownNameError);
    expect(() => parseGuestSpec("x".repeat(5000), DEFAULTS)).toThrow(ParameterError);
  });
});

describe("microworkloads in several guests", () => {
  it("runs each guest's own workload on one overcommitted host, deterministically", () => {
    const o = {
      host: { pcpus: 2 },
      guests: [
        {
          vcpus: 2,
          profile: "v6.1",
          backend: "kvm-pv",
          workload: "ebizzy",
          workloadOptions: { durationNs: 20_000_000 },
        },
        {
          vcpus: 2,
          profile: "v6.1",
          backend: "native",
          workload: "madvise-storm",
          workloadOptions: { durationNs: 20_000_000 },
        },
      ],
      seed: 3,
    };
    const a = runMicroVms(o);
    expect(a.guests.map((g) => [g.workload, g.backend])).toEqual([
      ["ebizzy", "kvm-pv"],
      ["madvise-storm", "native"],
    ]);
    for (const g of a.guests) expect(g.ops).toBeGreaterThan(0);
    expect(a.meanStealNs).toBeGreaterThan(0);
    expect(a.host.preemptions).toBeGreaterThan(0);
    expect(runMicroVms(o)).toEqual(a);
  });

  it("refuses a guest without a microworkload", () => {
    expect(() =>
      runMicroVms({
        host: { pcpus: 1 },
        guests: [{ vcpus: 1, profile: "v6.1", backend: "native" }],
      }),
    ).toThrow(UnknownNameError);
    expect(() =>
      runMicroVms({
        host: { pcpus: 1 },
        guests: [{ vcpus: 1, profile: "v6.1", backend: "native", workload: "stream" }],
      }),
    ).toThrow(UnknownNameError);
  });

  it("mmulab workload --vms and --guest", async () => {
    const base = [
      "--name",
      "ebizzy",
      "--profile",
      "v6.1",
      "--backend",
      "kvm-pv",
      "--cpus",
      "2",
      "--duration-ms",
      "10",
    ];
    const io = captureIO();
    expect(await workloadCommand.run([...base, "--vms", "2", "--json"], io)).toBe(0);
    const r = JSON.parse(io.stdout()) as MicroVmsResult;
    expect(r.guests).toHaveLength(2);
    const io2 = captureIO();
    expect(
      await workloadCommand.run(
        [...base, "--guest", "vcpus=1", "--guest", "backend=native", "--json"],
        io2,
      ),
    ).toBe(0);
    const r2 = JSON.parse(io2.stdout()) as MicroVmsResult;
    expect(r2.guests.map((g) => g.backend)).toEqual(["kvm-pv", "native"]);
    // a usage error, thrown before any run (the CLI turns it into exit 2)
    expect(() =>
      workloadCommand.run([...base, "--vms", "2", "--guest", "vcpus=1"], captureIO()),
    ).toThrow(/--vms/);
  });
});
