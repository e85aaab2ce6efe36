// The seam between the memory subsystem and the MMU: loading an address space and carrying out
// the invalidations a page-table change reports (kernel/mm/page_table.h, TlbFlush).
#pragma once

#include "kernel/lib/types.h"
#include "kernel/mm/page_table.h"

namespace exo::arch {

// Turns on what the kernel's page tables rely on: global pages (CR4.PGE) and, when the CPU has
// them, PCIDs (CR4.PCIDE), SMEP and SMAP. Call on each CPU after its first load_address_space.
struct MmuFeatures {
  bool pcid;
  bool invpcid;
  bool smep;
  bool smap;
};
MmuFeatures enable_mmu_features();

// Whether the CPU can map 1 GiB pages: CPUID 80000001H:EDX.Page1GB[bit 26] (SDM vol. 3, 4.1.4).
// Any CPU, any time.
bool has_1gib_pages();

// Makes `root` (a PML4's physical address) the current address space with PCID `pcid`
// (0 when PCIDs are off). Flushes the TLB entries of that PCID.
void load_address_space(uint64_t root, uint16_t pcid = 0);

// The PML4 physical address the calling CPU has loaded.
uint64_t current_address_space_root();

// Carries out `flush` on this CPU: INVLPG per listed page or a full flush (with global entries
// if flush.global()). Other CPUs are the caller's business (TLB shootdown).
void apply_tlb_flush(const mm::TlbFlush& flush);

}  // namespace exo::arch
