// Host tests for the physical frame allocator and the per-CPU FrameCache.
#include "kernel/mm/frame_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace exo::mm {
namespace {

constexpr uint64_t kFrame = kPageSize;

// Owns the storage and the allocator for one test.
struct Fixture {
  std::vector<uint64_t> storage;
  FrameAllocator alloc;

  Status init(std::vector<PhysRange> usable, std::vector<PhysRange> reserved, uint64_t limit) {
    storage.assign(FrameAllocator::bytes_needed(limit) / 8 + 1, 0xdeadbeefdeadbeef);
    return alloc.init(
        Span<const PhysRange>(usable.data(), usable.size()),
        Span<const PhysRange>(reserved.data(), reserved.size()), limit,
        MutableByteSpan(reinterpret_cast<uint8_t*>(storage.data()), storage.size() * 8));
  }
};

// A typical PC map: low RAM, a hole, RAM from 1 MiB, another hole, and a high bank.
const std::vector<PhysRange> kUsable = {
    {0, 0x9fc00},                // 639 KiB: 159 whole frames
    {0x100000, 63 * MiB},        // 1 MiB .. 64 MiB
    {100 * MiB + 123, 1 * MiB},  // unaligned: rounded inwards to 255 frames
};
const std::vector<PhysRange> kReserved = {
    {1 * MiB, 2 * MiB},      // kernel image: 512 frames
    {5 * MiB + 100, 4000},   // module crossing a page boundary: rounded out to 2 frames
    {1 * MiB + 4096, 4096},  // overlaps the kernel image: adds nothing
    {200 * MiB, 4096},       // outside RAM: adds nothing
};
constexpr uint64_t kLimit = (101 * MiB + 4096) / kFrame + 7;

TEST(FrameAllocator, CountersAfterInit) {
  Fixture f;
  ASSERT_TRUE(f.init(kUsable, kReserved, kLimit).ok());
  EXPECT_EQ(f.alloc.total_frames(), 159u + 63 * 256 + 255);
  EXPECT_EQ(f.alloc.reserved_frames(), 159u + 512 + 2);
  EXPECT_EQ(f.alloc.free_frames(), f.alloc.total_frames() - f.alloc.reserved_frames());
  EXPECT_EQ(f.alloc.allocated_frames(), 0u);
  EXPECT_FALSE(f.alloc.is_managed(0));
  EXPECT_FALSE(f.alloc.is_managed(0x9e000));
  EXPECT_FALSE(f.alloc.is_managed(1 * MiB));
  EXPECT_TRUE(f.alloc.is_managed(3 * MiB));
  EXPECT_FALSE(f.alloc.is_managed(5 * MiB));
  EXPECT_FALSE(f.alloc.is_managed(5 * MiB + 4096));
  EXPECT_TRUE(f.alloc.is_managed(5 * MiB + 8192));
  EXPECT_FALSE(f.alloc.is_managed(100 * MiB));  // partial first page of the bank
  EXPECT_TRUE(f.alloc.is_managed(100 * MiB + 4096));
  EXPECT_FALSE(f.alloc.is_managed(70 * MiB));  // hole
}

TEST(FrameAllocator, InitRejectsBadStorageAndRanges) {
  std::vector<uint64_t> storage(FrameAllocator::bytes_needed(kLimit) / 8 + 2);
  auto* bytes = reinterpret_cast<uint8_t*>(storage.data());
  Span<const PhysRange> usable(kUsable.data(), kUsable.size());
  {
    FrameAllocator a;
    EXPECT_EQ(a.init(usable, {}, kLimit, MutableByteSpan(bytes, 16)).error(), Error::kOutOfRange);
  }
  {
    FrameAllocator a;
    EXPECT_EQ(
        a.init(usable, {}, kLimit, MutableByteSpan(bytes + 1, storage.size() * 8 - 8)).error(),
        Error::kNotAligned);
  }
  {
    FrameAllocator a;
    EXPECT_EQ(a.init(usable, {}, 0, MutableByteSpan(bytes, 8)).error(), Error::kInvalidArgument);
  }
  {
    FrameAllocator a;
    PhysRange wrap[] = {{~uint64_t{0} - 4096, 8192}};
    EXPECT_EQ(a.init(wrap, {}, kLimit, MutableByteSpan(bytes, storage.size() * 8)).error(),
              Error::kOverflow);
  }
  {
    FrameAllocator a;
    ASSERT_TRUE(a.init(usable, {}, kLimit, MutableByteSpan(bytes, storage.size() * 8)).ok());
    EXPECT_EQ(a.init(usable, {}, kLimit, MutableByteSpan(bytes, storage.size() * 8)).error(),
              Error::kInvalidArgument);
  }
}

TEST(FrameAllocator, NeverHandsOutReservedOrLowFrames) {
  Fixture f;
  ASSERT_TRUE(f.init(kUsable, kReserved, kLimit).ok());
  uint64_t expected = f.alloc.free_frames();
  std::set<PhysAddr> got;
  while (true) {
    Result<PhysAddr> r = f.alloc.alloc();
    if (!r.ok()) {
      EXPECT_EQ(r.error(), Error::kNoMemory);
      break;
    }
    PhysAddr pa = *r;
    ASSERT_EQ(pa % kFrame, 0u);
    ASSERT_GE(pa, 1 * MiB);
    ASSERT_FALSE(pa >= 1 * MiB && pa < 3 * MiB) << std::hex << pa;
    ASSERT_FALSE(pa >= 5 * MiB && pa < 5 * MiB + 8192) << std::hex << pa;
    ASSERT_FALSE(pa >= 64 * MiB && pa < 100 * MiB + 4096) << std::hex << pa;
    ASSERT_LT(pa, 101 * MiB);
    ASSERT_TRUE(got.insert(pa).second) << "handed out twice: " << std::hex << pa;
  }
  EXPECT_EQ(got.size(), expected);
  EXPECT_EQ(f.alloc.free_frames(), 0u);
  EXPECT_EQ(f.alloc.alloc_run(1, 1).error(), Error::kNoMemory);
  for (PhysAddr pa : got) ASSERT_TRUE(f.alloc.free(pa).ok());
  EXPECT_EQ(f.alloc.free_frames(), expected);
  EXPECT_EQ(f.alloc.allocated_frames(), 0u);
}

TEST(FrameAllocator, FreeErrorsLeaveStateUnchanged) {
  Fixture f;
  ASSERT_TRUE(f.init(kUsable, kReserved, kLimit).ok());
  PhysAddr pa = *f.alloc.alloc();
  uint64_t free_before = f.alloc.free_frames();
  EXPECT_EQ(f.alloc.free(pa + 1).error(), Error::kNotAligned);
  EXPECT_EQ(f.alloc.free(0x1000).error(), Error::kInvalidArgument);           // low memory
  EXPECT_EQ(f.alloc.free(2 * MiB).error(), Error::kInvalidArgument);          // reserved
  EXPECT_EQ(f.alloc.free(80 * MiB).error(), Error::kInvalidArgument);         // hole
  EXPECT_EQ(f.alloc.free(kLimit * kFrame).error(), Error::kInvalidArgument);  // past the end
  EXPECT_EQ(f.alloc.free(~uint64_t{0} & ~(kFrame - 1)).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.alloc.free(pa + kFrame).error(), Error::kAlreadyExists);  // never allocated
  EXPECT_EQ(f.alloc.free_frames(), free_before);
  ASSERT_TRUE(f.alloc.free(pa).ok());
  EXPECT_EQ(f.alloc.free(pa).error(), Error::kAlreadyExists);
  EXPECT_EQ(f.alloc.free_frames(), free_before + 1);

  // A run that is half allocated, or that touches a reserved frame, is refused whole.
  PhysAddr run = *f.alloc.alloc_run(4, 4);
  EXPECT_EQ(f.alloc.free_run(run, 8).error(), Error::kAlreadyExists);
  EXPECT_EQ(f.alloc.free_run(3 * MiB - 2 * kFrame, 4).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.alloc.free_run(run, 0).error(), Error::kInvalidArgument);
  EXPECT_FALSE(f.alloc.is_free(run));
  ASSERT_TRUE(f.alloc.free_run(run, 4).ok());
  EXPECT_TRUE(f.alloc.is_free(run + 3 * kFrame));
}

TEST(FrameAllocator, AlignedRuns) {
  Fixture f;
  ASSERT_TRUE(f.init(kUsable, kReserved, kLimit).ok());
  // Take the first frame so the first 2 MiB-aligned run cannot start at the lowest address.
  PhysAddr first = *f.alloc.alloc();
  EXPECT_EQ(first, 3 * MiB);
  Result<PhysAddr> big = f.alloc.alloc_run(512, 512);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big % (2 * MiB), 0u);
  EXPECT_EQ(*big, 6 * MiB);  // 4 MiB .. 6 MiB is broken by the module at 5 MiB
  for (PhysAddr p = *big; p < *big + 2 * MiB; p += kFrame) EXPECT_FALSE(f.alloc.is_free(p));
  EXPECT_EQ(f.alloc.alloc_run(1, 3).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.alloc.alloc_run(0, 1).error(), Error::kInvalidArgument);
  // 255 frames is the whole high bank but it is not 256-aligned at its start: no 256 run there,
  // and no 64 MiB run anywhere.
  EXPECT_EQ(f.alloc.alloc_run(64 * 256, 1).error(), Error::kNoMemory);
  EXPECT_EQ(f.alloc.alloc_run(1, uint64_t{1} << 40).error(), Error::kNoMemory);
  ASSERT_TRUE(f.alloc.free_run(*big, 512).ok());
  ASSERT_TRUE(f.alloc.free(first).ok());
}

