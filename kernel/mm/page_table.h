// x86_64 4-level page tables (Intel SDM vol. 3, 4.5) over abstract physical memory: map, unmap,
// protect, translate.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"
#include "kernel/mm/pte.h"

namespace exo::mm {

// Memory type of a mapping, chosen through PWT/PCD with the PAT bit clear, i.e. PAT entries
// 0..3, whose power-on values are WB, WT, UC-, UC (SDM vol. 3, 11.12.2, table 11-12). The
// kernel keeps those four entries at their reset values; write-combining would need PAT
// reprogramming and is not offered yet.
enum class CacheMode : uint8_t {
  kWriteBack = 0,      // PWT=0 PCD=0
  kWriteThrough = 1,   // PWT=1 PCD=0
  kUncachedMinus = 2,  // PWT=0 PCD=1 (UC-, MTRRs may still make it WC)
  kUncached = 3,       // PWT=1 PCD=1
};

// What a mapping allows. x86 cannot express a present page that is not readable, so `read`
// must be true. Writable and executable together is refused (W^X): code is mapped read +
// execute, data read (+ write). `global` keeps the translation across CR3 loads and is only
// for kernel mappings shared by every address space.
struct Permissions {
  bool read = true;
  bool write = false;
  bool execute = false;
  bool user = false;
  bool global = false;
  CacheMode cache = CacheMode::kWriteBack;

  static constexpr Permissions kernel_ro() { return {}; }
  static constexpr Permissions kernel_rw() { return {.write = true}; }
  static constexpr Permissions kernel_rx() { return {.execute = true}; }
  static constexpr Permissions user_ro() { return {.user = true}; }
  static constexpr Permissions user_rw() { return {.write = true, .user = true}; }
  static constexpr Permissions user_rx() { return {.execute = true, .user = true}; }
  static constexpr Permissions mmio() { return {.write = true, .cache = CacheMode::kUncached}; }

  constexpr bool operator==(const Permissions&) const = default;
};

enum class PageSize : uint8_t { k4KiB, k2MiB, k1GiB };

// The result of a lookup. `perms` are the effective rights: write and user only if every level
// allows them, execute only if no level sets NX (SDM vol. 3, 4.6.1).
struct Translation {
  PhysAddr pa;
  Permissions perms;
  PageSize page_size;
  bool accessed;
  bool dirty;
};

// Reaches physical memory that holds page tables. The kernel has all of it in a linear window
// (the direct map, pa + 0xffff800000000000) and says so with the window's offset, so a walk
// adds instead of making a virtual call per level; the host tests override table_at() with an
// array that simulates RAM and checks every access.
class PhysicalMemory {
 public:
  // The 512 entries of the table at `pa` (4 KiB aligned, a frame from TableFrameSource or the
  // root). Must not fail.
  uint64_t* table(PhysAddr pa) {
    if (window_ != 0) [[likely]] {
      return reinterpret_cast<uint64_t*>(window_ + pa);
    }
    return table_at(pa);
  }
  // The linear window's offset, or 0 when table_at() is the only way in.
  uptr window() const { return window_; }

 protected:
  constexpr PhysicalMemory() = default;
  // Every table is at `window + pa`.
  constexpr explicit PhysicalMemory(uptr window) : window_(window) {}
  ~PhysicalMemory() = default;
  // For implementations that learn their window after construction. Not while a PageTable
  // walks this memory.
  void set_window(uptr window) { window_ = window; }
  // The same as table(); called only when window() == 0.
  virtual uint64_t* table_at(PhysAddr pa) = 0;

 private:
  uptr window_ = 0;
};

// Supplies and takes back frames for intermediate tables (normally the frame allocator).
class TableFrameSource {
 public:
  // A 4 KiB frame; its contents need not be zero. kNoMemory when none is left.
  virtual Result<PhysAddr> alloc_table() = 0;
  // Returns a frame from alloc_table() once no table entry refers to it.
  virtual void free_table(PhysAddr frame) = 0;

