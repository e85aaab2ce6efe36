// 4-level page-table walks: map with 4 KiB / 2 MiB leaves, unmap with table reclamation, protect,
// translate.
#include "kernel/mm/page_table.h"

#include "kernel/lib/utility.h"

namespace exo::mm {
namespace {

// Entries are read by the page walker of every CPU while we write them. Release stores keep
// the compiler from sinking the zeroing of a new table below the store that publishes it
// (x86 keeps stores in order, SDM vol. 3, 9.2.2, so a plain MOV is enough on the CPU side).
uint64_t load(const uint64_t* entry) {
  return __atomic_load_n(entry, __ATOMIC_RELAXED);
}
void store(uint64_t* entry, uint64_t value) {
  __atomic_store_n(entry, value, __ATOMIC_RELEASE);
}

constexpr uint64_t kMaxPhys = uint64_t{1} << 52;
constexpr VirtAddr span_of(unsigned level) {
  return VirtAddr{1} << level_shift(level);
}

bool table_empty(const uint64_t* entries) {
  for (usize i = 0; i < kEntriesPerTable; ++i) {
    if (load(&entries[i]) != 0) return false;
  }
  return true;
}

}  // namespace

Result<PageTable> PageTable::create(PhysicalMemory& memory, TableFrameSource& frames) {
  PhysAddr root = EXO_TRY(frames.alloc_table());
  __builtin_memset(memory.table(root), 0, kPageSize);
  return PageTable(root, memory, frames);
}

inline Status PageTable::check_range(VirtAddr va, usize size) {
  if (size == 0) return Error::kInvalidArgument;
  if (!is_aligned(va, VirtAddr{kPageSize}) || !is_aligned(size, usize{kPageSize})) {
    return Error::kNotAligned;
  }
  VirtAddr last;
  if (!checked_add(va, VirtAddr{size - 1}, &last)) return Error::kOverflow;
  // Both ends canonical and in the same half: the range cannot straddle the hole.
  if (!is_canonical(va) || !is_canonical(last) || (va >> 47) != (last >> 47)) {
    return Error::kInvalidArgument;
  }
  // Page 0 stays unmapped in every address space so null dereferences always fault.
  if (va == 0) return Error::kInvalidArgument;
  return ok_status();
}

inline Status PageTable::check_page(VirtAddr va) {
  if (!is_aligned(va, VirtAddr{kPageSize})) return Error::kNotAligned;
  if (!is_canonical(va) || va == 0) return Error::kInvalidArgument;
  return ok_status();
}

inline Status PageTable::check_perms(VirtAddr va, usize size, Permissions perms) {
  if (!perms.read) return Error::kUnsupported;
  if (perms.write && perms.execute) return Error::kAccessDenied;
  if (perms.user && (perms.global || va >= kLowerHalfEnd || size > kLowerHalfEnd - va)) {
    return Error::kInvalidArgument;
  }
  return ok_status();
}

inline uint64_t PageTable::leaf_bits(Permissions perms, bool large) {
  // Each flag times its bit rather than Pte's with_*() chain: a shift per flag instead of a
  // test and a conditional move.
  auto cache = static_cast<uint64_t>(perms.cache);
  return Pte::kPresent | uint64_t{perms.write} * Pte::kWritable |
         uint64_t{perms.user} * Pte::kUser | (cache & 1) * Pte::kWriteThrough |
         ((cache >> 1) & 1) * Pte::kCacheDisable | uint64_t{perms.global} * Pte::kGlobal |
         uint64_t{!perms.execute} * Pte::kNoExecute | uint64_t{large} * Pte::kHuge;
}
static_assert(Pte::kWriteThrough == uint64_t{1} << 3 && Pte::kCacheDisable == uint64_t{1} << 4);

Permissions PageTable::perms_of(Pte pte) {
  Permissions p;
  p.write = pte.writable();
  p.execute = !pte.no_execute();
  p.user = pte.user();
  p.global = pte.global();
  p.cache = static_cast<CacheMode>((pte.write_through() ? 1 : 0) | (pte.cache_disable() ? 2 : 0));
  return p;
}

// Inlined everywhere: the single-page map and unmap then make no call at all.
[[gnu::always_inline]] inline PageTable::Leaf PageTable::find_leaf(VirtAddr va) const {
  const uptr window = memory_->window();
  PhysAddr t = root_;
  for (unsigned level = kLevels;; --level) {
    uint64_t* entry = &entries(window, t)[table_index(va, level)];
    uint64_t raw = load(entry);
    if ((raw & Pte::kPresent) == 0) return {nullptr, level, entry};
    // PS is reserved in a PML4 entry; in a PDPT or PD entry it makes a leaf (SDM vol. 3, 4.5.4).
    if (level == 1 || (level <= 3 && (raw & Pte::kHuge) != 0)) return {entry, level, entry};
    t = raw & Pte::kAddressMask;
  }
}

PhysAddr PageTable::add_table(uint64_t* entry, VirtAddr va, Error* error) {
  Result<PhysAddr> child = frames_->alloc_table();
  if (!child.ok()) {
    *error = child.error();
    return 0;
  }
  __builtin_memset(table(*child), 0, kPageSize);
  // Intermediate entries grant everything and leave restriction to the leaf: rights are the
  // intersection over all levels (SDM vol. 3, 4.6.1), so one leaf can then be changed without
  // touching shared upper levels. U/S is set only for the user half.
  Pte link = Pte()
                 .with_present(true)
                 .with_writable(true)
                 .with_user(va < kLowerHalfEnd)
                 .with_address(*child);
  store(entry, link.raw());
  return *child;
}

inline uint64_t* PageTable::slot_for(VirtAddr va, unsigned level, Error* error) {
  const uptr window = memory_->window();
  PhysAddr t = root_;
  for (unsigned l = kLevels; l > level; --l) {
    uint64_t* entry = &entries(window, t)[table_index(va, l)];
    uint64_t raw = load(entry);
    if ((raw & Pte::kPresent) == 0) [[unlikely]] {
      t = add_table(entry, va, error);
      if (t == 0) return nullptr;
    } else if (l <= 3 && (raw & Pte::kHuge) != 0) [[unlikely]] {
      *error = Error::kAlreadyExists;
      return nullptr;
    } else {
      t = raw & Pte::kAddressMask;
    }
  }
  return &entries(window, t)[table_index(va, level)];
}

Status PageTable::map_page(VirtAddr va, PhysAddr pa, Permissions perms, TlbFlush& flush) {
  // The checks of map() with the size known, so most of them fold away.
  EXO_TRY(check_page(va));
  if (!is_aligned(pa, PhysAddr{kPageSize})) return Error::kNotAligned;
  if (pa >= kMaxPhys) return Error::kOverflow;
  EXO_TRY(check_perms(va, kPageSize, perms));
  // With the window known to be there, the inlined walk has no call left in it, so this
  // function needs no callee-saved registers either.
  if (memory_->window() == 0) [[unlikely]] {
    return map_page_creating(va, pa, perms, flush);
  }
  Leaf leaf = find_leaf(va);
  if (leaf.entry != nullptr) return Error::kAlreadyExists;
  // Every table on the way exists (always so in the kernel half once it is in use).
  if (leaf.level != 1) [[unlikely]] {
    return map_page_creating(va, pa, perms, flush);
  }
  store(leaf.last, leaf_bits(perms, false) | pa);
  return ok_status();
}

Status PageTable::map_page_creating(VirtAddr va, PhysAddr pa, Permissions perms, TlbFlush& flush) {
  Error error = Error::kNoMemory;
  uint64_t* slot = slot_for(va, 1, &error);
  if (slot == nullptr) {
    // kNoMemory may leave new, empty tables behind: free them. kAlreadyExists created none.
    if (error == Error::kNoMemory) reclaim(root_, kLevels, va, va, flush);
    return error;
  }
  if ((load(slot) & Pte::kPresent) != 0) return Error::kAlreadyExists;
  store(slot, leaf_bits(perms, false) | pa);
  return ok_status();
}

Status PageTable::map(VirtAddr va, PhysAddr pa, usize size, Permissions perms, TlbFlush& flush,
                      PageSize largest) {
  if (size == kPageSize) [[likely]] {
    return map_page(va, pa, perms, flush);
  }
  return map_range(va, pa, size, perms, flush, largest);
}

Status PageTable::map_range(VirtAddr va, PhysAddr pa, usize size, Permissions perms,
                            TlbFlush& flush, PageSize largest) {
  EXO_TRY(check_range(va, size));
  if (!is_aligned(pa, PhysAddr{kPageSize})) return Error::kNotAligned;
  if (pa >= kMaxPhys || size > kMaxPhys - pa) return Error::kOverflow;
  EXO_TRY(check_perms(va, size, perms));

  // Refuse before changing anything. A not-present entry at level L proves its whole span free.
  for (usize off = 0; off < size;) {
    VirtAddr pos = va + off;
    Leaf leaf = find_leaf(pos);
    if (leaf.entry != nullptr) return Error::kAlreadyExists;
    off = align_down(pos, span_of(leaf.level)) + span_of(leaf.level) - va;
  }

  const uint64_t small_bits = leaf_bits(perms, false);
  const uint64_t large_bits = leaf_bits(perms, true);
  for (usize off = 0; off < size;) {
    VirtAddr pos = va + off;
    PhysAddr target = pa + off;
    usize left = size - off;
    unsigned level = 1;
    if (largest == PageSize::k1GiB && is_aligned(pos, span_of(3)) &&
        is_aligned(target, PhysAddr{span_of(3)}) && left >= span_of(3)) {
      level = 3;
    } else if (largest != PageSize::k4KiB && is_aligned(pos, span_of(2)) &&
               is_aligned(target, PhysAddr{span_of(2)}) && left >= span_of(2)) {
      level = 2;
    }
    // The slot for a leaf at `level`; one level down if a table already sits there (an empty
    // one: the check above found no leaf), e.g. left by adopted boot tables.
    uint64_t* slot = nullptr;
    for (;;) {
      Error error = Error::kNoMemory;
      slot = slot_for(pos, level, &error);
      if (slot == nullptr) {
        if (off != 0) clear_leaves(va, off, flush);
        reclaim(root_, kLevels, va, va + (size - 1), flush);
        return error;
      }
      if (level == 1 || !Pte(load(slot)).present()) break;
      --level;
    }
    // Fill this table from the slot to its end or the range's end, whichever comes first. An
    // entry already present below a large slot ends the run; the next round descends into it.
    const VirtAddr span = span_of(level);
    const uint64_t bits = level == 1 ? small_bits : large_bits;
    usize count = min(kEntriesPerTable - table_index(pos, level), static_cast<usize>(left / span));
    usize i = 0;
    do {
      store(&slot[i], bits | (target + i * span));
      ++i;
    } while (i < count && !Pte(load(&slot[i])).present());
    off += i * span;
  }
  return ok_status();
}

Status PageTable::check_mapped(VirtAddr va, usize size) const {
  VirtAddr last = va + (size - 1);
  for (usize off = 0; off < size;) {
    VirtAddr pos = va + off;
    Leaf leaf = find_leaf(pos);
    if (leaf.entry == nullptr) return Error::kNotFound;
    VirtAddr base = align_down(pos, span_of(leaf.level));
    if (base < va || base + (span_of(leaf.level) - 1) > last) return Error::kNotAligned;
    off = base + span_of(leaf.level) - va;
  }
  return ok_status();
}

void PageTable::clear_leaves(VirtAddr va, usize size, TlbFlush& flush) {
  for (usize off = 0; off < size;) {
    VirtAddr pos = va + off;
    Leaf leaf = find_leaf(pos);
    if (leaf.entry != nullptr) {
      Pte old(load(leaf.entry));
      store(leaf.entry, 0);
      flush.add(pos, old.global());
    }
    off = align_down(pos, span_of(leaf.level)) + span_of(leaf.level) - va;
  }
}

void PageTable::reclaim(PhysAddr table_pa, unsigned level, VirtAddr lo, VirtAddr last,
                        TlbFlush& flush) {
  uint64_t* entries = table(table_pa);
  VirtAddr span = span_of(level);
  VirtAddr table_base = align_down(lo, span << kIndexBits);
  for (usize i = table_index(lo, level); i <= table_index(last, level); ++i) {
    Pte pte(load(&entries[i]));
    if (!pte.present() || pte.huge()) continue;
    VirtAddr entry_base = table_base + i * span;
    VirtAddr child_lo = max(lo, entry_base);
    VirtAddr child_last = min(last, entry_base + (span - 1));
    if (level - 1 >= 2) reclaim(pte.address(), level - 1, child_lo, child_last, flush);
    if (level == kLevels && i >= kEntriesPerTable / 2) continue;  // shared kernel-half PDPTs
    if (!table_empty(table(pte.address()))) continue;
    store(&entries[i], 0);
    // Paging-structure caches may still hold the link; any INVLPG drops all of them for the
    // current PCID (SDM vol. 3, 4.10.4.1), so one listed page is enough.
    if (flush.empty()) flush.add(child_lo, false);
    frames_->free_table(pte.address());
  }
}

Status PageTable::unmap_page(VirtAddr va, TlbFlush& flush) {
  EXO_TRY(check_page(va));
  if (memory_->window() == 0) [[unlikely]] {
    return unmap_range(va, kPageSize, flush);
  }
  Leaf leaf = find_leaf(va);
  if (leaf.entry == nullptr) return Error::kNotFound;
  if (leaf.level != 1) return Error::kNotAligned;  // would cut a large page
  Pte old(load(leaf.entry));
  store(leaf.entry, 0);
  flush.add(va, old.global());
  if (va < kLowerHalfEnd) reclaim(root_, kLevels, va, va, flush);
  return ok_status();
}

Status PageTable::unmap(VirtAddr va, usize size, TlbFlush& flush) {
  if (size == kPageSize) [[likely]] {
    return unmap_page(va, flush);
  }
  return unmap_range(va, size, flush);
}

Status PageTable::unmap_range(VirtAddr va, usize size, TlbFlush& flush) {
  EXO_TRY(check_range(va, size));
  EXO_TRY(check_mapped(va, size));
  clear_leaves(va, size, flush);
  // Kernel-half tables are never reclaimed: every address space and every CPU shares them, so
  // freeing one would need a shootdown of paging-structure caches everywhere, and the next
  // kernel mapping nearby would only allocate and zero it again. User-half tables go back.
  if (va < kLowerHalfEnd) reclaim(root_, kLevels, va, va + (size - 1), flush);
  return ok_status();
}

Status PageTable::protect(VirtAddr va, usize size, Permissions perms, TlbFlush& flush) {
  EXO_TRY(check_range(va, size));
  EXO_TRY(check_perms(va, size, perms));
  EXO_TRY(check_mapped(va, size));
  constexpr uint64_t kKept = Pte::kAddressMask | Pte::kAccessed | Pte::kDirty;
  for (usize off = 0; off < size;) {
    VirtAddr pos = va + off;
    Leaf leaf = find_leaf(pos);
    Pte old(load(leaf.entry));
    uint64_t updated = (old.raw() & kKept) | leaf_bits(perms, leaf.level > 1);
    if (updated != old.raw()) {
      store(leaf.entry, updated);
      flush.add(pos, old.global());
    }
    off = align_down(pos, span_of(leaf.level)) + span_of(leaf.level) - va;
  }
  return ok_status();
}

Result<Translation> PageTable::translate(VirtAddr va) const {
  if (!is_canonical(va)) return Error::kInvalidArgument;
  bool writable = true;
  bool user = true;
  bool executable = true;
  PhysAddr t = root_;
  for (unsigned level = kLevels;; --level) {
    Pte pte(load(&table(t)[table_index(va, level)]));
    if (!pte.present()) return Error::kNotFound;
    writable = writable && pte.writable();
    user = user && pte.user();
    executable = executable && !pte.no_execute();
    bool leaf = level == 1 || (level <= 3 && pte.huge());
    if (!leaf) {
      t = pte.address();
      continue;
    }
    Translation result;
    result.perms = perms_of(pte);
    result.perms.write = writable;
    result.perms.user = user;
    result.perms.execute = executable;
    result.accessed = pte.accessed();
    result.dirty = pte.dirty();
    VirtAddr offset_mask = span_of(level) - 1;
    // In a large leaf bit 12 is PAT, not address (SDM vol. 3, 4.5.4, table 4-17 / 4-18).
    PhysAddr frame = level == 1 ? pte.address() : pte.address() & ~PhysAddr{offset_mask};
    result.pa = frame | (va & offset_mask);
    result.page_size = level == 1   ? PageSize::k4KiB
                       : level == 2 ? PageSize::k2MiB
                                    : PageSize::k1GiB;
    return result;
  }
}

void PageTable::destroy_table(PhysAddr table_pa, unsigned level) {
  if (level > 1) {
    uint64_t* entries = table(table_pa);
    for (usize i = 0; i < kEntriesPerTable; ++i) {
      Pte pte(load(&entries[i]));
      if (pte.present() && !pte.huge()) destroy_table(pte.address(), level - 1);
    }
  }
  frames_->free_table(table_pa);
}

void PageTable::destroy() {
  uint64_t* entries = table(root_);
  for (usize i = 0; i < kEntriesPerTable / 2; ++i) {
    Pte pte(load(&entries[i]));
    if (pte.present()) destroy_table(pte.address(), kLevels - 1);
  }
  frames_->free_table(root_);
}

}  // namespace exo::mm