TEST(FrameAllocator, RunFailsWhenFragmented) {
  Fixture f;
  ASSERT_TRUE(f.init({{1 * MiB, 1 * MiB}}, {}, 512).ok());
  std::vector<PhysAddr> all;
  while (true) {
    Result<PhysAddr> r = f.alloc.alloc();
    if (!r.ok()) break;
    all.push_back(*r);
  }
  ASSERT_EQ(all.size(), 256u);
  for (usize i = 0; i < all.size(); i += 2) ASSERT_TRUE(f.alloc.free(all[i]).ok());
  EXPECT_EQ(f.alloc.free_frames(), 128u);
  EXPECT_EQ(f.alloc.alloc_run(2, 1).error(), Error::kNoMemory);
  EXPECT_TRUE(f.alloc.alloc_run(1, 2).ok());
}

TEST(FrameAllocator, SummaryLevelsFindAFarFrame) {
  // 2^21 + 5 frames (8 GiB): several top-level words.
  const uint64_t limit = (uint64_t{1} << 21) + 5;
  Fixture f;
  ASSERT_TRUE(f.init({{0, limit * kFrame}}, {}, limit).ok());
  EXPECT_EQ(f.alloc.free_frames(), limit - 256);
  Result<PhysAddr> all = f.alloc.alloc_run(limit - 256, 1);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 1 * MiB);
  EXPECT_EQ(f.alloc.alloc().error(), Error::kNoMemory);
  for (uint64_t frame : {limit - 1, uint64_t{1} << 20, uint64_t{300000}, uint64_t{256}}) {
    ASSERT_TRUE(f.alloc.free(frame * kFrame).ok());
    Result<PhysAddr> again = f.alloc.alloc();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, frame * kFrame);
    EXPECT_EQ(f.alloc.alloc().error(), Error::kNoMemory);
  }
}

