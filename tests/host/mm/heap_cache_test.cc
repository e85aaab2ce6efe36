// Host tests for the per-CPU heap magazines (HeapMagazine, HeapCache) and Heap::claim.
#include "kernel/mm/heap_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "tests/host/mm/arena.h"

namespace exo::mm {
namespace {

constexpr usize kArena = 64 * MiB;
constexpr usize k64 = 2;  // class of 64-byte objects

struct Fixture {
  Arena arena{kArena};
  std::vector<uint8_t> map = std::vector<uint8_t>(BuddyAllocator::map_bytes_needed(kArena));
  BuddyAllocator buddy;
  Heap heap;
  Fixture() {
    EXPECT_TRUE(
        buddy.init(arena.base(), kArena, MutableByteSpan(map.data(), map.size()), &arena).ok());
    EXPECT_TRUE(heap.init(&buddy).ok());
  }
  usize in_use() const {
    usize total = 0;
    for (usize i = 0; i < Heap::kClasses; ++i) total += heap.cache(i).objects_in_use();
    return total;
  }
  usize slabs() const {
    usize total = 0;
    for (usize i = 0; i < Heap::kClasses; ++i) total += heap.cache(i).slabs();
    return total;
  }
};

struct CountingLock {
  int locks = 0;
  bool held = false;
  void lock() {
    ASSERT_FALSE(held);
    held = true;
    ++locks;
  }
  void unlock() {
    ASSERT_TRUE(held);
    held = false;
  }
};

TEST(HeapClaim, AcceptsOnlyHandedOutObjectStarts) {
  Fixture f;
  auto* object = static_cast<uint8_t*>(*f.heap.allocate(64));
  auto* large = static_cast<uint8_t*>(*f.heap.allocate(16 * KiB));
  uptr slab = reinterpret_cast<uptr>(object) & ~(SlabCache::kSlabBytes - 1);
  uint64_t on_stack[2] = {};
  usize cls = 99;
  EXPECT_FALSE(Heap::claim(f.buddy, nullptr, &cls));
  EXPECT_FALSE(Heap::claim(f.buddy, on_stack, &cls));
  EXPECT_FALSE(Heap::claim(f.buddy, large, &cls));        // a buddy block, not a slab
  EXPECT_FALSE(Heap::claim(f.buddy, object + 16, &cls));  // inside the object
  EXPECT_FALSE(Heap::claim(f.buddy, object + 64, &cls));  // the next object: never handed out
  EXPECT_FALSE(Heap::claim(f.buddy, reinterpret_cast<void*>(slab + 48), &cls));  // the header
  EXPECT_EQ(cls, 99u);  // untouched on refusal
  ASSERT_TRUE(Heap::claim(f.buddy, object, &cls));
  EXPECT_EQ(cls, k64);
  EXPECT_FALSE(Heap::claim(f.buddy, object, &cls));  // claimed once only
  // A claimed object is the caller's: give it back, then the locked free sees a double free.
  f.heap.give_back(object);
  EXPECT_EQ(f.heap.free(object).error(), Error::kAlreadyExists);
  EXPECT_EQ(f.heap.cache(k64).objects_in_use(), 0u);
  ASSERT_TRUE(f.heap.free(large).ok());
}

TEST(HeapMagazine, EmptyAndFullBounds) {
  Fixture f;
  HeapMagazine m;
  void* object = nullptr;
  EXPECT_FALSE(m.try_allocate(&object));
  std::vector<void*> objects(HeapMagazine::kCapacity + 1);
  ASSERT_EQ(f.heap.take(k64, objects.data(), objects.size()), objects.size());
  for (usize i = 0; i < HeapMagazine::kCapacity; ++i) ASSERT_TRUE(m.try_free(objects[i]));
  EXPECT_FALSE(m.try_free(objects.back()));
  EXPECT_EQ(m.count(), HeapMagazine::kCapacity);
  // Last in, first out, and marked handed out on the way.
  ASSERT_TRUE(m.try_allocate(&object));
  EXPECT_EQ(object, objects[HeapMagazine::kCapacity - 1]);
  EXPECT_EQ(*f.heap.allocation_size(object), 64u);
  EXPECT_EQ(f.heap.allocation_size(objects[0]).error(), Error::kInvalidArgument);  // still free
  ASSERT_TRUE(f.heap.free(object).ok());
  m.drain(f.heap, m.count());
  f.heap.give_back(objects.back());
  EXPECT_EQ(f.heap.cache(k64).objects_in_use(), 0u);
}

TEST(HeapMagazine, RefillTakesABatchAndDrainReturnsTheOldest) {
  Fixture f;
  HeapMagazine m;
  m.refill(f.heap, k64);
  EXPECT_EQ(m.count(), HeapMagazine::kBatch);
  EXPECT_EQ(f.heap.cache(k64).objects_in_use(), HeapMagazine::kBatch);
  std::set<void*> distinct;
  void* object;
  while (m.try_allocate(&object)) {
    EXPECT_EQ(reinterpret_cast<uptr>(object) % 64, 0u);
    distinct.insert(object);
  }
  EXPECT_EQ(distinct.size(), HeapMagazine::kBatch);
  for (void* p : distinct) {
    usize cls;
    ASSERT_TRUE(Heap::claim(f.buddy, p, &cls));
    ASSERT_TRUE(m.try_free(p));
  }
  // A full magazine: free_claimed drains the kBatch oldest to the slabs, then keeps the new one.
  std::vector<void*> more(HeapMagazine::kCapacity - HeapMagazine::kBatch + 1);
  ASSERT_EQ(f.heap.take(k64, more.data(), more.size()), more.size());
  for (usize i = 0; i + 1 < more.size(); ++i) ASSERT_TRUE(m.try_free(more[i]));
  EXPECT_EQ(m.count(), HeapMagazine::kCapacity);
  m.free_claimed(f.heap, more.back());
  EXPECT_EQ(m.count(), HeapMagazine::kCapacity - HeapMagazine::kBatch + 1);
  EXPECT_EQ(f.heap.cache(k64).objects_in_use(), m.count());
  ASSERT_TRUE(m.try_allocate(&object));
  EXPECT_EQ(object, more.back());
  // The drained ones were the first freed: none of them is still in the magazine.
  std::set<void*> left;
  left.insert(object);
  while (m.try_allocate(&object)) left.insert(object);
  for (void* p : distinct) EXPECT_EQ(left.count(p), 0u);
  for (void* p : left) ASSERT_TRUE(f.heap.free(p).ok());
  EXPECT_EQ(f.heap.cache(k64).objects_in_use(), 0u);
}

TEST(HeapCache, CommonPairSkipsTheLock) {
  Fixture f;
  HeapCache cache;
  CountingLock lock;
  void* p = cache.allocate(f.heap, k64, lock);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(lock.locks, 1);  // the refill
  EXPECT_EQ(cache.magazine(k64).count(), HeapMagazine::kBatch - 1);
  ASSERT_TRUE(cache.free(f.heap, p, lock).ok());
  for (int i = 0; i < 1000; ++i) {
    void* q = cache.allocate(f.heap, k64, lock);
    ASSERT_EQ(q, p);  // the warmest object comes back
    ASSERT_TRUE(cache.free(f.heap, q, lock).ok());
  }
  EXPECT_EQ(lock.locks, 1);
  EXPECT_EQ(cache.count(), HeapMagazine::kBatch);
  lock.lock();
  cache.drain_all(f.heap);
  lock.unlock();
  EXPECT_EQ(cache.count(), 0u);
  EXPECT_EQ(f.in_use(), 0u);
}

TEST(HeapCache, BadFreesAreCaughtEvenWhileTheFirstFreeSitsInAMagazine) {
  Fixture f;
  HeapCache cache;
  CountingLock lock;
  auto* p = static_cast<uint8_t*>(cache.allocate(f.heap, k64, lock));
  auto* large = static_cast<uint8_t*>(*f.heap.allocate(64 * KiB));
  ASSERT_TRUE(cache.free(f.heap, p, lock).ok());
  EXPECT_EQ(cache.free(f.heap, p, lock).error(), Error::kAlreadyExists);
  EXPECT_EQ(cache.free(f.heap, p + 8, lock).error(), Error::kInvalidArgument);
  EXPECT_EQ(cache.free(f.heap, p + 64, lock).error(), Error::kAlreadyExists);  // free object
  uint64_t on_stack[2] = {};
  EXPECT_EQ(cache.free(f.heap, on_stack, lock).error(), Error::kInvalidArgument);
  EXPECT_TRUE(cache.free(f.heap, nullptr, lock).ok());
  // Buddy blocks pass through to the locked heap.
  EXPECT_EQ(cache.free(f.heap, large + 4096, lock).error(), Error::kInvalidArgument);
  ASSERT_TRUE(cache.free(f.heap, large, lock).ok());
  EXPECT_EQ(cache.free(f.heap, large, lock).error(), Error::kAlreadyExists);
  EXPECT_FALSE(lock.held);
  // Nothing above changed the magazine: p is in it exactly once.
  EXPECT_EQ(cache.magazine(k64).count(), HeapMagazine::kBatch);
  std::set<void*> seen;
  void* object;
  while (cache.magazine(k64).try_allocate(&object)) ASSERT_TRUE(seen.insert(object).second);
  EXPECT_EQ(seen.count(p), 1u);
  for (void* q : seen) ASSERT_TRUE(f.heap.free(q).ok());
  EXPECT_EQ(f.in_use(), 0u);
}

TEST(HeapCache, ObjectsMoveBetweenCpus) {
  Fixture f;
  HeapCache cpu0, cpu1;
  CountingLock lock;
  std::vector<void*> objects;
  for (int i = 0; i < 100; ++i) objects.push_back(cpu0.allocate(f.heap, k64, lock));
  for (void* p : objects) ASSERT_TRUE(cpu1.free(f.heap, p, lock).ok());  // freed elsewhere
  // 31 fill it, then every 16th free drains 16: 100 frees leave 20.
  EXPECT_EQ(cpu1.magazine(k64).count(), 20u);
  EXPECT_EQ(f.in_use(), cpu0.count() + cpu1.count());
  // cpu1 hands out what it received; a double free on cpu0 of an object in cpu1's magazine fails.
  void* p = cpu1.allocate(f.heap, k64, lock);
  EXPECT_EQ(p, objects.back());
  ASSERT_TRUE(cpu1.free(f.heap, p, lock).ok());
  EXPECT_EQ(cpu0.free(f.heap, p, lock).error(), Error::kAlreadyExists);
  lock.lock();
  cpu0.drain_all(f.heap);
  cpu1.drain_all(f.heap);
  lock.unlock();
  EXPECT_EQ(f.in_use(), 0u);
  EXPECT_EQ(f.slabs(), 1u);
  EXPECT_EQ(f.buddy.allocated_bytes(), SlabCache::kSlabBytes);
}

TEST(HeapCache, ExhaustionIsNull) {
  Fixture f;
  HeapCache cache;
  CountingLock lock;
  f.arena.fail_after(0);
  EXPECT_EQ(cache.allocate(f.heap, k64, lock), nullptr);
  EXPECT_FALSE(lock.held);
  f.arena.fail_after(-1);
  void* p = cache.allocate(f.heap, k64, lock);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(cache.free(f.heap, p, lock).ok());
}

TEST(HeapCache, RandomAgainstModelOnFourCpus) {
  Fixture f;
  HeapCache cpus[4];
  CountingLock lock;
  std::mt19937_64 rng(11);
  struct Live {
    usize size;
    uint8_t fill;
  };
  std::map<uptr, Live> live;
  uint64_t double_frees = 0;
  for (int op = 0; op < 100000; ++op) {
    HeapCache& cpu = cpus[rng() % 4];
    if (live.empty() || rng() % 100 < 52) {
      usize size = 1 + rng() % (rng() % 4 == 0 ? 2048 : 128);
      void* p = cpu.allocate(f.heap, Heap::class_of(size), lock);
      ASSERT_NE(p, nullptr);
      auto address = reinterpret_cast<uptr>(p);
      ASSERT_EQ(address % (usize{16} << Heap::class_of(size)), 0u);
      auto next = live.lower_bound(address);
      if (next != live.end()) {
        ASSERT_LE(address + size, next->first);
      }
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second.size, address);
      }
      auto fill = static_cast<uint8_t>(rng());
      std::memset(p, fill, size);
      live[address] = {size, fill};
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      const auto* bytes = reinterpret_cast<const uint8_t*>(it->first);
      for (usize i = 0; i < it->second.size; i += 5) ASSERT_EQ(bytes[i], it->second.fill);
      ASSERT_TRUE(cpu.free(f.heap, reinterpret_cast<void*>(it->first), lock).ok());
      if (rng() % 32 == 0) {
        // In a magazine its slab stays: the second free is always a double free.
        HeapCache& other = cpus[rng() % 4];
        ASSERT_EQ(other.free(f.heap, reinterpret_cast<void*>(it->first), lock).error(),
                  Error::kAlreadyExists);
        ++double_frees;
      }
      live.erase(it);
    }
    ASSERT_FALSE(lock.held);
  }
  EXPECT_GT(double_frees, 0u);
  for (auto& [p, l] : live)
    ASSERT_TRUE(cpus[0].free(f.heap, reinterpret_cast<void*>(p), lock).ok());
  usize cached = 0;
  for (HeapCache& c : cpus) cached += c.count();
  EXPECT_EQ(f.in_use(), cached);
  for (HeapCache& c : cpus) c.drain_all(f.heap);
  EXPECT_EQ(f.in_use(), 0u);
  for (usize i = 0; i < Heap::kClasses; ++i) EXPECT_LE(f.heap.cache(i).slabs(), 1u);
  EXPECT_EQ(f.buddy.allocated_bytes(), f.slabs() * SlabCache::kSlabBytes);
}

}  // namespace
}  // namespace exo::mm
