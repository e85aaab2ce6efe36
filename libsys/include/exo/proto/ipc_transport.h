// The kernel IPC transport for generated clients and servers (docs/protocols.md, "Over kernel
// IPC"): a protocol message becomes one IPC message.
//   IPC label   = the method ordinal        IPC flags = the protocol flags
//   word 0      = the body size in bytes    handles   = the last words, as the kernel moves them
//   words 1..   = the first bytes of the body, (5 - handles) * 8 of them
//   tail        = the rest of the body (up to 4 KiB), copied by the kernel buffer to buffer
// A call is one ipc_call; a server answers with its next receive (one ipc_reply_recv), so
// serve it from a loop (exo::proto::serve does). Calls whose messages fit the registers skip
// the Message buffers on both sides: the generated register stubs (docs/protocols.md,
// "Register stubs").
// One-way sends travel over the channel's MPSC ring in shared memory when the server opened one
// (IpcServerTransport::open_ring); the client fetches the ring's handles with one transport-level
// call (ordinal 0) at its first send. docs/channels.md, "Channels over the kernel".
#pragma once

#include "exo/channel/kernel_notification.h"
#include "exo/channel/mpsc_ring.h"
#include "exo/channel/ring_wait.h"
#include "exo/ipc.h"
#include "exo/proto/runtime.h"
#include "exo/proto/transport.h"
#include "kernel/abi/status_map.h"

