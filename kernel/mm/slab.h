// Slab object caches for power-of-two sizes 16 B .. 2 KiB on buddy pages, and the Heap facade
// (allocate/free).
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/buddy.h"

namespace exo::mm {

// One size class. Objects live in 16 KiB slabs (buddy order 2, marked with the BlockInfo tag)
// whose first bytes hold the slab header: the intrusive free list head, list links and one
// state byte per 16-byte unit of the slab. A unit's byte is 1 exactly while the object starting
// there is in a user's hands, 0 otherwise (on the slab's free list, in a per-CPU magazine
// (heap_cache.h), or not an object start at all). That makes double frees and frees of
// pointers that are not object starts detectable in O(1), and because each object has its own
// byte, a CPU can flip it with a plain store or one XCHG without a lock and without disturbing
// its neighbours; the buddy tag proves a pointer lies in a live slab. The bytes cost 1/16 of a
// slab (the 16 B class keeps 957 of the 1,013 objects a 40-byte header would leave).
// A slab is 16 KiB rather than a page so that the 2 KiB class still gets 7 objects per slab
// after the header.
//
// Empty slabs: a slab that becomes empty goes back to the buddy allocator unless it is the
// only slab on the partial list, which absorbs alloc/free ping-pong at a slab boundary.
//
// Locking: everything here is guarded by the lock of the Heap (or owner) that holds the cache,
// which is also the buddy allocator's lock, except the state bytes of objects that left the
// slab (see Heap::claim and HeapCache), which are atomic.
class SlabCache {
 public:
  static constexpr usize kMinObject = 16;
  static constexpr unsigned kMinObjectShift = 4;
  static constexpr usize kMaxObject = 2048;
  static constexpr unsigned kSlabOrder = 2;
  static constexpr usize kSlabBytes = BuddyAllocator::kMinBlock << kSlabOrder;
  static constexpr usize kUnits = kSlabBytes / kMinObject;

  constexpr SlabCache() = default;
  SlabCache(const SlabCache&) = delete;
  SlabCache& operator=(const SlabCache&) = delete;

  // object_size: a power of two in [kMinObject, kMaxObject], else kInvalidArgument. The cache
  // borrows `pages` for its lifetime. Call once.
  Status init(usize object_size, BuddyAllocator* pages);

  // An object of object_size() bytes aligned to object_size(), or kNoMemory.
  Result<void*> allocate() {
    Slab* slab = partial_;
    if (slab == nullptr) [[unlikely]] {
      return allocate_slow();
    }
    FreeObject* object = slab->free_list;
    FreeObject* next = object->next;
    // The last free object of a slab also unlinks the slab: the slow path does that.
    if (next == nullptr) [[unlikely]] {
      return allocate_slow();
    }
    slab->free_list = next;
    ++slab->in_use;
    ++in_use_;
    mark_allocated(object);
    return static_cast<void*>(object);
  }
  // Frees an object of this cache. Errors, with nothing changed: kInvalidArgument (not an
  // object of this cache), kAlreadyExists (double free).
  Status free(void* object);

  // Batch moves for a per-CPU magazine (heap_cache.h). take() moves up to `count` objects off
  // the slabs into `out` without marking them allocated (they are in nobody's hands yet) and
  // returns how many it moved: fewer only when the buddy allocator has no slab left to give.
  // give_back() returns one such unmarked object (a slab object of this cache whose state byte
  // is 0, as Heap::claim leaves it) to its slab.
  usize take(void** out, usize count);
  void give_back(void* object);

  // Marks a live slab object (one take() or allocate() handed out) as in a user's hands.
  // No lock needed: the byte is the object's own.
  static void mark_allocated(void* object) {
    __atomic_store_n(state_byte(object), uint8_t{1}, __ATOMIC_RELAXED);
  }

  usize object_size() const { return usize{1} << shift_; }
  usize objects_per_slab() const { return capacity_; }
  // Objects off the slabs: in users' hands or in per-CPU magazines.
  usize objects_in_use() const { return in_use_; }
  usize slabs() const { return slabs_; }
  // This cache's class in its Heap (log2(object_size) - 4), also stored in each slab's header.
  unsigned class_index() const { return shift_ - kMinObjectShift; }

