// Benchmark: MPSC ring throughput (messages/s, ns/message) for 1, 2 and 4 producers and 16- and
// 64-byte messages, beside moodycamel::ConcurrentQueue when its header is installed.
//
//   bench_mpsc_ring [--total N] [--reps R]
//
// Every configuration moves N messages in total (split evenly over the producers) from the
// moment all threads are released until the consumer has received the last one; the figure
// printed is the median of R repetitions, with the slowest and fastest beside it. Output is a
// Markdown table for docs/benchmarks.md.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "libsys/include/exo/channel/host_notification.h"
#include "libsys/include/exo/channel/mpsc_ring.h"
#include "libsys/include/exo/channel/ring_wait.h"

#if EXO_HAVE_MOODYCAMEL
#include <concurrentqueue/concurrentqueue.h>
#endif

namespace {

using exo::usize;
using exo::channel::Backpressure;
using exo::channel::HostNotification;
using exo::channel::MpscRing;

constexpr uint32_t kRingCapacity = 1024;

template <usize N>
struct Msg {
  uint64_t producer_seq;  // producer << 48 | sequence
  uint8_t pad[N - 8];
};

struct Sample {
  double seconds;
  uint64_t checksum;
};

// Releases every thread at once so thread start-up is not timed.
class StartGate {
 public:
  void wait() {
    while (!open_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  void open() { open_.store(true, std::memory_order_release); }

 private:
  std::atomic<bool> open_{false};
};

using Clock = std::chrono::steady_clock;

// The spinning loops' back-off: retry at once a few times, then yield, so that a thread waiting
// on the other core does not hand its CPU to unrelated processes at every miss.
class Backoff {
 public:
  void miss() {
    if (++misses_ >= 64) {
      misses_ = 0;
      std::this_thread::yield();
    }
  }
  void hit() { misses_ = 0; }

 private:
  uint32_t misses_ = 0;
};

enum class RingMode { kWait, kSpin };

// Exo ring. kWait: ring_wait.h's send/recv with HostNotification (consumer sleeps when empty,
// producers sleep when full). kSpin: try_send/try_recv retried with Backoff, like the moodycamel
// loop below (no sleeping, no signals).
template <usize N>
Sample run_ring(RingMode mode, uint32_t producers, uint64_t total) {
  usize bytes = MpscRing::bytes_for(kRingCapacity, N);
  void* mem = aligned_alloc(64, bytes);
  MpscRing consumer = MpscRing::create(mem, bytes, kRingCapacity, N).release_value();
  HostNotification consumer_note;
  HostNotification space_note;
  StartGate gate;
  uint64_t per = total / producers;
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      MpscRing ring = MpscRing::attach(mem, bytes).release_value();
      Msg<N> m;
      memset(&m, 0, sizeof(m));
      gate.wait();
      for (uint64_t i = 0; i < per; ++i) {
        m.producer_seq = (uint64_t{p} << 48) | i;
        if (mode == RingMode::kWait) {
          if (!send(ring, &m, sizeof(m), Backpressure::kWait, consumer_note, space_note).ok()) {
            abort();
          }
        } else {
          Backoff backoff;
          for (;;) {
            bool wake;
            exo::Status st = ring.try_send(&m, sizeof(m), &wake);
            if (st.ok()) break;
            backoff.miss();
          }
        }
      }
    });
  }
  uint64_t expected = per * producers;
  uint64_t checksum = 0;
  Msg<N> m;
  Backoff backoff;
  auto start = Clock::now();
  gate.open();
  for (uint64_t got = 0; got < expected;) {
    if (mode == RingMode::kWait) {
      if (!recv(consumer, &m, sizeof(m), consumer_note, space_note).ok()) abort();
    } else {
      exo::Result<usize> r = consumer.try_recv(&m, sizeof(m));
      if (!r.ok()) {
        backoff.miss();
        continue;
      }
      backoff.hit();
    }
    checksum += m.producer_seq;
    ++got;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : threads) t.join();
  free(mem);
  return {seconds, checksum};
}

