// TSC-based monotonic clock: ns = cycles * mult >> 32, with mult fixed at calibration.
#include "kernel/time/clock.h"

#include "kernel/arch/arch.h"

namespace exo::clock {

namespace detail {
constinit uint64_t g_ns_per_cycle_q32 = 0;
}  // namespace detail

namespace {

constinit uint64_t g_cycles_per_ns_q32 = 0;

}  // namespace

void init() {
  if (arch::cycle_counter_hz() == 0) arch::calibrate_cycle_counter();
  uint64_t hz = arch::cycle_counter_hz();
  // 64-bit arithmetic only (a 128-bit division would need compiler-rt): 10^9 << 32 fits, and
  // hz << 32 is split into its quotient and remainder by 10^9 so it cannot overflow.
  constexpr uint64_t kNsPerSecond = 1000000000;
  detail::g_ns_per_cycle_q32 = (kNsPerSecond << 32) / hz;
  g_cycles_per_ns_q32 = ((hz / kNsPerSecond) << 32) + ((hz % kNsPerSecond) << 32) / kNsPerSecond;
}

uint64_t ns_to_cycles(uint64_t ns) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(ns) * g_cycles_per_ns_q32) >> 32);
}

}  // namespace exo::clock
