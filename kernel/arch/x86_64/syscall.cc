// The C++ side of syscall_entry.S: its slow exit path, and the IPC registers in and out of the
// generic IPC syscall.
#include "kernel/arch/x86_64/user_mode.h"
#include "kernel/syscall/syscall.h"

// Called with interrupts off when the running thread's exit flag is set; ends the thread
// (through the return check in kernel/proc) or returns to let the syscall go back to ring 3.
extern "C" void exo_syscall_exit_work() { exo::arch::before_user_return(); }

namespace {

// The register file as syscall_entry.S lays it out for an IPC call (lowest address first):
// what the IPC path pushes, then the frame every syscall has.
struct IpcFrame {
  uint64_t rbx, rbp, r12, r13, r14, r15;
  uint64_t number, r9, r8, r10, rdx, rsi, rdi, r11, rcx, rsp;
};

}  // namespace

// From syscall_entry.S for numbers in [EXO_IPC_SYSCALL_FIRST, EXO_IPC_SYSCALL_END): the ABI's
// registers (kernel/abi/ipc.h) in and out of the generic IPC syscall; returns the status.
extern "C" int64_t exo_ipc_dispatch(uint64_t number, IpcFrame* f) {
  using namespace exo;
  syscall::IpcRegisters r{f->rdi, f->rsi, {f->rdx, f->r10, f->r8, f->r9, f->r12, f->r13},
                          f->r14, f->rbx, f->r15};
  Status s = syscall::ipc_syscall(number, r);
  f->rsi = r.tag;
  f->rdx = r.words[0];
  f->r10 = r.words[1];
  f->r8 = r.words[2];
  f->r9 = r.words[3];
  f->r12 = r.words[4];
  f->r13 = r.words[5];
  return s.ok() ? EXO_OK : abi::to_abi_status(s.error());
}
