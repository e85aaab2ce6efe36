// RunQueue: the per-CPU ready queue operations (see run_queue.h for the locking rules).
#include "kernel/sched/run_queue.h"

namespace exo::sched {

void RunQueue::enqueue(SchedEntity& e) {
  EXO_SCHED_CHECK(&e != current_);
  ready_.push_back(e);
  e.state_ = ThreadState::kReady;
  e.queue_cpu_ = cpu_;
  publish_load();
}

void RunQueue::enqueue_front(SchedEntity& e) {
  EXO_SCHED_CHECK(&e != current_);
  ready_.push_front(e);
  e.state_ = ThreadState::kReady;
  e.queue_cpu_ = cpu_;
  publish_load();
}

SchedEntity* RunQueue::dequeue_highest() {
  SchedEntity* e = ready_.pop_highest();
  if (e != nullptr) {
    e->queue_cpu_ = kNoCpu;
    publish_load();
  }
  return e;
}

bool RunQueue::remove(SchedEntity& e) {
  if (!ready_.contains(e)) return false;
  ready_.remove(e);
  e.queue_cpu_ = kNoCpu;
  publish_load();
  return true;
}

void RunQueue::change_priority(SchedEntity& e, uint8_t new_priority) {
  EXO_SCHED_CHECK(new_priority < kPriorityLevels);
  if (ready_.contains(e)) {
    ready_.remove(e);
    e.priority_ = new_priority;
    ready_.push_back(e);
  } else {
    e.priority_ = new_priority;
  }
}

SchedEntity* RunQueue::take_for_cpu(uint32_t cpu) {
  for (usize level = ready_.highest_level(); level != PriorityLists::kNone;
       level = ready_.next_lower_level(level)) {
    for (SchedEntity& e : ready_.level(level)) {
      // A queued entity is never current, but a stolen running thread would be a disaster worth a
      // second look.
      if (e.state_ != ThreadState::kReady || !e.may_run_on(cpu)) continue;
      ready_.remove(e);
      e.queue_cpu_ = kNoCpu;
      publish_load();
      return &e;
    }
  }
  return nullptr;
}

void RunQueue::set_current(SchedEntity& e, uint64_t now_ns) {
  EXO_SCHED_CHECK(current_ == nullptr && !e.ListNode<SchedQueueTag>::in_list());
  current_ = &e;
  e.state_ = ThreadState::kRunning;
  e.last_cpu_ = cpu_;
  charged_until_ns_ = now_ns;
  publish_load();
}

SchedEntity* RunQueue::clear_current() {
  SchedEntity* e = current_;
  current_ = nullptr;
  publish_load();
  return e;
}

SchedEntity* RunQueue::pick_next(uint64_t now_ns) {
  EXO_SCHED_CHECK(current_ == nullptr);
  SchedEntity* e = dequeue_highest();
  if (e != nullptr) set_current(*e, now_ns);
  return e;
}

}  // namespace exo::sched
