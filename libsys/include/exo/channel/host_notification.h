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

// What both host notifications share: the lock and condition variable they sleep on, a wait
// that treats anything over a year as forever, and the counters tests read.
class HostNotificationBase {
 public:
  uint64_t signals() const { return signals_.load(std::memory_order_relaxed); }
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }
  uint64_t timeouts() const { return timeouts_.load(std::memory_order_relaxed); }

 protected:
  // Sleeps until ready() (checked under mutex_) or timeout_ns (anything over a year: forever,
  // and beyond the clock's arithmetic) passes; false on timeout. Counts the wait and timeouts.
  template <typename Ready>
  bool sleep_until(std::unique_lock<std::mutex>& lock, uint64_t timeout_ns, Ready ready) {
    waits_.fetch_add(1, std::memory_order_relaxed);
    if (timeout_ns > kForeverNs) {
      cv_.wait(lock, ready);
      return true;
    }
    if (cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), ready)) return true;
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  void count_signal() { signals_.fetch_add(1, std::memory_order_relaxed); }

  std::mutex mutex_;
  std::condition_variable cv_;

 private:
  static constexpr uint64_t kForeverNs = 365ull * 24 * 3600 * 1'000'000'000ull;
  std::atomic<uint64_t> signals_{0};
  std::atomic<uint64_t> waits_{0};
  std::atomic<uint64_t> timeouts_{0};
};

// Models the Notification requirements of ring_wait.h. Every signal bumps an epoch and wakes all
// waiters; wait(token) returns at once if the epoch moved past `token`, so a signal that lands
// between prepare() and wait() is never lost. Counters let tests check wake-up suppression.
// Thread-safe.
class HostNotification : public HostNotificationBase {
 public:
  static constexpr bool kWakesAll = true;
  uint64_t prepare() const { return epoch_.load(std::memory_order_acquire); }

  // Returns false when timeout_ns (UINT64_MAX, or anything over a year: forever) expired without a
  // signal since `token`.
  bool wait(uint64_t token, uint64_t timeout_ns) {
    std::unique_lock<std::mutex> lock(mutex_);
    return sleep_until(lock, timeout_ns, [&] { return epoch_.load(std::memory_order_relaxed) != token; });
  }

  void signal() {
    count_signal();
    {
      // The increment is under the mutex so that a waiter between its predicate check and its
      // block on cv_ cannot miss it.
      std::lock_guard<std::mutex> lock(mutex_);
      epoch_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
  }

 private:
  std::atomic<uint64_t> epoch_{0};
};

// Models the kernel's notification object (kernel/ipc/notification.cc) for host tests of the
// ring_wait.h protocol: signal() ORs a pending bit and wakes ONE waiter; wait() returns at once
// and clears the bit if it is set, and otherwise sleeps until it is. The token is unused: a
// pending bit is what keeps a signal between prepare() and wait() from being lost. Thread-safe.
class HostWakeOneNotification : public HostNotificationBase {
 public:
  static constexpr bool kWakesAll = false;
  uint64_t prepare() const { return 0; }

  bool wait(uint64_t, uint64_t timeout_ns) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!sleep_until(lock, timeout_ns, [&] { return bits_ != 0; })) return false;
    bits_ = 0;
    return true;
  }

  void signal() {
    count_signal();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bits_ = 1;
    }
    cv_.notify_one();
  }

 private:
  uint64_t bits_ = 0;  // guarded by mutex_
};

}  // namespace exo::channel
