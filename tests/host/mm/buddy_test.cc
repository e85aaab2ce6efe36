// Host tests for the buddy allocator, over a malloc'd arena whose unbacked part is poisoned for
// ASan.
#include "kernel/mm/buddy.h"

#include <gtest/gtest.h>
#include <sanitizer/asan_interface.h>

#include <cstdlib>
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
  Fixture() {
    EXPECT_TRUE(
        buddy.init(arena.base(), kArena, MutableByteSpan(map.data(), map.size()), &arena).ok());
  }
};

// The free blocks [base, brk) must decompose into when nothing is allocated: the largest
// aligned blocks, i.e. fully coalesced.
std::vector<usize> maximal_decomposition(usize pages) {
  std::vector<usize> counts(BuddyAllocator::kMaxOrder + 1);
  usize index = 0;
  while (index < pages) {
    unsigned k = 0;
    while (k < BuddyAllocator::kMaxOrder && (index & (usize{1} << k)) == 0 &&
           index + (usize{2} << k) <= pages) {
      ++k;
    }
    ++counts[k];
    index += usize{1} << k;
  }
  return counts;
}

void expect_fully_coalesced(const BuddyAllocator& b) {
  EXPECT_EQ(b.allocated_bytes(), 0u);
  EXPECT_EQ(b.free_bytes(), b.backed_bytes());
  std::vector<usize> want = maximal_decomposition(b.backed_bytes() / BuddyAllocator::kMinBlock);
  for (unsigned k = 0; k <= BuddyAllocator::kMaxOrder; ++k) {
    EXPECT_EQ(b.free_blocks(k), want[k]) << "order " << k;
  }
}

TEST(Buddy, InitValidates) {
  Arena arena(8 * MiB);
  std::vector<uint8_t> map(4096);
  MutableByteSpan m(map.data(), map.size());
  {
    BuddyAllocator b;
    EXPECT_EQ(b.init(arena.base() + 4096, 4 * MiB, m, &arena).error(), Error::kNotAligned);
  }
  {
    BuddyAllocator b;
    EXPECT_EQ(b.init(arena.base(), 4 * MiB + 1, m, &arena).error(), Error::kNotAligned);
  }
  {
    BuddyAllocator b;
    EXPECT_EQ(b.init(arena.base(), 8 * MiB, MutableByteSpan(map.data(), 100), &arena).error(),
              Error::kOutOfRange);
  }
  {
    BuddyAllocator b;
    EXPECT_EQ(b.init(arena.base(), 0, m, &arena).error(), Error::kInvalidArgument);
    EXPECT_EQ(b.init(arena.base(), 4 * MiB, m, nullptr).error(), Error::kInvalidArgument);
  }
  {
    BuddyAllocator b;
    EXPECT_EQ(b.init(~uptr{0} & ~(BuddyAllocator::kMaxBlock - 1), 4 * MiB, m, &arena).error(),
              Error::kOverflow);
  }
}

TEST(Buddy, SplitsAlignsAndCoalesces) {
  Fixture f;
  EXPECT_EQ(f.buddy.backed_bytes(), 0u);
  void* a = *f.buddy.allocate(1);
  EXPECT_EQ(reinterpret_cast<uptr>(a), f.arena.base());
  EXPECT_EQ(f.buddy.backed_bytes(), 64 * KiB);  // grown by kGrowOrder
  EXPECT_EQ(*f.buddy.allocated_size(a), 4096u);
  void* b = *f.buddy.allocate(4097);
  EXPECT_EQ(*f.buddy.allocated_size(b), 8192u);
  EXPECT_EQ(reinterpret_cast<uptr>(b) % 8192, 0u);
  EXPECT_EQ(reinterpret_cast<uptr>(b), f.arena.base() + 8192);
  void* c = *f.buddy.allocate(1 * MiB);
  EXPECT_EQ(reinterpret_cast<uptr>(c) % MiB, 0u);
  EXPECT_EQ(f.buddy.allocated_bytes(), 4096u + 8192 + MiB);
  std::memset(a, 1, 4096);
  std::memset(b, 2, 8192);
  std::memset(c, 3, MiB);
  ASSERT_TRUE(f.buddy.free(b).ok());
  ASSERT_TRUE(f.buddy.free(a).ok());
  ASSERT_TRUE(f.buddy.free(c).ok());
  expect_fully_coalesced(f.buddy);
}

TEST(Buddy, MaxBlockAndTooLarge) {
  Fixture f;
  void* big = *f.buddy.allocate(BuddyAllocator::kMaxBlock);
  EXPECT_EQ(reinterpret_cast<uptr>(big) % BuddyAllocator::kMaxBlock, 0u);
  std::memset(big, 0x5a, BuddyAllocator::kMaxBlock);
  EXPECT_EQ(f.buddy.allocate(BuddyAllocator::kMaxBlock + 1).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.buddy.allocate(0).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.buddy.allocate_order(BuddyAllocator::kMaxOrder + 1, false).error(),
            Error::kInvalidArgument);
  ASSERT_TRUE(f.buddy.free(big).ok());
  expect_fully_coalesced(f.buddy);
}

