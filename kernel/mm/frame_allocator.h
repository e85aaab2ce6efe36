// Physical frame allocator: a bitmap of 4 KiB frames with two summary levels, plus a per-CPU
// FrameCache.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"

namespace exo::mm {

// Owns the physical frames [0, frame_limit) that the boot memory map says are usable RAM,
// minus reserved ranges and minus everything below 1 MiB.
//
// Storage: three bit levels, all in caller-provided memory (see bytes_needed()):
//   free_    one bit per frame, set = free;
//   summary1 one bit per free_ word, set = that word has a free frame;
//   summary2 one bit per summary1 word, set = that word is non-zero;
// plus managed_, one bit per frame, set = the frame belongs to this allocator (usable, not
// reserved). The top level is scanned linearly; it has one word per 2^18 frames (1 TiB), so
// finding a free frame costs a handful of word loads whatever the fragmentation.
//
// Frame states: unmanaged (managed_ clear: a hole, MMIO, reserved or low memory), free, or
// allocated (managed_ set, free_ clear). Frames sitting in a FrameCache count as allocated.
//
// Locking: none inside. The kernel keeps one allocator behind one spinlock and calls every
// member under it; FrameCache (below) is how the hot path avoids that lock.
class FrameAllocator {
 public:
  // Frames below this address are never handed out: real-mode IVT/BDA/EBDA, the legacy video
  // hole and the AP start-up trampoline live there, and ISA DMA can only reach it.
  static constexpr PhysAddr kLowMemoryLimit = 1 * MiB;

  constexpr FrameAllocator() = default;
  FrameAllocator(const FrameAllocator&) = delete;
  FrameAllocator& operator=(const FrameAllocator&) = delete;

  // Bytes of storage init() needs to manage frames [0, frame_limit).
  static usize bytes_needed(uint64_t frame_limit);

  // Builds the allocator. `usable` lists usable RAM (page-rounded inwards, may overlap, may
  // extend past frame_limit: the excess is ignored); `reserved` lists ranges inside usable RAM
  // that must never be handed out (kernel image, boot modules, the multiboot information, boot
  // page tables, and `storage` itself if it lies in RAM); they are rounded outwards.
  // `storage` must be 8-byte aligned and at least bytes_needed(frame_limit) bytes; the
  // allocator borrows it for its lifetime. Errors: kNotAligned (storage), kOutOfRange
  // (storage too small), kInvalidArgument (frame_limit == 0 or above 2^40 frames), kOverflow
  // (a range wraps). May be called once on a default-constructed allocator.
  Status init(Span<const PhysRange> usable, Span<const PhysRange> reserved, uint64_t frame_limit,
              MutableByteSpan storage);

  // One free frame (its physical address), or kNoMemory.
  Result<PhysAddr> alloc();
  // Returns a frame obtained from alloc()/alloc_run(). Errors, with nothing changed:
  // kNotAligned (not 4 KiB aligned), kInvalidArgument (never usable: outside RAM, reserved,
  // below 1 MiB), kAlreadyExists (the frame is already free: a double free).
  Status free(PhysAddr frame);

  // `count` physically contiguous free frames whose first frame number is a multiple of
  // `align_frames` (a power of two). Errors: kInvalidArgument (count == 0 or align not a power
  // of two), kNoMemory (no such run exists).
  Result<PhysAddr> alloc_run(usize count, usize align_frames);
  // Frees [base, base + count frames). Every frame is checked before any is freed, so an
  // error (as for free()) leaves the allocator unchanged.
  Status free_run(PhysAddr base, usize count);

  // Counters, in frames. total = usable RAM below frame_limit (including low memory and
  // reserved frames) and always total == free + allocated + reserved.
  uint64_t total_frames() const { return total_; }
  uint64_t free_frames() const { return free_count_; }
  uint64_t reserved_frames() const { return reserved_; }
  uint64_t allocated_frames() const { return total_ - reserved_ - free_count_; }
  uint64_t frame_limit() const { return frame_limit_; }
  // frame_limit() in bytes: every frame this allocator can own lies below it.
  PhysAddr address_limit() const { return address_limit_; }

  // True when `frame` is managed and currently free (for tests and debug checks).
  bool is_free(PhysAddr frame) const;
  // True when `frame` may ever be handed out by this allocator.
  bool is_managed(PhysAddr frame) const;

 private:
  static constexpr usize kNone = ~usize{0};
  struct Layout {
    usize words0;
    usize words1;
    usize words2;
  };
  static Layout layout_for(uint64_t frame_limit);

  // Lowest free frame number >= from, or kNone.
  usize next_free(usize from) const;
  // Lowest frame number in [from, to) whose free bit is clear, or `to`.
  usize next_used(usize from, usize to) const;
  void mark_free(usize frame);
  void mark_used(usize frame);
  static bool test(const uint64_t* bits, usize index) {
    return (bits[index / 64] >> (index % 64)) & 1;
  }

