// Host tests for the 4-level page tables over simulated physical memory.
#include "kernel/mm/page_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace exo::mm {
namespace {

// Simulated RAM: frames [kFirstFrame, kFirstFrame + kFrames) at physical kRamBase, handed out
// as page tables. New frames are filled with garbage so missing zeroing shows up.
// Two ways in, as PhysicalMemory allows: through table_at(), which checks that every access
// is to a live table, or (`linear`) through a window, as the kernel's direct map works, which
// takes the page-table code's call-free single-page paths.
class SimulatedRam final : public PhysicalMemory, public TableFrameSource {
 public:
  static constexpr PhysAddr kRamBase = 0x4000'0000;
  static constexpr usize kFrames = 2048;

  explicit SimulatedRam(bool linear) : memory_(kFrames * 512) {
    for (usize i = kFrames; i-- > 0;) free_.push_back(kRamBase + i * kPageSize);
    if (linear) set_window(reinterpret_cast<uptr>(memory_.data()) - kRamBase);
  }

  uint64_t* table_at(PhysAddr pa) override {
    EXPECT_EQ(pa % kPageSize, 0u);
    EXPECT_TRUE(outstanding_.count(pa)) << "access to a frame that is not a live table: " << pa;
    if (pa < kRamBase || pa >= kRamBase + kFrames * kPageSize) std::abort();
    return &memory_[(pa - kRamBase) / 8];
  }
  Result<PhysAddr> alloc_table() override {
    if (fail_after_ == 0 || free_.empty()) return Error::kNoMemory;
    if (fail_after_ > 0) --fail_after_;
    PhysAddr pa = free_.back();
    free_.pop_back();
    outstanding_.insert(pa);
    std::memset(&memory_[(pa - kRamBase) / 8], 0xa5, kPageSize);
    return pa;
  }
  void free_table(PhysAddr frame) override {
    ASSERT_EQ(outstanding_.erase(frame), 1u) << "freed a frame that was not allocated";
    free_.push_back(frame);
  }

  usize outstanding() const { return outstanding_.size(); }
  void fail_after(int calls) { fail_after_ = calls; }

 private:
  std::vector<uint64_t> memory_;
  std::vector<PhysAddr> free_;
  std::set<PhysAddr> outstanding_;
  int fail_after_ = -1;
};

constexpr VirtAddr kUser = 0x0000'0040'0000'0000;
constexpr VirtAddr kKernel = 0xffff'c000'0000'0000;
constexpr PhysAddr kPa = 0x1'2340'0000;  // 2 MiB aligned

struct Fixture {
  explicit Fixture(bool linear) : ram(linear) {}
  SimulatedRam ram;
  PageTable pt = *PageTable::create(ram, ram);

