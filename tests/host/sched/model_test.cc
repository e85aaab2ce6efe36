// Randomised model test: RunQueue, slices and wait queues against a plain reference model.
#include "kernel/sched/run_queue.h"
#include "kernel/sched/slice.h"
#include "kernel/sched/wait_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <vector>

namespace exo::sched {
namespace {

struct Thread : SchedEntity {
  int id = 0;
};

// The reference: one std::deque per priority level, current kept aside.
struct Model {
  std::deque<Thread*> levels[kPriorityLevels];
  Thread* current = nullptr;

  size_t count() const {
    size_t n = 0;
    for (const auto& l : levels) n += l.size();
    return n;
  }
  int highest() const {
    for (int p = kPriorityLevels - 1; p >= 0; --p) {
      if (!levels[p].empty()) return p;
    }
    return -1;
  }
  Thread* pop_highest() {
    int p = highest();
    if (p < 0) return nullptr;
    Thread* t = levels[p].front();
    levels[p].pop_front();
    return t;
  }
  bool remove(Thread* t) {
    for (auto& l : levels) {
      auto it = std::find(l.begin(), l.end(), t);
      if (it != l.end()) {
        l.erase(it);
        return true;
      }
    }
    return false;
  }
  Thread* take_for_cpu(uint32_t cpu) {
    for (int p = kPriorityLevels - 1; p >= 0; --p) {
      for (auto it = levels[p].begin(); it != levels[p].end(); ++it) {
        if ((*it)->may_run_on(cpu)) {
          Thread* t = *it;
          levels[p].erase(it);
          return t;
        }
      }
    }
    return nullptr;
  }
};

enum class Where { kNowhere, kQueued, kCurrent, kWaiting };

class RunQueueModel : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RunQueueModel, MatchesReference) {
  std::mt19937_64 rng(GetParam());
  constexpr int kThreads = 64;
  std::vector<Thread> threads(kThreads);
  std::vector<Where> where(kThreads, Where::kNowhere);
  for (int i = 0; i < kThreads; ++i) {
    threads[i].id = i;
    threads[i].priority_ = static_cast<uint8_t>(rng() % kPriorityLevels);
    threads[i].slice_ns_ = threads[i].slice_left_ns_ = 100 + rng() % 1000;
    if (rng() % 4 == 0) threads[i].affinity_ = CpuMask::single(rng() % 4);
  }
  RunQueue rq(0);
  Model model;
  PriorityWaitQueue pwq;
  std::deque<Thread*> pwq_model[kPriorityLevels];
  uint64_t now = 0;

