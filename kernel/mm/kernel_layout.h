// The kernel's virtual address-space layout (docs/memory.md) and the direct-map conversion.
#pragma once

#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"

namespace exo::mm {

// All of physical memory, PML4 slot 256 onwards.
inline constexpr uptr kDirectMapBase = 0xffff800000000000;
// The kernel heap's buddy range.
inline constexpr uptr kHeapBase = 0xffffc00000000000;
// Kernel stacks: slot i spans [base + i * slot, base + (i + 1) * slot); its first page is the
// guard (never mapped), the stack follows, the rest of the slot stays unmapped.
inline constexpr uptr kKernelStackBase = 0xffffd00000000000;
inline constexpr usize kKernelStackSlotSize = 32 * 1024;
inline constexpr usize kKernelStackSlots = usize{1} << 20;  // a million threads' worth
// Freed kernel stacks kept mapped for reuse (at most 4 MiB of frames).
inline constexpr usize kStackCacheSize = 256;
// A window for tests that map and unmap through the real MMU.
inline constexpr uptr kTestWindowBase = 0xffffe00000000000;
// The kernel image: virtual = physical + kKernelImageBase (kernel.ld).
inline constexpr uptr kKernelImageBase = 0xffffffff80000000;
inline constexpr PhysAddr kKernelPhysStart = 0x100000;

template <typename T>
inline T* phys_to_virt(PhysAddr pa) {
  return reinterpret_cast<T*>(kDirectMapBase + pa);
}

}  // namespace exo::mm