#if EXO_HAVE_MOODYCAMEL
// moodycamel::ConcurrentQueue with a producer token per thread and a consumer token (its fast
// path). It is unbounded (allocates blocks as needed) and has no sleep/wake-up, so the consumer
// spins with Backoff, as the ring's kSpin mode does.
template <usize N>
Sample run_moodycamel(uint32_t producers, uint64_t total) {
  moodycamel::ConcurrentQueue<Msg<N>> queue(kRingCapacity * 2);
  StartGate gate;
  uint64_t per = total / producers;
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      moodycamel::ProducerToken token(queue);
      Msg<N> m;
      memset(&m, 0, sizeof(m));
      gate.wait();
      for (uint64_t i = 0; i < per; ++i) {
        m.producer_seq = (uint64_t{p} << 48) | i;
        Backoff backoff;
        while (!queue.enqueue(token, m)) backoff.miss();
      }
    });
  }
  moodycamel::ConsumerToken ctoken(queue);
  uint64_t expected = per * producers;
  uint64_t checksum = 0;
  Msg<N> m;
  Backoff backoff;
  auto start = Clock::now();
  gate.open();
  for (uint64_t got = 0; got < expected;) {
    if (!queue.try_dequeue(ctoken, m)) {
      backoff.miss();
      continue;
    }
    backoff.hit();
    checksum += m.producer_seq;
    ++got;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : threads) t.join();
  return {seconds, checksum};
}
#endif

uint64_t expected_checksum(uint32_t producers, uint64_t total) {
  uint64_t per = total / producers;
  uint64_t sum = 0;
  for (uint64_t p = 0; p < producers; ++p) sum += per * (p << 48) + per * (per - 1) / 2;
  return sum;
}

template <typename Run>
void report(const char* impl, uint32_t producers, usize size, uint64_t total, int reps, Run run) {
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    Sample s = run();
    if (s.checksum != expected_checksum(producers, total)) {
      fprintf(stderr, "%s: checksum mismatch (lost or duplicated messages)\n", impl);
      exit(1);
    }
    seconds.push_back(s.seconds);
  }
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2];
  double moved = static_cast<double>(total / producers * producers);
  printf("| %-20s | %u%s | %3zu B | %6.2f M/s | %6.1f ns | %5.2f-%5.2f M/s |\n", impl, producers,
         producers + 1 > std::thread::hardware_concurrency() ? " (oversubscribed)" : "", size,
         moved / median / 1e6, median * 1e9 / moved, moved / seconds.back() / 1e6,
         moved / seconds.front() / 1e6);
  fflush(stdout);
}

template <usize N>
void run_size(uint32_t producers, uint64_t total, int reps) {
  report("exo MpscRing, wait", producers, N, total, reps,
         [&] { return run_ring<N>(RingMode::kWait, producers, total); });
  report("exo MpscRing, spin", producers, N, total, reps,
         [&] { return run_ring<N>(RingMode::kSpin, producers, total); });
#if EXO_HAVE_MOODYCAMEL
  report("moodycamel CQ, spin", producers, N, total, reps,
         [&] { return run_moodycamel<N>(producers, total); });
#endif
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t total = 4'000'000;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--total") == 0) total = strtoull(argv[i + 1], nullptr, 0);
    if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
  }
  if (total < 4 || reps < 1) {
    fprintf(stderr, "usage: %s [--total N>=4] [--reps R>=1]\n", argv[0]);
    return 2;
  }
  double load[1] = {0};
  getloadavg(load, 1);
  printf(
      "MPSC ring benchmark: %llu messages per configuration, median of %d, ring capacity %u, "
      "%u hardware threads, load average %.2f at start%s\n\n",
      static_cast<unsigned long long>(total), reps, kRingCapacity,
      std::thread::hardware_concurrency(), load[0],
#if EXO_HAVE_MOODYCAMEL
      ""
#else
      " (moodycamel ConcurrentQueue not installed: comparison skipped)"
#endif
  );
  printf("| implementation       | producers | message | median | per message | range |\n");
  printf("|---|---|---|---|---|---|\n");
  for (uint32_t producers : {1u, 2u, 4u}) {
    run_size<16>(producers, total, reps);
    run_size<64>(producers, total, reps);
  }
  getloadavg(load, 1);
  printf("\nload average %.2f at end (other processes on the machine skew the figures)\n", load[0]);
  return 0;
}
