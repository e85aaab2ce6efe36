// The transport interface generated clients and servers run over: the kernel IPC transport
// (ring 3) and the host transport (tests) both implement it.
#pragma once

#include <stdint.h>

#include "exo/ipc.h"
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

  // The endpoint a register stub calls with the raw syscall, or kNoRegisterEndpoint when the
  // transport is not kernel IPC (generated clients then use call_registers()). Read without a
  // virtual call so that the stub's hot path inlines to the syscall (docs/protocols.md,
  // "Register stubs").
  static constexpr uint32_t kNoRegisterEndpoint = ~uint32_t{0};
  uint32_t register_endpoint() const { return register_endpoint_; }

  // A call whose request is `r` (tag and words as kernel IPC carries them, no handles, no
  // tail) whose reply replaces it, on a transport that is not kernel IPC: the request goes
  // through call() as a Message (a 4.2 KiB buffer on the stack) and a reply that does not fit
  // the registers is kMalformed. Only malformed-free register messages are accepted: a tag
  // with handles, a tail or reserved bits, or a size the words cannot hold, is
  // kInvalidArgument.
  virtual Status call_registers(sys::IpcRegisters& r) {
    uint64_t tag = r.tag;
    size_t size = r.words[0];
    if ((tag & EXO_IPC_TAG_RESERVED_MASK) != 0 || EXO_IPC_TAG_HANDLES(tag) != 0 ||
        EXO_IPC_TAG_TAIL(tag) != 0 || EXO_IPC_TAG_WORDS(tag) == 0 ||
        EXO_IPC_TAG_WORDS(tag) > EXO_IPC_MAX_WORDS || (EXO_IPC_TAG_WORDS(tag) - 1u) * 8 < size) {
      return Error::kInvalidArgument;
    }
    Message m;
    m.label = make_label(EXO_IPC_TAG_LABEL(tag), uint8_t(EXO_IPC_TAG_FLAGS(tag)), 0, size);
    for (size_t i = 0; i * 8 < size; ++i) __builtin_memcpy(m.bytes + 8 * i, &r.words[1 + i], 8);
    Status called = call(m, m);
    if (!called.ok()) return called;
    size_t reply_size = m.size();
    if (!label_valid(m.label) || m.handle_count() != 0 || reply_size > 8 * (EXO_IPC_MAX_WORDS - 1)) {
      return Error::kMalformed;
    }
    size_t words = (reply_size + 7) / 8;
    r.tag = EXO_IPC_TAG_FULL(m.ordinal(), 1 + words, 0, 0, m.flags());
    r.words[0] = reply_size;
    for (size_t i = 0; i < EXO_IPC_MAX_WORDS - 1; ++i) {
      uint64_t word = 0;
      if (i < words) {
        size_t valid = reply_size - 8 * i;
        __builtin_memcpy(&word, m.bytes + 8 * i, valid < 8 ? valid : 8);
      }
      r.words[1 + i] = word;
    }
    return ok_status();
  }

 protected:
  Transport() = default;
  explicit Transport(uint32_t register_endpoint) : register_endpoint_(register_endpoint) {}
  ~Transport() = default;

 private:
  uint32_t register_endpoint_ = kNoRegisterEndpoint;
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
