// Per-CPU heap magazines: refill from and drain to the slab layer.
#include "kernel/mm/heap_cache.h"

#include "kernel/lib/utility.h"

namespace exo::mm {

void HeapMagazine::refill(Heap& heap, usize cls) {
  usize n = count_;
  usize want = kBatch > n ? kBatch - n : 0;
  set_count(n + heap.take(cls, &objects_[n], want));
}

void HeapMagazine::free_claimed(Heap& heap, void* object) {
  if (!try_free(object)) {
    drain(heap, kBatch);
    (void)try_free(object);  // cannot fail: the drain made room
  }
}

void HeapMagazine::drain(Heap& heap, usize count) {
  usize n = count_;
  count = min(count, n);
  // The oldest go back first: the newest are the likeliest to be cache-hot.
  for (usize i = 0; i < count; ++i) heap.give_back(objects_[i]);
  for (usize i = count; i < n; ++i) objects_[i - count] = objects_[i];
  set_count(n - count);
}

}  // namespace exo::mm
