// HeapCore on the host: size classes, reuse, large blocks, misuse detection, random stress.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "libsys/src/heap_core.h"

namespace {

using exo::sys::HeapCore;
using exo::sys::HeapFailure;
using exo::sys::PageSource;

// Page-aligned memory from the host, with a count of what is outstanding and an optional limit.
struct FakePages {
  std::map<void*, size_t> live;
  size_t limit = SIZE_MAX;
  size_t total = 0;
  size_t maps = 0;

  static void* map(void* context, size_t bytes) {
    auto* self = static_cast<FakePages*>(context);
    EXPECT_EQ(bytes % exo::sys::kHeapPageSize, 0u);
    if (self->total + bytes > self->limit) return nullptr;
    void* memory = std::aligned_alloc(exo::sys::kHeapPageSize, bytes);
    std::memset(memory, 0xdd, bytes);  // dirty, as reused pages may be
    self->live[memory] = bytes;
    self->total += bytes;
    ++self->maps;
    return memory;
  }
  static void unmap(void* context, void* address, size_t bytes) {
    auto* self = static_cast<FakePages*>(context);
    auto it = self->live.find(address);
    ASSERT_NE(it, self->live.end()) << "unmap of memory never mapped";
    EXPECT_EQ(it->second, bytes);
    self->total -= bytes;
    self->live.erase(it);
    std::free(address);
  }
  PageSource source() { return PageSource{&FakePages::map, &FakePages::unmap, this}; }
};

class HeapTest : public ::testing::Test {
 protected:
  void TearDown() override {
    heap_.release_all();
    EXPECT_TRUE(pages_.live.empty());
  }
  FakePages pages_;
  HeapCore heap_{pages_.source()};
};

TEST_F(HeapTest, SmallBlocksAreAlignedDistinctAndUsable) {
  std::set<void*> seen;
  for (size_t size : {0ul, 1ul, 15ul, 16ul, 17ul, 100ul, 1000ul, 4080ul}) {
    void* p = heap_.allocate(size);
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % HeapCore::kAlignment, 0u);
    EXPECT_TRUE(seen.insert(p).second);
    std::memset(p, 0xab, size);
    EXPECT_GE(heap_.capacity_of(p), size);
    EXPECT_EQ(heap_.size_of(p), size == 0 ? 1 : size);
  }
  EXPECT_EQ(heap_.live_blocks(), 8u);
  for (void* p : seen) EXPECT_EQ(heap_.release(p), HeapFailure::kNone);
  EXPECT_EQ(heap_.live_blocks(), 0u);
  EXPECT_EQ(heap_.bytes_in_use(), 0u);
}

TEST_F(HeapTest, FreedBlocksAreReusedLastInFirstOut) {
  void* a = heap_.allocate(40);
  void* b = heap_.allocate(40);
  ASSERT_EQ(heap_.release(a), HeapFailure::kNone);
  ASSERT_EQ(heap_.release(b), HeapFailure::kNone);
  EXPECT_EQ(heap_.allocate(40), b);
  EXPECT_EQ(heap_.allocate(33), a);  // same class (64-byte blocks)
  size_t maps = pages_.maps;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(heap_.release(heap_.allocate(48)), HeapFailure::kNone);
  EXPECT_EQ(pages_.maps, maps);
}

TEST_F(HeapTest, DoubleFreeIsDetectedAndHarmless) {
  void* a = heap_.allocate(100);
  void* b = heap_.allocate(100);
  ASSERT_EQ(heap_.release(a), HeapFailure::kNone);
  EXPECT_EQ(heap_.release(a), HeapFailure::kDoubleFree);
  EXPECT_EQ(heap_.live_blocks(), 1u);
  // The free list was not corrupted: the next two allocations are distinct.
  void* c = heap_.allocate(100);
  void* d = heap_.allocate(100);
  EXPECT_EQ(c, a);
  EXPECT_NE(d, a);
  EXPECT_NE(d, b);
}

