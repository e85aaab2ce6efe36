// Host tests for the cpio newc initrd reader: walking, lookup, each rejection, mutation fuzzing.
#include "kernel/loader/cpio.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace exo::loader {
namespace {

using Bytes = std::vector<uint8_t>;

struct Field {  // header field index after the magic, cpio(5) order
  enum : usize { kIno, kMode, kUid, kGid, kNlink, kMtime, kFilesize, kDevMajor, kDevMinor,
                 kRdevMajor, kRdevMinor, kNamesize, kCheck };
};
usize field_offset(usize field) { return 6 + 8 * field; }

// Writes archives the way `cpio -o -H newc` does; returns each entry's header offset.
class CpioBuilder {
 public:
  usize add(const std::string& name, uint32_t mode, const std::string& data, bool pad = true) {
    usize at = bytes_.size();
    char header[111];
    std::snprintf(header, sizeof header,
                  "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1u, mode, 0u,
                  0u, 1u, 0u, static_cast<uint32_t>(data.size()), 0u, 0u, 0u, 0u,
                  static_cast<uint32_t>(name.size() + 1), 0u);
    bytes_.insert(bytes_.end(), header, header + 110);
    bytes_.insert(bytes_.end(), name.begin(), name.end());
    bytes_.push_back(0);
    if (pad) align();
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    if (pad) align();
    return at;
  }
  usize file(const std::string& name, const std::string& data) { return add(name, 0100644, data); }
  usize trailer() { return add("TRAILER!!!", 0, ""); }
  Bytes build(bool with_trailer = true, usize block = 512) {
    if (with_trailer) trailer();
    if (block) bytes_.resize((bytes_.size() + block - 1) / block * block, 0);
    return bytes_;
  }

 private:
  void align() { bytes_.resize((bytes_.size() + 3) & ~usize{3}, 0); }
  Bytes bytes_;
};

void set_field(Bytes& b, usize header_at, usize field, const char* eight) {
  std::memcpy(b.data() + header_at + field_offset(field), eight, 8);
}

// Exactly-sized heap copy so ASan catches any read past the archive.
struct Heap {
  explicit Heap(const Bytes& b) : data(new uint8_t[b.size() ? b.size() : 1]), size(b.size()) {
    if (!b.empty()) std::memcpy(data.get(), b.data(), b.size());
  }
  ByteSpan span() const { return ByteSpan(data.get(), size); }
  std::unique_ptr<uint8_t[]> data;
  usize size;
};

void expect_reject(const Bytes& b, const char* needle) {
  Heap h(b);
  ParseDiagnostic d;
  auto r = cpio_validate(h.span(), &d);
  ASSERT_FALSE(r.ok()) << "expected rejection: " << needle;
  EXPECT_EQ(r.error(), Error::kMalformed);
  EXPECT_NE(std::strstr(d.what, needle), nullptr)
      << "diagnostic '" << d.what << "' lacks '" << needle << "'";
}

std::string data_of(const CpioEntry& e) {
  return std::string(reinterpret_cast<const char*>(e.data.data()), e.data.size());
}

Bytes sample_archive() {
  CpioBuilder b;
  b.add(".", 040755, "");
  b.file("./init", std::string("\x7f" "ELF", 4) + "program");
  b.add("./etc", 040755, "");
  b.file("./etc/motd", "hello");
  b.add("./bin/sh", 0120777, "/init");
  b.file("./empty", "");
  return b.build();
}

TEST(Cpio, WalksEntriesInOrder) {
  Heap h(sample_archive());
  usize offset = 0;
  CpioEntry e;
  ParseDiagnostic d;
  std::vector<std::string> names;
  while (true) {
    auto next = cpio_next(h.span(), &offset, &e, &d);
    ASSERT_TRUE(next.ok()) << d.what << " at " << d.offset;
    if (!*next) break;
    names.push_back(e.name);
    EXPECT_EQ(std::strlen(e.name), e.name_length);
    EXPECT_EQ(offset % 4, 0u);
  }
  EXPECT_EQ(names, (std::vector<std::string>{".", "./init", "./etc", "./etc/motd", "./bin/sh",
                                              "./empty"}));
  auto count = cpio_validate(h.span(), &d);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 6u);
}

