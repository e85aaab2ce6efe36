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

// A one-page program: process_exit(0) (mov $2, %eax; xor %edi, %edi; syscall).
constexpr uint8_t kExitCode[] = {0xb8, 0x02, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05};
constexpr uint64_t kChildCode = 0x400000;

// process_create, map the code page, process_start, process_wait (to the end of the
// teardown), handle_close: a whole process life from ring 3.
uint64_t measure_process_create_exit() {
  raw::Return object = raw::memory_object_create(EXO_PAGE_SIZE, 0);
  if (object.status < 0) return 0;
  raw::Return window = raw::memory_object_map(EXO_PROCESS_SELF, object.status, 0, 0, EXO_PAGE_SIZE,
                                              EXO_PROT_READ | EXO_PROT_WRITE);
  if (window.status < 0) return 0;
  for (exo::usize i = 0; i < sizeof(kExitCode); ++i) reinterpret_cast<uint8_t*>(window.status)[i] = kExitCode[i];
  (void)raw::vm_unmap(window.status, EXO_PAGE_SIZE);
  bool ok = true;
  uint64_t result = measure(50, [&] {
    const char name[] = "exit0";
    raw::Return child = raw::process_create(reinterpret_cast<uint64_t>(name), sizeof(name) - 1, 0);
    if (child.status < 0) {
      ok = false;
      return;
    }
    ok = ok && raw::memory_object_map(child.status, object.status, 0, kChildCode, EXO_PAGE_SIZE,
                                      EXO_PROT_READ | EXO_PROT_EXECUTE | EXO_MAP_FIXED).status >= 0;
    ok = ok && raw::process_start(child.status, kChildCode, 0x500000, 0).status == 0;
    raw::Return waited = raw::process_wait(child.status, EXO_DEADLINE_INFINITE);
    ok = ok && waited.status == 0 && waited.second == 0;
    (void)raw::handle_close(child.status);
  });
  (void)raw::handle_close(object.status);
  return ok ? result : 0;
}

}  // namespace

// The loop and the stub's register set-up with `nop` where `syscall` would be: subtract it
// from null_syscall for the kernel's own path.
void nop_stub() {
  uint64_t rax = 0, rdx = 0;
  register uint64_t r10 asm("r10") = 0;
  register uint64_t r8 asm("r8") = 0;
  register uint64_t r9 asm("r9") = 0;
  asm volatile("nop" : "+a"(rax), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9) : "D"(0), "S"(0)
               : "rcx", "r11", "memory");
}

int main(int, char**) {
  report("loop_overhead", "the same loop and register set-up, nop instead of syscall",
         measure(10000, [] { nop_stub(); }));
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
  uint64_t process = measure_process_create_exit();
  report("process_create_exit", "process_create, map one code page, start, exit(0), wait, close",
         process);
  return process == 0 ? 1 : 0;
}