  for (int step = 0; step < 50000; ++step) {
    Thread& t = threads[rng() % kThreads];
    Where& w = where[t.id];
    switch (rng() % 10) {
      case 0:
        if (w == Where::kNowhere) {
          rq.enqueue(t);
          model.levels[t.priority_].push_back(&t);
          w = Where::kQueued;
        }
        break;
      case 1:
        if (w == Where::kNowhere) {
          rq.enqueue_front(t);
          model.levels[t.priority_].push_front(&t);
          w = Where::kQueued;
        }
        break;
      case 2: {
        Thread* got = static_cast<Thread*>(rq.dequeue_highest());
        ASSERT_EQ(got, model.pop_highest());
        if (got != nullptr) where[got->id] = Where::kNowhere;
        break;
      }
      case 3: {
        bool removed = rq.remove(t);
        ASSERT_EQ(removed, model.remove(&t));
        if (removed) w = Where::kNowhere;
        break;
      }
      case 4: {
        uint8_t p = static_cast<uint8_t>(rng() % kPriorityLevels);
        if (w == Where::kQueued) {
          model.remove(&t);
          model.levels[p].push_back(&t);
        }
        if (w == Where::kWaiting) {
          auto& l = pwq_model[t.priority_];
          pwq.change_priority(t, p);
          l.erase(std::find(l.begin(), l.end(), &t));
          pwq_model[p].push_back(&t);
        } else {
          rq.change_priority(t, p);
        }
        ASSERT_EQ(t.priority_, p);
        break;
      }
      case 5: {
        // Scheduling step: tick, and reschedule when told to.
        now += rng() % 400;
        bool resched = on_tick(rq, now);
        Thread* cur = model.current;
        int hi = model.highest();
        bool expect = cur == nullptr ? hi >= 0
                                     : hi > cur->priority_ ||
                                           (cur->slice_left_ns_ == 0 && hi == cur->priority_);
        ASSERT_EQ(resched, expect);
        if (resched) {
          if (cur != nullptr) {
            if (cur->slice_left_ns_ == 0) {
              model.levels[cur->priority_].push_back(cur);
            } else {
              model.levels[cur->priority_].push_front(cur);
            }
            where[cur->id] = Where::kQueued;
          }
          Thread* next = model.pop_highest();
          Thread* got = static_cast<Thread*>(preempt_and_pick(rq, now));
          ASSERT_EQ(got, next);
          model.current = next;
          if (next != nullptr) where[next->id] = Where::kCurrent;
        }
        break;
      }
      case 6:
        // The current thread blocks.
        if (model.current != nullptr) {
          rq.charge_current(now);
          Thread* cur = static_cast<Thread*>(rq.clear_current());
          ASSERT_EQ(cur, model.current);
          model.current = nullptr;
          pwq.block(*cur);
          pwq_model[cur->priority_].push_back(cur);
          where[cur->id] = Where::kWaiting;
        }
        break;
      case 7: {
        // Wake the most urgent waiter onto the run queue.
        Thread* woken = static_cast<Thread*>(pwq.wake_one());
        Thread* expect = nullptr;
        for (int p = kPriorityLevels - 1; p >= 0 && expect == nullptr; --p) {
          if (!pwq_model[p].empty()) {
            expect = pwq_model[p].front();
            pwq_model[p].pop_front();
          }
        }
        ASSERT_EQ(woken, expect);
        if (woken != nullptr) {
          rq.enqueue(*woken);
          model.levels[woken->priority_].push_back(woken);
          where[woken->id] = Where::kQueued;
        }
        break;
      }
      case 8: {
        uint32_t cpu = static_cast<uint32_t>(rng() % 4);
        Thread* got = static_cast<Thread*>(rq.take_for_cpu(cpu));
        ASSERT_EQ(got, model.take_for_cpu(cpu));
        if (got != nullptr) where[got->id] = Where::kNowhere;
        break;
      }
      case 9:
        ASSERT_EQ(needs_periodic_tick(rq),
                  model.current != nullptr && model.highest() >= model.current->priority_);
        if (rng() % 2 == 0) {
          // Current yields: it goes behind its peers when someone at least as urgent waits.
          now += rng() % 400;
          Thread* cur = model.current;
          if (cur != nullptr && model.highest() >= cur->priority_) {
            model.levels[cur->priority_].push_back(cur);
            where[cur->id] = Where::kQueued;
            model.current = model.pop_highest();
            where[model.current->id] = Where::kCurrent;
          }
          ASSERT_EQ(rq.yield_current(now), model.current);
        }
        break;
    }
    ASSERT_EQ(rq.ready_count(), model.count());
    ASSERT_EQ(rq.load(), model.count() + (model.current ? 1 : 0));
    ASSERT_EQ(rq.highest_ready_priority(), model.highest());
    ASSERT_EQ(rq.current(), model.current);
  }
  // Drain everything so no node is destroyed while linked.
  (void)rq.clear_current();
  while (rq.dequeue_highest() != nullptr) {
  }
  while (pwq.wake_one() != nullptr) {
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RunQueueModel, ::testing::Values(1, 2, 3, 42, 1234567));

}  // namespace
}  // namespace exo::sched
