// Slab caches: slab set-up, the slow paths, and the Heap's large-allocation path.
#include "kernel/mm/slab.h"

#include "kernel/lib/utility.h"

namespace exo::mm {

Status SlabCache::init(usize object_size, BuddyAllocator* pages) {
  if (pages_ != nullptr || pages == nullptr || !is_power_of_two(object_size) ||
      object_size < kMinObject || object_size > kMaxObject) {
    return Error::kInvalidArgument;
  }
  pages_ = pages;
  shift_ = static_cast<unsigned>(__builtin_ctzll(object_size));
  mask_ = object_size - 1;
  // Objects start at a multiple of their size so they are naturally aligned.
  first_offset_ = static_cast<uint32_t>(align_up(sizeof(Slab), object_size));
  capacity_ = static_cast<uint32_t>((kSlabBytes - first_offset_) >> shift_);
  return ok_status();
}

void SlabCache::link(Slab* slab) {
  slab->prev = nullptr;
  slab->next = partial_;
  if (partial_ != nullptr) partial_->prev = slab;
  partial_ = slab;
}

void SlabCache::unlink(Slab* slab) {
  if (slab->prev != nullptr) {
    slab->prev->next = slab->next;
  } else {
    partial_ = slab->next;
  }
  if (slab->next != nullptr) slab->next->prev = slab->prev;
  slab->next = nullptr;
  slab->prev = nullptr;
}

Status SlabCache::grow() {
  if (pages_ == nullptr) return Error::kInvalidArgument;
  void* page = EXO_TRY(pages_->allocate_order(kSlabOrder, true));
  auto* slab = static_cast<Slab*>(page);
  slab->cache = this;
  slab->in_use = 0;
  slab->capacity = capacity_;
  slab->class_index = class_index();
  slab->reserved = 0;
  // Plain stores are enough: no object of this slab has been handed out, so nobody else can
  // reach these bytes until the heap lock is released.
  __builtin_memset(slab->state, 0, sizeof(slab->state));
  // Threaded from the top down so allocation hands out ascending addresses.
  FreeObject* head = nullptr;
  uptr first = reinterpret_cast<uptr>(slab) + first_offset_;
  for (usize i = capacity_; i-- > 0;) {
    auto* object = reinterpret_cast<FreeObject*>(first + (i << shift_));
    object->next = head;
    head = object;
  }
  slab->free_list = head;
  link(slab);
  ++slabs_;
  return ok_status();
}

Result<void*> SlabCache::allocate_slow() {
  Slab* slab = partial_;
  if (slab == nullptr) {
    EXO_TRY(grow());
    slab = partial_;
  }
  FreeObject* object = slab->free_list;
  slab->free_list = object->next;
  ++slab->in_use;
  ++in_use_;
  if (slab->free_list == nullptr) unlink(slab);
  mark_allocated(object);
  return static_cast<void*>(object);
}

usize SlabCache::take(void** out, usize count) {
  usize taken = 0;
  while (taken < count) {
    Slab* slab = partial_;
    if (slab == nullptr) {
      if (!grow().ok()) break;
      slab = partial_;
    }
    // Whole runs off one slab: its counters change once per slab, not once per object.
    FreeObject* object = slab->free_list;
    uint32_t moved = 0;
    while (object != nullptr && taken < count) {
      out[taken++] = object;
      object = object->next;
      ++moved;
    }
    slab->free_list = object;
    slab->in_use += moved;
    in_use_ += moved;
    if (object == nullptr) unlink(slab);
  }
  return taken;
}

void SlabCache::give_back(void* object) {
  release(reinterpret_cast<Slab*>(slab_base(object)), object);
}

Status SlabCache::free(void* object) {
  if (pages_ == nullptr) return Error::kInvalidArgument;
  Slab* slab = slab_of(*pages_, object);
  if (slab == nullptr || slab->cache != this) return Error::kInvalidArgument;
  return free_in(slab, object);
}

void SlabCache::after_free(Slab* slab, uint32_t was_in_use) {
  if (was_in_use == capacity_) link(slab);
  if (slab->in_use != 0 || (partial_ == slab && slab->next == nullptr)) return;
  unlink(slab);
  --slabs_;
  // Cannot fail: the slab is a live tagged block of pages_ (slab_of checked it).
  (void)pages_->free(slab, true);
}

Status Heap::init(BuddyAllocator* pages) {
  if (pages_ != nullptr || pages == nullptr) return Error::kInvalidArgument;
  pages_ = pages;
  for (usize i = 0; i < kClasses; ++i) {
    EXO_TRY(caches_[i].init(SlabCache::kMinObject << i, pages));
  }
  return ok_status();
}

Result<void*> Heap::allocate_large(usize size) {
  if (pages_ == nullptr || size > BuddyAllocator::kMaxBlock) return Error::kNoMemory;
  return pages_->allocate(size);
}

Result<usize> Heap::allocation_size(const void* ptr) const {
  if (ptr == nullptr || pages_ == nullptr) return Error::kInvalidArgument;
  SlabCache::Slab* slab = SlabCache::slab_of(*pages_, ptr);
  if (slab == nullptr) return pages_->allocated_size(ptr);
  const SlabCache& cache = *slab->cache;
  if (!cache.is_object_start(slab, ptr)) return Error::kInvalidArgument;
  if (__atomic_load_n(SlabCache::state_byte(ptr), __ATOMIC_RELAXED) == 0) {
    return Error::kInvalidArgument;
  }
  return cache.object_size();
}

}  // namespace exo::mm