 private:
  friend class Heap;
  struct FreeObject {
    FreeObject* next;
  };
  struct Slab {
    SlabCache* cache;
    FreeObject* free_list;
    Slab* next;  // partial list links (slabs with at least one free object)
    Slab* prev;
    uint32_t in_use;  // objects off the free list
    uint32_t capacity;
    uint32_t class_index;
    uint32_t reserved;
    uint8_t state[kUnits];  // per 16-byte unit: 1 = the object starting there is handed out
  };
  static_assert(sizeof(Slab) <= 1088, "the slab header eats into small slabs");

  // The 16 KiB-aligned block that would hold `object` if it were a slab object.
  static uptr slab_base(const void* object) {
    return reinterpret_cast<uptr>(object) & ~(uptr{kSlabBytes} - 1);
  }
  // The state byte of the 16-byte unit at `object`. Precondition: `object` lies in a live slab.
  static uint8_t* state_byte(const void* object) {
    auto address = reinterpret_cast<uptr>(object);
    return &reinterpret_cast<Slab*>(slab_base(object))
                ->state[(address >> kMinObjectShift) & (kUnits - 1)];
  }
  // True when the block at `base` is a live slab (of any cache): a tagged order-2 block.
  static bool is_slab(const BuddyAllocator& pages, uptr base) {
    return pages.info(base).raw() ==
           BlockInfo::make(BlockInfo::State::kAllocated, kSlabOrder, true).raw();
  }
  // The slab header for `object` if it lies in a live slab of any cache, else null.
  static Slab* slab_of(const BuddyAllocator& pages, const void* object) {
    uptr base = slab_base(object);
    return is_slab(pages, base) ? reinterpret_cast<Slab*>(base) : nullptr;
  }
  bool is_object_start(const Slab* slab, const void* object) const {
    uptr offset = reinterpret_cast<uptr>(object) - reinterpret_cast<uptr>(slab);
    return offset >= first_offset_ && (offset & mask_) == 0;
  }
  Status free_in(Slab* slab, void* object) {
    if (!is_object_start(slab, object)) [[unlikely]] {
      return Error::kInvalidArgument;
    }
    if (__atomic_exchange_n(state_byte(object), uint8_t{0}, __ATOMIC_RELAXED) == 0) [[unlikely]] {
      return Error::kAlreadyExists;
    }
    release(slab, object);
    return ok_status();
  }
  // Puts an object whose state byte is already 0 back on its slab's free list.
  void release(Slab* slab, void* object) {
    auto* node = static_cast<FreeObject*>(object);
    node->next = slab->free_list;
    slab->free_list = node;
    --in_use_;
    uint32_t was_in_use = slab->in_use--;
    // Was full (goes back on the partial list) or is now empty (may go back to the buddy):
    // was_in_use is 1 or capacity_, tested with one unsigned compare (capacity_ >= 7).
    if (was_in_use - 2 >= capacity_ - 2) [[unlikely]] {
      after_free(slab, was_in_use);
    }
  }
  Result<void*> allocate_slow();
  void after_free(Slab* slab, uint32_t was_in_use);
  Status grow();
  void link(Slab* slab);
  void unlink(Slab* slab);

  BuddyAllocator* pages_ = nullptr;
  Slab* partial_ = nullptr;
  unsigned shift_ = 0;
  uptr mask_ = 0;  // object_size() - 1
  uint32_t first_offset_ = 0;
  uint32_t capacity_ = 0;
  usize in_use_ = 0;
  usize slabs_ = 0;
};

// The kernel heap: allocate(size, align) from a slab class when max(size, align) <= 2 KiB,
// else a buddy block (power of two, >= 4 KiB, aligned to its size, at most 4 MiB).
//
// Locking: none inside. The kernel wraps one Heap in one spinlock (the buddy allocator and
// every cache are only reached through it), except claim(), which needs no lock; the per-CPU
// magazines in front of the slab classes (heap_cache.h) are built on it.
class Heap {
 public:
  static constexpr usize kClasses = 8;  // 16, 32, ..., 2048

  constexpr Heap() = default;
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // Borrows `pages` (already initialised) for the heap's lifetime. Call once; allocate() and
  // free() require it to have succeeded.
  Status init(BuddyAllocator* pages);

