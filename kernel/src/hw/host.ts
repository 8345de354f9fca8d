/**
 * The host under a guest: physical CPUs, a time-slicing host scheduler, and the KVM steal-time
 * area through which the guest learns that a vCPU is preempted.
 *
 * A preempted vCPU makes no progress and takes no interrupt — also when the host preempted it in
 * the middle of a guest IRQ-off region (a gup_fast walk). Native IPIs to it wait until it runs
 * again; a hypercall flush does not wait at all; KVM's PV flush skips it and asks the host to
 * flush at its next entry (reference/kernel.md §2.6, costs.md §1c).
 *
 * Host scheduling is round robin per pCPU: guest vCPU i runs on pCPU i mod P, other VMs' vCPUs
 * are spread over the pCPUs after them, and each vCPU gets a timeslice (CFS: sched_latency
 * 6 ms, min_granularity 0.75 ms, × (1 + ilog2(ncpus)) capped at 8 CPUs → 3 ms granularity;
 * Xen credit1 30 ms). With no overcommit nothing is ever preempted.
 */
import { checkInt, checkNumber, KernelStateError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import type { Cpu } from "./cpu.js";
import type { Machine } from "./machine.js";

/** steal_time.preempted bits (arch/x86/include/uapi/asm/kvm_para.h). */
export const KVM_VCPU_PREEMPTED = 1;
export const KVM_VCPU_FLUSH_TLB = 2;

export interface HostParams {
  /** Physical CPUs this guest's vCPUs run on. Default: one per vCPU (no overcommit). */
  readonly pcpus?: number;
  /** Runnable vCPUs of other VMs sharing those pCPUs. Default 0. */
  readonly otherVcpus?: number;
  /** Host timeslice, ns. Default 3,000,000 (CFS min granularity at ≥ 8 CPUs). */
  readonly timesliceNs?: number;
  /** Relative jitter of each slice. Default 0.2. */
  readonly sliceJitter?: number;
}

export interface HostStats {
  preemptions: number;
  /** Preempted vCPUs flushed at entry because a PV flush skipped them. */
  entryFlushes: number;
}

export class Host {
  readonly machine: Machine;
  readonly pcpus: number;
  readonly otherVcpus: number;
  readonly timesliceNs: number;
  readonly sliceJitter: number;
  /** struct kvm_steal_time.preempted, per guest vCPU. */
  readonly stealTime: { preempted: number }[];
  readonly stats: HostStats = { preemptions: 0, entryFlushes: 0 };
  private running = false;

  constructor(machine: Machine, params: HostParams = {}) {
    this.machine = machine;
    this.pcpus = checkInt("pcpus", params.pcpus ?? machine.nrCpus, 1, machine.nrCpus * 64, "Host");
    this.otherVcpus = checkInt("otherVcpus", params.otherVcpus ?? 0, 0, 65_536, "Host");
    this.timesliceNs = checkInt("timesliceNs", params.timesliceNs ?? 3_000_000, 1_000, 1e9, "Host");
    this.sliceJitter = checkNumber("sliceJitter", params.sliceJitter ?? 0.2, 0, 0.9, "Host");
    this.stealTime = machine.cpus.map(() => ({ preempted: 0 }));
  }

  /** (guest vCPUs + other vCPUs) / pCPUs. */
  get overcommit(): number {
    return (this.machine.nrCpus + this.otherVcpus) / this.pcpus;
  }

  /** kvm_arch_vcpu_put → kvm_steal_time_set_preempted, then the vCPU stops. */
  preempt(cpu: Cpu): void {
    this.stealTime[cpu.id]!.preempted = KVM_VCPU_PREEMPTED;
    this.stats.preemptions++;
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
      this.stats.entryFlushes++;
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

  /** Starts time slicing (only pCPUs with more than one vCPU ever switch). */
  start(): void {
    if (this.running) throw new KernelStateError("Host.start", "already running");
    this.running = true;
    const queues: (Cpu | null)[][] = Array.from({ length: this.pcpus }, () => []);
    this.machine.cpus.forEach((c, i) => queues[i % this.pcpus]!.push(c));
    for (let o = 0; o < this.otherVcpus; o++)
      queues[(this.machine.nrCpus + o) % this.pcpus]!.push(null);
    queues.forEach((q, p) => {
      if (q.length < 2) return;
      // everyone but the first waits for its turn
      for (const c of q.slice(1)) if (c !== null) this.preempt(c);
      this.machine.sim.process(`host/pcpu${p}`, this.roundRobin(q));
    });
  }

  /** Stops time slicing and lets every vCPU run (so a simulation can drain). */
  stop(): void {
    this.running = false;
  }

  private *roundRobin(q: (Cpu | null)[]): Kfn<void> {
    const sim = this.machine.sim;
    let cur = 0;
    while (this.running) {
      yield sim.rng.jitter(this.timesliceNs, this.sliceJitter);
      if (!this.running) break;
      const next = (cur + 1) % q.length;
      const a = q[cur];
      const b = q[next];
      if (a) this.preempt(a);
      if (b) this.resume(b);
      cur = next;
    }
    for (const c of q) if (c && c.hostPreempted) this.resume(c);
  }
}
