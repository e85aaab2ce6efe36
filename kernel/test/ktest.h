// In-kernel test cases: registered through the .ktest.* linker sections (no constructors) and
// selected on the command line with ktest=all or ktest=SUITE.
#pragma once

#include "kernel/core/console.h"
#include "kernel/lib/types.h"

namespace exo::ktest {

class Context {
 public:
  // Records a failed expectation and prints where it was.
  void fail(const char* file, int line, const char* what);
  bool failed() const { return failures_ != 0; }

 private:
  int failures_ = 0;
};

struct Case {
  const char* suite;
  const char* name;
  void (*run)(Context&);
};

// Runs every case of `suite` ("all" for every suite except fatal_*, whose cases stop the
// machine on purpose and are run one suite per boot), printing one line per case and a final
// "N passed, N failed" line. Returns the number of failed cases (-1 if nothing matched).
int run(const char* suite);

}  // namespace exo::ktest

#define EXO_KTEST(suite, name)                                                          \
  static void exo_ktest_##suite##_##name(::exo::ktest::Context&);                       \
  [[gnu::used, gnu::section(".ktest." #suite)]] static constexpr ::exo::ktest::Case     \
      exo_ktest_case_##suite##_##name = {#suite, #name, &exo_ktest_##suite##_##name};   \
  static void exo_ktest_##suite##_##name([[maybe_unused]] ::exo::ktest::Context& ktest_context)

#define KEXPECT(cond)                                                      \
  do {                                                                     \
    if (!(cond)) ktest_context.fail(__FILE__, __LINE__, #cond);            \
  } while (0)

#define KEXPECT_EQ(a, b)                                                                      \
  do {                                                                                        \
    auto exo_a_ = (a);                                                                        \
    auto exo_b_ = (b);                                                                        \
    if (!(exo_a_ == exo_b_)) {                                                                \
      ::exo::kprint("    {} = {:#x}, {} = {:#x}\n", #a, static_cast<uint64_t>(exo_a_), #b,    \
                    static_cast<uint64_t>(exo_b_));                                           \
      ktest_context.fail(__FILE__, __LINE__, #a " == " #b);                                   \
    }                                                                                         \
  } while (0)