namespace exo::proto {

// Bytes of a body of `size` that travel in words 1..5 with `handles` handles (the rest is tail).
constexpr size_t ipc_head_bytes(size_t size, size_t handles) {
  size_t capacity = (EXO_IPC_MAX_WORDS - 1 - handles) * 8;
  return size < capacity ? size : capacity;
}

// Body bytes [p, p + 8) as a little-endian word with only the first `valid` bytes kept, so that
// stale bytes of a reused buffer (another client's earlier reply, on a server) never travel.
inline uint64_t ipc_body_word(const uint8_t* p, size_t valid) {
  uint64_t word;
  __builtin_memcpy(&word, p, sizeof(word));
  return valid >= 8 ? word : word & ((uint64_t{1} << (8 * valid)) - 1);
}

Status to_ipc_with_handles(const Message& message, sys::IpcMessage* ipc);
Status from_ipc_with_handles(const sys::IpcMessage& ipc, Message* message);

// Packs `message` into `ipc`, the tail pointing into `message` itself. kInvalidArgument for a
// label the protocol layer would not produce. Inline, with the IPC stub, so that a message
// without handles goes from its buffer to the registers with no intermediate copy.
[[gnu::always_inline]] inline Status to_ipc(const Message& message, sys::IpcMessage* ipc) {
  uint64_t label = message.label;
  if (!label_valid(label)) return Error::kInvalidArgument;
  size_t size = label_size(label);
  size_t handles = label_handles(label);
  ipc->label = label_ordinal(label);
  ipc->flags = label_flags(label);
  ipc->handle_count = static_cast<uint8_t>(handles);
  ipc->words[0] = size;
  size_t head = ipc_head_bytes(size, handles);
  ipc->tail_length = static_cast<uint16_t>(size - head);
  ipc->tail = ipc->tail_length != 0 ? const_cast<uint8_t*>(message.bytes + head) : nullptr;
  if (handles != 0) return to_ipc_with_handles(message, ipc);
  // Only the words the body needs (the kernel zeroes the rest for the receiver).
  size_t words = (head + 7) / 8;
  ipc->word_count = static_cast<uint8_t>(1 + words);
  for (size_t i = 0; i < EXO_IPC_MAX_WORDS - 1; ++i) {
    ipc->words[1 + i] = i < words ? ipc_body_word(message.bytes + 8 * i, head - 8 * i) : 0;
  }
  return ok_status();
}

// Unpacks a received `ipc` into `message`. The tail was received at `tail_at`, which must be
// message.bytes + kIpcTailOffset (where receivers put it); it is moved to its place here.
// kMalformed when the sizes disagree (a sender that is not a protocol client).
[[gnu::always_inline]] inline Status from_ipc(const sys::IpcMessage& ipc, Message* message) {
  size_t handles = ipc.handle_count;
  size_t size = ipc.words[0];
  if (ipc.word_count == 0 || handles > kMaxHandles || size > kMaxBodyBytes) return Error::kMalformed;
  size_t head = ipc_head_bytes(size, handles);
  if (ipc.tail_length != size - head) return Error::kMalformed;
  if (handles != 0) return from_ipc_with_handles(ipc, message);
  // The kernel zeroes words past the count, so all five go to the buffer as they are (the tail
  // lands after them); the count must still cover the head.
  if ((ipc.word_count - 1u) * 8 < head) return Error::kMalformed;
  for (size_t i = 0; i < EXO_IPC_MAX_WORDS - 1; ++i) {
    __builtin_memcpy(message->bytes + 8 * i, &ipc.words[1 + i], sizeof(uint64_t));
  }
  message->label = make_label(ipc.label, ipc.flags, 0, size);
  return ok_status();
}

// The fast path's halves: a message without handles whose body fits the five words (the common
// case) goes between its buffer and IpcRegisters with the tag kept packed.
// True (and `r` filled) when `message` qualifies; its label must be valid.
[[gnu::always_inline]] inline bool to_registers(const Message& message, sys::IpcRegisters* r) {
  uint64_t label = message.label;
  size_t size = label_size(label);
  if (label_handles(label) != 0 || size > (EXO_IPC_MAX_WORDS - 1) * 8 || !label_valid(label)) {
    return false;
  }
  size_t words = (size + 7) / 8;
  r->tag = EXO_IPC_TAG_FULL(label_ordinal(label), 1 + words, 0, 0, label_flags(label));
  r->words[0] = size;
  for (size_t i = 0; i < EXO_IPC_MAX_WORDS - 1; ++i) {
    r->words[1 + i] = i < words ? ipc_body_word(message.bytes + 8 * i, size - 8 * i) : 0;
  }
  return true;
}

// Unpacks received registers (a tail, if any, already at message.bytes + kIpcTailOffset).
[[gnu::always_inline]] inline Status from_registers(const sys::IpcRegisters& r, Message* message) {
  uint64_t tag = r.tag;
  if (EXO_IPC_TAG_HANDLES(tag) == 0 && EXO_IPC_TAG_TAIL(tag) == 0) {
    size_t size = r.words[0];
    // Without handles or tail the body is the words alone, and the count must cover it.
    if (size > (EXO_IPC_MAX_WORDS - 1) * 8 || EXO_IPC_TAG_WORDS(tag) == 0 ||
        (EXO_IPC_TAG_WORDS(tag) - 1u) * 8 < size) {
      return Error::kMalformed;
    }
    for (size_t i = 0; i < EXO_IPC_MAX_WORDS - 1; ++i) {
      __builtin_memcpy(message->bytes + 8 * i, &r.words[1 + i], sizeof(uint64_t));
    }
    message->label = make_label(EXO_IPC_TAG_LABEL(tag), uint8_t(EXO_IPC_TAG_FLAGS(tag)), 0, size);
    return ok_status();
  }
  sys::IpcMessage ipc;
  ipc.label = EXO_IPC_TAG_LABEL(tag);
  ipc.word_count = static_cast<uint8_t>(EXO_IPC_TAG_WORDS(tag));
  ipc.handle_count = static_cast<uint8_t>(EXO_IPC_TAG_HANDLES(tag));
  ipc.tail_length = static_cast<uint16_t>(EXO_IPC_TAG_TAIL(tag));
  ipc.flags = static_cast<uint8_t>(EXO_IPC_TAG_FLAGS(tag));
  for (size_t i = 0; i < EXO_IPC_MAX_WORDS; ++i) ipc.words[i] = r.words[i];
  return from_ipc(ipc, message);
}

// Where a receiver lets the kernel write a tail: the body offset of the tail when the message
// has no handles (the common case needs no move).
inline constexpr size_t kIpcTailOffset = 40;

// Ordinal 0 belongs to the transport (protocol ordinals start at 1). Label 0 with no flags is a
// call asking for the channel's ring ("connect"); label 0 with kFlagOneWay is the server's own
// doorbell. Neither reaches a dispatcher.
inline constexpr uint32_t kTransportOrdinal = 0;
// words[0] of a connect request, so that a stray ordinal-0 call is not taken for one.
inline constexpr uint64_t kConnectRing = 0x676e6952'74636e43;  // "CnctRing"

class IpcTransport final : public Transport {
 public:
  explicit IpcTransport(uint32_t endpoint) : Transport(endpoint), endpoint_(endpoint) {}
  Status call(const Message& request, Message& response) override;
  // Generated register stubs make this syscall themselves (register_endpoint()); this is the
  // same for callers that hold only a Transport&.
  Status call_registers(sys::IpcRegisters& r) override {
    int64_t status = sys::ipc_raw_registers(64, endpoint_, 0, nullptr, r);
    return status < 0 ? Status(abi::from_abi_status(status)) : ok_status();
  }
  // One-way. Over the channel's ring when the server has one: SendMode::kFail returns
  // kWouldBlock on a full ring, kWait sleeps on the ring's space notification. A server that
  // is gone is seen when a send rings its doorbell (it died asleep) or finds the ring full
  // (kWait notices within kPeerCheckNs): that send and every later one get kPeerClosed. A
  // send into a ring with room to a server that died busy succeeds, and is lost.
  // The first send connects (one call, then a map); a server without a ring gets an IPC send
  // instead (a rendezvous; kFail maps to EXO_IPC_NONBLOCK). Thread-safe.
  Status send(const Message& message, SendMode mode) override;

