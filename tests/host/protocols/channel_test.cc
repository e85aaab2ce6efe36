// The host transport with real threads: many clients calling and sending to one server over a
// HostChannel (calls through the blocking queue, sends through the MPSC ring), backpressure,
// wake-up suppression, close, and hostile messages. Also built under ThreadSanitizer.
#include <string.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "exo/proto/host_transport.h"
#include "test_types.h"

namespace exo::protocols::test_types {
namespace {

using proto::BytesView;
using proto::Handle;
using proto::HostChannel;
using proto::HostServerThread;
using proto::Message;
using proto::SendMode;
using proto::StringView;

// A Tester server whose notify() can be held at a gate to fill the queue.
class Server final : public TesterServer {
 public:
  proto::Outcome<TestError> round_trip(const Everything& value,
                                       Tester::RoundTripResponse* response) override {
    response->value = value;
    return {};
  }
  void add(uint32_t a, uint32_t b, Tester::AddResponse* response) override {
    response->sum = a + b;
  }
  proto::Outcome<TestError> fail(TestError error, Tester::FailResponse*) override { return error; }
  void big(const Big& value, Tester::BigResponse* response) override { response->value = value; }
  void notify(uint64_t seq, StringView note) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      entered_ = true;
      entered_cv_.notify_all();
      gate_cv_.wait(lock, [&] { return open_; });
    }
    count_.fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(seq, std::memory_order_relaxed);
    bytes_.fetch_add(note.size, std::memory_order_relaxed);
  }
  void sum_notes(Tester::SumNotesResponse* response) override {
    response->count = count_.load();
    response->total = total_.load();
  }

  void close_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
    entered_ = false;
  }
  void open_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    gate_cv_.notify_all();
  }
  void wait_entered() {
    std::unique_lock<std::mutex> lock(mutex_);
    entered_cv_.wait(lock, [&] { return entered_; });
  }

  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> bytes_{0};

 private:
  std::mutex mutex_;
  std::condition_variable gate_cv_;
  std::condition_variable entered_cv_;
  bool open_ = true;
  bool entered_ = false;
};

std::unique_ptr<HostChannel> make_channel() {
  auto channel = HostChannel::create(Tester::kQueueCapacity, Tester::kSendSlotBytes);
  EXPECT_NE(channel, nullptr);
  return channel;
}

// Polls sum_notes() until `count` notes were handled (sends and calls are separate queues, so
// a call may overtake earlier sends).
Tester::SumNotesResponse wait_for_notes(TesterClient& client, uint64_t count) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto notes = client.sum_notes();
    EXPECT_TRUE(notes.ok());
    if (!notes.ok() || notes->count >= count || std::chrono::steady_clock::now() > deadline) {
      return notes.ok() ? notes.value() : Tester::SumNotesResponse{};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(HostChannel, ManyClientsCallConcurrently) {
  auto channel = make_channel();
  Server server;
  HostServerThread serving(*channel, server);
  constexpr int kThreads = 4;
  constexpr uint32_t kCalls = 300;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      TesterClient client(channel->client());
      for (uint32_t i = 0; i < kCalls; ++i) {
        auto sum = client.add(uint32_t(t) * 100000, i);
        if (!sum.ok() || sum->sum != uint32_t(t) * 100000 + i) wrong.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(serving.stop().calls, uint64_t(kThreads) * kCalls);
}

TEST(HostChannel, LargeMessagesAndHandlesCrossThreads) {
  auto channel = make_channel();
  channel->register_handle(31, proto::ObjectType::kVmo, proto::kRightRead | proto::kRightWrite);
  channel->register_handle(32, proto::ObjectType::kThread, 0);
  Server server;
  HostServerThread serving(*channel, server);
  TesterClient client(channel->client());

  std::vector<uint8_t> payload(4096);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 13);
  auto big = client.big(Big{BytesView(payload.data(), payload.size()), 9});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->value.id, 9u);
  ASSERT_EQ(big->value.payload.size, 4096u);
  EXPECT_EQ(memcmp(big->value.payload.data, payload.data(), 4096), 0);

  Everything value;
  value.signed_value = Signed::kPositive;
  value.wide = Wide::kHuge;
  value.text = StringView("through a thread");
  value.vmo = Handle{31};
  value.any = Handle{32};
  auto echoed = client.round_trip(value);
  ASSERT_TRUE(echoed.ok());
  EXPECT_TRUE(echoed->value == value);

  // An unregistered handle arrives untyped and the server refuses the request.
  value.vmo = Handle{99};
  auto refused = client.round_trip(value);
  ASSERT_TRUE(refused.is_error());
  EXPECT_EQ(refused.error(), Error::kMalformed);
  EXPECT_EQ(channel->discarded_handles(), 2u);
}

