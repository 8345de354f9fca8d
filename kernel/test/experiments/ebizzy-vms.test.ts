/**
 * ebizzy in overcommitted VMs (experiments/ebizzy-vms.ts), small: every VM a full guest on one
 * host, deterministic per seed, and the CLI's JSON and usage errors.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { commands } from "../../src/cli/commands.js";
import { runEbizzyVms, type EbizzyVmsResult } from "../../src/experiments/ebizzy-vms.js";
import { buildHostSystem } from "../../src/system/build.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { captureIO } from "../support/io.js";

const SMALL = { pcpus: 2, durationMs: 20, seeds: 1 } as const;

describe("ebizzy in overcommitted VMs", () => {
  it("runs every VM's ebizzy; overcommit steals time and KVM's PV flush skips preempted vCPUs", () => {
    const r = runEbizzyVms({ ...SMALL, vms: [1, 2] });
    expect(r.rows.map((x) => [x.vms, x.backend])).toEqual([
      [1, "native"],
      [1, "kvm-pv"],
      [2, "native"],
      [2, "kvm-pv"],
    ]);
    for (const x of r.rows) expect(x.recordsPerSecPerVm).toBeGreaterThan(0);
    const one = r.rows.filter((x) => x.vms === 1);
    const two = r.rows.filter((x) => x.vms === 2);
    for (const x of one) expect(x.stealShare).toBe(0);
    for (const x of two) expect(x.stealShare).toBeGreaterThan(0.2);
    // only the PV flush defers flushes to the next entry of a preempted vCPU
    expect(two.find((x) => x.backend === "native")!.entryFlushes).toBe(0);
    expect(two.find((x) => x.backend === "kvm-pv")!.entryFlushes).toBeGreaterThan(0);
    expect(r.pvOverNative.map((p) => p.vms)).toEqual([1, 2]);
  });

  it("is a function of its seed", () => {
    const a = runEbizzyVms({ ...SMALL, vms: [2], backends: ["native"], seed: 5 });
    const b = runEbizzyVms({ ...SMALL, vms: [2], backends: ["native"], seed: 5 });
    expect(a).toEqual(b);
  });

  it("refuses bad options by name", () => {
    expect(() => runEbizzyVms({ pcpus: 100 })).toThrow(ParameterError);
    expect(() => runEbizzyVms({ vms: [0] })).toThrow(/vms\[0\]/);
    expect(() => runEbizzyVms({ backends: ["xen-pv"] })).toThrow(UnknownNameError);
    expect(() => runEbizzyVms({ hostKernel: "v3.0" })).toThrow(UnknownNameError);
    expect(() => runEbizzyVms({ duration: 5 } as never)).toThrow(UnknownNameError);
  });

  it("buildHostSystem: guests share one host and are checked before anything is built", () => {
    const sys = buildHostSystem({
      host: { pcpus: 2 },
      guests: [
        { vcpus: 2, profile: "v6.1", backend: "native" },
        { vcpus: 1, profile: "v4.19", backend: "kvm-pv", pinned: false, weight: 2048 },
      ],
    });
    expect(sys.guests).toHaveLength(2);
    expect(sys.guests[0]!.sim).toBe(sys.guests[1]!.sim);
    expect(sys.guests[0]!.host.cpus).toBe(sys.hostCpus);
    expect(sys.hostCpus.overcommit).toBe(1.5);
    expect(() =>
      buildHostSystem({
        host: { pcpus: 2 },
        guests: [{ vcpus: 0, profile: "v6.1", backend: "native" }],
      }),
    ).toThrow(/guests\[0\]\.vcpus/);
    expect(() =>
      buildHostSystem({
        host: { pcpus: 2 },
        guests: [{ vcpus: 1, profile: "v6.1", backend: "nope" }],
      }),
    ).toThrow(UnknownNameError);
    expect(() => buildHostSystem({ host: {} as never, guests: [] })).toThrow(/host\.pcpus/);
  });
});

describe("mmulab ebizzy-vms", () => {
  it("prints JSON", async () => {
    const io = captureIO();
    const args = ["--pcpus", "2", "--vms", "2", "--duration-ms", "10", "--seeds", "1", "--json"];
    expect(await runCli(["ebizzy-vms", ...args], io, commands)).toBe(0);
    const r = JSON.parse(io.stdout()) as EbizzyVmsResult;
    expect(r.rows).toHaveLength(2);
    expect(r.pcpus).toBe(2);
  });

  it("exits 2 on a bad flag value, naming it", async () => {
    const io = captureIO();
    expect(await runCli(["ebizzy-vms", "--vms", "1,9"], io, commands)).toBe(2);
    expect(io.stderr()).toMatch(/--vms/);
    const io2 = captureIO();
    expect(await runCli(["ebizzy-vms", "--host-kernel", "v2.6", "--json"], io2, commands)).toBe(2);
  });
});
