// Host tests for ELF64 executable validation: a valid image, each rejection, mutation fuzzing.
#include "kernel/loader/elf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <vector>

namespace exo::loader {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kLoad = 1, kDynamic = 2, kInterp = 3, kTls = 7, kGnuStack = 0x6474e551;
constexpr uint32_t kX = 1, kW = 2, kR = 4;

struct Phdr {
  uint32_t type, flags;
  uint64_t offset, vaddr, paddr, filesz, memsz, align;
};
static_assert(sizeof(Phdr) == 56);

// The fields of a static x86_64 executable as lld lays one out; tests change one thing.
struct ElfBuilder {
  uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  uint16_t type = 2, machine = 62;
  uint32_t version = 1;
  uint64_t entry = 0x401000;
  uint64_t phoff = 64;
  uint16_t phentsize = 56;
  int phnum_override = -1;
  std::vector<Phdr> phdrs = {
      {kLoad, kR | kX, 0x1000, 0x401000, 0x401000, 0x100, 0x100, 0x1000},
      {kLoad, kR, 0x2000, 0x402000, 0x402000, 0x50, 0x50, 0x1000},
      {kLoad, kR | kW, 0x3000, 0x403000, 0x403000, 0x20, 0x2000, 0x1000},
      {kGnuStack, kR | kW, 0, 0, 0, 0, 0, 16},
  };
  usize file_size = 0x3020;

  Bytes build() const {
    Bytes b(file_size, 0xcc);
    std::memcpy(b.data(), ident, 16);
    auto put = [&](usize at, const void* v, usize n) {
      if (at <= b.size() && n <= b.size() - at) std::memcpy(b.data() + at, v, n);
    };
    put(16, &type, 2);
    put(18, &machine, 2);
    put(20, &version, 4);
    put(24, &entry, 8);
    put(32, &phoff, 8);
    uint16_t ehsize = 64;
    put(52, &ehsize, 2);
    put(54, &phentsize, 2);
    uint16_t phnum = phnum_override >= 0 ? static_cast<uint16_t>(phnum_override)
                                         : static_cast<uint16_t>(phdrs.size());
    put(56, &phnum, 2);
    for (usize i = 0; i < phdrs.size() && phoff < b.size(); ++i) put(phoff + i * 56, &phdrs[i], 56);
    return b;
  }
};

struct Planned {
  Result<void> result = Error::kInvalidArgument;
  ParseDiagnostic diag;
  ElfPlan plan;
};

// Runs on an exactly-sized heap copy so ASan catches any read past the image.
std::unique_ptr<Planned> run(const Bytes& bytes, AddressRange range = kUserAddressRange) {
  auto p = std::make_unique<Planned>();
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() ? bytes.size() : 1]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  p->result.~Result();
  new (&p->result) Result<void>(plan_elf(ByteSpan(copy.get(), bytes.size()), range, &p->plan,
                                         &p->diag));
  return p;
}

void expect_reject(const ElfBuilder& e, const char* needle, Error error = Error::kMalformed,
                   AddressRange range = kUserAddressRange) {
  auto p = run(e.build(), range);
  ASSERT_FALSE(p->result.ok()) << "expected rejection: " << needle;
  EXPECT_EQ(p->result.error(), error) << error_name(p->result.error()) << " for " << needle;
  EXPECT_NE(std::strstr(p->diag.what, needle), nullptr)
      << "diagnostic '" << p->diag.what << "' lacks '" << needle << "'";
}

