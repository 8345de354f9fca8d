/*
 * mmu_race.pml: the gup_fast / munmap page-table race of mmulab's race matrix, in Promela.
 *
 * An independent model of the scenarios that kernel/src/explore explores on the simulator's own
 * kernel paths: CPU 0 munmaps a small populated buffer (zap the ptes, free_pgtables, then
 * tlb_finish_mmu: flush, free) while CPU 1 walks the buffer with __get_user_pages_fast, IRQs off,
 * and may be held (VM exit, or descheduled by the host) at any point. The property: the walker
 * never reads through a pointer to a page table that has been freed (assert in `walker`).
 *
 * Kernel behaviour modelled (reference/kernel.md §1–3; mmulab's mm/mmu-gather.ts,
 * arch/x86/tlb.ts, backends.ts):
 *   - free_pgtables unlinks each table from its parent entry before it queues it (pte, pmd, pud);
 *   - without RCU table freeing a table goes through tlb_remove_page: freed with the data pages in
 *     tlb_flush_mmu_free, after the TLB flush;
 *   - with it, tlb_remove_table: the v4.14–v4.18 mm_users < 2 shortcut frees at once; otherwise
 *     the table batch page is allocated (the first allocation may fail: tlb_remove_table_one,
 *     an IPI to every other CPU waited for, or PT_RECLAIM's call_rcu; v4.19+ flush first) and the
 *     batch goes to RCU in tlb_table_flush — at the end of tlb_flush_mmu_tlbonly (v4.14) or in
 *     tlb_flush_mmu_free (v4.19+, after tlb_table_invalidate's flush);
 *   - the remote flush either sends an IPI and waits for it (native; KVM PV for a running vCPU;
 *     INVLPGB for an mm without a global ASID, which one on at most 3 CPUs never gets) — a CPU
 *     with IRQs off or stalled takes it only later — or does not involve the target at all
 *     (Xen PV, Hyper-V, v6.15's INVLPGB broadcast for an mm with a global ASID; KVM PV for a
 *     vCPU whose steal time says preempted);
 *   - RCU: a callback runs only after each CPU passed a quiescent state after its call_rcu; CPU 1
 *     passes none with IRQs off or while stalled, and RCU-sched counts no kernel code either;
 *   - with HW: each CPU's paging-structure caches (PML4E, PDPTE, PDE: cached pointers to the pud,
 *     pmd and pte table) and its page walker, which at any moment while the CPU executes with the
 *     mm in CR3 walks towards the buffer from its deepest cached pointer (Intel SDM vol. 3A
 *     §4.10.3.2: the entries above it are not re-read), caching every present entry it reads.
 *     A TLB flush drops all of a CPU's cached pointers (INVLPG drops every PSC entry of the PCID,
 *     §4.10.4.1): locally in flush_tlb_mm_range, on CPU 1 when it handles the flush IPI, at once
 *     for a hypercall or INVLPGB flush, at the next entry for a preempted KVM vCPU. The IPI of
 *     tlb_remove_table_one flushes nothing (tlb_remove_table_smp_sync is empty).
 *
 * Parameters (0/1 unless stated), derived per race-matrix cell from resolveProfile by
 * kernel/src/explore/promela.ts and passed with -D (or, with -DPARAMS_FROM_ENV, read from the
 * environment by one compiled verifier, which is how the test suite checks every cell):
 *   NPAGES                 pages in the buffer, 1 … 8
 *   TABLE_VIA_RCU          ___pXd_free_tlb calls tlb_remove_table (HAVE_RCU_TABLE_FREE in use)
 *   MM_USERS_SHORTCUT      tlb_remove_table frees at once when mm_users < 2 (v4.14–v4.18)
 *   MM_USERS               mm_users (1 in use-mm-walker, the number of threads otherwise)
 *   TABLE_INVALIDATE       tlb_table_invalidate flushes before tables go (v4.19+)
 *   TABLE_FLUSH_IN_FREE    tlb_table_flush runs in tlb_flush_mmu_free (v4.19+), not tlbonly
 *   PT_RECLAIM             tlb_remove_table_one frees through call_rcu (v6.14+)
 *   FLUSH_WAITS_IRQOFF     the remote flush waits for a target with IRQs off
 *   FLUSH_SKIPS_PREEMPTED  ... except a vCPU the host has descheduled (KVM PV)
 *   RCU_SCHED              RCU-sched: kernel code is a read-side critical section
 *   USE_MM                 the walker is a kernel thread that joins mm_cpumask with use_mm
 *   STALLS                 how many times CPU 1 may be held, 0 … 3
 *   STALL_PREEMPTS         a hold is the host descheduling the vCPU (steal time records it)
 *   ALLOC_FAIL             the first table-batch page allocation fails
 *   HW                     the CPUs' page walkers and paging-structure caches (above)
 *
 * Check one cell by hand. The defaults are v4.13 with Xen PV, walker-vs-munmap ("assertion
 * violated"); add -DFLUSH_WAITS_IRQOFF=1 for native IPIs ("errors: 0"):
 *   spin -a mmu_race.pml && gcc -DSAFETY -o pan pan.c && ./pan
 */

