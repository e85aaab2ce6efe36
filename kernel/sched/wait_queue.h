// Wait queues: blocked threads woken FIFO (WaitQueue) or by priority (PriorityWaitQueue).
#pragma once

#include "kernel/lib/intrusive_list.h"
#include "kernel/sched/priority_lists.h"
#include "kernel/sched/sched_entity.h"

namespace exo::sched {

// A batch of entities taken off a wait queue, to be made ready after the wait queue's lock is
// dropped (so a wait-queue lock is never held while taking a run-queue lock). Must be emptied
// before it is destroyed.
using WakeList = IntrusiveList<SchedEntity, WaitQueueTag>;

// Locking, for both queues: the lock of the object that owns the queue (endpoint, notification,
// futex bucket) guards it. Waking only unlinks; the caller then places each woken entity on a run
// queue (select_cpu_for_wakeup + RunQueue::enqueue), which is what marks it kReady.
// A thread waiting with a deadline is on a wait queue and on a CPU's timer queue at once, through
// separate links. When the deadline passes first, the timer makes it ready while it is still on
// the wait queue, and the thread takes itself off when it runs; when a waker comes first, wake()
// cancels the timer (block_on_until in kernel/sched/thread.h has the whole protocol).
class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  bool empty() const { return waiters_.empty(); }
  usize size() const { return waiters_.size(); }
  bool contains(const SchedEntity& e) const { return waiters_.contains(e); }

  // Appends `e` and marks it kBlocked. Preconditions: e is on no run or wait queue and is not
  // current on any CPU (the caller took it off with RunQueue::clear_current).
  void block(SchedEntity& e) {
    waiters_.push_back(e);
    e.state_ = ThreadState::kBlocked;
  }
  // The longest waiter, left in place; null when empty.
  SchedEntity* front() const { return waiters_.front(); }
  // Appends a thread already blocked that a waiter hands over from another wait queue of the same
  // owner (an IPC caller whose message was taken now waits for its reply). Its state is left
  // alone: when its deadline has passed it may be ready already (block_on_until).
  void move_in(SchedEntity& e) { waiters_.push_back(e); }
  // Unlinks the longest waiter; null when empty.
  SchedEntity* wake_one() { return waiters_.pop_front(); }
  // Moves every waiter to the tail of `out`, oldest first; returns how many.
  usize wake_all(WakeList& out) {
    usize n = waiters_.size();
    out.splice_back(waiters_);
    return n;
  }
  // Unlinks `e` if it waits here (timeout, kill); false otherwise.
  bool remove(SchedEntity& e) {
    if (!waiters_.contains(e)) return false;
    waiters_.remove(e);
    return true;
  }
  // Unlinks `e`, which the caller knows waits here (it just read it with front()).
  [[gnu::always_inline]] void take(SchedEntity& e) { waiters_.remove(e); }

 private:
  WakeList waiters_;
};

// As WaitQueue, but wake_one takes the most urgent waiter (FIFO among equals): senders queued on
// an IPC endpoint are served in priority order.
class PriorityWaitQueue {
 public:
  PriorityWaitQueue() = default;
  PriorityWaitQueue(const PriorityWaitQueue&) = delete;
  PriorityWaitQueue& operator=(const PriorityWaitQueue&) = delete;

  bool empty() const { return waiters_.empty(); }
  usize size() const { return waiters_.count(); }
  bool contains(const SchedEntity& e) const { return waiters_.contains(e); }

  // Preconditions as WaitQueue::block, and e.priority_ < kPriorityLevels.
  void block(SchedEntity& e) {
    waiters_.push_back(e);
    e.state_ = ThreadState::kBlocked;
  }
  // The waiter wake_one would take, left in place; null when empty.
  SchedEntity* peek() const { return waiters_.peek_highest(); }
  SchedEntity* wake_one() { return waiters_.pop_highest(); }
  // Moves every waiter to `out`, most urgent first; returns how many.
  usize wake_all(WakeList& out);
  bool remove(SchedEntity& e) {
    if (!waiters_.contains(e)) return false;
    waiters_.remove(e);
    return true;
  }
  // Re-files a waiter whose priority changed (priority inheritance, set_priority); it joins the
  // back of its new level. Precondition: new_priority < kPriorityLevels.
  void change_priority(SchedEntity& e, uint8_t new_priority);

 private:
  BasicPriorityLists<WaitQueueTag> waiters_;
};

}  // namespace exo::sched
