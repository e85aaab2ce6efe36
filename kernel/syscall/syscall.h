// The syscall dispatcher and its handlers: one sys_NAME per entry of kernel/abi/syscalls.h,
// declared here from the table itself so a missing or mis-typed handler does not link.
#pragma once

#include "kernel/abi/status.h"
#include "kernel/abi/status_map.h"
#include "kernel/abi/syscalls.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::syscall {

// What goes back to ring 3: rax, and rdx for the calls that have a second result.
struct SyscallResult {
  ExoStatus status;
  uint64_t second = 0;
  bool has_second = false;
};

inline SyscallResult from(Status s) { return {s.ok() ? EXO_OK : abi::to_abi_status(s.error())}; }
template <typename T>
SyscallResult from(const Result<T>& r) {
  return {r.ok() ? static_cast<ExoStatus>(*r) : abi::to_abi_status(r.error())};
}
inline SyscallResult from_error(Error e) { return {abi::to_abi_status(e)}; }

// The IPC syscalls (kernel/abi/ipc.h) move more registers than a plain call: the arch entry
// gathers them here, calls ipc_syscall and writes back the tag and the words.
struct IpcRegisters {
  uint64_t endpoint;  // in
  uint64_t tag;       // in and out
  uint64_t words[6];  // in and out
  uint64_t options;   // in
  uint64_t deadline;  // in, with EXO_IPC_DEADLINE
  uint64_t tail;      // in: the user address of the tail buffer
};
// The deadline of a blocking IPC or notification wait from its options (EXO_IPC_NONBLOCK,
// EXO_IPC_DEADLINE) and deadline argument: ipc::kNoWait, ipc::kForever or a time.
// kInvalidArgument for unknown option bits or both at once.
Result<uint64_t> wait_deadline(uint64_t options, uint64_t deadline_ns);
// Runs IPC syscall `number` (EXO_IPC_SYSCALL_FIRST <= number < EXO_IPC_SYSCALL_END).
Status ipc_syscall(uint64_t number, IpcRegisters& registers);
// Finishes a receive the IPC fast path blocked in but the slow path delivered (the message is
// in the calling thread's ipc::ThreadIpc::message, perhaps with handles and a tail): writes it
// into `registers` and the tail buffer they name, as a slow receive would.
Status ipc_finish_receive(IpcRegisters& registers);

#define EXO_SYSCALL_DECLARE(number, name, argc) SyscallResult sys_##name(EXO_SYSCALL_PARAMS(argc));
EXO_SYSCALLS(EXO_SYSCALL_DECLARE)
#undef EXO_SYSCALL_DECLARE



}  // namespace exo::syscall
