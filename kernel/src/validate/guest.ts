/**
 * One boot of the Debian kernel under qemu-system-x86_64 with TCG (software emulation: no
 * hypervisor, so no paravirt TLB flush — native IPIs) and N vCPUs, running the workloads in
 * sequence inside the guest. The guest's console goes to the first serial port, the workloads'
 * JSON lines to the second. Bounded: a boot that does not finish within the timeout is killed
 * (GuestTimeoutError), and a qemu still running when this process exits is killed with it.
 *
 * Kernel command line: `transparent_hugepage=never` — the model has no THP, and with THP on
 * (Debian's default is "always") a write to a 2 MiB-aligned anonymous range maps a huge page
 * and a deposited pte table instead of the pte table the model builds.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MmulabError } from "../sim/errors.js";
import type { TableFrees } from "../workloads/validation.js";
import type { GuestArtefacts } from "./build.js";
import type { GuestKernel, GuestTools } from "./host.js";

export class GuestTimeoutError extends MmulabError {
  constructor(
    readonly cpus: number,
    readonly timeoutMs: number,
    readonly consoleTail: string,
  ) {
    super(
      `the ${cpus}-vCPU guest did not power off within ${timeoutMs / 1000} s (qemu killed); ` +
        `last console lines:\n${consoleTail}`,
    );
  }
}

export class GuestFailedError extends MmulabError {
  constructor(
    message: string,
    readonly consoleTail: string,
  ) {
    super(`${message}${consoleTail ? `; last console lines:\n${consoleTail}` : ""}`);
  }
}

/** What the guest reports about itself (mmulab-wl info). */
export interface GuestInfo {
  readonly release: string;
  readonly cmdline: string;
  readonly cpus: number;
  readonly pcid: boolean;
  readonly invlpgb: boolean;
  readonly hypervisor: boolean;
  readonly thp: string;
  readonly meltdown: string;
}

/** One workload's kernel counts, as mmulab-wl prints them. */
export interface KernelWorkloadResult {
  readonly workload: string;
  readonly cpus: number;
  readonly iterations: number;
  /** /proc/interrupts "TLB shootdowns" delta per CPU. */
  readonly tlbShootdowns: number[];
  /** "Function call interrupts" delta per CPU. */
  readonly callFunctionIpis: number[];
  readonly reschedIpis: number[];
  /** /proc/meminfo PageTables before and after, kB. */
  readonly pageTablesKb: [number, number];
  /** tlb:tlb_flush events: [cpu][reason][ranged, full]. */
  readonly tlbFlushEvents: number[][][];
  /** ___pXd_free_tlb calls by level and path (from their stack traces). */
  readonly tableFrees: TableFrees;
  readonly traceOverrun: number;
  /** flush_tlb_mm_range calls and those asked with freed_tables (a kprobe); null when the
   * kernel has no kprobe events. */
  readonly flushMmRange: [number, number] | null;
  /** sched_switch: per CPU, times it left this program and ms it spent on other tasks (kernel
   * threads, idle) during the loop. */
  readonly awaySwitches: number[];
  readonly awayMs: number[];
  readonly params: Record<string, unknown>;
  readonly vmPteFreedKb?: number;
  readonly imageVmPteKb?: number;
  readonly exitVmPteKb?: number;
  readonly stackShifts?: number[];
}

export interface GuestWorkload {
  readonly workload: string;
  readonly args: Readonly<Record<string, number>>;
}

export interface GuestRunOptions {
  readonly tools: GuestTools;
  readonly kernel: GuestKernel;
  readonly artefacts: GuestArtefacts;
  readonly cpus: number;
  readonly workloads: readonly GuestWorkload[];
  readonly timeoutMs: number;
  readonly memoryMb?: number;
}

export interface GuestRun {
  readonly info: GuestInfo;
  readonly results: readonly KernelWorkloadResult[];
  readonly skipped: readonly { workload: string; reason: string }[];
  readonly wallMs: number;
}

const running = new Set<ReturnType<typeof spawn>>();
let exitHook = false;

function killAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const p of running) p.kill("SIGKILL");
  });
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n").trim();
  } catch {
    return "";
  }
}

function isNumArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
}