TEST_F(HeapTest, InvalidFreesAreRefused) {
  char* a = static_cast<char*>(heap_.allocate(100));
  int on_stack = 0;
  EXPECT_EQ(heap_.release(a + 16), HeapFailure::kInvalidFree);  // inside a block
  EXPECT_EQ(heap_.release(a + 1), HeapFailure::kInvalidFree);   // misaligned
  EXPECT_EQ(heap_.release(&on_stack), HeapFailure::kInvalidFree);
  alignas(16) static char global[64];
  EXPECT_EQ(heap_.release(global + 16), HeapFailure::kInvalidFree);
  // Beyond the chunk's used part (never handed out).
  EXPECT_EQ(heap_.release(a + 128 * 4), HeapFailure::kInvalidFree);
  EXPECT_EQ(heap_.live_blocks(), 1u);
  EXPECT_EQ(heap_.release(a), HeapFailure::kNone);
}

TEST_F(HeapTest, LargeBlocksGetTheirOwnMappingAndGiveItBack) {
  size_t before = pages_.total;
  char* big = static_cast<char*>(heap_.allocate(100000));
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % HeapCore::kAlignment, 0u);
  std::memset(big, 1, 100000);
  EXPECT_GE(heap_.capacity_of(big), 100000u);
  EXPECT_EQ(heap_.size_of(big), 100000u);
  EXPECT_GT(pages_.total, before);
  EXPECT_EQ(heap_.release(big + 16), HeapFailure::kInvalidFree);
  EXPECT_EQ(heap_.release(big), HeapFailure::kNone);
  EXPECT_EQ(pages_.total, before);
  // Freed twice: the mapping is gone, so it is reported as never given out.
  EXPECT_EQ(heap_.release(big), HeapFailure::kInvalidFree);
}

TEST_F(HeapTest, ExhaustionReturnsNull) {
  pages_.limit = HeapCore::kChunkSize;
  EXPECT_EQ(heap_.allocate(1 << 20), nullptr);
  EXPECT_EQ(heap_.allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(heap_.allocate(SIZE_MAX - 8), nullptr);
  int count = 0;
  while (heap_.allocate(1000) != nullptr) ++count;
  EXPECT_GT(count, 0);
  EXPECT_EQ(heap_.allocate(2000), nullptr);  // another class needs another chunk
}

TEST_F(HeapTest, RandomStressAgainstAModel) {
  std::mt19937_64 random(12345);
  std::map<unsigned char*, std::pair<size_t, unsigned char>> live;
  size_t bytes = 0;
  // The live set wanders between empty and about 3,000 blocks, so classes fill, drain and refill.
  for (int step = 0; step < 100000; ++step) {
    bool grow = (step / 5000) % 2 == 0;
    if (live.empty() || random() % 8 < (grow ? 5u : 3u)) {
      size_t size = random() % 8 == 0 ? random() % 20000 : random() % 600;
      auto* p = static_cast<unsigned char*>(heap_.allocate(size));
      ASSERT_NE(p, nullptr);
      unsigned char fill = static_cast<unsigned char>(random());
      std::memset(p, fill, size);
      ASSERT_TRUE(live.emplace(p, std::make_pair(size, fill)).second) << "handed out twice";
      bytes += size == 0 ? 1 : size;
    } else {
      auto it = live.begin();
      std::advance(it, random() % live.size());
      auto [size, fill] = it->second;
      for (size_t i = 0; i < size; ++i) ASSERT_EQ(it->first[i], fill) << "overlapping blocks";
      ASSERT_EQ(heap_.release(it->first), HeapFailure::kNone);
      bytes -= size == 0 ? 1 : size;
      live.erase(it);
    }
    if (step % 1000 == 0) {
      ASSERT_EQ(heap_.live_blocks(), live.size());
      ASSERT_EQ(heap_.bytes_in_use(), bytes);
    }
  }
  for (auto& [p, info] : live) ASSERT_EQ(heap_.release(p), HeapFailure::kNone);
  EXPECT_EQ(heap_.live_blocks(), 0u);
}

}  // namespace
