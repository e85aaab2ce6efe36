// Placement and stealing: where a woken thread goes, whom an idle CPU steals from (NUMA-nearest).
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/sched/run_queue.h"
#include "kernel/sched/sched_entity.h"

namespace exo::sched {

// ACPI SLIT convention: a node's distance to itself is 10, remote nodes are larger.
inline constexpr uint8_t kLocalDistance = 10;
// A CPU is overloaded, for wake-up placement, when its load exceeds the least loaded allowed
// CPU's by at least this much. 2 and not 1: moving a thread off a warm cache to win one slot of
// queueing is rarely worth it.
inline constexpr uint32_t kOverloadMargin = 2;
// A CPU is worth stealing from only when it has a thread running AND one waiting (load >= 2);
// below that, the thread it has would run there right away anyway.
inline constexpr uint32_t kMinVictimLoad = 2;

// The machine's shape: which NUMA node each CPU is in and the node-to-node distance matrix
// (row-major, node_count x node_count). Views caller-owned storage (the boot code keeps the
// parsed SRAT/SLIT); the storage must outlive the Topology. Immutable after create().
class Topology {
 public:
  // Validates firmware-derived tables: cpu_count in 1..kMaxCpus, node_of_cpu.size() ==
  // cpu_count, every node index < node_count, distances.size() == node_count^2. kMalformed
  // otherwise (or kInvalidArgument for a zero/too-large count).
  static Result<Topology> create(uint32_t cpu_count, Span<const uint8_t> node_of_cpu,
                                 uint32_t node_count, Span<const uint8_t> distances);
  // Every CPU in one node (no SRAT): all distances are kLocalDistance.
  // Precondition-free: cpu_count is clamped to 1..kMaxCpus.
  static Topology uniform(uint32_t cpu_count);

  uint32_t cpu_count() const { return cpu_count_; }
  // Preconditions: cpu < cpu_count(); a, b < cpu_count().
  uint32_t node_of(uint32_t cpu) const { return node_of_cpu_.empty() ? 0 : node_of_cpu_[cpu]; }
  uint32_t distance(uint32_t cpu_a, uint32_t cpu_b) const;

 private:
  Topology() = default;

  uint32_t cpu_count_ = 1;
  uint32_t node_count_ = 1;
  Span<const uint8_t> node_of_cpu_;
  Span<const uint8_t> distances_;
};

// A snapshot of the CPUs as placement sees them: which are online and each one's load
// (RunQueue::load_relaxed, read without locks; staleness costs balance, never correctness).
struct CpuLoadView {
  CpuMask online_;
  Span<const uint32_t> load_;  // indexed by CPU; CPUs past its end count as offline
};

// Chooses the CPU whose run queue a newly ready `e` should join: its last CPU, for the warm
// cache, unless that CPU is not allowed, offline, or overloaded (load >= least + kOverloadMargin
// among allowed online CPUs); then the least loaded allowed CPU, ties going to the one nearest
// last_cpu_ (NUMA distance), then to the lowest index.
// kInvalidArgument when no online CPU is in e's affinity (the caller keeps it blocked or
// reports the error to whoever set the affinity). No locks needed: it only reads `e`, which the
// caller owns at this point, and the snapshot.
Result<uint32_t> select_cpu_for_wakeup(const SchedEntity& e, const Topology& topology,
                                       const CpuLoadView& cpus);

// Fills `out` with the CPUs an idle `thief` should try to steal from, in order: nearest NUMA
// distance first, most loaded first within a distance, lowest index on ties. Only online CPUs
// other than the thief with load >= kMinVictimLoad are listed. Returns the count written
// (at most out.size()); 0 for a thief outside the topology.
usize steal_victims(uint32_t thief, const Topology& topology, const CpuLoadView& cpus,
                    Span<uint16_t> out);

// Takes one entity off `victim` for `thief`: the most urgent ready entity whose affinity allows
// the thief, oldest first. Never current (current is not on the queue). Null when there is none
// or when the victim's load has meanwhile dropped below kMinVictimLoad.
// Locking: the caller holds victim's lock and ONLY that one. The entity is returned on no queue,
// owned by the thief, who then runs it or enqueues it under its own lock; the two locks are never
// held together, so stealing cannot deadlock against a CPU stealing back.
SchedEntity* steal_from(RunQueue& victim, uint32_t thief);

// The full steal: victims in steal_victims order, each tried under its own lock, until one
// yields an entity. `with_locked_queue(cpu, fn)` must take CPU `cpu`'s queue lock, return
// fn(queue), and drop the lock. Precondition: the thief holds no queue lock.
template <typename WithLockedQueue>
SchedEntity* steal(uint32_t thief, const Topology& topology, const CpuLoadView& cpus,
                   WithLockedQueue&& with_locked_queue) {
  uint16_t order[kMaxCpus];
  usize count = steal_victims(thief, topology, cpus, Span<uint16_t>(order));
  for (usize i = 0; i < count; ++i) {
    SchedEntity* e = with_locked_queue(static_cast<uint32_t>(order[i]), [thief](RunQueue& victim) {
      return steal_from(victim, thief);
    });
    if (e != nullptr) return e;
  }
  return nullptr;
}

}  // namespace exo::sched