#ifndef NPAGES
#define NPAGES 2
#endif
#ifndef TABLE_VIA_RCU
#define TABLE_VIA_RCU 0
#endif
#ifndef MM_USERS_SHORTCUT
#define MM_USERS_SHORTCUT 0
#endif
#ifndef MM_USERS
#define MM_USERS 2
#endif
#ifndef TABLE_INVALIDATE
#define TABLE_INVALIDATE 0
#endif
#ifndef TABLE_FLUSH_IN_FREE
#define TABLE_FLUSH_IN_FREE 0
#endif
#ifndef PT_RECLAIM
#define PT_RECLAIM 0
#endif
#ifndef FLUSH_WAITS_IRQOFF
#define FLUSH_WAITS_IRQOFF 0
#endif
#ifndef FLUSH_SKIPS_PREEMPTED
#define FLUSH_SKIPS_PREEMPTED 0
#endif
#ifndef RCU_SCHED
#define RCU_SCHED 1
#endif
#ifndef USE_MM
#define USE_MM 0
#endif
#ifndef STALLS
#define STALLS 1
#endif
#ifndef STALL_PREEMPTS
#define STALL_PREEMPTS 0
#endif
#ifndef ALLOC_FAIL
#define ALLOC_FAIL 0
#endif
#ifndef HW
#define HW 0
#endif

#define MAXPAGES 8

/* page-table frame states */
#define FREED    0
#define LIVE     1
#define UNLINKED 2
#define PENDING  3

/* the three tables under the buffer, and the parent entry pointing at each */
#define PUD 0
#define PMD 1
#define PTE 2

/* ---------------------------------------------------------------- parameters */
byte npages;
bool table_via_rcu;
bool mm_users_shortcut;
byte mm_users;
bool table_invalidate;
bool table_flush_in_free;
bool pt_reclaim;
bool flush_waits_irqoff;
bool flush_skips_preempted;
bool rcu_sched;
bool use_mm;
byte stalls_left;
bool stall_preempts;
bool hw;

/* ---------------------------------------------------------------- memory */
byte tbl[3];                 /* state of the pud, pmd and pte table */
bool link[3];                /* pgd→pud, pud→pmd, pmd→pte entries */
bool pte[MAXPAGES];          /* pte i maps data page i */
bool page_freed[MAXPAGES];

/* ---------------------------------------------------------------- CPU 0's mmu_gather */
bool range;                  /* tlb->end != 0: a flush is owed */
bool gathered[3];            /* tables queued by tlb_remove_page */
bool have_batch;             /* tlb->batch != NULL */
bool in_batch[3];
bool fail_next;              /* the next table-batch allocation fails */
bool f_atomic;               /* CPU 0 in flush_tlb_mm_range (preemption off) */
bool f_done;