// Long random sequence against a reference model: a set of allocated frames. Failures of
// alloc_run are checked by brute force over the model.
void random_sequence(uint64_t limit, int ops, unsigned seed) {
  Fixture f;
  std::vector<PhysRange> usable = {{0, 600 * kFrame}, {700 * kFrame, (limit - 700) * kFrame}};
  std::vector<PhysRange> reserved = {{1000 * kFrame, 37 * kFrame}};
  ASSERT_TRUE(f.init(usable, reserved, limit).ok());
  auto usable_frame = [&](uint64_t fr) {
    return fr >= 256 && (fr < 600 || fr >= 700) && !(fr >= 1000 && fr < 1037) && fr < limit;
  };
  const uint64_t initial_free = f.alloc.free_frames();
  std::mt19937_64 rng(seed);
  std::map<PhysAddr, usize> runs;  // base -> frames
  std::set<uint64_t> used;
  for (int op = 0; op < ops; ++op) {
    unsigned kind = rng() % 8;
    if (kind < 3) {
      Result<PhysAddr> r = f.alloc.alloc();
      if (used.size() == initial_free) {
        ASSERT_EQ(r.error(), Error::kNoMemory);
        continue;
      }
      ASSERT_TRUE(r.ok());
      uint64_t fr = *r / kFrame;
      ASSERT_TRUE(usable_frame(fr));
      ASSERT_TRUE(used.insert(fr).second);
      runs[*r] = 1;
    } else if (kind < 5) {
      usize count = 1 + rng() % 24;
      usize align = usize{1} << (rng() % 6);
      Result<PhysAddr> r = f.alloc.alloc_run(count, align);
      if (!r.ok()) {
        ASSERT_EQ(r.error(), Error::kNoMemory);
        for (uint64_t s = 0; s + count <= limit; s += align) {
          bool fits = true;
          for (uint64_t fr = s; fr < s + count && fits; ++fr) {
            fits = usable_frame(fr) && !used.count(fr);
          }
          ASSERT_FALSE(fits) << "missed a run of " << count << " at frame " << s;
        }
        continue;
      }
      uint64_t base = *r / kFrame;
      ASSERT_EQ(base % align, 0u);
      for (uint64_t fr = base; fr < base + count; ++fr) {
        ASSERT_TRUE(usable_frame(fr));
        ASSERT_TRUE(used.insert(fr).second);
      }
      runs[*r] = count;
    } else if (!runs.empty()) {
      auto it = runs.begin();
      std::advance(it, rng() % runs.size());
      if (rng() % 50 == 0) {
        ASSERT_EQ(f.alloc.free(it->first + (it->second) * kFrame - kFrame).ok(), true);
        ASSERT_EQ(f.alloc.free_run(it->first, it->second).error(), Error::kAlreadyExists);
        ASSERT_TRUE(f.alloc.free_run(it->first, it->second - 1).ok() || it->second == 1);
      } else {
        ASSERT_TRUE(f.alloc.free_run(it->first, it->second).ok());
      }
      for (uint64_t fr = it->first / kFrame; fr < it->first / kFrame + it->second; ++fr) {
        used.erase(fr);
      }
      runs.erase(it);
    }
    ASSERT_EQ(f.alloc.free_frames() + f.alloc.allocated_frames() + f.alloc.reserved_frames(),
              f.alloc.total_frames());
    ASSERT_EQ(f.alloc.allocated_frames(), used.size());
  }
  for (auto& [base, count] : runs) ASSERT_TRUE(f.alloc.free_run(base, count).ok());
  EXPECT_EQ(f.alloc.free_frames(), initial_free);
  for (uint64_t fr = 0; fr < limit; ++fr) ASSERT_EQ(f.alloc.is_free(fr * kFrame), usable_frame(fr));
  // Everything coalesced: the largest run is available again.
  EXPECT_TRUE(f.alloc.alloc_run(limit - 1037, 1).ok());
}

