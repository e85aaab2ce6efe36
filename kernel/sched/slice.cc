// Time-slice accounting and the tick policy (see slice.h).
#include "kernel/sched/slice.h"

namespace exo::sched {

bool on_tick(RunQueue& rq, uint64_t now_ns) {
  SchedEntity* current = rq.current();
  if (current == nullptr) return rq.ready_count() != 0;
  uint64_t left = rq.charge_current(now_ns);
  int waiting = rq.highest_ready_priority();
  if (waiting > current->priority_) return true;
  if (left != 0) return false;
  if (waiting == current->priority_) return true;
  current->slice_left_ns_ = current->slice_ns_;
  return false;
}

bool should_preempt_on_wakeup(const RunQueue& rq, const SchedEntity& woken) {
  const SchedEntity* current = rq.current();
  return current == nullptr || woken.priority_ > current->priority_;
}

void requeue_preempted(RunQueue& rq, SchedEntity& e) {
  if (e.slice_left_ns_ == 0) {
    e.slice_left_ns_ = e.slice_ns_;
    rq.enqueue(e);
  } else {
    rq.enqueue_front(e);
  }
}

SchedEntity* preempt_and_pick(RunQueue& rq, uint64_t now_ns) {
  rq.charge_current(now_ns);
  SchedEntity* previous = rq.clear_current();
  if (previous != nullptr) requeue_preempted(rq, *previous);
  return rq.pick_next(now_ns);
}

}  // namespace exo::sched
