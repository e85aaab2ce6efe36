// AddressSpace: a sorted array of mappings over one PageTable.
#include "kernel/vm/address_space.h"

#include "kernel/arch/arch.h"
#include "kernel/arch/mmu.h"
#include "kernel/lib/new.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/thread.h"

namespace exo::vm {

using mm::kPageSize;
using object::RefPtr;

namespace {

mm::Permissions permissions_for(uint32_t prot) {
  // x86 has no write-only or execute-only page: both also read (docs/syscalls.md).
  return mm::Permissions{.read = true,
                         .write = (prot & kProtWrite) != 0,
                         .execute = (prot & kProtExecute) != 0,
                         .user = true};
}

// TLB generations (AddressSpace::tlb_generation): unique system-wide, so a CPU's record of the
// generation it trusts under a PCID can never match a later space that reuses the PCID.
constinit uint64_t g_tlb_generation = 0;
uint64_t next_tlb_generation() { return __atomic_add_fetch(&g_tlb_generation, 1, __ATOMIC_SEQ_CST); }

// Drops the references of removed mappings once nothing can reach their frames any more.
struct Released {
  MemoryObject* objects[AddressSpace::kMaxMappings + 2];
  usize count = 0;
  void add(MemoryObject* o) { objects[count++] = o; }
  void drop() {
    for (usize i = 0; i < count; ++i) {
      if (objects[i]->release()) objects[i]->destroy();
    }
    count = 0;
  }
};

}  // namespace

Result<AddressSpace*> AddressSpace::create() {
  mm::PageTable tables = EXO_TRY(mm::create_user_page_table());
  void* memory = mm::heap_allocate(sizeof(AddressSpace), alignof(AddressSpace));
  if (memory == nullptr) {
    tables.destroy();
    return Error::kNoMemory;
  }
  return new (memory) AddressSpace(tables, arch::allocate_pcid(), next_tlb_generation());
}

void AddressSpace::destroy() {
  Released released;
  {
    SpinlockGuard guard(lock_);
    mm::TlbFlush flush;
    for (usize i = 0; i < count_; ++i) {
      unmap_pages(mappings_[i], mappings_[i].base, mappings_[i].size, flush);
      released.add(mappings_[i].object);
    }
    count_ = 0;
  }
  tables_.destroy();
  released.drop();
  arch::free_pcid(pcid_);  // no CPU has it loaded; stale entries die with the next generation
  this->~AddressSpace();
  mm::heap_free(this);
}

usize AddressSpace::lower_bound(uptr address) const {
  usize lo = 0, hi = count_;
  while (lo < hi) {
    usize mid = (lo + hi) / 2;
    if (mappings_[mid].base + mappings_[mid].size <= address) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool AddressSpace::range_free(uptr base, usize size) const {
  usize i = lower_bound(base);
  return i == count_ || mappings_[i].base >= base + size;
}

Result<uptr> AddressSpace::find_free(uptr hint, usize size) const {
  if (size > kUserEnd - kUserBase) return Error::kNoMemory;
  if (hint >= kUserBase && hint <= kUserEnd - size && hint % kPageSize == 0 && range_free(hint, size)) {
    return hint;
  }
  uptr candidate = kUserAnywhereBase;
  for (usize i = lower_bound(candidate); i <= count_; ++i) {
    uptr gap_end = i < count_ ? mappings_[i].base : kUserEnd;
    if (candidate <= gap_end && gap_end - candidate >= size) return candidate;
    if (i < count_) candidate = mappings_[i].base + mappings_[i].size;
  }
  return Error::kNoMemory;
}

Status AddressSpace::insert(const Mapping& m) {
  if (count_ == kMaxMappings) return Error::kNoMemory;
  usize i = lower_bound(m.base);
  for (usize j = count_; j > i; --j) mappings_[j] = mappings_[j - 1];
  mappings_[i] = m;
  ++count_;
  return ok_status();
}

void AddressSpace::erase(usize index) {
  for (usize j = index; j + 1 < count_; ++j) mappings_[j] = mappings_[j + 1];
  --count_;
}

Status AddressSpace::split(usize index, uptr at) {
  if (count_ == kMaxMappings) return Error::kNoMemory;
  Mapping upper = mappings_[index];
  usize lower_size = at - upper.base;
  upper.base = at;
  upper.size -= lower_size;
  upper.offset += lower_size;
  upper.object->add_ref();
  mappings_[index].size = lower_size;
  for (usize j = count_; j > index + 1; --j) mappings_[j] = mappings_[j - 1];
  mappings_[index + 1] = upper;
  ++count_;
  return ok_status();
}

Status AddressSpace::map_pages(const Mapping& m, uptr base, usize size, mm::TlbFlush& flush) {
  if (m.prot == 0) return ok_status();  // reserved, inaccessible: no entries
  mm::Permissions perms = permissions_for(m.prot);
  for (uptr va = base; va < base + size; va += kPageSize) {
    usize page = (m.offset + (va - m.base)) / kPageSize;
    Status mapped = tables_.map(va, m.object->frame(page), kPageSize, perms, flush, mm::PageSize::k4KiB);
    if (!mapped.ok()) {
      if (va != base) {
        Status undone = tables_.unmap(base, va - base, flush);
        (void)undone;
      }
      return mapped.error();
    }
  }
  return ok_status();
}

void AddressSpace::unmap_pages(const Mapping& m, uptr base, usize size, mm::TlbFlush& flush) {
  if (m.prot == 0) return;
  Status unmapped = tables_.unmap(base, size, flush);
  (void)unmapped;  // every page of a mapping with prot != 0 has an entry
}

void AddressSpace::invalidate(const mm::TlbFlush& flush) {
  if (flush.empty()) return;
  // With PCIDs any CPU that ever loaded this space may still cache its entries, loaded now or
  // not. A new generation makes each of them flush the PCID at its next load; the CPUs that
  // have it loaded now are shot down. The generation is bumped before looking for those, and a
  // switch publishes loaded_root before reading the generation (both seq_cst), so a CPU loading
  // the space concurrently either sees the new generation or is seen here.
  __atomic_store_n(&tlb_generation_, next_tlb_generation(), __ATOMIC_SEQ_CST);
  if (arch::current_address_space_root() == root()) arch::apply_tlb_flush(flush);
  if (address_space_loaded_elsewhere(root())) arch::tlb_shootdown_all();
}

Result<uptr> AddressSpace::map(RefPtr<MemoryObject> object, usize offset, uptr address, usize size,
                               uint32_t prot, uint32_t max_prot, bool fixed) {
  if (offset > object->size() || size > object->size() - offset) return Error::kOutOfRange;
  SpinlockGuard guard(lock_);
  uptr base;
  if (fixed) {
    // Callers check the range too; this is the one place that keeps the last page below the
    // canonical hole unmapped whoever asks (the SYSRET hazard, kUserEnd).
    if (address < kUserBase || address > kUserEnd || size > kUserEnd - address) {
      return Error::kAccessDenied;
    }
    if (!range_free(address, size)) return Error::kAlreadyExists;
    base = address;
  } else {
    base = EXO_TRY(find_free(address, size));
  }
  if (count_ == kMaxMappings) return Error::kNoMemory;
  Mapping m{base, size, prot, max_prot, object.get(), offset};
  mm::TlbFlush flush;  // new entries over empty ones: nothing to invalidate
  EXO_TRY(map_pages(m, base, size, flush));
  Status inserted = insert(m);
  (void)inserted;  // room was checked above
  (void)object.leak_ref();  // the mapping's reference
  return base;
}

Status AddressSpace::unmap(uptr address, usize size) {
  Released released;
  mm::TlbFlush flush;
  {
    SpinlockGuard guard(lock_);
    uptr end = address + size;
    // Splits first, so a failure changes nothing: at most two (one at each end).
    usize first = lower_bound(address);
    usize splits = 0;
    if (first < count_ && mappings_[first].base < address) ++splits;
    usize last = lower_bound(end);
    if (last < count_ && mappings_[last].base < end && mappings_[last].base + mappings_[last].size > end) {
      ++splits;
    }
    if (count_ + splits > kMaxMappings) return Error::kNoMemory;
    if (last < count_ && mappings_[last].base < end && mappings_[last].base + mappings_[last].size > end) {
      (void)split(last, end);
    }
    first = lower_bound(address);
    if (first < count_ && mappings_[first].base < address) {
      (void)split(first, address);
      ++first;
    }
    usize i = first;
    while (i < count_ && mappings_[i].base < end) {
      unmap_pages(mappings_[i], mappings_[i].base, mappings_[i].size, flush);
      released.add(mappings_[i].object);
      erase(i);
    }
  }
  // After the lock (a shootdown waits for other CPUs), before the frames can be reused.
  invalidate(flush);
  released.drop();
  return ok_status();
}

Status AddressSpace::protect(uptr address, usize size, uint32_t prot) {
  mm::TlbFlush flush;
  Status changed = protect_locked(address, size, prot, flush);
  invalidate(flush);  // after the lock: a shootdown waits for other CPUs
  return changed;
}

Status AddressSpace::protect_locked(uptr address, usize size, uint32_t prot, mm::TlbFlush& flush) {
  SpinlockGuard guard(lock_);
  uptr end = address + size;
  // Every page mapped, and the new protection allowed everywhere, before anything changes.
  usize first = lower_bound(address);
  uptr covered = address;
  usize splits = 0;
  for (usize i = first; i < count_ && mappings_[i].base < end; ++i) {
    if (mappings_[i].base != covered) return Error::kNotFound;
    if ((prot & ~mappings_[i].max_prot) != 0) return Error::kAccessDenied;
    covered = mappings_[i].base + mappings_[i].size;
  }
  if (covered < end) return Error::kNotFound;
  if (mappings_[first].base < address) ++splits;
  usize last = lower_bound(end - 1);
  if (mappings_[last].base + mappings_[last].size > end) ++splits;
  if (count_ + splits > kMaxMappings) return Error::kNoMemory;
  if (mappings_[first].base < address) {
    (void)split(first, address);
    ++first;
  }
  for (usize i = first; i < count_ && mappings_[i].base < end; ++i) {
    if (mappings_[i].base + mappings_[i].size > end) (void)split(i, end);
    Mapping& m = mappings_[i];
    if (m.prot == prot) continue;
    if (m.prot == 0) {
      m.prot = prot;
      Status mapped = map_pages(m, m.base, m.size, flush);
      if (!mapped.ok()) {
        m.prot = 0;  // map_pages undid its own entries; earlier pieces keep their new rights
        return mapped.error();
      }
    } else if (prot == 0) {
      unmap_pages(m, m.base, m.size, flush);
      m.prot = 0;
    } else {
      Status changed = tables_.protect(m.base, m.size, permissions_for(prot), flush);
      (void)changed;
      m.prot = prot;
    }
  }
  return ok_status();
}

}  // namespace exo::vm
