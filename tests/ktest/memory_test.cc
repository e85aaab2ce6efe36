// ktest=mem: frames, kernel mappings through the real MMU, the heap and kernel stacks.
#include "kernel/arch/mmu.h"
#include "kernel/arch/x86_64/fault_catch.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/core/boot_info.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/test/ktest.h"
#include "kernel/vm/address_space.h"
#include "kernel/vm/memory_object.h"

namespace exo {
namespace {

using mm::PhysAddr;

constexpr uint64_t kPfPresent = 1, kPfWrite = 2, kPfFetch = 16;

uint64_t usable_frames_in_memory_map() {
  const boot::BootInfo& info = boot_info();
  uint64_t frames = 0;
  for (usize i = 0; i < info.memory_count; ++i) {
    const boot::MemoryRegion& r = info.memory[i];
    if (r.type != 1) continue;
    uint64_t start = align_up<uint64_t>(r.base, mm::kPageSize);
    uint64_t end = align_down<uint64_t>(r.base + r.length, mm::kPageSize);
    if (end > start) frames += (end - start) / mm::kPageSize;
  }
  return frames;
}

EXO_KTEST(mem, frame_counts_match_memory_map) {
  mm::FrameCounts c = mm::frame_counts();
  KEXPECT_EQ(c.total, usable_frames_in_memory_map());
  KEXPECT_EQ(c.free + c.allocated + c.reserved, c.total);
  KEXPECT(c.reserved > 0);
}

EXO_KTEST(mem, exhaust_physical_memory_and_give_it_back) {
  mm::FrameCounts before = mm::frame_counts();
  // Chain every frame we get through its own first word: a frame handed out twice would break
  // the chain (its link overwritten), so the walk below counts each frame exactly once.
  PhysAddr head = 0;
  uint64_t count = 0;
  for (;;) {
    Result<PhysAddr> frame = mm::allocate_frame();
    if (!frame.ok()) {
      KEXPECT_EQ(frame.error(), Error::kNoMemory);
      break;
    }
    *mm::phys_to_virt<PhysAddr>(*frame) = head;
    head = *frame;
    ++count;
  }
  // Frames in other CPUs' caches stay free but out of this CPU's reach (docs/memory.md).
  KEXPECT_EQ(count, before.free - before.cached_elsewhere);
  KEXPECT_EQ(mm::frame_counts().free, before.cached_elsewhere);
  uint64_t walked = 0;
  while (head != 0) {
    PhysAddr next = *mm::phys_to_virt<PhysAddr>(head);
    mm::free_frame(head);
    head = next;
    ++walked;
  }
  KEXPECT_EQ(walked, count);
  mm::FrameCounts after = mm::frame_counts();
  KEXPECT_EQ(after.free, before.free);
  KEXPECT_EQ(after.allocated, before.allocated);
}

EXO_KTEST(mem, contiguous_aligned_runs) {
  Result<PhysAddr> run = mm::allocate_frame_run(512, 512);
  KEXPECT(run.ok());
  if (run.ok()) {
    KEXPECT_EQ(*run % (2 * MiB), 0u);
    KEXPECT(mm::free_frame_run(*run, 512).ok());
  }
  Result<PhysAddr> impossible = mm::allocate_frame_run(mm::frame_counts().total + 1, 1);
  KEXPECT(!impossible.ok());
  KEXPECT_EQ(impossible.error(), Error::kNoMemory);
}

void read_at(void* p) { (void)*static_cast<volatile uint64_t*>(p); }
void write_at(void* p) { *static_cast<volatile uint64_t*>(p) = 0x5a5a; }
void call_at(void* p) { reinterpret_cast<void (*)()>(p)(); }

EXO_KTEST(mem, map_protect_unmap_through_the_mmu) {
  uptr va = mm::kTestWindowBase;
  Result<PhysAddr> frame = mm::allocate_frame();
  KEXPECT(frame.ok());
  KEXPECT(mm::map_kernel(va, *frame, mm::kPageSize, mm::Permissions::kernel_rw()).ok());
  *reinterpret_cast<volatile uint64_t*>(va) = 0x1234;
  KEXPECT_EQ(*mm::phys_to_virt<uint64_t>(*frame), 0x1234u);  // same frame through the direct map
  Result<mm::Translation> t = mm::translate_kernel(va);
  KEXPECT(t.ok() && t->pa == *frame && t->perms.write && !t->perms.execute);

  KEXPECT(mm::protect_kernel(va, mm::kPageSize, mm::Permissions::kernel_ro()).ok());
  arch::FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&write_at, reinterpret_cast<void*>(va), &info));
  KEXPECT_EQ(info.vector, arch::kVectorPageFault);
  KEXPECT_EQ(info.cr2, va);
  KEXPECT_EQ(info.error_code, kPfPresent | kPfWrite);
  KEXPECT(!arch::run_catching_faults(&read_at, reinterpret_cast<void*>(va), &info));

