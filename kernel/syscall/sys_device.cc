// Syscalls on hardware resources for user-space drivers: I/O ports and interrupt lines.
#include "kernel/device/device.h"
#include "kernel/ipc/notification.h"
#include "kernel/proc/process.h"
#include "kernel/syscall/syscall.h"

namespace exo::syscall {

using object::Handle;
using object::Rights;
using proc::Process;

namespace {
bool valid_handle_argument(uint64_t value) { return (value >> 32) == 0; }
}  // namespace

SyscallResult sys_ioport_enable(uint64_t io_ports) {
  if (!valid_handle_argument(io_ports)) return from_error(Error::kInvalidArgument);
  Process* self = Process::current();
  auto range = self->get_handle<device::IoPortRange>(static_cast<Handle>(io_ports),
                                                     Rights::kRead | Rights::kWrite);
  if (!range.ok()) return from_error(range.error());
  return from(self->allow_io_ports((*range)->base(), (*range)->count()));
}

SyscallResult sys_ioport_create(uint64_t io_ports, uint64_t base, uint64_t count) {
  if (!valid_handle_argument(io_ports)) return from_error(Error::kInvalidArgument);
  Process* self = Process::current();
  auto parent = self->get_handle<device::IoPortRange>(static_cast<Handle>(io_ports), Rights::kManage);
  if (!parent.ok()) return from_error(parent.error());
  if (count == 0) return from_error(Error::kInvalidArgument);
  if (base > 65536 || count > 65536 || !(*parent)->contains(static_cast<uint32_t>(base),
                                                             static_cast<uint32_t>(count))) {
    return from_error(Error::kOutOfRange);
  }
  auto range = device::IoPortRange::create(static_cast<uint32_t>(base), static_cast<uint32_t>(count));
  if (!range.ok()) return from_error(range.error());
  constexpr Rights kRights = Rights::kRead | Rights::kWrite | Rights::kTransfer | Rights::kDuplicate;
  return from(self->add_handle(move(*range), kRights));
}

SyscallResult sys_irq_bind(uint64_t interrupt, uint64_t notification, uint64_t bits) {
  if (!valid_handle_argument(interrupt) || !valid_handle_argument(notification)) {
    return from_error(Error::kInvalidArgument);
  }
  if (bits == 0) return from_error(Error::kInvalidArgument);
  Process* self = Process::current();
  auto line = self->get_handle<device::InterruptLine>(static_cast<Handle>(interrupt), Rights::kWait);
  if (!line.ok()) return from_error(line.error());
  auto n = self->get_handle<ipc::Notification>(static_cast<Handle>(notification), Rights::kSignal);
  if (!n.ok()) return from_error(n.error());
  return from((*line)->bind(move(*n), bits));
}

SyscallResult sys_irq_ack(uint64_t interrupt) {
  if (!valid_handle_argument(interrupt)) return from_error(Error::kInvalidArgument);
  auto line = Process::current()->get_handle<device::InterruptLine>(static_cast<Handle>(interrupt),
                                                                    Rights::kWait);
  if (!line.ok()) return from_error(line.error());
  (*line)->ack();
  return {EXO_OK};
}

}  // namespace exo::syscall
