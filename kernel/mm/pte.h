// x86_64 page-table entry format (Intel SDM vol. 3, 4.5, tables 4-15 .. 4-20) as a constexpr value
// type.
#pragma once

#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"

namespace exo::mm {

// One 64-bit entry of a PML4, PDPT, PD or PT. The same layout serves all four levels for the
// bits used here; `huge` (PS, bit 7) is only meaningful in PDPT and PD entries, where it turns
// the entry into a 1 GiB / 2 MiB leaf (SDM vol. 3, 4.5.4). In a PT entry bit 7 is PAT instead,
// which this kernel leaves clear (see CacheMode in page_table.h).
class Pte {
 public:
  // Bit positions (SDM vol. 3, 4.5.5, table 4-19 / 4-20).
  static constexpr uint64_t kPresent = uint64_t{1} << 0;
  static constexpr uint64_t kWritable = uint64_t{1} << 1;
  static constexpr uint64_t kUser = uint64_t{1} << 2;
  static constexpr uint64_t kWriteThrough = uint64_t{1} << 3;  // PWT
  static constexpr uint64_t kCacheDisable = uint64_t{1} << 4;  // PCD
  static constexpr uint64_t kAccessed = uint64_t{1} << 5;
  static constexpr uint64_t kDirty = uint64_t{1} << 6;       // leaves only
  static constexpr uint64_t kHuge = uint64_t{1} << 7;        // PS
  static constexpr uint64_t kGlobal = uint64_t{1} << 8;      // leaves only, needs CR4.PGE
  static constexpr uint64_t kNoExecute = uint64_t{1} << 63;  // needs IA32_EFER.NXE
  // Physical address bits 51:12 (MAXPHYADDR is at most 52, SDM vol. 3, 4.1.4).
  static constexpr uint64_t kAddressMask = 0x000f'ffff'ffff'f000;
  // A 2 MiB leaf's frame is 2 MiB aligned; bit 12 of such an entry is PAT, not address.
  static constexpr uint64_t kLargeAddressMask = 0x000f'ffff'ffe0'0000;

  constexpr Pte() = default;
  constexpr explicit Pte(uint64_t raw) : raw_(raw) {}
  constexpr uint64_t raw() const { return raw_; }

  constexpr bool present() const { return has(kPresent); }
  constexpr bool writable() const { return has(kWritable); }
  constexpr bool user() const { return has(kUser); }
  constexpr bool write_through() const { return has(kWriteThrough); }
  constexpr bool cache_disable() const { return has(kCacheDisable); }
  constexpr bool accessed() const { return has(kAccessed); }
  constexpr bool dirty() const { return has(kDirty); }
  constexpr bool huge() const { return has(kHuge); }
  constexpr bool global() const { return has(kGlobal); }
  constexpr bool no_execute() const { return has(kNoExecute); }
  // The frame (or next table) this entry points at. For a 2 MiB leaf use large_address().
  constexpr PhysAddr address() const { return raw_ & kAddressMask; }
  constexpr PhysAddr large_address() const { return raw_ & kLargeAddressMask; }

  constexpr Pte with_present(bool v) const { return with(kPresent, v); }
  constexpr Pte with_writable(bool v) const { return with(kWritable, v); }
  constexpr Pte with_user(bool v) const { return with(kUser, v); }
  constexpr Pte with_write_through(bool v) const { return with(kWriteThrough, v); }
  constexpr Pte with_cache_disable(bool v) const { return with(kCacheDisable, v); }
  constexpr Pte with_accessed(bool v) const { return with(kAccessed, v); }
  constexpr Pte with_dirty(bool v) const { return with(kDirty, v); }
  constexpr Pte with_huge(bool v) const { return with(kHuge, v); }
  constexpr Pte with_global(bool v) const { return with(kGlobal, v); }
  constexpr Pte with_no_execute(bool v) const { return with(kNoExecute, v); }
  // Precondition: `pa` is 4 KiB aligned and below 2^52 (other bits are dropped).
  constexpr Pte with_address(PhysAddr pa) const {
    return Pte((raw_ & ~kAddressMask) | (pa & kAddressMask));
  }

  constexpr bool operator==(const Pte& other) const { return raw_ == other.raw_; }

 private:
  constexpr bool has(uint64_t bit) const { return (raw_ & bit) != 0; }
  constexpr Pte with(uint64_t bit, bool v) const { return Pte(v ? (raw_ | bit) : (raw_ & ~bit)); }
  uint64_t raw_ = 0;
};

static_assert(Pte().with_present(true).with_writable(true).raw() == 0x3);
static_assert(Pte().with_no_execute(true).with_address(0x1234'5000).raw() == 0x8000'0000'1234'5000);
static_assert(Pte(0x8000'0000'0020'0083).huge() &&
              Pte(0x8000'0000'0020'0083).large_address() == 0x20'0000);

// Number of entries per table and the linear-address split for 4-level paging
// (SDM vol. 3, 4.5.4, figure 4-8): 9 index bits per level above a 12-bit page offset.
inline constexpr usize kEntriesPerTable = 512;
inline constexpr unsigned kIndexBits = 9;
inline constexpr unsigned kLevels = 4;  // 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT

// Bit position of the lowest address bit a level's index covers.
constexpr unsigned level_shift(unsigned level) {
  return kPageShift + kIndexBits * (level - 1);
}
// Index of `va` in a table at `level`.
constexpr usize table_index(VirtAddr va, unsigned level) {
  return static_cast<usize>((va >> level_shift(level)) & (kEntriesPerTable - 1));
}

static_assert(level_shift(2) == kLargePageShift);
static_assert(table_index(0xffff'8000'0000'0000, 4) == 256);
static_assert(table_index(0xffff'ffff'8000'0000, 4) == 511 &&
              table_index(0xffff'ffff'8000'0000, 3) == 510);

}  // namespace exo::mm
