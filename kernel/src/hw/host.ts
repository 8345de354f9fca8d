/**
 * One guest's view of its host (`Host`), and the host's parts re-exported: the scheduler of vCPU
 * threads (hw/host-sched.ts), Xen credit2's run queues (hw/credit2.ts) and KVM's host kernel
 * versions (hw/kvm.ts).
 */
import { checkBool, checkInt, checkOptions } from "../sim/errors.js";
import type { Cpu } from "./cpu.js";
import {
  HOST_PARAM_KEYS,
  HostCpus,
  VM_PARAM_KEYS,
  type HostParams,
  type HostStats,
  type VmParams,
} from "./host-sched.js";
import { KVM_VCPU_FLUSH_TLB, KVM_VCPU_PREEMPTED } from "./kvm.js";
import type { Machine } from "./machine.js";

export * from "./host-sched.js";
export * from "./credit2.js";
export * from "./kvm.js";

const CTX = "Host";

/**
 * One guest's view of its host: the KVM VM (`struct kvm`) with its vCPUs' steal-time areas, and
 * the host CPUs it runs on — its own (`new Host(machine, params)`) or shared with other guests
 * (`new Host(machine, vmParams, hostCpus)`). Scripted preemption (`preempt`, `resume`,
 * `preemptFor`) drives the same steal-time protocol without a scheduler, for scenarios and the
 * explorer.
 */
export class Host {
  readonly machine: Machine;
  readonly cpus: HostCpus;
  /** struct kvm_steal_time.preempted, per guest vCPU. */
  readonly stealTime: { preempted: number }[];
  /** kvm->last_boosted_vcpu. */
  lastBoostedVcpu = -1;
  readonly pvSchedYield: boolean;
  private readonly own: boolean;
  private readonly scripted = { preemptions: 0, entryFlushes: 0 };

  constructor(machine: Machine, params: HostParams & VmParams = {}, shared?: HostCpus) {
    this.machine = machine;
    const o = checkOptions(
      "host",
      params,
      shared === undefined ? [...HOST_PARAM_KEYS, ...VM_PARAM_KEYS] : VM_PARAM_KEYS,
      CTX,
    );
    const vm: VmParams = {};
    const hostParams: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o))
      if ((VM_PARAM_KEYS as readonly string[]).includes(k)) (vm as Record<string, unknown>)[k] = v;
      else hostParams[k] = v;
    this.pvSchedYield = checkBool("pvSchedYield", vm.pvSchedYield, false, CTX);
    this.own = shared === undefined;
    this.cpus =
      shared ?? new HostCpus(machine.sim, { pcpus: machine.nrCpus, ...(hostParams as HostParams) });
    this.stealTime = machine.cpus.map(() => ({ preempted: 0 }));
    this.cpus.attach(this, vm);
  }

  /** Counters of the host (shared by the guests on it). */
  get stats(): HostStats {
    const s = this.cpus.stats;
    if (this.scripted.preemptions === 0 && this.scripted.entryFlushes === 0) return s;
    return {
      ...s,
      preemptions: s.preemptions + this.scripted.preemptions,
      entryFlushes: s.entryFlushes + this.scripted.entryFlushes,
    };
  }

  get pcpus(): number {
    return this.cpus.nrPcpus;
  }

  get otherVcpus(): number {
    return this.cpus.otherVcpus;
  }

  /** All vCPUs on the host per pCPU. */
  get overcommit(): number {
    return this.cpus.overcommit;
  }

  /** Scripted: kvm_arch_vcpu_put → kvm_steal_time_set_preempted, then the vCPU stops. */
  preempt(cpu: Cpu): void {
    this.stealTime[cpu.id]!.preempted = KVM_VCPU_PREEMPTED;
    this.scripted.preemptions++;
    cpu.hostPreempt("host-preempted");
  }

  /**
   * The vCPU is entered again: record_steal_time does xchg(preempted, 0) and flushes the vCPU's
   * TLB if a PV flush asked for it while it was away; then the guest runs.
   */
  resume(cpu: Cpu): void {
    const st = this.stealTime[cpu.id]!;
    const was = st.preempted;
    st.preempted = 0;
    if (was & KVM_VCPU_FLUSH_TLB) {
      if (this.cpus.isRunning) this.cpus.stats.entryFlushes++;
      else this.scripted.entryFlushes++;
      // kvm_vcpu_flush_tlb_guest: every guest translation, global ones included
      cpu.tlb.flushAll(true);
      this.machine.sim.trace.instant(cpu.id, "kvm:kvm_pv_tlb_flush", { vcpu: cpu.id });
    }
    cpu.hostResume();
  }

  /** Scripted preemption: deschedule `cpu` at `atNs` from now for `durationNs`. */
  preemptFor(cpu: Cpu, atNs: number, durationNs: number): void {
    checkInt("atNs", atNs, 0, Number.MAX_SAFE_INTEGER, "Host.preemptFor");
    checkInt("durationNs", durationNs, 1, Number.MAX_SAFE_INTEGER, "Host.preemptFor");
    const sim = this.machine.sim;
    sim.schedule(atNs, () => this.preempt(cpu));
    sim.schedule(atNs + durationNs, () => this.resume(cpu));
  }

  /** Starts the host scheduler (a host shared by guests starts once, by its first guest). */
  start(): void {
    if (!this.own && this.cpus.isRunning) return;
    this.cpus.start();
  }

  /** Stops the host scheduler and runs every vCPU, so that a simulation can drain. */
  stop(): void {
    this.cpus.stop();
  }
}
