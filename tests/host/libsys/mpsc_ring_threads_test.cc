// Host tests for MpscRing with real threads: multi-producer stress (no loss, no duplication,
// per-producer order), backpressure in fail and wait modes, and wake-up accounting (every sleep
// ends by a signal, never by a timeout; signals are suppressed). Also built under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "libsys/include/exo/channel/host_notification.h"
#include "libsys/include/exo/channel/mpsc_ring.h"
#include "libsys/include/exo/channel/ring_wait.h"

namespace exo::channel {
namespace {

using namespace std::chrono_literals;

// Generous: a sleep that reaches it means a wake-up was lost, and the test fails instead of
// hanging.
constexpr uint64_t kTimeoutNs = 20'000'000'000ull;

struct Region {
  explicit Region(usize bytes) : size(bytes) {
    mem = static_cast<uint8_t*>(std::aligned_alloc(64, align_up<usize>(bytes, 64)));
  }
  ~Region() { std::free(mem); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  uint8_t* mem;
  usize size;
};

struct Message {
  uint32_t producer;
  uint32_t check;  // producer * 31 + seq, catches torn copies
  uint64_t seq;
};

template <typename Note>
struct BasicRig {
  BasicRig(uint32_t capacity, uint32_t slot_bytes)
      : region(MpscRing::bytes_for(capacity, slot_bytes)),
        consumer(MpscRing::create(region.mem, region.size, capacity, slot_bytes).release_value()) {}
  MpscRing producer() { return MpscRing::attach(region.mem, region.size).release_value(); }
  Region region;
  MpscRing consumer;
  Note consumer_note;
  Note space_note;
};
using Rig = BasicRig<HostNotification>;

struct StressResult {
  uint64_t received = 0;
  uint64_t errors = 0;
};

// Each producer sends `per_producer` Messages with `mode`; in kFail mode it yields and retries on
// kWouldBlock. The consumer blocks in recv() and checks order per producer.
template <typename RigType>
StressResult run_stress(RigType& rig, uint32_t producers, uint64_t per_producer, Backpressure mode,
                        std::atomic<uint64_t>* would_block = nullptr) {
  std::vector<std::thread> threads;
  std::atomic<uint64_t> send_errors{0};
  for (uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      MpscRing ring = rig.producer();
      for (uint64_t i = 0; i < per_producer; ++i) {
        Message m{p, static_cast<uint32_t>(p * 31 + i), i};
        for (;;) {
          Status st =
              send(ring, &m, sizeof(m), mode, rig.consumer_note, rig.space_note, kTimeoutNs);
          if (st.ok()) break;
          if (mode == Backpressure::kFail && st.error() == Error::kWouldBlock) {
            if (would_block != nullptr) would_block->fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();
            continue;
          }
          send_errors.fetch_add(1);
          return;
        }
      }
    });
  }
  StressResult result;
  std::vector<uint64_t> next(producers, 0);
  uint64_t total = producers * per_producer;
  while (result.received < total) {
    Message m;
    Result<usize> got =
        recv(rig.consumer, &m, sizeof(m), rig.consumer_note, rig.space_note, kTimeoutNs);
    if (!got.ok() || *got != sizeof(m) || m.producer >= producers || m.seq != next[m.producer] ||
        m.check != static_cast<uint32_t>(m.producer * 31 + m.seq)) {
      ++result.errors;
      ADD_FAILURE() << "bad receive: "
                    << (got.ok() ? "out of order / duplicate / torn" : error_name(got.error()));
      break;
    }
    ++next[m.producer];
    ++result.received;
  }
  for (auto& t : threads) t.join();
  result.errors += send_errors.load();
  uint8_t extra[32];
  EXPECT_EQ(rig.consumer.try_recv(extra, sizeof(extra)).error(), Error::kWouldBlock);
  return result;
}

class MpscStress : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MpscStress, NoLossNoDuplicationPerProducerOrder) {
  constexpr uint64_t kPerProducer = 200'000;
  Rig rig(64, sizeof(Message));
  StressResult r = run_stress(rig, GetParam(), kPerProducer, Backpressure::kWait);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.received, GetParam() * kPerProducer);
  EXPECT_EQ(rig.consumer_note.timeouts(), 0u);
  EXPECT_EQ(rig.space_note.timeouts(), 0u);
}

