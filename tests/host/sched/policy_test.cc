// Host tests for wake-up placement, NUMA-aware victim order and stealing.
#include "kernel/sched/policy.h"

#include <gtest/gtest.h>

#include <vector>

namespace exo::sched {
namespace {

// Two nodes: CPUs 0-3 on node 0, 4-7 on node 1; local 10, remote 20.
struct TwoNodes {
  uint8_t node_of[8] = {0, 0, 0, 0, 1, 1, 1, 1};
  uint8_t distances[4] = {10, 20, 20, 10};
  Topology topology =
      Topology::create(8, Span<const uint8_t>(node_of), 2, Span<const uint8_t>(distances)).value();
};

CpuLoadView view(const std::vector<uint32_t>& loads) {
  CpuLoadView v;
  v.online_ = CpuMask::first_n(loads.size());
  v.load_ = Span<const uint32_t>(loads.data(), loads.size());
  return v;
}

TEST(Topology, RejectsMalformedTables) {
  uint8_t node_of[2] = {0, 2};
  uint8_t distances[4] = {10, 20, 20, 10};
  EXPECT_EQ(
      Topology::create(2, Span<const uint8_t>(node_of), 2, Span<const uint8_t>(distances)).error(),
      Error::kMalformed);
  uint8_t ok_nodes[2] = {0, 1};
  EXPECT_EQ(
      Topology::create(3, Span<const uint8_t>(ok_nodes), 2, Span<const uint8_t>(distances)).error(),
      Error::kMalformed);
  EXPECT_EQ(Topology::create(2, Span<const uint8_t>(ok_nodes), 2, Span<const uint8_t>(distances, 3))
                .error(),
            Error::kMalformed);
  EXPECT_EQ(
      Topology::create(0, Span<const uint8_t>(), 1, Span<const uint8_t>(distances, 1)).error(),
      Error::kInvalidArgument);
  auto t = Topology::create(2, Span<const uint8_t>(ok_nodes), 2, Span<const uint8_t>(distances));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->distance(0, 1), 20u);
  EXPECT_EQ(t->distance(1, 1), 10u);
  EXPECT_EQ(Topology::uniform(0).cpu_count(), 1u);
  EXPECT_EQ(Topology::uniform(4).distance(0, 3), kLocalDistance);
}

TEST(Placement, StaysOnLastCpuUnlessOverloaded) {
  Topology topo = Topology::uniform(4);
  SchedEntity e;
  e.last_cpu_ = 2;
  std::vector<uint32_t> loads = {0, 3, 1, 5};
  EXPECT_EQ(*select_cpu_for_wakeup(e, topo, view(loads)), 2u);  // 1 - 0 < 2
  loads[2] = 2;
  EXPECT_EQ(*select_cpu_for_wakeup(e, topo, view(loads)), 0u);  // 2 - 0 >= 2
}

TEST(Placement, FirstRunGoesToLeastLoaded) {
  Topology topo = Topology::uniform(4);
  SchedEntity e;
  std::vector<uint32_t> loads = {4, 3, 1, 1};
  EXPECT_EQ(*select_cpu_for_wakeup(e, topo, view(loads)), 2u);
}

TEST(Placement, RespectsAffinityAndOnline) {
  Topology topo = Topology::uniform(4);
  SchedEntity e;
  e.last_cpu_ = 0;
  e.affinity_ = CpuMask::single(0) | CpuMask::single(3);
  std::vector<uint32_t> loads = {9, 0, 0, 4};
  EXPECT_EQ(*select_cpu_for_wakeup(e, topo, view(loads)), 3u);
  CpuLoadView v = view(loads);
  v.online_.clear(3);
  EXPECT_EQ(*select_cpu_for_wakeup(e, topo, v), 0u);
  v.online_.clear(0);
  EXPECT_EQ(select_cpu_for_wakeup(e, topo, v).error(), Error::kInvalidArgument);
  e.affinity_ = CpuMask::single(200);  // beyond the machine
  EXPECT_EQ(select_cpu_for_wakeup(e, topo, view(loads)).error(), Error::kInvalidArgument);
}

TEST(Placement, TiesPreferNearLastCpu) {
  TwoNodes m;
  SchedEntity e;
  e.last_cpu_ = 5;
  std::vector<uint32_t> loads = {0, 5, 5, 5, 5, 3, 0, 5};
  EXPECT_EQ(*select_cpu_for_wakeup(e, m.topology, view(loads)), 6u);  // same node as 5
}

TEST(Stealing, NearestNodeFirstThenMostLoaded) {
  TwoNodes m;
  std::vector<uint32_t> loads = {0, 2, 4, 1, 9, 3, 0, 2};
  uint16_t order[kMaxCpus];
  usize n = steal_victims(0, m.topology, view(loads), Span<uint16_t>(order));
  ASSERT_EQ(n, 5u);  // CPU 3 (load 1) and the thief are not victims
  EXPECT_EQ(order[0], 2);
  EXPECT_EQ(order[1], 1);
  EXPECT_EQ(order[2], 4);
  EXPECT_EQ(order[3], 5);
  EXPECT_EQ(order[4], 7);
  EXPECT_EQ(steal_victims(8, m.topology, view(loads), Span<uint16_t>(order)), 0u);
  uint16_t two[2];
  EXPECT_EQ(steal_victims(0, m.topology, view(loads), Span<uint16_t>(two)), 2u);
  EXPECT_EQ(two[0], 2);
  EXPECT_EQ(two[1], 1);
}

TEST(Stealing, NeverTakesCurrentOrDisallowed) {
  RunQueue victim(1);
  SchedEntity running, pinned, movable;
  pinned.affinity_ = CpuMask::single(1);
  victim.enqueue(running);
  victim.pick_next(0);
  victim.enqueue(pinned);
  EXPECT_EQ(steal_from(victim, 0), nullptr);  // only the pinned one waits
  victim.enqueue(movable);
  EXPECT_EQ(steal_from(victim, 0), &movable);
  EXPECT_EQ(steal_from(victim, 1), nullptr);  // a CPU does not steal from itself
  EXPECT_EQ(victim.current(), &running);
  EXPECT_TRUE(victim.remove(pinned));
  (void)victim.clear_current();
}

TEST(Stealing, LightlyLoadedVictimKeepsItsThread) {
  RunQueue victim(1);
  SchedEntity only;
  victim.enqueue(only);
  EXPECT_EQ(steal_from(victim, 0), nullptr);  // load 1: it will run it itself
  EXPECT_TRUE(victim.remove(only));
}

TEST(Stealing, FullStealWalksVictimsUnderTheirLocks) {
  TwoNodes m;
  std::vector<RunQueue*> queues;
  for (uint32_t c = 0; c < 8; ++c) queues.push_back(new RunQueue(c));
  SchedEntity a, b, c, d;
  // CPU 1 (near) runs a and has b pinned to itself; CPU 4 (far) runs c with d ready.
  b.affinity_ = CpuMask::single(1);
  queues[1]->enqueue(a);
  queues[1]->pick_next(0);
  queues[1]->enqueue(b);
  queues[4]->enqueue(c);
  queues[4]->pick_next(0);
  queues[4]->enqueue(d);
  std::vector<uint32_t> loads(8);
  for (uint32_t i = 0; i < 8; ++i) loads[i] = queues[i]->load_relaxed();
  std::vector<uint32_t> locked;
  SchedEntity* got = steal(0, m.topology, view(loads), [&](uint32_t cpu, auto&& fn) {
    locked.push_back(cpu);
    return fn(*queues[cpu]);
  });
  EXPECT_EQ(got, &d);
  EXPECT_EQ(locked, (std::vector<uint32_t>{1, 4}));
  EXPECT_TRUE(queues[1]->remove(b));
  (void)queues[1]->clear_current();
  (void)queues[4]->clear_current();
  for (RunQueue* q : queues) delete q;
}

}  // namespace
}  // namespace exo::sched