  KEXPECT(mm::unmap_kernel(va, mm::kPageSize).ok());
  KEXPECT(arch::run_catching_faults(&read_at, reinterpret_cast<void*>(va), &info));
  KEXPECT_EQ(info.cr2, va);
  KEXPECT_EQ(info.error_code, 0u);
  KEXPECT_EQ(mm::unmap_kernel(va, mm::kPageSize).error(), Error::kNotFound);
  mm::free_frame(*frame);
}

EXO_KTEST(mem, write_xor_execute) {
  uptr va = mm::kTestWindowBase + 16 * mm::kPageSize;
  Result<PhysAddr> frame = mm::allocate_frame();
  KEXPECT(frame.ok());
  *mm::phys_to_virt<uint8_t>(*frame) = 0xc3;  // ret
  mm::Permissions rwx{.write = true, .execute = true};
  KEXPECT_EQ(mm::map_kernel(va, *frame, mm::kPageSize, rwx).error(), Error::kAccessDenied);

  // Mapped read-only without execute: a call faults on the instruction fetch.
  KEXPECT(mm::map_kernel(va, *frame, mm::kPageSize, mm::Permissions::kernel_ro()).ok());
  arch::FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&call_at, reinterpret_cast<void*>(va), &info));
  KEXPECT_EQ(info.error_code, kPfPresent | kPfFetch);
  KEXPECT_EQ(info.cr2, va);
  // Read + execute: the same call returns.
  KEXPECT(mm::protect_kernel(va, mm::kPageSize, mm::Permissions::kernel_rx()).ok());
  KEXPECT(!arch::run_catching_faults(&call_at, reinterpret_cast<void*>(va), &info));
  KEXPECT_EQ(mm::protect_kernel(va, mm::kPageSize, rwx).error(), Error::kAccessDenied);
  KEXPECT(mm::unmap_kernel(va, mm::kPageSize).ok());
  mm::free_frame(*frame);
}

constexpr usize kHeapRound = 12;
constexpr usize kHeapSizes[kHeapRound] = {1, 16, 17, 64, 100, 2048, 2049, 4096, 10000, 65536, 1 << 20, 4 << 20};

// One round: allocate every size, check the blocks are usable and disjoint, free them all.
void heap_round(ktest::Context& ktest_context) {
  void* blocks[kHeapRound];
  for (usize i = 0; i < kHeapRound; ++i) {
    blocks[i] = mm::heap_allocate(kHeapSizes[i]);
    KEXPECT(blocks[i] != nullptr);
    if (blocks[i] != nullptr) __builtin_memset(blocks[i], static_cast<int>(i), kHeapSizes[i]);
  }
  for (usize i = 0; i < kHeapRound; ++i) {
    for (usize j = i + 1; j < kHeapRound; ++j) {
      uptr a = reinterpret_cast<uptr>(blocks[i]), b = reinterpret_cast<uptr>(blocks[j]);
      KEXPECT(a + kHeapSizes[i] <= b || b + kHeapSizes[j] <= a);
    }
  }
  for (void* b : blocks) mm::heap_free(b);
}

