/** `mmulab validate`: the model's counts against a real kernel's (Debian's, under qemu TCG). */
import { MmulabError, ParameterError } from "../../sim/errors.js";
import { VALIDATION_WORKLOADS } from "../../workloads/validation.js";
import {
  KERNEL_RELEASE,
  validate,
  type ComparisonRow,
  type ValidateResult,
} from "../../validate/index.js";
import { intFlag, JSON_FLAG_USAGE, jsonFlag, parseFlags, printResult } from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from "../command.js";

function fmt(v: number | null): string {
  if (v === null) return "—";
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(Math.abs(v) >= 100 ? 1 : 3);
}

function check(r: ComparisonRow): string {
  if (r.tolerance === null) return "";
  const t = r.tolerance.kind === "exact" ? "exact" : `±${r.tolerance.within * 100}%`;
  return `${r.ok ? "ok" : "DISAGREES"} (${t})`;
}

function render(r: ValidateResult): string {
  const p = r.kernel.profile;
  const lines = [
    `kernel ${r.kernel.release} (${r.kernel.image}), config ${r.kernel.config}`,
    `  profile ${p.profile}${p.exact ? "" : " (nearest older profile)"}, PARAVIRT ${p.resolve.paravirt ? "y" : "n"}, HZ ${p.hz}, ` +
      `preempt ${p.preempt}${p.preemptDynamic ? " (dynamic)" : ""}, backend ${r.kernel.backend} (TCG: no PV flush)`,
    `  page tables freed on native: ${p.tableFreeNative}`,
  ];
  for (const b of r.boots)
    lines.push(
      `  ${b.cpus} vCPU(s): ${(b.wallMs / 1000).toFixed(1)} s; guest ${b.guest.release}, PCID ${b.guest.pcid ? "yes" : "no"}, THP ${b.guest.thp}`,
    );
  for (const c of r.comparisons) {
    lines.push(
      "",
      `${c.workload} — ${c.cpus} vCPU(s), ${c.iterations} iterations: ${c.ok ? "agrees" : "DISAGREES"}`,
    );
    const w = Math.max(...c.rows.map((x) => x.metric.length));
    lines.push(
      `  ${"counter".padEnd(w)}  ${"kernel".padStart(9)}  ${"model".padStart(9)}  ${"ratio".padStart(6)}  check`,
    );
    for (const x of c.rows)
      lines.push(
        `  ${x.metric.padEnd(w)}  ${fmt(x.kernel).padStart(9)}  ${fmt(x.model).padStart(9)}  ${fmt(x.ratio).padStart(6)}  ${check(x)}`,
      );
  }
  for (const s of r.skipped)
    lines.push("", `${s.workload} — ${s.cpus} vCPU(s): skipped (${s.reason})`);
  lines.push("", r.ok ? "every checked counter agrees" : "some checked counters DISAGREE");
  return lines.join("\n");
}

function list(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new UsageError(`option '--${flag}' expects a comma-separated list`);
  return items;
}