TEST_P(MpscStress, FailModeRetriesDeliverEverything) {
  constexpr uint64_t kPerProducer = 50'000;
  Rig rig(8, sizeof(Message));
  std::atomic<uint64_t> would_block{0};
  StressResult r = run_stress(rig, GetParam(), kPerProducer, Backpressure::kFail, &would_block);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.received, GetParam() * kPerProducer);
  // Fail-mode producers never sleep on the space notification.
  EXPECT_EQ(rig.space_note.waits(), 0u);
  EXPECT_EQ(rig.consumer_note.timeouts(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Producers, MpscStress, ::testing::Values(1u, 2u, 4u));

TEST(MpscBackpressure, FailModeReturnsWouldBlockWhenFull) {
  Rig rig(4, 16);
  MpscRing p = rig.producer();
  uint64_t v = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        send(p, &v, sizeof(v), Backpressure::kFail, rig.consumer_note, rig.space_note).ok());
  }
  EXPECT_EQ(send(p, &v, sizeof(v), Backpressure::kFail, rig.consumer_note, rig.space_note).error(),
            Error::kWouldBlock);
  EXPECT_EQ(rig.space_note.waits(), 0u);
}

TEST(MpscBackpressure, WaitModeBlocksUntilTheConsumerDrains) {
  Rig rig(4, 16);
  for (int round = 0; round < 20; ++round) {
    MpscRing p = rig.producer();
    uint64_t v = 0;
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(
          send(p, &v, sizeof(v), Backpressure::kFail, rig.consumer_note, rig.space_note).ok());
    }
    std::atomic<bool> done{false};
    std::thread producer([&] {
      MpscRing ring = rig.producer();
      uint64_t x = 42;
      Status st = send(ring, &x, sizeof(x), Backpressure::kWait, rig.consumer_note, rig.space_note,
                       kTimeoutNs);
      EXPECT_TRUE(st.ok());
      done.store(true);
    });
    std::this_thread::sleep_for(2ms);
    EXPECT_FALSE(done.load());  // still blocked: the ring is full
    uint64_t out;
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(recv(rig.consumer, &out, sizeof(out), rig.consumer_note, rig.space_note).ok());
    }
    producer.join();
    EXPECT_TRUE(done.load());
    ASSERT_TRUE(
        recv(rig.consumer, &out, sizeof(out), rig.consumer_note, rig.space_note, kTimeoutNs).ok());
    EXPECT_EQ(out, 42u);
  }
  EXPECT_EQ(rig.space_note.timeouts(), 0u);
}

TEST(MpscBackpressure, WaitModeTimesOutWhenNobodyDrains) {
  Rig rig(2, 16);
  MpscRing p = rig.producer();
  uint64_t v = 0;
  ASSERT_TRUE(send(p, &v, sizeof(v), Backpressure::kWait, rig.consumer_note, rig.space_note).ok());
  ASSERT_TRUE(send(p, &v, sizeof(v), Backpressure::kWait, rig.consumer_note, rig.space_note).ok());
  EXPECT_EQ(
      send(p, &v, sizeof(v), Backpressure::kWait, rig.consumer_note, rig.space_note, 1'000'000)
          .error(),
      Error::kTimedOut);
  uint64_t out;
  Rig empty(2, 16);
  EXPECT_EQ(
      recv(empty.consumer, &out, sizeof(out), empty.consumer_note, empty.space_note, 1'000'000)
          .error(),
      Error::kTimedOut);
}

