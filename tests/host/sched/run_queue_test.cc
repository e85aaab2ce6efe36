// Host tests for RunQueue, the time-slice policy and the wait queues.
#include "kernel/sched/run_queue.h"
#include "kernel/sched/slice.h"
#include "kernel/sched/timer_queue.h"
#include "kernel/sched/wait_queue.h"

#include <gtest/gtest.h>

namespace exo::sched {
namespace {

struct Thread : SchedEntity {
  explicit Thread(uint8_t prio, int id_ = 0) : id(id_) { priority_ = prio; }
  int id;
};

TEST(RunQueue, HighestPriorityFirstFifoWithin) {
  RunQueue rq(0);
  Thread low1(3, 1), low2(3, 2), high(20, 3), mid(10, 4);
  rq.enqueue(low1);
  rq.enqueue(low2);
  rq.enqueue(high);
  rq.enqueue(mid);
  EXPECT_EQ(rq.ready_count(), 4u);
  EXPECT_EQ(rq.load(), 4u);
  EXPECT_EQ(rq.highest_ready_priority(), 20);
  EXPECT_EQ(low1.state_, ThreadState::kReady);
  EXPECT_EQ(low1.queue_cpu_, 0u);
  EXPECT_EQ(rq.dequeue_highest(), &high);
  EXPECT_EQ(rq.dequeue_highest(), &mid);
  EXPECT_EQ(rq.dequeue_highest(), &low1);
  EXPECT_EQ(rq.dequeue_highest(), &low2);
  EXPECT_EQ(rq.dequeue_highest(), nullptr);
  EXPECT_EQ(rq.highest_ready_priority(), -1);
  EXPECT_EQ(low2.queue_cpu_, kNoCpu);
}

TEST(RunQueue, YieldRotatesAmongEquals) {
  RunQueue rq(2);
  Thread a(7, 1), b(7, 2), c(7, 3), low(3, 4);
  EXPECT_EQ(rq.yield_current(5), nullptr);  // nothing runs
  rq.enqueue(b);
  rq.enqueue(c);
  rq.enqueue(low);
  rq.set_current(a, 100);
  a.slice_left_ns_ = 1000;
  uint32_t load = rq.load();
  EXPECT_EQ(rq.yield_current(150), &b);
  EXPECT_EQ(a.slice_left_ns_, 950u);  // charged for its 50 ns
  EXPECT_EQ(rq.current(), &b);
  EXPECT_EQ(b.state_, ThreadState::kRunning);
  EXPECT_EQ(b.queue_cpu_, kNoCpu);
  EXPECT_EQ(b.last_cpu_, 2u);
  EXPECT_EQ(a.state_, ThreadState::kReady);
  EXPECT_EQ(a.queue_cpu_, 2u);
  EXPECT_EQ(rq.charged_until_ns(), 150u);
  EXPECT_EQ(rq.load(), load);
  EXPECT_EQ(rq.load_relaxed(), load);
  EXPECT_EQ(rq.yield_current(160), &c);
  EXPECT_EQ(rq.yield_current(170), &a);  // round robin: a went to the tail behind c
  EXPECT_EQ(rq.yield_current(180), &b);
  EXPECT_EQ(rq.dequeue_highest(), &c);
  EXPECT_EQ(rq.dequeue_highest(), &a);
  EXPECT_EQ(rq.dequeue_highest(), &low);
  (void)rq.clear_current();
}

TEST(RunQueue, YieldKeepsRunningWithoutAPeerAndGivesWayUp) {
  RunQueue rq(0);
  Thread a(7, 1), low(3, 2), high(9, 3);
  rq.enqueue(low);
  rq.set_current(a, 0);
  a.slice_left_ns_ = 100;
  EXPECT_EQ(rq.yield_current(30), &a);  // only a less urgent thread waits
  EXPECT_EQ(a.state_, ThreadState::kRunning);
  EXPECT_EQ(a.slice_left_ns_, 70u);
  EXPECT_EQ(rq.ready_count(), 1u);
  rq.enqueue(high);
  EXPECT_EQ(rq.yield_current(40), &high);  // a more urgent one runs, a joins its own level
  EXPECT_EQ(rq.highest_ready_priority(), 7);
  EXPECT_EQ(rq.dequeue_highest(), &a);
  EXPECT_EQ(rq.dequeue_highest(), &low);
  EXPECT_EQ(rq.highest_ready_priority(), -1);
  (void)rq.clear_current();
}

TEST(RunQueue, HandOverCurrentIsChargeClearAndSet) {
  RunQueue direct(1), stepwise(1);
  Thread a1(5, 1), b1(9, 2), a2(5, 1), b2(9, 2), other(3, 3), other2(3, 3);
  direct.enqueue(other);
  stepwise.enqueue(other2);
  direct.set_current(a1, 1000);
  stepwise.set_current(a2, 1000);
  a1.slice_left_ns_ = a2.slice_left_ns_ = 5000;
  b1.state_ = b2.state_ = ThreadState::kBlocked;
  direct.hand_over_current(b1, 3000);
  (void)stepwise.charge_current(3000);
  (void)stepwise.clear_current();
  stepwise.set_current(b2, 3000);
  EXPECT_EQ(direct.current(), &b1);
  EXPECT_EQ(b1.state_, b2.state_);
  EXPECT_EQ(b1.state_, ThreadState::kRunning);
  EXPECT_EQ(b1.last_cpu_, 1u);
  EXPECT_EQ(a1.slice_left_ns_, a2.slice_left_ns_);
  EXPECT_EQ(a1.slice_left_ns_, 3000u);
  EXPECT_EQ(direct.charged_until_ns(), stepwise.charged_until_ns());
  EXPECT_EQ(direct.load(), stepwise.load());
  EXPECT_EQ(direct.load_relaxed(), stepwise.load_relaxed());
  EXPECT_EQ(direct.dequeue_highest(), &other);
  EXPECT_EQ(stepwise.dequeue_highest(), &other2);
}

TEST(RunQueue, EnqueueFrontAndRemove) {
  RunQueue rq(1);
  Thread a(5), b(5), c(5);
  rq.enqueue(a);
  rq.enqueue(b);
  rq.enqueue_front(c);
  EXPECT_TRUE(rq.remove(a));
  EXPECT_FALSE(rq.remove(a));
  EXPECT_EQ(rq.dequeue_highest(), &c);
  EXPECT_EQ(rq.dequeue_highest(), &b);
  EXPECT_EQ(rq.dequeue_highest(), nullptr);
}

TEST(RunQueue, RemoveFromOtherQueueRefused) {
  RunQueue rq0(0), rq1(1);
  Thread a(5);
  rq0.enqueue(a);
  EXPECT_FALSE(rq1.remove(a));
  EXPECT_TRUE(rq0.remove(a));
}

TEST(RunQueue, ChangePriorityRefiles) {
  RunQueue rq(0);
  Thread a(5), b(5);
  rq.enqueue(a);
  rq.enqueue(b);
  rq.change_priority(b, 9);
  EXPECT_EQ(rq.dequeue_highest(), &b);
  rq.change_priority(b, 2);  // not queued: just the field
  EXPECT_EQ(b.priority_, 2);
  EXPECT_EQ(rq.dequeue_highest(), &a);
}

TEST(RunQueue, CurrentCountsInLoad) {
  RunQueue rq(2);
  Thread a(5), b(5);
  rq.enqueue(a);
  rq.enqueue(b);
  EXPECT_EQ(rq.pick_next(100), &a);
  EXPECT_EQ(a.state_, ThreadState::kRunning);
  EXPECT_EQ(a.last_cpu_, 2u);
  EXPECT_EQ(rq.current(), &a);
  EXPECT_EQ(rq.load(), 2u);
  EXPECT_EQ(rq.load_relaxed(), 2u);
  EXPECT_EQ(rq.clear_current(), &a);
  EXPECT_EQ(rq.load(), 1u);
  EXPECT_EQ(rq.dequeue_highest(), &b);
}

TEST(RunQueue, TakeForCpuRespectsAffinity) {
  RunQueue rq(0);
  Thread pinned(20), free_thread(10);
  pinned.affinity_ = CpuMask::single(0);
  rq.enqueue(pinned);
  rq.enqueue(free_thread);
  EXPECT_EQ(rq.take_for_cpu(1), &free_thread);
  EXPECT_EQ(rq.take_for_cpu(1), nullptr);
  EXPECT_EQ(rq.take_for_cpu(0), &pinned);
}

TEST(SchedEntity, EmptyAffinityRefused) {
  Thread t(1);
  EXPECT_EQ(t.set_affinity(CpuMask()).error(), Error::kInvalidArgument);
  EXPECT_TRUE(t.set_affinity(CpuMask::single(3)).ok());
  EXPECT_TRUE(t.may_run_on(3));
  EXPECT_FALSE(t.may_run_on(2));
}

TEST(Slice, LoneThreadIsNeverPreemptedAndNeedsNoTick) {
  RunQueue rq(0);
  Thread a(10);
  a.slice_ns_ = a.slice_left_ns_ = 1000;
  rq.enqueue(a);
  rq.pick_next(0);
  EXPECT_FALSE(needs_periodic_tick(rq));
  EXPECT_EQ(next_preemption_deadline(rq), kNever);
  EXPECT_FALSE(on_tick(rq, 5000));  // slice used up, nobody waiting: refilled
  EXPECT_EQ(a.slice_left_ns_, 1000u);
  (void)rq.clear_current();
}

TEST(Slice, RoundRobinAmongEquals) {
  RunQueue rq(0);
  Thread a(10, 1), b(10, 2);
  a.slice_ns_ = a.slice_left_ns_ = 1000;
  b.slice_ns_ = b.slice_left_ns_ = 1000;
  rq.enqueue(a);
  rq.enqueue(b);
  rq.pick_next(0);
  EXPECT_TRUE(needs_periodic_tick(rq));
  EXPECT_EQ(next_preemption_deadline(rq), 1000u);
  EXPECT_FALSE(on_tick(rq, 400));
  EXPECT_EQ(a.slice_left_ns_, 600u);
  EXPECT_EQ(next_preemption_deadline(rq), 1000u);
  EXPECT_TRUE(on_tick(rq, 1000));
  EXPECT_EQ(preempt_and_pick(rq, 1000), &b);
  EXPECT_EQ(a.slice_left_ns_, 1000u);  // refilled, at the tail
  EXPECT_TRUE(on_tick(rq, 2100));
  EXPECT_EQ(preempt_and_pick(rq, 2100), &a);
  EXPECT_EQ(rq.dequeue_highest(), &b);
  (void)rq.clear_current();
}

TEST(Slice, LowerPriorityWaitingNeedsNoTick) {
  RunQueue rq(0);
  Thread high(20), low(5);
  rq.enqueue(high);
  rq.enqueue(low);
  rq.pick_next(0);
  EXPECT_FALSE(needs_periodic_tick(rq));
  EXPECT_FALSE(on_tick(rq, kDefaultSliceNs * 3));
  (void)rq.clear_current();
  EXPECT_TRUE(rq.remove(low));
}

TEST(Slice, WakeupPreemptionKeepsRemainingSlice) {
  RunQueue rq(0);
  Thread a(10), b(10), urgent(25);
  a.slice_ns_ = a.slice_left_ns_ = 1000;
  rq.enqueue(a);
  rq.enqueue(b);
  rq.pick_next(0);
  EXPECT_FALSE(should_preempt_on_wakeup(rq, b));
  EXPECT_TRUE(should_preempt_on_wakeup(rq, urgent));
  rq.enqueue(urgent);
  EXPECT_TRUE(on_tick(rq, 300));  // more urgent ready: reschedule even with slice left
  EXPECT_EQ(preempt_and_pick(rq, 300), &urgent);
  EXPECT_EQ(a.slice_left_ns_, 700u);
  EXPECT_EQ(rq.peek_highest(), &a);  // at the head of its level, ahead of b
  (void)rq.clear_current();
  EXPECT_EQ(rq.dequeue_highest(), &a);
  EXPECT_EQ(rq.dequeue_highest(), &b);
}

TEST(Slice, IdleCpu) {
  RunQueue rq(0);
  Thread a(1);
  EXPECT_FALSE(on_tick(rq, 10));
  EXPECT_FALSE(needs_periodic_tick(rq));
  EXPECT_TRUE(should_preempt_on_wakeup(rq, a));
  rq.enqueue(a);
  EXPECT_TRUE(on_tick(rq, 20));
  EXPECT_EQ(preempt_and_pick(rq, 20), &a);
  (void)rq.clear_current();
}

TEST(Slice, ClockGoingBackwardsChargesNothing) {
  RunQueue rq(0);
  Thread a(1);
  a.slice_ns_ = a.slice_left_ns_ = 1000;
  rq.enqueue(a);
  rq.pick_next(500);
  EXPECT_EQ(rq.charge_current(100), 1000u);
  EXPECT_EQ(rq.charge_current(700), 800u);
  (void)rq.clear_current();
}

TEST(WaitQueue, FifoWakeOneAndAll) {
  WaitQueue wq;
  Thread a(1, 1), b(30, 2), c(5, 3);
  wq.block(a);
  wq.block(b);
  wq.block(c);
  EXPECT_EQ(a.state_, ThreadState::kBlocked);
  EXPECT_EQ(wq.size(), 3u);
  EXPECT_EQ(wq.wake_one(), &a);
  WakeList woken;
  EXPECT_EQ(wq.wake_all(woken), 2u);
  EXPECT_TRUE(wq.empty());
  EXPECT_EQ(woken.pop_front(), &b);
  EXPECT_EQ(woken.pop_front(), &c);
  EXPECT_EQ(wq.wake_one(), nullptr);
}

TEST(WaitQueue, RemoveOnTimeoutRace) {
  WaitQueue wq;
  Thread a(1);
  wq.block(a);
  EXPECT_TRUE(wq.remove(a));   // the timeout won
  EXPECT_FALSE(wq.remove(a));  // the waker lost: nothing to do
  EXPECT_EQ(wq.wake_one(), nullptr);
}

// A thread waiting with a deadline is on a wait queue and the timer queue at once. When the
// deadline passes first, the timer makes it ready while it is still on the wait queue (separate
// links), and the thread takes itself off when it runs; a waker that comes first cancels the
// timer instead, and a waker that finds the timer already fired does nothing more.
TEST(WaitQueue, DeadlineWaitersCanBeReadyAndWaitingAtOnce) {
  WaitQueue wq;
  TimerQueue<SchedEntity> timers;
  RunQueue rq(0);
  Thread a(1), b(1);
  wq.block(a);
  timers.insert(a, 100);
  wq.block(b);
  timers.insert(b, 200);
  // a's deadline passes: it becomes ready, still linked on the wait queue.
  SchedEntity* expired = timers.pop_expired(150);
  ASSERT_EQ(expired, &a);
  rq.enqueue(*expired);
  EXPECT_TRUE(wq.contains(a));
  EXPECT_EQ(rq.ready_count(), 1u);
  // A waker claims the oldest waiter, a, finds its timer fired and leaves it to run as it is
  // (a then sees it was claimed: woken, not timed out).
  SchedEntity* woken = wq.wake_one();
  ASSERT_EQ(woken, &a);
  EXPECT_FALSE(timers.cancel(*woken));
  // A second waker claims b before its deadline and cancels its timer.
  woken = wq.wake_one();
  ASSERT_EQ(woken, &b);
  EXPECT_TRUE(timers.cancel(*woken));
  rq.enqueue(*woken);
  EXPECT_EQ(timers.pop_expired(1000), nullptr);
  EXPECT_TRUE(wq.empty());
  EXPECT_EQ(rq.dequeue_highest(), &a);
  EXPECT_EQ(rq.dequeue_highest(), &b);
}

// The thread whose deadline passed runs and finds itself still waiting: it times out.
TEST(WaitQueue, TimedOutWaiterRemovesItself) {
  WaitQueue wq;
  TimerQueue<SchedEntity> timers;
  RunQueue rq(0);
  Thread a(1);
  wq.block(a);
  timers.insert(a, 100);
  rq.enqueue(*timers.pop_expired(100));
  EXPECT_EQ(rq.dequeue_highest(), &a);
  EXPECT_TRUE(wq.remove(a));   // the timeout won
  EXPECT_FALSE(wq.remove(a));  // nothing more to undo
  EXPECT_TRUE(wq.empty());
}

TEST(PriorityWaitQueue, MostUrgentFirstFifoWithin) {
  PriorityWaitQueue wq;
  Thread a(5, 1), b(9, 2), c(5, 3), d(9, 4);
  wq.block(a);
  wq.block(b);
  wq.block(c);
  wq.block(d);
  EXPECT_EQ(wq.peek(), &b);
  EXPECT_EQ(wq.wake_one(), &b);
  EXPECT_EQ(wq.wake_one(), &d);
  wq.change_priority(c, 12);
  EXPECT_EQ(wq.wake_one(), &c);
  EXPECT_TRUE(wq.remove(a));
  EXPECT_TRUE(wq.empty());
}

TEST(PriorityWaitQueue, WakeAllInPriorityOrder) {
  PriorityWaitQueue wq;
  Thread a(1, 1), b(3, 2), c(2, 3);
  wq.block(a);
  wq.block(b);
  wq.block(c);
  WakeList woken;
  EXPECT_EQ(wq.wake_all(woken), 3u);
  EXPECT_EQ(woken.pop_front(), &b);
  EXPECT_EQ(woken.pop_front(), &c);
  EXPECT_EQ(woken.pop_front(), &a);
}

}  // namespace
}  // namespace exo::sched
