// The in-kernel benchmark runner: sorts samples and prints median, min and max per operation.
#include "kernel/test/kbench.h"

#include "kernel/core/console.h"
#include "kernel/time/clock.h"

extern "C" const exo::kbench::Bench __kbench_start[];
extern "C" const exo::kbench::Bench __kbench_end[];

namespace exo::kbench {
namespace {

bool equal(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

void sort(uint64_t* v, int n) {
  for (int i = 1; i < n; ++i) {
    uint64_t x = v[i];
    int j = i - 1;
    for (; j >= 0 && v[j] > x; --j) v[j + 1] = v[j];
    v[j + 1] = x;
  }
}

// Prints milli-units as "123.4".
void print_milli(uint64_t milli) { kprint("{}.{}", milli / 1000, (milli % 1000) / 100); }

}  // namespace

void Context::record(uint64_t cycles, uint64_t operations) {
  if (count_ < kMaxSamples && operations != 0) samples_[count_++] = cycles * 1000 / operations;
}

void Context::sample(uint64_t cycles_per_operation) {
  if (count_ < kMaxSamples) samples_[count_++] = cycles_per_operation * 1000;
}

bool run(const char* name) {
  bool all = equal(name, "all");
  int ran = 0;
  uint64_t hz = arch::cycle_counter_hz();
  kprint("kbench: cycle counter at {} kHz (under -icount: 1 cycle = 1 instruction)\n", hz / 1000);
  for (const Bench* b = __kbench_start; b != __kbench_end; ++b) {
    if (!all && !equal(b->name, name)) continue;
    // Static: 1,000 samples would take 8 KB of a 16 KiB kernel stack. Benchmarks run one at a
    // time on the boot CPU.
    static constinit Context context;
    context.count_ = 0;
    b->run(context);
    ++ran;
    if (context.count_ == 0) {
      kprint("bench {}: no samples\n", b->name);
      continue;
    }
    sort(context.samples_, context.count_);
    uint64_t median = context.samples_[context.count_ / 2];
    uint64_t p99 = context.samples_[(context.count_ * 99) / 100];
    kprint("bench {}: median ", b->name);
    print_milli(median);
    kprint(" cycles/op, p99 ");
    print_milli(p99);
    kprint(", min ");
    print_milli(context.samples_[0]);
    kprint(" ({} samples) = ", context.count_);
    print_milli(clock::cycles_to_ns(median));
    kprint(" ns/op  -- {}\n", b->what);
  }
  if (ran == 0) kprint("kbench: no benchmark named '{}'\n", name);
  return ran != 0;
}

}  // namespace exo::kbench
