// Host tests for the direct map's cache-mode runs against a chunk-by-chunk classification.
#include "kernel/mm/direct_map.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace exo::mm {
namespace {

constexpr PhysAddr k2M = kLargePageSize;

// The definition, one 2 MiB chunk at a time (what the kernel did before runs).
bool chunk_is_ram(const std::vector<PhysRange>& ram, PhysAddr chunk) {
  for (const PhysRange& r : ram) {
    if (r.size != 0 && r.base < chunk + k2M && chunk < r.base + r.size) return true;
  }
  return false;
}

// Runs from direct_map_run must cover [0, top) exactly, each maximal and uniform.
void check_runs(const std::vector<PhysRange>& ram, PhysAddr top) {
  Span<const PhysRange> span(ram.data(), ram.size());
  PhysAddr at = 0;
  int runs = 0;
  while (at < top) {
    CacheRun run = direct_map_run(span, at, top);
    ASSERT_GT(run.end, at);
    ASSERT_LE(run.end, top);
    ASSERT_TRUE(run.end == top || run.end % k2M == 0);
    for (PhysAddr c = at; c < run.end; c += k2M) ASSERT_EQ(chunk_is_ram(ram, c), run.ram) << c;
    if (run.end < top) {
      ASSERT_NE(chunk_is_ram(ram, run.end), run.ram);  // maximal
    }
    at = run.end;
    ++runs;
  }
  ASSERT_LT(runs, 2 * static_cast<int>(ram.size()) + 2);
}

TEST(DirectMapRuns, QemuLikeMap) {
  // 511 MiB of RAM below the 640 KiB hole and above 1 MiB, as q35 with 512 MiB reports it.
  std::vector<PhysRange> ram = {{0, 0x9fc00}, {0x100000, 0x1fee0000}};
  Span<const PhysRange> span(ram.data(), ram.size());
  CacheRun first = direct_map_run(span, 0, 4ull << 30);
  EXPECT_TRUE(first.ram);
  EXPECT_EQ(first.end, 0x20000000u);  // 0x1ffe0000 rounds up to 512 MiB
  CacheRun hole = direct_map_run(span, first.end, 4ull << 30);
  EXPECT_FALSE(hole.ram);
  EXPECT_EQ(hole.end, 4ull << 30);
  check_runs(ram, 4ull << 30);
}

TEST(DirectMapRuns, AdjacentOverlappingAndEmptyRanges) {
  // Touching after rounding, overlapping, out of order, empty, unaligned, and past the top.
  std::vector<PhysRange> ram = {{9 * k2M + 5, 3},     {3 * k2M + 4096, k2M}, {0, 0},
                                {4 * k2M + 8192, 1},  {20 * k2M, 8 * k2M},   {22 * k2M, k2M},
                                {60 * k2M, 100 * k2M}};
  check_runs(ram, 64 * k2M);
  Span<const PhysRange> span(ram.data(), ram.size());
  CacheRun joined = direct_map_run(span, 3 * k2M, 64 * k2M);
  EXPECT_TRUE(joined.ram);
  EXPECT_EQ(joined.end, 5 * k2M);  // [3, 4] and [4, 5) chunks join
  EXPECT_EQ(direct_map_run(span, 60 * k2M, 64 * k2M).end, 64 * k2M);
  check_runs({}, 8 * k2M);
}

TEST(DirectMapRuns, RandomMaps) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 2000; ++round) {
    std::vector<PhysRange> ram;
    int n = static_cast<int>(rng() % 9);
    for (int i = 0; i < n; ++i) {
      PhysAddr base = rng() % (200 * k2M);
      if (rng() % 2) base &= ~(k2M - 1);
      ram.push_back({base, rng() % (40 * k2M)});
    }
    PhysAddr top = (1 + rng() % 256) * k2M;
    check_runs(ram, top);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace exo::mm
