// Host tests for the slab caches and the Heap facade.
#include "kernel/mm/slab.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "tests/host/mm/arena.h"

namespace exo::mm {
namespace {

constexpr usize kArena = 64 * MiB;

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
  usize slabs() const {
    usize total = 0;
    for (usize i = 0; i < Heap::kClasses; ++i) total += heap.cache(i).slabs();
    return total;
  }
};

TEST(Heap, SizeClasses) {
  EXPECT_EQ(Heap::class_of(1), 0u);
  EXPECT_EQ(Heap::class_of(16), 0u);
  EXPECT_EQ(Heap::class_of(17), 1u);
  EXPECT_EQ(Heap::class_of(64), 2u);
  EXPECT_EQ(Heap::class_of(65), 3u);
  EXPECT_EQ(Heap::class_of(1024), 6u);
  EXPECT_EQ(Heap::class_of(2048), 7u);
  Fixture f;
  for (usize i = 0; i < Heap::kClasses; ++i) {
    EXPECT_EQ(f.heap.cache(i).object_size(), usize{16} << i);
  }
  // The header (40 bytes and a state byte per 16-byte unit) rounds up to the object size.
  EXPECT_EQ(f.heap.cache(7).objects_per_slab(), 7u);  // 2 KiB: header takes one slot
  EXPECT_EQ(f.heap.cache(2).objects_per_slab(), (16384u - 1088) / 64);
  EXPECT_EQ(f.heap.cache(0).objects_per_slab(), (16384u - 1072) / 16);
}

TEST(Heap, AllocatesAlignedAndSized) {
  Fixture f;
  struct Case {
    usize size, align, expect_size;
  } cases[] = {{1, 1, 16},
               {16, 16, 16},
               {24, 8, 32},
               {64, 64, 64},
               {8, 256, 256},
               {2000, 16, 2048},
               {2049, 16, 4096},
               {100, 4096, 4096},
               {70000, 16, 128 * KiB},
               {4 * MiB, 16, 4 * MiB}};
  std::vector<void*> ptrs;
  for (const Case& c : cases) {
    Result<void*> r = f.heap.allocate(c.size, c.align);
    ASSERT_TRUE(r.ok()) << c.size;
    EXPECT_EQ(reinterpret_cast<uptr>(*r) % c.align, 0u) << c.size;
    EXPECT_EQ(*f.heap.allocation_size(*r), c.expect_size) << c.size;
    std::memset(*r, 0xcc, c.size);
    ptrs.push_back(*r);
  }
  EXPECT_EQ(f.heap.allocate(0, 16).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.heap.allocate(16, 24).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.heap.allocate(4 * MiB + 1, 16).error(), Error::kNoMemory);
  for (void* p : ptrs) ASSERT_TRUE(f.heap.free(p).ok());
  EXPECT_TRUE(f.heap.free(nullptr).ok());
}

TEST(Heap, BadFreesAreErrors) {
  Fixture f;
  auto* small = static_cast<uint8_t*>(*f.heap.allocate(64));
  auto* other = static_cast<uint8_t*>(*f.heap.allocate(64));
  auto* large = static_cast<uint8_t*>(*f.heap.allocate(64 * KiB));
  uptr slab_base = reinterpret_cast<uptr>(small) & ~(SlabCache::kSlabBytes - 1);
  EXPECT_EQ(f.heap.free(small + 8).error(), Error::kInvalidArgument);     // inside an object
  EXPECT_EQ(f.heap.free(small + 64 * 3).error(), Error::kAlreadyExists);  // never allocated
  EXPECT_EQ(f.heap.free(reinterpret_cast<void*>(slab_base)).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.heap.free(reinterpret_cast<void*>(slab_base + 128)).error(),  // the header
            Error::kInvalidArgument);
  EXPECT_EQ(f.heap.free(large + 4096).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.heap.free(large + 16).error(), Error::kInvalidArgument);
  uint64_t on_stack[2] = {};
  EXPECT_EQ(f.heap.free(on_stack).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.heap.allocation_size(small + 8).error(), Error::kInvalidArgument);
  // A different cache refuses another cache's object.
  EXPECT_EQ(f.heap.cache(0).objects_in_use(), 0u);

  ASSERT_TRUE(f.heap.free(small).ok());
  EXPECT_EQ(f.heap.free(small).error(), Error::kAlreadyExists);
  EXPECT_EQ(f.heap.allocation_size(small).error(), Error::kInvalidArgument);
  ASSERT_TRUE(f.heap.free(large).ok());
  EXPECT_EQ(f.heap.free(large).error(), Error::kAlreadyExists);
  EXPECT_EQ(f.heap.cache(2).objects_in_use(), 1u);
  ASSERT_TRUE(f.heap.free(other).ok());
  EXPECT_EQ(f.heap.cache(2).objects_in_use(), 0u);
}

TEST(SlabCache, RejectsForeignObjects) {
  Fixture f;
  SlabCache mine;
  ASSERT_TRUE(mine.init(128, &f.buddy).ok());
  EXPECT_EQ(SlabCache().init(48, &f.buddy).error(), Error::kInvalidArgument);
  EXPECT_EQ(SlabCache().init(4096, &f.buddy).error(), Error::kInvalidArgument);
  void* theirs = *f.heap.allocate(128);
  EXPECT_EQ(mine.free(theirs).error(), Error::kInvalidArgument);
  void* ours = *mine.allocate();
  EXPECT_EQ(reinterpret_cast<uptr>(ours) % 128, 0u);
  ASSERT_TRUE(mine.free(ours).ok());
  EXPECT_EQ(mine.free(ours).error(), Error::kAlreadyExists);
  ASSERT_TRUE(f.heap.free(theirs).ok());
}

TEST(SlabCache, ReturnsEmptySlabsButKeepsOne) {
  Fixture f;
  const SlabCache& c16 = f.heap.cache(0);
  std::vector<void*> objects;
  for (usize i = 0; i < c16.objects_per_slab() * 5 + 3; ++i)
    objects.push_back(*f.heap.allocate(16));
  EXPECT_EQ(c16.slabs(), 6u);
  EXPECT_EQ(c16.objects_in_use(), objects.size());
  for (void* p : objects) ASSERT_TRUE(f.heap.free(p).ok());
  EXPECT_EQ(c16.slabs(), 1u);
  EXPECT_EQ(c16.objects_in_use(), 0u);
  EXPECT_EQ(f.buddy.allocated_bytes(), SlabCache::kSlabBytes);
  // Reuse does not grow.
  void* again = *f.heap.allocate(16);
  EXPECT_EQ(c16.slabs(), 1u);
  ASSERT_TRUE(f.heap.free(again).ok());
}

TEST(Heap, OutOfMemoryIsReported) {
  Fixture f;
  f.arena.fail_after(0);
  EXPECT_EQ(f.heap.allocate(64).error(), Error::kNoMemory);
  EXPECT_EQ(f.heap.allocate(64 * KiB).error(), Error::kNoMemory);
  f.arena.fail_after(-1);
  EXPECT_TRUE(f.heap.allocate(64).ok());
}

TEST(Heap, RandomAgainstModel) {
  Fixture f;
  std::mt19937_64 rng(7);
  struct Live {
    usize size;
    uint8_t fill;
  };
  std::map<uptr, Live> live;
  for (int op = 0; op < 100000; ++op) {
    if (live.empty() || rng() % 100 < 53) {
      usize size;
      unsigned pick = rng() % 100;
      if (pick < 70) {
        size = 1 + rng() % 128;
      } else if (pick < 97) {
        size = 1 + rng() % 2048;
      } else {
        size = 1 + rng() % (256 * KiB);
      }
      usize align = usize{1} << (rng() % 8);
      Result<void*> r = f.heap.allocate(size, align);
      ASSERT_TRUE(r.ok());
      auto p = reinterpret_cast<uptr>(*r);
      ASSERT_EQ(p % align, 0u);
      ASSERT_GE(*f.heap.allocation_size(*r), size);
      auto next = live.lower_bound(p);
      if (next != live.end()) {
        ASSERT_LE(p + size, next->first);
      }
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second.size, p);
      }
      auto fill = static_cast<uint8_t>(rng());
      std::memset(*r, fill, size);
      live[p] = {size, fill};
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      const auto* bytes = reinterpret_cast<const uint8_t*>(it->first);
      for (usize i = 0; i < it->second.size; i += 7) ASSERT_EQ(bytes[i], it->second.fill);
      ASSERT_EQ(bytes[it->second.size - 1], it->second.fill);
      ASSERT_TRUE(f.heap.free(reinterpret_cast<void*>(it->first)).ok());
      if (rng() % 64 == 0) {
        // kAlreadyExists while the slab lives; kInvalidArgument once it went back to the buddy.
        Status again = f.heap.free(reinterpret_cast<void*>(it->first));
        ASSERT_FALSE(again.ok());
        ASSERT_TRUE(again.error() == Error::kAlreadyExists ||
                    again.error() == Error::kInvalidArgument);
      }
      live.erase(it);
    }
  }
  for (auto& [p, l] : live) ASSERT_TRUE(f.heap.free(reinterpret_cast<void*>(p)).ok());
  for (usize i = 0; i < Heap::kClasses; ++i) {
    EXPECT_EQ(f.heap.cache(i).objects_in_use(), 0u);
    EXPECT_LE(f.heap.cache(i).slabs(), 1u);
  }
  // Only the kept empty slabs remain allocated in the buddy allocator.
  EXPECT_EQ(f.buddy.allocated_bytes(), f.slabs() * SlabCache::kSlabBytes);
}

}  // namespace
}  // namespace exo::mm
