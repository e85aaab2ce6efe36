// The C++ side of syscall_entry.S: its slow exit path.
#include "kernel/arch/x86_64/user_mode.h"

// Called with interrupts off when the running thread's exit flag is set; ends the thread
// (through the return check in kernel/proc) or returns to let the syscall go back to ring 3.
extern "C" void exo_syscall_exit_work() { exo::arch::before_user_return(); }
