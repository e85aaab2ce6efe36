// HostNotification: a futex-style (epoch + broadcast) notification on std::mutex and
// std::condition_variable, standing in for the kernel's notification object in host tests and
// benchmarks of the channel rings. Host only.
#pragma once

#if !defined(EXO_HOST) || !__STDC_HOSTED__
#error "exo/channel/host_notification.h is for host tests and benchmarks (EXO_HOST) only"
#endif

#include <stdint.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace exo::channel {

// Models the Notification requirements of ring_wait.h. Every signal bumps an epoch and wakes all
// waiters; wait(token) returns at once if the epoch moved past `token`, so a signal that lands
// between prepare() and wait() is never lost. Counters let tests check wake-up suppression.
// Thread-safe.
class HostNotification {
 public:
  static constexpr bool kWakesAll = true;
  uint64_t prepare() const { return epoch_.load(std::memory_order_acquire); }

  // Returns false when timeout_ns (UINT64_MAX, or anything over a year: forever) expired without a
  // signal since `token`.
  bool wait(uint64_t token, uint64_t timeout_ns) {
    waits_.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock<std::mutex> lock(mutex_);
    auto moved = [&] { return epoch_.load(std::memory_order_relaxed) != token; };
    // Anything beyond a year is forever (and would overflow the clock's arithmetic).
    if (timeout_ns > kForeverNs) {
      cv_.wait(lock, moved);
      return true;
    }
    if (cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), moved)) return true;
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  void signal() {
    signals_.fetch_add(1, std::memory_order_relaxed);
    {
      // The increment is under the mutex so that a waiter between its predicate check and its
      // block on cv_ cannot miss it.
      std::lock_guard<std::mutex> lock(mutex_);
      epoch_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
  }

  uint64_t signals() const { return signals_.load(std::memory_order_relaxed); }
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }
  uint64_t timeouts() const { return timeouts_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kForeverNs = 365ull * 24 * 3600 * 1'000'000'000ull;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> signals_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> timeouts_{0};
};

// Models the kernel's notification object (kernel/ipc/notification.cc) for host tests of the
// ring_wait.h protocol: signal() ORs a pending bit and wakes ONE waiter; wait() returns at once
// and clears the bit if it is set, and otherwise sleeps until it is. The token is unused: a
// pending bit is what keeps a signal between prepare() and wait() from being lost. Thread-safe.
class HostWakeOneNotification {
 public:
  static constexpr bool kWakesAll = false;
  uint64_t prepare() const { return 0; }

  bool wait(uint64_t, uint64_t timeout_ns) {
    waits_.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock<std::mutex> lock(mutex_);
    auto pending = [&] { return bits_ != 0; };
    bool got = true;
    if (timeout_ns > kForeverNs) {
      cv_.wait(lock, pending);
    } else {
      got = cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), pending);
    }
    if (!got) {
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    bits_ = 0;
    return true;
  }

  void signal() {
    signals_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bits_ = 1;
    }
    cv_.notify_one();
  }

  uint64_t signals() const { return signals_.load(std::memory_order_relaxed); }
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }
  uint64_t timeouts() const { return timeouts_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kForeverNs = 365ull * 24 * 3600 * 1'000'000'000ull;

  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t bits_ = 0;  // guarded by mutex_
  std::atomic<uint64_t> signals_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> timeouts_{0};
};

}  // namespace exo::channel
