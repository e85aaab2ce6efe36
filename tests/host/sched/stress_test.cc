// Multi-threaded stress: host threads as CPUs run, requeue, block, wake and steal 100k entities.
#include "kernel/sched/policy.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/slice.h"
#include "kernel/sched/wait_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace exo::sched {
namespace {

constexpr uint32_t kCpus = 4;
constexpr int kEntities = 100'000;
constexpr int kRunsEach = 3;

struct Thread : SchedEntity {
  std::atomic<bool> running{false};
  int runs = 0;  // written only by whoever runs it, ordered by the queue locks
};

struct Cpu {
  explicit Cpu(uint32_t id) : rq(id) {}
  std::mutex lock;  // stands in for the per-CPU spinlock
  RunQueue rq;
};

struct Machine {
  uint8_t node_of[kCpus] = {0, 0, 1, 1};
  uint8_t distances[4] = {10, 20, 20, 10};
  Topology topology =
      Topology::create(kCpus, Span<const uint8_t>(node_of), 2, Span<const uint8_t>(distances))
          .value();
  std::vector<std::unique_ptr<Cpu>> cpus;
  std::mutex wait_lock;  // the lock of the object owning the wait queue
  WaitQueue waiters;
  std::atomic<int64_t> runs_left{int64_t{kEntities} * kRunsEach};
  std::atomic<int> double_runs{0};
  std::atomic<int> affinity_violations{0};
  std::atomic<int> steals{0};
  std::atomic<int> wakeups{0};

  Machine() {
    for (uint32_t c = 0; c < kCpus; ++c) cpus.push_back(std::make_unique<Cpu>(c));
  }

  // A snapshot of loads read without locks, as the kernel would.
  void snapshot(uint32_t (&loads)[kCpus], CpuLoadView& view) {
    for (uint32_t c = 0; c < kCpus; ++c) loads[c] = cpus[c]->rq.load_relaxed();
    view.online_ = CpuMask::first_n(kCpus);
    view.load_ = Span<const uint32_t>(loads, kCpus);
  }

  // Makes `e` ready somewhere: placement, then the chosen CPU's lock only.
  void wake(Thread& e) {
    uint32_t loads[kCpus];
    CpuLoadView view;
    snapshot(loads, view);
    uint32_t target = select_cpu_for_wakeup(e, topology, view).value();
    std::lock_guard<std::mutex> g(cpus[target]->lock);
    cpus[target]->rq.enqueue(e);
  }

  void worker(uint32_t id) {
    std::mt19937 rng(id * 7919 + 1);
    Cpu& me = *cpus[id];
    uint64_t now = 0;
    while (runs_left.load(std::memory_order_acquire) > 0) {
      now += 1000;
      Thread* e;
      {
        std::lock_guard<std::mutex> g(me.lock);
        e = static_cast<Thread*>(me.rq.pick_next(now));
      }
      if (e == nullptr) {
        Thread* woken;
        {
          std::lock_guard<std::mutex> g(wait_lock);
          woken = static_cast<Thread*>(waiters.wake_one());
        }
        if (woken != nullptr) {
          wakeups.fetch_add(1, std::memory_order_relaxed);
          wake(*woken);
          continue;
        }
        uint32_t loads[kCpus];
        CpuLoadView view;
        snapshot(loads, view);
        e = static_cast<Thread*>(steal(id, topology, view, [&](uint32_t cpu, auto&& fn) {
          std::lock_guard<std::mutex> g(cpus[cpu]->lock);
          return fn(cpus[cpu]->rq);
        }));
        if (e == nullptr) {
          std::this_thread::yield();
          continue;
        }
        steals.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard<std::mutex> g(me.lock);
        me.rq.set_current(*e, now);
      }

      // "Run" it.
      if (e->running.exchange(true, std::memory_order_acq_rel)) double_runs.fetch_add(1);
      if (!e->may_run_on(id)) affinity_violations.fetch_add(1);
      ++e->runs;
      e->running.store(false, std::memory_order_release);

      bool again = e->runs < kRunsEach;
      int choice = static_cast<int>(rng() % 3);
      {
        std::lock_guard<std::mutex> g(me.lock);
        e->slice_left_ns_ = rng() % 2 == 0 ? 0 : e->slice_left_ns_;
        me.rq.charge_current(now + 500);
        me.rq.clear_current();
        if (again && choice == 0) requeue_preempted(me.rq, *e);
      }
      if (again && choice == 1) {
        std::lock_guard<std::mutex> g(wait_lock);
        waiters.block(*e);
      } else if (again && choice == 2) {
        wake(*e);
      } else if (!again) {
        e->state_ = ThreadState::kDead;
      }
      runs_left.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

TEST(SchedStress, EveryEntityRunsExactlyAsOftenAsExpected) {
  Machine m;
  std::unique_ptr<Thread[]> threads(new Thread[kEntities]);
  std::mt19937 rng(99);
  for (int i = 0; i < kEntities; ++i) {
    Thread& t = threads[i];
    t.priority_ = static_cast<uint8_t>(rng() % kPriorityLevels);
    if (i % 10 == 0) t.affinity_ = CpuMask::single(rng() % kCpus);
    if (i % 10 == 1) t.affinity_ = CpuMask::single(rng() % kCpus) | CpuMask::single(rng() % kCpus);
    // Start almost everything on CPU 0 so the others have to steal.
    uint32_t cpu = t.may_run_on(0) ? 0 : static_cast<uint32_t>(t.affinity_.find_first_set());
    m.cpus[cpu]->rq.enqueue(t);
  }
  std::vector<std::thread> workers;
  for (uint32_t c = 0; c < kCpus; ++c) workers.emplace_back([&m, c] { m.worker(c); });
  for (auto& w : workers) w.join();

  EXPECT_EQ(m.double_runs.load(), 0);
  EXPECT_EQ(m.affinity_violations.load(), 0);
  EXPECT_EQ(m.runs_left.load(), 0);
  int wrong = 0;
  for (int i = 0; i < kEntities; ++i) {
    if (threads[i].runs != kRunsEach || threads[i].ListNode<SchedQueueTag>::in_list()) ++wrong;
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_TRUE(m.waiters.empty());
  for (auto& cpu : m.cpus) {
    EXPECT_EQ(cpu->rq.ready_count(), 0u);
    EXPECT_EQ(cpu->rq.current(), nullptr);
  }
  std::printf("%d entities x %d runs on %u CPUs: %d steals, %d wake-ups from the wait queue\n",
              kEntities, kRunsEach, kCpus, m.steals.load(), m.wakeups.load());
  EXPECT_GT(m.steals.load(), 0);
  EXPECT_GT(m.wakeups.load(), 0);
}

}  // namespace
}  // namespace exo::sched
