// Wait-queue operations that are not one-liners (see wait_queue.h).
#include "kernel/sched/wait_queue.h"

namespace exo::sched {

usize PriorityWaitQueue::wake_all(WakeList& out) {
  usize n = 0;
  while (SchedEntity* e = waiters_.pop_highest()) {
    out.push_back(*e);
    ++n;
  }
  return n;
}

void PriorityWaitQueue::change_priority(SchedEntity& e, uint8_t new_priority) {
  EXO_SCHED_CHECK(new_priority < kPriorityLevels);
  bool queued = waiters_.contains(e);
  if (queued) waiters_.remove(e);
  e.priority_ = new_priority;
  if (queued) waiters_.push_back(e);
}

}  // namespace exo::sched
