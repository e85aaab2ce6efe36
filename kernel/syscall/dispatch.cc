// The dispatcher: a switch generated from the syscall table.
#include "kernel/syscall/syscall.h"

namespace exo::syscall {

SyscallResult dispatch(uint64_t number, const uint64_t (&arguments)[6]) {
  switch (number) {
#define EXO_SYSCALL_CASE(number, name, argc) \
  case number:                               \
    return sys_##name(EXO_SYSCALL_ARGS(argc, arguments));
    EXO_SYSCALLS(EXO_SYSCALL_CASE)
#undef EXO_SYSCALL_CASE
    default:
      return {EXO_ERR_BAD_SYSCALL};
  }
}

}  // namespace exo::syscall
