/**
 * The host under guests (the scheduler; hw/host.ts has one guest's view of it, hw/kvm.ts the
 * host kernel versions): physical CPUs, a CFS-like scheduler of vCPU threads, and the KVM
 * mechanisms that decide how long a waiter waits for a vCPU that is not running.
 *
 * A vCPU is a host thread (kvm_vcpu_ioctl(KVM_RUN)). The host schedules those threads as
 * SCHED_NORMAL tasks (kernel/sched/fair.c before EEVDF, v4.15–v6.5): per-pCPU run queues ordered
 * by vruntime, which advances by runtime × NICE_0_LOAD / weight; a slice of
 * sched_period × weight / queue weight, sched_period = sched_latency, or nr_running ×
 * min_granularity above sched_nr_latency = 8 threads; check_preempt_tick at every host tick;
 * wake-up placement at min_vruntime − sched_latency / 2 (GENTLE_FAIR_SLEEPERS) and wake-up
 * preemption when the woken thread is more than wakeup_granularity behind; pick_next_entity with
 * the next and skip buddies that yield_to and sched_yield set; idle balancing (a pCPU that runs
 * out of threads pulls one) and a periodic balance every sd_weight × busy_factor ms. The three
 * tunables are scaled by 1 + ilog2(min(pCPUs, 8)) (SCHED_TUNABLESCALING_LOG): 24 ms, 3 ms and
 * 4 ms from eight pCPUs up (reference/costs.md §1c).
 *
 * A vCPU whose guest has nothing to run halts (HLT exits; kvm_vcpu_block) and gives its pCPU
 * back; an interrupt for it (kvm_vcpu_kick) wakes its thread. Halt polling is not modelled: the
 * thread blocks at once (docs/model.md).
 *
 * What a waiter for a descheduled vCPU can do (reference/hardware-and-hypervisors.md §4):
 *   - pause-loop exiting: a PAUSE loop in kernel mode longer than ple_window TSC cycles exits
 *     (handle_pause): grow_ple_window, then kvm_vcpu_on_spin's directed yield to another vCPU of
 *     the same VM (§4.2, §4.3); the window is reset to its base when the vCPU is next scheduled
 *     in (ple_window_shrink = 0);
 *   - the guest's PV sched yield (KVM_HC_SCHED_YIELD, 715062970f37, v5.3): after sending a
 *     call-function IPI to several CPUs, one hypercall that yields to the first preempted target
 *     (§4.4);
 *   - KVM's PV TLB flush, which reads the steal-time `preempted` byte written here (§4.5).
 *
 * Steal time: a runnable vCPU waiting for its pCPU accumulates `steal` (the host's run_delay),
 * per vCPU. The guest's accounting already charges tasks only for the CPU time they get, so the
 * figure is reported, not fed back.
 *
 * Other VMs can be given as full guests (each its own Machine attached to the same HostCpus) or
 * as `otherVcpus`: threads of another VM that are always runnable in guest user mode and never
 * halt, spin or yield — the cheapest stand-in for a busy VM, on which none of the mechanisms
 * above acts (they act only among the vCPUs of one VM).
 *
 * A Xen host (`hypervisor: "xen"`) schedules the same threads with credit2 instead
 * (xen/common/sched/credit2.c): run queues shared by the pCPUs of a socket (hw/credit2.ts),
 * credit, ratelimit, runq_tickle and balance_load — the "Xen credit2" section below — with an
 * undirected vcpu_yield() on PAUSE exits and the guest's SCHEDOP_yield.
 *
 * Not modelled: EEVDF (v6.6+ hosts), cgroup hierarchies (a VM's weight is its vCPU threads'
 * weight), SMT siblings of the host, halt polling, the VMM's own threads, AMD's pause filter,
 * and Hyper-V's scheduler, whose sources do not say how long a flusher waits for a descheduled
 * virtual processor.
 */