EXO_KTEST(mem, heap_sizes_and_exhaustion) {
  // The first round may leave one empty slab per size class behind (kept on purpose to absorb
  // alloc/free ping-pong); from then on a round must give back exactly what it took.
  heap_round(ktest_context);
  mm::HeapCounts steady = mm::heap_counts();
  heap_round(ktest_context);
  KEXPECT_EQ(mm::heap_counts().allocated_bytes, steady.allocated_bytes);
  KEXPECT(mm::heap_allocate(64 << 20) == nullptr);  // larger than the biggest buddy block
  AllocChecker ac;
  auto* value = new (ac) uint64_t(7);
  KEXPECT(ac.check());
  KEXPECT_EQ(*value, 7u);
  delete value;
  KEXPECT_EQ(mm::heap_counts().allocated_bytes, steady.allocated_bytes);
}

EXO_KTEST(mem, direct_map_uses_large_pages_and_right_cache_modes) {
  // RAM starts the first GiB (write-back, 2 MiB pages: the GiB also holds the hole above RAM
  // when the machine has less than 1 GiB); the local APIC page is uncached; a GiB of nothing
  // but hole below 4 GiB is one 1 GiB page when the CPU has them.
  Result<mm::Translation> low = mm::translate_kernel(mm::kDirectMapBase + 0x200000);
  KEXPECT(low.ok() && low->pa == 0x200000 && low->perms.write && !low->perms.execute);
  KEXPECT(low.ok() && low->perms.cache == mm::CacheMode::kWriteBack);
  Result<mm::Translation> apic = mm::translate_kernel(mm::kDirectMapBase + 0xfee00000);
  KEXPECT(apic.ok() && apic->perms.cache == mm::CacheMode::kUncached);
  KEXPECT(apic.ok() && apic->page_size != mm::PageSize::k4KiB);
  if (mm::frame_counts().total * mm::kPageSize < 2 * GiB) {
    Result<mm::Translation> hole = mm::translate_kernel(mm::kDirectMapBase + 3 * GiB);
    KEXPECT(hole.ok() && hole->pa == 3 * GiB);
    KEXPECT(hole.ok() && hole->page_size ==
                             (arch::has_1gib_pages() ? mm::PageSize::k1GiB : mm::PageSize::k2MiB));
  }
}

EXO_KTEST(mem, kernel_stacks_have_unmapped_guards) {
  Result<mm::KernelStack> stack = mm::allocate_kernel_stack();
  KEXPECT(stack.ok());
  KEXPECT_EQ(stack->top - stack->base, mm::kKernelStackSize);
  KEXPECT(mm::translate_kernel(stack->base).ok());
  KEXPECT(mm::translate_kernel(stack->top - 8).ok());
  KEXPECT_EQ(mm::translate_kernel(stack->base - 8).error(), Error::kNotFound);
  KEXPECT(mm::is_kernel_stack_guard(stack->base - 8));
  KEXPECT(!mm::is_kernel_stack_guard(stack->base));
  mm::free_kernel_stack(*stack);
  // The freed stack is cached, still mapped, and comes back on the next allocation.
  Result<mm::KernelStack> again = mm::allocate_kernel_stack();
  KEXPECT(again.ok() && again->base == stack->base);
  mm::free_kernel_stack(*again);
}

