// RunQueue: one CPU's ready threads, by priority then FIFO, plus the thread that CPU is running.
#pragma once

#include "kernel/lib/types.h"
#include "kernel/sched/priority_lists.h"
#include "kernel/sched/sched_entity.h"

namespace exo::sched {

// Ready entities by priority (higher number first), round robin within a level.
// The running entity ("current") is NOT on the queue: it is taken off when it is picked and put
// back (tail, or front when preempted with slice left) when it stops. So nothing that scans the
// queue -- stealing, for one -- can ever touch a thread that is running.
//
// Locking: every member function requires the caller to hold this queue's lock (in the kernel, a
// per-CPU spinlock with interrupts off), except load_relaxed(), which other CPUs may read without
// it as a placement hint. When two queue locks are needed at once (a direct migration), take the
// lower CPU index first.
class RunQueue {
 public:
  explicit RunQueue(uint32_t cpu) : cpu_(cpu) {}
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  uint32_t cpu() const { return cpu_; }

  // Appends `e` to the tail of its priority level and marks it kReady.
  // Preconditions: e is on no run or wait queue, is not current, priority_ < kPriorityLevels,
  // and e.may_run_on(cpu()) (placement already chose this CPU by affinity).
  void enqueue(SchedEntity& e);
  // As enqueue, but at the head of its level: for a thread preempted before its slice ran out,
  // so it resumes before its peers and round robin stays fair.
  void enqueue_front(SchedEntity& e);
  // Removes and returns the oldest entity of the most urgent non-empty level; null when empty.
  SchedEntity* dequeue_highest();
  // Removes `e` if it is on this queue (kill, suspend, affinity change); false otherwise.
  bool remove(SchedEntity& e);
  // Moves `e` to a new priority; works whether it is queued here, current here, or neither.
  // Precondition: new_priority < kPriorityLevels (the syscall layer validates user values).
  void change_priority(SchedEntity& e, uint8_t new_priority);
  // Removes the most urgent ready entity allowed to run on `cpu` (oldest first within a level);
  // null when there is none. Used by stealing: cost is O(levels + entities skipped).
  SchedEntity* take_for_cpu(uint32_t cpu);

  // Number of ready entities (not counting current).
  usize ready_count() const { return ready_.count(); }
  // Ready entities plus one when something is running: the figure placement compares.
  uint32_t load() const {
    return static_cast<uint32_t>(ready_.count()) + (current_ != nullptr ? 1 : 0);
  }
  // load() as last published; may be read by any CPU without the lock. A stale value only makes
  // placement slightly worse, never incorrect.
  uint32_t load_relaxed() const { return __atomic_load_n(&published_load_, __ATOMIC_RELAXED); }
  // Most urgent ready priority, or -1 when nothing is ready.
  int highest_ready_priority() const {
    usize level = ready_.highest_level();
    return level == PriorityLists::kNone ? -1 : static_cast<int>(level);
  }
  // The oldest entity of the most urgent level, left in place; null when empty.
  SchedEntity* peek_highest() const { return ready_.peek_highest(); }

  // The running entity, or null when the CPU idles.
  SchedEntity* current() const { return current_; }
  // Makes `e` current: kRunning, last_cpu_ = cpu(), slice charging starts at now_ns.
  // Preconditions: no current; e on no queue.
  void set_current(SchedEntity& e, uint64_t now_ns);
  // Detaches and returns current (null if none). The caller decides where it goes next: a wait
  // queue, back onto a run queue (see requeue_preempted in slice.h), or nowhere (exit).
  // Slice charging must be done before (charge_current).
  SchedEntity* clear_current();
  // The direct hand-off (IPC's generic path): current, charged up to now_ns, stops being current
  // and `next` becomes current as set_current makes it. The same result as charge_current +
  // clear_current + set_current; the load is unchanged, so it is not republished.
  // Preconditions: a current; next on no queue.
  [[gnu::always_inline]] void hand_over_current(SchedEntity& next, uint64_t now_ns) {
    (void)charge_current(now_ns);
    current_ = &next;
    next.state_ = ThreadState::kRunning;
    next.last_cpu_ = cpu_;
    charged_until_ns_ = now_ns;
  }
  // hand_over_current without charging: `next` takes over current's slice accounting from
  // charged_until_ns on (the parked hand-off reads no clock; sched/thread.h).
  [[gnu::always_inline]] void hand_over_current_uncharged(SchedEntity& next) {
    current_ = &next;
    next.state_ = ThreadState::kRunning;
    next.last_cpu_ = cpu_;
  }
  // dequeue_highest + set_current; null (and no current) when nothing is ready.
  // Precondition: no current.
  SchedEntity* pick_next(uint64_t now_ns);
  // Current yields: charged up to now_ns, and if an entity at least as urgent is ready, current
  // goes to the tail of its level (kReady) and the oldest entity of the most urgent level
  // becomes current (kRunning, charged from now_ns). Returns the new current: current itself
  // when nothing at least as urgent is ready, null when there is no current. The same result as
  // charge_current + clear_current + enqueue + pick_next in one step, and the load is unchanged.
  [[gnu::always_inline]] SchedEntity* yield_current(uint64_t now_ns) {
    SchedEntity* self = current_;
    if (self == nullptr) return nullptr;
    (void)charge_current(now_ns);
    usize level = ready_.highest_level();
    if (level == PriorityLists::kNone || level < self->priority_) return self;
    SchedEntity* next = ready_.exchange_highest(level, *self);
    self->state_ = ThreadState::kReady;
    self->queue_cpu_ = cpu_;
    next->queue_cpu_ = kNoCpu;
    next->state_ = ThreadState::kRunning;
    next->last_cpu_ = cpu_;
    current_ = next;
    charged_until_ns_ = now_ns;
    return next;
  }

  // Time charged so far: the instant up to which current's slice has been debited.
  uint64_t charged_until_ns() const { return charged_until_ns_; }
  // Debits current's slice for [charged_until_ns, now_ns] and returns the slice left (0 = used
  // up). A clock going backwards debits nothing. 0 when there is no current.
  uint64_t charge_current(uint64_t now_ns) {
    if (current_ == nullptr) return 0;
    if (now_ns > charged_until_ns_) {
      uint64_t elapsed = now_ns - charged_until_ns_;
      current_->slice_left_ns_ =
          elapsed >= current_->slice_left_ns_ ? 0 : current_->slice_left_ns_ - elapsed;
      charged_until_ns_ = now_ns;
    }
    return current_->slice_left_ns_;
  }

 private:
  void publish_load() { __atomic_store_n(&published_load_, load(), __ATOMIC_RELAXED); }

  uint32_t cpu_;
  PriorityLists ready_;
  SchedEntity* current_ = nullptr;
  uint64_t charged_until_ns_ = 0;
  uint32_t published_load_ = 0;
};

}  // namespace exo::sched
