// Syscalls about time, the CPU and the debug console.
#include "kernel/arch/arch.h"
#include "kernel/core/console.h"
#include "kernel/proc/process.h"
#include "kernel/sched/thread.h"
#include "kernel/syscall/syscall.h"
#include "kernel/syscall/user_memory.h"
#include "kernel/time/clock.h"

namespace exo::syscall {

namespace {
constexpr usize kDebugLogMax = 64 * 1024;
}  // namespace

SyscallResult sys_debug_log(uint64_t text, uint64_t length) {
  if (!is_user_range(text, length)) return from_error(Error::kFault);
  if (length > kDebugLogMax) length = kDebugLogMax;
  char buffer[256];
  while (length != 0) {
    usize chunk = length < sizeof(buffer) ? length : sizeof(buffer);
    Status copied = copy_in(buffer, text, chunk);
    if (!copied.ok()) return from(copied);
    arch::console_write(buffer, chunk);
    text += chunk;
    length -= chunk;
  }
  return {EXO_OK};
}

SyscallResult sys_yield() {
  thread_yield();
  return {EXO_OK};
}

SyscallResult sys_thread_set_priority(uint64_t priority) {
  if (priority < 1 || priority > EXO_PRIORITY_MAX_USER) return from_error(Error::kInvalidArgument);
  thread_set_priority(static_cast<uint8_t>(priority));
  return {EXO_OK};
}

SyscallResult sys_sleep(uint64_t nanoseconds) {
  if (nanoseconds == 0) {
    thread_yield();
  } else {
    // Keeps now + ns from wrapping in the timer queue: ~292 years is "forever" enough.
    constexpr uint64_t kLongest = uint64_t{1} << 62;
    thread_sleep_ns(nanoseconds < kLongest ? nanoseconds : kLongest);
  }
  return {EXO_OK};
}

SyscallResult sys_clock_get(uint64_t clock_id) {
  if (clock_id != EXO_CLOCK_MONOTONIC) return from_error(Error::kInvalidArgument);
  return {static_cast<ExoStatus>(clock::now_ns())};
}

SyscallResult sys_debug_shutdown(uint64_t status) {
  proc::Process* self = proc::Process::current();
  if (!self->is_init()) return from_error(Error::kAccessDenied);
  uint64_t reported = status <= EXO_EXIT_STATUS_MAX_REPORTABLE ? status : EXO_EXIT_STATUS_MAX_REPORTABLE;
  kprint("debug_shutdown from init: status {}\n", reported);
  arch::power_off(static_cast<uint32_t>(reported));
}

}  // namespace exo::syscall