 protected:
  ~TableFrameSource() = default;
};

// What an operation requires the CPU to forget. The page-table code never executes
// instructions; the caller turns this into invalidations on every CPU that may hold the
// address space (the local one, plus a shootdown IPI to the others):
//   - up to kMaxPages addresses: one INVLPG each (it also drops paging-structure cache entries
//     for that address, SDM vol. 3, 4.10.4.1);
//   - more than that: one full flush, a CR3 reload, or toggling CR4.PGE when global() (a CR3
//     load keeps global entries, SDM vol. 3, 4.10.4.1).
// 32 is about where a flush and the refills it causes get cheaper than that many INVLPGs
// (Linux's tlb_single_page_flush_ceiling is 33). Mapping over a not-present entry needs no
// invalidation: not-present entries are never cached (SDM vol. 3, 4.10.2.3).
class TlbFlush {
 public:
  static constexpr usize kMaxPages = 32;

  constexpr TlbFlush() = default;

  // Records that the translation of `va` (any address within the page) changed. `global` says
  // the old entry had the G bit.
  void add(VirtAddr va, bool global) {
    global_ = global_ || global;
    if (all_) return;
    if (count_ == kMaxPages) {
      all_ = true;
      return;
    }
    pages_[count_++] = va & ~VirtAddr{kPageSize - 1};
  }
  void clear() {
    count_ = 0;
    all_ = false;
    global_ = false;
  }

  bool empty() const { return !all_ && count_ == 0; }
  // True when the caller should flush everything instead of the listed pages.
  bool flush_all() const { return all_; }
  // True when a changed entry was global, so a full flush must include global entries.
  bool global() const { return global_; }
  // Listed pages; meaningful only when !flush_all(). Precondition: index < count().
  usize count() const { return count_; }
  VirtAddr page(usize index) const { return pages_[index]; }

 private:
  // Only [0, count_) is meaningful: left uninitialised so a TlbFlush on the stack costs three
  // stores, not thirty-five.
  VirtAddr pages_[kMaxPages];
  usize count_ = 0;
  bool all_ = false;
  bool global_ = false;
};

// One address space's tables: a PML4 and everything below it. The object holds only the root
// and two borrowed interfaces, so it is cheap to copy around; it does not own leaf frames.
//
// Locking: none inside. The owner (the address-space object) serialises every mutating call
// with its lock; translate() may race with mutation only in the sense hardware does (it sees
// the old or the new entry).
//
// Kernel half: PML4 entries 256..511 point at PDPTs shared by every address space, so they are
// created once at boot and never reclaimed by unmap(), even when empty.
//
// Errors common to map/unmap/protect (nothing is changed on any of them):
//   kNotAligned       va, pa or size not 4 KiB aligned, or the range cuts a large page
//   kInvalidArgument  size 0, non-canonical or crossing the canonical hole, touches page 0, a
//                     user mapping outside the lower half, a global user mapping
//   kOverflow         va + size or pa + size wraps, or pa beyond 52 bits
//   kAccessDenied     write and execute both requested (W^X)
//   kUnsupported      read == false
class PageTable {
 public:
  // A new, empty address space: one zeroed PML4 from `frames`.
  static Result<PageTable> create(PhysicalMemory& memory, TableFrameSource& frames);
  // Adopts existing tables (e.g. the boot PML4). Precondition: `root` is a PML4 frame.
  PageTable(PhysAddr root, PhysicalMemory& memory, TableFrameSource& frames)
      : root_(root), memory_(&memory), frames_(&frames) {}

  PhysAddr root() const { return root_; }

  // Maps [va, va + size) to [pa, pa + size). Uses the largest page up to `largest` wherever va
  // and pa are both aligned to it and at least that much remains: 1 GiB pages only when the
  // caller knows the CPU has them (CPUID 80000001H:EDX.Page1GB, SDM vol. 3, 4.1.4), 2 MiB
  // pages, else 4 KiB. Each table is walked to once and filled entry by entry from there.
  // Errors: the common ones, kAlreadyExists (some page is already mapped), kNoMemory (tables
  // could not be allocated; everything done so far is undone).
  Status map(VirtAddr va, PhysAddr pa, usize size, Permissions perms, TlbFlush& flush,
             PageSize largest = PageSize::k2MiB);

  // Removes every mapping in [va, va + size) and, in the lower (user) half, frees intermediate
  // tables that become empty; kernel-half tables are kept (see unmap in page_table.cc).
  // Errors: the common ones, kNotFound (some page in the range is not mapped).
  Status unmap(VirtAddr va, usize size, TlbFlush& flush);

