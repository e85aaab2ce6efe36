// Host tests for the Multiboot2 boot information parser: a valid image, each rejection, fuzzing.
#include "kernel/boot/multiboot2.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace exo::boot {
namespace {

using Bytes = std::vector<uint8_t>;

void put_u32(Bytes& b, usize at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put_u64(Bytes& b, usize at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void append_u32(Bytes& b, uint32_t v) { b.resize(b.size() + 4); put_u32(b, b.size() - 4, v); }
Bytes cstr(const std::string& s) { Bytes b(s.begin(), s.end()); b.push_back(0); return b; }

struct MemEntry { uint64_t base, length; uint32_t type; };

// Builds boot information the way a conforming loader does (spec 3.6): an 8-byte header,
// 8-aligned tags, an end tag; build() fills total_size. Tests then corrupt single fields.
class InfoBuilder {
 public:
  InfoBuilder() : bytes_(8, 0) {}

  // Appends a tag with `payload` after its header; returns the tag's offset.
  usize tag(uint32_t type, const Bytes& payload, bool pad = true) {
    usize at = bytes_.size();
    append_u32(bytes_, type);
    append_u32(bytes_, static_cast<uint32_t>(8 + payload.size()));
    bytes_.insert(bytes_.end(), payload.begin(), payload.end());
    if (pad) bytes_.resize((bytes_.size() + 7) & ~usize{7}, 0);
    return at;
  }
  usize cmdline(const std::string& s) { return tag(1, cstr(s)); }
  usize name(const std::string& s) { return tag(2, cstr(s)); }
  usize module(uint32_t start, uint32_t end, const std::string& s) {
    Bytes p;
    append_u32(p, start);
    append_u32(p, end);
    Bytes str = cstr(s);
    p.insert(p.end(), str.begin(), str.end());
    return tag(3, p);
  }
  usize memory_map(const std::vector<MemEntry>& entries, uint32_t entry_size = 24,
                   uint32_t version = 0) {
    Bytes p;
    append_u32(p, entry_size);
    append_u32(p, version);
    for (const MemEntry& e : entries) {
      Bytes entry(std::max<usize>(entry_size, 24), 0xee);  // 0xee: future extension fields
      put_u64(entry, 0, e.base);
      put_u64(entry, 8, e.length);
      put_u32(entry, 16, e.type);
      put_u32(entry, 20, 0);
      p.insert(p.end(), entry.begin(), entry.begin() + entry_size);
    }
    return tag(6, p);
  }
  usize acpi(uint32_t type, usize rsdp_size, uint8_t fill) {
    return tag(type, Bytes(rsdp_size, fill));
  }
  usize end() { return tag(0, {}); }

  Bytes build(bool with_end = true) {
    if (with_end) end();
    put_u32(bytes_, 0, static_cast<uint32_t>(bytes_.size()));
    return bytes_;
  }

 private:
  Bytes bytes_;
};

// Parses from an exactly-sized heap copy so ASan catches any read past the end.
struct Parsed {
  Result<void> result = Error::kInvalidArgument;
  loader::ParseDiagnostic diag;
  BootInfo info;
  std::unique_ptr<uint8_t[]> storage;  // keeps info's pointers valid
};

std::unique_ptr<Parsed> parse(const Bytes& bytes) {
  auto p = std::make_unique<Parsed>();
  p->storage.reset(new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(p->storage.get(), bytes.data(), bytes.size());
  p->result.~Result();
  new (&p->result) Result<void>(
      parse_multiboot2(ByteSpan(p->storage.get(), bytes.size()), &p->info, &p->diag));
  return p;
}

// Expects rejection with `error` and a diagnostic mentioning `needle`.
void expect_reject(const Bytes& bytes, const char* needle, Error error = Error::kMalformed) {
  auto p = parse(bytes);
  ASSERT_FALSE(p->result.ok()) << "expected rejection: " << needle;
  EXPECT_EQ(p->result.error(), error) << error_name(p->result.error());
  EXPECT_NE(std::strstr(p->diag.what, needle), nullptr)
      << "diagnostic '" << p->diag.what << "' lacks '" << needle << "'";
}

Bytes full_info() {
  InfoBuilder b;
  b.cmdline("console=serial ktest=all");
  b.tag(4, Bytes(8, 0));  // basic memory info: known to the spec, unused by Exo
  b.name("GRUB 2.06");
  b.module(0x200000, 0x210000, "init");
  b.module(0x300000, 0x300000, "");
  b.memory_map({{0, 0x9fc00, 1}, {0xf0000, 0x10000, 2}, {0x100000, 0x7ee0000, 1}});
  b.acpi(14, 20, 0x14);
  b.tag(0x1234, Bytes(13, 0xab));  // unknown type: skipped
  b.acpi(15, 36, 0x15);
  return b.build();
}

TEST(Multiboot2, ParsesWellFormedInformation) {
  Bytes bytes = full_info();
  auto p = parse(bytes);
  ASSERT_TRUE(p->result.ok()) << p->diag.what << " at " << p->diag.offset;
  const BootInfo& info = p->info;
  EXPECT_STREQ(info.cmdline, "console=serial ktest=all");
  EXPECT_STREQ(info.bootloader_name, "GRUB 2.06");
  EXPECT_EQ(info.info_phys_size, bytes.size());
  ASSERT_EQ(info.module_count, 2u);
  EXPECT_EQ(info.modules[0].start, 0x200000u);
  EXPECT_EQ(info.modules[0].end, 0x210000u);
  EXPECT_STREQ(info.modules[0].cmdline, "init");
  EXPECT_STREQ(info.modules[1].cmdline, "");
  ASSERT_EQ(info.memory_count, 3u);
  EXPECT_EQ(info.memory[2].base, 0x100000u);
  EXPECT_EQ(info.memory[2].length, 0x7ee0000u);
  EXPECT_EQ(info.memory[2].type, kMemoryAvailable);
  EXPECT_EQ(info.memory[1].type, 2u);
  EXPECT_EQ(info.rsdp_tag_type, 15u);
  ASSERT_EQ(info.rsdp_size, 36u);
  EXPECT_EQ(info.rsdp[0], 0x15);
  // Pointers point into the caller's buffer.
  EXPECT_GE(reinterpret_cast<const uint8_t*>(info.cmdline), p->storage.get());
  EXPECT_LT(reinterpret_cast<const uint8_t*>(info.cmdline), p->storage.get() + bytes.size());
}

TEST(Multiboot2, MinimalInformationHasDefaults) {
  auto p = parse(InfoBuilder().build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what;
  EXPECT_STREQ(p->info.cmdline, "");
  EXPECT_STREQ(p->info.bootloader_name, "");
  EXPECT_EQ(p->info.memory_count, 0u);
  EXPECT_EQ(p->info.module_count, 0u);
  EXPECT_EQ(p->info.rsdp, nullptr);
  EXPECT_EQ(p->info.rsdp_tag_type, 0u);
  EXPECT_EQ(p->info.info_phys_size, 16u);
}

TEST(Multiboot2, AcpiOldTagUsedWhenAlone) {
  InfoBuilder b;
  b.acpi(14, 20, 0x14);
  auto p = parse(b.build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what;
  EXPECT_EQ(p->info.rsdp_tag_type, 14u);
  EXPECT_EQ(p->info.rsdp_size, 20u);
}

TEST(Multiboot2, AcpiNewTagPreferredInEitherOrder) {
  InfoBuilder b;
  b.acpi(15, 36, 0x15);
  b.acpi(14, 20, 0x14);
  auto p = parse(b.build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what;
  EXPECT_EQ(p->info.rsdp_tag_type, 15u);
  EXPECT_EQ(p->info.rsdp[0], 0x15);
}

TEST(Multiboot2, LargerMemoryMapEntriesAreAccepted) {
  InfoBuilder b;
  b.memory_map({{0x1000, 0x2000, 1}, {0x100000, 0x1000, 3}}, 32);
  auto p = parse(b.build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what;
  ASSERT_EQ(p->info.memory_count, 2u);
  EXPECT_EQ(p->info.memory[1].base, 0x100000u);
  EXPECT_EQ(p->info.memory[1].type, 3u);
}

TEST(Multiboot2, CapacityLimitsAreReachable) {
  InfoBuilder b;
  std::vector<MemEntry> entries;
  for (usize i = 0; i < kMaxMemoryRegions; ++i) entries.push_back({i * 0x1000, 0x1000, 1});
  b.memory_map(entries);
  for (usize i = 0; i < kMaxModules; ++i) b.module(0x1000, 0x2000, "m");
  auto p = parse(b.build());
  ASSERT_TRUE(p->result.ok()) << p->diag.what;
  EXPECT_EQ(p->info.memory_count, kMaxMemoryRegions);
  EXPECT_EQ(p->info.module_count, kMaxModules);
}

TEST(Multiboot2, RejectsShortBuffer) {
  expect_reject(Bytes{}, "shorter than 16");
  Bytes b = InfoBuilder().build();
  b.resize(8);
  put_u32(b, 0, 8);
  expect_reject(b, "shorter than 16");
}

TEST(Multiboot2, RejectsTotalSizeMismatch) {
  Bytes b = full_info();
  put_u32(b, 0, static_cast<uint32_t>(b.size() + 8));
  expect_reject(b, "total_size does not match");
  put_u32(b, 0, static_cast<uint32_t>(b.size() - 8));
  expect_reject(b, "total_size does not match");
}

TEST(Multiboot2, RejectsNonZeroReserved) {
  Bytes b = full_info();
  put_u32(b, 4, 1);
  expect_reject(b, "reserved");
}

TEST(Multiboot2, RejectsTagSizeBelowHeader) {
  InfoBuilder ib;
  usize at = ib.cmdline("x");
  Bytes b = ib.build();
  put_u32(b, at + 4, 4);
  expect_reject(b, "tag size below 8");
  put_u32(b, at + 4, 0);
  expect_reject(b, "tag size below 8");
}

TEST(Multiboot2, RejectsTagRunningPastTotalSize) {
  InfoBuilder ib;
  usize at = ib.cmdline("abc");
  Bytes b = ib.build();
  put_u32(b, at + 4, static_cast<uint32_t>(b.size() - at + 1));
  expect_reject(b, "tag runs past total_size");
  put_u32(b, at + 4, 0xffffffffu);
  expect_reject(b, "tag runs past total_size");
}

TEST(Multiboot2, RejectsTagHeaderRunningPastTotalSize) {
  InfoBuilder ib;
  ib.cmdline("");  // 9-byte tag padded to 16: the next tag would start at 24
  Bytes b = ib.build(false);
  b.resize(28, 0);
  put_u32(b, 0, 28);
  expect_reject(b, "tag header runs past total_size");
}

TEST(Multiboot2, RequiresEightByteTagAlignment) {
  // The end tag sits right after a 9-byte tag instead of at the next 8-byte boundary.
  InfoBuilder ib;
  ib.tag(1, cstr(""), /*pad=*/false);
  ib.tag(0, {}, /*pad=*/false);
  Bytes b = ib.build(false);
  ASSERT_EQ(b.size(), 25u);
  expect_reject(b, "tag header runs past total_size");
}

TEST(Multiboot2, RejectsMissingEndTag) {
  InfoBuilder ib;
  ib.cmdline("no end");
  expect_reject(ib.build(false), "no end tag");
}

TEST(Multiboot2, RejectsEndTagNotLast) {
  InfoBuilder ib;
  ib.end();
  ib.cmdline("after end");
  expect_reject(ib.build(), "data after the end tag");
}

TEST(Multiboot2, RejectsEndTagWithWrongSize) {
  InfoBuilder ib;
  ib.tag(0, Bytes(8, 0));
  expect_reject(ib.build(false), "end tag size is not 8");
}

TEST(Multiboot2, RejectsUnterminatedStrings) {
  for (uint32_t type : {1u, 2u}) {
    InfoBuilder ib;
    ib.tag(type, Bytes{'a', 'b', 'c'});
    expect_reject(ib.build(), "not NUL-terminated");
    InfoBuilder empty;
    empty.tag(type, Bytes{});
    expect_reject(empty.build(), "not NUL-terminated");
  }
  InfoBuilder ib;
  usize at = ib.module(0x1000, 0x2000, "abcdefg");  // 16 + 8 bytes: no padding after it
  Bytes b = ib.build();
  b[at + 23] = 'h';
  expect_reject(b, "not NUL-terminated");
}

TEST(Multiboot2, RejectsDuplicateTags) {
  {
    InfoBuilder ib;
    ib.cmdline("a");
    ib.cmdline("b");
    expect_reject(ib.build(), "duplicate command line");
  }
  {
    InfoBuilder ib;
    ib.name("a");
    ib.name("b");
    expect_reject(ib.build(), "duplicate boot loader name");
  }
  {
    InfoBuilder ib;
    ib.memory_map({{0, 0x1000, 1}});
    ib.memory_map({{0x1000, 0x1000, 1}});
    expect_reject(ib.build(), "duplicate memory map");
  }
  for (uint32_t type : {14u, 15u}) {
    InfoBuilder ib;
    ib.acpi(type, 36, 0);
    ib.acpi(type, 36, 0);
    expect_reject(ib.build(), "duplicate ACPI");
  }
}

TEST(Multiboot2, RejectsShortModuleTag) {
  InfoBuilder ib;
  ib.tag(3, Bytes(8, 0));  // start and end, but no room for the command line's NUL
  expect_reject(ib.build(), "module tag too short");
}

TEST(Multiboot2, RejectsModuleStartAboveEnd) {
  InfoBuilder ib;
  ib.module(0x2001, 0x2000, "backwards");
  expect_reject(ib.build(), "module start above its end");
}

TEST(Multiboot2, RejectsTooManyModules) {
  InfoBuilder ib;
  for (usize i = 0; i <= kMaxModules; ++i) ib.module(0x1000, 0x2000, "m");
  expect_reject(ib.build(), "more modules", Error::kUnsupported);
}

TEST(Multiboot2, RejectsMemoryMapTagTooShort) {
  InfoBuilder ib;
  ib.tag(6, Bytes{24, 0, 0, 0});
  expect_reject(ib.build(), "memory map tag too short");
}

TEST(Multiboot2, RejectsBadEntrySize) {
  {
    InfoBuilder ib;
    ib.memory_map({{0, 0x1000, 1}}, 16);
    expect_reject(ib.build(), "entry_size");
  }
  {
    InfoBuilder ib;
    ib.memory_map({{0, 0x1000, 1}}, 28);
    expect_reject(ib.build(), "entry_size");
  }
  {
    InfoBuilder ib;  // zero would otherwise divide by zero or loop forever
    ib.memory_map({}, 0);
    expect_reject(ib.build(), "entry_size");
  }
}

TEST(Multiboot2, RejectsEntryVersion) {
  InfoBuilder ib;
  ib.memory_map({{0, 0x1000, 1}}, 24, 1);
  expect_reject(ib.build(), "entry_version");
}

TEST(Multiboot2, RejectsPartialMemoryMapEntry) {
  InfoBuilder ib;
  usize at = ib.memory_map({{0, 0x1000, 1}, {0x1000, 0x1000, 1}});
  Bytes b = ib.build();
  put_u32(b, at + 4, 16 + 24 + 8);  // second entry cut to 8 bytes
  expect_reject(b, "ends inside an entry");
}

TEST(Multiboot2, RejectsWrappingRegion) {
  InfoBuilder ib;
  ib.memory_map({{0xfffffffffffff000ull, 0x2000, 2}});
  expect_reject(ib.build(), "wraps");
}

TEST(Multiboot2, RejectsTooManyRegions) {
  InfoBuilder ib;
  std::vector<MemEntry> entries;
  for (usize i = 0; i <= kMaxMemoryRegions; ++i) entries.push_back({i * 0x1000, 0x1000, 1});
  ib.memory_map(entries);
  expect_reject(ib.build(), "more memory regions", Error::kUnsupported);
}

TEST(Multiboot2, RejectsShortAcpiTags) {
  {
    InfoBuilder ib;
    ib.acpi(14, 19, 0);
    expect_reject(ib.build(), "ACPI tag too short");
  }
  {
    InfoBuilder ib;
    ib.acpi(15, 35, 0);
    expect_reject(ib.build(), "ACPI tag too short");
  }
}

TEST(Multiboot2, DiagnosticPointsAtTheBadTag) {
  InfoBuilder ib;
  ib.cmdline("ok");
  usize at = ib.module(5, 4, "bad");
  auto p = parse(ib.build());
  ASSERT_FALSE(p->result.ok());
  EXPECT_EQ(p->diag.offset, at);
}

// Checks what a successful parse promises, whatever the input was.
void check_invariants(const Parsed& p, usize size) {
  const uint8_t* lo = p.storage.get();
  const uint8_t* hi = lo + size;
  auto inside = [&](const char* s) {
    const uint8_t* u = reinterpret_cast<const uint8_t*>(s);
    if (u < lo || u >= hi) return std::strcmp(s, "") == 0;  // the static default
    return std::memchr(u, 0, hi - u) != nullptr;
  };
  EXPECT_TRUE(inside(p.info.cmdline));
  EXPECT_TRUE(inside(p.info.bootloader_name));
  EXPECT_LE(p.info.memory_count, kMaxMemoryRegions);
  EXPECT_LE(p.info.module_count, kMaxModules);
  for (usize i = 0; i < p.info.module_count; ++i) {
    EXPECT_LE(p.info.modules[i].start, p.info.modules[i].end);
    EXPECT_TRUE(inside(p.info.modules[i].cmdline));
  }
  for (usize i = 0; i < p.info.memory_count; ++i) {
    EXPECT_GE(p.info.memory[i].base + p.info.memory[i].length, p.info.memory[i].base);
  }
  if (p.info.rsdp != nullptr) {
    EXPECT_GE(p.info.rsdp, lo);
    EXPECT_LE(p.info.rsdp + p.info.rsdp_size, hi);
  }
}

TEST(Multiboot2, SurvivesRandomMutations) {
  const Bytes valid = full_info();
  std::mt19937 rng(0x6d62'3200);
  const uint32_t interesting[] = {0, 1, 7, 8, 9, 15, 16, 24, 0x7fffffff, 0xffffffff,
                                  static_cast<uint32_t>(valid.size())};
  int accepted = 0;
  for (int round = 0; round < 10000; ++round) {
    Bytes b = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      usize at = rng() % b.size();
      switch (rng() % 5) {
        case 0: b[at] = static_cast<uint8_t>(rng()); break;
        case 1: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2:
          if (at + 4 <= b.size()) put_u32(b, at & ~usize{3}, interesting[rng() % 11]);
          break;
        case 3: b.resize(rng() % (b.size() + 1)); break;
        case 4: b.insert(b.begin() + at, static_cast<uint8_t>(rng())); break;
      }
      if (b.empty()) break;
    }
    // Half the time keep total_size consistent, so the mutation reaches the tag walker.
    if (b.size() >= 4 && rng() % 2 == 0) put_u32(b, 0, static_cast<uint32_t>(b.size()));
    auto p = parse(b);
    if (p->result.ok()) {
      ++accepted;
      check_invariants(*p, b.size());
    } else {
      EXPECT_NE(p->diag.what, nullptr);
      EXPECT_STRNE(p->diag.what, "");
      EXPECT_LE(p->diag.offset, b.size());
    }
  }
  EXPECT_GT(accepted, 0);  // the mutator leaves some inputs valid, so both paths ran
}

}  // namespace
}  // namespace exo::boot
