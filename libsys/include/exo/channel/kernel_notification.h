// KernelNotification: ring_wait.h's Notification over a kernel notification object (docs/ipc.md,
// "Notifications"; docs/channels.md, "Over kernel notifications"). Ring 3 only.
#pragma once

#include "exo/syscall.h"
#include "kernel/abi/ipc.h"

namespace exo::channel {

// The kernel object keeps a word of pending bits: signal() ORs bit 0 in and wakes one waiter;
// wait() returns at once (clearing the bits) if any are pending, else sleeps until signalled. A
// pending bit is what makes a signal between prepare() and wait() count, so the token is unused.
// One waiter per signal is why kWakesAll is false: ring_wait.h's send() then passes the wake-up
// on. Thread-safe (the kernel serialises); the handle is borrowed, not owned.
class KernelNotification {
 public:
  static constexpr bool kWakesAll = false;

  KernelNotification() = default;
  // signal() needs EXO_RIGHT_SIGNAL on `handle`, wait() EXO_RIGHT_WAIT.
  explicit KernelNotification(sys::Handle handle) : handle_(handle) {}

  sys::Handle handle() const { return handle_; }

  uint64_t prepare() const { return 0; }

  // False on timeout, and on any error from the kernel (a bad handle, a missing right, the
  // process being killed), so that the caller's loop ends with kTimedOut instead of spinning.
  // 0 polls once; ~0 waits for ever; anything else is a kernel deadline (EXO_IPC_DEADLINE).
  bool wait(uint64_t, uint64_t timeout_ns) {
    if (timeout_ns == ~uint64_t{0}) return sys::notification_wait(handle_).ok();
    if (timeout_ns == 0) return sys::notification_wait(handle_, EXO_IPC_NONBLOCK).ok();
    Result<uint64_t> start = sys::clock_get();
    if (!start.ok()) return false;
    uint64_t deadline = *start + timeout_ns < *start ? ~uint64_t{0} : *start + timeout_ns;
    return sys::notification_wait(handle_, EXO_IPC_DEADLINE, deadline).ok();
  }

  void signal() { (void)sys::notification_signal(handle_, 1); }

 private:
  sys::Handle handle_ = 0;
};

}  // namespace exo::channel