/* ---------------------------------------------------------------- CPU 1, the walker's */
bool w_irqoff;
bool w_stalled;
bool w_preempted;            /* KVM steal_time.preempted */
bool w_in_mask;              /* in mm_cpumask */
bool w_done;
bool ipi_pending;            /* a cross-call from CPU 0 not yet handled */
bool ipi_flush;              /* ... and it is a TLB flush (flush_tlb_func), not an empty one */
bool flush_on_entry;         /* KVM_VCPU_FLUSH_TLB: the host flushes CPU 1 when it runs it again */

/* ---------------------------------------------------------------- paging-structure caches (HW) */
bool pml4e[2];               /* CPU c caches the pgd entry: a pointer to the pud table */
bool pdpte[2];               /* ... the pud entry: a pointer to the pmd table */
bool pde[2];                 /* ... the pmd entry: a pointer to the pte table */

/* ---------------------------------------------------------------- RCU callbacks */
#define MAXCB 3
typedef Callback {
  bool tables[3];
  bool needs_w;              /* CPU 1 has not passed a quiescent state since call_rcu */
  bool needs_f;              /* CPU 0 has not */
  bool queued
};
Callback cb[MAXCB];
byte ncb;

#ifdef PARAMS_FROM_ENV
c_decl {
  \#include <stdlib.h>
  static int envint(const char *name, int dflt) {
    const char *v = getenv(name);
    return v ? atoi(v) : dflt;
  }
}
#endif

/* call_rcu(tlb_remove_table_rcu / __tlb_remove_table_one_rcu) for the tables marked in `batch` */
inline call_rcu_tables(t0, t1, t2) {
  atomic {
    cb[ncb].tables[PUD] = t0;
    cb[ncb].tables[PMD] = t1;
    cb[ncb].tables[PTE] = t2;
    cb[ncb].needs_w = true;
    cb[ncb].needs_f = true;
    cb[ncb].queued = true;
    ncb++
  }
}

/* a TLB flush on CPU c: every paging-structure-cache entry of the mm's PCID goes */
inline hw_flush(c) {
  pml4e[c] = false; pdpte[c] = false; pde[c] = false
}

/* flush_tlb_others for mm_cpumask minus CPU 0 */
inline flush_tlb_others() {
  atomic {
    if
    :: w_in_mask && flush_waits_irqoff && !(flush_skips_preempted && w_preempted) ->
       ipi_pending = true; ipi_flush = true
    :: w_in_mask && flush_skips_preempted && w_preempted -> flush_on_entry = true
    :: w_in_mask && !flush_waits_irqoff -> hw_flush(1)    /* hypercall, INVLPGB broadcast */
    :: else -> skip
    fi
  };
  (!ipi_pending)             /* csd_lock_wait */
}

/* tlb_flush_mmu_tlbonly's flush (tlb_flush → flush_tlb_mm_range), when a range is owed */
inline flush_range() {
  if
  :: range ->
     atomic { f_atomic = true; hw_flush(0) };   /* the local flush */
     flush_tlb_others();
     atomic { f_atomic = false; range = false }
  :: else -> skip
  fi
}

/* tlb_table_flush: the batch goes to RCU (v4.19+: after tlb_table_invalidate) */
inline table_flush() {
  if
  :: have_batch ->
     if
     :: table_invalidate -> flush_range()
     :: else -> skip
     fi;
     atomic {
       if :: in_batch[PUD] -> tbl[PUD] = PENDING :: else -> skip fi;
       if :: in_batch[PMD] -> tbl[PMD] = PENDING :: else -> skip fi;
       if :: in_batch[PTE] -> tbl[PTE] = PENDING :: else -> skip fi
     };
     call_rcu_tables(in_batch[PUD], in_batch[PMD], in_batch[PTE]);
     atomic { in_batch[PUD] = false; in_batch[PMD] = false; in_batch[PTE] = false; have_batch = false }
  :: else -> skip
  fi
}

