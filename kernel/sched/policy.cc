// Wake-up placement and work stealing (see policy.h for the rules and the locking).
#include "kernel/sched/policy.h"

namespace exo::sched {

Result<Topology> Topology::create(uint32_t cpu_count, Span<const uint8_t> node_of_cpu,
                                  uint32_t node_count, Span<const uint8_t> distances) {
  if (cpu_count == 0 || cpu_count > kMaxCpus || node_count == 0 || node_count > kMaxCpus) {
    return Error::kInvalidArgument;
  }
  if (node_of_cpu.size() != cpu_count) return Error::kMalformed;
  if (distances.size() != static_cast<usize>(node_count) * node_count) return Error::kMalformed;
  for (uint8_t node : node_of_cpu) {
    if (node >= node_count) return Error::kMalformed;
  }
  Topology t;
  t.cpu_count_ = cpu_count;
  t.node_count_ = node_count;
  t.node_of_cpu_ = node_of_cpu;
  t.distances_ = distances;
  return t;
}

Topology Topology::uniform(uint32_t cpu_count) {
  Topology t;
  t.cpu_count_ = cpu_count == 0 ? 1 : min<uint32_t>(cpu_count, kMaxCpus);
  return t;
}

uint32_t Topology::distance(uint32_t cpu_a, uint32_t cpu_b) const {
  if (distances_.empty()) return kLocalDistance;
  return distances_[node_of(cpu_a) * node_count_ + node_of(cpu_b)];
}

namespace {

bool usable(uint32_t cpu, const Topology& topology, const CpuLoadView& cpus) {
  return cpu < topology.cpu_count() && cpu < cpus.load_.size() && cpus.online_.test(cpu);
}

}  // namespace

Result<uint32_t> select_cpu_for_wakeup(const SchedEntity& e, const Topology& topology,
                                       const CpuLoadView& cpus) {
  CpuMask allowed = e.affinity_ & cpus.online_;
  uint32_t last = e.last_cpu_;
  bool last_ok = last != kNoCpu && allowed.test(last) && usable(last, topology, cpus);

  uint32_t best = kNoCpu;
  for (usize c = allowed.find_first_set(); c != CpuMask::kNone; c = allowed.find_next_set(c + 1)) {
    uint32_t cpu = static_cast<uint32_t>(c);
    if (!usable(cpu, topology, cpus)) continue;
    if (best == kNoCpu || cpus.load_[cpu] < cpus.load_[best]) {
      best = cpu;
    } else if (cpus.load_[cpu] == cpus.load_[best] && last_ok &&
               topology.distance(last, cpu) < topology.distance(last, best)) {
      best = cpu;
    }
  }
  if (best == kNoCpu) return Error::kInvalidArgument;
  if (last_ok && cpus.load_[last] < cpus.load_[best] + kOverloadMargin) return last;
  return best;
}

usize steal_victims(uint32_t thief, const Topology& topology, const CpuLoadView& cpus,
                    Span<uint16_t> out) {
  if (thief >= topology.cpu_count()) return 0;
  usize count = 0;
  auto ranks_before = [&](uint32_t a, uint32_t b) {
    uint32_t da = topology.distance(thief, a);
    uint32_t db = topology.distance(thief, b);
    if (da != db) return da < db;
    if (cpus.load_[a] != cpus.load_[b]) return cpus.load_[a] > cpus.load_[b];
    return a < b;
  };
  // Insertion sort over at most kMaxCpus candidates, once per idle transition.
  uint16_t sorted[kMaxCpus];
  for (uint32_t cpu = 0; cpu < topology.cpu_count(); ++cpu) {
    if (cpu == thief || !usable(cpu, topology, cpus) || cpus.load_[cpu] < kMinVictimLoad) continue;
    usize i = count++;
    while (i > 0 && ranks_before(cpu, sorted[i - 1])) {
      sorted[i] = sorted[i - 1];
      --i;
    }
    sorted[i] = static_cast<uint16_t>(cpu);
  }
  count = min(count, out.size());
  for (usize i = 0; i < count; ++i) out[i] = sorted[i];
  return count;
}

SchedEntity* steal_from(RunQueue& victim, uint32_t thief) {
  if (victim.cpu() == thief || victim.load() < kMinVictimLoad) return nullptr;
  return victim.take_for_cpu(thief);
}

}  // namespace exo::sched