export const validateCommand: Command = {
  name: "validate",
  summary: "compare the model's counts with a real kernel's (Debian's Linux under qemu)",
  usage: [
    `Usage: ${PROGRAM} validate [--cpus 1,2,4] [--workloads W,…] [--iterations N] [--passes N] [--reuse-passes N] [--unaligned-passes] [--timeout-s S] [--seed S] [--kernel-release R] [--json]`,
    "",
    "Boots the installed Debian kernel (linux-image-amd64) under qemu-system-x86_64 with TCG, once",
    "per vCPU count, runs each workload's loop as a static C program in the guest and reads the",
    "kernel's counters (/proc/interrupts, tlb:tlb_flush, the page-table frees); runs the same loop",
    "on the model with a profile read from the kernel's /boot/config-*, and prints both with their",
    "ratio. Needs the Debian packages linux-image-amd64, qemu-system-x86, busybox-static, gcc and",
    "libc6-dev. Exit status 1 when a checked counter disagrees.",
    "",
    "Options:",
    `  --cpus N,…        vCPU counts, one boot each (default 1,2,4; each 1 … 16)`,
    `  --workloads W,…   ${VALIDATION_WORKLOADS.join(", ")} (default all)`,
    "  --iterations N    iterations of the loops other than tlb_flush2 (default 8; 1 … 10000)",
    "  --passes N        tlb_flush2 passes of 256 pages per thread (default 2; 1 … 1000)",
    "  --reuse-passes N  tlb_flush2-reuse passes (default 4; 1 … 1000)",
    "  --unaligned-passes  run tlb_flush2 as will-it-scale does, without the barrier between",
    "                    passes (its counts then depend on mmap_sem contention: reported, not checked)",
    "  --timeout-s S     per boot (default 600; 1 … 3600)",
    "  --seed S          model seed (default 1)",
    "  --kernel-release R  a release under /boot instead of linux-image-amd64's",
    JSON_FLAG_USAGE,
  ].join("\n"),
  async run(argv, io) {
    try {
      return await runValidate(argv, io);
    } catch (e) {
      // under --json a usage error is JSON too (exit 2 all the same)
      if (!(e instanceof UsageError) || !argv.includes("--json")) throw e;
      io.out(`${JSON.stringify({ error: { type: "UsageError", message: e.message } }, null, 2)}\n`);
      return EXIT_USAGE;
    }
  },
};

async function runValidate(argv: readonly string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    ...jsonFlag,
    cpus: { type: "string" },
    workloads: { type: "string" },
    iterations: { type: "string" },
    passes: { type: "string" },
    "reuse-passes": { type: "string" },
    "timeout-s": { type: "string" },
    seed: { type: "string" },
    "kernel-release": { type: "string" },
    "unaligned-passes": { type: "boolean", default: false },
  });
  const cpus = list(values.cpus, "cpus")?.map((c) => intFlag(c, "cpus", 1, { min: 1, max: 16 }));
  if (cpus !== undefined && cpus.length > 8)
    throw new UsageError(`option '--cpus' takes at most 8 counts, got ${cpus.length}`);
  const release = values["kernel-release"];
  if (release !== undefined && !KERNEL_RELEASE.test(release))
    throw new UsageError(
      `option '--kernel-release' expects a release like 6.1.0-57-amd64, got '${release}'`,
    );
  let result: ValidateResult;
  try {
    result = await validate({
      ...(cpus ? { cpus } : {}),
      ...(values.workloads !== undefined
        ? { workloads: list(values.workloads, "workloads")! }
        : {}),
      iterations: intFlag(values.iterations, "iterations", 8, { min: 1, max: 10_000 }),
      passes: intFlag(values.passes, "passes", 2, { min: 1, max: 1_000 }),
      reusePasses: intFlag(values["reuse-passes"], "reuse-passes", 4, { min: 1, max: 1_000 }),
      timeoutMs: intFlag(values["timeout-s"], "timeout-s", 600, { min: 1, max: 3_600 }) * 1000,
      seed: intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 1 }),
      ...(release !== undefined ? { kernelRelease: release } : {}),
      alignPasses: !values["unaligned-passes"],
      onProgress: (line) => io.err(`${line}\n`),
    });
  } catch (e) {
    // a flag the input layer refused inside the call is a usage error (exit 2), not a failed run
    if (e instanceof UsageError) throw e;
    if (e instanceof ParameterError) throw new UsageError(e.message);
    if (!(e instanceof MmulabError)) throw e;
    // a missing package, a guest that failed or timed out: say what, without a stack trace
    if (values.json)
      io.out(`${JSON.stringify({ error: { type: e.name, message: e.message } }, null, 2)}\n`);
    else io.err(`${PROGRAM} validate: ${e.message}\n`);
    return EXIT_FAILURE;
  }
  printResult(io, result, values.json, render);
  if (!result.ok) io.err(`${PROGRAM} validate: some checked counters disagree (see above)\n`);
  return result.ok ? EXIT_OK : EXIT_FAILURE;
}