// Producers send in bursts separated by pauses so the consumer repeatedly drains the ring and goes
// to sleep, and producers repeatedly fill it and wait. Every sleep on either side must end by a
// signal (a lost wake-up would surface as a timeout), and each announcement is signalled at most
// once (suppression).
TEST(MpscWakeups, NoLostWakeupsAndSuppressedSignals) {
  constexpr uint32_t kProducers = 3;
  constexpr uint64_t kPerProducer = 30'000;
  Rig rig(16, sizeof(Message));
  std::atomic<uint64_t> consumer_wake_flags{0};
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      MpscRing ring = rig.producer();
      for (uint64_t i = 0; i < kPerProducer; ++i) {
        Message m{p, static_cast<uint32_t>(p * 31 + i), i};
        bool sent = false;
        while (!sent) {
          bool wake = false;
          Status st = ring.try_send(&m, sizeof(m), &wake);
          if (wake) {
            consumer_wake_flags.fetch_add(1, std::memory_order_relaxed);
            rig.consumer_note.signal();
          }
          if (st.ok()) {
            sent = true;
          } else {
            ASSERT_EQ(st.error(), Error::kWouldBlock);
            uint64_t token = rig.space_note.prepare();
            if (ring.prepare_wait_space()) {
              ASSERT_TRUE(rig.space_note.wait(token, kTimeoutNs)) << "lost wake-up: producer";
            }
          }
        }
        if (i % 97 == p) std::this_thread::sleep_for(20us);
      }
    });
  }
  uint64_t sleeps_announced = 0;
  uint64_t producer_wakes = 0;
  uint64_t received = 0;
  std::vector<uint64_t> next(kProducers, 0);
  while (received < kProducers * kPerProducer) {
    Message m;
    Result<usize> got = rig.consumer.try_recv(&m, sizeof(m));
    if (rig.consumer.take_wake_producers()) {
      ++producer_wakes;
      rig.space_note.signal();
    }
    if (got.ok()) {
      ASSERT_EQ(m.seq, next[m.producer]);
      ++next[m.producer];
      ++received;
      // Slow the consumer now and then so the ring fills and producers must wait.
      if (received % 5000 == 0) std::this_thread::sleep_for(1ms);
      continue;
    }
    ASSERT_EQ(got.error(), Error::kWouldBlock);
    uint64_t token = rig.consumer_note.prepare();
    ++sleeps_announced;
    if (!rig.consumer.prepare_sleep()) continue;
    ASSERT_TRUE(rig.consumer_note.wait(token, kTimeoutNs)) << "lost wake-up: consumer slept on";
    rig.consumer.cancel_sleep();
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(rig.consumer_note.timeouts(), 0u);
  EXPECT_EQ(rig.space_note.timeouts(), 0u);
  // Suppression: at most one consumer signal per announcement, far fewer than messages.
  EXPECT_EQ(rig.consumer_note.signals(), consumer_wake_flags.load());
  EXPECT_LE(rig.consumer_note.signals(), sleeps_announced);
  EXPECT_LT(rig.consumer_note.signals(), received);
  EXPECT_GT(rig.consumer_note.waits(), 0u);
  EXPECT_EQ(rig.space_note.signals(), producer_wakes);
  std::printf(
      "wake-ups: %llu messages, %llu consumer sleeps announced, %llu consumer waits, "
      "%llu consumer signals, %llu producer waits, %llu producer signals\n",
      static_cast<unsigned long long>(received), static_cast<unsigned long long>(sleeps_announced),
      static_cast<unsigned long long>(rig.consumer_note.waits()),
      static_cast<unsigned long long>(rig.consumer_note.signals()),
      static_cast<unsigned long long>(rig.space_note.waits()),
      static_cast<unsigned long long>(rig.space_note.signals()));
}

// Every message is the last one for a while: the producer sends only after the consumer has
// received its previous message, so its send races with the consumer going to sleep (the
// consumer sleeps right after receiving). A lost wake-up leaves the consumer asleep with a
// message queued, which the short timeout turns into a counted failure instead of a hang.
TEST(MpscWakeups, PingPongNeverStrandsTheLastMessage) {
  // One producer: with more, a stranded message would be rescued by another producer's signal.
  constexpr uint32_t kProducers = 1;
  constexpr uint64_t kRounds = 100'000;
  constexpr uint64_t kShortTimeoutNs = 2'000'000'000ull;
  Rig rig(8, sizeof(Message));
  std::atomic<uint64_t> acked[kProducers] = {};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      MpscRing ring = rig.producer();
      for (uint64_t i = 0; i < kRounds && !stop.load(); ++i) {
        // Busy-wait (bounded by the consumer's timeout) so the send lands within nanoseconds of
        // the consumer's decision to sleep; yielding would make the race rare.
        while (acked[p].load(std::memory_order_acquire) != i && !stop.load()) {
        }
        Message m{p, static_cast<uint32_t>(p * 31 + i), i};
        EXPECT_TRUE(send(ring, &m, sizeof(m), Backpressure::kWait, rig.consumer_note,
                         rig.space_note, kShortTimeoutNs)
                        .ok());
      }
    });
  }
  uint64_t received = 0;
  uint64_t timeouts = 0;
  while (received < kProducers * kRounds) {
    Message m;
    Result<usize> got =
        recv(rig.consumer, &m, sizeof(m), rig.consumer_note, rig.space_note, kShortTimeoutNs);
    // recv() looks once more after a timed-out sleep, so a lost wake-up may still deliver; the
    // notification's timeout count is what betrays it.
    if (!got.ok() || rig.consumer_note.timeouts() != 0) {
      ++timeouts;
      break;
    }
    ASSERT_LT(m.producer, kProducers);
    ASSERT_EQ(m.seq, acked[m.producer].load());
    acked[m.producer].store(m.seq + 1, std::memory_order_release);
    ++received;
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(timeouts, 0u) << "lost wake-up after " << received << " messages";
  EXPECT_EQ(received, kProducers * kRounds);
  // Nearly every message found the consumer asleep or about to sleep, so the flag was busy.
  EXPECT_GT(rig.consumer_note.signals(), 0u);
}