// Allocating more stacks than the cache holds empties it; freeing them fills it, and the next
// free unmaps a batch: that stack and the most recently cached ones, frames returned.
constinit mm::KernelStack g_stacks[mm::kStackCacheSize + mm::kStackEvictBatch] = {};
EXO_KTEST(mem, full_stack_cache_unmaps_a_batch) {
  constexpr usize kCache = mm::kStackCacheSize, kBatch = mm::kStackEvictBatch;
  for (mm::KernelStack& stack : g_stacks) {
    Result<mm::KernelStack> s = mm::allocate_kernel_stack();
    KEXPECT(s.ok());
    if (!s.ok()) return;
    stack = *s;
  }
  for (usize i = 0; i < kCache; ++i) mm::free_kernel_stack(g_stacks[i]);
  uint64_t free_before = mm::frame_counts().free;
  mm::free_kernel_stack(g_stacks[kCache]);
  KEXPECT(mm::frame_counts().free >= free_before + kBatch * mm::kKernelStackSize / mm::kPageSize);
  KEXPECT_EQ(mm::translate_kernel(g_stacks[kCache].base).error(), Error::kNotFound);
  for (usize i = kCache - kBatch + 1; i < kCache; ++i) {
    KEXPECT_EQ(mm::translate_kernel(g_stacks[i].base).error(), Error::kNotFound);
    KEXPECT_EQ(mm::translate_kernel(g_stacks[i].top - 8).error(), Error::kNotFound);
  }
  KEXPECT(mm::translate_kernel(g_stacks[kCache - kBatch].base).ok());
  // Room again for the rest without unmapping.
  for (usize i = kCache + 1; i < kCache + kBatch; ++i) mm::free_kernel_stack(g_stacks[i]);
  KEXPECT(mm::translate_kernel(g_stacks[kCache + kBatch - 1].base).ok());
}

}  // namespace
}  // namespace exo

namespace exo {
namespace {

// PCIDs for user address spaces (docs/memory.md, "PCIDs"): what keeps a PCID's cached entries
// from outliving the translations they came from. QEMU's TCG flushes its whole TLB on every CR3
// write, so a missing flush cannot be seen from a test here; the bookkeeping it rests on can.
EXO_KTEST(mem, address_space_pcids_and_tlb_generations) {
  Result<vm::AddressSpace*> a = vm::AddressSpace::create();
  Result<vm::AddressSpace*> b = vm::AddressSpace::create();
  KEXPECT(a.ok() && b.ok());
  if (!a.ok() || !b.ok()) return;
  kprint("    PCIDs {} and {}\n", (*a)->pcid(), (*b)->pcid());
  if ((*a)->pcid() != 0 || (*b)->pcid() != 0) KEXPECT((*a)->pcid() != (*b)->pcid());
  uint64_t a0 = *(*a)->tlb_generation();
  KEXPECT(a0 != *(*b)->tlb_generation());
  Result<object::RefPtr<vm::MemoryObject>> object = vm::MemoryObject::create(2);
  KEXPECT(object.ok());
  if (!object.ok()) return;
  Result<uptr> at = (*a)->map(*object, 0, 0, 2 * mm::kPageSize, vm::kProtRead | vm::kProtWrite,
                              vm::kProtMask, false);
  KEXPECT(at.ok());
  KEXPECT_EQ(*(*a)->tlb_generation(), a0);  // new translations over none: nothing to forget
  KEXPECT((*a)->protect(*at, mm::kPageSize, vm::kProtRead).ok());
  uint64_t a1 = *(*a)->tlb_generation();
  KEXPECT(a1 > a0);  // narrowed: every CPU must drop what it cached under the PCID
  KEXPECT((*a)->unmap(*at, 2 * mm::kPageSize).ok());
  KEXPECT(*(*a)->tlb_generation() > a1);
  uint64_t newest = *(*a)->tlb_generation();
  uint16_t freed = (*a)->pcid();
  (*a)->destroy();
  Result<vm::AddressSpace*> c = vm::AddressSpace::create();
  KEXPECT(c.ok());
  if (c.ok()) {
    if (freed != 0) KEXPECT_EQ((*c)->pcid(), freed);  // the lowest free PCID comes back
    KEXPECT(*(*c)->tlb_generation() > newest);          // so old entries under it are not trusted
    (*c)->destroy();
  }
  (*b)->destroy();
}

}  // namespace
}  // namespace exo