TEST(FrameAllocator, RandomAgainstModelSmall) {
  random_sequence(2000, 100000, 1);
}
TEST(FrameAllocator, RandomAgainstModelMultiLevel) {
  random_sequence(70000, 30000, 2);
}

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

TEST(FrameCache, FastPathSkipsTheLock) {
  Fixture f;
  ASSERT_TRUE(f.init({{0, 16 * MiB}}, {}, 4096).ok());
  const uint64_t initial = f.alloc.free_frames();
  FrameCache cache;
  CountingLock lock;
  std::vector<PhysAddr> frames;
  for (usize i = 0; i < FrameCache::kBatch; ++i) frames.push_back(*cache.alloc(f.alloc, lock));
  EXPECT_EQ(lock.locks, 1);
  EXPECT_EQ(cache.count(), 0u);
  EXPECT_EQ(f.alloc.free_frames(), initial - FrameCache::kBatch);
  frames.push_back(*cache.alloc(f.alloc, lock));
  EXPECT_EQ(lock.locks, 2);
  std::set<PhysAddr> distinct(frames.begin(), frames.end());
  EXPECT_EQ(distinct.size(), frames.size());
  for (PhysAddr p : frames) ASSERT_TRUE(cache.free(p, f.alloc, lock).ok());
  EXPECT_EQ(lock.locks, 2);  // 33 + 31 cached = 64: full, but no drain yet
  EXPECT_EQ(cache.count(), FrameCache::kCapacity);
  // The alloc/free pair now runs entirely in the cache.
  for (int i = 0; i < 1000; ++i) {
    PhysAddr p = *cache.alloc(f.alloc, lock);
    ASSERT_TRUE(cache.free(p, f.alloc, lock).ok());
  }
  EXPECT_EQ(lock.locks, 2);
  // One more free overflows: a batch drains under the lock.
  PhysAddr extra = *f.alloc.alloc();
  ASSERT_TRUE(cache.free(extra, f.alloc, lock).ok());
  EXPECT_EQ(lock.locks, 3);
  EXPECT_EQ(cache.count(), FrameCache::kCapacity - FrameCache::kBatch + 1);
  ASSERT_TRUE(cache.drain_all(f.alloc).ok());
  EXPECT_EQ(f.alloc.free_frames(), initial);
  EXPECT_FALSE(lock.held);
}

