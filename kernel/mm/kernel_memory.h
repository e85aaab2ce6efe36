// The kernel's memory services, built at boot from the multiboot2 memory map on top of the
// pure allocators in this folder: frames, the kernel address space, the heap and kernel stacks.
#pragma once

#include "kernel/boot/multiboot2.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/kernel_layout.h"
#include "kernel/mm/page_table.h"

namespace exo {

// Kernel `new` exists only in a checked form, so an allocation failure cannot go unnoticed:
//   AllocChecker ac;  auto* p = new (ac) T(args);  if (!ac.check()) return Error::kNoMemory;
// The allocation function is noexcept, so the new-expression skips the constructor on null.
class AllocChecker {
 public:
  AllocChecker() = default;
  AllocChecker(const AllocChecker&) = delete;
  ~AllocChecker() {
    if (armed_ && !checked_) __builtin_trap();  // an unchecked allocation is a kernel bug
  }
  void arm(bool ok) {
    armed_ = true;
    ok_ = ok;
  }
  [[nodiscard]] bool check() {
    checked_ = true;
    return ok_;
  }

 private:
  bool armed_ = false;
  bool ok_ = false;
  bool checked_ = false;
};

}  // namespace exo

void* operator new(size_t size, exo::AllocChecker& ac) noexcept;
void* operator new[](size_t size, exo::AllocChecker& ac) noexcept;

namespace exo::mm {

// A kernel stack: [base, top) is mapped RW NX; the page below base is never mapped, so an
// overflow faults (and is reported as a stack overflow) instead of corrupting memory.
struct KernelStack {
  uptr base = 0;
  uptr top = 0;
};
inline constexpr usize kKernelStackSize = 16 * 1024;

// Boot order: after arch::early_init and the boot information parse, before anything
// allocates. Builds the frame allocator, replaces the boot page tables with the kernel's own
// (all RAM in the direct map, W^X image), and starts the heap. `boot_data` is the multiboot2
// information's physical range, kept out of the allocator. Panics if memory is unusable.
void init(const boot::BootInfo& info, PhysRange boot_data);
bool ready();

// Physical frames. allocate_frame/free_frame go through this CPU's frame cache (O(1), no
// shared lock in the common case); any context, interrupts may be on. free_frame panics on a
// double free or a frame the allocator never owned.
Result<PhysAddr> allocate_frame();
void free_frame(PhysAddr frame);
// `count` contiguous frames whose first frame number is a multiple of align_frames.
Result<PhysAddr> allocate_frame_run(usize count, usize align_frames);
Status free_frame_run(PhysAddr base, usize count);
struct FrameCounts {
  uint64_t total;      // usable RAM in frames (as the memory map reports it, page-rounded)
  uint64_t free;       // free, including frames held in per-CPU caches
  uint64_t reserved;   // never handed out: kernel image, modules, boot data, low memory
  uint64_t allocated;  // handed out
  // Of `free`, the frames sitting in the per-CPU caches of CPUs other than the caller's: free,
  // but only their own CPU hands them out (the caches are reached without locks).
  uint64_t cached_elsewhere;
};
FrameCounts frame_counts();

// The kernel half of every address space. Locking: internal. TLB: invalidated on this CPU;
// other CPUs once SMP shootdown is wired (docs/memory.md).
Status map_kernel(uptr va, PhysAddr pa, usize size, Permissions perms);
Status unmap_kernel(uptr va, usize size);
Status protect_kernel(uptr va, usize size, Permissions perms);
Result<Translation> translate_kernel(uptr va);
// Unmaps 4 KiB kernel pages in [base, base + size) and frees their frames.
void unmap_and_free_frames(uptr base, usize size);
// Physical address of the kernel PML4 (whose entries 256..511 every address space shares).
PhysAddr kernel_root();

// Kernel heap. heap_allocate returns null when memory is exhausted (never panics);
// heap_free(nullptr) is a no-op; a double free or a pointer the heap never gave out panics
// with a message naming it.
void* heap_allocate(usize size, usize align = 16);
void heap_free(void* pointer);
struct HeapCounts {
  usize backed_bytes;     // address space with frames behind it
  usize allocated_bytes;  // handed out by the buddy layer (slab pages included)
};
HeapCounts heap_counts();

// Up to kStackCacheSize freed stacks stay mapped and are handed out again first. A free into a
// full cache unmaps that stack together with the kStackEvictBatch - 1 most recently cached ones
// and frees their frames, all in one TLB shootdown: a shootdown waits for every CPU, so thread
// churn beyond the cache must not cost one per exit (docs/memory.md, "Kernel stacks").
inline constexpr usize kStackEvictBatch = 32;
Result<KernelStack> allocate_kernel_stack();
void free_kernel_stack(const KernelStack& stack);
// True when `address` lies in the guard page of some kernel stack (for the fault handler).
bool is_kernel_stack_guard(uptr address);

}  // namespace exo::mm
