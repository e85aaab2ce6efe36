// Notifications: bits under a spinlock, waiters on a wait queue.
#include "kernel/ipc/notification.h"

#include "kernel/lib/new.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/thread.h"

namespace exo::ipc {

namespace {
// Guards Thread::waiting_on_notification, so a killer can take a reference to the
// notification a thread waits on without racing its return (the waiter's own reference keeps
// the object alive while the field is set).
constinit Spinlock g_waiting_lock;

void set_waiting(Thread& self, Notification* n) {
  uint64_t flags = g_waiting_lock.acquire();
  self.waiting_on_notification = n;
  g_waiting_lock.release(flags);
}
}  // namespace

void interrupt_notification_wait(Thread& thread) {
  uint64_t flags = g_waiting_lock.acquire();
  auto* n = static_cast<Notification*>(thread.waiting_on_notification);
  if (n != nullptr) n->add_ref();
  g_waiting_lock.release(flags);
  if (n == nullptr) return;
  n->interrupt(thread);
  if (n->release()) n->destroy();
}

Result<object::RefPtr<Notification>> Notification::create() {
  void* memory = mm::heap_allocate(sizeof(Notification), alignof(Notification));
  if (memory == nullptr) return Error::kNoMemory;
  return object::adopt_ref(new (memory) Notification());
}

void Notification::destroy() {
  this->~Notification();
  mm::heap_free(this);
}

void Notification::signal(uint64_t bits) {
  uint64_t flags = lock_.acquire();
  bits_ |= bits;
  // Woken under the lock: the waiter may have a deadline (block_on_until).
  if (sched::SchedEntity* waiter = bits_ != 0 ? waiters_.wake_one() : nullptr) {
    wake(*static_cast<Thread*>(waiter));
  }
  lock_.release(flags);
  preempt_if_needed();
}

Result<uint64_t> Notification::wait(Thread& self, uint64_t deadline) {
  set_waiting(self, this);
  Result<uint64_t> result = wait_locked_loop(self, deadline);
  set_waiting(self, nullptr);
  return result;
}

Result<uint64_t> Notification::wait_locked_loop(Thread& self, uint64_t deadline) {
  for (;;) {
    uint64_t flags = lock_.acquire();
    if (bits_ != 0) {
      uint64_t bits = bits_;
      bits_ = 0;
      lock_.release(flags);
      return bits;
    }
    if (deadline == kNoWait) {
      lock_.release(flags);
      return Error::kWouldBlock;
    }
    if (self.kill_requested()) {
      lock_.release(flags);
      return Error::kPeerClosed;
    }
    if (block_on_until(waiters_, lock_, &flags, deadline) == WaitResult::kTimedOut) {
      (void)waiters_.remove(self);
      lock_.release(flags);
      return Error::kTimedOut;
    }
  }
}

void Notification::interrupt(Thread& thread) {
  uint64_t flags = lock_.acquire();
  if (waiters_.remove(thread)) wake(thread);
  lock_.release(flags);
}

}  // namespace exo::ipc