TEST(HostChannel, OneWaySendsFromManyThreadsAllArrive) {
  auto channel = make_channel();
  Server server;
  HostServerThread serving(*channel, server);
  constexpr int kThreads = 4;
  constexpr uint64_t kSends = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      TesterClient client(channel->client());
      for (uint64_t i = 1; i <= kSends; ++i) {
        EXPECT_TRUE(client.notify(i, "note", SendMode::kWait).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  TesterClient client(channel->client());
  auto notes = wait_for_notes(client, kThreads * kSends);
  EXPECT_EQ(notes.count, kThreads * kSends);
  EXPECT_EQ(notes.total, kThreads * kSends * (kSends + 1) / 2);
  EXPECT_EQ(server.bytes_.load(), kThreads * kSends * 4);
}

TEST(HostChannel, FullQueueFailsOrWaitsAsTheCallerChooses) {
  auto channel = make_channel();
  Server server;
  server.close_gate();
  HostServerThread serving(*channel, server);
  TesterClient client(channel->client());

  // One note is taken by the server and held at the gate; kQueueCapacity more fill the ring.
  ASSERT_TRUE(client.notify(1, "", SendMode::kFail).ok());
  server.wait_entered();
  for (uint32_t i = 0; i < Tester::kQueueCapacity; ++i) {
    ASSERT_TRUE(client.notify(1, "", SendMode::kFail).ok()) << i;
  }
  uint64_t signals_before = channel->server_notification().signals();
  Status full = client.notify(1, "", SendMode::kFail);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error(), Error::kWouldBlock);

  std::atomic<bool> sent{false};
  std::thread waiter([&] {
    TesterClient waiting(channel->client());
    EXPECT_TRUE(waiting.notify(1, "", SendMode::kWait).ok());
    sent = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(sent.load());
  // The server was busy, never asleep: none of these sends had to wake it.
  EXPECT_EQ(channel->server_notification().signals(), signals_before);

  server.open_gate();
  waiter.join();
  EXPECT_TRUE(sent.load());
  auto notes = wait_for_notes(client, Tester::kQueueCapacity + 2);
  EXPECT_EQ(notes.count, Tester::kQueueCapacity + 2);
}

TEST(HostChannel, HostileMessagesAreRefusedAndServingContinues) {
  auto channel = make_channel();
  Server server;
  HostServerThread serving(*channel, server);
  proto::Transport& raw = channel->client();
  auto message = std::make_unique<Message>();

  message->label = ~uint64_t{0};  // malformed label: refused by the transport itself
  EXPECT_EQ(raw.call(*message, *message).error(), Error::kInvalidArgument);
  EXPECT_EQ(raw.send(*message, SendMode::kFail).error(), Error::kInvalidArgument);

  message->label = proto::make_label(12345, 0, 0, 0);
  ASSERT_TRUE(raw.call(*message, *message).ok());
  EXPECT_EQ(message->flags(), proto::kFlagReply | proto::kFlagProtocolError);

  message->label = proto::make_label(Tester::kNotifyOrdinal, proto::kFlagOneWay, 0, 3);
  memset(message->bytes, 0xff, 3);  // a length of 0xffff: cannot decode
  ASSERT_TRUE(raw.send(*message, SendMode::kFail).ok());

  message->label = proto::make_label(Tester::kNotifyOrdinal, proto::kFlagOneWay, 1, 10);
  EXPECT_EQ(raw.send(*message, SendMode::kFail).error(), Error::kInvalidArgument);  // handles

  TesterClient client(channel->client());
  auto sum = client.add(40, 2);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->sum, 42u);
  // The bad send is handled asynchronously; wait until the server has looked at it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(client.add(0, 0).ok());
    if (server.count_.load() == 0 && serving.stats().rejected >= 2) break;
  }
  const proto::ServeStats& stats = serving.stop();
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(server.count_.load(), 0u);
}

TEST(HostChannel, CloseFailsWaitingCallersAndSenders) {
  auto channel = make_channel();
  std::atomic<int> closed{0};
  std::thread caller([&] {
    TesterClient client(channel->client());
    auto sum = client.add(1, 1);  // no server: blocks until close
    if (sum.is_error() && sum.error() == Error::kPeerClosed) closed.fetch_add(1);
  });
  std::thread sender([&] {
    TesterClient client(channel->client());
    for (;;) {
      Status status = client.notify(1, "", SendMode::kWait);  // fills, then waits
      if (!status.ok()) {
        if (status.error() == Error::kPeerClosed) closed.fetch_add(1);
        return;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  channel->close();
  caller.join();
  sender.join();
  EXPECT_EQ(closed.load(), 2);
  TesterClient client(channel->client());
  EXPECT_EQ(client.add(1, 2).error(), Error::kPeerClosed);
}

}  // namespace
}  // namespace exo::protocols::test_types
