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

// PCIDs for user address spaces (docs/memory.md, "PCIDs"). Each address space holds one from
// allocate_pcid() for its life (0 when PCIDs are off or all kUserPcids - 1 are taken: such a
// space is untagged and flushed on every load, as the kernel's PCID 0 is). Reuse is safe without
// any flush at free time: a space's entries are trusted only at the generation it carries.
inline constexpr uint16_t kUserPcids = 1024;
// Whether CR4.PCIDE is on (then INVLPG and CR3 reloads reach only the current PCID's non-global
// entries, SDM vol. 3, 4.10.4.1).
bool pcids_enabled();
uint16_t allocate_pcid();
void free_pcid(uint16_t pcid);
// Loads the user address space `root` with `pcid` on this CPU, interrupts off. The PCID's TLB
// entries are kept when this CPU last loaded it at the same `generation` (no invalidation since,
// the caller read `generation` after publishing that it has the space loaded), and flushed
// otherwise. A space bumps its generation (to a system-wide new value) whenever a translation
// is removed or narrowed, so every CPU that may cache old entries flushes them at its next load,
// loaded or not at the time.
// Inline (kernel/arch/x86_64/mmu_inline.h): it is part of every switch between processes.
inline void load_user_address_space(uint64_t root, uint16_t pcid, uint64_t generation);

// The PML4 physical address the calling CPU has loaded.
uint64_t current_address_space_root();

// Carries out `flush` on this CPU: INVLPG per listed page or a full flush (with global entries
// if flush.global()). Other CPUs are the caller's business (TLB shootdown).
void apply_tlb_flush(const mm::TlbFlush& flush);

}  // namespace exo::arch

#include "kernel/arch/x86_64/mmu_inline.h"
