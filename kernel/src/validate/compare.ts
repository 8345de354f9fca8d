/**
 * Kernel against model, counter by counter, each mapped to what it means on both sides
 * (docs/model.md, "Validation against a real kernel"):
 *
 *   remote flushes received   /proc/interrupts "TLB shootdowns" (irq_tlb_count, counted in
 *                             flush_tlb_func on every CPU but the initiator)  ↔  X86Mmu
 *                             irqTlbCount, counted at the same point
 *   function-call IPIs        "Function call interrupts" (irq_call_count: CALL_FUNCTION and
 *                             CALL_FUNCTION_SINGLE vectors)  ↔  the CPUs' CALL_FUNCTION* irqs
 *   tlb:tlb_flush events      the tracepoint by reason (0 task switch, 1 remote shootdown,
 *                             3 local mm shootdown, 4 remote IPI send) and full (pages −1) or
 *                             ranged  ↔  X86Mmu.trace_tlb_flush at the same call sites
 *   page-table pages freed    ___pte/pmd/pud_free_tlb calls, by the path in their stack trace
 *                             ↔  pXd_free_tlb calls, by the system call the model was in
 *   flushes that freed tables flush_tlb_mm_range calls and those with freed_tables set (a kprobe
 *                             on its fifth argument)  ↔  X86Mmu's count of the same calls
 *
 * Each workload names the counters its acceptance rests on (`checks`) with a tolerance; the
 * rest are shown for what they say, unchecked.
 */
import type { ModelCounts, TableFrees, ValidationWorkload } from "../workloads/validation.js";
import type { KernelWorkloadResult } from "./guest.js";

export type Tolerance =
  { readonly kind: "relative"; readonly within: number } | { readonly kind: "exact" };

export interface ComparisonRow {
  readonly metric: string;
  readonly kernel: number | null;
  readonly model: number | null;
  /** model / kernel; 1 when both are 0; null when only the kernel's is 0 or either is absent. */
  readonly ratio: number | null;
  readonly tolerance: Tolerance | null;
  /** null: not checked. */
  readonly ok: boolean | null;
}

const TEN_PERCENT: Tolerance = { kind: "relative", within: 0.1 };
const EXACT: Tolerance = { kind: "exact" };

function sum(a: readonly number[]): number {
  return a.reduce((x, y) => x + y, 0);
}

/** Events of one tlb:tlb_flush reason, all CPUs: [ranged, full]. */
function events(ev: readonly (readonly (readonly number[])[])[], reason: number): [number, number] {
  let ranged = 0;
  let full = 0;
  for (const cpu of ev) {
    ranged += cpu[reason]![0]!;
    full += cpu[reason]![1]!;
  }
  return [ranged, full];
}

function levelTotal(f: TableFrees, path: keyof TableFrees["pte"]): number {
  return f.pte[path] + f.pmd[path] + f.pud[path] + f.p4d[path];
}

export function ratioOf(kernel: number | null, model: number | null): number | null {
  if (kernel === null || model === null) return null;
  if (kernel === 0) return model === 0 ? 1 : null;
  return model / kernel;
}

export function withinTolerance(kernel: number, model: number, t: Tolerance): boolean {
  if (t.kind === "exact") return kernel === model;
  if (kernel === 0) return model === 0;
  return Math.abs(model / kernel - 1) <= t.within + 1e-12;
}

function row(
  metric: string,
  kernel: number | null,
  model: number | null,
  tolerance: Tolerance | null = null,
): ComparisonRow {
  const ok =
    tolerance === null || kernel === null || model === null
      ? null
      : withinTolerance(kernel, model, tolerance);
  return { metric, kernel, model, ratio: ratioOf(kernel, model), tolerance, ok };
}

/** Which counters each workload's agreement is judged on. */
const CHECKED: Record<
  ValidationWorkload,
  {
    received: boolean;
    tables: "munmap" | "exit" | "shift" | null;
    /** flush_tlb_mm_range calls asked with freed_tables, exactly. */
    freedFlushes: boolean;
  }
> = {
  tlb_flush2: { received: true, tables: null, freedFlushes: false },
  "tlb_flush2-reuse": { received: true, tables: null, freedFlushes: false },
  "mmap-munmap": { received: true, tables: "munmap", freedFlushes: true },
  "mmap-munmap-2t": { received: true, tables: "munmap", freedFlushes: true },
  "munmap-large": { received: false, tables: "munmap", freedFlushes: true },
  "exit-tables": { received: false, tables: "exit", freedFlushes: false },
  "fork-exec": { received: false, tables: "shift", freedFlushes: false },
  "lazy-tlb": { received: true, tables: "munmap", freedFlushes: true },
};

