// Host tests for Result<T>, EXO_TRY and error names.
#include "kernel/lib/result.h"

#include <gtest/gtest.h>
#include <cstring>

namespace exo {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error::kMalformed;
  return c - '0';
}

Result<int> sum_two(const char* s) {
  int a = EXO_TRY(parse_digit(s[0]));
  int b = EXO_TRY(parse_digit(s[1]));
  return a + b;
}

Status check_nonzero(int x) {
  if (x == 0) return Error::kInvalidArgument;
  return ok_status();
}

Status chained(int x) {
  EXO_TRY(check_nonzero(x));
  return ok_status();
}

TEST(Result, ValueAndError) {
  Result<int> r = parse_digit('7');
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  Result<int> e = parse_digit('x');
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), Error::kMalformed);
}

TEST(Result, TryPropagates) {
  EXPECT_EQ(*sum_two("34"), 7);
  EXPECT_EQ(sum_two("3x").error(), Error::kMalformed);
  EXPECT_TRUE(chained(1).ok());
  EXPECT_EQ(chained(0).error(), Error::kInvalidArgument);
}

TEST(Error, EveryValueHasAName) {
  for (int i = 1; i <= static_cast<int>(Error::kNotAligned); ++i) {
    EXPECT_STRNE(error_name(static_cast<Error>(i)), "unknown error") << i;
  }
}

}  // namespace
}  // namespace exo
