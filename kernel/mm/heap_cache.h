// Per-CPU magazines in front of the heap's slab classes: the lock-free fast path of small
// allocations and frees.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/slab.h"

namespace exo::mm {

// One CPU's stock of free objects of one slab class: a stack (a "magazine", Bonwick and Adams,
// USENIX 2001) of up to kCapacity objects. The common allocate/free pair pops and pushes here
// and never takes the heap lock; an empty magazine refills kBatch objects from the slabs, a full
// one drains its kBatch oldest back, both under the lock.
//
// Objects in a magazine are free: their state byte (slab.h) is 0, set back to 1 when one is
// handed out, so a double free is caught at once even when the first free went into a
// magazine (Heap::claim refuses an object whose byte is already 0). Objects in magazines count
// as in use in their SlabCache (they are off the slabs) and keep their slab from being returned
// to the buddy allocator.
//
// Locking contract: a magazine belongs to one CPU and is used only there with interrupts off
// (interrupt handlers and the scheduler's reaping may free), so it needs no lock of its own.
// refill, free_claimed and drain are called under the heap's lock.
class HeapMagazine {
 public:
  // 31 objects and a count make a magazine 256 bytes: the kernel finds the magazine of CPU c,
  // class k at ((c * Heap::kClasses) + k) << 8 in one flat array.
  static constexpr usize kCapacity = 31;
  static constexpr usize kBatch = 16;

  constexpr HeapMagazine() = default;
  HeapMagazine(const HeapMagazine&) = delete;
  HeapMagazine& operator=(const HeapMagazine&) = delete;

  // Fast paths, inline, no lock. try_allocate stores an object marked handed out in *object, or
  // returns false when the magazine is empty. try_free stores an object Heap::claim accepted
  // for this magazine's class; false when the magazine is full (the object stays claimed and
  // the caller must still place it: free_claimed does).
  bool try_allocate(void** object) {
    usize n = count_;
    if (n == 0) [[unlikely]] {
      return false;
    }
    set_count(n - 1);
    *object = objects_[n - 1];
    SlabCache::mark_allocated(*object);
    return true;
  }
  bool try_free(void* object) {
    usize n = count_;
    if (n == kCapacity) [[unlikely]] {
      return false;
    }
    objects_[n] = object;
    set_count(n + 1);
    return true;
  }

  // Slow paths. Locking: the caller holds the heap's lock.
  // Moves up to kBatch objects of class `cls` from the slabs into the (empty) magazine; fewer
  // only when memory runs out.
  void refill(Heap& heap, usize cls);
  // Places a claimed object when the magazine is full: the kBatch oldest go back to their slabs
  // first.
  void free_claimed(Heap& heap, void* object);
  // Returns `count` (at most count()) of the oldest objects to their slabs.
  void drain(Heap& heap, usize count);

  // Objects held. Another CPU may read it (for counters).
  usize count() const { return __atomic_load_n(&count_, __ATOMIC_RELAXED); }

 private:
  // Only the owner writes count_ (relaxed atomic stores, so count() may read it elsewhere).
  void set_count(usize n) { __atomic_store_n(&count_, n, __ATOMIC_RELAXED); }

  usize count_ = 0;
  void* objects_[kCapacity] = {};
};
static_assert(sizeof(HeapMagazine) == 256);

// One CPU's magazines, one per class, and the whole small-object operations built on them: the
// fast path, else refill or drain under `lock` (the heap's lock: any type with lock() and
// unlock()). The kernel inlines the same composition over its flat magazine array
// (kernel_memory.h); this type is what the host tests drive.
class HeapCache {
 public:
  constexpr HeapCache() = default;
  HeapCache(const HeapCache&) = delete;
  HeapCache& operator=(const HeapCache&) = delete;

  HeapMagazine& magazine(usize cls) { return magazines_[cls]; }
  const HeapMagazine& magazine(usize cls) const { return magazines_[cls]; }

  // An object of class `cls` (< Heap::kClasses), or null when the heap has no memory left.
  template <typename Lock>
  void* allocate(Heap& heap, usize cls, Lock& lock) {
    void* object;
    if (magazines_[cls].try_allocate(&object)) [[likely]] {
      return object;
    }
    lock.lock();
    magazines_[cls].refill(heap, cls);
    lock.unlock();
    return magazines_[cls].try_allocate(&object) ? object : nullptr;
  }

  // Anything Heap::free accepts. Claimable slab objects go to a magazine; the rest (null,
  // buddy blocks, bad pointers) to heap.free under the lock, whose error is returned.
  template <typename Lock>
  Status free(Heap& heap, void* object, Lock& lock) {
    usize cls;
    if (!Heap::claim(heap.pages(), object, &cls)) [[unlikely]] {
      if (object == nullptr) return ok_status();
      lock.lock();
      Status freed = heap.free(object);
      lock.unlock();
      return freed;
    }
    if (magazines_[cls].try_free(object)) [[likely]] {
      return ok_status();
    }
    lock.lock();
    magazines_[cls].free_claimed(heap, object);
    lock.unlock();
    return ok_status();
  }

  // Returns every object to its slab (CPU going offline, memory pressure, tests). Locking: the
  // caller holds the heap's lock.
  void drain_all(Heap& heap) {
    for (HeapMagazine& m : magazines_) m.drain(heap, m.count());
  }

  // Objects held in all magazines.
  usize count() const {
    usize total = 0;
    for (const HeapMagazine& m : magazines_) total += m.count();
    return total;
  }

 private:
  HeapMagazine magazines_[Heap::kClasses];
};

}  // namespace exo::mm
