// HostChannel: an MPSC channel between host threads that runs generated clients and servers
// in tests and benchmarks — calls through a queue of blocked callers (the kernel's synchronous
// IPC stand-in), one-way sends through the libsys MpscRing in (heap) shared memory. Host only.
#pragma once

#if !defined(EXO_HOST) || !__STDC_HOSTED__
#error "exo/proto/host_transport.h is for host tests and benchmarks (EXO_HOST) only"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "exo/channel/host_notification.h"
#include "exo/channel/mpsc_ring.h"
#include "exo/channel/ring_wait.h"
#include "message.h"
#include "runtime.h"
#include "transport.h"

namespace exo::proto {

// Copies what a byte-copying transport copies: the label, `size` body bytes, the handles.
// Precondition: label_valid(from.label).
inline void copy_message(Message& to, const Message& from) {
  if (&to == &from) return;
  to.label = from.label;
  memcpy(to.bytes, from.bytes, from.size());
  memcpy(to.handles, from.handles, sizeof(HandleSlot) * from.handle_count());
}

// One channel: one server thread, any number of client threads. Handles are not real on the
// host: register_handle() plays the kernel's handle table, and a transferred handle arrives
// with the type and rights registered for its value (unregistered values arrive as the sender
// wrote them). Thread-safe; create() it, share the reference, close() it
// to make every blocked or later operation fail with kPeerClosed.
class HostChannel {
 public:
  // `queue_capacity` and `send_slot_bytes` come from the generated Protocol::kQueueCapacity and
  // Protocol::kSendSlotBytes; a capacity of 0 makes a channel without a one-way queue.
  static std::unique_ptr<HostChannel> create(uint32_t queue_capacity, size_t send_slot_bytes) {
    std::unique_ptr<HostChannel> channel(new HostChannel());
    if (queue_capacity != 0) {
      size_t bytes = channel::MpscRing::bytes_for(queue_capacity, uint32_t(send_slot_bytes));
      if (bytes == 0 || send_slot_bytes > sizeof(uint64_t) + kMaxBodyBytes) return nullptr;
      channel->ring_memory_ =
          aligned_alloc(channel::ring_layout::kCacheLine, (bytes + 63) & ~size_t{63});
      if (channel->ring_memory_ == nullptr) return nullptr;
      auto consumer = channel::MpscRing::create(channel->ring_memory_, bytes, queue_capacity,
                                                uint32_t(send_slot_bytes));
      auto producer = channel::MpscRing::attach(channel->ring_memory_, bytes);
      if (!consumer.ok() || !producer.ok()) return nullptr;
      channel->consumer_.emplace(consumer.release_value());
      channel->producer_.emplace(producer.release_value());
    }
    return channel;
  }

  ~HostChannel() {
    close();
    free(ring_memory_);
  }
  HostChannel(const HostChannel&) = delete;
  HostChannel& operator=(const HostChannel&) = delete;

  Transport& client() { return client_; }
  ServerTransport& server() { return server_; }

