// The kernel's memory services, built at boot from the multiboot2 memory map on top of the
// pure allocators in this folder: frames, the kernel address space, the heap and kernel stacks.
#pragma once

#include "kernel/arch/x86_64/interrupts.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/boot/multiboot2.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/heap_cache.h"
#include "kernel/mm/kernel_layout.h"
#include "kernel/mm/page_table.h"
#include "kernel/mm/slab.h"

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
// allocate_frame_or_zero is the same without the Result: 0 when memory is exhausted (frame 0 is
// never handed out).
PhysAddr allocate_frame_or_zero();
inline Result<PhysAddr> allocate_frame() {
  PhysAddr frame = allocate_frame_or_zero();
  if (frame == 0) [[unlikely]] {
    return Error::kNoMemory;
  }
  return frame;
}
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
// A new address space's tables: an empty user half and the kernel half shared with every
// other address space (PML4 entries 256..511 copied from the kernel's). kNoMemory.
Result<PageTable> create_user_page_table();
// Physical address of the kernel PML4 (whose entries 256..511 every address space shares).
PhysAddr kernel_root();

// Kernel heap. heap_allocate returns null when memory is exhausted (never panics);
// heap_free(nullptr) is a no-op; a double free or a pointer the heap never gave out panics
// with a message naming it. Any context, interrupts may be on.
//
// Both are inline (bottom of this file): sizes up to 2 KiB come from this CPU's magazine
// (kernel/mm/heap_cache.h) with interrupts off for a few instructions and no lock, and a
// constant size picks its slab class at compile time. The rest goes out of line under the heap
// lock.
inline void* heap_allocate(usize size, usize align = 16);
inline void heap_free(void* pointer);
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

// --- Inline fast paths -----------------------------------------------------------------------
// What the inline functions below need from kernel_memory.cc. Not for use elsewhere.
namespace detail {

// Per CPU and class, one magazine (heap_cache.h), in one flat array so the free path finds
// CPU c's magazine of class k with one multiply-add and one shift. Touched only by its CPU with
// interrupts off (other CPUs only read counters).
extern HeapMagazine g_heap_magazines[arch::kMaxCpus * Heap::kClasses];
// The heap's buddy allocator, a global so the free fast path reaches its fields directly.
extern BuddyAllocator g_heap_pages;

// This CPU's magazine of class `size_class`. Precondition: interrupts off until the caller is
// done with it (no migration, no interrupt handler using it meanwhile). arch::early_init
// installs the boot CPU's per-CPU block before memory exists.
inline HeapMagazine& this_cpu_magazine(usize size_class) {
  return g_heap_magazines[arch::percpu::current_index() * Heap::kClasses + size_class];
}

// Slow paths. The first two take the interrupt state of the caller's irq_save and restore it.
void* heap_refill_and_allocate(usize size_class, uint64_t flags);
void heap_free_to_full_magazine(usize size_class, void* object, uint64_t flags);
void heap_free_unclaimed(void* pointer);
void* heap_allocate_other(usize size, usize align);

}  // namespace detail

// An object of slab class `size_class` (16 << size_class bytes, < Heap::kClasses), or null.
inline void* heap_allocate_class(usize size_class) {
  uint64_t flags = arch::irq_save();
  void* object;
  if (!detail::this_cpu_magazine(size_class).try_allocate(&object)) [[unlikely]] {
    return detail::heap_refill_and_allocate(size_class, flags);
  }
  arch::irq_restore(flags);
  return object;
}

inline void* heap_allocate(usize size, usize align) {
  usize need = size > align ? size : align;
  // "align is a power of two" without POPCNT: for a power of two p, p ^ (p - 1) = 2p - 1 > p - 1.
  if (size != 0 && (align ^ (align - 1)) > align - 1 && need <= SlabCache::kMaxObject) [[likely]] {
    return heap_allocate_class(Heap::class_of(need));
  }
  return detail::heap_allocate_other(size, align);
}

inline void heap_free(void* pointer) {
  usize size_class;
  // Claimed lock-free with interrupts on: the object's own state byte is all it touches.
  if (!Heap::claim(detail::g_heap_pages, pointer, &size_class)) [[unlikely]] {
    return detail::heap_free_unclaimed(pointer);
  }
  uint64_t flags = arch::irq_save();
  if (!detail::this_cpu_magazine(size_class).try_free(pointer)) [[unlikely]] {
    return detail::heap_free_to_full_magazine(size_class, pointer, flags);
  }
  arch::irq_restore(flags);
}

}  // namespace exo::mm
