/** `mmulab workload`: multi-threaded mm microworkloads, optionally in an overcommitted guest. */
import { XEN_PV_HOSTS } from "../../arch/x86/backends.js";
import { BACKEND_NAMES, PROFILE_NAMES } from "../../config/profiles.js";
import { HOST_KERNEL_NAMES } from "../../hw/host.js";
import { parseGuestSpec, type GuestSpec } from "../../system/build.js";
import { hostSchedParams, parseHostSpec } from "../../system/host.js";
import {
  MAX_DURATION_NS,
  MICRO_WORKLOADS,
  runMicro,
  runMicroVms,
  type MicroResult,
  type MicroVmsResult,
} from "../../workloads/micro.js";
import {
  choiceFlag,
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  parseFlags,
  printResult,
  hostFlag,
  rejectIgnored,
  requireFlags,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../command.js";

function render(r: MicroResult): string {
  return [
    `${r.workload} on ${r.profile} with ${r.backend}, ${r.threads} thread(s)${r.csdBatch === true ? " (csd-batch shortcut)" : ""}:`,
    `  ${Math.round(r.opsPerSec)} ops per simulated second (${r.ops} ops)`,
    `  ${r.remoteFlushes} remote flushes, mean wait ${(r.meanFlushWaitNs / 1000).toFixed(1)} µs, ${r.ipis} IPIs`,
    `  ${r.tablesFreed} page tables freed, ${r.uaf} use-after-free reads, ${r.hostPreemptions} vCPU preemptions`,
  ].join("\n");
}

/** Most guests `--vms` or `--guest` put on one host. */
export const MAX_CLI_GUESTS = 16;

function renderVms(r: MicroVmsResult): string {
  const h = r.host;
  return [
    ...r.guests.map((g, i) => `VM ${i + 1}: ${render(g).split("\n").join("\n  ")}`),
    `host: ${h.preemptions} vCPU preemptions, ${h.halts} halts, ${h.pleExits} PLE exits, ${h.directedYields} directed yields, ${h.pvYields} PV yields, ${h.entryFlushes} PV flushes at entry; mean steal ${(r.meanStealNs / 1e6).toFixed(2)} ms per vCPU`,
  ].join("\n");
}

export const workloadCommand: Command = {
  name: "workload",
  summary:
    "run a multi-threaded mm microworkload (madvise storm, ebizzy, mmap/munmap, gup vs munmap)",
  usage: [
    `Usage: ${PROGRAM} workload --name W --profile P --backend B [--threads T] [--host H] [--cpus N] [--pcpus M] [--other-vcpus K] [--vms N | --guest SPEC …] [--host-kernel K] [--xen-host X] [--hyperv-skip-lazy on|off] [--csd-batch on|off] [--duration-ms D] [--seed S] [--json]`,
    "",
    "Options:",
    `  --name W          ${MICRO_WORKLOADS.join(", ")}`,
    `  --profile P       ${PROFILE_NAMES.join(", ")}`,
    `  --backend B       ${BACKEND_NAMES.join(", ")}`,
    "  --threads T       worker threads, 1 … 1024 (default: one per CPU)",
    "  --host H          the host: a preset or a spec (cpus=N,smt=T,hz=HZ,hypervisor=xen,… or a",
    "                    JSON file; hypervisor=xen: Xen's credit2 schedules the vCPUs);",
    "                    its CPUs are the host CPUs under --cpus vCPUs (default: as many), and",
    "                    its HZ and cost overrides apply (not with --pcpus)",
    "  --cpus N          CPUs or vCPUs, 1 … 256 (default 4, or the host's CPUs)",
    "  --pcpus M         host CPUs under the vCPUs, 1 … 256: fewer than --cpus means an",
    "                    overcommitted guest",
    "  --other-vcpus K   runnable vCPUs of other VMs on the same host CPUs, 0 … 4096 (default 0)",
    `  --xen-host X      with --backend xen-pv: ${XEN_PV_HOSTS.join(", ")} (default xen)`,
    "  --hyperv-skip-lazy on|off",
    "                    with --backend hyperv: leave lazy CPUs out unless tables were freed",
    "                    (default: on from v6.4, i.e. v6.15; refused on older profiles)",
    "  --csd-batch on|off",
    "                    a modelling shortcut (default off): a CPU draining its cross-call queue",
    "                    runs the flush requests it has already caught up with in one step, each",
    "                    acknowledged when it would have been; results move within their noise",
    "                    (docs/benchmarks.md); not with --vms or --guest",
    `  --vms N           run the workload in N guests of --cpus vCPUs each, 1 … ${MAX_CLI_GUESTS}, on the`,
    "                    host's CPUs (--host or --pcpus, default --cpus), every guest a full kernel",
    "  --guest SPEC      a guest, repeatable: vcpus=N,profile=P,backend=B,workload=W[,threads=T]",
    "                    [,duration-ms=D][,pinned=true|false][,weight=W] (defaults: the flags above)",
    `  --host-kernel K   the host's kernel: ${HOST_KERNEL_NAMES.join(", ")} (default: the host spec's,`,
    "                    kernel=K, else v4.15)",
    `  --duration-ms D   simulated run time, 1 … ${MAX_DURATION_NS / 1_000_000} (default 20)`,
    "  --seed S          seed, 0 … 2^32 − 1 (default 1)",
    JSON_FLAG_USAGE,
  ].join("\n"),
  run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      name: { type: "string" },
      profile: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      host: { type: "string" },
      cpus: { type: "string" },
      pcpus: { type: "string" },
      "other-vcpus": { type: "string" },
      "xen-host": { type: "string" },
      "hyperv-skip-lazy": { type: "string" },
      "csd-batch": { type: "string" },
      vms: { type: "string" },
      guest: { type: "string", multiple: true },
      "host-kernel": { type: "string" },
      "duration-ms": { type: "string" },
      seed: { type: "string" },
    });
    requireFlags(values, ["name", "profile", "backend"]);
    const workload = choiceFlag(values.name, "name", MICRO_WORKLOADS)!;
    const profile = choiceFlag(values.profile, "profile", PROFILE_NAMES)!;
    const backend = choiceFlag(values.backend, "backend", BACKEND_NAMES)!;
    const hostText = hostFlag(values.host);
    if (hostText !== undefined)
      rejectIgnored(values, ["pcpus"], "with --host (its CPUs are the host's)");
    const host = hostText === undefined ? undefined : parseHostSpec(hostText);
    const cpus = intFlag(values.cpus, "cpus", host?.nrCpus ?? 4, { min: 1, max: 256 });
    const pcpus =
      host !== undefined
        ? host.nrCpus
        : values.pcpus === undefined
          ? undefined
          : intFlag(values.pcpus, "pcpus", cpus, { min: 1, max: 256 });
    const other = intFlag(values["other-vcpus"], "other-vcpus", 0, { min: 0, max: 4096 });
    const threads = intFlag(values.threads, "threads", cpus, { min: 1, max: 1024 });
    const durationMs = intFlag(values["duration-ms"], "duration-ms", 20, {
      min: 1,
      max: MAX_DURATION_NS / 1_000_000,
    });
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 1 });
    const xenPvHost = choiceFlag(values["xen-host"], "xen-host", XEN_PV_HOSTS);
    const skipLazy = choiceFlag(values["hyperv-skip-lazy"], "hyperv-skip-lazy", ["on", "off"]);
    const backendOptions = {
      ...(xenPvHost !== undefined ? { xenPvHost } : {}),
      ...(skipLazy !== undefined ? { hypervSkipLazy: skipLazy === "on" } : {}),
    };
    const hostKernel = choiceFlag(values["host-kernel"], "host-kernel", HOST_KERNEL_NAMES);
    // the host's hypervisor and kernel: --host-kernel, else the host spec's (kernel=…), else the
    // default; a Xen host (hypervisor=xen) has none
    const sched =
      host !== undefined
        ? hostSchedParams(host, hostKernel)
        : hostKernel !== undefined
          ? { kernel: hostKernel }
          : {};
    const csdBatch = choiceFlag(values["csd-batch"], "csd-batch", ["on", "off"]);
    const guestTexts = values.guest ?? [];
    if (values.vms !== undefined || guestTexts.length > 0) {
      rejectIgnored(values, ["csd-batch"], "with --vms or --guest (a single machine only)");
      if (values.vms !== undefined && guestTexts.length > 0)
        throw UsageError.invalid("--vms", values.vms, "not both --vms and --guest");
      if (guestTexts.length > MAX_CLI_GUESTS)
        throw UsageError.invalid(
          "--guest",
          `${guestTexts.length} guests`,
          `at most ${MAX_CLI_GUESTS}`,
        );
      const defaults = { profile, backend, vcpus: cpus, workload };
      const own = { threads, durationNs: durationMs * 1_000_000 };
      const guests: GuestSpec[] =
        guestTexts.length > 0
          ? guestTexts.map((t) => {
              const g = parseGuestSpec(t, defaults);
              return {
                ...g,
                workloadOptions: { durationNs: own.durationNs, ...g.workloadOptions },
              };
            })
          : Array.from(
              { length: intFlag(values.vms, "vms", 1, { min: 1, max: MAX_CLI_GUESTS }) },
              () => ({ vcpus: cpus, profile, backend, workload, workloadOptions: own }),
            );
      const rv = runMicroVms({
        host: {
          pcpus: pcpus ?? cpus,
          otherVcpus: other,
          ...sched,
        },
        guests,
        seed,
        ...(host !== undefined ? { hz: host.hz, costs: host.costs } : {}),
      });
      printResult(io, rv, values.json, renderVms);
      return Promise.resolve(EXIT_OK);
    }
    const r = runMicro({
      workload,
      profile,
      backend,
      nrCpus: cpus,
      threads,
      durationNs: durationMs * 1_000_000,
      seed,
      ...(host !== undefined ? { hz: host.hz, costs: host.costs } : {}),
      ...(pcpus !== undefined || other > 0
        ? {
            host: {
              pcpus: pcpus ?? cpus,
              otherVcpus: other,
              ...sched,
            },
          }
        : {}),
      ...(Object.keys(backendOptions).length > 0 ? { backendOptions } : {}),
      ...(csdBatch !== undefined ? { csdBatch: csdBatch === "on" } : {}),
    });
    printResult(io, r, values.json, render);
    return Promise.resolve(EXIT_OK);
  },
};
