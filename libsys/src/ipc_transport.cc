// Protocol messages over kernel IPC (exo/proto/ipc_transport.h).
#include "exo/proto/ipc_transport.h"

#include "exo/string.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"
#include "kernel/abi/status_map.h"

namespace exo::proto {
namespace {

constexpr size_t kWords = EXO_IPC_MAX_WORDS;

}  // namespace

Status IpcTransport::call(const Message& request, Message& response) {
  sys::IpcRegisters r;
  if (to_registers(request, &r)) {
    int64_t status = sys::ipc_raw_registers(64, endpoint_, 0, response.bytes + kIpcTailOffset, r);
    if (status < 0) return abi::from_abi_status(status);
    return from_registers(r, &response);
  }
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

Status IpcTransport::connect_ring() {
  for (;;) {
    uint32_t state = ring_state();
    if (state == kReady) return ok_status();
    if (state == kNoRing) return Error::kUnsupported;
    if (state == kConnecting) {
      sys::yield();  // another thread of this client is connecting
      continue;
    }
    if (__atomic_compare_exchange_n(&ring_state_, &state, kConnecting, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_ACQUIRE)) {
      break;
    }
  }
  sys::IpcMessage ipc;
  ipc.label = kTransportOrdinal;
  ipc.word_count = 1;
  ipc.words[0] = kConnectRing;
  int64_t status = sys::ipc_call(endpoint_, ipc);
  Status attached = status < 0 ? Status(abi::from_abi_status(status)) : attach_ring(ipc);
  if (attached.ok()) {
    __atomic_store_n(&ring_state_, kReady, __ATOMIC_RELEASE);
  } else if (attached.error() == Error::kUnsupported) {
    __atomic_store_n(&ring_state_, kNoRing, __ATOMIC_RELEASE);
  } else {
    __atomic_store_n(&ring_state_, kUnknown, __ATOMIC_RELEASE);  // a later send tries again
  }
  return attached;
}

// The connect reply: words[0] = the ring's mapping size, then three handles (the ring's memory
// object, the consumer notification to signal, the space notification to wait on and signal).
// A reply without handles means the server has no ring. The server is trusted as much as any
// server a client calls, but the ring header is still validated by attach().
Status IpcTransport::attach_ring(const sys::IpcMessage& reply) {
  if (reply.label != kTransportOrdinal || (reply.flags & kFlagReply) == 0) return Error::kMalformed;
  if (reply.handle_count == 0) return Error::kUnsupported;
  auto close_all = [&] {
    for (size_t i = 0; i < reply.handle_count && i < kWords; ++i) {
      (void)sys::handle_close(static_cast<uint32_t>(reply.words[reply.word_count - reply.handle_count + i]));
    }
  };
  if (reply.handle_count != 3 || reply.word_count != 4 || reply.words[0] == 0 ||
      reply.words[0] > (uint64_t{1} << 30)) {
    close_all();
    return Error::kMalformed;
  }
  auto vmo = static_cast<uint32_t>(reply.words[1]);
  usize bytes = reply.words[0];
  Result<uint64_t> mapped =
      sys::memory_object_map(sys::kSelf, vmo, 0, 0, bytes, sys::kProtRead | sys::kProtWrite);
  (void)sys::handle_close(vmo);  // the mapping keeps the object alive
  if (!mapped.ok()) {
    (void)sys::handle_close(static_cast<uint32_t>(reply.words[2]));
    (void)sys::handle_close(static_cast<uint32_t>(reply.words[3]));
    return mapped.error();
  }
  void* memory = reinterpret_cast<void*>(*mapped);
  Result<channel::MpscRing> ring = channel::MpscRing::attach(memory, bytes);
  if (!ring.ok()) {
    (void)sys::vm_unmap(memory, bytes);
    (void)sys::handle_close(static_cast<uint32_t>(reply.words[2]));
    (void)sys::handle_close(static_cast<uint32_t>(reply.words[3]));
    return ring.error();
  }
  ring_ = *ring;
  ring_memory_ = memory;
  ring_bytes_ = bytes;
  consumer_note_ = channel::KernelNotification(static_cast<uint32_t>(reply.words[2]));
  space_note_ = channel::KernelNotification(static_cast<uint32_t>(reply.words[3]));
  return ok_status();
}

Status IpcTransport::send(const Message& message, SendMode mode) {
  if (ring_state() != kReady) {
    Status connected = connect_ring();
    if (!connected.ok() && connected.error() != Error::kUnsupported) return connected;
  }
  if (ring_state() == kReady) {
    if (message.handle_count() != 0 || !label_valid(message.label)) return Error::kInvalidArgument;
    // Label and body are one contiguous run (Message's layout): that is the slot's payload.
    if (__atomic_load_n(&server_closed_, __ATOMIC_RELAXED)) return Error::kPeerClosed;
    bool rang = false;
    Status sent = channel::send(ring_, &message.label, message.wire_bytes(),
                                channel::Backpressure::kFail, consumer_note_, space_note_,
                                channel::kWaitForever, &rang);
    if (rang) return after_doorbell(sent);
    if (sent.ok() || sent.error() != Error::kWouldBlock) return sent;
    return send_to_full_ring(message, mode);
  }
  sys::IpcMessage ipc;
  EXO_TRY(to_ipc(message, &ipc));
  int64_t status = sys::ipc_send(endpoint_, ipc, mode == SendMode::kFail ? EXO_IPC_NONBLOCK : 0);
  return status < 0 ? Status(abi::from_abi_status(status)) : ok_status();
}

// Off the common path (calls of their own keep the first attempt inline). Nothing in the ring
// tells that its server is gone, so the kernel is asked at two moments. After a doorbell: the
// server had announced that it sleeps, and one that died asleep leaves that announcement for
// the next send to find. And when the ring is full: kFail asks once; kWait sleeps in slices of
// at most kPeerCheckNs and asks between them. Once seen, the death is remembered.
Status IpcTransport::after_doorbell(Status sent) {
  if (server_gone()) return Error::kPeerClosed;
  return sent;
}

Status IpcTransport::send_to_full_ring(const Message& message, SendMode mode) {
  for (;;) {
    if (server_gone()) return Error::kPeerClosed;
    if (mode == SendMode::kFail) return Error::kWouldBlock;
    Status sent = channel::send(ring_, &message.label, message.wire_bytes(),
                                channel::Backpressure::kWait, consumer_note_, space_note_,
                                kPeerCheckNs);
    if (sent.ok() || sent.error() != Error::kTimedOut) return sent;
  }
}

bool IpcTransport::server_gone() {
  sys::raw::Return info = sys::raw::handle_info(endpoint_);
  if (info.status >= 0 && (static_cast<uint64_t>(info.status) & EXO_HANDLE_INFO_PEER_CLOSED) == 0) {
    return false;
  }
  __atomic_store_n(&server_closed_, true, __ATOMIC_RELAXED);
  return true;
}

namespace {

struct Doorbell {
  uint32_t endpoint;
  uint32_t notification;
};

// The doorbell thread: the kernel cannot yet bind a notification to an endpoint, so this thread
// waits on the ring's consumer notification and turns each signal into a one-way IPC message
// to the serving thread, which is asleep in its receive. Only signalled when the consumer
// announced sleep, so it costs nothing while the server is busy.
void doorbell_main(void* argument) {
  const Doorbell door = *static_cast<const Doorbell*>(argument);
  for (;;) {
    if (!sys::notification_wait(door.notification).ok()) sys::thread_exit();
    sys::IpcMessage ring;
    ring.label = kTransportOrdinal;
    ring.flags = kFlagOneWay;
    if (sys::ipc_send(door.endpoint, ring) < 0) sys::thread_exit();
  }
}

constexpr usize kDoorbellStack = 16 * 1024;

}  // namespace

Status IpcServerTransport::open_ring(uint32_t capacity, uint32_t slot_bytes) {
  if (has_ring_) return Error::kAlreadyExists;
  // The ring's messages are received straight into a Message (label, then body).
  if (slot_bytes < sizeof(uint64_t) || slot_bytes > sizeof(uint64_t) + kMaxBodyBytes) {
    return Error::kInvalidArgument;
  }
  usize need = channel::MpscRing::bytes_for(capacity, slot_bytes);
  if (need == 0) return Error::kInvalidArgument;
  usize bytes = align_up<usize>(need, EXO_PAGE_SIZE);
  sys::Handle vmo = EXO_TRY(sys::memory_object_create(bytes));
  Result<uint64_t> mapped =
      sys::memory_object_map(sys::kSelf, vmo, 0, 0, bytes, sys::kProtRead | sys::kProtWrite);
  Result<sys::Handle> consumer = sys::notification_create();
  Result<sys::Handle> space = sys::notification_create();
  Result<void*> stack = sys::vm_map_anonymous(nullptr, kDoorbellStack, sys::kProtRead | sys::kProtWrite);
  auto undo = [&] {
    (void)sys::handle_close(vmo);
    if (mapped.ok()) (void)sys::vm_unmap(reinterpret_cast<void*>(*mapped), bytes);
    if (consumer.ok()) (void)sys::handle_close(*consumer);
    if (space.ok()) (void)sys::handle_close(*space);
    if (stack.ok()) (void)sys::vm_unmap(*stack, kDoorbellStack);
  };
  if (!mapped.ok() || !consumer.ok() || !space.ok() || !stack.ok()) {
    Error error = !mapped.ok() ? mapped.error() : !consumer.ok() ? consumer.error()
                  : !space.ok() ? space.error() : stack.error();
    undo();
    return error;
  }
  Result<channel::MpscRing> ring =
      channel::MpscRing::create(reinterpret_cast<void*>(*mapped), bytes, capacity, slot_bytes);
  if (!ring.ok()) {
    undo();
    return ring.error();
  }
  // The doorbell's arguments live at the bottom of its own stack, which is never unmapped.
  auto* door = static_cast<Doorbell*>(*stack);
  *door = Doorbell{endpoint_, *consumer};
  Result<sys::Handle> thread = sys::thread_create(&doorbell_main, door,
                                                  static_cast<uint8_t*>(*stack) + 64, kDoorbellStack - 64);
  if (!thread.ok()) {
    undo();
    return thread.error();
  }
  (void)sys::handle_close(*thread);
  ring_ = *ring;
  ring_vmo_ = vmo;
  ring_bytes_ = bytes;
  consumer_note_ = channel::KernelNotification(*consumer);
  space_note_ = channel::KernelNotification(*space);
  has_ring_ = true;
  return ok_status();
}

// Builds the connect reply (see IpcTransport::attach_ring): fresh duplicates with exactly the
// rights a client needs, since transferred handles leave our table. Without a ring, or when a
// duplicate fails, the reply carries no handles.
void IpcServerTransport::answer_connect(bool asked_for_ring) {
  control_reply_ = sys::IpcMessage{};
  control_reply_.label = kTransportOrdinal;
  control_reply_.flags = kFlagReply;
  pending_control_ = true;
  if (!has_ring_ || !asked_for_ring) return;
  Result<sys::Handle> vmo = sys::handle_duplicate(
      ring_vmo_, EXO_RIGHT_READ | EXO_RIGHT_WRITE | EXO_RIGHT_MAP | EXO_RIGHT_TRANSFER);
  Result<sys::Handle> consumer =
      sys::handle_duplicate(consumer_note_.handle(), EXO_RIGHT_SIGNAL | EXO_RIGHT_TRANSFER);
  Result<sys::Handle> space = sys::handle_duplicate(
      space_note_.handle(), EXO_RIGHT_WAIT | EXO_RIGHT_SIGNAL | EXO_RIGHT_TRANSFER);
  if (!vmo.ok() || !consumer.ok() || !space.ok()) {
    if (vmo.ok()) (void)sys::handle_close(*vmo);
    if (consumer.ok()) (void)sys::handle_close(*consumer);
    if (space.ok()) (void)sys::handle_close(*space);
    return;
  }
  control_reply_.word_count = 4;
  control_reply_.handle_count = 3;
  control_reply_.words[0] = ring_bytes_;
  control_reply_.words[1] = *vmo;
  control_reply_.words[2] = *consumer;
  control_reply_.words[3] = *space;
  ++ring_stats_.connects;
}

// One message off the ring into `message`, if there is one. Whatever a client wrote, only a
// well-formed one-way protocol message (valid label, body size matching the slot length, no
// handles) is returned; the rest is counted and dropped.
bool IpcServerTransport::take_ring_message(Message& message, ReplyToken* token) {
  // Bounded, so that a client rewriting garbage as fast as it is dropped cannot keep the serving
  // thread here: after a ring's worth, the endpoint gets its turn.
  for (uint32_t tries = 0; tries < ring_.capacity(); ++tries) {
    Result<usize> got = ring_.try_recv(&message.label, sizeof(uint64_t) + kMaxBodyBytes);
    if (ring_.take_wake_producers()) space_note_.signal();
    if (!got.ok()) {
      if (got.error() == Error::kWouldBlock) return false;
      ++ring_stats_.malformed;  // kMalformed: a corrupt slot, already dropped
      continue;
    }
    usize len = *got;
    if (len < sizeof(uint64_t) || !label_valid(message.label) ||
        label_size(message.label) != len - sizeof(uint64_t) || label_handles(message.label) != 0 ||
        label_flags(message.label) != kFlagOneWay) {
      ++ring_stats_.malformed;
      continue;
    }
    ++ring_stats_.received;
    *token = kNoReply;
    return true;
  }
  return false;
}

Status IpcServerTransport::receive(Message& message, ReplyToken* token) {
  if (stashed_) {
    if (stash_budget_ != 0) {
      --stash_budget_;
      if (take_ring_message(message, token)) return ok_status();
    }
    stashed_ = false;
    message.label = stash_.label;
    memcpy(message.bytes, stash_.bytes, stash_.size());
    memcpy(message.handles, stash_.handles, sizeof(stash_.handles));
    *token = ReplyToken{1};
    return ok_status();
  }
  for (;;) {
    if (has_ring_ && ring_streak_ < kRingBurst && pending_reply_ == nullptr && !pending_control_) {
      if (take_ring_message(message, token)) {
        ++ring_streak_;
        return ok_status();
      }
    }
    ring_streak_ = 0;
    // Now the endpoint. Sleep there only with an empty ring, announced to its producers; with
    // ring messages waiting (or a streak to break) just send the reply and look for a call.
    uint32_t options = 0;
    bool announced = false;
    if (has_ring_) {
      // Producers waiting for space must hear of the slots freed since the consumer last looked
      // (try_recv looks only every few frees, or when it finds the ring empty, and this thread
      // may have stopped taking ring messages before that: a burst ended, or a reply is due).
      // Otherwise they could sleep on a ring that this thread has emptied, while it sleeps here.
      ring_.flush_wake_producers();
      if (ring_.take_wake_producers()) space_note_.signal();
      // prepare_sleep() fails, and takes the announcement back, when the ring has a message.
      announced = ring_.prepare_sleep();
      if (!announced) options = EXO_IPC_NONBLOCK;
    }
    uint8_t* tail_in = message.bytes + kIpcTailOffset;
    sys::IpcRegisters r;
    int64_t status;
    if (pending_reply_ != nullptr && to_registers(*pending_reply_, &r)) {
      // The fast path: a reply without handles that fits the words.
      pending_reply_ = nullptr;
      status = sys::ipc_raw_registers(67, endpoint_, options, tail_in, r);
    } else if (pending_reply_ != nullptr || pending_control_) {
      sys::IpcMessage ipc;
      if (pending_reply_ != nullptr) {
        EXO_TRY(to_ipc(*pending_reply_, &ipc));
      } else {
        ipc = control_reply_;
      }
      if (ipc.tail_length != 0 && ipc.tail != tail_in) memmove(tail_in, ipc.tail, ipc.tail_length);
      ipc.tail = tail_in;
      pending_reply_ = nullptr;
      pending_control_ = false;
      status = sys::ipc_reply_recv(endpoint_, ipc, options);
      if (status == EXO_ERR_NOT_FOUND && ipc.handle_count != 0) {
        // Nobody to answer (a connect that came as a send): our duplicates are still ours.
        for (size_t i = 0; i < ipc.handle_count; ++i) {
          (void)sys::handle_close(static_cast<uint32_t>(ipc.words[ipc.word_count - ipc.handle_count + i]));
        }
      }
      r.tag = EXO_IPC_TAG_FULL(ipc.label, ipc.word_count, ipc.handle_count, ipc.tail_length, ipc.flags);
      for (size_t i = 0; i < kWords; ++i) r.words[i] = ipc.words[i];
    } else {
      status = sys::ipc_raw_registers(66, endpoint_, options, tail_in, r);
    }
    if (announced) ring_.cancel_sleep();
    if (status == EXO_ERR_WOULD_BLOCK && options != 0) continue;
    if (status < 0) return abi::from_abi_status(status);
    if (EXO_IPC_TAG_LABEL(r.tag) == kTransportOrdinal) {
      if ((EXO_IPC_TAG_FLAGS(r.tag) & kFlagOneWay) != 0) {
        ++ring_stats_.doorbells;
      } else {
        answer_connect(r.words[0] == kConnectRing);
      }
      continue;
    }
    return deliver(r, message, token);
  }
}

// The end of every receive from the endpoint: the registers into `message`, and a call that
// finds one-way messages in the ring set aside behind them (see receive()).
Status IpcServerTransport::deliver(const sys::IpcRegisters& r, Message& message, ReplyToken* token) {
  EXO_TRY(from_registers(r, &message));
  *token = (message.flags() & kFlagOneWay) != 0 ? kNoReply : ReplyToken{1};
  if (has_ring_ && token->value != kNoReply.value && ring_.readable()) {
    // Sends the caller made before this call are in the ring: they go first.
    stash_.label = message.label;
    memcpy(stash_.bytes, message.bytes, message.size());
    memcpy(stash_.handles, message.handles, sizeof(stash_.handles));
    stashed_ = true;
    stash_budget_ = ring_.capacity();
    if (take_ring_message(message, token)) {
      --stash_budget_;
      return ok_status();
    }
    stashed_ = false;
    message.label = stash_.label;
    memcpy(message.bytes, stash_.bytes, stash_.size());
    memcpy(message.handles, stash_.handles, sizeof(stash_.handles));
    *token = ReplyToken{1};
  }
  return ok_status();
}

Status IpcServerTransport::before_receive(Dispatcher& dispatcher, Message& request,
                                          Message& reply, ServeStats* stats,
                                          sys::IpcRegisters* out, Step* step) {
  if (pending_reply_ != nullptr && to_registers(*pending_reply_, out)) {
    pending_reply_ = nullptr;  // a generic reply that fits goes out from serve()'s receive
    *step = Step::kReply;
    return ok_status();
  }
  // Whatever is not a wait for a call on an endpoint with an empty ring takes receive(): calls
  // held behind the ring (stashed_), the ring's messages (up to kRingBurst in a row), a connect
  // answer and replies with handles or a tail.
  if (stashed_ || pending_control_ || pending_reply_ != nullptr ||
      (has_ring_ && ring_streak_ < kRingBurst && ring_.readable())) {
    *step = Step::kAgain;
    return serve_one(*this, dispatcher, request, reply, stats);
  }
  *step = Step::kReceive;
  return ok_status();
}

Status IpcServerTransport::receive_generic(Dispatcher& dispatcher, const sys::IpcRegisters& in,
                                           Message& request, Message& reply, ServeStats* stats,
                                           sys::IpcRegisters* out, Step* step) {
  *step = Step::kAgain;
  uint64_t tag = in.tag;
  if (EXO_IPC_TAG_LABEL(tag) == kTransportOrdinal) {
    if ((EXO_IPC_TAG_FLAGS(tag) & kFlagOneWay) != 0) {
      ++ring_stats_.doorbells;
    } else {
      answer_connect(in.words[0] == kConnectRing);  // sent by before_receive's serve_one
    }
    return ok_status();
  }
  ReplyToken token;
  Status delivered = deliver(in, request, &token);
  if (!delivered.ok()) {
    // Registers that are no protocol message. A call still gets an answer (a protocol error)
    // so that its sender is not left waiting; a send is dropped.
    if (stats != nullptr) ++stats->rejected;
    if ((EXO_IPC_TAG_FLAGS(tag) & kFlagOneWay) == 0) {
      encode_protocol_error_registers(*out, EXO_IPC_TAG_LABEL(tag), Error::kMalformed);
      *step = Step::kReply;
    }
    return ok_status();
  }
  // The reply, if any, waits in pending_reply_ for before_receive.
  return dispatch_received(*this, dispatcher, token, request, reply, stats);
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
