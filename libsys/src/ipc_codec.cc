// The halves of the IPC packing that handle handles (exo/proto/ipc_transport.h): apart from
// the transport so that host tests can build them (handle_info is a raw syscall stub that the
// tests never reach).
#include "exo/proto/ipc_transport.h"
#include "exo/string.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace exo::proto {
namespace {

constexpr size_t kWords = EXO_IPC_MAX_WORDS;

// What the kernel says a received handle is, in the protocol layer's terms, so the decoder can
// check the type and rights a handle field declares.
HandleSlot describe(uint32_t value) {
  sys::raw::Return info = sys::raw::handle_info(value);
  if (info.status < 0) return HandleSlot{value, ObjectType::kAny, 0};
  auto kernel_type = static_cast<uint32_t>((static_cast<uint64_t>(info.status) >> 32) & 0xffff);
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

// The slow halves of to_ipc/from_ipc (exo/proto/ipc_transport.h): messages with handles.
Status to_ipc_with_handles(const Message& message, sys::IpcMessage* ipc) {
  size_t handles = message.handle_count();
  size_t head = ipc_head_bytes(message.size(), handles);
  ipc->word_count = kWords;
  for (size_t i = 1; i < kWords - handles; ++i) {
    size_t at = 8 * (i - 1);
    ipc->words[i] = at < head ? ipc_body_word(message.bytes + at, head - at) : 0;
  }
  for (size_t i = 0; i < handles; ++i) ipc->words[kWords - handles + i] = message.handles[i].value;
  return ok_status();
}

Status from_ipc_with_handles(const sys::IpcMessage& ipc, Message* message) {
  size_t handles = ipc.handle_count;
  size_t size = ipc.words[0];
  size_t head = ipc_head_bytes(size, handles);
  if (ipc.word_count != kWords) return Error::kMalformed;
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

}  // namespace exo::proto
