/** `mmulab kernbench`: simulated kernel builds, one configuration or the seed's whole table. */
import { XEN_PV_HOSTS } from "../../arch/x86/backends.js";
import { BACKEND_NAMES } from "../../config/profiles.js";
import { hostProfile, type KernbenchKernel } from "../../experiments/kernbench.js";
import { MAX_OTHER_VCPUS } from "../../hw/host.js";
import { MAX_GUEST_VCPUS } from "../../system/build.js";
import type { HostProfile } from "../../workloads/hosts.js";
import { meanStd, KERNBENCH_FIELDS } from "../../experiments/kernbench-stats.js";
import { availableParallelism } from "node:os";
import { formatSeedTable, runBuilds, runSeedTable } from "../../experiments/kernbench-table.js";
import {
  choiceFlag,
  HOST_FLAG_USAGE,
  hostFlag,
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  numberFlag,
  parseFlags,
  rejectIgnored,
  requireFlags,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../command.js";

/** What --rcu-table-free says, and the kernel each value builds. */
const RCU_TABLE_FREE: Readonly<Record<string, KernbenchKernel>> = {
  off: "current",
  on: "rcu",
  "no-shortcut": "rcu-no-shortcut",
};

/** The host a spec resolved to, as the JSON result reports it. */
function hostSpecSummary(h: HostProfile) {
  return {
    base: h.base,
    cpus: h.nrCpus,
    sockets: h.sockets,
    smt: h.smt,
    hz: h.hz,
    hypervisor: h.hypervisor,
    costs: h.costs,
  };
}

export const kernbenchCommand: Command = {
  name: "kernbench",
  summary: "simulate kernbench builds (make -j N) or the seed's whole kernbench table",
  usage: [
    `Usage: ${PROGRAM} kernbench --host H [-j N] [--backend B] [--vcpus V] [--other-vcpus K] [--xen-host X] [--rcu-table-free on|off|no-shortcut] [--runs R] [--seed S] [--workers W] [--scale F] [--json]`,
    `       ${PROGRAM} kernbench --seed-table [--runs R] [--seed S] [--workers W] [--scale F] [--json]`,
    "",
    "Runs a simulated `make -j N` of a Linux kernel on a host profile and prints what kernbench",
    "prints (GNU time's elapsed, user, system, %CPU, context switches, sleeps) as mean (std).",
    "--seed-table re-derives the seed patch's table: both hosts, half and optimal load, CURRENT",
    "vs HAVE_RCU_TABLE_FREE, next to the seed's numbers.",
    "",
    "Options:",
    `  --host H            ${HOST_FLAG_USAGE}`,
    "                      (a spec's build and contention factors are its base preset's,",
    "                      default 16cpu: not calibrated on that host)",
    "  -j, --jobs N        make jobs, 1 … 64 × CPUs (default: half load, CPUs / 2)",
    `  --backend B         TLB flush backend: ${BACKEND_NAMES.join(", ")} (default native;`,
    "                      a paravirt backend runs the build as a guest, one vCPU per pCPU)",
    "  --vcpus V           run the build in a guest of V vCPUs on the host's CPUs, 1 … 1024",
    "  --other-vcpus K     runnable vCPUs of other VMs on the same CPUs, 0 … 4096 (default 0);",
    "                      more vCPUs than host CPUs: the host schedules them (CFS-like, hw/host.ts)",
    `  --xen-host X        with --backend xen-pv: ${XEN_PV_HOSTS.join(", ")} (default xen):`,
    "                      Xen on bare metal, a PV shim whose flush IPIs its pCPUs, or a",
    "                      Xen 4.14+ shim that asks L0 (HVMOP_flush_tlbs)",
    "  --rcu-table-free X  on (v4.14 as posted), off (v4.13; default), or no-shortcut",
    "                      (--host, -j, --backend and --rcu-table-free are not for --seed-table)",
    "  --runs R            builds, 1 … 100 (default 5)",
    "  --seed S            seed of the first build (default 1)",
    "  --workers W         build processes in parallel, 0 … 64 (default 0: available parallelism)",
    "  --scale F           shorter build: fraction of the objects, 0 < F ≤ 1 (default 1)",
    JSON_FLAG_USAGE,
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      host: { type: "string" },
      backend: { type: "string" },
      vcpus: { type: "string" },
      "other-vcpus": { type: "string" },
      "xen-host": { type: "string" },
      jobs: { type: "string", short: "j" },
      "rcu-table-free": { type: "string" },
      runs: { type: "string" },
      seed: { type: "string" },
      workers: { type: "string" },
      scale: { type: "string" },
      "seed-table": { type: "boolean", default: false },
    });
    const runs = intFlag(values.runs, "runs", 5, { min: 1, max: 100 });
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 101 });
    const workers = intFlag(values.workers, "workers", 0, { min: 0, max: 64 }) || undefined;
    const scale = numberFlag(values.scale, "scale", 1, { min: 0, max: 1, minExclusive: true });
    if (values["seed-table"]) {
      rejectIgnored(
        values,
        ["host", "jobs", "backend", "vcpus", "other-vcpus", "xen-host", "rcu-table-free"],
        "with --seed-table",
      );
      const t = await runSeedTable({
        runs,
        seed,
        scale,
        ...(workers !== undefined ? { workers } : {}),
      });
      io.out(values.json ? `${JSON.stringify(t, null, 2)}\n` : `${formatSeedTable(t)}\n`);
      return EXIT_OK;
    }
    requireFlags(values, ["host"]);
    const hostText = hostFlag(values.host)!;
    const host = hostProfile(hostText);
    const backend = choiceFlag(values.backend, "backend", BACKEND_NAMES);
    const xenPvHost = choiceFlag(values["xen-host"], "xen-host", XEN_PV_HOSTS);
    if (xenPvHost !== undefined && backend !== "xen-pv")
      throw new UsageError("--xen-host is for a Xen PV guest: give --backend xen-pv with it");
    const vcpus =
      values.vcpus === undefined
        ? undefined
        : intFlag(values.vcpus, "vcpus", 0, { min: 1, max: MAX_GUEST_VCPUS });
    const otherVcpus =
      values["other-vcpus"] === undefined
        ? undefined
        : intFlag(values["other-vcpus"], "other-vcpus", 0, { min: 0, max: MAX_OTHER_VCPUS });
    const guest = {
      ...(vcpus !== undefined ? { vcpus } : {}),
      ...(otherVcpus !== undefined ? { otherVcpus } : {}),
    };
    const nrCpus = vcpus ?? host.nrCpus;
    const jobs = intFlag(
      values.jobs,
      "jobs",
      vcpus !== undefined ? Math.max(1, Math.floor(vcpus / 2)) : host.halfJobs,
      { min: 1, max: nrCpus * 64 },
    );
    const rtf = choiceFlag(values["rcu-table-free"], "rcu-table-free", Object.keys(RCU_TABLE_FREE));
    const kernel = RCU_TABLE_FREE[rtf ?? "off"]!;
    const done = await runBuilds(
      Array.from({ length: runs }, (_, i) => ({
        host: hostText,
        ...(backend !== undefined ? { backend } : {}),
        ...guest,
        jobs,
        kernel,
        seed: seed + i,
        scale,
        ...(xenPvHost !== undefined ? { backendOptions: { xenPvHost } } : {}),
      })),
      // build processes by default: parallel runs, and the build's tuned heap (buildProcessFlags)
      workers ?? Math.min(runs, availableParallelism()),
      { label: `kernbench -j ${jobs} on ${host.name}` },
    );
    const stats = Object.fromEntries(
      KERNBENCH_FIELDS.map((f) => [f, meanStd(done.map((r) => r.stats[f]))]),
    );
    const result = {
      host: host.name,
      ...(host.name === "custom" ? { hostSpec: hostSpecSummary(host) } : {}),
      ...(backend !== undefined ? { backend } : {}),
      ...(xenPvHost !== undefined ? { xenHost: xenPvHost } : {}),
      ...guest,
      jobs,
      kernel,
      runs,
      seed,
      stats,
      mechanism: done.map((r) => r.mechanism),
    };
    if (values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const lines = [
        `${host.title}${vcpus !== undefined || otherVcpus !== undefined ? `, in a ${nrCpus}-vCPU guest beside ${otherVcpus ?? 0} other vCPU(s)` : ""}, make -j ${jobs}, ${kernel}${backend !== undefined ? `, ${backend} flush${xenPvHost !== undefined ? ` (${xenPvHost})` : ""}` : ""}, ${runs} run(s):`,
      ];
      for (const f of KERNBENCH_FIELDS) {
        const m = result.stats[f]!;
        lines.push(`  ${f.padEnd(16)} ${m.mean.toPrecision(6)} (${m.std.toPrecision(4)})`);
      }
      const m0 = done[0]!.mechanism;
      lines.push(
        `  page tables: ${m0.tablesFreedDirect} freed directly, ${m0.tablesFreedRcu} through RCU (first run)`,
      );
      io.out(`${lines.join("\n")}\n`);
    }
    return EXIT_OK;
  },
};
