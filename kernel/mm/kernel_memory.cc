// Kernel memory bring-up and services: the frame allocator from the memory map, the kernel's
// own page tables, the heap (buddy + slabs) and guard-paged kernel stacks.
#include "kernel/mm/kernel_memory.h"

#include "kernel/arch/arch.h"
#include "kernel/arch/mmu.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/core/panic.h"
#include "kernel/lib/new.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/direct_map.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap_cache.h"
#include "kernel/mm/kernel_layout.h"
#include "kernel/mm/page_table.h"
#include "kernel/mm/pte.h"
#include "kernel/mm/slab.h"
#include "kernel/sync/spinlock.h"

extern "C" const uint8_t __text_start[], __text_end[], __rodata_end[], __kernel_end[];

namespace exo::mm {
namespace {

// --- Interfaces the pure allocators borrow ---------------------------------------------------

// All of RAM is in the direct map, so page-table walks reach tables by adding its base.
class DirectMapMemory final : public PhysicalMemory {
 public:
  DirectMapMemory() : PhysicalMemory(kDirectMapBase) {}

 private:
  uint64_t* table_at(PhysAddr pa) override { return phys_to_virt<uint64_t>(pa); }
};

// Spinlock adapter for FrameCache and HeapCache, which take the shared lock only to refill or
// drain. Interrupts are already off around every per-CPU cache operation.
struct IrqsOffLock {
  Spinlock& l;
  void lock() { l.acquire_irqs_off(); }
  void unlock() { l.release_irqs_off(); }
};

class KernelTableFrames final : public TableFrameSource {
 public:
  Result<PhysAddr> alloc_table() override;
  void free_table(PhysAddr frame) override;
};

class KernelHeapBacking final : public HeapBacking {
 public:
  Status back(uptr base, usize size) override;
};

// --- State ---------------------------------------------------------------------------------

// What each CPU keeps to itself besides its heap magazines: its frame cache, used only by
// that CPU with interrupts off. Sized to a power of two so finding it is one shift.
struct alignas(1024) CpuFrames {
  FrameCache cache;
};
static_assert(sizeof(CpuFrames) == 1024);
constinit CpuFrames g_cpu_frames[arch::kMaxCpus];

// This CPU's frame cache. Precondition: interrupts off until the caller is done with it.
FrameCache& this_cpu_frames() {
  return g_cpu_frames[arch::percpu::current_index()].cache;
}

struct MemoryState {
  FrameAllocator frames;
  Spinlock frames_lock;
  DirectMapMemory direct_map;
  KernelTableFrames table_frames;
  // The kernel address space; its lock orders after the heap and stack locks, before frames.
  Spinlock aspace_lock;
  PageTable* kernel_tables = nullptr;
  alignas(PageTable) uint8_t kernel_tables_storage[sizeof(PageTable)];
  Spinlock heap_lock;
  KernelHeapBacking heap_backing;
  Heap heap;  // over detail::g_heap_pages
  Spinlock stacks_lock;
  uint64_t* stack_slots = nullptr;  // one bit per slot, set = in use
  // Freed stacks kept mapped for reuse: thread churn then costs no unmap and no TLB shootdown.
  uptr stack_cache[kStackCacheSize] = {};
  usize stack_cache_count = 0;
  usize stack_slot_hint = 0;
  usize stacks_in_use = 0;
  bool ready = false;
};

alignas(MemoryState) constinit uint8_t g_state_storage[sizeof(MemoryState)] = {};
MemoryState& state() {
  return *reinterpret_cast<MemoryState*>(g_state_storage);
}

// --- Frames --------------------------------------------------------------------------------
// allocate_frame_or_zero and free_frame below are the fast paths: the cache's pop or push with
// interrupts off, no lock and no call. Refill, drain and errors are out of line here.

[[gnu::noinline]] PhysAddr allocate_frame_slow(uint64_t flags) {
  MemoryState& s = state();
  IrqsOffLock lock{s.frames_lock};
  Result<PhysAddr> frame = this_cpu_frames().alloc(s.frames, lock);
  arch::irq_restore(flags);
  return frame.ok() ? *frame : 0;
}

[[gnu::noinline]] void free_frame_slow(PhysAddr frame, uint64_t flags) {
  MemoryState& s = state();
  IrqsOffLock lock{s.frames_lock};
  Status freed = this_cpu_frames().free(frame, s.frames, lock);
  arch::irq_restore(flags);
  if (!freed.ok()) panic("frame allocator: bad free of frame {:#x}: {}", frame, freed.error());
}

Result<PhysAddr> KernelTableFrames::alloc_table() {
  return allocate_frame();
}
void KernelTableFrames::free_table(PhysAddr frame) {
  free_frame(frame);
}

// --- Heap ----------------------------------------------------------------------------------
// heap_allocate_class and heap_free below are the fast paths: this CPU's magazine with
// interrupts off and no lock (heap_cache.h). Refill, drain and everything that is not a
// claimable slab object are out of line here, under the heap lock.

}  // namespace

namespace detail {

constinit HeapMagazine g_heap_magazines[arch::kMaxCpus * Heap::kClasses];
constinit BuddyAllocator g_heap_pages;

void* heap_refill_and_allocate(usize size_class, uint64_t flags) {
  MemoryState& s = state();
  IrqsOffLock lock{s.heap_lock};
  HeapMagazine& magazine = this_cpu_magazine(size_class);
  void* object = nullptr;
  if (!magazine.try_allocate(&object)) {
    lock.lock();
    magazine.refill(s.heap, size_class);
    lock.unlock();
    (void)magazine.try_allocate(&object);
  }
  arch::irq_restore(flags);
  return object;
}

void heap_free_to_full_magazine(usize size_class, void* object, uint64_t flags) {
  MemoryState& s = state();
  s.heap_lock.acquire_irqs_off();
  this_cpu_magazine(size_class).free_claimed(s.heap, object);
  s.heap_lock.release_irqs_off();
  arch::irq_restore(flags);
}

// Null, a buddy block, or a bad free (double, interior, foreign): the locked Heap::free tells
// them apart.
void heap_free_unclaimed(void* pointer) {
  if (pointer == nullptr) return;
  MemoryState& s = state();
  uint64_t flags = s.heap_lock.acquire();
  Status freed = s.heap.free(pointer);
  s.heap_lock.release(flags);
  if (!freed.ok()) {
    if (freed.error() == Error::kAlreadyExists) panic("heap: double free of {}", pointer);
    panic("heap: free of {}, which the heap never gave out", pointer);
  }
}

void* heap_allocate_other(usize size, usize align) {
  MemoryState& s = state();
  uint64_t flags = s.heap_lock.acquire();
  Result<void*> p = s.heap.allocate(size, align);
  s.heap_lock.release(flags);
  return p.ok() ? *p : nullptr;
}

}  // namespace detail

namespace {

// --- Kernel mappings -----------------------------------------------------------------------

// The kernel half is shared by every CPU, so a translation that was removed or narrowed must
// go from every TLB before the frame or the old rights can be reused (mapping over a
// not-present entry needs no invalidation: such entries are never cached).
void invalidate_everywhere(const TlbFlush& flush) {
  if (!flush.empty() && !flush.global() && arch::pcids_enabled()) {
    // A kernel translation that is not global may be cached under any PCID, which INVLPG does
    // not reach: flush everything, everywhere (the kernel's own mappings are global, so this
    // is for tests and rare callers of map_kernel).
    arch::tlb_shootdown_all();
    return;
  }
  arch::apply_tlb_flush(flush);
  if (flush.empty() || arch::cpu_count() <= 1) return;
  if (flush.flush_all()) {
    arch::tlb_shootdown_all();
    return;
  }
  uptr pages[TlbFlush::kMaxPages];
  for (usize i = 0; i < flush.count(); ++i) pages[i] = flush.page(i);
  arch::tlb_shootdown_pages(pages, flush.count());
}

// Maps fresh frames at [base, base + size); on failure unmaps and frees what it mapped.
Status map_fresh_frames(uptr base, usize size) {
  MemoryState& s = state();
  for (usize offset = 0; offset < size; offset += kPageSize) {
    Result<PhysAddr> frame = allocate_frame();
    Status mapped = frame.ok() ? Status() : Status(frame.error());
    if (frame.ok()) {
      TlbFlush flush;
      uint64_t flags = s.aspace_lock.acquire();
      mapped =
          s.kernel_tables->map(base + offset, *frame, kPageSize,
                               Permissions{.write = true, .global = true}, flush, PageSize::k4KiB);
      s.aspace_lock.release(flags);
      if (!mapped.ok()) free_frame(*frame);
    }
    if (!mapped.ok()) {
      if (offset != 0) unmap_and_free_frames(base, offset);
      return mapped;
    }
  }
  return ok_status();
}

Status KernelHeapBacking::back(uptr base, usize size) {
  return map_fresh_frames(base, size);
}

constexpr usize kStackPages = kKernelStackSize / kPageSize;
static_assert(kStackEvictBatch >= 1 && kStackEvictBatch <= kStackCacheSize);

// Unmaps `count` stacks under one hold of the address-space lock, invalidates them everywhere
// in one shootdown, and only then frees their frames (no CPU can still reach them).
void unmap_and_free_stacks(const uptr* bases, usize count) {
  MemoryState& s = state();
  PhysAddr frames[kStackEvictBatch * kStackPages];
  TlbFlush flush;
  uint64_t flags = s.aspace_lock.acquire();
  for (usize i = 0; i < count; ++i) {
    for (usize page = 0; page < kStackPages; ++page) {
      Result<Translation> t = s.kernel_tables->translate(bases[i] + page * kPageSize);
      if (!t.ok()) panic("mm: freeing unmapped kernel stack page {:#x}", bases[i] + page * kPageSize);
      frames[i * kStackPages + page] = t->pa;
    }
    Status unmapped = s.kernel_tables->unmap(bases[i], kKernelStackSize, flush);
    if (!unmapped.ok()) panic("mm: unmap of stack {:#x} failed: {}", bases[i], unmapped.error());
  }
  s.aspace_lock.release(flags);
  invalidate_everywhere(flush);
  for (usize i = 0; i < count * kStackPages; ++i) free_frame(frames[i]);
}

void build_kernel_address_space(Span<const PhysRange> usable, uint64_t phys_top) {
  MemoryState& s = state();
  Result<PageTable> created = PageTable::create(s.direct_map, s.table_frames);
  if (!created.ok()) panic("mm: no frame for the kernel PML4: {}", created.error());
  s.kernel_tables = new (s.kernel_tables_storage) PageTable(*created);
  PageTable& tables = *s.kernel_tables;

  // The kernel half's PDPTs exist from the start and are never freed, so every address space
  // can share them by copying PML4 entries 256..511 once.
  uint64_t* pml4 = s.direct_map.table(tables.root());
  for (usize slot = 256; slot < 512; ++slot) {
    Result<PhysAddr> pdpt = allocate_frame();
    if (!pdpt.ok()) panic("mm: no frame for kernel PDPT {}", slot);
    __builtin_memset(phys_to_virt<void>(*pdpt), 0, kPageSize);
    pml4[slot] = Pte().with_present(true).with_writable(true).with_address(*pdpt).raw();
  }

  TlbFlush flush;  // the new tables are not loaded yet: nothing to invalidate
  // Direct map of [0, phys_top): write-back where the memory map has RAM, uncached elsewhere
  // (device memory such as the local APIC at 0xfee00000), decided per 2 MiB. Runs of equal
  // cache mode go to map() whole, which uses 1 GiB pages where the CPU has them and a run
  // covers an aligned GiB, 2 MiB pages elsewhere, filling each table in one pass.
  PageSize largest = arch::has_1gib_pages() ? PageSize::k1GiB : PageSize::k2MiB;
  for (uint64_t run = 0; run < phys_top;) {
    CacheRun r = direct_map_run(usable, run, phys_top);
    Permissions perms{.write = true, .global = true};
    if (!r.ram) perms.cache = CacheMode::kUncached;
    Status mapped = tables.map(kDirectMapBase + run, run, r.end - run, perms, flush, largest);
    if (!mapped.ok()) {
      panic("mm: direct map of {:#x}..{:#x} failed: {}", run, r.end, mapped.error());
    }
    run = r.end;
  }

  // The kernel image, W^X per section (kernel.ld puts each class on its own pages).
  struct Section {
    const uint8_t* start;
    const uint8_t* end;
    Permissions perms;
  };
  const Section sections[] = {
      {__text_start, __text_end, Permissions{.execute = true, .global = true}},
      {__text_end, __rodata_end, Permissions{.global = true}},
      {__rodata_end, __kernel_end, Permissions{.write = true, .global = true}},
  };
  for (const Section& section : sections) {
    uptr va = reinterpret_cast<uptr>(section.start);
    usize size = static_cast<usize>(section.end - section.start);
    Status mapped =
        tables.map(va, va - kKernelImageBase, size, section.perms, flush, PageSize::k4KiB);
    if (!mapped.ok()) panic("mm: mapping the kernel image at {:#x} failed: {}", va, mapped.error());
  }
  arch::load_address_space(tables.root());
}

// Carves `bytes` of zeroed, physically contiguous memory for allocator metadata.
void* boot_carve(usize bytes) {
  usize frames = (bytes + kPageSize - 1) / kPageSize;
  Result<PhysAddr> run = state().frames.alloc_run(frames, 1);
  if (!run.ok()) panic("mm: no {} contiguous frames for allocator metadata", frames);
  void* p = phys_to_virt<void>(*run);
  __builtin_memset(p, 0, frames * kPageSize);
  return p;
}

}  // namespace

// --- Public interface ------------------------------------------------------------------------

PhysAddr allocate_frame_or_zero() {
  uint64_t flags = arch::irq_save();
  PhysAddr frame;
  if (!this_cpu_frames().try_pop(&frame)) [[unlikely]] {
    return allocate_frame_slow(flags);
  }
  arch::irq_restore(flags);
  return frame;
}

void free_frame(PhysAddr frame) {
  // The shared allocator checks everything else when the frame is drained to it.
  if ((frame & (kPageSize - 1)) != 0 || frame >= state().frames.address_limit()) [[unlikely]] {
    return free_frame_slow(frame, arch::irq_save());
  }
  uint64_t flags = arch::irq_save();
  if (!this_cpu_frames().try_push(frame)) [[unlikely]] {
    return free_frame_slow(frame, flags);
  }
  arch::irq_restore(flags);
}

Result<PhysAddr> allocate_frame_run(usize count, usize align_frames) {
  MemoryState& s = state();
  uint64_t flags = s.frames_lock.acquire();
  Result<PhysAddr> run = s.frames.alloc_run(count, align_frames);
  s.frames_lock.release(flags);
  return run;
}

Status free_frame_run(PhysAddr base, usize count) {
  MemoryState& s = state();
  uint64_t flags = s.frames_lock.acquire();
  Status freed = s.frames.free_run(base, count);
  s.frames_lock.release(flags);
  return freed;
}

FrameCounts frame_counts() {
  MemoryState& s = state();
  uint64_t flags = s.frames_lock.acquire();
  uint64_t cached = 0, elsewhere = 0;
  uint32_t self = arch::percpu::current_index();
  for (uint32_t cpu = 0; cpu < arch::kMaxCpus; ++cpu) {
    // Another CPU's count may change under us; counting is a snapshot, the sum stays exact
    // whenever no CPU is allocating.
    uint64_t n = g_cpu_frames[cpu].cache.count();
    cached += n;
    if (cpu != self) elsewhere += n;
  }
  FrameCounts counts{s.frames.total_frames(), s.frames.free_frames() + cached,
                     s.frames.reserved_frames(), s.frames.allocated_frames() - cached, elsewhere};
  s.frames_lock.release(flags);
  return counts;
}

Status map_kernel(uptr va, PhysAddr pa, usize size, Permissions perms) {
  MemoryState& s = state();
  TlbFlush flush;
  uint64_t flags = s.aspace_lock.acquire();
  Status mapped = s.kernel_tables->map(va, pa, size, perms, flush, PageSize::k4KiB);
  s.aspace_lock.release(flags);
  // Mapping over not-present entries needs no invalidation; only a failed map's freed tables do.
  if (!flush.empty()) [[unlikely]] {
    invalidate_everywhere(flush);
  }
  return mapped;
}

Status unmap_kernel(uptr va, usize size) {
  MemoryState& s = state();
  TlbFlush flush;
  uint64_t flags = s.aspace_lock.acquire();
  Status unmapped = s.kernel_tables->unmap(va, size, flush);
  s.aspace_lock.release(flags);
  invalidate_everywhere(flush);
  return unmapped;
}

Status protect_kernel(uptr va, usize size, Permissions perms) {
  MemoryState& s = state();
  TlbFlush flush;
  uint64_t flags = s.aspace_lock.acquire();
  Status changed = s.kernel_tables->protect(va, size, perms, flush);
  s.aspace_lock.release(flags);
  invalidate_everywhere(flush);
  return changed;
}

Result<Translation> translate_kernel(uptr va) {
  MemoryState& s = state();
  uint64_t flags = s.aspace_lock.acquire();
  Result<Translation> t = s.kernel_tables->translate(va);
  s.aspace_lock.release(flags);
  return t;
}

void unmap_and_free_frames(uptr base, usize size) {
  // Collect the frames, unmap the whole range (one invalidation pass on every CPU), and only
  // then free the frames: no CPU can still reach them through a stale translation.
  constexpr usize kBatch = 16;
  for (usize done = 0; done < size;) {
    usize chunk = min(size - done, kBatch * kPageSize);
    PhysAddr frames[kBatch];
    for (usize offset = 0; offset < chunk; offset += kPageSize) {
      Result<Translation> t = translate_kernel(base + done + offset);
      if (!t.ok()) panic("mm: freeing unmapped kernel page {:#x}", base + done + offset);
      frames[offset / kPageSize] = t->pa;
    }
    Status unmapped = unmap_kernel(base + done, chunk);
    if (!unmapped.ok()) panic("mm: unmap of {:#x} failed: {}", base + done, unmapped.error());
    for (usize i = 0; i < chunk / kPageSize; ++i) free_frame(frames[i]);
    done += chunk;
  }
}

PhysAddr kernel_root() {
  return state().kernel_tables->root();
}

Result<PageTable> create_user_page_table() {
  MemoryState& s = state();
  PageTable tables = EXO_TRY(PageTable::create(s.direct_map, s.table_frames));
  // The kernel-half PDPTs exist from boot and are never freed, so copying the 256 upper PML4
  // entries once shares every later kernel mapping too.
  const uint64_t* kernel = s.direct_map.table(kernel_root());
  uint64_t* user = s.direct_map.table(tables.root());
  for (usize i = 256; i < 512; ++i) user[i] = kernel[i];
  return tables;
}

void init(const boot::BootInfo& info, PhysRange boot_data) {
  MemoryState& s = *new (g_state_storage) MemoryState();

  // Usable RAM, and what inside it must never be handed out.
  PhysRange usable[boot::kMaxMemoryRegions];
  usize usable_count = 0;
  uint64_t ram_top = 0;
  for (usize i = 0; i < info.memory_count; ++i) {
    const boot::MemoryRegion& r = info.memory[i];
    if (r.type != 1 || r.length == 0) continue;
    usable[usable_count++] = PhysRange{r.base, r.length};
    if (r.base + r.length > ram_top) ram_top = r.base + r.length;
  }
  if (usable_count == 0) panic("mm: the memory map lists no usable RAM");
  PhysRange reserved[boot::kMaxModules + 4];
  usize reserved_count = 0;
  reserved[reserved_count++] = PhysRange{
      kKernelPhysStart, reinterpret_cast<uptr>(__kernel_end) - kKernelImageBase - kKernelPhysStart};
  reserved[reserved_count++] = boot_data;
  for (usize i = 0; i < info.module_count; ++i) {
    reserved[reserved_count++] =
        PhysRange{info.modules[i].start, info.modules[i].end - info.modules[i].start};
  }

  // The bitmap's own storage: the first usable run above the reserved ranges that fits, below
  // 4 GiB so the boot direct map reaches it.
  uint64_t frame_limit = (ram_top + kPageSize - 1) / kPageSize;
  usize storage_bytes = align_up(FrameAllocator::bytes_needed(frame_limit), kPageSize);
  PhysAddr storage = 0;
  for (usize i = 0; i < usable_count && storage == 0; ++i) {
    PhysAddr candidate = align_up(max<uint64_t>(usable[i].base, 16 * MiB), kPageSize);
    for (bool moved = true; moved;) {
      moved = false;
      for (usize j = 0; j < reserved_count; ++j) {
        const PhysRange& r = reserved[j];
        if (candidate < r.base + r.size && r.base < candidate + storage_bytes) {
          candidate = align_up(r.base + r.size, kPageSize);
          moved = true;
        }
      }
    }
    if (candidate + storage_bytes <= usable[i].base + usable[i].size &&
        candidate + storage_bytes <= 4 * GiB) {
      storage = candidate;
    }
  }
  if (storage == 0) panic("mm: no room for the frame bitmap ({} bytes)", storage_bytes);
  reserved[reserved_count++] = PhysRange{storage, storage_bytes};
  Status built = s.frames.init(Span<const PhysRange>(usable, usable_count),
                               Span<const PhysRange>(reserved, reserved_count), frame_limit,
                               MutableByteSpan(phys_to_virt<uint8_t>(storage), storage_bytes));
  if (!built.ok()) panic("mm: frame allocator init failed: {}", built.error());

  build_kernel_address_space(Span<const PhysRange>(usable, usable_count),
                             max<uint64_t>(align_up(ram_top, uint64_t{kLargePageSize}), 4 * GiB));
  arch::enable_mmu_features();

  // Heap: a buddy range sized to RAM (at least 64 MiB of address space, at most 64 GiB).
  usize heap_size = align_up(min<uint64_t>(max<uint64_t>(ram_top, 64 * MiB), 64 * GiB),
                             uint64_t{BuddyAllocator::kMaxBlock});
  void* heap_map = boot_carve(BuddyAllocator::map_bytes_needed(heap_size));
  Status heap_ready = detail::g_heap_pages.init(
      kHeapBase, heap_size,
      MutableByteSpan(static_cast<uint8_t*>(heap_map), BuddyAllocator::map_bytes_needed(heap_size)),
      &s.heap_backing);
  if (heap_ready.ok()) heap_ready = s.heap.init(&detail::g_heap_pages);
  if (!heap_ready.ok()) panic("mm: heap init failed: {}", heap_ready.error());

  s.stack_slots = static_cast<uint64_t*>(boot_carve(kKernelStackSlots / 8));
  s.ready = true;
}

HeapCounts heap_counts() {
  MemoryState& s = state();
  uint64_t flags = s.heap_lock.acquire();
  HeapCounts counts{detail::g_heap_pages.backed_bytes(), detail::g_heap_pages.allocated_bytes()};
  s.heap_lock.release(flags);
  return counts;
}

Result<KernelStack> allocate_kernel_stack() {
  MemoryState& s = state();
  uint64_t flags = s.stacks_lock.acquire();
  if (s.stack_cache_count != 0) {
    uptr base = s.stack_cache[--s.stack_cache_count];
    s.stacks_lock.release(flags);
    return KernelStack{base, base + kKernelStackSize};
  }
  usize slot = kKernelStackSlots;
  constexpr usize kWords = kKernelStackSlots / 64;
  for (usize n = 0; n < kWords; ++n) {
    usize w = (s.stack_slot_hint + n) % kWords;
    if (~s.stack_slots[w] != 0) {
      slot = w * 64 + static_cast<usize>(__builtin_ctzll(~s.stack_slots[w]));
      s.stack_slots[w] |= uint64_t{1} << (slot % 64);
      s.stack_slot_hint = w;
      ++s.stacks_in_use;
      break;
    }
  }
  s.stacks_lock.release(flags);
  if (slot == kKernelStackSlots) return Error::kNoMemory;
  uptr base = kKernelStackBase + slot * kKernelStackSlotSize + kPageSize;  // guard below
  Status mapped = map_fresh_frames(base, kKernelStackSize);
  if (!mapped.ok()) {
    flags = s.stacks_lock.acquire();
    s.stack_slots[slot / 64] &= ~(uint64_t{1} << (slot % 64));
    --s.stacks_in_use;
    s.stacks_lock.release(flags);
    return mapped.error();
  }
  return KernelStack{base, base + kKernelStackSize};
}

void free_kernel_stack(const KernelStack& stack) {
  if (stack.top == 0) return;
  MemoryState& s = state();
  uptr evicted[kStackEvictBatch];
  uint64_t flags = s.stacks_lock.acquire();
  if (s.stack_cache_count < kStackCacheSize) {
    s.stack_cache[s.stack_cache_count++] = stack.base;
    s.stacks_lock.release(flags);
    return;
  }
  // The cache is full: this stack and the most recently cached ones go together, which leaves
  // room for the next kStackEvictBatch - 1 frees.
  evicted[0] = stack.base;
  for (usize i = 1; i < kStackEvictBatch; ++i) evicted[i] = s.stack_cache[--s.stack_cache_count];
  s.stacks_lock.release(flags);
  unmap_and_free_stacks(evicted, kStackEvictBatch);
  flags = s.stacks_lock.acquire();
  for (uptr base : evicted) {
    usize slot = (base - kPageSize - kKernelStackBase) / kKernelStackSlotSize;
    s.stack_slots[slot / 64] &= ~(uint64_t{1} << (slot % 64));
  }
  s.stacks_in_use -= kStackEvictBatch;
  s.stacks_lock.release(flags);
}

bool is_kernel_stack_guard(uptr address) {
  if (address < kKernelStackBase ||
      address >= kKernelStackBase + kKernelStackSlots * kKernelStackSlotSize) {
    return false;
  }
  return (address - kKernelStackBase) % kKernelStackSlotSize < kPageSize;
}

bool ready() {
  return state().ready;
}

}  // namespace exo::mm

// Kernel `new` only in its checked form: `new (ac) T(...)`; see kernel/mm/kernel_memory.h.
void* operator new(size_t size, exo::AllocChecker& ac) noexcept {
  void* p = exo::mm::heap_allocate(size, 16);
  ac.arm(p != nullptr);
  return p;
}
void* operator new[](size_t size, exo::AllocChecker& ac) noexcept {
  void* p = exo::mm::heap_allocate(size, 16);
  ac.arm(p != nullptr);
  return p;
}
void operator delete(void* p) noexcept {
  exo::mm::heap_free(p);
}
void operator delete(void* p, size_t) noexcept {
  exo::mm::heap_free(p);
}
void operator delete[](void* p) noexcept {
  exo::mm::heap_free(p);
}
void operator delete[](void* p, size_t) noexcept {
  exo::mm::heap_free(p);
}
