// syscall_bench: ring-3 path lengths. Under `scripts/run --icount` the TSC counts executed
// instructions, so each figure is instructions per operation (docs/benchmarks.md).
#include "exo/print.h"
#include "exo/syscall.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace {

using exo::sys::print;
namespace raw = exo::sys::raw;

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

constexpr int kRounds = 9;

// Median over kRounds rounds of `count` operations, in milli-cycles per operation.
template <typename Op>
uint64_t measure(uint64_t count, Op&& op) {
  uint64_t samples[kRounds];
  for (int r = 0; r < kRounds; ++r) {
    uint64_t start = rdtsc();
    for (uint64_t i = 0; i < count; ++i) op();
    samples[r] = (rdtsc() - start) * 1000 / count;
  }
  for (int i = 1; i < kRounds; ++i) {
    for (int j = i; j > 0 && samples[j - 1] > samples[j]; --j) {
      uint64_t t = samples[j];
      samples[j] = samples[j - 1];
      samples[j - 1] = t;
    }
  }
  return samples[kRounds / 2];
}

void report(const char* name, const char* what, uint64_t milli) {
  print("bench {}: {}.{} cycles/op median of {} rounds ({})\n", name, milli / 1000,
        (milli % 1000) / 100, kRounds, what);
}

}  // namespace

int main(int, char**) {
  report("null_syscall", "syscall number 0 through the dispatcher and back",
         measure(10000, [] { (void)raw::syscall6(0, 0, 0, 0, 0, 0, 0); }));
  report("clock_get", "clock_get(MONOTONIC) round trip",
         measure(10000, [] { (void)raw::clock_get(EXO_CLOCK_MONOTONIC); }));
  report("map_touch_unmap_4k", "vm_map_anonymous 4 KiB, write one byte, vm_unmap", measure(500, [] {
           raw::Return r = raw::vm_map_anonymous(0, EXO_PAGE_SIZE, EXO_PROT_READ | EXO_PROT_WRITE, 0);
           if (r.status >= 0) {
             *reinterpret_cast<volatile uint8_t*>(r.status) = 1;
             (void)raw::vm_unmap(static_cast<uint64_t>(r.status), EXO_PAGE_SIZE);
           }
         }));
  return 0;
}
