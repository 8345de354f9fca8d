/**
 * Test kernels. The RCU here is a stand-in that runs callbacks a fixed delay after call_rcu —
 * acceptable only in tests of the mm layer, which must not depend on grace-period details.
 */
import {
  installX86,
  nativeBackend,
  type FlushBackend,
  type X86Behaviour,
  type X86Mmu,
} from "../../src/arch/x86/index.js";
import { Machine, type CostModel, type Cpu } from "../../src/hw/index.js";
import { Kernel, type MmuGatherBehaviour, type RcuOps } from "../../src/mm/index.js";
import { Simulation, type Kfn } from "../../src/sim/index.js";

export const V4_13: { gather: MmuGatherBehaviour; x86: X86Behaviour } = {
  gather: {
    rcuTableFree: false,
    mmUsersShortcut: false,
    tableInvalidate: false,
    tableFlushIn: "tlbonly",
    freedTables: false,
    ptReclaimFallback: false,
  },
  x86: { tableFreeVia: "tlb_remove_page", skipLazyUnlessFreedTables: false },
};
export const V4_14: { gather: MmuGatherBehaviour; x86: X86Behaviour } = {
  gather: {
    rcuTableFree: true,
    mmUsersShortcut: true,
    tableInvalidate: false,
    tableFlushIn: "tlbonly",
    freedTables: false,
    ptReclaimFallback: false,
  },
  x86: { tableFreeVia: "tlb_remove_table", skipLazyUnlessFreedTables: false },
};
export const V4_19: { gather: MmuGatherBehaviour; x86: X86Behaviour } = {
  gather: {
    rcuTableFree: true,
    mmUsersShortcut: false,
    tableInvalidate: true,
    tableFlushIn: "free",
    freedTables: false,
    ptReclaimFallback: false,
  },
  x86: { tableFreeVia: "paravirt", skipLazyUnlessFreedTables: false },
};

export class DelayRcu implements RcuOps {
  calls = 0;
  invoked = 0;
  constructor(
    private readonly sim: Simulation,
    readonly delayNs: number,
  ) {}
  *call_rcu(cpu: Cpu, fn: (cpu: Cpu) => Kfn<void>, name: string): Kfn<void> {
    this.calls++;
    this.sim.process(`rcu-standin/${name}`, this.invoke(cpu, fn), this.delayNs);
    yield 0;
  }

  private *invoke(cpu: Cpu, fn: (cpu: Cpu) => Kfn<void>): Kfn<void> {
    yield* fn(cpu);
    this.invoked++;
  }
}

export interface TestKernel {
  sim: Simulation;
  m: Machine;
  k: Kernel;
  x86: X86Mmu;
  rcu: DelayRcu;
}

export function makeKernel(
  opts: {
    nrCpus?: number;
    profile?: { gather: MmuGatherBehaviour; x86: X86Behaviour };
    backend?: FlushBackend;
    levels?: 4 | 5;
    seed?: number;
    rcuDelayNs?: number;
    costs?: Partial<CostModel>;
    trace?: boolean;
    history?: boolean;
    /** The machine's frames (the allocator's maxFrames). */
    maxFrames?: number;
  } = {},
): TestKernel {
  const sim = new Simulation({ seed: opts.seed ?? 1, trace: opts.trace ?? true });
  const m = new Machine(sim, { nrCpus: opts.nrCpus ?? 2, costs: { jitter: 0, ...opts.costs } });
  const profile = opts.profile ?? V4_14;
  const k = new Kernel(m, {
    levels: opts.levels ?? 4,
    behaviour: profile.gather,
    allocator: {
      history: opts.history ?? true,
      ...(opts.maxFrames !== undefined ? { maxFrames: opts.maxFrames } : {}),
    },
  });
  const x86 = installX86(k, profile.x86, opts.backend ?? nativeBackend);
  const rcu = new DelayRcu(sim, opts.rcuDelayNs ?? 1_000_000);
  k.rcu = rcu;
  return { sim, m, k, x86, rcu };
}

/** Runs a kernel path on a CPU to completion (and everything it left scheduled). */
export function runOn<R>(t: TestKernel, cpu: number, gen: Kfn<R>): R {
  let out: { v: R } | null = null;
  t.m.cpu(cpu).run(
    "test",
    (function* (): Kfn<void> {
      out = { v: yield* gen };
    })(),
  );
  t.sim.run();
  if (out === null) throw new Error("path did not finish");
  return (out as { v: R }).v;
}
