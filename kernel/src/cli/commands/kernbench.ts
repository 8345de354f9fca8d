/** `mmulab kernbench`: simulated kernel builds, one configuration or the seed's whole table. */
import { XEN_PV_HOSTS } from "../../arch/x86/backends.js";
import { BACKEND_NAMES } from "../../config/profiles.js";
import {
  hostProfile,
  kernelProfile,
  MAX_KERNBENCH_VMS,
  type KernbenchGuest,
  type KernbenchKernel,
  type KernbenchRun,
  type MechanismStats,
} from "../../experiments/kernbench.js";
import { MAX_OTHER_VCPUS } from "../../hw/host.js";
import { MAX_GUEST_VCPUS, parseGuestSpec } from "../../system/build.js";
import { STEAL_ACCOUNTING } from "../../sched/scheduler.js";
import type { HostProfile } from "../../workloads/hosts.js";
import { meanStd, KERNBENCH_FIELDS, type MeanStd } from "../../experiments/kernbench-stats.js";
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
    ...(h.credit2Runqueue !== undefined ? { credit2Runqueue: h.credit2Runqueue } : {}),
    costs: h.costs,
  };
}

/** kernbench's mean (std) lines. */
function statLines(stats: Readonly<Record<string, MeanStd>>): string[] {
  return KERNBENCH_FIELDS.map((f) => {
    const m = stats[f]!;
    return `  ${f.padEnd(16)} ${m.mean.toPrecision(6)} (${m.std.toPrecision(4)})`;
  });
}

function tableLine(m: MechanismStats): string {
  return `  page tables: ${m.tablesFreedDirect} freed directly, ${m.tablesFreedRcu} through RCU (first run)`;
}

/**
 * The guests of `--guest SPEC …` (the grammar of `mmulab workload --guest`, whose workload here
 * is the kernel build: `jobs=J` is its option, and make -j defaults to -j, else half the guest's
 * vCPUs), or undefined without any. Refuses --vms beside them and more than the bound.
 */
function guestFlags(
  texts: readonly string[],
  vms: string | undefined,
  defaults: { profile: string; backend: string; vcpus: number; jobs?: number },
): KernbenchGuest[] | undefined {
  if (texts.length === 0) return undefined;
  if (vms !== undefined) throw UsageError.invalid("--vms", vms, "not both --vms and --guest");
  if (texts.length > MAX_KERNBENCH_VMS)
    throw UsageError.invalid("--guest", `${texts.length} guests`, `at most ${MAX_KERNBENCH_VMS}`);
  return texts.map((text) => {
    const g = parseGuestSpec(text, { ...defaults, workload: "kernbench" });
    if (g.workload !== "kernbench")
      throw UsageError.invalid(
        "--guest",
        text,
        "workload=kernbench or no workload (kernbench runs a kernel build in each guest)",
      );
    const extra = Object.keys(g.workloadOptions ?? {}).filter((k) => k !== "jobs");
    if (extra.length > 0)
      throw UsageError.invalid(
        "--guest",
        text,
        "no threads or duration-ms (a microworkload's options); a kernel build takes jobs=J",
      );
    const jobs =
      (g.workloadOptions?.["jobs"] as number | undefined) ??
      defaults.jobs ??
      Math.max(1, Math.floor(g.vcpus / 2));
    if (jobs > g.vcpus * 64)
      throw UsageError.invalid("--guest", text, `jobs at most 64 × vcpus (${g.vcpus * 64})`);
    return {
      vcpus: g.vcpus,
      profile: g.profile,
      backend: g.backend,
      jobs,
      ...(g.pinned !== undefined ? { pinned: g.pinned } : {}),
      ...(g.weight !== undefined ? { weight: g.weight } : {}),
    };
  });
}