// A two-slot ring drained one message at a time at random moments, so the consumer's frees race
// with a producer deciding to wait for space. A lost wake-up strands the producer (and then the
// consumer, which sleeps on the empty ring): the short timeout turns that into a failure.
TEST(MpscWakeups, TinyRingNeverStrandsAWaitingProducer) {
  constexpr uint64_t kMessages = 30'000;
  constexpr uint64_t kShortTimeoutNs = 2'000'000'000ull;
  Rig rig(2, sizeof(Message));
  std::atomic<uint64_t> producer_timeouts{0};
  std::thread producer([&] {
    MpscRing ring = rig.producer();
    for (uint64_t i = 0; i < kMessages; ++i) {
      Message m{0, static_cast<uint32_t>(i), i};
      Status st = send(ring, &m, sizeof(m), Backpressure::kWait, rig.consumer_note, rig.space_note,
                       kShortTimeoutNs);
      if (!st.ok()) {
        producer_timeouts.fetch_add(1);
        return;
      }
    }
  });
  uint64_t received = 0;
  uint32_t jitter = 12345;
  while (received < kMessages) {
    Message m;
    Result<usize> got =
        recv(rig.consumer, &m, sizeof(m), rig.consumer_note, rig.space_note, kShortTimeoutNs);
    if (!got.ok()) break;
    ASSERT_EQ(m.seq, received);
    ++received;
    jitter = jitter * 1103515245u + 12345u;
    for (uint32_t spin = (jitter >> 16) % 512; spin != 0; --spin) {
      std::atomic_signal_fence(std::memory_order_seq_cst);  // keeps the delay loop
    }
  }
  producer.join();
  EXPECT_EQ(producer_timeouts.load(), 0u);
  EXPECT_EQ(rig.space_note.timeouts(), 0u);
  EXPECT_EQ(rig.consumer_note.timeouts(), 0u);
  EXPECT_EQ(received, kMessages);
  EXPECT_GT(rig.space_note.waits(), 0u);
}

// The kernel's notification wakes one waiter per signal (HostWakeOneNotification models it).
// Several producers sleep on a full two-slot ring at once while the consumer drains at random
// speeds; one announcement gets one signal, so without the baton in send() (a producer that
// slept signals again when it leaves) the others stay asleep until their per-wait timeout,
// which counts as a failure here.
TEST(MpscWakeOne, SeveralWaitingProducersAreAllWoken) {
  constexpr uint32_t kProducers = 4;
  constexpr uint64_t kPerProducer = 20'000;
  BasicRig<HostWakeOneNotification> rig(2, sizeof(Message));
  StressResult r = run_stress(rig, kProducers, kPerProducer, Backpressure::kWait);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.received, kProducers * kPerProducer);
  EXPECT_EQ(rig.space_note.timeouts(), 0u);
  EXPECT_EQ(rig.consumer_note.timeouts(), 0u);
  EXPECT_GT(rig.space_note.waits(), 0u);
}

TEST(MpscWakeOne, StressWithWakeOneNotifications) {
  for (uint32_t producers : {1u, 2u, 4u}) {
    BasicRig<HostWakeOneNotification> rig(64, sizeof(Message));
    StressResult r = run_stress(rig, producers, 50'000, Backpressure::kWait);
    EXPECT_EQ(r.errors, 0u);
    EXPECT_EQ(r.received, producers * 50'000u);
    EXPECT_EQ(rig.space_note.timeouts(), 0u);
    EXPECT_EQ(rig.consumer_note.timeouts(), 0u);
  }
}

}  // namespace
}  // namespace exo::channel
