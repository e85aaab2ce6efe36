// Buddy allocator for the kernel heap: power-of-two blocks of 4 KiB .. 4 MiB over a virtual range
// that grows on demand.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"

namespace exo::mm {

// How the buddy allocator gets memory behind its virtual range. The kernel implements it by
// allocating frames and mapping them; the host tests by un-poisoning part of a malloc'd arena.
class HeapBacking {
 public:
  // Makes [base, base + size) readable and writable. base and size are multiples of the
  // buddy's minimum block (4 KiB) and the range was never backed before. An error (normally
  // kNoMemory) is returned to the allocating caller; nothing must be left half-backed.
  virtual Status back(uptr base, usize size) = 0;

 protected:
  ~HeapBacking() = default;
};

// The per-block record, one byte per minimum block of the range, in caller-provided memory.
// Only the first minimum block of a block (its head) carries a record; the others read kNone,
// which is what makes a free of an interior pointer detectable in O(1).
class BlockInfo {
 public:
  enum class State : uint8_t { kNone = 0, kFree = 1, kAllocated = 2 };

  constexpr BlockInfo() = default;
  constexpr explicit BlockInfo(uint8_t raw) : raw_(raw) {}
  static constexpr BlockInfo make(State state, unsigned order, bool tagged) {
    return BlockInfo(static_cast<uint8_t>((static_cast<unsigned>(state) << kStateShift) |
                                          (order & kOrderMask) | (tagged ? kTagBit : 0)));
  }

  constexpr State state() const { return static_cast<State>((raw_ >> kStateShift) & 3); }
  constexpr unsigned order() const { return raw_ & kOrderMask; }
  // An owner-defined flag on allocated blocks; the Heap marks slab pages with it.
  constexpr bool tagged() const { return (raw_ & kTagBit) != 0; }
  constexpr uint8_t raw() const { return raw_; }

 private:
  static constexpr uint8_t kOrderMask = 0x1f;
  static constexpr unsigned kStateShift = 5;
  static constexpr uint8_t kTagBit = 0x80;
  uint8_t raw_ = 0;
};

// Splits and coalesces power-of-two blocks. Order k is a block of 4 KiB << k bytes, aligned to
// its size relative to the (max-block-aligned) base, so a block's buddy is found by flipping
// one bit of its index. Free blocks are kept on intrusive doubly linked lists that live in the
// free blocks themselves; the only metadata outside the blocks is the byte map.
//
// The minimum block is 4 KiB, not smaller: objects below a page come from the slab layer
// (slab.h), and a page-sized minimum keeps the map at one byte per page and lets the range
// grow a page at a time.
//
// Locking: none inside. The kernel keeps the heap behind one lock; HeapBacking::back() is
// called with that lock held, so it must not allocate from this heap.
class BuddyAllocator {
 public:
  static constexpr unsigned kMinShift = kPageShift;
  static constexpr usize kMinBlock = usize{1} << kMinShift;
  static constexpr unsigned kMaxOrder = 10;  // 4 MiB
  static constexpr usize kMaxBlock = kMinBlock << kMaxOrder;
  // The range grows by at least this many bytes at a time, to amortise HeapBacking calls.
  static constexpr unsigned kGrowOrder = 4;  // 64 KiB

  constexpr BuddyAllocator() = default;
  BuddyAllocator(const BuddyAllocator&) = delete;
  BuddyAllocator& operator=(const BuddyAllocator&) = delete;

  // Map bytes needed to manage `range_size` bytes (one byte per 4 KiB).
  static constexpr usize map_bytes_needed(usize range_size) { return range_size >> kMinShift; }

  // Manages [base, base + size). base must be kMaxBlock-aligned and size a non-zero multiple
  // of kMinBlock (kNotAligned / kInvalidArgument otherwise); `map` must hold at least
  // map_bytes_needed(size) bytes (kOutOfRange). Nothing is backed yet. The allocator borrows
  // `map` and `backing` for its lifetime. Call once on a default-constructed allocator.
  Status init(uptr base, usize size, MutableByteSpan map, HeapBacking* backing);

