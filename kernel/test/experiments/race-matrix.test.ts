/**
 * The race matrix, computed by running the simulator, checked against the kernel's own
 * reasoning (reference/kernel.md §2.4, §3.3): native IPI flushes wait for IRQ-off walkers;
 * hypercall and broadcast flushes do not, so without RCU table freeing a stalled walker reads a
 * freed table; RCU-sched grace periods close that for software walkers, including the
 * allocation-failure fallback; v4.14's mm_users < 2 shortcut reopens it for a use_mm() walker,
 * even natively. With the CPUs' page walkers modelled (the default), v4.14's two frees before the
 * flush — the allocation-failure fallback and the shortcut — are read by the hardware, and v4.19
 * closed both (reference/hardware-and-hypervisors.md §3.2–3.3).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { raceMatrixCommand } from "../../src/cli/commands/race-matrix.js";
import { IncompatibleBackendError, resolveProfile } from "../../src/config/profiles.js";
import type { TimelinePayload } from "../../src/contract/mime.js";
import {
  makeExample,
  runRaceMatrix,
  uafWindow,
  type RaceMatrix,
} from "../../src/experiments/race-matrix.js";
import { runTrial } from "../../src/experiments/scenarios.js";
import { ParameterError, UnknownNameError } from "../../src/sim/index.js";
import { raceExampleTimeline } from "../../src/views/race-matrix.js";
import { captureIO } from "../support/io.js";

const TRIALS = 40;
let m: RaceMatrix;

function cell(scenario: string, profile: string, backend: string) {
  const c = m.cells.find(
    (x) => x.scenario === scenario && x.profile === profile && x.backend === backend,
  );
  if (!c) throw new Error(`no cell ${scenario} ${profile} ${backend}`);
  return c;
}

beforeAll(() => {
  m = runRaceMatrix({ trials: TRIALS, seed: 1 });
}, 300_000);

describe("race matrix (computed, 40 trials a cell)", () => {
  it("covers every valid profile × backend × scenario and refuses INVLPGB before v6.15 with the reason", () => {
    expect(m.cells).toHaveLength(7 * (8 * 4 + 1));
    expect(m.hardware).toBe(true);
    expect(m.skipped.map((s) => s.profile)).toEqual([
      "v4.13",
      "v4.14-posted",
      "v4.14",
      "v4.19",
      "v5.10",
      "v6.0",
      "v6.1",
    ]);
    for (const s of m.skipped) expect(s.reason).toMatch(/INVLPGB .* v6\.15/);
  });

  it("native IPI flushing keeps software walkers safe in every profile (walker, preempted walker, allocation failure)", () => {
    for (const c of m.cells.filter((x) => x.backend === "native" && x.scenario !== "use-mm-walker"))
      expect(c.readers.software, `${c.scenario} ${c.profile}`).toBe(0);
  });

  it("hardware readers appear only where v4.14 frees a table before the flush, and each cell names its config", () => {
    for (const c of m.cells) {
      const early =
        (c.profile === "v4.14" || c.profile === "v4.14-posted") &&
        c.rcuTableFree &&
        ["batch-alloc-failure", "lazy-tlb-walker", "use-mm-walker"].includes(c.scenario);
      if (!early) expect(c.readers.hwWalker, `${c.scenario} ${c.profile} ${c.backend}`).toBe(0);
      expect(c.readers.staleTlb).toBe(0);
      expect(c.hardware).toBe(true);
      // a distribution kernel's CONFIG_PARAVIRT=y in every cell by default
      expect(c.paravirt).toBe(true);
    }
    // the IRQ-off section is 20–200 µs and the walker walks every 10 µs on average: nearly always
    expect(cell("lazy-tlb-walker", "v4.14", "native").readers.hwWalker).toBeGreaterThan(
      TRIALS * 0.75,
    );
    const fallback = ["native", "xen-pv", "hyperv", "kvm-pv"].map(
      (b) => cell("batch-alloc-failure", "v4.14", b).readers.hwWalker,
    );
    expect(fallback.reduce((a, b) => a + b)).toBeGreaterThan(0);
  });

  it("every hypercall backend without RCU table freeing lets a walker read a freed table", () => {
    expect(cell("walker-vs-munmap", "v4.13", "xen-pv").uaf).toBeGreaterThan(0);
    expect(cell("walker-vs-munmap", "v4.13", "hyperv").uaf).toBeGreaterThan(0);
    // KVM's PV flush only skips vCPUs the host has descheduled
    expect(cell("walker-vs-munmap", "v4.13", "kvm-pv").uaf).toBe(0);
    expect(cell("preempted-walker", "v4.13", "kvm-pv").uaf).toBeGreaterThan(0);
    for (const b of ["xen-pv", "hyperv", "kvm-pv"])
      expect(cell("preempted-walker", "v4.13", b).uaf).toBeGreaterThan(0);
    for (const b of ["xen-pv", "hyperv"])
      expect(cell("batch-alloc-failure", "v4.13", b).uaf).toBeGreaterThan(0);
  });

  it("with RCU table freeing the software walker's race is gone, including the allocation-failure fallback; from v4.19 every reader's", () => {
    const rcuCells = m.cells.filter((c) => c.rcuTableFree && c.scenario !== "use-mm-walker");
    expect(rcuCells.length).toBeGreaterThan(40);
    for (const c of rcuCells)
      expect(c.readers.software, `${c.scenario} ${c.profile} ${c.backend}`).toBe(0);
    for (const c of m.cells.filter((x) => ["v4.19", "v5.10", "v6.1", "v6.15"].includes(x.profile)))
      expect(c.uaf, `${c.scenario} ${c.profile} ${c.backend}`).toBe(0);
  });

  it("v4.14's mm_users < 2 shortcut shows the use_mm() walker case, even natively; v4.19 closed it", () => {
    expect(cell("use-mm-walker", "v4.14", "native").uaf).toBe(TRIALS);
    expect(cell("use-mm-walker", "v4.14", "kvm-pv").uaf).toBe(TRIALS);
    // as posted, with a distribution kernel's PARAVIRT=y, RCU table free (and the shortcut) is
    // built in natively too; a bare-metal build (PARAVIRT=n) has neither
    expect(cell("use-mm-walker", "v4.14-posted", "native").uaf).toBe(TRIALS);
    const bare = runRaceMatrix({
      profiles: ["v4.14-posted"],
      backends: ["native", "xen-pv"],
      scenarios: ["use-mm-walker"],
      trials: 10,
      examples: false,
      paravirt: false,
    });
    expect(bare.cells.map((c) => [c.backend, c.uaf, c.paravirt, c.rcuTableFree])).toEqual([
      ["native", 0, false, false],
    ]);
    expect(bare.skipped[0]!.reason).toMatch(/needs CONFIG_PARAVIRT/);
    for (const p of ["v4.19", "v5.10", "v6.15"])
      for (const b of ["native", "xen-pv", "hyperv", "kvm-pv"])
        expect(cell("use-mm-walker", p, b).uaf).toBe(0);
  });

  it("needs the walker held up: an unstalled walker stops at a cleared pte before the table is freed", () => {
    for (const backend of ["xen-pv", "hyperv"]) {
      let uaf = 0;
      for (let i = 0; i < TRIALS; i++)
        uaf += runTrial({
          scenario: "walker-vs-munmap",
          profile: "v4.13",
          backend,
          seed: 1 + i,
          trace: false,
          stallNs: 1,
        }).uaf;
      expect(uaf).toBe(0);
    }
  });

  it("a trial ends once its walk has returned and RCU is idle, with every queued table freed", () => {
    for (const scenario of ["walker-vs-munmap", "preempted-walker", "batch-alloc-failure"]) {
      for (let seed = 1; seed <= 10; seed++) {
        const r = runTrial({ scenario, profile: "v4.14", backend: "kvm-pv", seed, trace: false });
        const { sim, rcu, k } = r.system;
        expect(r.tablesFreedRcu + r.tablesFreedDirect).toBeGreaterThan(0);
        // nothing left waiting for a grace period, nothing left in the queue
        expect(k.alloc.stats.inUse["pending-rcu"]).toBe(0);
        expect(rcu.pendingCallbacks).toBe(0);
        expect(sim.queue.length).toBe(0);
        // the walk returned before the end (a stall of up to 3 ms), and the end came well
        // before the old fixed 60 ms of idle ticks
        expect(sim.now).toBeGreaterThan(r.stallNs);
        expect(sim.now).toBeLessThan(20_000_000);
      }
    }
  });

  it("INVLPGB without RCU table freeing (a counterfactual v6.15): a process with a global ASID has the race, a fresh one (IPI flushes) and RCU table freeing do not", () => {
    const count = (rcuTableFree: boolean, globalAsid: boolean) => {
      let n = 0;
      let broadcasts = 0;
      for (let i = 0; i < TRIALS; i++) {
        const r = runTrial({
          scenario: "walker-vs-munmap",
          profile: "v6.15",
          backend: "invlpgb",
          seed: 1 + i,
          trace: false,
          resolve: { rcuTableFree },
          globalAsid,
        });
        if (r.uaf > 0) n++;
        broadcasts += r.system.x86.stats.broadcastFlushes;
      }
      return { n, broadcasts };
    };
    const established = count(false, true);
    expect(established.n).toBeGreaterThan(0);
    expect(established.broadcasts).toBeGreaterThanOrEqual(TRIALS);
    // a fresh process's munmap flush is an IPI flush: it waits for the walker's IRQs
    expect(count(false, false)).toEqual({ n: 0, broadcasts: 0 });
    expect(count(true, true).n).toBe(0);
  });

  it("refuses globalAsid where no kernel would have one, naming the reason", () => {
    const base = { scenario: "walker-vs-munmap", profile: "v6.15", seed: 1, trace: false } as const;
    expect(() => runTrial({ ...base, backend: "native", globalAsid: true })).toThrow(
      /globalAsid.*only an INVLPGB kernel/,
    );
    expect(() => runTrial({ ...base, backend: "invlpgb", nrCpus: 3, globalAsid: true })).toThrow(
      /more than 3 CPUs/,
    );
  });

  it("keeps an example trial for every cell with a use-after-free, its timeline is a view, and the replay literal reproduces it", () => {
    const withUaf = m.cells.filter((c) => c.uaf > 0);
    expect(withUaf.length).toBeGreaterThan(0);
    for (const c of withUaf) {
      const ex = c.example!;
      expect(raceExampleTimeline(ex).instants.some((i) => i.kind === "uaf")).toBe(true);
      expect(ex.chromeTrace.traceEvents.some((e) => e.name === "mmulab:use_after_free")).toBe(true);
      // the matrix is data: no payload in it
      expect(ex).not.toHaveProperty("timeline");
    }
    const ex = cell("use-mm-walker", "v4.14", "native").example!;
    // IPI arrows on a native cell; the freed table's history ends in its free
    expect(raceExampleTimeline(ex).arrows.length).toBeGreaterThan(0);
    expect(ex.firstReport.history.some((h) => h.what === "free")).toBe(true);
    const again = makeExample(ex.replay);
    expect(again.firstReport).toEqual(ex.firstReport);
    expect(runTrial({ ...ex.replay, trace: false }).uaf).toBeGreaterThan(0);
  });
});

describe("an example's timeline window", () => {
  it("includes the CPU that freed the table, milliseconds before the preempted walker's read", () => {
    // the first kvm-pv seed from 1 with a use-after-free in preempted-walker
    let seed = 1;
    while (
      runTrial({ scenario: "preempted-walker", profile: "v4.13", backend: "kvm-pv", seed }).uaf ===
      0
    )
      seed++;
    const ex = makeExample({
      scenario: "preempted-walker",
      profile: "v4.13",
      backend: "kvm-pv",
      seed,
    });
    const report = ex.firstReport;
    const free = report.history.find((h) => h.what === "free");
    expect(free).toBeDefined();
    const freedAt = free!.t;
    // the free happened long before the read: the old 400 µs window could not reach it
    expect(report.t - freedAt).toBeGreaterThan(400_000);
    const walker = `cpu${report.cpu}`;
    const tl = raceExampleTimeline(ex);
    // a CPU other than the walker's has a span covering the free: its munmap
    const freeing = tl.spans.filter(
      (s) => s.lane !== walker && s.lane !== "rcu" && s.start <= freedAt && s.end >= freedAt,
    );
    expect(freeing.map((s) => s.label)).toContain("sys_munmap");
    // and the walker's lane has the read
    expect(tl.instants.some((i) => i.kind === "uaf" && i.lane === walker)).toBe(true);
  });

  it("keeps at least 400 µs before the read when the teardown was recent", () => {
    const w = uafWindow({ t: 1_000_000, history: [{ t: 990_000, what: "free" }] });
    expect(w).toEqual({ from: 600_000, to: 1_050_000 });
    const far = uafWindow({
      t: 3_000_000,
      history: [
        { t: 100, what: "alloc pte table (mm 1)" },
        { t: 500_000, what: "unlinked from parent" },
        { t: 510_000, what: "free" },
      ],
    });
    expect(far).toEqual({ from: 480_000, to: 3_050_000 });
  });
});

describe("bad input", () => {
  it("names valid profiles, backends and scenarios", () => {
    expect(() => runRaceMatrix({ profiles: ["v4.15"] })).toThrow(UnknownNameError);
    expect(() => runRaceMatrix({ profiles: ["v4.15"] })).toThrow(
      /"v4.13", "v4.14-posted", "v4.14", "v4.19", "v5.10", "v6.0", "v6.1", "v6.6", .*"v6.15", "v6.16"/,
    );
    expect(() => runRaceMatrix({ backends: ["vmware"] })).toThrow(
      /backends\[0\] = "vmware" .*"native", "xen-pv", "hyperv", "kvm-pv", "invlpgb"/,
    );
    expect(() => runRaceMatrix({ scenarios: ["oops"] })).toThrow(/scenarios\[0\] = "oops"/);
    expect(() => runRaceMatrix({ trials: 0 })).toThrow(ParameterError);
  });

  it("refuses a backend the profile cannot have, with the reason", () => {
    expect(() => resolveProfile("v4.14", "invlpgb")).toThrow(IncompatibleBackendError);
    expect(() => resolveProfile("v4.14", "invlpgb")).toThrow(
      /not available on profile "v4.14": INVLPGB .*v6.15/,
    );
    expect(() => resolveProfile("v4.19", "kvm-pv", { paravirt: false })).toThrow(
      /needs CONFIG_PARAVIRT/,
    );
  });
});

describe("mmulab race-matrix", () => {
  it("prints the cells as JSON", async () => {
    const io = captureIO();
    const code = await raceMatrixCommand.run(
      [
        "--profiles",
        "v4.13,v4.14",
        "--backends",
        "xen-pv",
        "--scenarios",
        "walker-vs-munmap",
        "--trials",
        "40",
        "--json",
      ],
      io,
    );
    expect(code).toBe(0);
    const cells = JSON.parse(io.stdout()) as {
      profile: string;
      backend: string;
      scenario: string;
      trials: number;
      uaf: number;
    }[];
    expect(cells.map((c) => [c.profile, c.uaf > 0])).toEqual([
      ["v4.13", true],
      ["v4.14", false],
    ]);
    expect(Object.keys(cells[0]!).sort()).toEqual([
      "backend",
      "config",
      "profile",
      "readers",
      "scenario",
      "trials",
      "uaf",
    ]);
    expect(cells[0]).toMatchObject({
      readers: { hwWalker: 0, staleTlb: 0 },
      config: { rcuTableFree: false, paravirt: true, hardware: true },
    });
  });

  it("writes each example's Chrome trace and, built by the views, its timeline with --examples", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mmulab-examples-"));
    try {
      const args = [
        "--profiles",
        "v4.13",
        "--backends",
        "xen-pv",
        "--scenarios",
        "walker-vs-munmap",
      ];
      const code = await raceMatrixCommand.run(
        [...args, "--trials", "10", "--examples", dir],
        captureIO(),
      );
      expect(code).toBe(0);
      const ex = runRaceMatrix({
        profiles: ["v4.13"],
        backends: ["xen-pv"],
        scenarios: ["walker-vs-munmap"],
        trials: 10,
        progress: false,
      }).cells[0]!.example!;
      const base = join(dir, "walker-vs-munmap_v4.13_xen-pv");
      const timeline = readFileSync(`${base}.timeline.json`, "utf8");
      expect(timeline).toBe(JSON.stringify(raceExampleTimeline(ex)));
      expect((JSON.parse(timeline) as TimelinePayload).instants.some((i) => i.kind === "uaf")).toBe(
        true,
      );
      expect(readFileSync(`${base}.trace.json`, "utf8")).toBe(JSON.stringify(ex.chromeTrace));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists the valid names in --help", () => {
    expect(raceMatrixCommand.usage).toContain("v4.14-posted");
    expect(raceMatrixCommand.usage).toContain("kvm-pv");
    expect(raceMatrixCommand.usage).toContain("use-mm-walker");
    expect(raceMatrixCommand.usage).toContain("lazy-tlb-walker");
    expect(raceMatrixCommand.usage).toContain("--no-hardware");
  });
});
