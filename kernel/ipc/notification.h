// Notifications: a word of signal bits that `signal` ORs in and `wait` takes out (returning and
// clearing them), the asynchronous half of IPC. An IRQ line can be bound to one, so an
// interrupt becomes a signal for a user-space driver (docs/ipc.md).
#pragma once

#include "kernel/ipc/deadline.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/object/kernel_object.h"
#include "kernel/object/ref_counted.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"

namespace exo {
class Thread;
}

namespace exo::ipc {

class Notification final : public object::KernelObject {
 public:
  static constexpr object::ObjectType kType = object::ObjectType::kNotification;
  static Result<object::RefPtr<Notification>> create();
  void destroy() override;

  // ORs `bits` into the word and wakes one waiter (any context, interrupts included).
  void signal(uint64_t bits);
  // The bits set, cleared; waits while they are 0, until `deadline` at most (kNoWait:
  // kWouldBlock at once; a time: kTimedOut after it; kForever). kPeerClosed when the waiting
  // thread is being killed.
  Result<uint64_t> wait(Thread& self, uint64_t deadline);
  // Wakes `thread` if it waits here (its process is being killed).
  void interrupt(Thread& thread);

 private:
  Notification() : KernelObject(kType) {}
  Result<uint64_t> wait_locked_loop(Thread& self, uint64_t deadline);
  Spinlock lock_;
  uint64_t bits_ = 0;
  sched::WaitQueue waiters_;
};

// Wakes `thread` from a notification wait, if it is in one (its process is being killed; the
// kill flag is already set).
void interrupt_notification_wait(Thread& thread);

}  // namespace exo::ipc
