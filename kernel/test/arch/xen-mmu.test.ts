/**
 * A Linux Xen PV guest's page-table hooks in a shim (arch/x86/xen-mmu.ts): exec pins the mm,
 * a table added to or freed from a pinned mm changes type in Xen and costs the shim a flush of
 * the dirty pCPUs, exit unpins everything; and a kernel build in a shim issues those flushes.
 */
import { describe, expect, it } from "vitest";
import { xenPvBackendOn } from "../../src/arch/x86/backends.js";
import { PGT_l1_page_table, PGT_writable_page } from "../../src/hw/xen-pv-mm.js";
import { handle_mm_fault } from "../../src/mm/memory.js";
import { do_execve, mmput, sys_mmap, sys_munmap } from "../../src/mm/mmap.js";
import { runKernbench } from "../../src/experiments/kernbench.js";
import { makeKernel, runOn } from "../support/kernel.js";

const GB = 2 ** 30;

describe("Xen PV page-table hooks in a shim", () => {
  it("exec pins, a new and a freed table flush the dirty pCPUs, exit unpins", () => {
    const t = makeKernel({ nrCpus: 4, backend: xenPvBackendOn("shim-ipi") });
    const xen = t.x86.xenPv!;
    expect(xen).not.toBeNull();
    const mm = runOn(t, 0, do_execve(t.k, t.m.cpu(0), null, { stackShift: 0 }));
    expect(xen.isPinned(mm)).toBe(true);
    const pinned = { ...xen.stats };
    // the stack's tables changed type: pte → L1 (pinned), pmd/pud → L2/L3, pgd → L4
    expect(pinned.typeChanges).toBe(4);
    // a region far from the stack needs a new pud, pmd and pte table: each one changes type
    // and, every dirty pCPU's TLB being older than the frame's stamp, flushes them
    const addr = 64 * GB;
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr, length: 4096, name: "buf" }));
    const shimBefore = xen.stats.flushes;
    runOn(t, 0, handle_mm_fault(t.k, t.m.cpu(0), mm, addr));
    expect(xen.stats.typeChanges).toBe(pinned.typeChanges + 3);
    expect(xen.stats.flushes).toBe(shimBefore + 3);
    expect(xen.stats.flushedCpus - pinned.flushedCpus).toBe(3 * 4);
    // munmap frees them: back to writable, each one a FLUSH_NO_ASSIST flush
    runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), mm, addr, 4096));
    expect(xen.stats.noAssistFlushes).toBeGreaterThanOrEqual(1);
    const noAssist = xen.stats.noAssistFlushes;
    // exit: unpinned, every table frame writable again with its one direct-map reference
    const tables: number[] = [];
    for (let i = 0; i < 512; i++) {
      const e = t.k.pt.entry(mm.pgd, i);
      if (e > 0) tables.push(e - 1);
    }
    mm.mm_users = 1;
    runOn(t, 0, mmput(t.k, t.m.cpu(0), mm));
    expect(xen.isPinned(mm)).toBe(false);
    expect(xen.stats.noAssistFlushes).toBeGreaterThan(noAssist);
    expect(xen.domain.typeOf(mm.pgd)).toEqual({ type: PGT_writable_page, count: 1 });
    for (const pfn of tables)
      expect(xen.domain.typeOf(pfn)).toEqual({ type: PGT_writable_page, count: 1 });
    expect(xen.hypercalls).toBeGreaterThan(0);
    // the model before the page types: a shim that only carries the guest's MMUEXT flushes
    const old = makeKernel({
      nrCpus: 2,
      backend: xenPvBackendOn("shim-ipi", { pageTypes: false }),
    });
    expect(old.x86.xenPv).toBeNull();
    expect(old.k.arch!.activate_mm).toBeUndefined();
  });

  it("a guest CR3 switch (MMUEXT_NEW_BASEPTR → switch_cr3_cr4) ticks Xen's TLB clock on that pCPU", () => {
    const t = makeKernel({ nrCpus: 4, backend: xenPvBackendOn("shim-ipi") });
    const dom = t.x86.xenPv!.domain;
    const mm = runOn(t, 0, do_execve(t.k, t.m.cpu(0), null, { stackShift: 0 }));
    expect(dom.tlbflushTimeOf(2)).toBeLessThan(dom.tlbflushClock);
    t.x86.switch_mm(t.m.cpu(2), mm);
    expect(dom.tlbflushTimeOf(2)).toBe(dom.tlbflushClock);
    // so a frame stamped before the switch no longer needs cpu2 flushed
    expect(dom.NEED_FLUSH(dom.tlbflushTimeOf(2), dom.tlbflushClock - 1)).toBe(false);
  });

  it("an L1 table added to a pinned mm holds two type references: its pin and its pmd entry", () => {
    const t = makeKernel({ nrCpus: 2, backend: xenPvBackendOn("shim-assisted") });
    const xen = t.x86.xenPv!;
    // the assisted shim turns Xen's TLB clock off (hypervisor_setup)
    expect(xen.domain.tlbClkEnabled).toBe(false);
    const mm = runOn(t, 0, do_execve(t.k, t.m.cpu(0), null, { stackShift: 0 }));
    const addr = 64 * GB;
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr, length: 4096, name: "buf" }));
    runOn(t, 0, handle_mm_fault(t.k, t.m.cpu(0), mm, addr));
    let pte = mm.pgd;
    for (const shift of [39, 30, 21])
      pte = t.k.pt.entry(pte, Math.floor(addr / 2 ** shift) % 512) - 1;
    // the pin and the pmd entry that links it
    expect(xen.domain.typeOf(pte)).toEqual({ type: PGT_l1_page_table, count: 2 });
  });
});