  // The raw leaf entry of `va`, walked by hand (independently of the code under test).
  uint64_t raw_leaf(VirtAddr va) {
    PhysAddr t = pt.root();
    for (unsigned level = 4;; --level) {
      uint64_t e = ram.table(t)[(va >> (12 + 9 * (level - 1))) & 511];
      if ((e & 1) == 0) return 0;
      if (level == 1 || (e & 0x80) != 0) return e;
      t = e & 0x000f'ffff'ffff'f000;
    }
  }
};

// Every page-table test runs twice: through table_at() and through the window.
class PageTables : public ::testing::TestWithParam<bool> {};

TEST(Pte, NamedFields) {
  Pte p = Pte()
              .with_present(true)
              .with_writable(true)
              .with_user(true)
              .with_no_execute(true)
              .with_address(0xabc'def0'1000)
              .with_global(true)
              .with_cache_disable(true);
  EXPECT_EQ(p.raw(), 0x8000'0abc'def0'1117u);
  EXPECT_TRUE(p.present() && p.writable() && p.user() && p.no_execute() && p.global());
  EXPECT_FALSE(p.dirty() || p.accessed() || p.huge() || p.write_through());
  EXPECT_EQ(p.address(), 0xabc'def0'1000u);
  EXPECT_EQ(p.with_writable(false).raw(), 0x8000'0abc'def0'1115u);
  EXPECT_EQ(Pte(0x0010'0000'0000'0001).address(), 0u);  // bit 52 is not address
}

TEST_P(PageTables, Map4KTranslateUnmap) {
  Fixture f(GetParam());
  TlbFlush flush;
  ASSERT_TRUE(f.pt.map(kUser, kPa + 0x5000, 3 * kPageSize, Permissions::user_rw(), flush).ok());
  EXPECT_TRUE(flush.empty());          // not-present entries are never cached
  EXPECT_EQ(f.ram.outstanding(), 4u);  // PML4, PDPT, PD, PT
  for (usize i = 0; i < 3; ++i) {
    Result<Translation> t = f.pt.translate(kUser + i * kPageSize + 0x123);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->pa, kPa + 0x5000 + i * kPageSize + 0x123);
    EXPECT_EQ(t->page_size, PageSize::k4KiB);
    EXPECT_EQ(t->perms, Permissions::user_rw());
  }
  EXPECT_EQ(f.raw_leaf(kUser), (kPa + 0x5000) | 0x8000'0000'0000'0007u);
  EXPECT_EQ(f.pt.translate(kUser + 3 * kPageSize).error(), Error::kNotFound);
  EXPECT_EQ(f.pt.translate(kUser - kPageSize).error(), Error::kNotFound);

  ASSERT_TRUE(f.pt.unmap(kUser + kPageSize, kPageSize, flush).ok());
  ASSERT_EQ(flush.count(), 1u);
  EXPECT_EQ(flush.page(0), kUser + kPageSize);
  EXPECT_FALSE(flush.flush_all());
  EXPECT_EQ(f.pt.translate(kUser + kPageSize).error(), Error::kNotFound);
  EXPECT_TRUE(f.pt.translate(kUser).ok());
  EXPECT_EQ(f.ram.outstanding(), 4u);
  flush.clear();
  ASSERT_TRUE(f.pt.unmap(kUser, kPageSize, flush).ok());
  ASSERT_TRUE(f.pt.unmap(kUser + 2 * kPageSize, kPageSize, flush).ok());
  EXPECT_EQ(flush.count(), 2u);
  EXPECT_EQ(f.ram.outstanding(), 1u);  // every intermediate table reclaimed
  EXPECT_EQ(f.pt.unmap(kUser, kPageSize, flush).error(), Error::kNotFound);
}

TEST_P(PageTables, LargePages) {
  Fixture f(GetParam());
  TlbFlush flush;
  // 4 KiB + 4 MiB + 4 KiB starting 4 KiB below a 2 MiB boundary: 4K, 2M, 2M, 4K leaves.
  VirtAddr va = kKernel + kLargePageSize - kPageSize;
  PhysAddr pa = kPa + kLargePageSize - kPageSize;
  usize size = 2 * kLargePageSize + 2 * kPageSize;
  ASSERT_TRUE(f.pt.map(va, pa, size, Permissions::kernel_rw(), flush).ok());
  EXPECT_EQ(f.pt.translate(va)->page_size, PageSize::k4KiB);
  Result<Translation> mid = f.pt.translate(kKernel + kLargePageSize + 0x12345);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->page_size, PageSize::k2MiB);
  EXPECT_EQ(mid->pa, kPa + kLargePageSize + 0x12345);
  EXPECT_EQ(f.pt.translate(kKernel + 2 * kLargePageSize + 0x1fffff)->pa,
            kPa + 2 * kLargePageSize + 0x1fffff);
  EXPECT_EQ(f.pt.translate(va + size - 1)->page_size, PageSize::k4KiB);
  EXPECT_EQ(f.raw_leaf(kKernel + kLargePageSize), (kPa + kLargePageSize) | 0x8000'0000'0000'0083u);
  // PML4, PDPT, PD, two PTs.
  EXPECT_EQ(f.ram.outstanding(), 5u);

  // Cutting a large page is refused.
  EXPECT_EQ(f.pt.unmap(kKernel + kLargePageSize, kPageSize, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.protect(kKernel + kLargePageSize + kPageSize, kLargePageSize,
                         Permissions::kernel_ro(), flush)
                .error(),
            Error::kNotAligned);
  EXPECT_TRUE(flush.empty());
  ASSERT_TRUE(f.pt.unmap(va, size, flush).ok());
  EXPECT_EQ(flush.count(), 4u);
  // Kernel-half tables are shared by every address space and never reclaimed.
  EXPECT_EQ(f.ram.outstanding(), 5u);
}

TEST_P(PageTables, SmallPagesOnly) {
  Fixture f(GetParam());
  TlbFlush flush;
  ASSERT_TRUE(
      f.pt.map(kUser, kPa, kLargePageSize, Permissions::user_ro(), flush, PageSize::k4KiB).ok());
  EXPECT_EQ(f.pt.translate(kUser + 0x100000)->page_size, PageSize::k4KiB);
  // pa not 2 MiB aligned: small pages even though va is.
  ASSERT_TRUE(f.pt.map(kUser + kLargePageSize, kPa + kPageSize, kLargePageSize,
                       Permissions::user_ro(), flush)
                  .ok());
  EXPECT_EQ(f.pt.translate(kUser + kLargePageSize)->page_size, PageSize::k4KiB);
  ASSERT_TRUE(f.pt.unmap(kUser, 2 * kLargePageSize, flush).ok());
  EXPECT_TRUE(flush.flush_all());  // 1024 pages: a full flush is cheaper
  EXPECT_FALSE(flush.global());
  EXPECT_EQ(f.ram.outstanding(), 1u);
}

TEST_P(PageTables, ArgumentErrors) {
  Fixture f(GetParam());
  TlbFlush flush;
  const Permissions rw = Permissions::kernel_rw();
  Permissions wx = {.write = true, .execute = true};
  Permissions unreadable = {.read = false};
  Permissions user_global = Permissions::user_ro();
  user_global.global = true;
  EXPECT_EQ(f.pt.map(kKernel, kPa, kPageSize, wx, flush).error(), Error::kAccessDenied);
  EXPECT_EQ(f.pt.map(kUser, kPa, kPageSize, {.write = true, .execute = true, .user = true}, flush)
                .error(),
            Error::kAccessDenied);
  EXPECT_EQ(f.pt.map(kKernel, kPa, kPageSize, unreadable, flush).error(), Error::kUnsupported);
  EXPECT_EQ(f.pt.map(kUser, kPa, kPageSize, user_global, flush).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.pt.map(kKernel, kPa, kPageSize, Permissions::user_rw(), flush).error(),
            Error::kInvalidArgument);
  EXPECT_EQ(f.pt.map(kKernel + 1, kPa, kPageSize, rw, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.map(kKernel, kPa + 8, kPageSize, rw, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.map(kKernel, kPa, 100, rw, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.map(kKernel, kPa, 0, rw, flush).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.pt.map(0x0000'8000'0000'0000, kPa, kPageSize, rw, flush).error(),
            Error::kInvalidArgument);  // non-canonical
  EXPECT_EQ(f.pt.map(0x0000'7fff'ffff'f000, kPa, 2 * kPageSize, rw, flush).error(),
            Error::kInvalidArgument);  // runs into the hole
  EXPECT_EQ(f.pt.map(0, kPa, kPageSize, rw, flush).error(), Error::kInvalidArgument);  // page 0
  EXPECT_EQ(f.pt.map(0xffff'ffff'ffff'f000, kPa, 2 * kPageSize, rw, flush).error(),
            Error::kOverflow);
  EXPECT_EQ(f.pt.map(kKernel, (uint64_t{1} << 52) - kPageSize, 2 * kPageSize, rw, flush).error(),
            Error::kOverflow);
  EXPECT_EQ(f.pt.translate(0x1234'0000'0000'0000).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.pt.unmap(kKernel, kPageSize, flush).error(), Error::kNotFound);
  EXPECT_EQ(f.pt.protect(kKernel, kPageSize, rw, flush).error(), Error::kNotFound);
  EXPECT_TRUE(flush.empty());
  EXPECT_EQ(f.ram.outstanding(), 1u);  // nothing was built
  // The very last page of the address space is fine.
  ASSERT_TRUE(f.pt.map(0xffff'ffff'ffff'f000, kPa, kPageSize, rw, flush).ok());
  EXPECT_EQ(f.pt.translate(0xffff'ffff'ffff'ffff)->pa, kPa + 0xfff);
  ASSERT_TRUE(f.pt.unmap(0xffff'ffff'ffff'f000, kPageSize, flush).ok());
}

TEST_P(PageTables, OverlapRefused) {
  Fixture f(GetParam());
  TlbFlush flush;
  ASSERT_TRUE(f.pt.map(kUser + 5 * kPageSize, kPa, kPageSize, Permissions::user_ro(), flush).ok());
  usize tables = f.ram.outstanding();
  EXPECT_EQ(f.pt.map(kUser, kPa, 8 * kPageSize, Permissions::user_ro(), flush).error(),
            Error::kAlreadyExists);
  EXPECT_EQ(f.pt.map(kUser, kPa, kLargePageSize, Permissions::user_ro(), flush).error(),
            Error::kAlreadyExists);
  EXPECT_EQ(f.pt.translate(kUser).error(), Error::kNotFound);  // nothing partially mapped
  ASSERT_TRUE(
      f.pt.map(kUser + kLargePageSize, kPa, kLargePageSize, Permissions::user_ro(), flush).ok());
  EXPECT_EQ(f.pt.map(kUser + kLargePageSize + 0x3000, kPa, kPageSize, Permissions::user_ro(), flush)
                .error(),
            Error::kAlreadyExists);
  EXPECT_EQ(f.ram.outstanding(), tables);
  EXPECT_TRUE(flush.empty());
}

TEST_P(PageTables, ProtectKeepsFramesAndReportsFlush) {
  Fixture f(GetParam());
  TlbFlush flush;
  ASSERT_TRUE(
      f.pt.map(kKernel, kPa, kLargePageSize + 2 * kPageSize, Permissions::kernel_rw(), flush).ok());
  // Pretend the CPU set accessed and dirty on the first page.
  PhysAddr t = f.pt.root();
  for (unsigned level = 4; level > 1; --level) {
    t = f.ram.table(t)[table_index(kKernel + kLargePageSize, level)] & Pte::kAddressMask;
  }
  f.ram.table(t)[0] |= Pte::kAccessed | Pte::kDirty;

  ASSERT_TRUE(
      f.pt.protect(kKernel, kLargePageSize + 2 * kPageSize, Permissions::kernel_rx(), flush).ok());
  EXPECT_EQ(flush.count(), 3u);
  Result<Translation> big = f.pt.translate(kKernel + 0x1000);
  EXPECT_EQ(big->perms, Permissions::kernel_rx());
  EXPECT_EQ(big->pa, kPa + 0x1000);
  Result<Translation> small = f.pt.translate(kKernel + kLargePageSize);
  EXPECT_EQ(small->perms, Permissions::kernel_rx());
  EXPECT_TRUE(small->accessed && small->dirty);
  EXPECT_EQ(f.pt.protect(kKernel, kPageSize, {.write = true, .execute = true}, flush).error(),
            Error::kAccessDenied);
  // Uncached + global: PCD/PWT and G land in the entry; a global change is flagged.
  flush.clear();
  Permissions mmio = Permissions::mmio();
  mmio.global = true;
  ASSERT_TRUE(f.pt.protect(kKernel + kLargePageSize, kPageSize, mmio, flush).ok());
  EXPECT_EQ(f.raw_leaf(kKernel + kLargePageSize) & 0x8000'0000'0000'017fu,
            0x8000'0000'0000'0000u | Pte::kPresent | Pte::kWritable | Pte::kWriteThrough |
                Pte::kCacheDisable | Pte::kGlobal | Pte::kAccessed | Pte::kDirty);
  EXPECT_EQ(f.pt.translate(kKernel + kLargePageSize)->perms, mmio);
  flush.clear();
  ASSERT_TRUE(f.pt.unmap(kKernel + kLargePageSize, kPageSize, flush).ok());
  EXPECT_TRUE(flush.global());
  // Same permissions again: nothing to flush.
  flush.clear();
  ASSERT_TRUE(f.pt.protect(kKernel, kLargePageSize, Permissions::kernel_rx(), flush).ok());
  EXPECT_TRUE(flush.empty());
}

TEST_P(PageTables, OutOfTableFramesRollsBack) {
  Fixture f(GetParam());
  TlbFlush flush;
  ASSERT_TRUE(f.pt.map(kUser, kPa, kPageSize, Permissions::user_rw(), flush).ok());
  usize before = f.ram.outstanding();
  // Spans three page tables; only one more table can be had.
  f.ram.fail_after(1);
  EXPECT_EQ(f.pt.map(kUser + kLargePageSize - kPageSize, kPa, kLargePageSize + 2 * kPageSize,
                     Permissions::user_rw(), flush, PageSize::k4KiB)
                .error(),
            Error::kNoMemory);
  EXPECT_EQ(f.ram.outstanding(), before);
  EXPECT_EQ(f.pt.translate(kUser + kLargePageSize - kPageSize).error(), Error::kNotFound);
  EXPECT_EQ(f.pt.translate(kUser + kLargePageSize).error(), Error::kNotFound);
  EXPECT_TRUE(f.pt.translate(kUser).ok());
  f.ram.fail_after(-1);
  EXPECT_TRUE(f.pt.map(kUser + kLargePageSize - kPageSize, kPa, kLargePageSize + 2 * kPageSize,
                       Permissions::user_rw(), flush, PageSize::k4KiB)
                  .ok());
}

TEST(TlbFlush, PolicyThreshold) {
  TlbFlush flush;
  EXPECT_TRUE(flush.empty());
  for (usize i = 0; i < TlbFlush::kMaxPages; ++i) flush.add(0x1000 * i + 0x123, false);
  EXPECT_FALSE(flush.flush_all());
  EXPECT_EQ(flush.count(), TlbFlush::kMaxPages);
  EXPECT_EQ(flush.page(3), 0x3000u);
  flush.add(0x99000, true);
  EXPECT_TRUE(flush.flush_all());
  EXPECT_TRUE(flush.global());
  EXPECT_FALSE(flush.empty());
}

// Random map/unmap/protect over a small window against a model of pages; then every page is
// translated and compared, and unmapping everything must return every table frame.
TEST_P(PageTables, RandomAgainstModel) {
  Fixture f(GetParam());
  std::mt19937_64 rng(99);
  struct Page {
    PhysAddr pa;
    Permissions perms;
  };
  std::map<VirtAddr, Page> model;  // 4 KiB page -> mapping
  const VirtAddr window = kUser;
  const usize window_pages = 4 * 512;  // 8 MiB: four page tables
  const Permissions choices[] = {Permissions::user_ro(), Permissions::user_rw(),
                                 Permissions::user_rx()};
  auto free_run = [&](VirtAddr va, usize pages) {
    for (usize i = 0; i < pages; ++i) {
      if (model.count(va + i * kPageSize)) return false;
    }
    return true;
  };
  auto mapped_run = [&](VirtAddr va, usize pages) {
    for (usize i = 0; i < pages; ++i) {
      if (!model.count(va + i * kPageSize)) return false;
    }
    return true;
  };
  for (int op = 0; op < 20000; ++op) {
    usize first = rng() % window_pages;
    usize pages = 1 + rng() % 8;
    if (first + pages > window_pages) pages = window_pages - first;
    VirtAddr va = window + first * kPageSize;
    TlbFlush flush;
    unsigned kind = rng() % 3;
    if (kind == 0) {
      PhysAddr pa = (rng() % (uint64_t{1} << 30)) & ~(kPageSize - 1);
      Permissions perms = choices[rng() % 3];
      Status s = f.pt.map(va, pa, pages * kPageSize, perms, flush, PageSize::k4KiB);
      if (free_run(va, pages)) {
        ASSERT_TRUE(s.ok());
        for (usize i = 0; i < pages; ++i) model[va + i * kPageSize] = {pa + i * kPageSize, perms};
      } else {
        ASSERT_EQ(s.error(), Error::kAlreadyExists);
      }
      ASSERT_TRUE(flush.empty());
    } else if (kind == 1) {
      Status s = f.pt.unmap(va, pages * kPageSize, flush);
      if (mapped_run(va, pages)) {
        ASSERT_TRUE(s.ok());
        ASSERT_EQ(flush.count(), pages);
        for (usize i = 0; i < pages; ++i) model.erase(va + i * kPageSize);
      } else {
        ASSERT_EQ(s.error(), Error::kNotFound);
        ASSERT_TRUE(flush.empty());
      }
    } else {
      Permissions perms = choices[rng() % 3];
      Status s = f.pt.protect(va, pages * kPageSize, perms, flush);
      if (mapped_run(va, pages)) {
        ASSERT_TRUE(s.ok());
        for (usize i = 0; i < pages; ++i) model[va + i * kPageSize].perms = perms;
      } else {
        ASSERT_EQ(s.error(), Error::kNotFound);
      }
    }
  }
  for (usize i = 0; i < window_pages; ++i) {
    VirtAddr va = window + i * kPageSize;
    Result<Translation> t = f.pt.translate(va + 0x10);
    auto it = model.find(va);
    if (it == model.end()) {
      ASSERT_EQ(t.error(), Error::kNotFound);
    } else {
      ASSERT_TRUE(t.ok());
      ASSERT_EQ(t->pa, it->second.pa + 0x10);
      ASSERT_EQ(t->perms, it->second.perms);
    }
  }
  for (auto& [va, page] : model) {
    TlbFlush flush;
    ASSERT_TRUE(f.pt.unmap(va, kPageSize, flush).ok());
  }
  EXPECT_EQ(f.ram.outstanding(), 1u);
}

TEST_P(PageTables, DestroyReturnsEveryTable) {
  Fixture f(GetParam());
  TlbFlush flush;
  ASSERT_TRUE(
      f.pt.map(kUser, kPa, 3 * kLargePageSize + kPageSize, Permissions::user_rw(), flush).ok());
  ASSERT_TRUE(f.pt.map(0x1000, kPa, kPageSize, Permissions::user_ro(), flush).ok());
  EXPECT_GT(f.ram.outstanding(), 4u);
  f.pt.destroy();
  EXPECT_EQ(f.ram.outstanding(), 0u);
}

TEST_P(PageTables, OneGigabytePages) {
  Fixture f(GetParam());
  TlbFlush flush;
  constexpr usize kGiB = usize{1} << 30;
  const VirtAddr va = kKernel + kGiB - kLargePageSize - kPageSize;
  const PhysAddr pa = 0x40'0000'0000 - kLargePageSize - kPageSize;  // 256 GiB - 2 MiB - 4 KiB
  const usize size = kPageSize + kLargePageSize + 2 * kGiB + kLargePageSize;
  ASSERT_TRUE(f.pt.map(va, pa, size, Permissions::kernel_rw(), flush, PageSize::k1GiB).ok());
  EXPECT_TRUE(flush.empty());
  EXPECT_EQ(f.pt.translate(va)->page_size, PageSize::k4KiB);
  EXPECT_EQ(f.pt.translate(va + kPageSize)->page_size, PageSize::k2MiB);
  Result<Translation> big = f.pt.translate(kKernel + kGiB + 0x1234'5678);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->page_size, PageSize::k1GiB);
  EXPECT_EQ(big->pa, 0x40'0000'0000u + 0x1234'5678);
  EXPECT_EQ(f.pt.translate(kKernel + 3 * kGiB - 1)->page_size, PageSize::k1GiB);
  EXPECT_EQ(f.pt.translate(kKernel + 3 * kGiB)->page_size, PageSize::k2MiB);
  EXPECT_EQ(f.pt.translate(kKernel + 3 * kGiB + kLargePageSize).error(), Error::kNotFound);
  EXPECT_EQ(f.raw_leaf(kKernel + kGiB), 0x40'0000'0000u | 0x8000'0000'0000'0083u);
  // PML4, PDPT, two PDs (below and above the gigabytes), one PT.
  EXPECT_EQ(f.ram.outstanding(), 5u);
  EXPECT_EQ(f.pt.unmap(kKernel + kGiB, kLargePageSize, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.map(kKernel + 2 * kGiB, pa, kPageSize, Permissions::kernel_rw(), flush).error(),
            Error::kAlreadyExists);
  ASSERT_TRUE(f.pt.protect(kKernel + kGiB, kGiB, Permissions::kernel_ro(), flush).ok());
  EXPECT_FALSE(f.pt.translate(kKernel + kGiB + 5)->perms.write);
  EXPECT_EQ(f.pt.translate(kKernel + kGiB + 5)->page_size, PageSize::k1GiB);
  flush.clear();
  ASSERT_TRUE(f.pt.unmap(va, size, flush).ok());
  EXPECT_EQ(flush.count(), 5u);  // one per leaf: 4K, 2M, 1G, 1G, 2M
  EXPECT_EQ(f.pt.translate(kKernel + kGiB).error(), Error::kNotFound);
  // Without 1 GiB pages (the default) the same range takes 2 MiB pages.
  ASSERT_TRUE(f.pt.map(va, pa, size, Permissions::kernel_rw(), flush).ok());
  EXPECT_EQ(f.pt.translate(kKernel + kGiB)->page_size, PageSize::k2MiB);
}

TEST_P(PageTables, FillsEachTableInOnePassAndDescendsIntoLeftoverTables) {
  Fixture f(GetParam());
  TlbFlush flush;
  // A kernel-half page table left empty under the third 2 MiB slot (kernel-half tables stay).
  ASSERT_TRUE(
      f.pt.map(kKernel + 2 * kLargePageSize, kPa, kPageSize, Permissions::kernel_rw(), flush).ok());
  ASSERT_TRUE(f.pt.unmap(kKernel + 2 * kLargePageSize, kPageSize, flush).ok());
  const usize tables = f.ram.outstanding();
  ASSERT_TRUE(f.pt.map(kKernel, kPa, 4 * kLargePageSize, Permissions::kernel_ro(), flush).ok());
  EXPECT_EQ(f.ram.outstanding(), tables);  // no new table: the leftover one is filled instead
  const PageSize expected[] = {PageSize::k2MiB, PageSize::k2MiB, PageSize::k4KiB, PageSize::k2MiB};
  for (usize slot = 0; slot < 4; ++slot) {
    for (usize off : {usize{0}, kPageSize * 3, kLargePageSize - kPageSize}) {
      Result<Translation> t = f.pt.translate(kKernel + slot * kLargePageSize + off + 9);
      ASSERT_TRUE(t.ok());
      EXPECT_EQ(t->page_size, expected[slot]);
      EXPECT_EQ(t->pa, kPa + slot * kLargePageSize + off + 9);
      EXPECT_FALSE(t->perms.write);
    }
  }
  // 4 KiB pages over 3 page tables' worth: every entry of every table, each written once.
  ASSERT_TRUE(f.pt.map(kUser + kPageSize, kPa, 3 * kLargePageSize - kPageSize,
                       Permissions::user_rw(), flush, PageSize::k4KiB)
                  .ok());
  for (usize i = 1; i < 3 * 512; ++i) {
    ASSERT_EQ(f.raw_leaf(kUser + i * kPageSize),
              (kPa + (i - 1) * kPageSize) | 0x8000'0000'0000'0007u);
  }
  EXPECT_EQ(f.raw_leaf(kUser), 0u);
}

TEST_P(PageTables, SinglePageMapCreatesAndRollsBackTables) {
  Fixture f(GetParam());
  TlbFlush flush;
  const usize root_only = f.ram.outstanding();
  f.ram.fail_after(2);  // PDPT and PD, no PT
  EXPECT_EQ(f.pt.map(kUser, kPa, kPageSize, Permissions::user_rw(), flush).error(),
            Error::kNoMemory);
  EXPECT_EQ(f.ram.outstanding(), root_only);
  EXPECT_FALSE(flush.empty());  // freed tables may sit in paging-structure caches
  f.ram.fail_after(-1);
  ASSERT_TRUE(f.pt.map(kUser, kPa, kPageSize, Permissions::user_rw(), flush).ok());
  EXPECT_EQ(f.ram.outstanding(), root_only + 3);
  EXPECT_EQ(f.pt.map(kUser, kPa, kPageSize, Permissions::user_rw(), flush).error(),
            Error::kAlreadyExists);
  // A single page inside a 2 MiB leaf is refused, and so is unmapping one.
  ASSERT_TRUE(f.pt.map(kKernel, kPa, kLargePageSize, Permissions::kernel_rw(), flush).ok());
  EXPECT_EQ(f.pt.map(kKernel + kPageSize, kPa, kPageSize, Permissions::kernel_rw(), flush).error(),
            Error::kAlreadyExists);
  EXPECT_EQ(f.pt.unmap(kKernel + kPageSize, kPageSize, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.unmap(kKernel + kLargePageSize, kPageSize, flush).error(), Error::kNotFound);
  EXPECT_EQ(f.pt.unmap(kKernel + 8, kPageSize, flush).error(), Error::kNotAligned);
  EXPECT_EQ(f.pt.unmap(0, kPageSize, flush).error(), Error::kInvalidArgument);
  EXPECT_EQ(f.pt.unmap(0x0000'8000'0000'0000, kPageSize, flush).error(), Error::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Access, PageTables, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Window" : "CheckedCalls";
                         });

}  // namespace
}  // namespace exo::mm
