// kbench: memory-management path lengths (frames, kernel mappings, heap).
#include "kernel/mm/kernel_memory.h"
#include "kernel/test/kbench.h"

namespace exo {
namespace {

constexpr int kRounds = 21;
constexpr uint64_t kOps = 1000;

EXO_KBENCH(frame_pair, "allocate_frame + free_frame (per-CPU cache hit)") {
  bench.run(kRounds, kOps, [] {
    Result<mm::PhysAddr> f = mm::allocate_frame();
    mm::free_frame(*f);
  });
}

EXO_KBENCH(map_unmap_4k, "map_kernel + unmap_kernel of one 4 KiB page (invlpg, no remote CPUs)") {
  Result<mm::PhysAddr> frame = mm::allocate_frame();
  uptr va = mm::kTestWindowBase + 64 * mm::kPageSize;
  bench.run(kRounds, kOps, [&] {
    (void)mm::map_kernel(va, *frame, mm::kPageSize, mm::Permissions::kernel_rw());
    (void)mm::unmap_kernel(va, mm::kPageSize);
  });
  mm::free_frame(*frame);
}

EXO_KBENCH(heap_64, "heap_allocate(64) + heap_free (slab)") {
  bench.run(kRounds, kOps, [] { mm::heap_free(mm::heap_allocate(64)); });
}

EXO_KBENCH(heap_4k, "heap_allocate(4096) + heap_free (buddy)") {
  bench.run(kRounds, kOps, [] { mm::heap_free(mm::heap_allocate(4096)); });
}

}  // namespace
}  // namespace exo
