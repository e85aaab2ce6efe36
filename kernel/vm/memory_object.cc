// MemoryObject: eager frame allocation, direct-map writes, and freeing with the last reference.
#include "kernel/vm/memory_object.h"

#include "kernel/lib/new.h"
#include "kernel/mm/kernel_layout.h"
#include "kernel/mm/kernel_memory.h"

namespace exo::vm {

using mm::kPageSize;
using object::RefPtr;

Result<RefPtr<MemoryObject>> MemoryObject::create(usize pages) {
  if (pages == 0) return Error::kInvalidArgument;
  // Refuse at once what cannot possibly be satisfied (also keeps pages * 8 from wrapping).
  if (pages > mm::frame_counts().free) return Error::kNoMemory;
  void* memory = mm::heap_allocate(sizeof(MemoryObject), alignof(MemoryObject));
  if (memory == nullptr) return Error::kNoMemory;
  auto* frames = static_cast<PhysAddr*>(mm::heap_allocate(pages * sizeof(PhysAddr), alignof(PhysAddr)));
  if (frames == nullptr) {
    mm::heap_free(memory);
    return Error::kNoMemory;
  }
  for (usize i = 0; i < pages; ++i) {
    Result<PhysAddr> frame = mm::allocate_frame();
    if (!frame.ok()) {
      while (i-- > 0) mm::free_frame(frames[i]);
      mm::heap_free(frames);
      mm::heap_free(memory);
      return Error::kNoMemory;
    }
    frames[i] = *frame;
    __builtin_memset(mm::phys_to_virt<void>(*frame), 0, kPageSize);
  }
  auto* object = new (memory) MemoryObject();
  object->frames_ = frames;
  object->pages_ = pages;
  return object::adopt_ref(object);
}

Result<RefPtr<MemoryObject>> MemoryObject::create_physical(PhysAddr base, usize pages) {
  if (pages == 0 || base % kPageSize != 0) return Error::kInvalidArgument;
  void* memory = mm::heap_allocate(sizeof(MemoryObject), alignof(MemoryObject));
  if (memory == nullptr) return Error::kNoMemory;
  auto* object = new (memory) MemoryObject();
  object->base_ = base;
  object->pages_ = pages;
  object->physical_ = true;
  return object::adopt_ref(object);
}

Status MemoryObject::write(usize offset, const void* data, usize length) {
  if (offset > size() || length > size() - offset) return Error::kOutOfRange;
  auto* source = static_cast<const uint8_t*>(data);
  while (length != 0) {
    usize in_page = offset % kPageSize;
    usize chunk = kPageSize - in_page < length ? kPageSize - in_page : length;
    auto* page = mm::phys_to_virt<uint8_t>(frame(offset / kPageSize));
    __builtin_memcpy(page + in_page, source, chunk);
    source += chunk;
    offset += chunk;
    length -= chunk;
  }
  return ok_status();
}

void MemoryObject::destroy() {
  if (!physical_) {
    for (usize i = 0; i < pages_; ++i) mm::free_frame(frames_[i]);
    mm::heap_free(frames_);
  }
  this->~MemoryObject();
  mm::heap_free(this);
}

}  // namespace exo::vm
