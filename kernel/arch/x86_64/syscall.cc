// The C++ side of syscall_entry.S: hands the frame to the generic dispatcher.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/syscall_frame.h"
#include "kernel/arch/x86_64/user_mode.h"
#include "kernel/syscall/syscall.h"

extern "C" void exo_syscall_dispatch(exo::arch::SyscallFrame* frame) {
  using namespace exo;
  syscall::SyscallResult result = syscall::dispatch(frame->rax, frame->arguments);
  frame->rax = static_cast<uint64_t>(result.status);
  if (result.has_second) frame->arguments[2] = result.second;
  // The return address is the instruction after `syscall`, so it is canonical unless the
  // instruction ended the lower half, which vm/address_space.h keeps unmapped. Should it ever
  // happen, sysretq would fault in ring 0 on the user's stack: stop the thread here instead.
  if ((frame->rip >> 47) != 0) {
    arch::sti();
    syscall::sys_process_exit(EXO_EXIT_FAULT_BASE + 13);
  }
  arch::cli();
  arch::before_user_return();
}
