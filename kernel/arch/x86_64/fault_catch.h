// Recovering from an expected CPU exception: the mechanism behind the exception ktests.
#pragma once

#include "kernel/arch/x86_64/trap_frame.h"
#include "kernel/lib/types.h"

namespace exo::arch {

struct FaultInfo {
  uint64_t vector;
  uint64_t error_code;
  uint64_t cr2;
  uint64_t rip;
  uint64_t rsp;  // the stack pointer the handler ran on, not the faulting one
};

// Runs fn(arg). If fn raises a CPU exception, the trap handler records it in *info and resumes
// here, and this returns true; if fn returns normally it returns false. Not reentrant; boot CPU
// only, interrupts off. Meant for tests: production code never expects to fault.
bool run_catching_faults(void (*fn)(void*), void* arg, FaultInfo* info);

// Test helper: switches to an unmapped stack and pushes, forcing a double fault. Only for use
// under run_catching_faults.
extern "C" [[noreturn]] void exo_trigger_double_fault(void*);

// Called by the trap handler: if a catch is armed, records the fault, redirects `frame` to the
// recovery point and returns true.
bool try_recover_caught_fault(TrapFrame* frame, uint64_t cr2);

}  // namespace exo::arch
