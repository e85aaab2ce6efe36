// AddressSpace: the user half of one process's page tables and the mappings in it. Every
// mapping is a window on a MemoryObject (anonymous memory is an object of its own), so the
// mapping list, not the page tables, says who owns a frame.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/page_table.h"
#include "kernel/object/ref_counted.h"
#include "kernel/sync/spinlock.h"
#include "kernel/vm/memory_object.h"

namespace exo::vm {

// User addresses: [kUserBase, kUserEnd). The last page below the canonical hole stays out of
// reach, so no `syscall` can sit at its end and leave a non-canonical return address (the
// SYSRET hazard; Linux keeps the same page free).
inline constexpr uptr kUserBase = 0x1000;
inline constexpr uptr kUserEnd = 0x00007ffffffff000;
// Where mappings without a fixed address go: first fit from here up.
inline constexpr uptr kUserAnywhereBase = 0x0000001000000000;

// Protection bits (the ABI's EXO_PROT_*).
inline constexpr uint32_t kProtRead = 1, kProtWrite = 2, kProtExecute = 4, kProtMask = 7;

class AddressSpace {
 public:
  static constexpr usize kMaxMappings = 256;

  struct Mapping {
    uptr base;
    usize size;
    uint32_t prot;
    uint32_t max_prot;  // what vm_protect may grant (the handle's rights when it was mapped)
    MemoryObject* object;  // one reference per mapping
    usize offset;          // bytes into the object
  };

  // A new address space: a PML4 whose kernel half is the kernel's. kNoMemory.
  static Result<AddressSpace*> create();
  // Unmaps everything, drops the objects and frees the tables and this object.
  // Precondition: no CPU has it loaded.
  void destroy();

  uint64_t root() const { return tables_.root(); }
  // The PCID this space is loaded with (arch::allocate_pcid; 0: untagged), and its TLB
  // generation, which moves to a new system-wide value whenever a translation is removed or
  // narrowed (arch::load_user_address_space). Read the generation with a seq_cst load after
  // publishing that the space is loaded on this CPU.
  uint16_t pcid() const { return pcid_; }
  const uint64_t* tlb_generation() const { return &tlb_generation_; }

  // Maps [offset, offset + size) of `object` at `address` (fixed) or anywhere (address is then a
  // hint; 0 = none). The caller has checked alignment, the user range, W^X and rights; this
  // checks the object range (kOutOfRange), overlap for fixed (kAlreadyExists), room
  // (kNoMemory). Returns the address.
  Result<uptr> map(object::RefPtr<MemoryObject> object, usize offset, uptr address, usize size,
                   uint32_t prot, uint32_t max_prot, bool fixed);
  // Unmaps whole pages; unmapped holes in the range are skipped. kNoMemory when splitting a
  // mapping needs a slot and none is left (nothing changes then).
  Status unmap(uptr address, usize size);
  // Changes protection; every page must be mapped (kNotFound) and `prot` within each
  // mapping's max_prot (kAccessDenied).
  Status protect(uptr address, usize size, uint32_t prot);

  usize mapping_count() const { return count_; }

 private:
  AddressSpace(mm::PageTable tables, uint16_t pcid, uint64_t generation)
      : tables_(tables), pcid_(pcid), tlb_generation_(generation) {}

  usize lower_bound(uptr address) const;  // first mapping with end > address
  bool range_free(uptr base, usize size) const;
  Result<uptr> find_free(uptr hint, usize size) const;
  Status insert(const Mapping& m);
  void erase(usize index);
  // Writes page-table entries for part of a mapping (prot 0: none).
  Status map_pages(const Mapping& m, uptr base, usize size, mm::TlbFlush& flush);
  void unmap_pages(const Mapping& m, uptr base, usize size, mm::TlbFlush& flush);
  // Makes every CPU forget `flush` for this address space.
  void invalidate(const mm::TlbFlush& flush);
  Status protect_locked(uptr address, usize size, uint32_t prot, mm::TlbFlush& flush);
  // Splits mapping `index` at `at` (strictly inside it). kNoMemory when the list is full.
  Status split(usize index, uptr at);

  Spinlock lock_;
  mm::PageTable tables_;
  Mapping mappings_[kMaxMappings] = {};
  usize count_ = 0;
  uint16_t pcid_;
  uint64_t tlb_generation_;  // atomic access
};

}  // namespace exo::vm