  // Fetches and maps the ring now rather than at the first send. kUnsupported when the server
  // has no ring; the transport's errors otherwise. Idempotent and thread-safe.
  Status connect_ring();
  // The producer's view of the ring, for tests that play a hostile client; null before a
  // successful connect_ring(). The mapping stays for the transport's lifetime.
  channel::MpscRing* ring() { return ring_state() == kReady ? &ring_ : nullptr; }
  void* ring_memory() const { return ring_memory_; }
  usize ring_bytes() const { return ring_bytes_; }
  sys::Handle consumer_notification() const { return consumer_note_.handle(); }

 private:
  enum : uint32_t { kUnknown, kConnecting, kReady, kNoRing };
  // The longest a kWait send sleeps on a full ring before it asks whether the server lives.
  static constexpr uint64_t kPeerCheckNs = 50'000'000;
  uint32_t ring_state() const { return __atomic_load_n(&ring_state_, __ATOMIC_ACQUIRE); }
  // The endpoint is closed (its server process is gone) or no longer a handle here; a true
  // answer is remembered in server_closed_.
  bool server_gone();
  [[gnu::noinline]] Status after_doorbell(Status sent);
  [[gnu::noinline]] Status send_to_full_ring(const Message& message, SendMode mode);
  Status attach_ring(const sys::IpcMessage& reply);

  uint32_t endpoint_;
  uint32_t ring_state_ = kUnknown;
  bool server_closed_ = false;  // every ring send fails with kPeerClosed once set
  channel::MpscRing ring_ = channel::MpscRing::unattached();
  channel::KernelNotification consumer_note_;
  channel::KernelNotification space_note_;
  void* ring_memory_ = nullptr;
  usize ring_bytes_ = 0;
};

// What the server transport saw on its ring, for tests and diagnostics.
struct RingStats {
  uint64_t received = 0;   // messages handed to the dispatcher
  uint64_t malformed = 0;  // corrupt slots and messages that were not one-way protocol messages
  uint64_t doorbells = 0;  // wake-ups that reached the serving thread
  uint64_t connects = 0;   // clients given the ring
};

class IpcServerTransport final : public ServerTransport {
 public:
  // `endpoint` needs the read right (and the write right once a ring is open: the doorbell
  // thread sends on it).
  explicit IpcServerTransport(uint32_t endpoint) : endpoint_(endpoint) {}
  // Gives the channel a one-way ring of `capacity` slots of `slot_bytes` (label + body) in a new
  // memory object, its two notifications and the doorbell thread that turns the consumer
  // notification into a wake-up of the serving thread. Call once, before serving. Usually
  // open_ring<Protocol>(), which sizes it from the protocol's `queue` declaration.
  Status open_ring(uint32_t capacity, uint32_t slot_bytes);
  template <typename Protocol>
  Status open_ring() {
    return open_ring(Protocol::kQueueCapacity, Protocol::kSendSlotBytes);
  }