  // Fails every queued and in-flight call and wakes every waiter; idempotent.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) return;
      closed_ = true;
      for (PendingCall* call : queued_) finish(call, Error::kPeerClosed);
      for (PendingCall* call : in_flight_) finish(call, Error::kPeerClosed);
      queued_.clear();
      in_flight_.clear();
    }
    consumer_note_.signal();
    space_note_.signal();
  }

  // Makes handle `value` arrive as an object of `type` with `rights` from now on.
  void register_handle(uint32_t value, ObjectType type, uint32_t rights) {
    std::lock_guard<std::mutex> lock(mutex_);
    handle_table_[value] = HandleSlot{value, type, rights};
  }

  // Messages dropped on the one-way path because their framing was corrupt.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t discarded_handles() const { return discarded_handles_.load(std::memory_order_relaxed); }
  // The server's wake-up notification, whose counters show wake-up suppression at work.
  const channel::HostNotification& server_notification() const { return consumer_note_; }

 private:
  struct PendingCall {
    const Message* request = nullptr;
    Message* response = nullptr;
    bool done = false;
    Status status;
    std::condition_variable cv;
  };

  class Client final : public Transport {
   public:
    explicit Client(HostChannel& channel) : channel_(channel) {}
    Status call(const Message& request, Message& response) override {
      return channel_.call(request, response);
    }
    Status send(const Message& message, SendMode mode) override {
      return channel_.send(message, mode);
    }

   private:
    HostChannel& channel_;
  };

  class Server final : public ServerTransport {
   public:
    explicit Server(HostChannel& channel) : channel_(channel) {}
    Status receive(Message& message, ReplyToken* token) override {
      return channel_.receive(message, token);
    }
    Status reply(ReplyToken token, const Message& message) override {
      return channel_.reply(token, message);
    }
    void discard_handles(const Message& message) override {
      if (label_valid(message.label)) {
        channel_.discarded_handles_.fetch_add(message.handle_count(), std::memory_order_relaxed);
      }
    }

   private:
    HostChannel& channel_;
  };

  HostChannel() : client_(*this), server_(*this) {}

  // Precondition: mutex_ held.
  static void finish(PendingCall* call, Status status) {
    call->done = true;
    call->status = status;
    call->cv.notify_one();
  }

  Status call(const Message& request, Message& response) {
    if (!label_valid(request.label)) return Error::kInvalidArgument;
    PendingCall pending;
    pending.request = &request;
    pending.response = &response;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (closed_) return Error::kPeerClosed;
      queued_.push_back(&pending);
    }
    consumer_note_.signal();
    std::unique_lock<std::mutex> lock(mutex_);
    pending.cv.wait(lock, [&] { return pending.done; });
    return pending.status;
  }

  Status send(const Message& message, SendMode mode) {
    if (!label_valid(message.label) || message.handle_count() != 0) {
      return Error::kInvalidArgument;
    }
    if (!producer_) return Error::kUnsupported;
    auto backpressure =
        mode == SendMode::kWait ? channel::Backpressure::kWait : channel::Backpressure::kFail;
    for (;;) {
      if (closed()) return Error::kPeerClosed;
      // Bounded sleeps so that close() cannot strand a sender waiting for space.
      Status status = channel::send(*producer_, &message, message.wire_bytes(), backpressure,
                                    consumer_note_, space_note_, 20'000'000);
      if (status.ok() || status.error() != Error::kTimedOut) return status;
    }
  }

  Status receive(Message& message, ReplyToken* token) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return Error::kPeerClosed;
        // Alternate between the two queues when both have work, so neither starves.
        bool ring_ready = consumer_ && consumer_->readable();
        if (!queued_.empty() && (!prefer_ring_ || !ring_ready)) {
          PendingCall* call = queued_.front();
          queued_.pop_front();
          in_flight_.insert(call);
          copy_message(message, *call->request);
          stamp_handles(message);
          token->value = reinterpret_cast<uint64_t>(call);
          prefer_ring_ = true;
          return ok_status();
        }
      }
      if (consumer_) {
        Result<size_t> got = consumer_->try_recv(&message, sizeof(uint64_t) + kMaxBodyBytes);
        if (consumer_->take_wake_producers()) space_note_.signal();
        if (got.ok()) {
          prefer_ring_ = false;
          size_t length = got.value();
          if (length < sizeof(uint64_t) || !label_valid(message.label) ||
              message.size() != length - sizeof(uint64_t) || message.handle_count() != 0) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          *token = kNoReply;
          return ok_status();
        }
        if (got.error() != Error::kWouldBlock) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
      }
      uint64_t wait_token = consumer_note_.prepare();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_ || !queued_.empty()) continue;
      }
      if (consumer_ && !consumer_->prepare_sleep()) continue;
      consumer_note_.wait(wait_token, channel::kWaitForever);
      if (consumer_) consumer_->cancel_sleep();
    }
  }

  Status reply(ReplyToken token, const Message& message) {
    if (!label_valid(message.label)) return Error::kInvalidArgument;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_flight_.find(reinterpret_cast<PendingCall*>(token.value));
    if (it == in_flight_.end()) return closed_ ? Error::kPeerClosed : Error::kInvalidArgument;
    PendingCall* call = *it;
    in_flight_.erase(it);
    copy_message(*call->response, message);
    stamp_handles(*call->response);
    finish(call, ok_status());
    return ok_status();
  }

  // Precondition: mutex_ held.
  void stamp_handles(Message& message) {
    for (size_t i = 0; i < message.handle_count(); ++i) {
      auto it = handle_table_.find(message.handles[i].value);
      if (it != handle_table_.end()) message.handles[i] = it->second;
    }
  }

  bool closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }

  Client client_;
  Server server_;
  std::mutex mutex_;
  bool closed_ = false;                          // guarded by mutex_
  std::deque<PendingCall*> queued_;              // guarded by mutex_
  std::set<PendingCall*> in_flight_;             // guarded by mutex_
  std::map<uint32_t, HandleSlot> handle_table_;  // guarded by mutex_
  bool prefer_ring_ = false;                     // serving thread only
  void* ring_memory_ = nullptr;
  std::optional<channel::MpscRing> consumer_;
  std::optional<channel::MpscRing> producer_;
  channel::HostNotification consumer_note_;
  channel::HostNotification space_note_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> discarded_handles_{0};
};

// Runs exo::proto::serve() for one dispatcher on its own thread. stop() (or the destructor)
// closes the channel and joins; stats() is meaningful after stop().
class HostServerThread {
 public:
  HostServerThread(HostChannel& channel, Dispatcher& dispatcher)
      : channel_(channel),
        request_(std::make_unique<Message>()),
        reply_(std::make_unique<Message>()),
        thread_([this, &dispatcher] {
          (void)serve(channel_.server(), dispatcher, *request_, *reply_, &stats_);
        }) {}
  ~HostServerThread() { stop(); }

  const ServeStats& stop() {
    channel_.close();
    if (thread_.joinable()) thread_.join();
    return stats_;
  }
  const ServeStats& stats() const { return stats_; }

 private:
  HostChannel& channel_;
  std::unique_ptr<Message> request_;
  std::unique_ptr<Message> reply_;
  ServeStats stats_;
  std::thread thread_;
};

}  // namespace exo::proto