TEST(Elf, PlansAValidStaticExecutable) {
  auto p = run(ElfBuilder().build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what << " at " << p->diag.offset;
  const ElfPlan& plan = p->plan;
  EXPECT_EQ(plan.entry, 0x401000u);
  ASSERT_EQ(plan.segment_count, 3u);
  EXPECT_EQ(plan.segments[0].vaddr, 0x401000u);
  EXPECT_TRUE(plan.segments[0].perms.execute);
  EXPECT_FALSE(plan.segments[0].perms.write);
  EXPECT_TRUE(plan.segments[1].perms.read);
  EXPECT_FALSE(plan.segments[1].perms.execute);
  EXPECT_EQ(plan.segments[2].file_offset, 0x3000u);
  EXPECT_EQ(plan.segments[2].filesz, 0x20u);
  EXPECT_EQ(plan.segments[2].memsz, 0x2000u);
  EXPECT_TRUE(plan.segments[2].perms.write);
  EXPECT_FALSE(plan.has_tls);
}

TEST(Elf, AcceptsTlsEmptyLoadsAndPackedFileOffsets) {
  ElfBuilder e;
  e.phdrs.push_back({kTls, kR, 0x3010, 0x403010, 0, 0x10, 0x40, 8});
  e.phdrs.push_back({kLoad, kR, 0x3000, 0x500000, 0, 0, 0, 0x1000});  // empty: skipped
  // A segment whose file bytes share a file page with the previous one, as lld does without
  // -z separate-code: fine, since the virtual pages differ.
  e.phdrs.push_back({kLoad, kR, 0x3010, 0x600010, 0, 0x10, 0x10, 0x1000});
  auto p = run(e.build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what;
  EXPECT_EQ(p->plan.segment_count, 4u);
  ASSERT_TRUE(p->plan.has_tls);
  EXPECT_EQ(p->plan.tls.vaddr, 0x403010u);
  EXPECT_EQ(p->plan.tls.memsz, 0x40u);
  EXPECT_EQ(p->plan.tls.align, 8u);
}

TEST(Elf, RejectsShortFile) {
  ElfBuilder e;
  e.file_size = 63;
  expect_reject(e, "shorter than the ELF header");
}

TEST(Elf, RejectsBadMagic) {
  for (int i = 0; i < 4; ++i) {
    ElfBuilder e;
    e.ident[i] ^= 0x20;
    expect_reject(e, "bad magic");
  }
}

TEST(Elf, RejectsWrongClassEndianVersionMachineType) {
  { ElfBuilder e; e.ident[4] = 1; expect_reject(e, "not ELF64", Error::kUnsupported); }
  { ElfBuilder e; e.ident[5] = 2; expect_reject(e, "not little-endian", Error::kUnsupported); }
  { ElfBuilder e; e.ident[6] = 0; expect_reject(e, "version"); }
  { ElfBuilder e; e.version = 2; expect_reject(e, "version"); }
  { ElfBuilder e; e.machine = 183; expect_reject(e, "not x86_64", Error::kUnsupported); }
  { ElfBuilder e; e.type = 3; expect_reject(e, "ET_DYN", Error::kUnsupported); }
  { ElfBuilder e; e.type = 1; expect_reject(e, "not an executable", Error::kUnsupported); }
}

TEST(Elf, RejectsBadProgramHeaderTable) {
  { ElfBuilder e; e.phentsize = 64; expect_reject(e, "e_phentsize"); }
  { ElfBuilder e; e.phnum_override = 0; expect_reject(e, "no program headers"); }
  {
    ElfBuilder e;
    e.phnum_override = 0xffff;
    expect_reject(e, "extended program header numbering", Error::kUnsupported);
  }
  { ElfBuilder e; e.phoff = 0x3020 - 4 * 56 + 1; expect_reject(e, "program headers outside"); }
  { ElfBuilder e; e.phoff = ~0ull - 8; expect_reject(e, "program headers outside"); }
  { ElfBuilder e; e.phnum_override = 300; expect_reject(e, "program headers outside"); }
}

TEST(Elf, RejectsSegmentFileBytesOutsideTheFile) {
  { ElfBuilder e; e.phdrs[2].filesz = 0x21; e.phdrs[2].memsz = 0x2000; expect_reject(e, "file bytes outside"); }
  {
    ElfBuilder e;
    e.phdrs[1].offset = 0xfffffffffffff000ull;
    e.phdrs[1].vaddr = 0x402000;
    expect_reject(e, "file bytes outside");
  }
}

TEST(Elf, RejectsFileszAboveMemsz) {
  ElfBuilder e;
  e.phdrs[1].memsz = 0x4f;
  expect_reject(e, "filesz above memsz");
}

TEST(Elf, RejectsOverlapSharingAndDisorder) {
  {
    ElfBuilder e;  // rodata starts inside text
    e.phdrs[0].memsz = e.phdrs[0].filesz = 0x1001;
    e.file_size = 0x3020;
    expect_reject(e, "overlap");
  }
  {
    ElfBuilder e;  // rodata starts in text's last page: one page, two permissions
    e.phdrs[1].vaddr = 0x401100;
    e.phdrs[1].offset = 0x1100;
    expect_reject(e, "share a page");
  }
  {
    ElfBuilder e;
    std::swap(e.phdrs[0], e.phdrs[1]);
    expect_reject(e, "not in address order");
  }
}

TEST(Elf, RejectsAddressesOutsideTheAllowedRange) {
  {
    ElfBuilder e;  // the null page
    e.phdrs[0].vaddr = 0;
    e.phdrs[0].offset = 0;
    e.entry = 0x10;
    expect_reject(e, "outside the allowed address range", Error::kAccessDenied);
  }
  {
    ElfBuilder e;  // the last segment pokes one byte into the kernel half
    e.phdrs[2].vaddr = 0x00007ffffffff000ull;
    e.phdrs[2].memsz = 0x1001;
    expect_reject(e, "outside the allowed address range", Error::kAccessDenied);
  }
  {
    ElfBuilder e;  // exactly up to the end is fine
    e.phdrs[2].vaddr = 0x00007fffffffe000ull;
    e.phdrs[2].memsz = 0x2000;
    EXPECT_TRUE(run(e.build())->result.ok());
  }
  // The range is a parameter: the same image fails a narrower one.
  expect_reject(ElfBuilder(), "outside the allowed address range", Error::kAccessDenied,
                AddressRange{0x400000, 0x403000});
}

TEST(Elf, RejectsWrappingSegment) {
  ElfBuilder e;
  e.phdrs[2].vaddr = 0xfffffffffffff000ull;
  e.phdrs[2].memsz = 0x2000;
  expect_reject(e, "wraps", Error::kMalformed, AddressRange{0, ~0ull});
}

TEST(Elf, RejectsWritableAndExecutable) {
  ElfBuilder e;
  e.phdrs[2].flags = kR | kW | kX;
  expect_reject(e, "writable and executable", Error::kAccessDenied);
}

TEST(Elf, RejectsBadEntryPoint) {
  { ElfBuilder e; e.entry = 0x402000; expect_reject(e, "entry point"); }  // rodata
  { ElfBuilder e; e.entry = 0x403000; expect_reject(e, "entry point"); }  // data
  { ElfBuilder e; e.entry = 0x401100; expect_reject(e, "entry point"); }  // one past text
  { ElfBuilder e; e.entry = 0; expect_reject(e, "entry point"); }
  {
    ElfBuilder e;  // inside an executable segment's zero-fill tail: not code from the file
    e.phdrs[0].memsz = 0x200;
    e.entry = 0x401150;
    expect_reject(e, "entry point");
  }
}

TEST(Elf, RejectsTooManySegments) {
  ElfBuilder e;
  e.phdrs.clear();
  for (uint64_t i = 0; i <= kMaxLoadSegments; ++i) {
    e.phdrs.push_back({kLoad, kR | kX, 0x1000, 0x401000 + i * 0x1000, 0, 0x10, 0x10, 0x1000});
  }
  expect_reject(e, "more PT_LOAD segments", Error::kUnsupported);
  e.phdrs.pop_back();
  EXPECT_TRUE(run(e.build())->result.ok());
}

TEST(Elf, RejectsIncongruentOffsets) {
  {
    ElfBuilder e;
    e.phdrs[1].vaddr = 0x402010;
    e.phdrs[1].align = 0;  // even without a stated alignment, pages must line up
    expect_reject(e, "differ modulo the page size");
  }
  { ElfBuilder e; e.phdrs[1].align = 3; expect_reject(e, "bad p_align"); }
  {
    ElfBuilder e;  // page-congruent but not 2 MiB-congruent as p_align demands
    e.phdrs[2].vaddr = 0x413000;
    e.phdrs[2].align = 0x200000;
    expect_reject(e, "bad p_align");
  }
}

TEST(Elf, RejectsDynamicLinking) {
  { ElfBuilder e; e.phdrs.push_back({kInterp, kR, 0x2000, 0x402000, 0, 0x10, 0x10, 1}); expect_reject(e, "dynamically linked", Error::kUnsupported); }
  { ElfBuilder e; e.phdrs.push_back({kDynamic, kR | kW, 0x3000, 0x403000, 0, 0x10, 0x10, 8}); expect_reject(e, "dynamically linked", Error::kUnsupported); }
}

TEST(Elf, RejectsNoLoadableSegment) {
  ElfBuilder e;
  e.phdrs.erase(e.phdrs.begin(), e.phdrs.begin() + 3);
  expect_reject(e, "no PT_LOAD");
}

TEST(Elf, RejectsBadTls) {
  { ElfBuilder e; e.phdrs.push_back({kTls, kR, 0x3010, 0x403010, 0, 0x20, 0x10, 8}); expect_reject(e, "PT_TLS filesz above memsz"); }
  { ElfBuilder e; e.phdrs.push_back({kTls, kR, 0x3010, 0x403010, 0, 0x10, 0x10, 12}); expect_reject(e, "PT_TLS alignment"); }
  { ElfBuilder e; e.phdrs.push_back({kTls, kR, 0x3010, 0x409010, 0, 0x10, 0x10, 8}); expect_reject(e, "PT_TLS template outside"); }
  {
    ElfBuilder e;
    e.phdrs.push_back({kTls, kR, 0x3010, 0x403010, 0, 0x10, 0x10, 8});
    e.phdrs.push_back({kTls, kR, 0x3010, 0x403010, 0, 0x10, 0x10, 8});
    expect_reject(e, "more than one PT_TLS");
  }
}

// What the real cross toolchain (clang + lld, the one that links Exo's user programs) emits
// for a small static program must pass as is; see meson.build for how it is linked.
TEST(Elf, AcceptsWhatLldLinks) {
  const char* path = std::getenv("EXO_ELF_FIXTURE");
  if (path == nullptr) GTEST_SKIP() << "EXO_ELF_FIXTURE not set";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto p = run(bytes);
  ASSERT_TRUE(p->result.ok()) << p->diag.what << " at " << p->diag.offset;
  const ElfPlan& plan = p->plan;
  EXPECT_GE(plan.segment_count, 2u);
  bool executable = false, writable = false;
  for (usize i = 0; i < plan.segment_count; ++i) {
    executable |= plan.segments[i].perms.execute;
    writable |= plan.segments[i].perms.write;
  }
  EXPECT_TRUE(executable);
  EXPECT_TRUE(writable);
  ASSERT_TRUE(plan.has_tls);
  EXPECT_EQ(plan.tls.filesz, 4u);  // per_thread = 7

  // The same file, flipped to ET_DYN, or with its entry moved out of the text, is refused.
  Bytes dyn = bytes;
  dyn[16] = 3;
  EXPECT_EQ(run(dyn)->result.error(), Error::kUnsupported);
  Bytes far = bytes;
  uint64_t entry = 0x10;
  std::memcpy(far.data() + 24, &entry, 8);
  EXPECT_EQ(run(far)->result.error(), Error::kMalformed);
}

TEST(Elf, SurvivesRandomMutations) {
  const Bytes valid = ElfBuilder().build();
  std::mt19937_64 rng(0xe1f64);
  const uint64_t interesting[] = {0, 1, 0x1000, 0x401000, 0x7fffffffffffull, ~0ull, ~0ull - 0xfff,
                                  0x8000000000000000ull};
  int accepted = 0;
  for (int round = 0; round < 10000; ++round) {
    Bytes b = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      // Most edits hit the headers, where the checks are.
      usize limit = rng() % 8 == 0 ? b.size() : std::min<usize>(b.size(), 64 + 4 * 56);
      usize at = rng() % limit;
      switch (rng() % 4) {
        case 0: b[at] = static_cast<uint8_t>(rng()); break;
        case 1: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2: {
          uint64_t v = interesting[rng() % 8];
          usize field = at & ~usize{7};
          if (field + 8 <= b.size()) std::memcpy(b.data() + field, &v, 8);
          break;
        }
        case 3: b.resize(rng() % (b.size() + 1)); break;
      }
    }
    auto p = run(b);
    if (p->result.ok()) {
      ++accepted;
      const ElfPlan& plan = p->plan;
      ASSERT_LE(plan.segment_count, kMaxLoadSegments);
      for (usize i = 0; i < plan.segment_count; ++i) {
        const LoadSegment& s = plan.segments[i];
        EXPECT_LE(s.filesz, s.memsz);
        EXPECT_LE(s.file_offset + s.filesz, b.size());
        EXPECT_GE(s.vaddr, kUserAddressRange.begin);
        EXPECT_LE(s.vaddr + s.memsz, kUserAddressRange.end);
        EXPECT_FALSE(s.perms.write && s.perms.execute);
      }
    } else {
      EXPECT_STRNE(p->diag.what, "");
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace exo::loader
