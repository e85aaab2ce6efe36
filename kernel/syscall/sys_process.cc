// Syscalls on processes, threads and handles.
#include "kernel/ipc/ipc.h"
#include "kernel/proc/process.h"
#include "kernel/syscall/syscall.h"
#include "kernel/syscall/user_memory.h"
#include "kernel/vm/address_space.h"

namespace exo::syscall {

using object::Rights;
using proc::Process;

// sys_vm.cc: EXO_PROCESS_SELF or a process handle with `required`.
Result<object::RefPtr<Process>> process_argument(uint64_t value, Rights required);

namespace {

// An entry point or initial stack pointer: a user address (it need not be mapped; a bad one
// faults the new thread, not the kernel).
bool valid_entry(uint64_t entry) { return entry >= vm::kUserBase && entry < vm::kUserEnd; }
bool valid_stack_top(uint64_t top) { return top > vm::kUserBase && top <= vm::kUserEnd; }

constexpr Rights kThreadRights = Rights::kWait | Rights::kManage | Rights::kGetProperty |
                                 Rights::kDuplicate | Rights::kTransfer;
constexpr Rights kProcessRights = Rights::kManage | Rights::kWait | Rights::kGetProperty |
                                  Rights::kDuplicate | Rights::kTransfer;

}  // namespace

SyscallResult sys_process_exit(uint64_t status) {
  Process::current()->exit(static_cast<int64_t>(status));
}

SyscallResult sys_thread_exit() { Process::current()->exit_current_thread(); }

SyscallResult sys_thread_create(uint64_t entry, uint64_t stack_top, uint64_t argument) {
  if (!valid_entry(entry) || !valid_stack_top(stack_top)) return from_error(Error::kAccessDenied);
  Process* self = Process::current();
  auto thread = self->create_thread(entry, stack_top, argument);
  if (!thread.ok()) return from_error(thread.error());
  return from(self->add_handle(move(*thread), kThreadRights));
}

SyscallResult sys_process_create(uint64_t name, uint64_t name_length, uint64_t options) {
  if (options != 0) return from_error(Error::kInvalidArgument);
  char buffer[Process::kNameLength];
  usize kept = name_length < sizeof(buffer) - 1 ? name_length : sizeof(buffer) - 1;
  if (!is_user_range(name, name_length)) return from_error(Error::kFault);
  Status copied = copy_in(buffer, name, kept);
  if (!copied.ok()) return from(copied);
  auto process = Process::create(buffer, kept);
  if (!process.ok()) return from_error(process.error());
  return from(Process::current()->add_handle(move(*process), kProcessRights));
}

SyscallResult sys_process_start(uint64_t process, uint64_t entry, uint64_t stack_top,
                                uint64_t argument) {
  auto target = process_argument(process, Rights::kManage);
  if (!target.ok()) return from_error(target.error());
  if (!valid_entry(entry) || !valid_stack_top(stack_top)) return from_error(Error::kAccessDenied);
  return from((*target)->start(entry, stack_top, argument));
}

SyscallResult sys_process_wait(uint64_t process, uint64_t deadline_ns) {
  auto target = process_argument(process, Rights::kWait);
  if (!target.ok()) return from_error(target.error());
  if (target->get() == Process::current()) return from_error(Error::kInvalidArgument);
  Result<int64_t> status = (*target)->wait(deadline_ns);
  if (!status.ok()) return from(status);
  return {EXO_OK, static_cast<uint64_t>(*status), true};
}

SyscallResult sys_handle_transfer(uint64_t process, uint64_t handle) {
  if ((handle >> 32) != 0) return from_error(Error::kInvalidArgument);
  auto target = process_argument(process, Rights::kManage);
  if (!target.ok()) return from_error(target.error());
  return from(Process::current()->transfer_handle(static_cast<object::Handle>(handle), **target));
}

SyscallResult sys_handle_info(uint64_t handle) {
  if ((handle >> 32) != 0) return from_error(Error::kInvalidArgument);
  Process* self = Process::current();
  auto object = self->get_handle(static_cast<object::Handle>(handle), object::ObjectType::kNone, Rights::kNone);
  if (!object.ok()) return from_error(object.error());
  auto rights = self->rights_of(static_cast<object::Handle>(handle));
  if (!rights.ok()) return from_error(rights.error());
  uint64_t type = static_cast<uint64_t>((*object)->type());
  uint64_t info = (type << 32) | object::rights_bits(*rights);
  if (type == static_cast<uint64_t>(object::ObjectType::kEndpoint) &&
      static_cast<const ipc::Endpoint*>(object->get())->is_closed()) {
    info |= EXO_HANDLE_INFO_PEER_CLOSED;
  }
  return {static_cast<ExoStatus>(info)};
}

SyscallResult sys_handle_close(uint64_t handle) {
  if ((handle >> 32) != 0) return from_error(Error::kInvalidArgument);
  return from(Process::current()->close_handle(static_cast<object::Handle>(handle)));
}

}  // namespace exo::syscall
