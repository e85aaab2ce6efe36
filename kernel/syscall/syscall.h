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

#define EXO_SYSCALL_DECLARE(number, name, argc) SyscallResult sys_##name(EXO_SYSCALL_PARAMS(argc));
EXO_SYSCALLS(EXO_SYSCALL_DECLARE)
#undef EXO_SYSCALL_DECLARE



}  // namespace exo::syscall
