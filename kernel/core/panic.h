// Panic: report a fatal kernel error with a backtrace and stop the machine.
#pragma once

#include "kernel/core/console.h"
#include "kernel/core/exit_status.h"

namespace exo {

// Prints "backtrace:" and the symbolised frame-pointer chain starting at `frame`.
void print_backtrace(uptr frame);
// The same without the heading, for callers that print the first frame themselves.
void print_backtrace_from(uptr frame);

[[noreturn]] void panic_stop(ExitStatus status);

// Called by the arch trap handler while reporting an unexpected kernel exception: prints what
// the generic kernel knows about it (a kernel-stack guard hit is a stack overflow, and which
// thread it was). `vector` is the CPU exception vector, `fault_address` CR2.
void describe_kernel_fault(uint64_t vector, uint64_t fault_address);

// Never returns: prints "PANIC: <message>", a backtrace, and powers off with kPanic.
template <typename... Args>
[[noreturn]] void panic(const char* fmt, const Args&... args) {
  kprint("\nPANIC: ");
  kprint(fmt, args...);
  kprint("\n");
  panic_stop(ExitStatus::kPanic);
}

}  // namespace exo

// Kernel invariant check. Not for validating outside input: that returns an Error.
#define EXO_ASSERT(cond)                                                            \
  do {                                                                              \
    if (!(cond)) ::exo::panic("assertion failed: {} ({}:{})", #cond, __FILE__, __LINE__); \
  } while (0)