  uint64_t* free_ = nullptr;
  uint64_t* summary1_ = nullptr;
  uint64_t* summary2_ = nullptr;
  uint64_t* managed_ = nullptr;
  Layout layout_ = {};
  uint64_t frame_limit_ = 0;
  PhysAddr address_limit_ = 0;
  uint64_t total_ = 0;
  uint64_t free_count_ = 0;
  uint64_t reserved_ = 0;
};

// A small per-CPU stack of frames so the common alloc/free pair touches neither the shared
// bitmap nor its lock. It refills and drains kBatch frames at a time.
//
// Locking contract: a FrameCache belongs to one CPU and is used with preemption (or
// interrupts, if interrupt handlers allocate frames) disabled on that CPU, so it needs no lock
// of its own. `Lock` is the lock of the shared FrameAllocator (any type with lock() and
// unlock()); the cache takes it only around refill and drain, never on the fast path.
//
// Double frees: a frame is checked against the shared allocator's bitmap when it is drained
// back to it. A frame freed twice while both copies are still in this cache is caught by a
// scan of the cache when EXO_MM_CACHE_CHECKS is 1 (the host default); the kernel build turns
// the scan off to keep the fast path constant-time and relies on the drain-time check.
#ifndef EXO_MM_CACHE_CHECKS
#if defined(EXO_HOST)
#define EXO_MM_CACHE_CHECKS 1
#else
#define EXO_MM_CACHE_CHECKS 0
#endif
#endif

class FrameCache {
 public:
  static constexpr usize kCapacity = 64;
  static constexpr usize kBatch = 32;

  constexpr FrameCache() = default;
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;

  // A frame from the cache; when empty, refills a batch from `shared` under `lock` first.
  // kNoMemory only when the shared allocator has no frame at all.
  template <typename Lock>
  Result<PhysAddr> alloc(FrameAllocator& shared, Lock& lock) {
    PhysAddr frame;
    if (try_pop(&frame)) [[likely]] {
      return frame;
    }
    lock.lock();
    refill(shared);
    lock.unlock();
    if (!try_pop(&frame)) return Error::kNoMemory;
    return frame;
  }

  // Puts a frame back in the cache; when full, drains a batch to `shared` under `lock` first.
  // Precondition checked: 4 KiB aligned (kNotAligned) and below the allocator's frame_limit
  // (kInvalidArgument). An error from the drain (a double free or foreign frame detected by
  // the shared allocator) is returned; the offending frame is dropped from the cache.
  template <typename Lock>
  Status free(PhysAddr frame, FrameAllocator& shared, Lock& lock) {
    if ((frame & (kPageSize - 1)) != 0) [[unlikely]] {
      return Error::kNotAligned;
    }
    if (frame >= shared.address_limit()) [[unlikely]] {
      return Error::kInvalidArgument;
    }
#if EXO_MM_CACHE_CHECKS
    for (usize i = 0; i < count_; ++i) {
      if (frames_[i] == frame) return Error::kAlreadyExists;
    }
#endif
    if (try_push(frame)) [[likely]] {
      return ok_status();
    }
    lock.lock();
    Status drained = drain(shared, kBatch);
    lock.unlock();
    if (!drained.ok()) return drained;
    (void)try_push(frame);  // cannot fail: the drain made room
    return ok_status();
  }

  // The fast paths the two calls above are made of, for callers that keep their own slow path
  // out of line (the kernel: kernel_memory.cc). try_pop returns false when the cache is empty;
  // try_push returns false when it is full and checks nothing: the caller has checked alignment
  // and the limit.
  bool try_pop(PhysAddr* frame) {
    usize n = count_;
    if (n == 0) [[unlikely]] {
      return false;
    }
    set_count(n - 1);
    *frame = frames_[n - 1];
    return true;
  }
  bool try_push(PhysAddr frame) {
    usize n = count_;
    if (n == kCapacity) [[unlikely]] {
      return false;
    }
    frames_[n] = frame;
    set_count(n + 1);
    return true;
  }

  // Returns every cached frame to `shared` (CPU going offline, memory pressure).
  // Locking: the caller holds the shared allocator's lock.
  Status drain_all(FrameAllocator& shared) {
    return drain(shared, count_);
  }

  // Frames held. Another CPU may read it (for counters) while the owner changes it.
  usize count() const {
    return __atomic_load_n(&count_, __ATOMIC_RELAXED);
  }

  // Moves up to kBatch frames from `shared` into the cache. Locking: caller holds shared's lock.
  void refill(FrameAllocator& shared);
  // Moves `count` frames (at most count()) back to `shared`. Every frame is attempted; the
  // first error is returned and frames that failed are dropped (they were not ours to keep).
  // Locking: caller holds shared's lock.
  Status drain(FrameAllocator& shared, usize count);

 private:
  // Only the owner writes count_ (relaxed atomic stores, so count() may read it from another
  // CPU); it reads it plainly.
  void set_count(usize n) {
    __atomic_store_n(&count_, n, __ATOMIC_RELAXED);
  }

  usize count_ = 0;
  PhysAddr frames_[kCapacity] = {};
};

}  // namespace exo::mm