TEST(Cpio, FindsByNameIgnoringDotSlash) {
  Heap h(sample_archive());
  ParseDiagnostic d;
  auto motd = cpio_find(h.span(), "etc/motd", &d);
  ASSERT_TRUE(motd.ok()) << d.what;
  EXPECT_EQ(data_of(*motd), "hello");
  EXPECT_TRUE(cpio_is_regular(*motd));
  auto init = cpio_find(h.span(), "./init", &d);
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->data.size(), 11u);
  auto etc = cpio_find(h.span(), "etc", &d);
  ASSERT_TRUE(etc.ok());
  EXPECT_TRUE(cpio_is_directory(*etc));
  auto link = cpio_find(h.span(), "bin/sh", &d);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->mode & kCpioTypeMask, kCpioSymlink);
  EXPECT_EQ(data_of(*link), "/init");
  EXPECT_EQ(cpio_find(h.span(), "etc/mot", &d).error(), Error::kNotFound);
  EXPECT_EQ(cpio_find(h.span(), "TRAILER!!!", &d).error(), Error::kNotFound);
}

TEST(Cpio, LaterDuplicateWins) {
  CpioBuilder b;
  b.file("a", "old");
  b.file("./a", "new");
  Heap h(b.build());
  auto a = cpio_find(h.span(), "a", nullptr);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(data_of(*a), "new");
}

TEST(Cpio, AcceptsUppercaseAndLowercaseHexAndNoBlockPadding) {
  CpioBuilder b;
  usize at = b.file("x", std::string(0xab, 'x'));
  Bytes bytes = b.build(true, 0);
  set_field(bytes, at, Field::kFilesize, "000000ab");
  auto count = cpio_validate(Heap(bytes).span(), nullptr);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1u);
}

TEST(Cpio, RejectsBadMagic) {
  for (const char* magic : {"070707", "070702", "171701"}) {
    Bytes b = sample_archive();
    std::memcpy(b.data(), magic, 6);
    expect_reject(b, "bad magic");
  }
}

TEST(Cpio, RejectsNonHexFields) {
  for (usize field : {Field::kIno, Field::kMode, Field::kFilesize, Field::kNamesize,
                      Field::kCheck}) {
    for (char bad : {'g', ' ', '\0', '-', 'x'}) {
      Bytes b = sample_archive();
      b[field_offset(field) + 3] = static_cast<uint8_t>(bad);
      expect_reject(b, "not 8 hex digits");
    }
  }
}

TEST(Cpio, RejectsBadNames) {
  {
    CpioBuilder c;
    usize at = c.file("abc", "x");
    Bytes b = c.build();
    set_field(b, at, Field::kNamesize, "00000000");
    expect_reject(b, "name size is 0");
  }
  {
    CpioBuilder c;
    usize at = c.file("abc", "x");
    Bytes b = c.build();
    b[at + 110 + 3] = 'd';  // the NUL becomes a letter
    expect_reject(b, "name not NUL-terminated");
  }
  {
    CpioBuilder c;
    usize at = c.file("abcdef", "x");
    Bytes b = c.build();
    b[at + 110 + 2] = 0;
    expect_reject(b, "NUL inside the name");
  }
  {
    CpioBuilder c;
    usize at = c.file("abc", "x");
    Bytes b = c.build(true, 0);
    set_field(b, at, Field::kNamesize, "FFFFFFFF");
    expect_reject(b, "name runs past the archive");
  }
}

TEST(Cpio, RejectsDataPastTheArchive) {
  CpioBuilder c;
  usize at = c.file("abc", "data");
  Bytes b = c.build(true, 0);
  set_field(b, at, Field::kFilesize, "FFFFFFF0");
  expect_reject(b, "data runs past the archive");
}

TEST(Cpio, RejectsMissingTrailer) {
  CpioBuilder c;
  c.file("abc", "data");
  expect_reject(c.build(false, 0), "without TRAILER");
  expect_reject(Bytes{}, "without TRAILER");
  Bytes zeros(512, 0);  // block padding where a header should be
  expect_reject(zeros, "bad magic");
}

