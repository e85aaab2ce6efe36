// Address types and page-size constants shared by the memory-management code.
#pragma once

#include "kernel/lib/types.h"

namespace exo::mm {

// A physical address. Kept distinct in name from virtual addresses so signatures say which
// space a number lives in; both are plain integers because the hardware formats are.
using PhysAddr = uint64_t;
// A virtual (linear) address.
using VirtAddr = uint64_t;

inline constexpr unsigned kPageShift = 12;
inline constexpr usize kPageSize = usize{1} << kPageShift;  // 4 KiB
inline constexpr unsigned kLargePageShift = 21;
inline constexpr usize kLargePageSize = usize{1} << kLargePageShift;  // 2 MiB

// A physical byte range [base, base + size). Used for the boot memory map handed to the
// frame allocator (usable RAM and reserved ranges).
struct PhysRange {
  PhysAddr base;
  uint64_t size;
};

}  // namespace exo::mm
