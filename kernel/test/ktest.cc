// The in-kernel test runner.
#include "kernel/test/ktest.h"

#include "kernel/arch/x86_64/interrupts.h"

extern "C" const exo::ktest::Case __ktest_start[];
extern "C" const exo::ktest::Case __ktest_end[];

namespace exo::ktest {
namespace {

bool starts_with(const char* s, const char* prefix) {
  while (*prefix != '\0') {
    if (*s++ != *prefix++) return false;
  }
  return true;
}

bool equal(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

}  // namespace

void Context::fail(const char* file, int line, const char* what) {
  ++failures_;
  kprint("    FAILED: {} at {}:{}\n", what, file, line);
}

int run(const char* suite) {
  bool all = equal(suite, "all");
  int passed = 0, failed = 0;
  // The linker sorts .ktest.* by suite name, so each suite's cases are contiguous.
  const Case* c = __ktest_start;
  while (c != __ktest_end) {
    const char* current = c->suite;
    int suite_passed = 0, suite_failed = 0;
    for (; c != __ktest_end && equal(c->suite, current); ++c) {
      // fatal_* suites end the machine on purpose; they run only when named.
      bool selected = all ? !starts_with(current, "fatal_") : equal(current, suite);
      if (!selected) continue;
      kprint("[ RUN  ] {}.{}\n", c->suite, c->name);
      Context context;
      bool interrupts_on = arch::interrupts_enabled();
      c->run(context);
      // A case that leaves interrupts off leaves the kernel_main thread (and whichever CPU it
      // runs on) deaf to TLB shootdowns and reschedule IPIs for every later case, which then
      // hangs far from the cause; fail the culprit instead and restore the state.
      if (arch::interrupts_enabled() != interrupts_on) {
        context.fail(__FILE__, __LINE__, interrupts_on ? "the case left interrupts off"
                                                       : "the case left interrupts on");
        if (interrupts_on) {
          arch::irq_restore(arch::kRflagsInterruptEnable);
        } else {
          (void)arch::irq_save();
        }
      }
      if (context.failed()) {
        ++suite_failed;
        kprint("[ FAIL ] {}.{}\n", c->suite, c->name);
      } else {
        ++suite_passed;
        kprint("[  OK  ] {}.{}\n", c->suite, c->name);
      }
    }
    if (suite_passed + suite_failed > 0) {
      kprint("suite {}: {} passed, {} failed\n", current, suite_passed, suite_failed);
    }
    passed += suite_passed;
    failed += suite_failed;
  }
  if (passed + failed == 0) {
    kprint("ktest: no suite named '{}'\n", suite);
    return -1;
  }
  kprint("{} passed, {} failed\n", passed, failed);
  return failed;
}

}  // namespace exo::ktest