  // The next call or one-way message: the ring's messages first, then the endpoint (which it
  // sleeps on, announced to the ring's producers, when the ring is empty). Corrupt ring contents
  // are dropped and counted (ring_stats()), never returned. After kRingBurst ring messages in a
  // row it looks at the endpoint once, so a flood of sends cannot starve calls. A call that
  // finds messages in the ring waits (copied aside) until up to one ring's worth of them has
  // been returned, so a client's sends are handled before its later calls (unless another
  // producer's unfinished slot sits ahead of them).
  Status receive(Message& message, ReplyToken* token) override;
  // Keeps the reply for the next receive(), which sends it with ipc_reply_recv. `message`
  // must stay untouched until then (exo::proto::serve's reply buffer does).
  Status reply(ReplyToken token, const Message& message) override;
  void discard_handles(const Message& message) override;

  // exo::proto::serve() over this transport (the overload below picks it): the same loop,
  // with calls that arrive in registers offered to the server's register stubs first and
  // their replies sent from registers, so a small call never touches `request` or `reply`.
  // `Server` is a Dispatcher; a generated server's stubs are inlined here
  // (dispatch_registers_inline), so a call's words go from the receive to the handler and back
  // to the reply without being stored. The ring's messages, connects, held-back calls, tails
  // and handles take the generic path (receive(), dispatch(), reply()), with the same ordering
  // guarantees. Returns only on a transport error, like exo::proto::serve().
  template <typename Server>
  Status serve(Server& server, Message& request, Message& reply, ServeStats* stats);

  const RingStats& ring_stats() const { return ring_stats_; }
  static constexpr uint32_t kRingBurst = 64;

 private:
  // serve()'s steps off the register path, out of line. Each takes the registers by value or
  // fills another object, so serve()'s own words never have their address taken.
  enum class Step : uint8_t { kReceive, kReply, kAgain };
  // Before a receive without a reply in registers: a pending generic reply that fits becomes
  // `out` (kReply); anything receive() must do (ring, held-back call, connect answer, a reply
  // with handles or a tail) is done as one serve_one() (kAgain); otherwise kReceive.
  Status before_receive(Dispatcher& dispatcher, Message& request, Message& reply,
                        ServeStats* stats, sys::IpcRegisters* out, Step* step);
  // A received message the register stubs did not take: transport messages, one-way messages,
  // calls held behind the ring, tails, handles and malformed registers. kReply when `out`
  // holds a reply to send (a protocol error for registers that are no message).
  Status receive_generic(Dispatcher& dispatcher, const sys::IpcRegisters& in, Message& request,
                         Message& reply, ServeStats* stats, sys::IpcRegisters* out, Step* step);
  bool take_ring_message(Message& message, ReplyToken* token);
  Status deliver(const sys::IpcRegisters& r, Message& message, ReplyToken* token);
  void answer_connect(bool asked_for_ring);

  uint32_t endpoint_;
  const Message* pending_reply_ = nullptr;
  // A transport-level answer (to a connect) waiting for the next receive, like pending_reply_.
  bool pending_control_ = false;
  sys::IpcMessage control_reply_;