import {
  checkBool,
  checkInt,
  checkNumber,
  checkOptions,
  KernelStateError,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import type { Simulation } from "../sim/simulation.js";
import type { Cpu } from "./cpu.js";
import type { Host } from "./host.js";
import {
  checkHostKernel,
  DEFAULT_HOST_KERNEL,
  HOST_KERNELS,
  KVM_VCPU_PREEMPTED,
  type HostKernelBehaviour,
} from "./kvm.js";
import type { Hypervisor } from "./machine.js";
import {
  balanceThreshold,
  checkCredit2Runqueue,
  checkTopology,
  credit2RunqueueLayout,
  CSCHED2,
  decay,
  DEFAULT_CREDIT2_RUNQUEUE,
  INITIAL_UNIT_LOAD,
  loadClock,
  siblingsOf,
  type Credit2Runqueue,
  type LoadAvg,
} from "./credit2.js";

/** NICE_0_LOAD: the weight of a nice-0 thread (kernel/sched/sched.h, scale_load_down). */
export const NICE_0_LOAD = 1024;

/** The physical host: its CPUs, kernel and the KVM module parameters. */
export interface HostParams {
  /** Physical CPUs. Default: one per vCPU of the first guest (no overcommit). */
  readonly pcpus?: number;
  /** Always-runnable vCPUs of other VMs (see the header). Default 0. */
  readonly otherVcpus?: number;
  /** Host kernel (HOST_KERNELS). Default v4.15. */
  readonly kernel?: string;
  /** Host CONFIG_HZ: check_preempt_tick runs at this rate. Default 1000 (RHEL's host config). */
  readonly hz?: number;
  /** sysctl_sched_latency, min_granularity, wakeup_granularity before scaling, ns (fair.c
   * defaults 6 ms, 0.75 ms, 1 ms). */
  readonly latencyNs?: number;
  readonly minGranularityNs?: number;
  readonly wakeupGranularityNs?: number;
  /** Pause-loop exiting on (kvm_intel ple_gap = 128; 0 turns it off). Default true. */
  readonly ple?: boolean;
  /** ple_window, TSC cycles (KVM_VMX_DEFAULT_PLE_WINDOW 4096). */
  readonly pleWindow?: number;
  /** ple_window_grow (KVM_DEFAULT_PLE_WINDOW_GROW 2): < base multiplies, else adds. */
  readonly pleWindowGrow?: number;
  /** ple_window_shrink (KVM_DEFAULT_PLE_WINDOW_SHRINK 0: back to the base at sched-in). */
  readonly pleWindowShrink?: number;
  /** ple_window_max (KVM_VMX_DEFAULT_PLE_WINDOW_MAX UINT_MAX). */
  readonly pleWindowMax?: number;
  /** TSC rate, MHz, to turn PLE cycles into time. Default 3000 (an assumption: costs.md's
   * figures come from 2.2–3.4 GHz parts). */
  readonly tscMhz?: number;
  /** APICv posted interrupts (kvm_intel enable_apicv, on where the CPU has it). Default true. */
  readonly apicv?: boolean;
  /** A VM exit and entry around a vCPU switch, ns (the VMCALL round trip, costs.md §1c:
   * ≈ 1,550 cycles). Default 700. */
  readonly switchNs?: number;
  /** Which hypervisor schedules the vCPUs: "kvm" (a Linux host, CFS; the default) or "xen"
   * (Xen's default credit2 scheduler, with Xen's PAUSE-exit and SCHEDOP_yield handling). */
  readonly hypervisor?: HypervisorKind;
  /** Xen's sched_ratelimit_us (SCHED_DEFAULT_RATELIMIT_US 1000; 0 turns it off, else
   * 100 … 500,000). Xen only. */
  readonly ratelimitUs?: number;
  /** CPU packages and threads per core (default 1 and 1): the pCPUs are numbered socket by
   * socket, siblings together. Only Xen's credit2 uses them (its run queues). */
  readonly sockets?: number;
  readonly smt?: number;
  /** Xen's `credit2_runqueue=`: the pCPUs that share a run queue — cpu, core, socket (the
   * default), node (one per socket here) or all. Xen only. */
  readonly credit2Runqueue?: Credit2Runqueue;
  /** Xen's `sched_credit2_max_cpus_runqueue=` (MAX_CPUS_RUNQ 16): most pCPUs in a run queue.
   * Xen only. */
  readonly credit2MaxCpusRunqueue?: number;
}

/** HostParams that only a Linux/KVM host has. */
const XEN_REFUSED_PARAMS = [
  "kernel",
  "latencyNs",
  "minGranularityNs",
  "wakeupGranularityNs",
  "pleWindowGrow",
  "pleWindowShrink",
  "pleWindowMax",
] as const;

/** The hypervisors whose vCPU scheduling is modelled. */
export const HYPERVISORS = ["kvm", "xen"] as const;
export type HypervisorKind = (typeof HYPERVISORS)[number];

/** One VM's place on the host. */
export interface VmParams {
  /** Weight of each of its vCPU threads (NICE_0_LOAD = 1024 is nice 0). Default 1024. */
  readonly weight?: number;
  /** vCPU i pinned to pCPU (first + i) mod pCPUs (true: hard affinity to that pCPU alone), or
   * floating over all pCPUs (false, the default: QEMU and libvirt leave vCPU threads without a
   * `<vcpupin>`, xl leaves vCPUs without hard affinity unless `cpus=` is given). */
  readonly pinned?: boolean;
  /** First pCPU of the pinning. Default: after the vCPUs already attached. */
  readonly firstPcpu?: number;
  /** The guest kernel uses KVM_HC_SCHED_YIELD when the host offers it (guest v5.3+). */
  readonly pvSchedYield?: boolean;
}

export const HOST_PARAM_KEYS = [
  "pcpus",
  "otherVcpus",
  "kernel",
  "hz",
  "latencyNs",
  "minGranularityNs",
  "wakeupGranularityNs",
  "ple",
  "pleWindow",
  "pleWindowGrow",
  "pleWindowShrink",
  "pleWindowMax",
  "tscMhz",
  "apicv",
  "switchNs",
  "hypervisor",
  "ratelimitUs",
  "sockets",
  "smt",
  "credit2Runqueue",
  "credit2MaxCpusRunqueue",
] as const;
export const VM_PARAM_KEYS = ["weight", "pinned", "firstPcpu", "pvSchedYield"] as const;

/** Most physical CPUs and threads of other VMs a host takes. */
export const MAX_PCPUS = 1024;
export const MAX_OTHER_VCPUS = 4096;
const UINT_MAX = 4_294_967_295;

export interface HostStats {
  /** Guest vCPUs scheduled out while runnable (tick, wake-up or yield). */
  preemptions: number;
  /** Preempted vCPUs flushed at entry because a PV flush skipped them. */
  entryFlushes: number;
  /** HLT exits that blocked a vCPU thread, and wake-ups of blocked vCPU threads. */
  halts: number;
  wakeups: number;
  /** Pause-loop exits, and the directed yields they made (kvm_vcpu_on_spin → yield_to > 0). */
  pleExits: number;
  directedYields: number;
  /** KVM_HC_SCHED_YIELD hypercalls, and those that yielded. */
  pvYieldCalls: number;
  pvYields: number;
  /** kvm_steal_time_set_preempted: flag written (preemption_reported) or not (preemption_other,
   * 6cd88243c7e0). */
  preemptionReported: number;
  preemptionOther: number;
  /** Threads moved between pCPUs by load balancing. */
  migrations: number;
  /** Xen: vcpu_yield() calls (a PAUSE exit, or the guest's SCHEDOP_yield), and those after
   * which another vCPU got the pCPU; the guest's SCHEDOP_yield hypercalls after IPIs to a
   * stolen (runnable, not running) vCPU; credit2 credit resets. */
  xenYields: number;
  xenYieldsTaken: number;
  schedOpYields: number;
  creditResets: number;
}

type ThreadState = "running" | "runnable" | "blocked";

/** {@link HostCpus.credit2State}. */
export interface Credit2State {
  readonly runqueues: readonly {
    readonly id: number;
    readonly pcpus: readonly number[];
    readonly load: number;
    readonly waiting: number;
  }[];
  readonly units: readonly {
    readonly vm: number;
    readonly vcpu: number;
    readonly runqueue: number;
    readonly pcpu: number;
    readonly credit: number;
    readonly state: ThreadState;
  }[];
}

/** A vCPU thread. `cpu` is null for another VM's always-runnable vCPU. */
interface VcpuThread {
  readonly id: number;
  readonly vm: Host | null;
  readonly cpu: Cpu | null;
  /** vcpu_idx within its VM. */
  readonly index: number;
  readonly weight: number;
  /** The pCPU it is pinned to, or -1 when it floats. */
  readonly pinnedTo: number;
  pcpu: number;
  state: ThreadState;
  vruntime: number;
  execStart: number;
  /** Its pCPU's switch epoch when it was picked: a pending guest entry checks it. */
  entryEpoch: number;
  inGuest: boolean;
  /** In an exit handled by the VMM in user space (MMIO, port I/O): not in the guest. */
  userspaceExit: boolean;
  /** kvm_vcpu: preempted, ready, preempted_in_kernel, at_instruction_boundary, spin_loop. */
  preempted: boolean;
  ready: boolean;
  preemptedInKernel: boolean;
  spinning: boolean;
  inSpinLoop: boolean;
  dyEligible: boolean;
  /** Xen credit2: credit (ns at the highest weight) and CSFLAG_unit_yield. */
  credit: number;
  yieldFlag: boolean;
  pleWindow: number;
  pleEpoch: number;
  waitingSince: number;
  stealNs: number;
  /** Xen credit2: its run queue (svc->rqd), its load (update_svc_load), the queue balance_load
   * asked it to move to while it ran (CSFLAG_runq_migrate_request; -1: none). */
  rqd: number;
  load: LoadAvg;
  migrateTo: number;
}

/** A credit2 run queue (struct csched2_runqueue_data). */
interface Runqueue {
  readonly id: number;
  /** Its pCPUs (active). */
  readonly cpus: readonly number[];
  /** Runnable units not running, by credit, highest first (runq). */
  readonly runq: VcpuThread[];
  /** Every unit assigned to it, in assignment order (svc). */
  readonly svc: VcpuThread[];
  maxWeight: number;
  /** Runnable units, running ones included (load); its decaying load and the one balancing
   * adjusts (avgload, b_avgload, in 2^-18 units), updated together. */
  load: number;
  avgload: number;
  bAvgload: number;
  loadLastUpdate: number;
  /** The pCPU last picked for a unit moved here (pick_bias). */
  pickBias: number;
}

interface Pcpu {
  readonly id: number;
  readonly rq: VcpuThread[];
  curr: VcpuThread | null;
  nextBuddy: VcpuThread | null;
  skipBuddy: VcpuThread | null;
  minVruntime: number;
  /** When `curr` was picked (prev_sum_exec_runtime). */
  sliceStart: number;
  tickArmed: boolean;
  epoch: number;
  nextBalance: number;
  /** Xen: the credit2 timer of the current decision (its epoch). */
  timerEpoch: number;
}

const CTX = "Host";

/**
 * The physical host shared by guests: pCPUs, their run queues and the threads of every vCPU.
 */
export class HostCpus implements Hypervisor {
  readonly sim: Simulation;
  readonly kernel: HostKernelBehaviour;
  readonly nrPcpus: number;
  readonly otherVcpus: number;
  readonly latencyNs: number;
  readonly minGranularityNs: number;
  readonly wakeupGranularityNs: number;
  readonly tickNs: number;
  readonly ple: boolean;
  readonly pleWindowBase: number;
  readonly pleWindowGrow: number;
  readonly pleWindowShrink: number;
  readonly pleWindowMax: number;
  readonly tscMhz: number;
  readonly apicv: boolean;
  readonly switchNs: number;
  readonly hypervisor: HypervisorKind;
  /** Xen: sched_ratelimit_us in ns (0: off). */
  readonly ratelimitNs: number;
  /** Xen: credit2_runqueue, and the run queue of each pCPU. */
  readonly credit2Runqueue: Credit2Runqueue;
  private readonly rqOf: readonly number[];
  private readonly rqds: Runqueue[] = [];
  /** pCPU → its SMT siblings (smt_idle). */
  private readonly siblings: readonly (readonly number[])[];
  readonly stats: HostStats = {
    preemptions: 0,
    entryFlushes: 0,
    halts: 0,
    wakeups: 0,
    pleExits: 0,
    directedYields: 0,
    pvYieldCalls: 0,
    pvYields: 0,
    preemptionReported: 0,
    preemptionOther: 0,
    migrations: 0,
    xenYields: 0,
    xenYieldsTaken: 0,
    schedOpYields: 0,
    creditResets: 0,
  };
  readonly sendCallFuncIpi: Hypervisor["sendCallFuncIpi"] = null;
  private readonly pcpus: Pcpu[];
  private readonly threads: VcpuThread[] = [];
  private readonly byCpu = new Map<Cpu, VcpuThread>();
  private readonly vms: Host[] = [];
  private running = false;
  private stopped = false;
  private nextPin = 0;

  constructor(sim: Simulation, params: HostParams = {}) {
    checkOptions("host", params, HOST_PARAM_KEYS, CTX);
    this.sim = sim;
    this.kernel = HOST_KERNELS[checkHostKernel(params.kernel ?? DEFAULT_HOST_KERNEL)]!;
    this.nrPcpus = checkInt("pcpus", params.pcpus ?? 1, 1, MAX_PCPUS, CTX);
    this.otherVcpus = checkInt("otherVcpus", params.otherVcpus ?? 0, 0, MAX_OTHER_VCPUS, CTX);
    const hz = checkInt("hz", params.hz ?? 1000, 100, 1000, CTX);
    this.tickNs = Math.round(1e9 / hz);
    // sysctl_sched_tunable_scaling = SCHED_TUNABLESCALING_LOG
    const f = 1 + Math.floor(Math.log2(Math.min(this.nrPcpus, 8)));
    this.latencyNs = checkInt("latencyNs", params.latencyNs ?? 6_000_000, 100_000, 1e9, CTX) * f;
    this.minGranularityNs =
      checkInt("minGranularityNs", params.minGranularityNs ?? 750_000, 10_000, 1e9, CTX) * f;
    this.wakeupGranularityNs =
      checkInt("wakeupGranularityNs", params.wakeupGranularityNs ?? 1_000_000, 0, 1e9, CTX) * f;
    this.ple = checkBool("ple", params.ple, true, CTX);
    this.pleWindowBase = checkInt("pleWindow", params.pleWindow ?? 4096, 1, UINT_MAX, CTX);
    this.pleWindowGrow = checkInt("pleWindowGrow", params.pleWindowGrow ?? 2, 0, UINT_MAX, CTX);
    this.pleWindowShrink = checkInt(
      "pleWindowShrink",
      params.pleWindowShrink ?? 0,
      0,
      UINT_MAX,
      CTX,
    );
    this.pleWindowMax = checkInt(
      "pleWindowMax",
      params.pleWindowMax ?? UINT_MAX,
      this.pleWindowBase,
      UINT_MAX,
      CTX,
    );
    this.tscMhz = checkNumber("tscMhz", params.tscMhz ?? 3000, 100, 10_000, CTX);
    this.apicv = checkBool("apicv", params.apicv, true, CTX);
    this.switchNs = checkInt("switchNs", params.switchNs ?? 700, 0, 1e9, CTX);
    if (
      params.hypervisor !== undefined &&
      !(HYPERVISORS as readonly string[]).includes(params.hypervisor)
    )
      throw new UnknownNameError("hypervisor", String(params.hypervisor), HYPERVISORS, CTX);
    this.hypervisor = params.hypervisor ?? "kvm";
    if (this.hypervisor === "xen")
      for (const k of XEN_REFUSED_PARAMS)
        if (params[k] !== undefined)
          throw new ParameterError(
            k,
            params[k],
            "a KVM host (hypervisor kvm): a Xen host has no Linux kernel, CFS tunables or PLE window growth (its ple_window is fixed)",
            CTX,
          );
    if (params.ratelimitUs !== undefined && this.hypervisor !== "xen")
      throw new ParameterError(
        "ratelimitUs",
        params.ratelimitUs,
        "a Xen host (hypervisor xen): sched_ratelimit_us is Xen's",
        CTX,
      );
    const rl = checkInt(
      "ratelimitUs",
      params.ratelimitUs ?? CSCHED2.defaultRatelimitUs,
      0,
      500_000,
      CTX,
    );
    if (rl !== 0 && rl < 100)
      throw new ParameterError(
        "ratelimitUs",
        rl,
        "0 (off) or 100 … 500000 (XEN_SYSCTL_SCHED_RATELIMIT_MIN/MAX)",
        CTX,
      );
    this.ratelimitNs = rl * 1000;
    const topo = {
      nrPcpus: this.nrPcpus,
      sockets: checkInt("sockets", params.sockets ?? 1, 1, MAX_PCPUS, CTX),
      smt: checkInt("smt", params.smt ?? 1, 1, 8, CTX),
    };
    checkTopology(topo);
    for (const k of ["credit2Runqueue", "credit2MaxCpusRunqueue"] as const)
      if (params[k] !== undefined && this.hypervisor !== "xen")
        throw new ParameterError(k, params[k], "a Xen host (hypervisor xen): credit2's", CTX);
    this.credit2Runqueue = checkCredit2Runqueue(params.credit2Runqueue ?? DEFAULT_CREDIT2_RUNQUEUE);
    const maxCpusRunq = checkInt(
      "credit2MaxCpusRunqueue",
      params.credit2MaxCpusRunqueue ?? CSCHED2.maxCpusRunqueue,
      1,
      MAX_PCPUS,
      CTX,
    );
    this.siblings = Array.from({ length: this.nrPcpus }, (_, c) => siblingsOf(topo, c));
    this.rqOf =
      this.hypervisor === "xen"
        ? credit2RunqueueLayout(topo, this.credit2Runqueue, maxCpusRunq)
        : [];
    for (let c = 0; c < this.rqOf.length; c++) {
      const id = this.rqOf[c]!;
      if (this.rqds[id] === undefined)
        this.rqds[id] = {
          id,
          cpus: this.rqOf.flatMap((q, cpu) => (q === id ? [cpu] : [])),
          runq: [],
          svc: [],
          maxWeight: 1,
          load: 0,
          avgload: 0,
          bAvgload: 0,
          loadLastUpdate: 0,
          pickBias: c,
        };
    }
    this.pcpus = Array.from({ length: this.nrPcpus }, (_, id) => ({
      id,
      rq: [],
      curr: null,
      nextBuddy: null,
      skipBuddy: null,
      minVruntime: 0,
      sliceStart: 0,
      tickArmed: false,
      epoch: 0,
      nextBalance: 0,
      timerEpoch: 0,
    }));
    this.sendCallFuncIpi = (cpu, targets) =>
      this.hypervisor === "xen"
        ? this.xenSendCallFuncIpi(cpu, targets)
        : this.kvmSendCallFuncIpi(cpu, targets);
  }

  /** Physical CPUs. */
  get pcpuCount(): number {
    return this.nrPcpus;
  }

  /** All vCPUs (guests' and others') per pCPU. */
  get overcommit(): number {
    return (this.threads.length + (this.running ? 0 : this.otherVcpus)) / this.nrPcpus;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Puts a VM's vCPUs on this host (before {@link start}). */
  attach(vm: Host, params: VmParams): void {
    if (this.running) throw new KernelStateError("HostCpus.attach", "the host already runs");
    const weight = checkInt("weight", params.weight ?? NICE_0_LOAD, 2, 88_761, CTX);
    const pinned = checkBool("pinned", params.pinned, false, CTX);
    const first = checkInt("firstPcpu", params.firstPcpu ?? this.nextPin, 0, 1e9, CTX);
    this.vms.push(vm);
    for (const cpu of vm.machine.cpus) {
      const pcpu = (first + cpu.id) % this.nrPcpus;
      const t = this.newThread(vm, cpu, cpu.id, weight, pinned ? pcpu : -1, pcpu);
      this.byCpu.set(cpu, t);
    }
    this.nextPin = first + vm.machine.nrCpus;
  }

  private newThread(
    vm: Host | null,
    cpu: Cpu | null,
    index: number,
    weight: number,
    pinnedTo: number,
    pcpu: number,
  ): VcpuThread {
    const t: VcpuThread = {
      id: this.threads.length,
      vm,
      cpu,
      index,
      weight,
      pinnedTo,
      pcpu,
      state: "runnable",
      vruntime: 0,
      execStart: 0,
      entryEpoch: -1,
      inGuest: true,
      userspaceExit: false,
      preempted: false,
      ready: false,
      preemptedInKernel: false,
      spinning: false,
      inSpinLoop: false,
      dyEligible: false,
      credit: CSCHED2.creditInitNs,
      yieldFlag: false,
      pleWindow: this.pleWindowBase,
      pleEpoch: 0,
      waitingSince: 0,
      stealNs: 0,
      rqd: -1,
      load: { avgload: INITIAL_UNIT_LOAD, lastUpdate: loadClock(this.sim.now) },
      migrateTo: -1,
    };
    this.threads.push(t);
    return t;
  }

  /**
   * Xen: credit2's state now — each run queue's pCPUs, load and waiting units, and each unit's
   * queue, pCPU (where it runs or last ran), credit and state. Units are listed in creation
   * order: the VMs' vCPUs in attach order (`vm` its index), then the other VMs' (`vm` −1).
   */
  credit2State(): Credit2State {
    if (this.hypervisor !== "xen")
      throw new KernelStateError("HostCpus.credit2State", "not a Xen host");
    return {
      runqueues: this.rqds.map((r) => ({
        id: r.id,
        pcpus: [...r.cpus],
        load: r.load,
        waiting: r.runq.length,
      })),
      units: this.threads.map((t) => ({
        vm: t.vm === null ? -1 : this.vms.indexOf(t.vm),
        vcpu: t.index,
        runqueue: t.rqd >= 0 ? t.rqd : this.rqOf[t.pcpu]!,
        pcpu: t.pcpu,
        credit: t.credit,
        state: t.state,
      })),
    };
  }

  /** Steal time of a guest vCPU, ns (0 for a CPU this host does not run). */
  stealNs(cpu: Cpu): number {
    return this.byCpu.get(cpu)?.stealNs ?? 0;
  }

  /**
   * Starts scheduling: other VMs' vCPUs are added, every thread is queued on its pCPU, the
   * first of each queue runs and the others wait (descheduled). Without overcommit every vCPU
   * keeps a pCPU of its own and nothing ever switches, exactly as without a host.
   */
  start(): void {
    if (this.running || this.stopped)
      throw new KernelStateError("HostCpus.start", this.running ? "already running" : "stopped");
    this.running = true;
    for (let o = 0; o < this.otherVcpus; o++) {
      const p = (this.nextPin + o) % this.nrPcpus;
      this.newThread(null, null, o, NICE_0_LOAD, -1, p);
    }
    for (const vm of this.vms) vm.machine.hypervisor = this;
    if (this.hypervisor === "xen") {
      this.credit2Start();
      return;
    }
    for (const t of this.threads) {
      const p = this.pcpus[t.pcpu]!;
      if (p.curr === null) {
        p.curr = t;
        t.state = "running";
        t.execStart = this.sim.now;
        this.startSlice(p);
      } else {
        t.state = "runnable";
        t.waitingSince = this.sim.now;
        t.inGuest = false;
        p.rq.push(t);
        if (t.cpu !== null) {
          // scheduled out while runnable, at a timer interrupt: as schedOut would
          t.preempted = true;
          t.ready = true;
          t.preemptedInKernel = t.cpu.mode !== "user";
          this.writePreempted(t, true, true);
          t.cpu.hostPreempt("host-preempted");
          this.stats.preemptions++;
        }
      }
    }
    for (const p of this.pcpus) this.armTick(p);
    // vCPUs that are idle already halt now
    for (const t of this.threads) if (t.cpu !== null && t.cpu.idle) this.halt(t.cpu);
  }

  /**
   * Xen: every unit joins the run queue of the pCPU it was created on (runq_assign) and is
   * queued runnable (csched2_unit_wake's load and runq_insert), all at the same instant; then
   * every pCPU schedules (runq_candidate), in pCPU order, so that each decision sees the units
   * waiting beside it. The units left waiting are descheduled, as at a timer interrupt.
   */
  private credit2Start(): void {
    for (const t of this.threads) this.runqAssign(t, this.rqds[this.rqOf[t.pcpu]!]!);
    for (const t of this.threads) {
      const rqd = this.rqds[t.rqd]!;
      t.waitingSince = this.sim.now;
      this.updateLoad(rqd, t, 1);
      this.runqInsert(rqd, t);
    }
    for (const p of this.pcpus) if (p.curr === null) this.csched2Schedule(p, "wakeup");
    for (const t of this.threads) {
      if (t.state !== "runnable" || t.cpu === null || !t.inGuest) continue;
      t.inGuest = false;
      t.preempted = true;
      t.ready = true;
      t.preemptedInKernel = t.cpu.mode !== "user";
      t.cpu.hostPreempt("host-preempted");
      this.stats.preemptions++;
    }
    for (const t of this.threads) if (t.cpu !== null && t.cpu.idle) this.halt(t.cpu);
  }

  /** Stops scheduling and runs every vCPU (so that a simulation can drain). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.stopped = true;
    for (const vm of this.vms) vm.machine.hypervisor = null;
    for (const p of this.pcpus) p.epoch++;
    for (const t of this.threads) {
      t.pleEpoch++;
      if (t.cpu !== null && t.cpu.hostPreempted) t.vm!.resume(t.cpu);
    }
  }

  // ------------------------------------------------------------------ CFS

  private vdelta(t: VcpuThread, ns: number): number {
    return t.weight === NICE_0_LOAD ? ns : (ns * NICE_0_LOAD) / t.weight;
  }

  /** update_curr. */
  private updateCurr(p: Pcpu): void {
    const c = p.curr;
    if (c === null) return;
    const d = this.sim.now - c.execStart;
    if (d > 0) {
      c.vruntime += this.vdelta(c, d);
      c.execStart = this.sim.now;
    }
    this.updateMinVruntime(p);
  }

  private leftmost(p: Pcpu, except: VcpuThread | null = null): VcpuThread | null {
    let best: VcpuThread | null = null;
    for (const t of p.rq)
      if (t !== except && (best === null || t.vruntime < best.vruntime)) best = t;
    return best;
  }

  /** update_min_vruntime: monotonic, towards min(curr, leftmost). */
  private updateMinVruntime(p: Pcpu): void {
    let v = p.curr !== null ? p.curr.vruntime : Number.POSITIVE_INFINITY;
    const l = this.leftmost(p);
    if (l !== null && l.vruntime < v) v = l.vruntime;
    if (Number.isFinite(v) && v > p.minVruntime) p.minVruntime = v;
  }

  private nrRunning(p: Pcpu): number {
    return p.rq.length + (p.curr !== null ? 1 : 0);
  }

  /** sched_slice: the thread's share of sched_period by weight. */
  private sliceOf(p: Pcpu, t: VcpuThread): number {
    const nr = this.nrRunning(p);
    const nrLatency = Math.floor(this.latencyNs / this.minGranularityNs);
    const period = nr > nrLatency ? nr * this.minGranularityNs : this.latencyNs;
    let load = p.curr !== null && p.curr !== t ? p.curr.weight : 0;
    for (const x of p.rq) load += x.weight;
    if (p.curr === t || !p.rq.includes(t)) load += t.weight;
    return Math.max(1, Math.round((period * t.weight) / load));
  }

  private startSlice(p: Pcpu): void {
    p.sliceStart = this.sim.now;
  }

  /** wakeup_gran(se): wakeup_granularity in the candidate's virtual time. */
  private wakeupGran(t: VcpuThread): number {
    return this.vdelta(t, this.wakeupGranularityNs);
  }

  /** pick_next_entity (pre-EEVDF): leftmost, unless it is the skip buddy and the second is
   * close enough; the next buddy if it is within wakeup_granularity of the leftmost. */
  private pickNext(p: Pcpu): VcpuThread | null {
    const left = this.leftmost(p);
    if (left === null) return null;
    let se = left;
    if (p.skipBuddy === se) {
      const second = this.leftmost(p, se);
      if (second !== null && second.vruntime - left.vruntime <= this.wakeupGran(left)) se = second;
    }
    const nb = p.nextBuddy;
    if (nb !== null && p.rq.includes(nb) && nb.vruntime - left.vruntime <= this.wakeupGran(left))
      se = nb;
    // clear_buddies
    if (p.nextBuddy === se) p.nextBuddy = null;
    if (p.skipBuddy === se) p.skipBuddy = null;
    return se;
  }

  /**
   * __schedule on pCPU `p`: the current thread (if still runnable) goes back to the queue, the
   * next one is picked and entered. `why` says what took the current thread off: "tick" or
   * "wakeup" (an external-interrupt exit, at an instruction boundary), "yield" (a PAUSE exit or
   * a hypercall), "halt" (it blocked).
   */
  private reschedule(p: Pcpu, why: "tick" | "wakeup" | "yield" | "halt"): void {
    if (this.hypervisor === "xen") {
      this.csched2Schedule(p, why);
      return;
    }
    this.updateCurr(p);
    const prev = p.curr;
    if (prev !== null) {
      p.curr = null;
      if (why === "halt") prev.state = "blocked";
      else {
        prev.state = "runnable";
        prev.waitingSince = this.sim.now;
        p.rq.push(prev);
      }
    }
    const next = this.pickNext(p);
    if (next === prev && next !== null) {
      // still the best: it keeps running, with a new slice
      p.rq.splice(p.rq.indexOf(next), 1);
      p.curr = next;
      next.state = "running";
      next.execStart = this.sim.now;
      this.startSlice(p);
      this.armTick(p);
      return;
    }
    if (prev !== null) this.schedOut(prev, why);
    if (next !== null) {
      p.rq.splice(p.rq.indexOf(next), 1);
      this.schedIn(p, next);
    } else if (why === "halt" || prev === null) this.idleBalance(p);
    this.armTick(p);
  }

  /** kvm_sched_out → kvm_arch_vcpu_put: the thread leaves its pCPU. */
  private schedOut(t: VcpuThread, why: "tick" | "wakeup" | "yield" | "halt"): void {
    t.pleEpoch++;
    const runnable = why !== "halt";
    if (t.cpu === null) return;
    // kvm_sched_out: preempted and ready only when scheduled out while runnable
    t.preempted = runnable;
    t.ready = runnable;
    if (runnable) {
      // CPL 0 at the exit: a kernel path, an interrupt handler or the idle loop
      t.preemptedInKernel = t.cpu.mode !== "user" || t.cpu.inIrq;
      this.stats.preemptions++;
    }
    if (t.inGuest) {
      this.writePreempted(t, runnable, why === "tick" || why === "wakeup");
      t.cpu.hostPreempt(runnable ? "host-preempted" : "halted");
      t.inGuest = false;
    }
  }

  /** kvm_steal_time_set_preempted, with the host kernel's conditions. */
  private writePreempted(t: VcpuThread, runnable: boolean, atBoundary: boolean): void {
    // Xen has no KVM steal-time area: its guests read their runstate area instead
    if (this.hypervisor === "xen") return;
    const k = this.kernel;
    if (k.preemptedOnlyIfPreempted && !runnable) return;
    if (k.preemptedAtInstructionBoundary && !atBoundary) {
      this.stats.preemptionOther++;
      return;
    }
    this.stats.preemptionReported++;
    t.vm!.stealTime[t.index]!.preempted = KVM_VCPU_PREEMPTED;
  }

  /** The thread gets pCPU `p`: kvm_sched_in (PLE window shrink, flags cleared), then the guest
   * is entered after the exit/entry round trip. */
  private schedIn(p: Pcpu, t: VcpuThread): void {
    p.curr = t;
    t.state = "running";
    t.pcpu = p.id;
    t.execStart = this.sim.now;
    t.stealNs += this.sim.now - t.waitingSince;
    t.preempted = false;
    t.ready = false;
    t.pleWindow = this.shrinkPleWindow(t.pleWindow);
    this.startSlice(p);
    const epoch = ++p.epoch;
    t.entryEpoch = epoch;
    if (t.cpu === null) return;
    const enter = () => {
      if (p.epoch !== epoch || p.curr !== t || t.inGuest || t.userspaceExit || !this.running)
        return;
      t.inGuest = true;
      const cpu = t.cpu!;
      t.vm!.resume(cpu);
      if (t.spinning) this.armPle(t);
      // entered with nothing to run (woken for an interrupt that is handled by now, or queued
      // while idle): the idle loop halts again
      if (cpu.idle) this.sim.schedule(0, () => this.halt(cpu));
    };
    if (this.switchNs === 0) enter();
    else this.sim.schedule(this.switchNs, enter);
  }

  private armTick(p: Pcpu): void {
    // credit2 has no tick: each decision arms its own timer (armCredit2Timer)
    if (this.hypervisor === "xen") return;
    if (p.tickArmed || !this.running || this.nrRunning(p) < 2) return;
    p.tickArmed = true;
    // the next tick boundary of this pCPU (ticks spread over the period, as skew_tick would)
    const phase = Math.floor((p.id * this.tickNs) / this.nrPcpus);
    const now = this.sim.now;
    const next = Math.floor((now - phase) / this.tickNs + 1) * this.tickNs + phase;
    this.sim.schedule(Math.max(1, next - now), () => this.tick(p));
  }

  /** scheduler_tick → task_tick_fair → check_preempt_tick; and the periodic load balance. */
  private tick(p: Pcpu): void {
    p.tickArmed = false;
    if (!this.running) return;
    const c = p.curr;
    if (c !== null && p.rq.length > 0) {
      this.updateCurr(p);
      // ideal_runtime = sched_slice() now, with the threads queued now
      const ideal = this.sliceOf(p, c);
      const ran = this.sim.now - p.sliceStart;
      let resched = ran > ideal;
      if (!resched && ran >= this.minGranularityNs) {
        const l = this.leftmost(p);
        resched = l !== null && c.vruntime - l.vruntime > ideal;
      }
      if (resched) this.reschedule(p, "tick");
    }
    if (this.sim.now >= p.nextBalance) this.periodicBalance(p);
    this.armTick(p);
  }

  /** Whether thread `t` may run on pCPU `p`. */
  private allowed(t: VcpuThread, p: number): boolean {
    return t.pinnedTo < 0 || t.pinnedTo === p;
  }

  /** Moves a waiting thread to `dst`, keeping its lag (vruntime relative to min_vruntime). */
  private migrate(t: VcpuThread, src: Pcpu, dst: Pcpu): void {
    src.rq.splice(src.rq.indexOf(t), 1);
    if (src.nextBuddy === t) src.nextBuddy = null;
    if (src.skipBuddy === t) src.skipBuddy = null;
    t.vruntime = t.vruntime - src.minVruntime + dst.minVruntime;
    t.pcpu = dst.id;
    dst.rq.push(t);
    this.stats.migrations++;
  }

  /** The thread of `src` that could move to `dst`, last queued first (detach_tasks walks the
   * tail). */
  private movable(src: Pcpu, dst: Pcpu): VcpuThread | null {
    for (let i = src.rq.length - 1; i >= 0; i--) {
      const t = src.rq[i]!;
      if (this.allowed(t, dst.id)) return t;
    }
    return null;
  }

  /** idle_balance: a pCPU with nothing to run pulls a waiting thread from the busiest queue. */
  private idleBalance(p: Pcpu): void {
    let src: Pcpu | null = null;
    for (const q of this.pcpus)
      if (q !== p && this.movable(q, p) !== null && (src === null || q.rq.length > src.rq.length))
        src = q;
    if (src === null) return;
    this.migrate(this.movable(src, p)!, src, p);
    const next = this.pickNext(p)!;
    p.rq.splice(p.rq.indexOf(next), 1);
    this.schedIn(p, next);
  }

  /** rebalance_domains at sd_weight × busy_factor ms: pull one thread from the busiest pCPU when
   * it runs at least two more than this one. */
  private periodicBalance(p: Pcpu): void {
    p.nextBalance = this.sim.now + this.nrPcpus * this.kernel.busyFactor * 1_000_000;
    let src: Pcpu | null = null;
    for (const q of this.pcpus)
      if (q !== p && (src === null || this.nrRunning(q) > this.nrRunning(src))) src = q;
    if (src === null || this.nrRunning(src) - this.nrRunning(p) < 2) return;
    const t = this.movable(src, p);
    if (t !== null) this.migrate(t, src, p);
  }

  // ------------------------------------------------------------------ Xen credit2

  private rqdOf(p: Pcpu): Runqueue {
    return this.rqds[this.rqOf[p.id]!]!;
  }

  /** unit_runnable: neither blocked nor leaving for another run queue (_VPF_migrating). */
  private unitRunnable(t: VcpuThread): boolean {
    return t.state !== "blocked" && t.migrateTo < 0;
  }

  /** burn_credits → t2c_update: the running unit's credit, at its queue's max_weight / weight,
   * never below CREDIT_MIN. */
  private burnCredits(t: VcpuThread): void {
    const d = this.sim.now - t.execStart;
    if (d <= 0) return;
    const rqd = this.rqds[t.rqd]!;
    t.credit = Math.max(CSCHED2.creditMinNs, t.credit - (d * rqd.maxWeight) / t.weight);
    t.execStart = this.sim.now;
  }

  /** c2t: credit to time for `t` (a unit of the queue's highest weight burns 1 credit per ns). */
  private c2t(rqd: Runqueue, credit: number, t: VcpuThread): number {
    return (credit * t.weight) / rqd.maxWeight;
  }

  /** update_runq_load (with update_svc_load when `t` is given): the decaying averages, then the
   * instantaneous load changes by `change`. */
  private updateLoad(rqd: Runqueue, t: VcpuThread | null, change: -1 | 0 | 1): void {
    const now = loadClock(this.sim.now);
    rqd.avgload = decay(rqd.avgload, rqd.loadLastUpdate, rqd.load, now);
    rqd.bAvgload = decay(rqd.bAvgload, rqd.loadLastUpdate, rqd.load, now);
    rqd.load += change;
    rqd.loadLastUpdate = now;
    if (t !== null) this.updateSvcLoad(t, change);
  }

  /** update_svc_load: a unit's own load, 1 while runnable (before a change: −1 leaves a
   * runnable unit, +1 wakes one that was not). */
  private updateSvcLoad(t: VcpuThread, change: -1 | 0 | 1): void {
    const now = loadClock(this.sim.now);
    const load = change === -1 ? 1 : change === 1 ? 0 : this.unitRunnable(t) ? 1 : 0;
    t.load.avgload = decay(t.load.avgload, t.load.lastUpdate, load, now);
    t.load.lastUpdate = now;
  }

  /** _runq_assign / _runq_deassign with update_max_weight. */
  private runqAssign(t: VcpuThread, rqd: Runqueue): void {
    t.rqd = rqd.id;
    rqd.svc.push(t);
    if (t.weight > rqd.maxWeight) rqd.maxWeight = t.weight;
    rqd.bAvgload += t.load.avgload;
  }

  private runqDeassign(t: VcpuThread): void {
    const rqd = this.rqds[t.rqd]!;
    rqd.svc.splice(rqd.svc.indexOf(t), 1);
    if (t.weight === rqd.maxWeight) rqd.maxWeight = Math.max(1, ...rqd.svc.map((u) => u.weight));
    rqd.bAvgload = Math.max(rqd.bAvgload - t.load.avgload, 0);
    t.rqd = -1;
  }

  /** runq_insert: by credit, after the units of equal credit. */
  private runqInsert(rqd: Runqueue, t: VcpuThread): void {
    let i = 0;
    while (i < rqd.runq.length && !(t.credit > rqd.runq[i]!.credit)) i++;
    rqd.runq.splice(i, 0, t);
  }

  /** cpumask_cycle(n, mask): the first pCPU of `mask` after `n`, wrapping (mask ascending). */
  private static cycle(n: number, mask: readonly number[]): number {
    for (const c of mask) if (c > n) return c;
    return mask.length > 0 ? mask[0]! : -1;
  }

  /** cpumask_test_or_cycle: `n` itself if in `mask`, else the next one. */
  private static testOrCycle(n: number, mask: readonly number[]): number {
    return mask.includes(n) ? n : HostCpus.cycle(n, mask);
  }

  /**
   * csched2_schedule on pCPU `p`: burn the current unit's credit, runq_candidate, take the
   * choice off the queue, reset_credit and balance_load when the best credit of the queue is
   * used up, csched2_runtime for the decision's timer; then the switch and context_saved, which
   * puts a still-runnable previous unit back on the queue and tickles a pCPU for it.
   */
  private csched2Schedule(p: Pcpu, why: "tick" | "wakeup" | "yield" | "halt"): void {
    const rqd = this.rqdOf(p);
    p.timerEpoch++;
    p.tickArmed = false;
    const scurr = p.curr;
    if (scurr !== null) {
      this.burnCredits(scurr);
      if (why === "halt") scurr.state = "blocked";
    }
    const snext = this.runqCandidate(rqd, scurr, p);
    let inflight = 0;
    if (snext !== null) {
      if (snext !== scurr) rqd.runq.splice(rqd.runq.indexOf(snext), 1);
      else this.updateLoad(rqd, snext, 0);
      const top =
        rqd.runq.length === 0 ? snext.credit : Math.max(snext.credit, rqd.runq[0]!.credit);
      if (top <= CSCHED2.creditResetNs) {
        this.resetCredit(rqd, snext);
        this.balanceLoad(p, scurr, snext);
      }
      if (snext !== scurr && scurr !== null && this.unitRunnable(scurr)) inflight = scurr.credit;
      if (snext.pcpu !== p.id) snext.credit += CSCHED2.migrateCompensationNs;
    } else this.updateLoad(rqd, null, 0);
    const runtime = snext === null ? -1 : this.csched2Runtime(rqd, p, snext, scurr, inflight);
    if (snext !== null && snext === scurr) {
      // it keeps running: still in the running state, so its state_entry_time and ratelimit
      // are unchanged
      this.armCredit2Timer(p, runtime);
      return;
    }
    if (scurr !== null) {
      p.curr = null;
      if (scurr.state === "running") scurr.state = "runnable";
      scurr.waitingSince = this.sim.now;
      this.schedOut(scurr, why);
    }
    if (snext !== null) {
      this.schedIn(p, snext);
      this.armCredit2Timer(p, runtime);
    }
    if (scurr !== null) this.contextSaved(scurr);
  }

  /**
   * runq_candidate: the current unit while it has run less than the ratelimit (unless it
   * yields); else the first unit of the queue with more credit than the current one (or than
   * the idle unit) that may run here — a unit that last ran on another pCPU only with
   * MIGRATE_RESIST more; a yielding current unit is passed over for any such unit, whatever
   * its credit. Null: the pCPU idles.
   */
  private runqCandidate(rqd: Runqueue, scurr: VcpuThread | null, p: Pcpu): VcpuThread | null {
    let yielding = false;
    let snext: VcpuThread | null = null;
    if (scurr !== null) {
      yielding = scurr.yieldFlag;
      scurr.yieldFlag = false;
      const runnable = this.unitRunnable(scurr);
      if (
        !yielding &&
        this.ratelimitNs > 0 &&
        runnable &&
        this.sim.now - p.sliceStart < this.ratelimitNs
      )
        return scurr;
      if (runnable) snext = scurr;
    }
    const base = snext === null ? CSCHED2.idleCreditNs : snext.credit;
    for (const svc of rqd.runq) {
      if (!yielding && svc.credit <= base) break;
      if (!this.unitRunnable(svc) || !this.allowed(svc, p.id)) continue;
      if (svc.pcpu !== p.id && base + CSCHED2.migrateResistNs > svc.credit) continue;
      return svc;
    }
    return snext;
  }

  /** reset_credit: every unit of the run queue gets CREDIT_INIT more (twice that if the chosen
   * one is at CREDIT_MIN), clipped to CREDIT_INIT + CARRYOVER_MAX; running ones burn first. */
  private resetCredit(rqd: Runqueue, snext: VcpuThread): void {
    const reset =
      snext.credit === CSCHED2.creditMinNs ? 2 * CSCHED2.creditInitNs : CSCHED2.creditInitNs;
    const cap = CSCHED2.creditInitNs + CSCHED2.carryoverMaxNs;
    for (const t of rqd.svc) {
      if (this.pcpus[t.pcpu]!.curr === t) this.burnCredits(t);
      t.credit = Math.min(t.credit + reset, cap);
    }
    this.stats.creditResets++;
  }

  /**
   * balance_load, at a credit reset: against the run queue whose b_avgload differs most from
   * this pCPU's, if the difference passes the threshold, the push, pull or swap of units that
   * leaves the two closest. `scurr` and `snext` are scheduled (running) for migrate().
   */
  private balanceLoad(p: Pcpu, scurr: VcpuThread | null, snext: VcpuThread): void {
    const l = this.rqdOf(p);
    this.updateLoad(l, null, 0);
    let maxDeltaRqd: Runqueue | null = null;
    let loadDelta = 0;
    let last = l;
    for (const o of this.rqds) {
      last = o;
      if (o === l) continue;
      this.updateLoad(o, null, 0);
      const d = Math.abs(l.bAvgload - o.bAvgload);
      if (d > loadDelta) {
        loadDelta = d;
        maxDeltaRqd = o;
      }
    }
    if (maxDeltaRqd === null) return;
    // as credit2.c has it, the capacity test reads the queue the loop ended on (st.orqd)
    const loadMax = Math.max(l.bAvgload, last.bAvgload);
    const cpusMax = Math.max(l.cpus.length, last.cpus.length);
    if (loadDelta < balanceThreshold(loadMax, cpusMax)) return;
    const o = maxDeltaRqd;
    let best = {
      delta: loadDelta,
      push: null as VcpuThread | null,
      pull: null as VcpuThread | null,
    };
    const consider = (push: VcpuThread | null, pull: VcpuThread | null): void => {
      let lLoad = l.bAvgload;
      let oLoad = o.bAvgload;
      if (push !== null) {
        lLoad -= push.load.avgload;
        oLoad += push.load.avgload;
      }
      if (pull !== null) {
        lLoad += pull.load.avgload;
        oLoad -= pull.load.avgload;
      }
      const delta = Math.abs(lLoad - oLoad);
      if (delta < best.delta) best = { delta, push, pull };
    };
    const migrateable = (t: VcpuThread, to: Runqueue) =>
      t.migrateTo < 0 && to.cpus.some((c) => this.allowed(t, c));
    let innerUpdated = false;
    for (const push of l.svc) {
      this.updateSvcLoad(push, 0);
      if (!migrateable(push, o)) continue;
      for (const pull of o.svc) {
        if (!innerUpdated) this.updateSvcLoad(pull, 0);
        if (migrateable(pull, l)) consider(push, pull);
      }
      innerUpdated = true;
      consider(push, null);
    }
    for (const pull of o.svc) if (migrateable(pull, l)) consider(null, pull);
    const scheduled = (t: VcpuThread) =>
      t === scurr || t === snext || this.pcpus[t.pcpu]!.curr === t;
    if (best.push !== null) this.credit2Migrate(best.push, o, scheduled(best.push));
    if (best.pull !== null) this.credit2Migrate(best.pull, l, scheduled(best.pull));
  }

  /**
   * migrate(): a running unit is only marked (it leaves at its pCPU's next decision, which is
   * tickled); a waiting or blocked one moves now to a pCPU of the target queue
   * (cpumask_cycle from its pick_bias), and a waiting one is tickled there. The tickles run as
   * the softirq they raise: after the current decision.
   */
  private credit2Migrate(t: VcpuThread, trqd: Runqueue, scheduled: boolean): void {
    this.stats.migrations++;
    if (scheduled) {
      t.migrateTo = trqd.id;
      // tickle_cpu on the pCPU it runs on when the softirq runs (a unit being switched in
      // now has not reached its new pCPU yet); if it has left by then, it has moved already
      this.sim.schedule(0, () => {
        const p = this.pcpus[t.pcpu]!;
        if (this.running && p.curr === t) this.csched2Schedule(p, "wakeup");
      });
      return;
    }
    const old = this.rqds[t.rqd]!;
    const onRunq = old.runq.indexOf(t);
    if (onRunq >= 0) {
      old.runq.splice(onRunq, 1);
      this.updateLoad(old, null, -1);
    }
    this.moveUnit(t, trqd);
    if (onRunq >= 0) {
      this.updateLoad(trqd, null, 1);
      this.runqInsert(trqd, t);
      this.sim.schedule(0, () => {
        if (this.running && trqd.runq.includes(t)) this.runqTickle(t);
      });
    }
  }

  /** The unit's move to `trqd`: deassign, a pCPU of the queue it may run on
   * (cpumask_cycle(pick_bias)), assign. */
  private moveUnit(t: VcpuThread, trqd: Runqueue): void {
    this.runqDeassign(t);
    const cpu = HostCpus.cycle(
      trqd.pickBias,
      trqd.cpus.filter((c) => this.allowed(t, c)),
    );
    t.pcpu = cpu;
    trqd.pickBias = cpu;
    this.runqAssign(t, trqd);
  }

  /**
   * csched2_context_saved after a switch: a unit that balance_load marked moves now
   * (vcpu_migrate_finish: csched2_res_pick takes a pCPU of the target queue, migrate() moves
   * the unit, vcpu_wake queues it there); a runnable one goes back on its queue and a pCPU is
   * tickled for it; a blocked one leaves the queue's load.
   */
  private contextSaved(t: VcpuThread): void {
    if (t.migrateTo >= 0) {
      const trqd = this.rqds[t.migrateTo]!;
      t.migrateTo = -1;
      this.updateLoad(this.rqds[t.rqd]!, t, -1);
      // csched2_res_pick with CSFLAG_runq_migrate_request moves the queue's pick_bias first
      trqd.pickBias = HostCpus.cycle(
        trqd.pickBias,
        trqd.cpus.filter((c) => this.allowed(t, c)),
      );
      this.moveUnit(t, trqd);
      if (t.state !== "blocked") this.credit2Wake(t);
      return;
    }
    if (t.state === "runnable") {
      this.runqInsert(this.rqds[t.rqd]!, t);
      this.runqTickle(t);
    } else this.updateLoad(this.rqds[t.rqd]!, t, -1);
  }

  /**
   * csched2_runtime: run until the first waiting unit's credit (or the previous unit's, going
   * back on the queue) is reached, or the own credit is used up when none waits with credit;
   * at least MIN_TIMER and what is left of the ratelimit, at most MAX_TIMER.
   */
  private csched2Runtime(
    rqd: Runqueue,
    p: Pcpu,
    snext: VcpuThread,
    scurr: VcpuThread | null,
    inflightCredit: number,
  ): number {
    let minTime: number = CSCHED2.minTimerNs;
    if (this.ratelimitNs > 0) {
      const rl =
        snext === scurr ? p.sliceStart + this.ratelimitNs - this.sim.now : this.ratelimitNs;
      if (rl > minTime) minTime = rl;
    }
    let rtCredit = snext.credit;
    let swaitCredit = 0;
    const swait = rqd.runq[0];
    if (swait !== undefined && swait.credit > 0) swaitCredit = swait.credit;
    if (swaitCredit < inflightCredit) swaitCredit = inflightCredit;
    if (swaitCredit > 0) rtCredit = snext.credit - swaitCredit;
    const time = rtCredit > 0 ? this.c2t(rqd, rtCredit, snext) : 0;
    return Math.round(Math.min(Math.max(time, minTime), CSCHED2.maxTimerNs));
  }

  /** The timer of the current decision; when it fires, the pCPU schedules again. */
  private armCredit2Timer(p: Pcpu, ns: number): void {
    if (!this.running || p.curr === null || ns < 0) return;
    p.tickArmed = true;
    const epoch = p.timerEpoch;
    this.sim.schedule(Math.max(1, ns), () => {
      if (p.timerEpoch !== epoch || !this.running) return;
      p.tickArmed = false;
      this.csched2Schedule(p, "tick");
    });
  }

  /** csched2_unit_wake: the unit joins its queue's load and runq, and runq_tickle picks a
   * pCPU for it. A woken unit keeps the credit it had. */
  private credit2Wake(t: VcpuThread): void {
    t.state = "runnable";
    t.waitingSince = this.sim.now;
    const rqd = this.rqds[t.rqd]!;
    this.updateLoad(rqd, t, 1);
    this.runqInsert(rqd, t);
    this.runqTickle(t);
  }

  /**
   * runq_tickle: a pCPU of the unit's run queue that it may run on — an idle one (its own
   * pCPU first, else the next, fully idle cores before others), else the busy one whose current
   * unit it beats by the most credit (MIGRATE_RESIST less away from its own pCPU), once that
   * unit has run the ratelimit less RATELIMIT_TICKLE_TOLERANCE; its own pCPU wins any positive
   * score. The tickled pCPU schedules at once and picks from the queue.
   */
  private runqTickle(t: VcpuThread): void {
    const rqd = this.rqds[t.rqd]!;
    const cpu = t.pcpu;
    const mask = rqd.cpus.filter((c) => this.allowed(t, c));
    const isIdle = (c: number) => this.pcpus[c]!.curr === null;
    const idle = mask.filter(isIdle);
    const smtIdle = idle.filter((c) =>
      this.siblings[c]!.every((s) => this.rqOf[s] !== rqd.id || isIdle(s)),
    );
    let ipid = HostCpus.testOrCycle(cpu, smtIdle);
    if (ipid < 0) ipid = HostCpus.testOrCycle(cpu, idle);
    if (ipid >= 0) {
      this.csched2Schedule(this.pcpus[ipid]!, "wakeup");
      return;
    }
    let max = 0;
    if (mask.includes(cpu)) {
      const score = this.tickleScore(t, cpu);
      if (score > max) {
        // in the unit's soft affinity (all pCPUs): taken at once
        this.csched2Schedule(this.pcpus[cpu]!, "wakeup");
        return;
      }
    }
    for (const c of mask) {
      if (c === cpu) continue;
      const score = this.tickleScore(t, c);
      if (score > max) {
        max = score;
        ipid = c;
      }
    }
    if (ipid >= 0) this.csched2Schedule(this.pcpus[ipid]!, "wakeup");
  }

  /** tickle_score: −1 if the current unit may not be preempted yet; else the credit by which
   * `t` beats it (MIGRATE_RESIST less if `t` last ran elsewhere), plus CREDIT_INIT when
   * positive (the pCPU is in `t`'s soft affinity, which is every pCPU). */
  private tickleScore(t: VcpuThread, c: number): number {
    const p = this.pcpus[c]!;
    const cur = p.curr!;
    const tol = CSCHED2.ratelimitTickleToleranceNs;
    const preemptable =
      this.ratelimitNs <= tol || this.sim.now - p.sliceStart > this.ratelimitNs - tol;
    if (!preemptable) return -1;
    this.burnCredits(cur);
    let score = t.credit - cur.credit;
    if (t.pcpu !== c) score -= CSCHED2.migrateResistNs;
    if (score > 0) score += CSCHED2.creditInitNs;
    return score;
  }

  /** vcpu_yield(): CSFLAG_unit_yield, then schedule — another runnable unit of the pCPU runs,
   * whatever its credit, if there is one. */
  private vcpuYield(t: VcpuThread): void {
    this.stats.xenYields++;
    t.yieldFlag = true;
    const p = this.pcpus[t.pcpu]!;
    this.reschedule(p, "yield");
    t.yieldFlag = false;
    if (p.curr !== t) this.stats.xenYieldsTaken++;
  }

  /**
   * xen_smp_send_call_function_ipi (arch/x86/xen/smp.c, Linux as a Xen PV guest, and an HVM
   * guest with PV IPIs): after the event-channel IPIs, if any target's runstate is
   * RUNSTATE_runnable (xen_vcpu_stolen: preempted, not blocked), one
   * HYPERVISOR_sched_op(SCHEDOP_yield) — an undirected yield — and no more.
   */
  private *xenSendCallFuncIpi(cpu: Cpu, targets: readonly number[]): Kfn<void> {
    const me = this.byCpu.get(cpu);
    if (me === undefined || !this.running) return;
    const vm = me.vm!;
    for (const id of targets) {
      const target = this.byCpu.get(vm.machine.cpus[id]!)!;
      if (target.state !== "runnable") continue;
      this.stats.schedOpYields++;
      yield vm.machine.jitter(vm.machine.costs.hypercallNs);
      if (this.running && me.state === "running" && me.inGuest) {
        this.vcpuYield(me);
        // descheduled by the yield: it continues when it runs again
        if (cpu.hostPreempted) yield 0;
      }
      break;
    }
  }

  // ------------------------------------------------------------------ halt and wake-up

  /** Hypervisor.halt: HLT exit → kvm_vcpu_block → the thread blocks. */
  halt(cpu: Cpu): void {
    const t = this.byCpu.get(cpu);
    if (t === undefined || !this.running || t.state !== "running" || !t.inGuest) return;
    if (!cpu.idle) return;
    this.stats.halts++;
    this.reschedule(this.pcpus[t.pcpu]!, "halt");
  }

  /** Hypervisor.kick: kvm_vcpu_kick → kvm_vcpu_wake_up for a blocked thread. */
  kick(cpu: Cpu): void {
    const t = this.byCpu.get(cpu);
    if (t === undefined || !this.running || t.state !== "blocked") return;
    this.stats.wakeups++;
    if (this.kernel.boostWokenVcpus) t.ready = true;
    this.wakeUp(t);
  }

  /** try_to_wake_up → select_task_rq_fair, enqueue with place_entity, check_preempt_wakeup. */
  private wakeUp(t: VcpuThread): void {
    if (this.hypervisor === "xen") {
      this.credit2Wake(t);
      return;
    }
    let dst = this.pcpus[t.pcpu]!;
    if (t.pinnedTo >= 0) dst = this.pcpus[t.pinnedTo]!;
    else if (this.nrRunning(dst) > 0) {
      const idle = this.pcpus.find((q) => this.nrRunning(q) === 0);
      if (idle !== undefined) {
        t.vruntime = t.vruntime - dst.minVruntime + idle.minVruntime;
        dst = idle;
      }
    }
    t.pcpu = dst.id;
    this.updateCurr(dst);
    // place_entity (GENTLE_FAIR_SLEEPERS): at most sched_latency / 2 of credit
    t.vruntime = Math.max(t.vruntime, dst.minVruntime - this.latencyNs / 2);
    t.state = "runnable";
    t.waitingSince = this.sim.now;
    dst.rq.push(t);
    const c = dst.curr;
    if (c === null) this.reschedule(dst, "wakeup");
    else if (c.vruntime - t.vruntime > this.wakeupGran(t)) this.reschedule(dst, "wakeup");
    else this.armTick(dst);
  }

  /**
   * An exit that the VMM handles in user space (an MMIO or port I/O access), `durationNs` long:
   * KVM_RUN returns, `vcpu_put` runs, and the vCPU makes no progress until the VMM enters it
   * again. Before v5.19 `kvm_arch_vcpu_put` wrote KVM_VCPU_PREEMPTED here too, so a KVM PV flush
   * skipped the vCPU; since 54aa83c90198 it does not (the thread was not preempted), and a flush
   * IPIs it and waits for the exit to end. The thread keeps its pCPU.
   */
  exitToUserspace(cpu: Cpu, durationNs: number): void {
    checkInt("durationNs", durationNs, 1, 1e10, "HostCpus.exitToUserspace");
    const t = this.byCpu.get(cpu);
    if (t === undefined || !this.running || t.state !== "running" || !t.inGuest)
      throw new KernelStateError("exitToUserspace", `vcpu${cpu.id} is not running in the guest`);
    t.userspaceExit = true;
    t.inGuest = false;
    t.pleEpoch++;
    if (!this.kernel.preemptedOnlyIfPreempted) {
      this.stats.preemptionReported++;
      t.vm!.stealTime[t.index]!.preempted = KVM_VCPU_PREEMPTED;
    }
    cpu.hostPreempt("userspace-exit");
    this.sim.schedule(durationNs, () => {
      t.userspaceExit = false;
      const p = this.pcpus[t.pcpu]!;
      // re-entered now if the thread still has its pCPU; else at its next schedIn
      if (!this.running || p.curr !== t || t.inGuest) return;
      t.inGuest = true;
      t.vm!.resume(cpu);
      if (t.spinning) this.armPle(t);
      if (cpu.idle) this.sim.schedule(0, () => this.halt(cpu));
    });
  }

  // ------------------------------------------------------------------ PLE and directed yield

  /** Hypervisor.spinLoop: a PAUSE loop in kernel mode starts or ends on `cpu`. */
  spinLoop(cpu: Cpu, spinning: boolean): void {
    const t = this.byCpu.get(cpu);
    if (t === undefined) return;
    t.spinning = spinning;
    t.pleEpoch++;
    if (spinning && t.state === "running" && t.inGuest) this.armPle(t);
  }

  /** The PAUSE loop exits after ple_window TSC cycles of spinning in the guest. */
  private armPle(t: VcpuThread): void {
    if (!this.ple || !this.running) return;
    const epoch = ++t.pleEpoch;
    const ns = Math.max(1, Math.round((t.pleWindow * 1000) / this.tscMhz));
    this.sim.schedule(ns, () => {
      if (t.pleEpoch !== epoch || !t.spinning || t.state !== "running" || !this.running) return;
      this.handlePause(t);
    });
  }

  /** __grow_ple_window. */
  private growPleWindow(val: number): number {
    const m = this.pleWindowGrow;
    let v = val;
    if (m < 1) return this.pleWindowBase;
    if (m < this.pleWindowBase) v *= m;
    else v += m;
    return Math.min(v, this.pleWindowMax);
  }

  /** __shrink_ple_window (min = the base). */
  private shrinkPleWindow(val: number): number {
    const m = this.pleWindowShrink;
    let v = val;
    if (m < 1) return this.pleWindowBase;
    if (m < this.pleWindowBase) v = Math.floor(v / m);
    else v -= m;
    return Math.max(v, this.pleWindowBase);
  }

  /** handle_pause: grow the window, kvm_vcpu_on_spin(me, true); spin on if nothing yielded. */
  private handlePause(me: VcpuThread): void {
    this.stats.pleExits++;
    if (this.hypervisor === "xen") {
      // vmx_vmexit_handler, EXIT_REASON_PAUSE_INSTRUCTION: vcpu_yield(), an undirected yield;
      // Xen's ple_window is fixed (no grow or shrink)
      this.vcpuYield(me);
      if (me.state === "running" && me.spinning && me.inGuest) this.armPle(me);
      return;
    }
    me.pleWindow = this.growPleWindow(me.pleWindow);
    this.kvmVcpuOnSpin(me, true);
    if (me.state === "running" && me.spinning && me.inGuest) this.armPle(me);
  }

  /** kvm_vcpu_eligible_for_directed_yield: a spinner is eligible every other time. */
  private eligible(v: VcpuThread): boolean {
    const ok = !v.inSpinLoop || v.dyEligible;
    if (v.inSpinLoop) v.dyEligible = !v.dyEligible;
    return ok;
  }

  /** kvm_vcpu_on_spin: one round-robin pass over the VM's vCPUs from last_boosted_vcpu + 1. */
  private kvmVcpuOnSpin(me: VcpuThread, yieldToKernelMode: boolean): void {
    const vm = me.vm!;
    const vcpus = vm.machine.cpus;
    if (vcpus.length < 2) return;
    me.inSpinLoop = true;
    let tries = 3;
    const start = vm.lastBoostedVcpu + 1;
    for (let i = 0; i < vcpus.length; i++) {
      const idx = (start + i) % vcpus.length;
      const v = this.byCpu.get(vcpus[idx]!)!;
      if (v === me || !v.ready) continue;
      if (v.state === "blocked") continue; // kvm_vcpu_is_blocking && !vcpu_dy_runnable
      if (
        v.preempted &&
        yieldToKernelMode &&
        this.kernel.yieldToKernelMode &&
        !this.dyHasPendingInterrupt(v) &&
        !v.preemptedInKernel
      )
        continue;
      if (!this.eligible(v)) continue;
      const r = this.yieldTo(me, v);
      if (r > 0) {
        vm.lastBoostedVcpu = idx;
        this.stats.directedYields++;
        break;
      }
      if (r < 0 && --tries === 0) break;
    }
    me.inSpinLoop = false;
    me.dyEligible = false;
  }

  /** kvm_arch_dy_has_pending_interrupt: a posted interrupt waits (APICv, v5.3+). */
  private dyHasPendingInterrupt(v: VcpuThread): boolean {
    return (
      this.kernel.dyPendingInterrupt &&
      this.apicv &&
      v.cpu !== null &&
      v.cpu.pendingVectors.length > 0
    );
  }

  /**
   * yield_to(target, preempt = true): 0 if the target runs or is not runnable, −ESRCH when both
   * queues hold a single thread; else the target becomes its queue's next buddy, the caller its
   * own queue's skip buddy (yield_task_fair), the target's pCPU is rescheduled and so is the
   * caller's (schedule()).
   */
  private yieldTo(me: VcpuThread, target: VcpuThread): number {
    if (target.state !== "runnable") return 0;
    const rq = this.pcpus[me.pcpu]!;
    const prq = this.pcpus[target.pcpu]!;
    if (this.nrRunning(rq) === 1 && this.nrRunning(prq) === 1) return -1;
    prq.nextBuddy = target;
    if (this.nrRunning(rq) > 1) rq.skipBuddy = me;
    if (prq !== rq) this.reschedule(prq, "wakeup");
    this.reschedule(rq, "yield");
    return 1;
  }

  /**
   * kvm_smp_send_call_func_ipi (arch/x86/kernel/kvm.c, v5.3): after the IPIs, one
   * KVM_HC_SCHED_YIELD to the first target that steal time shows preempted (and that is not
   * idle in the guest); the host yields to it if it is `ready` and not the caller.
   */
  private *kvmSendCallFuncIpi(cpu: Cpu, targets: readonly number[]): Kfn<void> {
    const me = this.byCpu.get(cpu);
    if (me === undefined || !this.running || !this.kernel.pvSchedYield || !me.vm!.pvSchedYield)
      return;
    const vm = me.vm!;
    for (const id of targets) {
      const tc = vm.machine.cpus[id]!;
      if (tc.idle || !(vm.stealTime[id]!.preempted & KVM_VCPU_PREEMPTED)) continue;
      this.stats.pvYieldCalls++;
      yield vm.machine.jitter(vm.machine.costs.hypercallNs);
      const target = this.byCpu.get(tc)!;
      if (target !== me && target.ready && this.running && me.state === "running") {
        if (this.yieldTo(me, target) > 0) {
          this.stats.pvYields++;
          // the caller is descheduled if the yield took its pCPU: it continues when it runs
          if (cpu.hostPreempted) yield 0;
        }
      }
      break;
    }
  }
}
