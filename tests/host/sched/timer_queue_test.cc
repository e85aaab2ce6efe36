// Host tests for the timer queue: unit cases and a randomised comparison with a multimap.
#include "kernel/sched/timer_queue.h"

#include "kernel/sched/sched_entity.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

namespace exo::sched {
namespace {

TEST(TimerQueue, EmptyQueue) {
  TimerQueue<SchedEntity> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.next_deadline(), kNever);
  EXPECT_EQ(q.pop_expired(~uint64_t{0}), nullptr);
}

TEST(TimerQueue, PopsInDeadlineOrderOnlyWhenExpired) {
  TimerQueue<SchedEntity> q;
  SchedEntity a, b, c;
  q.insert(a, 300);
  q.insert(b, 100);
  q.insert(c, 200);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.next_deadline(), 100u);
  EXPECT_EQ(q.pop_expired(99), nullptr);
  EXPECT_EQ(q.pop_expired(250), &b);
  EXPECT_EQ(q.pop_expired(250), &c);
  EXPECT_EQ(q.pop_expired(250), nullptr);
  EXPECT_EQ(q.next_deadline(), 300u);
  EXPECT_TRUE(a.timer_queued());
  EXPECT_EQ(q.pop_expired(300), &a);
  EXPECT_FALSE(a.timer_queued());
}

TEST(TimerQueue, EqualDeadlinesFifo) {
  TimerQueue<SchedEntity> q;
  SchedEntity e[5];
  for (auto& x : e) q.insert(x, 50);
  for (auto& x : e) EXPECT_EQ(q.pop_expired(50), &x);
}

TEST(TimerQueue, CancelRootInnerAndAbsent) {
  TimerQueue<SchedEntity> q;
  SchedEntity a, b, c, d, other;
  q.insert(a, 10);
  q.insert(b, 20);
  q.insert(c, 30);
  q.insert(d, 40);
  q.pop_expired(0);  // no-op
  EXPECT_TRUE(q.cancel(c));
  EXPECT_FALSE(q.cancel(c));
  EXPECT_FALSE(q.cancel(other));
  EXPECT_TRUE(q.cancel(a));
  EXPECT_EQ(q.next_deadline(), 20u);
  EXPECT_EQ(q.pop_expired(100), &b);
  EXPECT_EQ(q.pop_expired(100), &d);
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, RandomisedAgainstMultimap) {
  std::mt19937_64 rng(7);
  constexpr int kEntities = 2000;
  std::vector<std::unique_ptr<SchedEntity>> pool;
  for (int i = 0; i < kEntities; ++i) pool.push_back(std::make_unique<SchedEntity>());
  TimerQueue<SchedEntity> q;
  std::multimap<std::pair<uint64_t, uint64_t>, SchedEntity*> model;  // (deadline, order)
  std::map<SchedEntity*, std::pair<uint64_t, uint64_t>> where;
  uint64_t order = 0;
  uint64_t now = 0;
  for (int step = 0; step < 200000; ++step) {
    SchedEntity* e = pool[rng() % kEntities].get();
    switch (rng() % 4) {
      case 0:
      case 1:
        if (!e->timer_queued()) {
          uint64_t deadline = now + rng() % 1000;
          q.insert(*e, deadline);
          auto key = std::make_pair(deadline, order++);
          model.emplace(key, e);
          where[e] = key;
        }
        break;
      case 2: {
        bool was = where.count(e) != 0;
        ASSERT_EQ(q.cancel(*e), was);
        if (was) {
          model.erase(where[e]);
          where.erase(e);
        }
        break;
      }
      case 3: {
        now += rng() % 50;
        while (SchedEntity* popped = q.pop_expired(now)) {
          ASSERT_FALSE(model.empty());
          auto first = model.begin();
          ASSERT_EQ(popped, first->second);
          ASSERT_LE(first->first.first, now);
          where.erase(popped);
          model.erase(first);
        }
        if (!model.empty()) {
          ASSERT_GT(model.begin()->first.first, now);
        }
        break;
      }
    }
    ASSERT_EQ(q.size(), model.size());
    ASSERT_EQ(q.next_deadline(), model.empty() ? kNever : model.begin()->first.first);
  }
  while (q.pop_expired(kNever) != nullptr) {
  }
}

}  // namespace
}  // namespace exo::sched