  // Smallest order whose block holds `bytes`, or kMaxOrder + 1 when none does.
  static constexpr unsigned order_for(usize bytes) {
    unsigned order = 0;
    while (order <= kMaxOrder && (kMinBlock << order) < bytes) ++order;
    return order;
  }

  // A block of `bytes` rounded up to a power of two (>= 4 KiB), aligned to that size.
  // Errors: kInvalidArgument (bytes == 0 or above kMaxBlock), kNoMemory (the range is
  // exhausted or HeapBacking failed).
  Result<void*> allocate(usize bytes) {
    if (bytes == 0) return Error::kInvalidArgument;
    return allocate_order(order_for(bytes), false);
  }
  // A block of order `order`; `tagged` sets the BlockInfo tag (see BlockInfo::tagged()).
  Result<void*> allocate_order(unsigned order, bool tagged);

  // Frees a block from allocate*(). Errors, with nothing changed: kInvalidArgument (not a
  // block this allocator handed out: outside the range, misaligned, interior, or its tag
  // differs from `tagged`), kAlreadyExists (the block is already free: a double free).
  Status free(void* block, bool tagged = false);

  // The record of the block whose head is at `address`; BlockInfo() (kNone) when `address` is
  // outside the range or not a block head. O(1).
  BlockInfo info(uptr address) const {
    uptr offset = address - base_;  // wraps below base_, failing the bound check
    if (offset >= backed_ || (address & (kMinBlock - 1)) != 0) return BlockInfo();
    return BlockInfo(map_[offset >> kMinShift]);
  }
  // The record of the block head at `address`, for callers that hold no lock
  // (the heap's lock-free free path): `address` must be aligned to kMinBlock; returns kNone
  // outside the range. Reads the map byte atomically; the answer is stable only for blocks
  // that cannot change meanwhile (an allocated block nobody is freeing).
  BlockInfo info_unlocked(uptr address) const {
    uptr offset = address - base_;  // wraps below base_, failing the bound check
    if (offset >= size_) return BlockInfo();
    return BlockInfo(__atomic_load_n(&map_[offset >> kMinShift], __ATOMIC_RELAXED));
  }
  // Size in bytes of the allocated block at `block`, or kInvalidArgument.
  Result<usize> allocated_size(const void* block) const;

  uptr base() const { return base_; }
  usize size() const { return size_; }
  usize backed_bytes() const { return backed_; }
  usize free_bytes() const { return free_bytes_; }
  usize allocated_bytes() const { return backed_bytes() - free_bytes_; }
  // Free blocks of `order` (for tests: after everything is freed the heap must be back to
  // maximal blocks).
  usize free_blocks(unsigned order) const;

 private:
  struct FreeBlock {
    FreeBlock* next;
    FreeBlock* prev;
  };

  usize index_of(uptr address) const { return (address - base_) >> kMinShift; }
  // Map bytes change only under the owner's lock, but info_unlocked() reads them without it:
  // relaxed atomic stores keep those reads race-free.
  void set_map(usize index, BlockInfo info) {
    __atomic_store_n(&map_[index], info.raw(), __ATOMIC_RELAXED);
  }
  uptr address_of(usize index) const { return base_ + (index << kMinShift); }
  void push(usize index, unsigned order);
  void unlink(usize index, unsigned order);
  // Inserts the free block at `index` of `order`, merging with free buddies.
  void release(usize index, unsigned order);
  Status grow(unsigned order);

  uptr base_ = 0;
  usize size_ = 0;
  uptr brk_ = 0;      // [base_, brk_) is backed
  usize backed_ = 0;  // brk_ - base_, kept for the one-compare bound check in info()
  uint8_t* map_ = nullptr;
  HeapBacking* backing_ = nullptr;
  FreeBlock* free_lists_[kMaxOrder + 1] = {};
  uint32_t nonempty_ = 0;  // bit k set when free_lists_[k] is non-empty
  usize free_bytes_ = 0;
};

}  // namespace exo::mm
