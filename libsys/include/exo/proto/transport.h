// The transport interface generated clients and servers run over: the kernel IPC transport
// (ring 3) and the host transport (tests) both implement it.
#pragma once

#include <stdint.h>

#include "kernel/lib/result.h"
#include "message.h"

namespace exo::proto {

// What a one-way send does when the channel's queue is full.
enum class SendMode : uint8_t {
  kWait,  // block until the server has drained a slot
  kFail,  // return Error::kWouldBlock at once
};

// The client end of a channel. One channel has one server and any number of clients; a
// Transport object may be shared by threads, but each thread calls with its own Message.
class Transport {
 public:
  // Sends `request` and blocks for the reply, which lands in `response`. `request` and
  // `response` may be the same object (the kernel overwrites the caller's IPC buffer in
  // place). Errors are the transport's (kPeerClosed, ...); a protocol-level rejection arrives
  // as a reply with kFlagProtocolError.
  virtual Status call(const Message& request, Message& response) = 0;
  // Queues a one-way message. It may carry no handles (the queue is shared memory).
  virtual Status send(const Message& message, SendMode mode) = 0;

 protected:
  ~Transport() = default;
};

// Identifies the caller a reply goes to; kNoReply for one-way messages.
struct ReplyToken {
  uint64_t value = 0;
};
inline constexpr ReplyToken kNoReply{};

// The server end of a channel; used by one serving thread.
class ServerTransport {
 public:
  // Blocks until a call or a one-way message arrives and copies it into `message`. `token` is
  // kNoReply for one-way messages. Error::kPeerClosed once the channel is closed.
  virtual Status receive(Message& message, ReplyToken* token) = 0;
  // Answers the call `token` names. Every token receive() hands out must be replied to once.
  virtual Status reply(ReplyToken token, const Message& message) = 0;
  // Closes the handles a rejected message carried, so a bad client cannot leak them into us.
  virtual void discard_handles(const Message& message) = 0;

 protected:
  ~ServerTransport() = default;
};

}  // namespace exo::proto