  bool has_ring_ = false;
  channel::MpscRing ring_ = channel::MpscRing::unattached();
  sys::Handle ring_vmo_ = 0;
  usize ring_bytes_ = 0;
  channel::KernelNotification consumer_note_;
  channel::KernelNotification space_note_;
  uint32_t ring_streak_ = 0;
  RingStats ring_stats_;
  // A received call held back behind the ring's messages; returned after at most
  // `stash_budget_` of them.
  bool stashed_ = false;
  uint32_t stash_budget_ = 0;
  Message stash_;
};

template <typename Server>
Status IpcServerTransport::serve(Server& server, Message& request, Message& reply,
                                 ServeStats* stats) {
  static_assert(__is_base_of(Dispatcher, Server));
  sys::IpcRegisters r;
  bool reply_in_r = false;
  // Our sleep announcement to the ring's producers is in place: made by prepare_sleep() on an
  // empty ring and not withdrawn since. It stays across back-to-back register calls (which
  // take nothing from the ring), so each call need not withdraw and remake it; it is withdrawn
  // before anything else runs (receive(), the ring, the generic path), which announces for
  // itself as before.
  bool announced = false;
  uint8_t* tail_in = request.bytes + kIpcTailOffset;
  for (;;) {
    if (!reply_in_r) {
      if (announced) {
        ring_.cancel_sleep();
        announced = false;
      }
      sys::IpcRegisters out;
      Step step;
      do {  // the ring's messages and everything else receive() does, one serve_one() each
        EXO_TRY(before_receive(server, request, reply, stats, &out, &step));
      } while (step == Step::kAgain);
      if (step == Step::kReply) {
        r.tag = out.tag;
        for (size_t i = 0; i < EXO_IPC_MAX_WORDS; ++i) r.words[i] = out.words[i];
        reply_in_r = true;
      }
      // Only receive() (serve_one() in before_receive()) runs streaks; this is the endpoint's
      // turn. Every other way to the receive below comes back through here first or leaves
      // the streak alone.
      ring_streak_ = 0;
    }
    // Sleep only with an empty ring, announced to its producers; with ring messages waiting,
    // send the reply and look for a call without blocking (receive() does the same).
    // An announcement still in place needs no renewal: every producer that published since it
    // was made found it set and rang the doorbell (clearing it), so one load tells whether to
    // announce again (and find the ring's messages).
    uint32_t options = 0;
    if (has_ring_ && !(announced && ring_.sleep_announced())) {
      announced = ring_.prepare_sleep();
      if (!announced) options = EXO_IPC_NONBLOCK;
    }
    int64_t status = sys::ipc_raw_registers(reply_in_r ? 67 : 66, endpoint_, options, tail_in, r);
    reply_in_r = false;
    if (status < 0) [[unlikely]] {
      if (announced) {
        ring_.cancel_sleep();
        announced = false;
      }
      if (status == EXO_ERR_WOULD_BLOCK && options != 0) continue;
      return abi::from_abi_status(status);
    }
    // A plain call (no handles, tail or flags: not transport-level, not one-way) with no sends
    // of its caller waiting in the ring ahead of it: the register stubs. While calls keep
    // coming that way, this inner loop answers each and waits for the next in one syscall,
    // carrying nothing else, so the compiler keeps the words in the syscall's registers. (The
    // announcement stays while the handler runs: a producer publishing meanwhile rings the
    // doorbell, which the next receive returns at once.)
    bool generic = false;
    for (;;) {
      // (readable() is false without a ring: ring_ is then unattached.)
      if ((r.tag & kRegisterCallMask) != 0 || ring_.readable()) [[unlikely]] {
        generic = true;
        break;
      }
      RegisterDispatch handled;
      if constexpr (requires { server.template dispatch_registers_inline<Server>(r); }) {
        // Ordinal 0 (the transport's) is no method's: the generated switch passes it on.
        handled = server.template dispatch_registers_inline<Server>(r);
      } else {
        handled = EXO_IPC_TAG_LABEL(r.tag) == kTransportOrdinal ? RegisterDispatch::kPass
                                                                 : server.dispatch_registers(r);
      }
      if (handled == RegisterDispatch::kPass) [[unlikely]] {
        generic = true;
        break;
      }
      if (stats != nullptr) {
        if (handled == RegisterDispatch::kReply) {
          ++stats->calls;
        } else {
          ++stats->rejected;
        }
      }
      if (announced ? !ring_.sleep_announced() : has_ring_) [[unlikely]] {
        reply_in_r = true;  // the outer loop announces again (or finds the ring's messages)
        break;
      }
      status = sys::ipc_raw_registers(67, endpoint_, 0, tail_in, r);
      if (status < 0) [[unlikely]] {
        if (announced) ring_.cancel_sleep();
        return abi::from_abi_status(status);
      }
    }
    if (!generic) continue;
    if (announced) {
      ring_.cancel_sleep();
      announced = false;
    }
    sys::IpcRegisters in, out;
    in.tag = r.tag;
    for (size_t i = 0; i < EXO_IPC_MAX_WORDS; ++i) in.words[i] = r.words[i];
    Step step;
    EXO_TRY(receive_generic(server, in, request, reply, stats, &out, &step));
    if (step == Step::kReply) {
      r.tag = out.tag;
      for (size_t i = 0; i < EXO_IPC_MAX_WORDS; ++i) r.words[i] = out.words[i];
      reply_in_r = true;
    }
  }
}

// Serving over kernel IPC: the register-stub loop (IpcServerTransport::serve).
template <typename Server>
  requires(__is_base_of(Dispatcher, Server))
inline Status serve(IpcServerTransport& transport, Server& server, Message& request,
                    Message& reply, ServeStats* stats) {
  return transport.serve(server, request, reply, stats);
}

}  // namespace exo::proto
