// Panic path and symbolised backtraces.
#include "kernel/core/panic.h"

#include "kernel/arch/arch.h"
#include "kernel/core/symbols.h"

namespace exo {
namespace {

void print_frame(void*, uptr return_address) {
  // A return address points after the call; look up the call itself so a call at the very end
  // of a function is attributed to that function.
  Symbol symbol;
  if (lookup_symbol(return_address - 1, &symbol)) {
    kprint("  {} {}+{:#x}\n", reinterpret_cast<void*>(return_address), symbol.name,
           return_address - symbol.address);
  } else {
    kprint("  {} ?\n", reinterpret_cast<void*>(return_address));
  }
}

}  // namespace

void print_backtrace_from(uptr frame) { arch::walk_stack(frame, &print_frame, nullptr, 32); }

void print_backtrace(uptr frame) {
  kprint("backtrace:\n");
  print_backtrace_from(frame);
}

void panic_stop(ExitStatus status) {
  print_backtrace(arch::current_frame());
  arch::power_off(static_cast<uint32_t>(status));
}

}  // namespace exo

// A call through a pure virtual slot (an object used during its construction or after its
// destruction): a kernel bug, never a recoverable error.
extern "C" [[noreturn]] void __cxa_pure_virtual() { exo::panic("pure virtual function called"); }