/** Checks a result line from the guest (untrusted text) has the fields the comparison reads. */
function checkResult(o: Record<string, unknown>, cpus: number): KernelWorkloadResult {
  const bad = (field: string) =>
    new GuestFailedError(
      `guest result for ${String(o.workload)}: bad or missing field ${field}`,
      "",
    );
  if (typeof o.workload !== "string") throw bad("workload");
  if (typeof o.iterations !== "number" || o.iterations < 1) throw bad("iterations");
  for (const f of ["tlbShootdowns", "callFunctionIpis", "reschedIpis", "awaySwitches", "awayMs"]) {
    const v = o[f];
    if (!isNumArray(v) || v.length !== cpus) throw bad(f);
  }
  if (!isNumArray(o.pageTablesKb) || o.pageTablesKb.length !== 2) throw bad("pageTablesKb");
  const ev = o.tlbFlushEvents;
  if (
    !Array.isArray(ev) ||
    ev.length !== cpus ||
    !ev.every(
      (c) => Array.isArray(c) && c.length === 5 && c.every((r) => isNumArray(r) && r.length === 2),
    )
  )
    throw bad("tlbFlushEvents");
  const tf = o.tableFrees as Record<string, Record<string, unknown>> | undefined;
  if (typeof tf !== "object" || tf === null) throw bad("tableFrees");
  for (const l of ["pte", "pmd", "pud", "p4d"]) {
    const perPath = tf[l];
    if (typeof perPath !== "object" || !Object.values(perPath).every((v) => typeof v === "number"))
      throw bad(`tableFrees.${l}`);
  }
  if (o.stackShifts !== undefined && !isNumArray(o.stackShifts)) throw bad("stackShifts");
  if (o.flushMmRange !== null && !(isNumArray(o.flushMmRange) && o.flushMmRange.length === 2))
    throw bad("flushMmRange");
  return o as unknown as KernelWorkloadResult;
}

/** Parses the second serial port's JSON lines. */
export function parseGuestOutput(
  text: string,
  cpus: number,
  consoleTail: string,
): Omit<GuestRun, "wallMs"> {
  let info: GuestInfo | null = null;
  let done = false;
  const results: KernelWorkloadResult[] = [];
  const skipped: { workload: string; reason: string }[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "") continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(t) as Record<string, unknown>;
    } catch {
      throw new GuestFailedError(`unreadable line from the guest: ${t.slice(0, 200)}`, consoleTail);
    }
    if (typeof o.error === "string")
      throw new GuestFailedError(`the guest's workload program failed: ${o.error}`, consoleTail);
    if (o.done === true) done = true;
    else if (typeof o.info === "object" && o.info !== null) info = o.info as GuestInfo;
    else if (typeof o.skipped === "string")
      skipped.push({ workload: String(o.workload), reason: o.skipped });
    else results.push(checkResult(o, cpus));
  }
  if (!done || info === null)
    throw new GuestFailedError("the guest stopped before it reported every workload", consoleTail);
  if (info.cpus !== cpus)
    throw new GuestFailedError(`the guest saw ${info.cpus} CPUs, not ${cpus}`, consoleTail);
  return { info, results, skipped };
}

/** The qemu command line for one boot. */
function qemuArgs(o: GuestRunOptions, consoleLog: string, resultsLog: string): string[] {
  const run = o.workloads
    .map(
      (w) =>
        `${w.workload}:${Object.entries(w.args)
          .map(([k, v]) => `${k}=${v}`)
          .join(",")}`,
    )
    .join(" ");
  const append = [
    "console=ttyS0",
    "quiet",
    "panic=-1",
    "transparent_hugepage=never",
    `MMULAB_RUN="${run}"`,
  ].join(" ");
  return [
    "-accel",
    "tcg",
    "-cpu",
    "qemu64",
    "-smp",
    String(o.cpus),
    "-m",
    `${o.memoryMb ?? 512}M`,
    "-nodefaults",
    "-display",
    "none",
    "-no-reboot",
    "-kernel",
    o.kernel.image,
    "-initrd",
    o.artefacts.initramfs,
    "-append",
    append,
    "-serial",
    `file:${consoleLog}`,
    "-serial",
    `file:${resultsLog}`,
  ];
}

/** Boots the guest, runs the workloads, returns what it reported. */
export async function runGuest(o: GuestRunOptions): Promise<GuestRun> {
  const dir = mkdtempSync(join(tmpdir(), "mmulab-guest-"));
  const consoleLog = join(dir, "console.log");
  const resultsLog = join(dir, "results.jsonl");
  const t0 = Date.now();
  killAllOnExit();
  try {
    const child = spawn(o.tools.qemu, qemuArgs(o, consoleLog, resultsLog), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    running.add(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      if (stderr.length < 10_000) stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new GuestTimeoutError(o.cpus, o.timeoutMs, tail(consoleLog)));
      }, o.timeoutMs);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new GuestFailedError(`cannot run ${o.tools.qemu}: ${e.message}`, ""));
      });
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    }).finally(() => running.delete(child));
    if (code !== 0)
      throw new GuestFailedError(
        `qemu exited with status ${code}${stderr ? `: ${stderr.trim()}` : ""}`,
        tail(consoleLog),
      );
    let text = "";
    try {
      text = readFileSync(resultsLog, "utf8");
    } catch {
      // parseGuestOutput reports the missing lines
    }
    return { ...parseGuestOutput(text, o.cpus, tail(consoleLog)), wallMs: Date.now() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
