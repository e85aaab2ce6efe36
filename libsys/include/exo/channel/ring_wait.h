// Blocking send and receive over an MpscRing: the sleep/wake and wait-for-space protocols of
// docs/channels.md, written once against any notification type so the kernel's notification
// objects, ring 3 and the host tests (HostNotification) share the same, checked sequence.
#pragma once

#include "mpsc_ring.h"

namespace exo::channel {

// What try_send's caller wants when the ring is full.
enum class Backpressure : uint8_t {
  kFail,  // return kWouldBlock at once
  kWait,  // sleep on the space notification until the consumer frees a slot
};

inline constexpr uint64_t kWaitForever = ~uint64_t{0};

// A Notification must provide, callable from any thread:
//   static constexpr bool kWakesAll;                true: signal() wakes every current waiter
//                                                   (a futex broadcast); false: it wakes one,
//                                                   or leaves a pending bit for the next wait
//   uint64_t prepare();                             a wait token, taken BEFORE the ring's
//                                                   prepare_sleep()/prepare_wait_space()
//   bool wait(uint64_t token, uint64_t timeout_ns); sleeps unless signal() ran since prepare()
//                                                   returned `token` (it may also return early
//                                                   for an older signal); false on timeout
//   void signal();
// Several producers may sleep on the space notification at once, and one announcement in
// producers_waiting gets one signal. With a wake-one notification (the kernel's) that signal
// reaches one producer and the others would be stranded, so a producer that slept passes the
// wake-up on (signals again) when it leaves send(): the baton of docs/channels.md, "Several
// producers waiting for space".

// Sends one message. With kWait, each sleep lasts at most timeout_ns; when it expires and the
// ring is still full the result is kTimedOut. Other errors are try_send's. *rang_doorbell (if
// given) is set when this send woke the consumer, which had announced that it sleeps.
template <typename Notification>
Status send(MpscRing& ring, const void* msg, usize len, Backpressure mode,
            Notification& consumer_note, Notification& space_note,
            uint64_t timeout_ns = kWaitForever, bool* rang_doorbell = nullptr) {
  bool timed_out = false;
  bool slept = false;
  for (;;) {
    bool wake = false;
    Status status = ring.try_send(msg, len, &wake);
    if (wake) {
      consumer_note.signal();
      if (rang_doorbell != nullptr) *rang_doorbell = true;
    }
    if (status.ok() || status.error() != Error::kWouldBlock || mode == Backpressure::kFail ||
        timed_out) {
      // The baton: this producer may have taken the only signal meant for all waiters.
      if (!Notification::kWakesAll && slept) space_note.signal();
      if (!status.ok() && status.error() == Error::kWouldBlock && timed_out) return Error::kTimedOut;
      return status;
    }
    uint64_t token = space_note.prepare();
    if (!ring.prepare_wait_space()) continue;
    timed_out = !space_note.wait(token, timeout_ns);
    slept = true;
  }
}

// Receives one message into buf[0, cap), sleeping while the ring is empty (each sleep at most
// timeout_ns; kTimedOut if still empty afterwards). Signals the space notification when a
// producer waits for the slot it freed. Consumer thread only. Other errors are try_recv's.
template <typename Notification>
Result<usize> recv(MpscRing& ring, void* buf, usize cap, Notification& consumer_note,
                   Notification& space_note, uint64_t timeout_ns = kWaitForever) {
  bool timed_out = false;
  for (;;) {
    Result<usize> result = ring.try_recv(buf, cap);
    if (ring.take_wake_producers()) space_note.signal();
    if (result.ok() || result.error() != Error::kWouldBlock) return result;
    if (timed_out) return Error::kTimedOut;
    uint64_t token = consumer_note.prepare();
    if (!ring.prepare_sleep()) continue;
    timed_out = !consumer_note.wait(token, timeout_ns);
    ring.cancel_sleep();
  }
}

}  // namespace exo::channel