TEST(FrameCache, DetectsBadFrees) {
  Fixture f;
  ASSERT_TRUE(f.init({{0, 16 * MiB}}, {{2 * MiB, 4096}}, 4096).ok());
  FrameCache cache;
  CountingLock lock;
  PhysAddr p = *cache.alloc(f.alloc, lock);
  ASSERT_TRUE(cache.free(p, f.alloc, lock).ok());
  EXPECT_EQ(cache.free(p, f.alloc, lock).error(), Error::kAlreadyExists);  // still in the cache
  EXPECT_EQ(cache.free(p + 12, f.alloc, lock).error(), Error::kNotAligned);
  EXPECT_EQ(cache.free(64 * MiB, f.alloc, lock).error(), Error::kInvalidArgument);
  // A reserved frame slips into the cache; the shared allocator refuses it at drain time.
  ASSERT_TRUE(cache.free(2 * MiB, f.alloc, lock).ok());
  EXPECT_EQ(cache.drain_all(f.alloc).error(), Error::kInvalidArgument);
  EXPECT_EQ(cache.count(), 0u);
  EXPECT_EQ(f.alloc.allocated_frames(), 0u);
}

TEST(FrameCache, TryPopAndTryPushAreTheBoundedStack) {
  // The kernel's inline fast paths: no lock, no checks, false at the bounds.
  FrameCache cache;
  PhysAddr frame = 0;
  EXPECT_FALSE(cache.try_pop(&frame));
  for (usize i = 0; i < FrameCache::kCapacity; ++i) {
    ASSERT_TRUE(cache.try_push(0x100000 + i * kFrame));
  }
  EXPECT_FALSE(cache.try_push(0x900000));
  EXPECT_EQ(cache.count(), FrameCache::kCapacity);
  for (usize i = FrameCache::kCapacity; i-- > 0;) {
    ASSERT_TRUE(cache.try_pop(&frame));
    EXPECT_EQ(frame, 0x100000 + i * kFrame);  // last in, first out: the warmest frame first
  }
  EXPECT_FALSE(cache.try_pop(&frame));
  EXPECT_EQ(cache.count(), 0u);
}

TEST(FrameCache, FullCacheDrainsOnFreeAndRefillsOnAlloc) {
  Fixture f;
  ASSERT_TRUE(f.init({{0, 16 * MiB}}, {}, 4096).ok());
  const uint64_t initial = f.alloc.free_frames();
  FrameCache cache;
  CountingLock lock;
  // Fill the cache straight from the shared allocator, then free one more through it.
  for (usize i = 0; i < FrameCache::kCapacity; ++i) ASSERT_TRUE(cache.try_push(*f.alloc.alloc()));
  PhysAddr extra = *f.alloc.alloc();
  ASSERT_TRUE(cache.free(extra, f.alloc, lock).ok());
  EXPECT_EQ(lock.locks, 1);
  EXPECT_EQ(cache.count(), FrameCache::kCapacity - FrameCache::kBatch + 1);
  EXPECT_EQ(f.alloc.free_frames(), initial - (FrameCache::kCapacity - FrameCache::kBatch + 1));
  // The newest frame is on top; the oldest went back first.
  PhysAddr top = 0;
  ASSERT_TRUE(cache.try_pop(&top));
  EXPECT_EQ(top, extra);
  ASSERT_TRUE(cache.try_push(top));
  // Empty it, then one alloc refills a batch under one lock.
  PhysAddr frame;
  while (cache.try_pop(&frame)) ASSERT_TRUE(f.alloc.free(frame).ok());
  EXPECT_EQ(f.alloc.free_frames(), initial);
  ASSERT_TRUE(cache.alloc(f.alloc, lock).ok());
  EXPECT_EQ(lock.locks, 2);
  EXPECT_EQ(cache.count(), FrameCache::kBatch - 1);
  ASSERT_TRUE(cache.drain_all(f.alloc).ok());
  EXPECT_FALSE(lock.held);
}

TEST(FrameCache, ReportsExhaustion) {
  Fixture f;
  ASSERT_TRUE(f.init({{1 * MiB, 3 * kFrame}}, {}, 512).ok());
  FrameCache cache;
  CountingLock lock;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.alloc(f.alloc, lock).ok());
  EXPECT_EQ(cache.alloc(f.alloc, lock).error(), Error::kNoMemory);
  EXPECT_FALSE(lock.held);
}

}  // namespace
}  // namespace exo::mm
