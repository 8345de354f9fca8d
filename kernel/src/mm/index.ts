export * from "./free-pgtables.js";
export * from "./kernel.js";
export * from "./khugepaged.js";
export * from "./memory.js";
export * from "./mm-struct.js";
export * from "./mmap.js";
export * from "./mremap.js";
export * from "./shmem.js";
// The mmu_gather API; its plain-call twins (tlb_remove_*_inline) are the free paths' fast path,
// not API.
export {
  __tlb_adjust_range,
  __tlb_remove_page_size,
  __tlb_reset_range,
  MAX_GATHER_BATCH,
  MAX_GATHER_BATCH_COUNT,
  MAX_TABLE_BATCH,
  MMU_GATHER_BUNDLE,
  MmuGather,
  tlb_finish_mmu,
  tlb_flush_mmu,
  tlb_flush_mmu_free,
  tlb_flush_mmu_tlbonly,
  tlb_gather_mmu,
  tlb_remove_page,
  tlb_remove_table,
  tlb_remove_table_one,
  tlb_remove_table_rcu,
  tlb_remove_table_sync_one,
  tlb_table_flush,
  type MmuGatherBatch,
  type MmuTableBatch,
} from "./mmu-gather.js";
export * from "./oracle.js";
export * from "./page-alloc.js";
export * from "./pgtable.js";
export * from "./ptdump.js";
export * from "./walk.js";
