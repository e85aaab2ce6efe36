// The C++ side of syscall_entry.S: its slow exit path, and the IPC registers in and out of the
// IPC fast path and the generic IPC syscall.
#include "kernel/arch/ipc_frame.h"
#include "kernel/arch/x86_64/user_mode.h"
#include "kernel/ipc/fastpath.h"
#include "kernel/sched/thread.h"
#include "kernel/syscall/syscall.h"

// Called with interrupts off when the running thread's exit flag is set; ends the thread
// (through the return check in kernel/proc) or returns to let the syscall go back to ring 3.
extern "C" void exo_syscall_exit_work() { exo::arch::before_user_return(); }

namespace {

using exo::arch::IpcFrame;

exo::syscall::IpcRegisters registers_of(const IpcFrame& f) {
  return {f.rdi, f.rsi, {f.rdx, f.r10, f.r8, f.r9, f.r12, f.r13}, f.r14, f.rbx, f.r15};
}

void write_back(IpcFrame& f, const exo::syscall::IpcRegisters& r) {
  f.rsi = r.tag;
  f.rdx = r.words[0];
  f.r10 = r.words[1];
  f.r8 = r.words[2];
  f.r9 = r.words[3];
  f.r12 = r.words[4];
  f.r13 = r.words[5];
}


int64_t abi_status(exo::Status s) { return s.ok() ? EXO_OK : exo::abi::to_abi_status(s.error()); }

}  // namespace

// From syscall_entry.S for numbers in [EXO_IPC_SYSCALL_FIRST, EXO_IPC_SYSCALL_END), interrupts
// on: the ABI's registers (kernel/abi/ipc.h) in and out of the generic IPC syscall; returns the
// status.
extern "C" int64_t exo_ipc_dispatch(uint64_t number, IpcFrame* f) {
  exo::syscall::IpcRegisters r = registers_of(*f);
  exo::Status s = exo::syscall::ipc_syscall(number, r);
  write_back(*f, r);
  return abi_status(s);
}

// From exo_ipc_resume_parked: a switch resumed a thread the fast path parked (`prev` ran before
// it, this CPU's scheduler lock is held, interrupts off). Finishes the switch, then the syscall
// as the generic path would; returns its status, the answer in `f`.
extern "C" int64_t exo_ipc_parked_resumed(exo::Thread* prev, IpcFrame* f) {
  using namespace exo;
  finish_switch_into_parked(*prev);
  Status waited = ipc::parked_outcome();
  if (!waited.ok()) return abi_status(waited);
  syscall::IpcRegisters r = registers_of(*f);
  Status s = syscall::ipc_finish_receive(r);
  write_back(*f, r);
  return abi_status(s);
}
