import { describe, expect, it } from "vitest";
import {
  HOST_PRESETS,
  hostFromFields,
  hostSchedParams,
  MAX_HOST_SPEC_CHARS,
  parseHostSpec,
} from "../../src/system/host.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { HOSTS } from "../../src/workloads/hosts.js";
import { kernbenchHost } from "../../src/workloads/hosts.js";

describe("host specs", () => {
  it("reads a preset name as that preset, and the kernbench profiles are the presets", () => {
    expect(parseHostSpec("6cpu")).toBe(HOST_PRESETS["6cpu"]);
    for (const name of ["6cpu", "16cpu"]) {
      const { build: _b, halfJobs: _h, optimalJobs: _o, calibration: _c, ...hw } = HOSTS[name]!;
      expect(hw).toEqual(HOST_PRESETS[name]);
      expect(kernbenchHost(parseHostSpec(name))).toBe(HOSTS[name]);
    }
  });

  it("takes the hypervisor (kvm by default, xen: credit2, no host kernel)", () => {
    expect(parseHostSpec("cpus=8").hypervisor).toBe("kvm");
    const x = parseHostSpec("cpus=8,hypervisor=xen");
    expect(x.hypervisor).toBe("xen");
    // a Xen host's topology reaches credit2 (its run queues); credit2_runqueue when given
    expect(hostSchedParams(x)).toEqual({ hypervisor: "xen", sockets: 1, smt: 1 });
    const c = parseHostSpec("cpus=8,sockets=2,hypervisor=xen,credit2Runqueue=core");
    expect(hostSchedParams(c)).toEqual({
      hypervisor: "xen",
      sockets: 2,
      smt: 1,
      credit2Runqueue: "core",
    });
    expect(() => parseHostSpec("cpus=8,credit2Runqueue=core")).toThrow(/hypervisor=xen/);
    expect(() => parseHostSpec("cpus=8,hypervisor=xen,credit2Runqueue=numa")).toThrow(
      UnknownNameError,
    );
    // KVM hosts carry no credit2 field (their results are unchanged)
    expect("credit2Runqueue" in parseHostSpec("cpus=8")).toBe(false);
    expect(hostSchedParams(parseHostSpec("cpus=8,kernel=v6.1"))).toEqual({ kernel: "v6.1" });
    expect(() => parseHostSpec("cpus=8,hypervisor=vmware")).toThrow(UnknownNameError);
    expect(() => parseHostSpec("cpus=8,hypervisor=xen,kernel=v6.1")).toThrow(/hypervisor=xen/);
    expect(() => hostSchedParams(x, "v5.4")).toThrow(ParameterError);
  });

  it("builds a custom host from key=value pairs over a base preset", () => {
    const h = parseHostSpec("cpus=32,smt=2");
    expect(h).toMatchObject({ name: "custom", base: "16cpu", nrCpus: 32, smt: 2, sockets: 1 });
    // what the spec does not give comes from the base
    expect(h.sysContentionSlowdown).toBe(HOST_PRESETS["16cpu"]!.sysContentionSlowdown);
    const g = parseHostSpec("base=6cpu, cpus=12, sockets=2, hz=250");
    expect(g).toMatchObject({ base: "6cpu", nrCpus: 12, sockets: 2, smt: 1, hz: 250 });
    expect(g.latencyNs).toBe(HOST_PRESETS["6cpu"]!.latencyNs);
    // a CPU count alone does not inherit the base's SMT
    expect(parseHostSpec("cpus=7").smt).toBe(1);
    const kb = kernbenchHost(parseHostSpec("cpus=32"));
    expect(kb.halfJobs).toBe(16);
    expect(kb.optimalJobs).toBe(128);
    expect(kb.build).toBe(HOSTS["16cpu"]!.build);
  });

  it("reads JSON with cost overrides", () => {
    const h = parseHostSpec('{"cpus": 8, "smt": 2, "costs": {"ipiSendNs": 300}}');
    expect(h.costs).toEqual({ ipiSendNs: 300 });
    expect(h.nrCpus).toBe(8);
  });

  it("refuses bad specs with typed errors naming the parameter and the accepted range", () => {
    const bad: [string, RegExp][] = [
      ["32cpu", /host = "32cpu".*"6cpu", "16cpu"/],
      ["cpus=33,smt=2", /cpus = 33.*multiple of smt × sockets = 2/],
      ["cpus=0", /cpus = 0.*from 1 to 1024/],
      ["cpus=2000", /cpus = 2000.*from 1 to 1024/],
      ["cpus=4,cpus=8", /cpus.*given once/],
      ["cpus=0x10", /cpus.*decimal number/],
      ["cpus=8,hz=500", /hz = 500.*100, 250, 300, 1000/],
      ["cpus=8,smtSlowdown=9", /smtSlowdown = 9.*from 0 to 4/],
      ["cpus=8,colour=red", /colour/],
      ["base=toString", /toString/],
      ["cpus=8,,smt=2", /key=value/],
      ['{"cpus": 8, "costs": {"ipiSendNs": -1}}', /ipiSendNs/],
      ['{"cpus": 8, "costs": {"nope": 1}}', /nope/],
      ['{"cpus": "8"}', /cpus/],
      ["{not json", /valid JSON/],
      ["", /preset name/],
      ["x".repeat(MAX_HOST_SPEC_CHARS + 1), /at most 16384 characters/],
    ];
    for (const [text, msg] of bad) {
      expect(() => parseHostSpec(text), text.slice(0, 40)).toThrow(ParameterError);
      expect(() => parseHostSpec(text), text.slice(0, 40)).toThrow(msg);
    }
    expect(() => parseHostSpec("nope")).toThrow(UnknownNameError);
    expect(() => hostFromFields(null)).toThrow(ParameterError);
  });
});

describe("the host kernel in a host spec", () => {
  it("defaults to v4.15, takes kernel=K, and refuses an unknown one by name", () => {
    expect(parseHostSpec("16cpu").kernel).toBe("v4.15");
    expect(parseHostSpec("cpus=8,kernel=v6.1").kernel).toBe("v6.1");
    expect(parseHostSpec('{"cpus": 8, "kernel": "v5.4"}').kernel).toBe("v5.4");
    expect(() => parseHostSpec("cpus=8,kernel=v9.0")).toThrow(/host kernel = "v9.0"/);
  });
});
