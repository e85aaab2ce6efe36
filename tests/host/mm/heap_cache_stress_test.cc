// Stress test of the heap magazines with host threads standing in for CPUs: each thread owns a
// HeapCache, the Heap sits behind one std::mutex (the kernel's heap lock), and objects are freed
// on other threads than the ones that allocated them. Built twice: ASan+UBSan and ThreadSanitizer
// (the lock-free claim and the per-object state bytes are what TSan checks).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "kernel/mm/heap_cache.h"
#include "tests/host/mm/arena.h"

namespace exo::mm {
namespace {

constexpr usize kArena = 256 * MiB;
constexpr int kThreads = 4;

struct SharedHeap {
  Arena arena{kArena};
  std::vector<uint8_t> map = std::vector<uint8_t>(BuddyAllocator::map_bytes_needed(kArena));
  BuddyAllocator buddy;
  Heap heap;
  std::mutex mutex;
  SharedHeap() {
    EXPECT_TRUE(
        buddy.init(arena.base(), kArena, MutableByteSpan(map.data(), map.size()), &arena).ok());
    EXPECT_TRUE(heap.init(&buddy).ok());
  }
};

struct HeapLock {
  std::mutex& m;
  void lock() { m.lock(); }
  void unlock() { m.unlock(); }
};

struct Block {
  void* p;
  usize size;
  uint8_t fill;
};

// A mutex-protected pile where threads leave objects for others to free.
struct Exchange {
  std::mutex mutex;
  std::vector<Block> blocks;
  void put(const Block& b) {
    std::lock_guard<std::mutex> guard(mutex);
    blocks.push_back(b);
  }
  bool take(std::mt19937_64& rng, Block* out) {
    std::lock_guard<std::mutex> guard(mutex);
    if (blocks.empty()) return false;
    usize i = rng() % blocks.size();
    *out = blocks[i];
    blocks[i] = blocks.back();
    blocks.pop_back();
    return true;
  }
};

bool check_and_free(SharedHeap& h, HeapCache& cache, HeapLock& lock, const Block& b) {
  const auto* bytes = static_cast<const uint8_t*>(b.p);
  for (usize i = 0; i < b.size; i += 7) {
    if (bytes[i] != b.fill) return false;
  }
  return cache.free(h.heap, b.p, lock).ok();
}

TEST(HeapCacheStress, CrossThreadAllocateAndFree) {
  SharedHeap h;
  Exchange exchange;
  HeapCache caches[kThreads];
  std::atomic<int> failures{0};
  std::atomic<uint64_t> cross_frees{0}, double_frees{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      HeapLock lock{h.mutex};
      HeapCache& cache = caches[t];
      std::vector<Block> mine;
      for (int op = 0; op < 100000; ++op) {
        unsigned pick = rng() % 100;
        if (pick < 45 || mine.empty()) {
          usize size = 1 + rng() % (rng() % 4 == 0 ? 2048 : 96);
          void* p = cache.allocate(h.heap, Heap::class_of(size), lock);
          if (p == nullptr) {
            ++failures;
            continue;
          }
          auto fill = static_cast<uint8_t>(rng());
          std::memset(p, fill, size);
          mine.push_back({p, size, fill});
        } else if (pick < 65) {
          exchange.put(mine.back());
          mine.pop_back();
        } else {
          Block b;
          bool theirs = rng() % 2 == 0 && exchange.take(rng, &b);
          if (!theirs) {
            usize i = rng() % mine.size();
            b = mine[i];
            mine[i] = mine.back();
            mine.pop_back();
          }
          if (!check_and_free(h, cache, lock, b)) ++failures;
          if (theirs) ++cross_frees;
          if (rng() % 16 == 0) {
            // Right after the free the object is in this thread's magazine: a double free.
            if (cache.free(h.heap, b.p, lock).error() != Error::kAlreadyExists) ++failures;
            ++double_frees;
          }
        }
      }
      for (const Block& b : mine) {
        if (!check_and_free(h, cache, lock, b)) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  HeapLock lock{h.mutex};
  for (const Block& b : exchange.blocks) ASSERT_TRUE(check_and_free(h, caches[0], lock, b));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(cross_frees.load(), 1000u);
  EXPECT_GT(double_frees.load(), 100u);
  usize cached = 0;
  for (HeapCache& c : caches) cached += c.count();
  usize in_use = 0;
  for (usize i = 0; i < Heap::kClasses; ++i) in_use += h.heap.cache(i).objects_in_use();
  EXPECT_EQ(in_use, cached);
  for (HeapCache& c : caches) c.drain_all(h.heap);
  usize slabs = 0;
  for (usize i = 0; i < Heap::kClasses; ++i) {
    EXPECT_EQ(h.heap.cache(i).objects_in_use(), 0u);
    EXPECT_LE(h.heap.cache(i).slabs(), 1u);
    slabs += h.heap.cache(i).slabs();
  }
  EXPECT_EQ(h.buddy.allocated_bytes(), slabs * SlabCache::kSlabBytes);
}

TEST(HeapCacheStress, RacingFreesOfOneObjectSucceedOnce) {
  SharedHeap h;
  HeapCache caches[kThreads];
  HeapLock lock{h.mutex};
  constexpr int kObjects = 20000;
  // Every other object stays allocated, so no slab empties and goes back to the buddy
  // allocator during the race (a late double free would then be kInvalidArgument).
  std::vector<void*> objects, kept;
  for (int i = 0; i < 2 * kObjects; ++i) {
    (i % 2 == 0 ? objects : kept).push_back(caches[0].allocate(h.heap, 1, lock));
  }
  std::atomic<int> ok{0}, already{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  // Every thread frees every object: exactly one free of each may succeed.
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HeapLock mine{h.mutex};
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = 0; i < kObjects; ++i) {
        void* p = objects[(i + t * 977) % kObjects];
        Status s = caches[t].free(h.heap, p, mine);
        if (s.ok()) {
          ++ok;
        } else if (s.error() == Error::kAlreadyExists) {
          ++already;
        } else {
          ++other;
        }
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kObjects);
  EXPECT_EQ(already.load(), kObjects * (kThreads - 1));
  EXPECT_EQ(other.load(), 0);
  for (void* p : kept) ASSERT_TRUE(caches[1].free(h.heap, p, lock).ok());
  for (HeapCache& c : caches) c.drain_all(h.heap);
  for (usize i = 0; i < Heap::kClasses; ++i) EXPECT_EQ(h.heap.cache(i).objects_in_use(), 0u);
}

}  // namespace
}  // namespace exo::mm