describe("a process exec'd before the run (a microworkload's)", () => {
  it("starts pinned, so its first table already changes type and flushes", () => {
    const t = makeKernel({ nrCpus: 3, backend: xenPvBackendOn("shim-ipi") });
    const xen = t.x86.xenPv!;
    const mm = t.k.mm_alloc();
    xen.pinned_before_run(mm);
    expect(xen.isPinned(mm)).toBe(true);
    expect(() => xen.pinned_before_run(mm)).toThrow(/not yet pinned/);
    const flushes = xen.stats.flushes;
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr: 64 * GB, length: 4096, name: "buf" }));
    runOn(t, 0, handle_mm_fault(t.k, t.m.cpu(0), mm, 64 * GB));
    // pud, pmd and pte: three type changes, each flushing the three dirty pCPUs
    expect(xen.stats.flushes - flushes).toBe(3);
  });
});

describe("a kernel build in a Xen PV guest in a shim", () => {
  const run = (backendOptions: Record<string, unknown>) =>
    runKernbench({
      host: "cpus=4,hypervisor=xen",
      backend: "xen-pv",
      vcpus: 4,
      otherVcpus: 4,
      jobs: 16,
      kernel: "rcu",
      seed: 1,
      scale: 0.004,
      backendOptions,
    });

  it("issues type-change flushes through the shim, by IPI for freed tables unless before 5b718d24e8", () => {
    const ipi = run({ xenPvHost: "shim-ipi" });
    const m = ipi.mechanism;
    // single-threaded processes: Linux itself sends no remote flush
    expect(m.remoteFlushes).toBe(0);
    expect(m.xenTypeChangeFlushes!).toBeGreaterThan(100);
    expect(m.xenNoAssistFlushes!).toBeGreaterThan(0);
    expect(m.shimFlushes!).toBeGreaterThan(0);
    expect(m.framesInUse).toBe(0);
    const pre = run({ xenPvHost: "shim-assisted", xenNoAssistPageTables: false });
    expect(pre.mechanism.xenNoAssistFlushes).toBe(0);
    // the assisted flush never waits for a descheduled vCPU
    expect(pre.mechanism.shimWaitedForDescheduled).toBe(0);
    // without the clock every type change flushes: at least as many as with it
    expect(pre.mechanism.xenTypeChangeFlushes!).toBeGreaterThanOrEqual(m.xenTypeChangeFlushes!);
    // bare-metal Xen: the type system is not followed there (docs/model.md)
    const bare = run({ xenPvHost: "xen" });
    expect(bare.mechanism.xenTypeChangeFlushes).toBeUndefined();
  });
});