  // Changes the permissions of every mapping in [va, va + size), keeping frames, accessed and
  // dirty bits. Errors: the common ones, kNotFound (some page in the range is not mapped).
  Status protect(VirtAddr va, usize size, Permissions perms, TlbFlush& flush);

  // The physical address and rights `va` maps to; kNotFound when unmapped, kInvalidArgument
  // when non-canonical.
  Result<Translation> translate(VirtAddr va) const;

  // Frees every table of the lower (user) half and the root. Leaf frames are not touched.
  // Precondition: no CPU has this address space loaded and the kernel-half PDPTs are owned
  // elsewhere. The object must not be used afterwards.
  void destroy();

  // The canonical-address rule for 48-bit linear addresses: bits 63:47 all equal
  // (SDM vol. 1, 3.3.7.1).
  static constexpr bool is_canonical(VirtAddr va) {
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1ffff;
  }
  static constexpr VirtAddr kLowerHalfEnd = VirtAddr{1} << 47;  // exclusive

 private:
  struct Leaf {
    uint64_t* entry;  // null when no leaf maps the address
    unsigned level;   // level of `entry`, or of the not-present entry that ended the walk
    uint64_t* last;   // the entry the walk ended on: `entry`, or the not-present one
  };

  static Status check_range(VirtAddr va, usize size);
  // check_range(va, kPageSize) in fewer steps: an aligned page cannot wrap or straddle the hole.
  static Status check_page(VirtAddr va);
  static Status check_perms(VirtAddr va, usize size, Permissions perms);
  static uint64_t leaf_bits(Permissions perms, bool large);
  static Permissions perms_of(Pte pte);

  uint64_t* table(PhysAddr pa) const { return memory_->table(pa); }
  // table() with the window read once per walk by the caller: a walk's stores cannot move it,
  // but the compiler cannot know that.
  uint64_t* entries(uptr window, PhysAddr pa) const {
    if (window != 0) [[likely]] {
      return reinterpret_cast<uint64_t*>(window + pa);
    }
    return memory_->table(pa);
  }
  // Allocates, zeroes and links a table below `entry` (not present) on the way to `va`; its
  // address, or 0 with *error set.
  PhysAddr add_table(uint64_t* entry, VirtAddr va, Error* error);
  Leaf find_leaf(VirtAddr va) const;
  // map_page() after its checks when tables on the way are missing (it creates them) or the
  // memory has no window.
  Status map_page_creating(VirtAddr va, PhysAddr pa, Permissions perms, TlbFlush& flush);
  // The entry at `level` (1, 2 or 3) for `va`, creating missing tables; null with *error set
  // on failure: kNoMemory, or kAlreadyExists when a large leaf lies on the path (nothing was
  // created then: a leaf above means every table above it exists).
  uint64_t* slot_for(VirtAddr va, unsigned level, Error* error);
  // map() and unmap() of exactly one 4 KiB page: the checks with the size known, and one walk
  // instead of a check walk and a change walk.
  Status map_page(VirtAddr va, PhysAddr pa, Permissions perms, TlbFlush& flush);
  Status unmap_page(VirtAddr va, TlbFlush& flush);
  // Everything else; map() and unmap() only choose, so they need no stack frame of their own.
  Status map_range(VirtAddr va, PhysAddr pa, usize size, Permissions perms, TlbFlush& flush,
                   PageSize largest);
  Status unmap_range(VirtAddr va, usize size, TlbFlush& flush);
  // Requires every page of [va, va + size) to be mapped by leaves lying wholly inside it.
  Status check_mapped(VirtAddr va, usize size) const;
  // Clears every leaf in [va, va + size), recording each in `flush`.
  void clear_leaves(VirtAddr va, usize size, TlbFlush& flush);
  // Frees the tables below `table_pa` (a table at `level`) covering [lo, last] that are empty.
  // Offsets rather than end addresses are used so a range ending at 2^64 cannot wrap.
  void reclaim(PhysAddr table_pa, unsigned level, VirtAddr lo, VirtAddr last, TlbFlush& flush);
  void destroy_table(PhysAddr table_pa, unsigned level);

  PhysAddr root_;
  PhysicalMemory* memory_;
  TableFrameSource* frames_;
};

}  // namespace exo::mm