export const kernbenchCommand: Command = {
  name: "kernbench",
  summary: "simulate kernbench builds (make -j N) or the seed's whole kernbench table",
  usage: [
    `Usage: ${PROGRAM} kernbench --host H [-j N] [--backend B] [--vcpus V] [--other-vcpus K] [--vms N | --guest SPEC …] [--xen-host X] [--steal-accounting A] [--rcu-table-free on|off|no-shortcut] [--runs R] [--seed S] [--workers W] [--scale F] [--json]`,
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
    "                      more vCPUs than host CPUs: the host schedules them (hw/host-sched.ts:",
    "                      CFS on a KVM host, credit2 with --host …,hypervisor=xen)",
    `  --vms N             run the build in each of N identical guests of V vCPUs (default: the`,
    `                      host's CPUs) on the host's CPUs, 1 … ${MAX_KERNBENCH_VMS}, every guest a full kernel;`,
    "                      figures per guest",
    "  --guest SPEC        a guest running the build, repeatable (up to the same bound):",
    "                      vcpus=N,profile=P,backend=B[,jobs=J][,pinned=true|false][,weight=W]",
    "                      (defaults: --vcpus, --rcu-table-free's kernel, --backend, -j);",
    "                      any profile builds, e.g. profile=v6.15,backend=invlpgb",
    `  --xen-host X        with --backend xen-pv: ${XEN_PV_HOSTS.join(", ")} (default xen):`,
    "                      Xen on bare metal, a PV shim whose flush IPIs its pCPUs, or a",
    "                      Xen 4.14+ shim that asks L0 (HVMOP_flush_tlbs)",
    `  --steal-accounting A  in a guest: ${STEAL_ACCOUNTING.join(", ")} — what the guest kernel does`,
    "                      with the time its vCPUs wait for the host (default tick on KVM and",
    "                      Xen, none with hyperv; rq: CONFIG_PARAVIRT_TIME_ACCOUNTING, the",
    "                      runtime without steal; docs/model.md)",
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
      vms: { type: "string" },
      guest: { type: "string", multiple: true },
      "xen-host": { type: "string" },
      "steal-accounting": { type: "string" },
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
        [
          "host",
          "jobs",
          "backend",
          "vcpus",
          "other-vcpus",
          "vms",
          "guest",
          "xen-host",
          "steal-accounting",
          "rcu-table-free",
        ],
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
    const stealAccounting = choiceFlag(
      values["steal-accounting"],
      "steal-accounting",
      STEAL_ACCOUNTING,
    );
    const vcpus =
      values.vcpus === undefined
        ? undefined
        : intFlag(values.vcpus, "vcpus", 0, { min: 1, max: MAX_GUEST_VCPUS });
    const otherVcpus =
      values["other-vcpus"] === undefined
        ? undefined
        : intFlag(values["other-vcpus"], "other-vcpus", 0, { min: 0, max: MAX_OTHER_VCPUS });
    const vms =
      values.vms === undefined
        ? undefined
        : intFlag(values.vms, "vms", 1, { min: 1, max: MAX_KERNBENCH_VMS });
    const rtf = choiceFlag(values["rcu-table-free"], "rcu-table-free", Object.keys(RCU_TABLE_FREE));
    const kernel = RCU_TABLE_FREE[rtf ?? "off"]!;
    const jobsGiven =
      values.jobs === undefined
        ? undefined
        : intFlag(values.jobs, "jobs", 1, { min: 1, max: (vcpus ?? host.nrCpus) * 64 });
    const guests = guestFlags(values.guest ?? [], values.vms, {
      profile: kernelProfile(kernel),
      backend: backend ?? "native",
      vcpus: vcpus ?? host.nrCpus,
      ...(jobsGiven !== undefined ? { jobs: jobsGiven } : {}),
    });
    const backends = guests?.map((g) => g.backend!) ?? [backend];
    if (xenPvHost !== undefined && !backends.includes("xen-pv"))
      throw new UsageError("--xen-host is for a Xen PV guest: give --backend xen-pv with it");
    const guest = {
      ...(vcpus !== undefined ? { vcpus } : {}),
      ...(otherVcpus !== undefined ? { otherVcpus } : {}),
      ...(vms !== undefined ? { vms } : {}),
      ...(guests !== undefined ? { guests } : {}),
    };
    const nrCpus = vcpus ?? host.nrCpus;
    const several = guests !== undefined || vms !== undefined;
    const inGuest = vcpus !== undefined || otherVcpus !== undefined || several;
    // half load by default: CPUs / 2 (of the guest's vCPUs in a guest)
    const jobs =
      jobsGiven ?? (vcpus !== undefined ? Math.max(1, Math.floor(vcpus / 2)) : host.halfJobs);
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
        ...(stealAccounting !== undefined ? { stealAccounting } : {}),
      })),
      // build processes by default: parallel runs, and the build's tuned heap (buildProcessFlags)
      workers ?? Math.min(runs, availableParallelism()),
      { label: `kernbench -j ${jobs} on ${host.name}` },
    );
    const block = (each: readonly KernbenchRun["stats"][]) =>
      Object.fromEntries(KERNBENCH_FIELDS.map((f) => [f, meanStd(each.map((r) => r[f]))]));
    const stats = block(done.map((r) => r.stats));
    const perGuest = several
      ? done[0]!.guests!.map((g, i) => ({
          vcpus: g.vcpus,
          profile: g.profile,
          backend: g.backend,
          jobs: g.jobs,
          stats: block(done.map((r) => r.guests![i]!.stats)),
          mechanism: done.map((r) => r.guests![i]!.mechanism),
        }))
      : undefined;
    const result = {
      host: host.name,
      ...(host.name === "custom" ? { hostSpec: hostSpecSummary(host) } : {}),
      ...(backend !== undefined ? { backend } : {}),
      ...(xenPvHost !== undefined ? { xenHost: xenPvHost } : {}),
      ...(stealAccounting !== undefined ? { stealAccounting } : {}),
      ...(vcpus !== undefined ? { vcpus } : {}),
      ...(otherVcpus !== undefined ? { otherVcpus } : {}),
      ...(vms !== undefined ? { vms } : {}),
      jobs,
      kernel,
      runs,
      seed,
      stats,
      mechanism: done.map((r) => r.mechanism),
      ...(perGuest !== undefined ? { guests: perGuest } : {}),
    };
    if (values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else if (perGuest !== undefined) {
      const lines = [
        `${host.title}, ${perGuest.length} guests on its ${host.nrCpus} CPU(s) beside ${otherVcpus ?? 0} other vCPU(s), ${runs} run(s):`,
      ];
      perGuest.forEach((g, i) => {
        lines.push(
          `guest ${i + 1}: ${g.vcpus} vCPUs, ${g.profile}, ${g.backend} flush${g.backend === "xen-pv" && xenPvHost !== undefined ? ` (${xenPvHost})` : ""}, make -j ${g.jobs}:`,
          ...statLines(g.stats),
          tableLine(g.mechanism[0]!),
        );
      });
      lines.push(`host: ${done[0]!.mechanism.hostPreemptions ?? 0} vCPU preemptions (first run)`);
      io.out(`${lines.join("\n")}\n`);
    } else {
      const lines = [
        `${host.title}${inGuest ? `, in a ${nrCpus}-vCPU guest beside ${otherVcpus ?? 0} other vCPU(s)` : ""}, make -j ${jobs}, ${kernel}${backend !== undefined ? `, ${backend} flush${xenPvHost !== undefined ? ` (${xenPvHost})` : ""}` : ""}, ${runs} run(s):`,
        ...statLines(stats),
        tableLine(done[0]!.mechanism),
      ];
      io.out(`${lines.join("\n")}\n`);
    }
    return EXIT_OK;
  },
};
