// In-kernel benchmarks: registered through the .kbench.* linker sections and run with
// kbench=NAME or kbench=all. Not tests: they report figures and never fail on a number.
// Under QEMU -icount shift=0 a cycle is one executed instruction, so the figures are exact path
// lengths; otherwise they are TSC cycles, printed also as nanoseconds.
#pragma once

#include "kernel/arch/arch.h"
#include "kernel/lib/types.h"

namespace exo::kbench {

class Context {
 public:
  static constexpr int kMaxSamples = 1000;
  // Records one sample: `cycles` spent on `operations` operations.
  void record(uint64_t cycles, uint64_t operations);
  // Times `rounds` rounds of `operations` calls of op() each, recording one sample per round.
  template <typename Op>
  void run(int rounds, uint64_t operations, Op&& op) {
    for (int r = 0; r < rounds; ++r) {
      uint64_t start = arch::cycle_counter();
      for (uint64_t i = 0; i < operations; ++i) op();
      record(arch::cycle_counter() - start, operations);
    }
  }
  // Reports raw per-operation samples instead (latency distributions): median and 99th
  // percentile of the values passed to sample().
  void sample(uint64_t cycles_per_operation);

  int count() const { return count_; }
  uint64_t* samples() { return samples_; }
  // Milli-cycles per operation, so small path lengths keep their fraction.
  uint64_t samples_[kMaxSamples] = {};
  int count_ = 0;
};

struct Bench {
  const char* name;
  const char* what;  // one line: the operation measured
  void (*run)(Context&);
};

// Runs `name` ("all" for every benchmark) and prints one line each. Returns false if none ran.
bool run(const char* name);

}  // namespace exo::kbench

#define EXO_KBENCH(name, what)                                                            \
  static void exo_kbench_##name(::exo::kbench::Context&);                                 \
  [[gnu::used, gnu::section(".kbench." #name)]] static constexpr ::exo::kbench::Bench     \
      exo_kbench_entry_##name = {#name, what, &exo_kbench_##name};                        \
  static void exo_kbench_##name([[maybe_unused]] ::exo::kbench::Context& bench)