/* tlb_flush_mmu_tlbonly (v4.14 hands the batch over here, after the flush) */
inline tlbonly() {
  if
  :: range ->
     flush_range();
     if
     :: table_via_rcu && !table_flush_in_free -> table_flush()
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* tlb_flush_mmu_free (v4.19+ hands the batch over here); frees the gathered pages */
inline flush_free() {
  if
  :: table_via_rcu && table_flush_in_free -> table_flush()
  :: else -> skip
  fi;
  d_step {
    i = 0;
    do
    :: i < npages -> page_freed[i] = true; i++
    :: else -> break
    od;
    if :: gathered[PUD] -> tbl[PUD] = FREED :: else -> skip fi;
    if :: gathered[PMD] -> tbl[PMD] = FREED :: else -> skip fi;
    if :: gathered[PTE] -> tbl[PTE] = FREED :: else -> skip fi
  }
}

/* tlb_remove_table_one: IPI to every other online CPU, waited for, then free (v6.14+ PT_RECLAIM:
 * call_rcu instead) */
inline remove_table_one(t) {
  if
  :: pt_reclaim ->
     tbl[t] = PENDING;
     call_rcu_tables(t == PUD, t == PMD, t == PTE)
  :: else ->
     ipi_pending = true;
     (!ipi_pending);
     tbl[t] = FREED
  fi
}

/* pXd_free_tlb after the unlink: widen the range, then ___pXd_free_tlb */
inline free_table_tlb(t) {
  range = true;
  if
  :: !table_via_rcu -> gathered[t] = true                              /* tlb_remove_page */
  :: table_via_rcu && mm_users_shortcut && mm_users < 2 -> tbl[t] = FREED
  :: table_via_rcu && !(mm_users_shortcut && mm_users < 2) ->          /* tlb_remove_table */
     if
     :: !have_batch && fail_next ->
        fail_next = false;
        if
        :: table_invalidate -> flush_range()
        :: else -> skip
        fi;
        remove_table_one(t)
     :: !have_batch && !fail_next -> atomic { have_batch = true; in_batch[t] = true }
     :: have_batch -> in_batch[t] = true
     fi
  fi
}

proctype freer() {
  byte i;
  /* zap_pte_range: clear every pte, queue the pages (one step, as in the simulator) */
  d_step {
    i = 0;
    do
    :: i < npages -> pte[i] = false; i++
    :: else -> break
    od;
    i = 0;
    range = true
  };
  /* free_pgtables: unlink, then queue — pte table, pmd, pud */
  atomic { link[PTE] = false; tbl[PTE] = UNLINKED };
  free_table_tlb(PTE);
  atomic { link[PMD] = false; tbl[PMD] = UNLINKED };
  free_table_tlb(PMD);
  atomic { link[PUD] = false; tbl[PUD] = UNLINKED };
  free_table_tlb(PUD);
  /* tlb_finish_mmu → tlb_flush_mmu */
  tlbonly();
  flush_free();
  f_done = true
}

/* __get_user_pages_fast: IRQs off, pgd → pud → pmd → pte entries, pin, re-check */
proctype walker() {
  byte i;
  bool ok;
  if
  :: use_mm -> atomic { !w_stalled -> w_in_mask = true }
  :: else -> skip
  fi;
  atomic { !w_stalled -> w_irqoff = true };
  atomic { !w_stalled -> ok = link[PUD] };
  if :: !ok -> goto out :: else -> skip fi;
  atomic { !w_stalled -> assert(tbl[PUD] != FREED); ok = link[PMD] };
  if :: !ok -> goto out :: else -> skip fi;
  atomic { !w_stalled -> assert(tbl[PMD] != FREED); ok = link[PTE] };
  if :: !ok -> goto out :: else -> skip fi;
  i = 0;
  do
  :: i < npages ->
     atomic { !w_stalled -> assert(tbl[PTE] != FREED); ok = pte[i] };
     if :: !ok -> goto out :: else -> skip fi;
     /* pin (a freed page fails harmlessly), then re-read the pte */
     atomic {
       !w_stalled ->
       ok = !page_freed[i];
       if
       :: ok -> assert(tbl[PTE] != FREED); ok = pte[i]
       :: else -> skip
       fi
     };
     if :: !ok -> goto out :: else -> skip fi;
     i++
  :: else -> break
  od;
out:
  /* local_irq_restore takes the pending cross-call inline; the task ends, CPU 1 idles */
  atomic {
    !w_stalled ->
    w_irqoff = false;
    if :: ipi_pending && ipi_flush -> hw_flush(1) :: else -> skip fi;
    ipi_pending = false;
    ipi_flush = false;
    w_done = true;
    i = 0;
    ok = false
  }
}

/* CPU 1 takes a pending cross-call when IRQs are on and it runs */
proctype cpu1_irq() {
end:
  do
  :: atomic {
       ipi_pending && !w_irqoff && !w_stalled ->
       if :: ipi_flush -> hw_flush(1) :: else -> skip fi;
       ipi_pending = false;
       ipi_flush = false
     }
  od
}

/*
 * The page walker of CPU c (HW): one walk towards the buffer, as one step. It starts from the
 * deepest cached pointer, else from CR3 (the pgd), reads the table each pointer leads to —
 * asserting it is not freed — and caches each present entry it reads on the way down.
 * CPU 0 walks while it runs the munmap; CPU 1 while the mm is in its CR3 and it executes — its
 * thread running (not held by the host), or the IPI it is taking (an over-approximation: the
 * simulator's idle CPU 1 walks from the interrupt's delivery on, not while it is only pending).
 */
#define CPU_WALKS(c) (c == 0 -> !f_done : (w_in_mask && !w_stalled && (!w_done || ipi_pending)))

inline hw_walk(c) {
  atomic {
    hw && CPU_WALKS(c) ->
    if
    :: pde[c] -> assert(tbl[PTE] != FREED)
    :: !pde[c] && pdpte[c] ->
       assert(tbl[PMD] != FREED);
       if :: link[PTE] -> pde[c] = true; assert(tbl[PTE] != FREED) :: else -> skip fi
    :: !pde[c] && !pdpte[c] && pml4e[c] ->
       assert(tbl[PUD] != FREED);
       if
       :: link[PMD] ->
          pdpte[c] = true; assert(tbl[PMD] != FREED);
          if :: link[PTE] -> pde[c] = true; assert(tbl[PTE] != FREED) :: else -> skip fi
       :: else -> skip
       fi
    :: !pde[c] && !pdpte[c] && !pml4e[c] ->
       if
       :: link[PUD] ->
          pml4e[c] = true; assert(tbl[PUD] != FREED);
          if
          :: link[PMD] ->
             pdpte[c] = true; assert(tbl[PMD] != FREED);
             if :: link[PTE] -> pde[c] = true; assert(tbl[PTE] != FREED) :: else -> skip fi
          :: else -> skip
          fi
       :: else -> skip
       fi
    fi
  }
}

proctype page_walkers() {
end:
  do
  :: hw_walk(0)
  :: hw_walk(1)
  od
}

/* the host: holds CPU 1 (VM exit, or deschedules the vCPU) and lets it go again */
proctype host() {
end:
  do
  :: atomic {
       stalls_left > 0 && !w_stalled && !w_done ->
       stalls_left--;
       w_stalled = true;
       w_preempted = stall_preempts
     }
  :: atomic {
       w_stalled ->
       w_stalled = false;
       w_preempted = false;
       /* record_steal_time: a vCPU marked KVM_VCPU_FLUSH_TLB is flushed as it enters */
       if :: flush_on_entry -> hw_flush(1); flush_on_entry = false :: else -> skip fi
     }
  od
}

/* quiescent states and grace periods */
#define W_QS (!w_stalled && (rcu_sched -> w_done : !w_irqoff))
#define F_QS (rcu_sched -> f_done : !f_atomic)
#define READY(k) (cb[k].queued && !cb[k].needs_w && !cb[k].needs_f)

inline invoke(k) {
  atomic {
    READY(k) ->
    if :: cb[k].tables[PUD] -> tbl[PUD] = FREED :: else -> skip fi;
    if :: cb[k].tables[PMD] -> tbl[PMD] = FREED :: else -> skip fi;
    if :: cb[k].tables[PTE] -> tbl[PTE] = FREED :: else -> skip fi;
    cb[k].queued = false
  }
}

proctype rcu() {
end:
  do
  :: atomic {
       W_QS && (cb[0].needs_w || cb[1].needs_w || cb[2].needs_w) ->
       cb[0].needs_w = false; cb[1].needs_w = false; cb[2].needs_w = false
     }
  :: atomic {
       F_QS && (cb[0].needs_f || cb[1].needs_f || cb[2].needs_f) ->
       cb[0].needs_f = false; cb[1].needs_f = false; cb[2].needs_f = false
     }
  :: invoke(0)
  :: invoke(1)
  :: invoke(2)
  od
}

init {
  byte i;
#ifdef PARAMS_FROM_ENV
  c_code {
    now.npages = envint("NPAGES", NPAGES);
    now.table_via_rcu = envint("TABLE_VIA_RCU", TABLE_VIA_RCU);
    now.mm_users_shortcut = envint("MM_USERS_SHORTCUT", MM_USERS_SHORTCUT);
    now.mm_users = envint("MM_USERS", MM_USERS);
    now.table_invalidate = envint("TABLE_INVALIDATE", TABLE_INVALIDATE);
    now.table_flush_in_free = envint("TABLE_FLUSH_IN_FREE", TABLE_FLUSH_IN_FREE);
    now.pt_reclaim = envint("PT_RECLAIM", PT_RECLAIM);
    now.flush_waits_irqoff = envint("FLUSH_WAITS_IRQOFF", FLUSH_WAITS_IRQOFF);
    now.flush_skips_preempted = envint("FLUSH_SKIPS_PREEMPTED", FLUSH_SKIPS_PREEMPTED);
    now.rcu_sched = envint("RCU_SCHED", RCU_SCHED);
    now.use_mm = envint("USE_MM", USE_MM);
    now.stalls_left = envint("STALLS", STALLS);
    now.stall_preempts = envint("STALL_PREEMPTS", STALL_PREEMPTS);
    now.fail_next = envint("ALLOC_FAIL", ALLOC_FAIL);
    now.hw = envint("HW", HW);
  };
#else
  d_step {
    npages = NPAGES;
    table_via_rcu = TABLE_VIA_RCU;
    mm_users_shortcut = MM_USERS_SHORTCUT;
    mm_users = MM_USERS;
    table_invalidate = TABLE_INVALIDATE;
    table_flush_in_free = TABLE_FLUSH_IN_FREE;
    pt_reclaim = PT_RECLAIM;
    flush_waits_irqoff = FLUSH_WAITS_IRQOFF;
    flush_skips_preempted = FLUSH_SKIPS_PREEMPTED;
    rcu_sched = RCU_SCHED;
    use_mm = USE_MM;
    stalls_left = STALLS;
    stall_preempts = STALL_PREEMPTS;
    fail_next = ALLOC_FAIL;
    hw = HW
  };
#endif
  assert(npages >= 1 && npages <= MAXPAGES);
  /* the populated buffer; every thread of the process has the mm loaded (a use_mm kthread
   * joins mm_cpumask when it calls use_mm) */
  d_step {
    tbl[PUD] = LIVE; tbl[PMD] = LIVE; tbl[PTE] = LIVE;
    link[PUD] = true; link[PMD] = true; link[PTE] = true;
    i = 0;
    do
    :: i < npages -> pte[i] = true; i++
    :: else -> break
    od;
    i = 0;
    w_in_mask = !use_mm
  };
  atomic {
    run freer();
    run walker();
    run cpu1_irq();
    run host();
    run rcu();
    if :: hw -> run page_walkers() :: else -> skip fi
  }
}
