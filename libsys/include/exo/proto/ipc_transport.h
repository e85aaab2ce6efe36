// The kernel IPC transport for generated clients and servers (docs/protocols.md, "Over kernel
// IPC"): a protocol message becomes one IPC message.
//   IPC label   = the method ordinal        IPC flags = the protocol flags
//   word 0      = the body size in bytes    handles   = the last words, as the kernel moves them
//   words 1..   = the first bytes of the body, (5 - handles) * 8 of them
//   tail        = the rest of the body (up to 4 KiB), copied by the kernel buffer to buffer
// A call is one ipc_call; a server answers with its next receive (one ipc_reply_recv), so
// serve it from a loop (exo::proto::serve does).
#pragma once

#include "exo/ipc.h"
#include "exo/proto/transport.h"

namespace exo::proto {

// Packs `message` into `ipc`, the tail pointing into `message` itself. kInvalidArgument for a
// label the protocol layer would not produce.
Status to_ipc(const Message& message, sys::IpcMessage* ipc);
// Unpacks a received `ipc` into `message`. The tail was received at `tail_at`, which must be
// message.bytes + kIpcTailOffset (where receivers put it); it is moved to its place here.
// kMalformed when the sizes disagree (a sender that is not a protocol client).
Status from_ipc(const sys::IpcMessage& ipc, Message* message);

// Where a receiver lets the kernel write a tail: the body offset of the tail when the message
// has no handles (the common case needs no move).
inline constexpr size_t kIpcTailOffset = 40;

class IpcTransport final : public Transport {
 public:
  explicit IpcTransport(uint32_t endpoint) : endpoint_(endpoint) {}
  Status call(const Message& request, Message& response) override;
  // One-way over IPC send (a rendezvous; the shared-memory ring is not wired to the kernel
  // yet). kWouldBlock with SendMode::kFail when no server thread is waiting.
  Status send(const Message& message, SendMode mode) override;

 private:
  uint32_t endpoint_;
};

class IpcServerTransport final : public ServerTransport {
 public:
  // `endpoint` needs the read right.
  explicit IpcServerTransport(uint32_t endpoint) : endpoint_(endpoint) {}
  Status receive(Message& message, ReplyToken* token) override;
  // Keeps the reply for the next receive(), which sends it with ipc_reply_recv. `message`
  // must stay untouched until then (exo::proto::serve's reply buffer does).
  Status reply(ReplyToken token, const Message& message) override;
  void discard_handles(const Message& message) override;

 private:
  uint32_t endpoint_;
  const Message* pending_reply_ = nullptr;
};

}  // namespace exo::proto
