/**
 * A whole simulated system for one run: machine (optionally a guest on a host), kernel with a
 * resolved version profile, x86 flush backend, RCU. Everything hangs off one Simulation.
 */
import { hypervBackend, invlpgbBackend, kvmPvBackend, xenPvBackend } from "../arch/x86/backends.js";
import { installX86 } from "../arch/x86/pgtable.js";
import { nativeBackend, type FlushBackend, type X86Mmu } from "../arch/x86/tlb.js";
import {
  resolveProfile,
  type BackendName,
  type ResolvedProfile,
  type ResolveOptions,
} from "../config/profiles.js";
import type { CostModel } from "../hw/costs.js";
import { Host, type HostParams } from "../hw/host.js";
import { Machine } from "../hw/machine.js";
import { Kernel } from "../mm/kernel.js";
import { Rcu } from "../rcu/tree.js";
import { Simulation } from "../sim/simulation.js";

export interface SystemOptions {
  readonly profile: string;
  readonly backend: string;
  readonly nrCpus?: number;
  readonly seed?: number;
  /** CONFIG_HZ. Default 1000. */
  readonly hz?: number;
  readonly levels?: 4 | 5;
  readonly costs?: Partial<CostModel>;
  readonly host?: HostParams;
  readonly trace?: boolean;
  /** Keep per-frame histories (the oracle's reports use them). Default true. */
  readonly history?: boolean;
  readonly resolve?: ResolveOptions;
}

export interface System {
  readonly sim: Simulation;
  readonly m: Machine;
  readonly k: Kernel;
  readonly x86: X86Mmu;
  readonly rcu: Rcu;
  readonly host: Host;
  readonly resolved: ResolvedProfile;
}

function makeBackend(name: BackendName, host: Host): FlushBackend {
  switch (name) {
    case "native":
      return nativeBackend;
    case "xen-pv":
      return xenPvBackend;
    case "hyperv":
      return hypervBackend();
    case "kvm-pv":
      return kvmPvBackend(host);
    case "invlpgb":
      return invlpgbBackend;
  }
}

/** Builds and wires a system; validates every name and number before building anything. */
export function buildSystem(opts: SystemOptions): System {
  const resolved = resolveProfile(opts.profile, opts.backend, opts.resolve);
  const sim = new Simulation({ seed: opts.seed ?? 1, trace: opts.trace ?? true });
  const m = new Machine(sim, {
    nrCpus: opts.nrCpus ?? 4,
    ...(opts.costs ? { costs: opts.costs } : {}),
  });
  const host = new Host(m, opts.host);
  const k = new Kernel(m, {
    levels: opts.levels ?? 4,
    behaviour: resolved.gather,
    allocator: { history: opts.history ?? true },
    hz: opts.hz ?? 1000,
  });
  const x86 = installX86(k, resolved.x86, makeBackend(resolved.backend, host));
  const rcu = new Rcu(m, { hz: opts.hz ?? 1000, flavour: resolved.rcuFlavour });
  k.rcu = rcu;
  return { sim, m, k, x86, rcu, host, resolved };
}
