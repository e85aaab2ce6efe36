// Host tests for the type-safe formatter.
#include "kernel/lib/format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace exo {
namespace {

template <typename... Args>
std::string fmt(const char* f, const Args&... args) {
  char buffer[256];
  format_to(buffer, sizeof(buffer), f, args...);
  return buffer;
}

TEST(Format, Integers) {
  EXPECT_EQ(fmt("{}", 0), "0");
  EXPECT_EQ(fmt("{}", -42), "-42");
  EXPECT_EQ(fmt("{}", INT64_MIN), "-9223372036854775808");
  EXPECT_EQ(fmt("{}", UINT64_MAX), "18446744073709551615");
  EXPECT_EQ(fmt("{:x}", 0xdeadbeefu), "deadbeef");
  EXPECT_EQ(fmt("{:X}", 0xbeefu), "BEEF");
  EXPECT_EQ(fmt("{:#x}", 255), "0xff");
  EXPECT_EQ(fmt("{:016x}", 0x1234u), "0000000000001234");
  EXPECT_EQ(fmt("{:#018x}", 0x1234u), "0x0000000000001234");
  EXPECT_EQ(fmt("{:b}", 5u), "101");
  EXPECT_EQ(fmt("{:#o}", 8u), "0o10");
  EXPECT_EQ(fmt("{:5}", 42), "   42");
  EXPECT_EQ(fmt("{:<5}|", 42), "42   |");
  EXPECT_EQ(fmt("{:05}", -42), "-0042");
  EXPECT_EQ(fmt("{}", static_cast<uint8_t>(200)), "200");
}

TEST(Format, TextBoolCharPointerError) {
  EXPECT_EQ(fmt("{}", "abc"), "abc");
  EXPECT_EQ(fmt("[{:6}]", "ab"), "[ab    ]");
  EXPECT_EQ(fmt("[{:>6}]", "ab"), "[    ab]");
  EXPECT_EQ(fmt("{}", static_cast<const char*>(nullptr)), "(null)");
  EXPECT_EQ(fmt("{} {}", true, false), "true false");
  EXPECT_EQ(fmt("{}", 'q'), "q");
  EXPECT_EQ(fmt("{:x}", 'A'), "41");
  EXPECT_EQ(fmt("{}", reinterpret_cast<void*>(0x1000)), "0x0000000000001000");
  EXPECT_EQ(fmt("{}", Error::kMalformed), "kMalformed");
  enum class Color : uint8_t { kRed = 3 };
  EXPECT_EQ(fmt("{}", Color::kRed), "3");
}

TEST(Format, BracesAndLiterals) {
  EXPECT_EQ(fmt("{{}} {}", 1), "{} 1");
  EXPECT_EQ(fmt("a{}b{}c", 1, 2), "a1b2c");
  EXPECT_EQ(fmt("no args"), "no args");
}

TEST(Format, MalformedNeverFails) {
  EXPECT_EQ(fmt("{} {}", 1), "1 {?}");
  EXPECT_EQ(fmt("{:q}", 1), "{?}");
  EXPECT_EQ(fmt("{:5x5}", 1), "{?}");
  EXPECT_EQ(fmt("x{", 1), "x{?}");
  EXPECT_EQ(fmt("{abc}", 1), "{?}");
  EXPECT_EQ(fmt("{:99999999999}", 1), "{?}");
}

TEST(Format, TruncatesAndCounts) {
  char buffer[8];
  BufferSink out(buffer, sizeof(buffer));
  format(out.sink(), "{}", "0123456789");
  EXPECT_STREQ(out.c_str(), "0123456");
  EXPECT_EQ(out.length(), 7u);
  EXPECT_EQ(out.dropped(), 3u);
}

}  // namespace
}  // namespace exo
