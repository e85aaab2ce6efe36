// Syscalls on address spaces and memory objects. Checks go in the documented order (unknown
// bits, alignment, emptiness, range, W^X, then state: docs/syscalls.md).
#include "kernel/proc/process.h"
#include "kernel/syscall/syscall.h"
#include "kernel/vm/address_space.h"
#include "kernel/vm/memory_object.h"

namespace exo::syscall {

using object::Rights;
using proc::Process;

namespace {

constexpr uint64_t kPage = EXO_PAGE_SIZE;

bool aligned(uint64_t value) { return value % kPage == 0; }

// [address, address + length) inside the mappable user range.
bool in_user_range(uint64_t address, uint64_t length) {
  return address >= vm::kUserBase && address < vm::kUserEnd && length <= vm::kUserEnd - address;
}

bool is_write_execute(uint64_t prot) {
  return (prot & EXO_PROT_WRITE) != 0 && (prot & EXO_PROT_EXECUTE) != 0;
}

Rights rights_for(uint64_t prot) {
  Rights r = Rights::kNone;
  if (prot & EXO_PROT_READ) r |= Rights::kRead;
  if (prot & EXO_PROT_WRITE) r |= Rights::kWrite;
  if (prot & EXO_PROT_EXECUTE) r |= Rights::kExecute;
  return r;
}

uint32_t prot_allowed_by(Rights r) {
  uint32_t prot = 0;
  if (object::has_rights(r, Rights::kRead)) prot |= EXO_PROT_READ;
  if (object::has_rights(r, Rights::kWrite)) prot |= EXO_PROT_WRITE;
  if (object::has_rights(r, Rights::kExecute)) prot |= EXO_PROT_EXECUTE;
  return prot;
}

bool valid_handle_argument(uint64_t value) { return (value >> 32) == 0; }

}  // namespace

// Process arguments: EXO_PROCESS_SELF or a handle with `required`.
Result<object::RefPtr<Process>> process_argument(uint64_t value, Rights required) {
  if (!valid_handle_argument(value)) return Error::kInvalidArgument;
  if (value == EXO_PROCESS_SELF) return object::retain_ref(Process::current());
  return Process::current()->get_handle<Process>(static_cast<object::Handle>(value), required);
}

SyscallResult sys_vm_map_anonymous(uint64_t address, uint64_t length, uint64_t prot, uint64_t flags) {
  if ((prot & ~uint64_t{EXO_PROT_MASK}) != 0 || (flags & ~uint64_t{EXO_MAP_FLAGS_MASK}) != 0) {
    return from_error(Error::kInvalidArgument);
  }
  bool fixed = (flags & EXO_MAP_FIXED) != 0;
  if (!aligned(length) || (fixed && !aligned(address))) return from_error(Error::kNotAligned);
  if (length == 0) return from_error(Error::kInvalidArgument);
  if (fixed && !in_user_range(address, length)) return from_error(Error::kAccessDenied);
  if (is_write_execute(prot)) return from_error(Error::kAccessDenied);
  auto object = vm::MemoryObject::create(length / kPage);
  if (!object.ok()) return from_error(object.error());
  // Anonymous memory belongs to the process alone: any protection, one at a time (W^X).
  Result<uptr> mapped = Process::current()->address_space().map(
      *object, 0, address, length, static_cast<uint32_t>(prot), EXO_PROT_MASK, fixed);
  return from(mapped);
}

SyscallResult sys_vm_unmap(uint64_t address, uint64_t length) {
  if (!aligned(address) || !aligned(length)) return from_error(Error::kNotAligned);
  if (length == 0) return from_error(Error::kInvalidArgument);
  if (!in_user_range(address, length)) return from_error(Error::kAccessDenied);
  return from(Process::current()->address_space().unmap(address, length));
}

SyscallResult sys_vm_protect(uint64_t address, uint64_t length, uint64_t prot) {
  if ((prot & ~uint64_t{EXO_PROT_MASK}) != 0) return from_error(Error::kInvalidArgument);
  if (!aligned(address) || !aligned(length)) return from_error(Error::kNotAligned);
  if (length == 0) return from_error(Error::kInvalidArgument);
  if (!in_user_range(address, length)) return from_error(Error::kAccessDenied);
  if (is_write_execute(prot)) return from_error(Error::kAccessDenied);
  return from(Process::current()->address_space().protect(address, length, static_cast<uint32_t>(prot)));
}

SyscallResult sys_memory_object_create(uint64_t size, uint64_t options) {
  if (options != 0 || size == 0) return from_error(Error::kInvalidArgument);
  if (size > (uint64_t{1} << 62)) return from_error(Error::kNoMemory);
  auto object = vm::MemoryObject::create((size + kPage - 1) / kPage);
  if (!object.ok()) return from_error(object.error());
  constexpr Rights kRights = Rights::kRead | Rights::kWrite | Rights::kExecute | Rights::kMap |
                             Rights::kTransfer | Rights::kDuplicate | Rights::kGetProperty;
  return from(Process::current()->add_handle(move(*object), kRights));
}

SyscallResult sys_memory_object_map(uint64_t process, uint64_t memory_object, uint64_t offset,
                                    uint64_t address, uint64_t length, uint64_t prot_and_flags) {
  if (!valid_handle_argument(process) || !valid_handle_argument(memory_object) ||
      (prot_and_flags & ~uint64_t{EXO_PROT_MASK | EXO_MAP_FLAGS_MASK}) != 0) {
    return from_error(Error::kInvalidArgument);
  }
  uint64_t prot = prot_and_flags & EXO_PROT_MASK;
  bool fixed = (prot_and_flags & EXO_MAP_FIXED) != 0;
  if (!aligned(offset) || !aligned(length) || (fixed && !aligned(address))) {
    return from_error(Error::kNotAligned);
  }
  if (length == 0) return from_error(Error::kInvalidArgument);
  if (fixed && !in_user_range(address, length)) return from_error(Error::kAccessDenied);
  if (is_write_execute(prot)) return from_error(Error::kAccessDenied);
  auto target = process_argument(process, Rights::kManage);
  if (!target.ok()) return from_error(target.error());
  Process* self = Process::current();
  auto handle = static_cast<object::Handle>(memory_object);
  auto held = self->get_handle<vm::MemoryObject>(handle, Rights::kMap | rights_for(prot));
  if (!held.ok()) return from_error(held.error());
  // Later vm_protect calls on this mapping stay within what the handle allowed now.
  Result<Rights> rights = self->rights_of(handle);
  if (!rights.ok()) return from(rights);
  return from((*target)->address_space().map(*held, offset, address, length,
                                             static_cast<uint32_t>(prot),
                                             prot_allowed_by(*rights), fixed));
}

}  // namespace exo::syscall
