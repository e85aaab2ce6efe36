// What the x86_64 trap and syscall paths need from user_mode.cc.
#pragma once

#include "kernel/arch/x86_64/trap_frame.h"
#include "kernel/lib/types.h"

namespace exo::arch {

// A page fault inside exo_user_copy: resume at its fixup (which reports the failure).
bool fixup_user_access(TrapFrame& frame);

// An exception from ring 3: hands it to the registered handler, which ends the thread (so this
// returns only false, when the vector is one that stops the machine or no handler exists).
bool handle_user_fault(const TrapFrame& frame, uint64_t cr2);

// Called with interrupts off before any return to ring 3.
void before_user_return();

}  // namespace exo::arch