TEST(Cpio, RejectsTruncatedHeader) {
  CpioBuilder c;
  c.file("abc", "data");
  Bytes b = c.build(false, 0);
  Bytes t = CpioBuilder().build(true, 0);
  b.insert(b.end(), t.begin(), t.begin() + 60);
  expect_reject(b, "header runs past");
}

TEST(Cpio, RejectsBadPadding) {
  {
    CpioBuilder c;  // "ab\0" ends at 113: three padding bytes follow
    usize at = c.file("ab", "data");
    Bytes b = c.build();
    b[at + 114] = 1;
    expect_reject(b, "non-zero padding");
  }
  {
    CpioBuilder c;
    usize at = c.file("abcd", "dat");  // data at 116..119, one padding byte
    Bytes b = c.build();
    b[at + 119] = 0xff;
    expect_reject(b, "non-zero padding");
  }
  {
    CpioBuilder c;  // an unpadded entry: the next header is misaligned
    c.add("ab", 0100644, "data", /*pad=*/false);
    expect_reject(c.build(), "padding");
  }
  {
    CpioBuilder c;  // the archive ends inside the data padding
    c.file("abcd", "dat");
    Bytes b = c.build(false, 0);
    b.pop_back();
    expect_reject(b, "padding runs past the archive");
  }
}

TEST(Cpio, RejectsTrailerWithData) {
  CpioBuilder c;
  c.file("a", "b");
  c.add("TRAILER!!!", 0, "oops");
  expect_reject(c.build(false), "trailer carries data");
}

TEST(Cpio, RejectsMisalignedOffset) {
  Heap h(sample_archive());
  usize offset = 2;
  CpioEntry e;
  ParseDiagnostic d;
  auto r = cpio_next(h.span(), &offset, &e, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::strstr(d.what, "4-aligned"), nullptr);
}

// An archive written by GNU `cpio -o -H newc` from tests/host/loader/fixture (see
// meson.build); skipped where the tool is not installed.
TEST(Cpio, ReadsWhatGnuCpioWrites) {
  const char* path = std::getenv("EXO_CPIO_FIXTURE");
  if (path == nullptr) GTEST_SKIP() << "cpio not installed when the build was configured";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Heap h(bytes);
  ParseDiagnostic d;
  auto count = cpio_validate(h.span(), &d);
  ASSERT_TRUE(count.ok()) << d.what << " at " << d.offset;
  EXPECT_EQ(*count, 5u);  // . init etc etc/motd empty
  auto motd = cpio_find(h.span(), "etc/motd", &d);
  ASSERT_TRUE(motd.ok()) << d.what;
  EXPECT_EQ(data_of(*motd), "hello from the initrd\n");
  EXPECT_TRUE(cpio_is_regular(*motd));
  auto init = cpio_find(h.span(), "init", &d);
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(data_of(*init), "the init program\n");
  auto etc = cpio_find(h.span(), "etc", &d);
  ASSERT_TRUE(etc.ok());
  EXPECT_TRUE(cpio_is_directory(*etc));
  auto empty = cpio_find(h.span(), "empty", &d);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->data.empty());
}

TEST(Cpio, SurvivesRandomMutations) {
  const Bytes valid = sample_archive();
  std::mt19937 rng(0xc910);
  int accepted = 0;
  for (int round = 0; round < 10000; ++round) {
    Bytes b = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      usize at = rng() % std::min<usize>(b.size(), 900);
      switch (rng() % 5) {
        case 0: b[at] = static_cast<uint8_t>(rng()); break;
        case 1: b[at] = "0123456789abcdefF"[rng() % 17]; break;  // keeps fields hex
        case 2: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 3: b.resize(rng() % (b.size() + 1)); break;
        case 4: b.erase(b.begin() + at); break;
      }
    }
    Heap h(b);
    ParseDiagnostic d;
    auto r = cpio_validate(h.span(), &d);
    if (r.ok()) {
      ++accepted;
      usize offset = 0;
      CpioEntry entry;
      while (*cpio_next(h.span(), &offset, &entry, nullptr)) {
        EXPECT_GE(entry.data.data(), h.data.get());
        EXPECT_LE(entry.data.data() + entry.data.size(), h.data.get() + h.size);
        EXPECT_EQ(std::strlen(entry.name), entry.name_length);
      }
    } else {
      EXPECT_STRNE(d.what, "");
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace exo::loader
