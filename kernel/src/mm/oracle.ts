/**
 * The use-after-free oracle: every read a walker makes through a page-table pointer is checked
 * against the frame's state at that instant.
 *
 * A read is safe while the frame still holds the table the pointer was taken from: live,
 * unlinked (cleared from its parent but not yet freed) or pending RCU. It is a use-after-free
 * when the frame has been freed, or freed and reused (its allocation generation moved on). That
 * is "stepping on an already freed page" in the words of the seed patch; on real hardware it is
 * silent, so the oracle is what makes it visible. Every such read is reported with the reader,
 * the address walked, the frame's history and the trace around it; nothing is dropped.
 */
import type { FrameHistoryItem } from "../contract/mime.js";
import type { Simulation } from "../sim/simulation.js";
import type { TraceEvent } from "../sim/trace.js";
import {
  FRAME_STATE_NAMES,
  FrameState,
  type PageAllocator,
  type TableLevel,
} from "./page-alloc.js";
import type { TablePtr } from "./pgtable.js";

export interface UafReport {
  /** Simulated time of the read, ns. */
  readonly t: number;
  readonly cpu: number;
  /** The walker ("gup_fast", "hw page walk", …). */
  readonly walker: string;
  /** Virtual address being translated. */
  readonly addr: number;
  /** Level of the table the walker believed it was reading, or "page" for a pin of a data
   * page that had been freed (get_page on a freed page: the 2019 Babka race). */
  readonly level: TableLevel | "page";
  readonly pfn: number;
  /** Generation the pointer was taken at, and the frame's generation at the read. */
  readonly expectedGen: number;
  readonly actualGen: number;
  /** "freed" or "reused". */
  readonly kind: "freed" | "reused";
  /** State name of the frame at the read (free, table, data, …). */
  readonly frameState: string;
  readonly history: readonly FrameHistoryItem[];
  /** Trace events within `traceWindowNs` before the read. */
  readonly traceSlice: readonly TraceEvent[];
}

export class UafOracle {
  readonly reports: UafReport[] = [];
  /** Reads checked (a cheap count of how much walking was watched). */
  reads = 0;
  private readonly sim: Simulation;
  private readonly alloc: PageAllocator;
  /** How far back the trace slice in a report reaches, ns. */
  traceWindowNs = 50_000;

  constructor(sim: Simulation, alloc: PageAllocator) {
    this.sim = sim;
    this.alloc = alloc;
  }

  /** True if `ptr` still designates the table it was taken from. */
  valid(ptr: TablePtr): boolean {
    const st = this.alloc.stateOf(ptr.pfn);
    return (
      this.alloc.generation(ptr.pfn) === ptr.gen &&
      (st === FrameState.TABLE || st === FrameState.UNLINKED || st === FrameState.PENDING_RCU)
    );
  }

  /**
   * Checks a pin (page_cache_get_speculative / get_page_unless_zero) of the data page a pte
   * pointed to when it was read. A freed page fails the pin harmlessly in the kernel (refcount
   * zero) but is still a use of freed memory, and a reused one would be pinned by mistake: both
   * are reported. Returns true if the page is still the one the pte mapped.
   */
  checkPin(cpu: number, walker: string, ptr: TablePtr, addr: number): boolean {
    this.reads++;
    const st = this.alloc.stateOf(ptr.pfn);
    if (this.alloc.generation(ptr.pfn) === ptr.gen && st === FrameState.DATA) return true;
    this.report(cpu, walker, ptr, addr, "page");
    return false;
  }

  /**
   * Checks one read through `ptr`. Returns true if safe; otherwise records a report and returns
   * false (the caller goes on reading whatever the frame now holds, as the CPU would).
   */
  checkRead(cpu: number, walker: string, ptr: TablePtr, addr: number, level: TableLevel): boolean {
    this.reads++;
    if (this.valid(ptr)) return true;
    this.report(cpu, walker, ptr, addr, level);
    return false;
  }

  private report(
    cpu: number,
    walker: string,
    ptr: TablePtr,
    addr: number,
    level: TableLevel | "page",
  ): void {
    const actualGen = this.alloc.generation(ptr.pfn);
    const kind = actualGen === ptr.gen ? "freed" : "reused";
    const now = this.sim.now;
    const from = now - this.traceWindowNs;
    const traceSlice = this.sim.trace.enabled
      ? this.sim.trace.events.filter((e) => e.ts + (e.dur ?? 0) >= from && e.ts <= now)
      : [];
    this.alloc.note(ptr.pfn, `use-after-free read by ${walker} on cpu${cpu}`, `cpu${cpu}`);
    this.sim.trace.instant(cpu, "mmulab:use_after_free", {
      walker,
      pfn: ptr.pfn,
      level,
      addr: `0x${addr.toString(16)}`,
      kind,
    });
    this.reports.push({
      t: now,
      cpu,
      walker,
      addr,
      level,
      pfn: ptr.pfn,
      expectedGen: ptr.gen,
      actualGen,
      kind,
      frameState: FRAME_STATE_NAMES[this.alloc.stateOf(ptr.pfn)],
      history: [...this.alloc.history(ptr.pfn)],
      traceSlice,
    });
  }
}
