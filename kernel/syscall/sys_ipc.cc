// IPC syscalls (kernel/abi/ipc.h, docs/ipc.md): endpoints, handle duplication, and the four
// message operations, which syscall_entry.S sends here with the whole register file.
#include "kernel/abi/ipc.h"
#include "kernel/ipc/ipc.h"
#include "kernel/ipc/notification.h"
#include "kernel/proc/process.h"
#include "kernel/syscall/syscall.h"
#include "kernel/syscall/user_memory.h"

namespace exo::syscall {

using object::Handle;
using object::Rights;
using proc::Process;

namespace {

constexpr Rights kEndpointRights = Rights::kRead | Rights::kWrite | Rights::kTransfer |
                                   Rights::kDuplicate;

// The message in the registers (and the tail from the buffer r15 names), with its handles
// reserved in the caller's table.
Status read_message(IpcRegisters& f, Process& self, ipc::Message& m, Handle* handles) {
  uint64_t tag = f.tag;
  if ((tag & EXO_IPC_TAG_RESERVED_MASK) != 0) return Error::kInvalidArgument;
  m.label = EXO_IPC_TAG_LABEL(tag);
  m.word_count = static_cast<uint8_t>(EXO_IPC_TAG_WORDS(tag));
  m.handle_count = static_cast<uint8_t>(EXO_IPC_TAG_HANDLES(tag));
  m.tail_length = static_cast<uint16_t>(EXO_IPC_TAG_TAIL(tag));
  m.flags = static_cast<uint8_t>(EXO_IPC_TAG_FLAGS(tag));
  if (m.word_count > ipc::kMaxWords || m.handle_count > ipc::kMaxHandles ||
      m.handle_count > m.word_count || m.tail_length > ipc::kMaxTail) {
    return Error::kInvalidArgument;
  }
  for (usize i = 0; i < ipc::kMaxWords; ++i) m.words[i] = f.words[i];  // unused ones never read
  if (m.tail_length != 0) EXO_TRY(copy_in(m.tail, f.tail, m.tail_length));
  usize first_handle = m.word_count - m.handle_count;
  for (usize i = 0; i < m.handle_count; ++i) {
    uint64_t value = m.words[first_handle + i];
    if ((value >> 32) != 0) return Error::kBadHandle;
    handles[i] = static_cast<Handle>(value);
  }
  if (m.handle_count == 0) return ok_status();
  return self.reserve_for_transfer(handles, m.handle_count, m.handles);
}

// A received message into the registers and its tail into the buffer r15 names; its handles
// become the receiver's. kFault when the tail cannot be written (the message is consumed:
// a receiver that accepts tails passes a buffer).
Status write_message(IpcRegisters& f, Process& self, ipc::Message& m) {
  if (m.handle_count != 0) {
    Handle installed[ipc::kMaxHandles];
    self.install(m.handles, m.handle_count, installed);
    usize first_handle = m.word_count - m.handle_count;
    for (usize i = 0; i < m.handle_count; ++i) m.words[first_handle + i] = installed[i];
  }
  for (usize i = m.word_count; i < ipc::kMaxWords; ++i) m.words[i] = 0;
  for (usize i = 0; i < ipc::kMaxWords; ++i) f.words[i] = m.words[i];
  f.tag = EXO_IPC_TAG_FULL(m.label, m.word_count, m.handle_count, m.tail_length, m.flags);
  if (m.tail_length != 0) EXO_TRY(copy_out(f.tail, m.tail, m.tail_length));
  return ok_status();
}

Result<object::RefPtr<ipc::Endpoint>> endpoint_argument(Process& self, uint64_t value, Rights rights) {
  if ((value >> 32) != 0) return Error::kInvalidArgument;
  return self.get_handle<ipc::Endpoint>(static_cast<Handle>(value), rights);
}

// Sends the registers' message; commits or restores the transferred handles.
Status send_from(IpcRegisters& f, Process& self, Thread& thread, ipc::Endpoint& endpoint, bool call,
                 uint64_t deadline) {
  // Built in the thread's own IPC state: a message with its tail is too big for the stack.
  ipc::Message& m = static_cast<ipc::ThreadIpc*>(thread.ipc)->message;
  Handle handles[ipc::kMaxHandles];
  EXO_TRY(read_message(f, self, m, handles));
  usize count = m.handle_count;
  Status sent = ipc::send(endpoint, thread, m, call, deadline);
  auto& state = *static_cast<ipc::ThreadIpc*>(thread.ipc);
  if (count != 0) {
    if (sent.ok() || state.delivered) {
      self.commit_transfer(handles, count);
    } else {
      self.restore_transfer(handles, count, m.handles);
    }
  }
  return sent;
}

Status receive_into(IpcRegisters& f, Process& self, Thread& thread, ipc::Endpoint& endpoint,
                    uint64_t deadline) {
  EXO_TRY(ipc::receive(endpoint, thread, deadline));
  return write_message(f, self, static_cast<ipc::ThreadIpc*>(thread.ipc)->message);
}

}  // namespace

Result<uint64_t> wait_deadline(uint64_t options, uint64_t deadline_ns) {
  switch (options) {
    case 0: return ipc::kForever;
    case EXO_IPC_NONBLOCK: return ipc::kNoWait;
    // 0 would read as kNoWait and ~0 as kForever: a time that long past or ahead is the same
    // for the caller.
    case EXO_IPC_DEADLINE: return deadline_ns == ipc::kNoWait ? 1 : deadline_ns;
    default: return Error::kInvalidArgument;  // unknown bits, or both kinds at once
  }
}

Status ipc_syscall(uint64_t number, IpcRegisters& f) {
  Process& self = *Process::current();
  Thread& thread = *Thread::current();
  uint64_t deadline = EXO_TRY(wait_deadline(f.options, f.deadline));
  switch (number) {
    case 64: {  // ipc_call
      auto endpoint = EXO_TRY(endpoint_argument(self, f.endpoint, Rights::kWrite));
      EXO_TRY(send_from(f, self, thread, *endpoint, true, deadline));
      return write_message(f, self, static_cast<ipc::ThreadIpc*>(thread.ipc)->message);
    }
    case 65: {  // ipc_send
      auto endpoint = EXO_TRY(endpoint_argument(self, f.endpoint, Rights::kWrite));
      return send_from(f, self, thread, *endpoint, false, deadline);
    }
    case 66: {  // ipc_recv
      auto endpoint = EXO_TRY(endpoint_argument(self, f.endpoint, Rights::kRead));
      return receive_into(f, self, thread, *endpoint, deadline);
    }
    case 67: {  // ipc_reply_recv
      auto endpoint = EXO_TRY(endpoint_argument(self, f.endpoint, Rights::kRead));
      ipc::Message& m = static_cast<ipc::ThreadIpc*>(thread.ipc)->message;
      Handle handles[ipc::kMaxHandles];
      EXO_TRY(read_message(f, self, m, handles));
      usize count = m.handle_count;
      bool replied = false;
      Status received = ipc::reply_and_receive(*endpoint, thread, m, &replied, deadline);
      if (replied) {
        if (count != 0) self.commit_transfer(handles, count);
      } else {
        // Nobody to reply to: the handles come back, then this is a plain receive.
        self.restore_transfer(handles, count, m.handles);
        return receive_into(f, self, thread, *endpoint, deadline);
      }
      EXO_TRY(received);
      return write_message(f, self, static_cast<ipc::ThreadIpc*>(thread.ipc)->message);
    }
    default:
      return Error::kUnsupported;
  }
}

Status ipc_finish_receive(IpcRegisters& f) {
  Thread& thread = *Thread::current();
  return write_message(f, *Process::current(), static_cast<ipc::ThreadIpc*>(thread.ipc)->message);
}

SyscallResult sys_endpoint_create(uint64_t options) {
  if (options != 0) return from_error(Error::kInvalidArgument);
  Process* self = Process::current();
  auto endpoint = ipc::Endpoint::create(self);
  if (!endpoint.ok()) return from_error(endpoint.error());
  return from(self->add_handle(move(*endpoint), kEndpointRights));
}

SyscallResult sys_handle_duplicate(uint64_t handle, uint64_t rights) {
  if ((handle >> 32) != 0 || (rights >> 32) != 0) return from_error(Error::kInvalidArgument);
  auto wanted = object::rights_from_user(static_cast<uint32_t>(rights));
  if (!wanted.ok()) return from_error(wanted.error());
  return from(Process::current()->duplicate_handle(static_cast<Handle>(handle), *wanted));
}

SyscallResult sys_notification_create(uint64_t options) {
  if (options != 0) return from_error(Error::kInvalidArgument);
  auto notification = ipc::Notification::create();
  if (!notification.ok()) return from_error(notification.error());
  constexpr Rights kRights = Rights::kSignal | Rights::kWait | Rights::kTransfer | Rights::kDuplicate;
  return from(Process::current()->add_handle(move(*notification), kRights));
}

SyscallResult sys_notification_signal(uint64_t handle, uint64_t bits) {
  if ((handle >> 32) != 0) return from_error(Error::kInvalidArgument);
  auto n = Process::current()->get_handle<ipc::Notification>(static_cast<Handle>(handle), Rights::kSignal);
  if (!n.ok()) return from_error(n.error());
  (*n)->signal(bits);
  return {EXO_OK};
}

SyscallResult sys_notification_wait(uint64_t handle, uint64_t options, uint64_t deadline_ns) {
  Result<uint64_t> deadline = wait_deadline(options, deadline_ns);
  if ((handle >> 32) != 0 || !deadline.ok()) return from_error(Error::kInvalidArgument);
  auto n = Process::current()->get_handle<ipc::Notification>(static_cast<Handle>(handle), Rights::kWait);
  if (!n.ok()) return from_error(n.error());
  Result<uint64_t> bits = (*n)->wait(*Thread::current(), *deadline);
  if (!bits.ok()) return from_error(bits.error());
  return {EXO_OK, *bits, true};
}

}  // namespace exo::syscall