  // size > 0 bytes aligned to `align` (a power of two). Errors: kInvalidArgument (size == 0,
  // bad align), kNoMemory (exhausted, or larger than BuddyAllocator::kMaxBlock).
  Result<void*> allocate(usize size, usize align = 16) {
    // "align is not a power of two", spelled so clang does not turn it into a popcount, which
    // without POPCNT (the kernel targets baseline x86_64) is a 20-instruction sequence: for a
    // power of two p, p ^ (p - 1) = 2p - 1 > p - 1; otherwise (and for 0) it is <= align - 1.
    if (size == 0 || (align ^ (align - 1)) <= align - 1) [[unlikely]] {
      return Error::kInvalidArgument;
    }
    usize need = size > align ? size : align;
    if (need <= SlabCache::kMaxObject) [[likely]] {
      return caches_[class_of(need)].allocate();
    }
    return allocate_large(need);
  }

  // Frees a pointer from allocate(); null is accepted and ignored. Errors, with nothing
  // changed: kInvalidArgument (not from this heap, or not the start of an allocation),
  // kAlreadyExists (double free). The kernel panics on either, naming the pointer.
  Status free(void* ptr) {
    if (ptr == nullptr) return ok_status();
    uptr base = SlabCache::slab_base(ptr);
    if (SlabCache::is_slab(*pages_, base)) [[likely]] {
      auto* slab = reinterpret_cast<SlabCache::Slab*>(base);
      return slab->cache->free_in(slab, ptr);
    }
    return pages_->free(ptr, false);
  }

  // The lock-free first half of freeing a slab object: if `ptr` starts an object of a live slab
  // that is in a user's hands, marks it not handed out (so a second free of it fails), stores
  // its class in *cls and returns true; otherwise returns false and changes nothing. The caller
  // then owns the object: it must give it back to its cache (under the lock) or keep it in a
  // magazine. false covers null, buddy blocks, foreign pointers, double frees and interior
  // pointers; free() under the lock tells them apart. Exact unless the pointer is invalid and
  // its slab is being returned to the buddy allocator at the same moment (a racing bad free
  // may then go unnoticed; a valid free cannot race with that: its slab is not empty).
  // `pages` is this heap's buddy allocator (pages()), passed in so a caller that knows where it
  // lives saves a load.
  static bool claim(const BuddyAllocator& pages, void* ptr, usize* cls) {
    uptr base = SlabCache::slab_base(ptr);
    if (pages.info_unlocked(base).raw() !=
        BlockInfo::make(BlockInfo::State::kAllocated, SlabCache::kSlabOrder, true).raw())
        [[unlikely]] {
      return false;
    }
    // A unit that does not start an object (the header, an object's interior) always reads 0,
    // so one exchange checks both "object start" and "handed out".
    if (__atomic_exchange_n(SlabCache::state_byte(ptr), uint8_t{0}, __ATOMIC_RELAXED) == 0)
        [[unlikely]] {
      return false;
    }
    *cls = reinterpret_cast<const SlabCache::Slab*>(base)->class_index;
    return true;
  }

  // Batch moves between class `cls` and a magazine; see SlabCache::take/give_back. Locking: the
  // heap's lock.
  usize take(usize cls, void** out, usize count) { return caches_[cls].take(out, count); }
  void give_back(void* object) {
    reinterpret_cast<SlabCache::Slab*>(SlabCache::slab_base(object))->cache->give_back(object);
  }

  // Bytes usable at `ptr` (its class size or block size), or kInvalidArgument.
  Result<usize> allocation_size(const void* ptr) const;

  const SlabCache& cache(usize index) const { return caches_[index]; }
  const BuddyAllocator& pages() const { return *pages_; }

  // Slab class for `size` in [1, kMaxObject].
  static constexpr usize class_of(usize size) {
    return size <= SlabCache::kMinObject ? 0
                                         : static_cast<usize>(64 - __builtin_clzll(size - 1)) - 4;
  }

 private:
  Result<void*> allocate_large(usize size);

  BuddyAllocator* pages_ = nullptr;
  SlabCache caches_[kClasses];
};

}  // namespace exo::mm
