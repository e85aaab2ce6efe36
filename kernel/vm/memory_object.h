// MemoryObject: a set of physical pages that address spaces map (anonymous memory, shared
// buffers, the images libsys loads, the initrd). Reference-counted: every handle and every
// mapping holds a reference, and the pages go back to the frame allocator with the last one.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"
#include "kernel/object/kernel_object.h"
#include "kernel/object/ref_counted.h"

namespace exo::vm {

using mm::kPageSize;
using mm::PhysAddr;

class MemoryObject final : public object::KernelObject {
 public:
  static constexpr object::ObjectType kType = object::ObjectType::kMemoryObject;

  // `pages` zeroed frames, allocated now (no demand paging yet). kNoMemory when the frames
  // are not there (checked against the free count first, so a huge request costs nothing);
  // kInvalidArgument for 0 pages.
  static Result<object::RefPtr<MemoryObject>> create(usize pages);
  // A view of physical memory the object does not own (the initrd GRUB loaded): its frames are
  // never freed. Precondition: [base, base + pages * 4 KiB) is reserved RAM.
  static Result<object::RefPtr<MemoryObject>> create_physical(PhysAddr base, usize pages);

  usize page_count() const { return pages_; }
  usize size() const { return pages_ * kPageSize; }
  PhysAddr frame(usize index) const { return physical_ ? base_ + index * kPageSize : frames_[index]; }

  // Copies `length` bytes into the object at `offset` through the direct map (kernel loader).
  // kOutOfRange when the range does not fit.
  Status write(usize offset, const void* data, usize length);

  void destroy() override;

 private:
  MemoryObject() : KernelObject(kType) {}

  PhysAddr* frames_ = nullptr;  // owned frames (null for a physical view)
  PhysAddr base_ = 0;           // a physical view's first frame
  usize pages_ = 0;
  bool physical_ = false;
};

}  // namespace exo::vm
