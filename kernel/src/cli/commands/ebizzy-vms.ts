/** `mmulab ebizzy-vms`: ebizzy in 1, 2 and 3 overcommitted VMs, native IPI flush against KVM PV. */
import { PROFILE_NAMES } from "../../config/profiles.js";
import {
  EBIZZY_VMS_BACKENDS,
  MAX_EBIZZY_PCPUS,
  MAX_SEEDS,
  MAX_VMS,
  runEbizzyVms,
  type EbizzyVmsResult,
} from "../../experiments/ebizzy-vms.js";
import { HOST_KERNEL_NAMES } from "../../hw/host.js";
import {
  choiceFlag,
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  listFlag,
  parseFlags,
  printResult,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";

const VM_COUNTS = Array.from({ length: MAX_VMS }, (_, i) => String(i + 1));

function render(r: EbizzyVmsResult): string {
  const lines = [
    `ebizzy in VMs of ${r.vcpusPerVm} vCPUs (${r.threadsPerVm} threads each) on ${r.pcpus} host CPUs; guest ${r.profile}, host ${r.hostKernel}, PLE ${r.ple ? "on" : "off"}; ${r.durationMs} ms simulated, ${r.seeds} seed(s) from ${r.seed}`,
    "",
    "VMs  backend  records/s per VM (std)   mean flush wait  PLE exits  directed yields  PV entry flushes  steal",
  ];
  for (const x of r.rows)
    lines.push(
      `${String(x.vms).padStart(3)}  ${x.backend.padEnd(7)}  ${Math.round(x.recordsPerSecPerVm).toString().padStart(9)} (${Math.round(x.recordsPerSecPerVmStd).toString().padStart(6)})     ${(x.meanFlushWaitNs / 1000).toFixed(1).padStart(9)} µs  ${Math.round(x.pleExits).toString().padStart(9)}  ${Math.round(x.directedYields).toString().padStart(15)}  ${Math.round(x.entryFlushes).toString().padStart(16)}  ${(100 * x.stealShare).toFixed(0).padStart(4)} %`,
    );
  if (r.pvOverNative.length > 0) {
    lines.push("", "KVM PV over native, records/s per VM:");
    for (const p of r.pvOverNative) lines.push(`  ${p.vms} VM(s): ${p.ratio.toFixed(2)}×`);
  }
  return lines.join("\n");
}

export const ebizzyVmsCommand: Command = {
  name: "ebizzy-vms",
  summary: "ebizzy in 1–3 overcommitted VMs: the guest's native IPI flush against KVM's PV flush",
  usage: [
    `Usage: ${PROGRAM} ebizzy-vms [--pcpus P] [--vms N,…] [--backends B,…] [--profile P] [--host-kernel K] [--no-ple] [--duration-ms D] [--seed S] [--seeds N] [--json]`,
    "",
    "Runs ebizzy in N VMs of P vCPUs each (2 × P threads, ebizzy's default) on a host of P CPUs,",
    "every VM a full guest on one CFS-like host scheduler with pause-loop exiting and directed",
    "yield (docs/model.md). Scaled down from the KVM PV TLB flush series' 64 pCPUs and 10 s runs.",
    "",
    "Options:",
    `  --pcpus P         host CPUs and vCPUs per VM, 1 … ${MAX_EBIZZY_PCPUS} (default 8)`,
    `  --vms N,…         VM counts, each 1 … ${MAX_VMS} (default 1,2,3)`,
    `  --backends B,…    ${EBIZZY_VMS_BACKENDS.join(", ")} (default both)`,
    `  --profile P       guest kernel: ${PROFILE_NAMES.join(", ")} (default v6.1)`,
    `  --host-kernel K   ${HOST_KERNEL_NAMES.join(", ")} (default v4.15)`,
    "  --no-ple          turn pause-loop exiting off (kvm_intel ple_gap=0)",
    "  --duration-ms D   simulated run per configuration, 1 … 1000 (default 100)",
    "  --seed S          first seed (default 1)",
    `  --seeds N         seeds per configuration, 1 … ${MAX_SEEDS} (default 3)`,
    JSON_FLAG_USAGE,
  ].join("\n"),
  run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      pcpus: { type: "string" },
      vms: { type: "string" },
      backends: { type: "string" },
      profile: { type: "string" },
      "host-kernel": { type: "string" },
      "no-ple": { type: "boolean" },
      "duration-ms": { type: "string" },
      seed: { type: "string" },
      seeds: { type: "string" },
    });
    const pcpus = intFlag(values.pcpus, "pcpus", 8, { min: 1, max: MAX_EBIZZY_PCPUS });
    const vms = listFlag(values.vms, "vms", VM_COUNTS)?.map(Number);
    const backends = listFlag(values.backends, "backends", EBIZZY_VMS_BACKENDS);
    const profile = choiceFlag(values.profile, "profile", PROFILE_NAMES);
    const hostKernel = choiceFlag(values["host-kernel"], "host-kernel", HOST_KERNEL_NAMES);
    const durationMs = intFlag(values["duration-ms"], "duration-ms", 100, { min: 1, max: 1000 });
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 1 - MAX_SEEDS });
    const seeds = intFlag(values.seeds, "seeds", 3, { min: 1, max: MAX_SEEDS });
    const r = runEbizzyVms({
      pcpus,
      durationMs,
      seed,
      seeds,
      ple: values["no-ple"] !== true,
      ...(vms !== undefined ? { vms } : {}),
      ...(backends !== undefined ? { backends } : {}),
      ...(profile !== undefined ? { profile } : {}),
      ...(hostKernel !== undefined ? { hostKernel } : {}),
    });
    printResult(io, r, values.json, render);
    return Promise.resolve(EXIT_OK);
  },
};