/** The rows comparing one workload's kernel and model counts. */
export function compareWorkload(
  w: ValidationWorkload,
  k: KernelWorkloadResult,
  m: ModelCounts,
  opts: { readonly checkReceived?: boolean } = {},
): ComparisonRow[] {
  const per = (v: number, n: number) => v / n;
  const kn = k.iterations;
  const mn = m.iterations;
  const check = CHECKED[w];
  const rows: ComparisonRow[] = [
    row(
      "remote flushes received / iteration",
      per(sum(k.tlbShootdowns), kn),
      per(sum(m.tlbShootdowns), mn),
      check.received && (opts.checkReceived ?? true) ? TEN_PERCENT : null,
    ),
    row(
      "function-call IPIs / iteration",
      per(sum(k.callFunctionIpis), kn),
      per(sum(m.callFunctionIpis), mn),
    ),
  ];
  const kr = k.flushMmRange;
  rows.push(
    row(
      "flush_tlb_mm_range calls / iteration",
      kr ? per(kr[0], kn) : null,
      per(m.flushMmRange[0], mn),
    ),
    row(
      "… asked with freed_tables / iteration",
      kr ? per(kr[1], kn) : null,
      per(m.flushMmRange[1], mn),
      check.freedFlushes && kr ? EXACT : null,
    ),
  );
  const names = [
    "task-switch flushes",
    "remote shootdowns done",
    "",
    "local flushes",
    "flush requests sent by IPI",
  ];
  for (const reason of [4, 1, 3, 0]) {
    const [kr, kf] = events(k.tlbFlushEvents, reason);
    const [mr, mf] = events(m.tlbFlushEvents, reason);
    rows.push(
      row(`${names[reason]} (tlb_flush ${reason}), ranged / iteration`, per(kr, kn), per(mr, mn)),
    );
    rows.push(
      row(`${names[reason]} (tlb_flush ${reason}), full / iteration`, per(kf, kn), per(mf, mn)),
    );
  }
  const kf = k.tableFrees;
  const mf = m.tableFrees;
  if (check.tables === "munmap" || check.tables === null)
    for (const l of ["pte", "pmd", "pud"] as const)
      rows.push(
        row(`${l} tables freed by munmap`, kf[l].munmap, mf[l].munmap, check.tables ? EXACT : null),
      );
  if (check.tables === "exit") {
    const image = (k.imageVmPteKb ?? 0) / 4;
    rows.push(
      row(
        "tables freed by exit_mmap beyond the inherited image",
        levelTotal(kf, "exit_mmap") - image,
        levelTotal(mf, "exit_mmap"),
        EXACT,
      ),
    );
    for (const l of ["pte", "pmd", "pud"] as const)
      rows.push(
        row(
          `${l} tables freed by exit_mmap (kernel: image included)`,
          kf[l].exit_mmap,
          mf[l].exit_mmap,
        ),
      );
    rows.push(row("image tables inherited from fork (VmPTE)", image, null));
  }
  if (check.tables === "shift") {
    for (const l of ["pte", "pmd", "pud"] as const)
      rows.push(
        row(
          `${l} tables freed by shift_arg_pages`,
          kf[l].shift_arg_pages,
          mf[l].shift_arg_pages,
          EXACT,
        ),
      );
    rows.push(
      row(
        "tables freed by exec_mmap (the forked copy; fork not modelled)",
        levelTotal(kf, "exec_mmap"),
        null,
      ),
    );
    rows.push(
      row("tables freed by exit_mmap (ELF image not modelled)", levelTotal(kf, "exit_mmap"), null),
    );
  }
  rows.push(row("tables freed on other paths", levelTotal(kf, "other"), levelTotal(mf, "other")));
  rows.push(
    row(
      "switches away from the workload (kthreads, idle) / iteration",
      per(sum(k.awaySwitches), kn),
      per(m.awaySwitches, mn),
    ),
  );
  rows.push(row("time away from the workload, ms, all CPUs", sum(k.awayMs), m.awayMs));
  rows.push(row("copy-on-write faults (zero page) / iteration", null, per(m.cowFaults, mn)));
  return rows;
}

/** Whether every checked row agrees. */
export function agrees(rows: readonly ComparisonRow[]): boolean {
  return rows.every((r) => r.ok !== false);
}