TEST(Buddy, BadFreesAreErrors) {
  Fixture f;
  auto* a = static_cast<uint8_t*>(*f.buddy.allocate(16 * KiB));
  auto* b = static_cast<uint8_t*>(*f.buddy.allocate(4 * KiB));
  usize allocated = f.buddy.allocated_bytes();
  EXPECT_EQ(f.buddy.free(a + 4096).error(), Error::kInvalidArgument);  // interior
  EXPECT_EQ(f.buddy.free(a + 1).error(), Error::kInvalidArgument);     // misaligned
  int on_stack;
  EXPECT_EQ(f.buddy.free(&on_stack).error(), Error::kInvalidArgument);  // not ours
  EXPECT_EQ(f.buddy.free(reinterpret_cast<void*>(f.arena.base() + 32 * MiB)).error(),
            Error::kInvalidArgument);                                 // not backed yet
  EXPECT_EQ(f.buddy.free(b, true).error(), Error::kInvalidArgument);  // wrong tag
  EXPECT_EQ(f.buddy.allocated_bytes(), allocated);
  ASSERT_TRUE(f.buddy.free(b).ok());
  EXPECT_EQ(f.buddy.free(b).error(), Error::kAlreadyExists);
  ASSERT_TRUE(f.buddy.free(a).ok());
  // `b` has merged into a larger free block: still reported as a double free.
  EXPECT_EQ(f.buddy.free(b).error(), Error::kAlreadyExists);
  EXPECT_EQ(f.buddy.free(a).error(), Error::kAlreadyExists);
  expect_fully_coalesced(f.buddy);
}

TEST(Buddy, TaggedBlocks) {
  Fixture f;
  void* t = *f.buddy.allocate_order(2, true);
  BlockInfo info = f.buddy.info(reinterpret_cast<uptr>(t));
  EXPECT_EQ(info.state(), BlockInfo::State::kAllocated);
  EXPECT_EQ(info.order(), 2u);
  EXPECT_TRUE(info.tagged());
  EXPECT_EQ(f.buddy.free(t).error(), Error::kInvalidArgument);
  ASSERT_TRUE(f.buddy.free(t, true).ok());
  EXPECT_EQ(f.buddy.info(reinterpret_cast<uptr>(t) + 4096).state(), BlockInfo::State::kNone);
}

TEST(Buddy, BackingFailureAndExhaustion) {
  Fixture f;
  f.arena.fail_after(0);
  EXPECT_EQ(f.buddy.allocate(4096).error(), Error::kNoMemory);
  EXPECT_EQ(f.buddy.backed_bytes(), 0u);
  f.arena.fail_after(-1);
  std::vector<void*> blocks;
  while (true) {
    Result<void*> r = f.buddy.allocate(BuddyAllocator::kMaxBlock);
    if (!r.ok()) {
      EXPECT_EQ(r.error(), Error::kNoMemory);
      break;
    }
    blocks.push_back(*r);
  }
  EXPECT_EQ(blocks.size(), kArena / BuddyAllocator::kMaxBlock);
  EXPECT_EQ(f.buddy.backed_bytes(), kArena);
  EXPECT_EQ(f.buddy.allocate(4096).error(), Error::kNoMemory);
  for (void* p : blocks) ASSERT_TRUE(f.buddy.free(p).ok());
  expect_fully_coalesced(f.buddy);
  EXPECT_EQ(f.buddy.free_blocks(BuddyAllocator::kMaxOrder), kArena / BuddyAllocator::kMaxBlock);
}

TEST(Buddy, RandomAgainstModel) {
  Fixture f;
  std::mt19937_64 rng(42);
  std::map<uptr, usize> live;  // address -> rounded size
  usize live_bytes = 0;
  for (int op = 0; op < 100000; ++op) {
    if (live.empty() || rng() % 100 < 52) {
      // Mostly small blocks, sometimes large ones.
      unsigned order = (rng() % 10 == 0) ? rng() % (BuddyAllocator::kMaxOrder + 1) : rng() % 4;
      usize bytes = (BuddyAllocator::kMinBlock << order) - rng() % 4096;
      Result<void*> r = f.buddy.allocate(bytes);
      if (!r.ok()) {
        ASSERT_EQ(r.error(), Error::kNoMemory);
        continue;
      }
      auto p = reinterpret_cast<uptr>(*r);
      usize size = BuddyAllocator::kMinBlock << order;
      ASSERT_EQ(p % size, 0u);
      ASSERT_GE(p, f.arena.base());
      ASSERT_LE(p + size, f.arena.base() + f.buddy.backed_bytes());
      auto next = live.lower_bound(p);
      if (next != live.end()) {
        ASSERT_LE(p + size, next->first);
      }
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second, p);
      }
      live[p] = size;
      live_bytes += size;
      // Stamp first and last word; checked at free time to catch overlap.
      reinterpret_cast<uint64_t*>(p)[0] = p;
      reinterpret_cast<uint64_t*>(p + size)[-1] = ~p;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      uptr p = it->first;
      ASSERT_EQ(reinterpret_cast<uint64_t*>(p)[0], p);
      ASSERT_EQ(reinterpret_cast<uint64_t*>(p + it->second)[-1], ~p);
      ASSERT_TRUE(f.buddy.free(reinterpret_cast<void*>(p)).ok());
      live_bytes -= it->second;
      live.erase(it);
    }
    ASSERT_EQ(f.buddy.allocated_bytes(), live_bytes);
  }
  for (auto& [p, size] : live) ASSERT_TRUE(f.buddy.free(reinterpret_cast<void*>(p)).ok());
  expect_fully_coalesced(f.buddy);
}

}  // namespace
}  // namespace exo::mm
