// Protocol messages over kernel IPC (exo/proto/ipc_transport.h).
#include "exo/proto/ipc_transport.h"

#include "exo/string.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"
#include "kernel/abi/status_map.h"

namespace exo::proto {
namespace {

constexpr size_t kWords = EXO_IPC_MAX_WORDS;

size_t head_capacity(size_t handles) { return (kWords - 1 - handles) * 8; }

// What the kernel says a received handle is, in the protocol layer's terms, so the decoder can
// check the type and rights a handle field declares.
HandleSlot describe(uint32_t value) {
  sys::raw::Return info = sys::raw::handle_info(value);
  if (info.status < 0) return HandleSlot{value, ObjectType::kAny, 0};
  auto kernel_type = static_cast<uint32_t>(static_cast<uint64_t>(info.status) >> 32);
  auto kernel_rights = static_cast<uint32_t>(info.status);
  ObjectType type = ObjectType::kAny;
  switch (kernel_type) {
    case EXO_OBJECT_PROCESS: type = ObjectType::kProcess; break;
    case EXO_OBJECT_THREAD: type = ObjectType::kThread; break;
    case EXO_OBJECT_ADDRESS_SPACE: type = ObjectType::kAddressSpace; break;
    case EXO_OBJECT_MEMORY: type = ObjectType::kVmo; break;
    case EXO_OBJECT_ENDPOINT: type = ObjectType::kEndpoint; break;
    case EXO_OBJECT_NOTIFICATION: type = ObjectType::kNotification; break;
    case EXO_OBJECT_INTERRUPT: type = ObjectType::kInterrupt; break;
    case EXO_OBJECT_IO_PORTS: type = ObjectType::kIoPorts; break;
    default: break;
  }
  struct Bit {
    uint32_t kernel, proto;
  };
  // The kernel's wait right on an interrupt line is also what acknowledging it takes.
  constexpr Bit kBits[] = {{EXO_RIGHT_READ, kRightRead},         {EXO_RIGHT_WRITE, kRightWrite},
                           {EXO_RIGHT_MAP, kRightMap},           {EXO_RIGHT_EXECUTE, kRightExecute},
                           {EXO_RIGHT_TRANSFER, kRightTransfer}, {EXO_RIGHT_DUPLICATE, kRightDuplicate},
                           {EXO_RIGHT_SIGNAL, kRightSignal},     {EXO_RIGHT_WAIT, kRightWait | kRightAck}};
  uint32_t rights = 0;
  for (const Bit& b : kBits) {
    if ((kernel_rights & b.kernel) != 0) rights |= b.proto;
  }
  return HandleSlot{value, type, rights};
}

}  // namespace

Status to_ipc(const Message& message, sys::IpcMessage* ipc) {
  if (!label_valid(message.label)) return Error::kInvalidArgument;
  size_t size = message.size();
  size_t handles = message.handle_count();
  size_t head = size < head_capacity(handles) ? size : head_capacity(handles);
  *ipc = sys::IpcMessage{};
  ipc->label = message.ordinal();
  ipc->flags = message.flags();
  ipc->word_count = kWords;
  ipc->handle_count = static_cast<uint8_t>(handles);
  ipc->words[0] = size;
  memcpy(&ipc->words[1], message.bytes, head);
  for (size_t i = 0; i < handles; ++i) ipc->words[kWords - handles + i] = message.handles[i].value;
  ipc->tail_length = static_cast<uint16_t>(size - head);
  ipc->tail = ipc->tail_length != 0 ? const_cast<uint8_t*>(message.bytes + head) : nullptr;
  return ok_status();
}

Status from_ipc(const sys::IpcMessage& ipc, Message* message) {
  size_t handles = ipc.handle_count;
  size_t size = ipc.words[0];
  if (ipc.word_count != kWords || handles > kMaxHandles || size > kMaxBodyBytes) return Error::kMalformed;
  size_t head = size < head_capacity(handles) ? size : head_capacity(handles);
  if (ipc.tail_length != size - head) return Error::kMalformed;
  // The tail arrived at kIpcTailOffset; with handles the head is shorter, so it moves down.
  if (ipc.tail_length != 0 && head != kIpcTailOffset) {
    memmove(message->bytes + head, message->bytes + kIpcTailOffset, ipc.tail_length);
  }
  memcpy(message->bytes, &ipc.words[1], head);
  for (size_t i = 0; i < handles; ++i) {
    message->handles[i] = describe(static_cast<uint32_t>(ipc.words[kWords - handles + i]));
  }
  message->label = make_label(ipc.label, ipc.flags, handles, size);
  return ok_status();
}

Status IpcTransport::call(const Message& request, Message& response) {
  sys::IpcMessage ipc;
  EXO_TRY(to_ipc(request, &ipc));
  // One buffer serves both directions: the request's tail goes out from where the reply's
  // comes back in.
  uint8_t* tail_in = response.bytes + kIpcTailOffset;
  if (ipc.tail_length != 0 && ipc.tail != tail_in) {
    memmove(tail_in, ipc.tail, ipc.tail_length);
  }
  ipc.tail = tail_in;
  int64_t status = sys::ipc_call(endpoint_, ipc);
  if (status < 0) return abi::from_abi_status(status);
  return from_ipc(ipc, &response);
}

Status IpcTransport::send(const Message& message, SendMode mode) {
  sys::IpcMessage ipc;
  EXO_TRY(to_ipc(message, &ipc));
  int64_t status = sys::ipc_send(endpoint_, ipc, mode == SendMode::kFail ? EXO_IPC_NONBLOCK : 0);
  return status < 0 ? Status(abi::from_abi_status(status)) : ok_status();
}

Status IpcServerTransport::receive(Message& message, ReplyToken* token) {
  sys::IpcMessage ipc;
  int64_t status;
  if (pending_reply_ != nullptr) {
    EXO_TRY(to_ipc(*pending_reply_, &ipc));
    uint8_t* tail_in = message.bytes + kIpcTailOffset;
    if (ipc.tail_length != 0 && ipc.tail != tail_in) memmove(tail_in, ipc.tail, ipc.tail_length);
    ipc.tail = tail_in;
    pending_reply_ = nullptr;
    status = sys::ipc_reply_recv(endpoint_, ipc);
  } else {
    ipc.tail = message.bytes + kIpcTailOffset;
    status = sys::ipc_recv(endpoint_, ipc);
  }
  if (status < 0) return abi::from_abi_status(status);
  EXO_TRY(from_ipc(ipc, &message));
  *token = (message.flags() & kFlagOneWay) != 0 ? kNoReply : ReplyToken{1};
  return ok_status();
}

Status IpcServerTransport::reply(ReplyToken token, const Message& message) {
  if (token.value == kNoReply.value) return Error::kInvalidArgument;
  pending_reply_ = &message;
  return ok_status();
}

void IpcServerTransport::discard_handles(const Message& message) {
  for (size_t i = 0; i < message.handle_count(); ++i) (void)sys::handle_close(message.handles[i].value);
}

}  // namespace exo::proto
