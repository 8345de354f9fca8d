/**
 * A profile of a real kernel, read from its build configuration (/boot/config-<release>): which
 * of the model's version profiles it runs, with CONFIG_PARAVIRT, CONFIG_HZ and the preemption
 * model taken from the file rather than assumed — so the model runs what that kernel runs.
 *
 * The version comes from the file's header ("# Linux/x86 6.1.192 Kernel Configuration") and
 * picks the newest profile at or below it; the options decide the rest:
 *   CONFIG_PARAVIRT                    → resolve.paravirt (v4.19–v6.14 free tables by RCU only
 *                                         when a paravirt backend installs tlb_remove_table)
 *   CONFIG_MMU_GATHER_RCU_TABLE_FREE / CONFIG_HAVE_RCU_TABLE_FREE
 *                                      → checked against what the profile says the version
 *                                         selects (a mismatch is an error: wrong profile)
 *   CONFIG_HZ                          → the tick (RCU grace periods)
 *   CONFIG_PREEMPT_{NONE,VOLUNTARY,…}, CONFIG_PREEMPT_DYNAMIC, CONFIG_PREEMPT_RCU
 *                                      → recorded; the model's scheduler preempts only in user
 *                                         mode (voluntary), which is what PREEMPT_DYNAMIC boots
 *                                         into when PREEMPT_VOLUNTARY is the default
 */
import { MmulabError, ParameterError } from "../sim/errors.js";
import { PROFILES, type ProfileName, type ResolveOptions } from "./profiles.js";

export interface KernelConfig {
  /** "6.1.192" from the header, null when the header is missing. */
  readonly version: string | null;
  /** CONFIG_FOO → "y", "m", "250", "\"text\"" (as written); unset options are absent. */
  readonly options: ReadonlyMap<string, string>;
}

/** Parses a Kconfig .config: `CONFIG_X=value` lines and the version header. */
export function parseKconfig(text: string): KernelConfig {
  if (typeof text !== "string")
    throw new ParameterError("text", typeof text, "the text of a kernel .config", "parseKconfig");
  const options = new Map<string, string>();
  let version: string | null = null;
  for (const line of text.split("\n")) {
    const h = /^# Linux\/\S+ (\d+\.\d+(?:\.\d+)?)\S* Kernel Configuration/.exec(line);
    if (h) version = h[1]!;
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) options.set(m[1]!, m[2]!);
  }
  return { version, options };
}

export class KernelConfigError extends MmulabError {}

/** Version profiles by the first release they describe (the next one's start ends each). */
const PROFILE_FROM: readonly {
  readonly from: readonly [number, number];
  readonly profile: ProfileName;
}[] = [
  { from: [4, 13], profile: "v4.13" },
  { from: [4, 14], profile: "v4.14" },
  { from: [4, 19], profile: "v4.19" },
  { from: [4, 20], profile: "v5.10" },
  { from: [5, 13], profile: "v6.1" },
  { from: [6, 15], profile: "v6.15" },
];

export type PreemptModel = "none" | "voluntary" | "full" | "rt";

export interface ConfigProfile {
  readonly version: string;
  readonly profile: ProfileName;
  /** True when the profile is the version's own, false when the nearest older one. */
  readonly exact: boolean;
  readonly resolve: ResolveOptions;
  readonly hz: number;
  readonly preempt: PreemptModel;
  readonly preemptDynamic: boolean;
  readonly preemptRcu: boolean;
  /** MMU_GATHER_RCU_TABLE_FREE (HAVE_RCU_TABLE_FREE before v5.6) as built. */
  readonly rcuTableFreeBuilt: boolean;
  /** What that means on native hardware (no paravirt flush backend). */
  readonly tableFreeNative: string;
}

function isSet(cfg: KernelConfig, name: string): boolean {
  const v = cfg.options.get(name);
  return v === "y" || v === "m";
}

function versionOf(v: string): [number, number] {
  const [a, b] = v.split(".").map(Number);
  return [a!, b!];
}

/**
 * The model's profile for a kernel built with `cfg`. Throws a KernelConfigError when the file
 * has no version header, the version is older than every profile, or the table-freeing option
 * disagrees with what the chosen profile says that version selects.
 */
export function profileFromConfig(cfg: KernelConfig): ConfigProfile {
  if (cfg.version === null)
    throw new KernelConfigError(
      'kernel config: no "# Linux/x86 <version> Kernel Configuration" header; is this a /boot/config-* file?',
    );
  const [maj, min] = versionOf(cfg.version);
  let chosen: (typeof PROFILE_FROM)[number] | null = null;
  for (const p of PROFILE_FROM)
    if (maj > p.from[0] || (maj === p.from[0] && min >= p.from[1])) chosen = p;
  if (chosen === null)
    throw new KernelConfigError(
      `kernel config: version ${cfg.version} is older than every profile (the oldest is v4.13)`,
    );
  const profile = PROFILES[chosen.profile];
  const paravirt = isSet(cfg, "CONFIG_PARAVIRT");
  const rcuTableFreeBuilt =
    isSet(cfg, "CONFIG_MMU_GATHER_RCU_TABLE_FREE") || isSet(cfg, "CONFIG_HAVE_RCU_TABLE_FREE");
  const expected =
    profile.rcuTableFree === "always" || (profile.rcuTableFree === "if-paravirt" && paravirt);
  if (expected !== rcuTableFreeBuilt)
    throw new KernelConfigError(
      `kernel config: ${cfg.version} has MMU_GATHER_RCU_TABLE_FREE ${rcuTableFreeBuilt ? "set" : "unset"}, ` +
        `but profile ${profile.name} selects it ${profile.rcuTableFree} (PARAVIRT ${paravirt ? "set" : "unset"})`,
    );
  const hz = Number(cfg.options.get("CONFIG_HZ") ?? "250");
  const preempt: PreemptModel = isSet(cfg, "CONFIG_PREEMPT_RT")
    ? "rt"
    : isSet(cfg, "CONFIG_PREEMPT")
      ? "full"
      : isSet(cfg, "CONFIG_PREEMPT_VOLUNTARY")
        ? "voluntary"
        : "none";
  const tableFreeNative = !rcuTableFreeBuilt
    ? "tlb_remove_page (no RCU table freeing built in)"
    : profile.x86.tableFreeVia === "paravirt"
      ? "tlb_remove_page: pv_ops.mmu.tlb_remove_table is tlb_remove_page unless a hypervisor's PV flush installs tlb_remove_table"
      : "tlb_remove_table (RCU)";
  return {
    version: cfg.version,
    profile: profile.name,
    exact: profile.name === `v${maj}.${min}`,
    resolve: { paravirt },
    hz,
    preempt,
    preemptDynamic: isSet(cfg, "CONFIG_PREEMPT_DYNAMIC"),
    preemptRcu: isSet(cfg, "CONFIG_PREEMPT_RCU"),
    rcuTableFreeBuilt,
    tableFreeNative,
  };
}
