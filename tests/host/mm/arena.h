// Test helper: a malloc'd, max-block-aligned arena implementing HeapBacking with ASan poisoning.
#pragma once

#include <sanitizer/asan_interface.h>

#include <cstdlib>

#include "kernel/mm/buddy.h"

namespace exo::mm {

// Memory the buddy allocator has not asked to back stays poisoned, so any touch of it (a
// block handed out beyond the break, a free-list write into unbacked memory) fails under ASan.
class Arena final : public HeapBacking {
 public:
  explicit Arena(usize size) : size_(size) {
    memory_ = static_cast<uint8_t*>(std::aligned_alloc(BuddyAllocator::kMaxBlock, size));
    ASAN_POISON_MEMORY_REGION(memory_, size_);
  }
  ~Arena() {
    ASAN_UNPOISON_MEMORY_REGION(memory_, size_);
    std::free(memory_);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  uptr base() const { return reinterpret_cast<uptr>(memory_); }
  // Fail the call after `calls` more successful ones; -1 never fails.
  void fail_after(int calls) { fail_after_ = calls; }
  usize backed() const { return backed_; }

  Status back(uptr base, usize size) override {
    if (fail_after_ == 0) return Error::kNoMemory;
    if (fail_after_ > 0) --fail_after_;
    // The buddy must back contiguously from the start, never twice.
    if (base != reinterpret_cast<uptr>(memory_) + backed_ || size == 0 || size % 4096 != 0 ||
        backed_ + size > size_) {
      std::abort();
    }
    ASAN_UNPOISON_MEMORY_REGION(reinterpret_cast<void*>(base), size);
    backed_ += size;
    return ok_status();
  }

 private:
  uint8_t* memory_;
  usize size_;
  usize backed_ = 0;
  int fail_after_ = -1;
};

}  // namespace exo::mm
