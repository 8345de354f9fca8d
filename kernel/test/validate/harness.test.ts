/**
 * The validation harness's parts that need no guest: the kernel configuration read as a profile,
 * the initramfs writer, the guest output parser, the comparison, the model's twin loops, and the
 * CLI's bad-input handling. (validate.test.ts boots the real kernel.)
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { KernelConfigError, parseKconfig, profileFromConfig } from "../../src/config/kconfig.js";
import { runCli } from "../../src/cli/cli.js";
import { commands } from "../../src/cli/commands.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { makeInitramfs } from "../../src/validate/cpio.js";
import { compareWorkload, ratioOf, withinTolerance } from "../../src/validate/compare.js";
import { GuestFailedError, parseGuestOutput } from "../../src/validate/guest.js";
import { findKernel, findTools } from "../../src/validate/host.js";
import { KERNEL_RELEASE } from "../../src/validate/index.js";
import {
  runValidationModel,
  VALIDATION_LAYOUT,
  type ModelCounts,
} from "../../src/workloads/validation.js";
import type { KernelWorkloadResult } from "../../src/validate/guest.js";
import { captureIO } from "../support/io.js";

function config(header: string, options: Record<string, string>): string {
  return [
    "#",
    `# Automatically generated file; DO NOT EDIT.`,
    header,
    "#",
    ...Object.entries(options).map(([k, v]) => `${k}=${v}`),
    "# CONFIG_PREEMPT is not set",
  ].join("\n");
}

describe("a kernel's /boot/config-* read as a profile", () => {
  it("reads Debian's installed 6.1 as the v6.1 profile with its own PARAVIRT, HZ and preemption", () => {
    const k = findKernel();
    const p = profileFromConfig(parseKconfig(readFileSync(k.config, "utf8")));
    expect(p.version).toMatch(/^6\.1\.\d+$/);
    expect(p.profile).toBe("v6.1");
    expect(p.exact).toBe(true);
    expect(p.resolve.paravirt).toBe(true);
    expect(p.rcuTableFreeBuilt).toBe(true);
    expect(p.hz).toBe(250);
    expect(p.preempt).toBe("voluntary");
    expect(p.preemptDynamic).toBe(true);
    expect(p.tableFreeNative).toMatch(/^tlb_remove_page/);
  });

  it("takes the options from the file, not from the version", () => {
    const p = profileFromConfig(
      parseKconfig(
        config("# Linux/x86 6.1.7 Kernel Configuration", {
          CONFIG_HZ: "1000",
          CONFIG_PREEMPT_NONE: "y",
        }),
      ),
    );
    expect(p.profile).toBe("v6.1");
    expect(p.resolve.paravirt).toBe(false);
    expect(p.rcuTableFreeBuilt).toBe(false);
    expect(p.hz).toBe(1000);
    expect(p.preempt).toBe("none");
    expect(p.tableFreeNative).toMatch(/no RCU table freeing/);
  });

  it("picks the newest profile at or below the version", () => {
    const newer = profileFromConfig(
      parseKconfig(
        config("# Linux/x86 6.16.2 Kernel Configuration", {
          CONFIG_MMU_GATHER_RCU_TABLE_FREE: "y",
        }),
      ),
    );
    expect([newer.profile, newer.exact]).toEqual(["v6.15", false]);
    const v510 = profileFromConfig(
      parseKconfig(
        config("# Linux/x86 5.4.0 Kernel Configuration", {
          CONFIG_PARAVIRT: "y",
          CONFIG_MMU_GATHER_RCU_TABLE_FREE: "y",
        }),
      ),
    );
    expect(v510.profile).toBe("v5.10");
  });

  it("refuses a file without a version, too old a version, or a table-freeing option its profile cannot have", () => {
    expect(() => profileFromConfig(parseKconfig("CONFIG_HZ=250\n"))).toThrow(KernelConfigError);
    expect(() =>
      profileFromConfig(parseKconfig(config("# Linux/x86 4.9.0 Kernel Configuration", {}))),
    ).toThrow(/older than every profile/);
    // v6.1 selects MMU_GATHER_RCU_TABLE_FREE only with PARAVIRT
    expect(() =>
      profileFromConfig(
        parseKconfig(
          config("# Linux/x86 6.1.0 Kernel Configuration", {
            CONFIG_MMU_GATHER_RCU_TABLE_FREE: "y",
          }),
        ),
      ),
    ).toThrow(/MMU_GATHER_RCU_TABLE_FREE set, but profile v6.1/);
  });
});

describe("the guest's initramfs", () => {
  const entries = [
    { kind: "dir" as const, path: "bin" },
    { kind: "chardev" as const, path: "dev/console", major: 5, minor: 1 },
    { kind: "file" as const, path: "bin/hello", data: Buffer.from("hi\n"), mode: 0o755 },
  ];

  it("is a newc archive that busybox cpio lists, the same bytes for the same inputs", () => {
    const a = makeInitramfs(entries);
    expect(makeInitramfs(entries).equals(a)).toBe(true);
    const raw = gunzipSync(a);
    expect(raw.subarray(0, 6).toString()).toBe("070701");
    const listed = execFileSync(findTools().busybox, ["cpio", "-t"], {
      input: raw,
      stdio: ["pipe", "pipe", "ignore"],
    })
      .toString()
      .trim()
      .split("\n");
    expect(listed).toEqual(["bin", "dev/console", "bin/hello"]);
  });

  it("refuses a path that leaves the archive", () => {
    expect(() => makeInitramfs([{ kind: "dir", path: "../etc" }])).toThrow(/bad path/);
    expect(() => makeInitramfs([{ kind: "dir", path: "/" }])).toThrow(/bad path/);
  });
});

describe("the guest's output", () => {
  const info = JSON.stringify({
    info: {
      release: "6.1.0",
      cmdline: "",
      cpus: 2,
      pcid: false,
      invlpgb: false,
      hypervisor: false,
      thp: "never",
      meltdown: "",
    },
  });

  it("is refused when a line is not JSON, the program reported an error, or it stopped early", () => {
    expect(() => parseGuestOutput(`${info}\nnot json\n`, 2, "")).toThrow(GuestFailedError);
    expect(() => parseGuestOutput(`${info}\n{"error":"mmap failed"}\n`, 2, "")).toThrow(
      /mmap failed/,
    );
    expect(() => parseGuestOutput(`${info}\n`, 2, "")).toThrow(/stopped before/);
    expect(() => parseGuestOutput(`${info}\n{"done":true}\n`, 4, "")).toThrow(/saw 2 CPUs/);
    expect(() =>
      parseGuestOutput(
        `${info}\n{"workload":"tlb_flush2","iterations":4,"tlbShootdowns":[1]}\n{"done":true}\n`,
        2,
        "",
      ),
    ).toThrow(/tlbShootdowns/);
  });

  it("keeps skipped workloads with their reason", () => {
    const r = parseGuestOutput(
      `${info}\n{"workload":"lazy-tlb","cpus":2,"skipped":"needs 2 CPUs"}\n{"done":true}\n`,
      2,
      "",
    );
    expect(r.skipped).toEqual([{ workload: "lazy-tlb", reason: "needs 2 CPUs" }]);
    expect(r.results).toEqual([]);
  });
});

describe("kernel against model", () => {
  it("states the ratio and judges within the tolerance", () => {
    expect(ratioOf(4, 5)).toBe(1.25);
    expect(ratioOf(0, 0)).toBe(1);
    expect(ratioOf(0, 3)).toBeNull();
    expect(withinTolerance(100, 110, { kind: "relative", within: 0.1 })).toBe(true);
    expect(withinTolerance(100, 111, { kind: "relative", within: 0.1 })).toBe(false);
    expect(withinTolerance(0, 1, { kind: "relative", within: 0.1 })).toBe(false);
    expect(withinTolerance(514, 513, { kind: "exact" })).toBe(false);
  });

  it("checks remote flushes within 10 % and page-table pages freed exactly", () => {
    const model = runValidationModel({
      workload: "mmap-munmap-2t",
      cpus: 2,
      profile: "v6.1",
      params: { iterations: 2 },
    });
    const kernel: KernelWorkloadResult = {
      workload: "mmap-munmap-2t",
      cpus: 2,
      iterations: 2,
      tlbShootdowns: [0, 2],
      callFunctionIpis: [0, 2],
      reschedIpis: [0, 0],
      pageTablesKb: [100, 100],
      tlbFlushEvents: model.tlbFlushEvents,
      tableFrees: {
        ...model.tableFrees,
        pmd: { ...model.tableFrees.pmd, munmap: model.tableFrees.pmd.munmap + 1 },
      },
      traceOverrun: 0,
      flushMmRange: [2, 1],
      awaySwitches: [0, 0],
      awayMs: [0, 0],
      params: {},
    };
    const rows = compareWorkload("mmap-munmap-2t", kernel, model);
    const byName = (m: string) => rows.find((r) => r.metric.startsWith(m))!;
    expect(byName("remote flushes received").ok).toBe(true);
    expect(byName("pte tables freed").ok).toBe(true);
    expect(byName("pmd tables freed").ok).toBe(false);
    expect(byName("function-call IPIs").tolerance).toBeNull();
    // one munmap flush with freed_tables per iteration in the model; the kernel's says one in two
    expect(byName("… asked with freed_tables").ok).toBe(false);
  });
});

describe("the model's twin loops", () => {
  const run = (workload: string, cpus: number, params = {}): ModelCounts =>
    runValidationModel({ workload, cpus, profile: "v6.1", params });

  it("tlb_flush2: each madvise flushes every other CPU running the mm, none with one CPU", () => {
    const one = run("tlb_flush2", 1, { passes: 1 });
    expect(one.iterations).toBe(256);
    expect(one.tlbShootdowns).toEqual([0]);
    for (const cpus of [2, 4]) {
      const m = run("tlb_flush2", cpus, { passes: 1 });
      expect(m.iterations).toBe(256 * cpus);
      const perIteration = m.tlbShootdowns.reduce((a, b) => a + b, 0) / m.iterations;
      expect(perIteration).toBeGreaterThan((cpus - 1) * 0.95);
      expect(perIteration).toBeLessThan((cpus - 1) * 1.1);
      expect(m.cowFaults).toBe(0);
    }
  });

  it("tlb_flush2-reuse: a write to the zero page the read left behind is a COW flush", () => {
    const m = run("tlb_flush2-reuse", 2, { passes: 3 });
    // passes 2 and 3 write pages the previous pass's read mapped to the zero page
    expect(m.cowFaults).toBe(2 * 2 * 256);
    const perIteration = m.tlbShootdowns.reduce((a, b) => a + b, 0) / m.iterations;
    // one remote flush per madvise, and one more for each COW fault
    expect(perIteration).toBeGreaterThan(1 + (2 / 3) * 0.95);
  });

  it("munmap-large frees the tables the layout implies, every iteration", () => {
    const L = VALIDATION_LAYOUT;
    const m = run("munmap-large", 1, { iterations: 2 });
    // one pte table per 2 MiB written; the pmd tables of the 1 GiB below tablesBase and of
    // [tablesBase, tablesBase + 1 GiB) (the neighbour keeps the third); the pud table of the
    // 512 GiB below tablesBase (the neighbour keeps the other)
    expect(m.tableFrees.pte.munmap).toBe(2 * (L.regionBytes / L.regionStride));
    expect(m.tableFrees.pmd.munmap).toBe(2 * 2);
    expect(m.tableFrees.pud.munmap).toBe(2 * 1);
  });

  it("is deterministic for a seed", () => {
    const a = runValidationModel({ workload: "tlb_flush2", cpus: 2, profile: "v6.1", seed: 3 });
    const b = runValidationModel({ workload: "tlb_flush2", cpus: 2, profile: "v6.1", seed: 3 });
    expect(b).toEqual(a);
  });

  it("refuses bad input before it runs anything", () => {
    expect(() => run("tlb_flush3", 2)).toThrow(UnknownNameError);
    expect(() => run("tlb_flush2", 0)).toThrow(ParameterError);
    expect(() => run("mmap-munmap", 2, { iterations: 0 })).toThrow(/iterations/);
    expect(() => run("fork-exec", 1, { iterations: 2, stackShifts: [4096] })).toThrow(
      /stackShifts/,
    );
  });
});

describe("mmulab validate: usage errors", () => {
  it("exits 2 naming the option, before any guest boots", async () => {
    for (const [argv, text] of [
      [["--cpus", "0"], /--cpus/],
      [["--cpus", "1,2,3,4,5,6,7,8,9"], /at most 8/],
      [["--cpus", "2,2"], /distinct/],
      [["--workloads", "nope"], /--workloads.*'nope' is not one/],
      [["--iterations", "100000"], /--iterations/],
      [["--kernel-release", "../../etc"], /--kernel-release/],
    ] as const) {
      const io = captureIO();
      expect(await runCli(["validate", ...argv], io, commands)).toBe(2);
      expect(io.stderr()).toMatch(text);
      expect(io.stderr()).not.toMatch(/\n\s+at /);
    }
  });

  it("prints a usage error as JSON under --json", async () => {
    const io = captureIO();
    expect(await runCli(["validate", "--json", "--passes", "0"], io, commands)).toBe(2);
    const out = JSON.parse(io.stdout()) as {
      error: { type: string; parameter: string; message: string };
    };
    expect(out.error.type).toBe("UsageError");
    expect(out.error.parameter).toBe("--passes");
    expect(out.error.message).toMatch(/--passes/);
  });

  it("knows a kernel release from a path", () => {
    expect(KERNEL_RELEASE.test("6.1.0-57-amd64")).toBe(true);
    expect(KERNEL_RELEASE.test("../6.1")).toBe(false);
    expect(KERNEL_RELEASE.test("6.1/../../x")).toBe(false);
    expect(() => findKernel({ release: "../../etc/passwd" })).toThrow(ParameterError);
  });
});
