// kbench: scheduler path lengths (switch, create+exit, cross-CPU wake) and thread capacity.
#include "kernel/arch/arch.h"
#include "kernel/core/console.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/thread.h"
#include "kernel/test/kbench.h"

namespace exo {
namespace {

constexpr uint64_t kSwitches = 2000;

sched::CpuMask only(uint32_t cpu) {
  sched::CpuMask mask;
  mask.set(cpu);
  return mask;
}

struct SwitchRun {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t done = 0;
};

// Two threads of one priority on one CPU hand the CPU back and forth with thread_yield: each
// yield is one pass through the scheduler (charge, requeue, pick, switch, finish).
void yielder(void* arg) {
  auto* r = static_cast<SwitchRun*>(arg);
  if (r->start == 0) r->start = arch::cycle_counter();
  for (uint64_t i = 0; i < kSwitches / 2; ++i) thread_yield();
  if (__atomic_add_fetch(&r->done, 1, __ATOMIC_ACQ_REL) == 2) r->end = arch::cycle_counter();
}

// Spins with PAUSE while another CPU does the work. Not thread_yield: under -icount QEMU runs
// every vCPU in one host thread, round robin, and an IPI does not end the sender's turn, so a
// CPU yielding in a loop keeps the other vCPU (which just took the wake IPI) from running until
// its instruction budget runs out, tens of millions of instructions per wake. PAUSE ends a
// vCPU's turn in QEMU's TCG ("let another CPU run"; target/i386/tcg/misc_helper.c), and costs
// little on hardware and under multi-threaded TCG.
void spin_until(const uint64_t& value, uint64_t target) {
  while (__atomic_load_n(&value, __ATOMIC_ACQUIRE) < target) arch::cpu_relax();
}

EXO_KBENCH(thread_switch, "thread_yield between two kernel threads on one CPU, per switch") {
  uint32_t cpu = arch::current_cpu();
  for (int round = 0; round < 9; ++round) {
    SwitchRun run;
    Thread* pair[2];
    // This thread's own priority, so neither yielder runs before both are queued (a more urgent
    // one would preempt us at its start and yield to itself until it finished).
    for (Thread*& t : pair) {
      t = *Thread::create("yielder", &yielder, &run, sched::kDefaultPriority);
      (void)t->set_affinity(only(cpu));
      t->slice_ns_ = t->slice_left_ns_ = 60'000'000'000;  // no slice timer in the window
    }
    for (Thread* t : pair) t->start_on(cpu);
    // Off the run queue while the pair runs (a few hundred microseconds), so every yield in
    // the window is a switch between the two of them.
    while (__atomic_load_n(&run.done, __ATOMIC_ACQUIRE) < 2) thread_sleep_ns(20'000'000);
    bench.record(run.end - run.start, kSwitches);
  }
}

void nothing(void*) {}

EXO_KBENCH(thread_create_exit, "Thread::create + start + run to exit + reap, one CPU") {
  uint32_t cpu = arch::current_cpu();
  constexpr uint64_t kThreads = 200;
  for (int round = 0; round < 9; ++round) {
    uint64_t reaped = scheduler_stats().threads_reaped;
    uint64_t start = arch::cycle_counter();
    for (uint64_t i = 0; i < kThreads; ++i) {
      Thread* t = *Thread::create("short", &nothing, nullptr, sched::kDefaultPriority + 1);
      (void)t->set_affinity(only(cpu));
      t->start_on(cpu);  // more urgent: runs and exits before start_on returns
    }
    while (scheduler_stats().threads_reaped < reaped + kThreads) thread_yield();
    bench.record(arch::cycle_counter() - start, kThreads);
  }
}

constexpr uint64_t kWakeRounds = kbench::Context::kMaxSamples;

struct WakeProbe {
  Spinlock lock;
  sched::WaitQueue queue;
  uint64_t woken_at = 0;
  uint64_t rounds = 0;
  uint64_t stop = 0;
};

void wake_target(void* arg) {
  auto* p = static_cast<WakeProbe*>(arg);
  for (;;) {
    uint64_t flags = p->lock.acquire();
    if (p->stop) {
      p->lock.release(flags);
      return;
    }
    block_on(p->queue, p->lock, flags);
    __atomic_store_n(&p->woken_at, arch::cycle_counter(), __ATOMIC_RELEASE);
    __atomic_fetch_add(&p->rounds, 1, __ATOMIC_ACQ_REL);
  }
}

EXO_KBENCH(cross_cpu_wake, "wake() on one CPU to the woken thread running on another (latency)") {
  if (arch::cpu_count() < 2) {
    kprint("bench cross_cpu_wake: needs two CPUs (-- -smp 2)\n");
    return;
  }
  uint32_t here = arch::current_cpu();
  uint32_t there = here == 0 ? 1 : 0;
  WakeProbe probe;
  Thread* t = *Thread::create("wake_target", &wake_target, &probe);
  (void)t->set_affinity(only(there));
  t->start_on(there);
  for (uint64_t i = 0; i < kWakeRounds; ++i) {
    // Wait until it is parked on the queue again.
    for (;;) {
      uint64_t flags = probe.lock.acquire();
      bool parked = probe.queue.size() == 1;
      probe.lock.release(flags);
      if (parked) break;
      arch::cpu_relax();  // as in spin_until
    }
    uint64_t flags = probe.lock.acquire();
    sched::SchedEntity* e = probe.queue.wake_one();
    probe.lock.release(flags);
    uint64_t sent = arch::cycle_counter();
    wake(*static_cast<Thread*>(e));
    spin_until(probe.rounds, i + 1);
    bench.sample(__atomic_load_n(&probe.woken_at, __ATOMIC_ACQUIRE) - sent);
  }
  uint64_t flags = probe.lock.acquire();
  probe.stop = 1;
  sched::SchedEntity* e = probe.queue.wake_one();
  probe.lock.release(flags);
  if (e != nullptr) wake(*static_cast<Thread*>(e));
}

struct Parking {
  Spinlock lock;
  sched::WaitQueue queue;
};

void park(void* arg) {
  auto* p = static_cast<Parking*>(arg);
  uint64_t flags = p->lock.acquire();
  block_on(p->queue, p->lock, flags);
}

EXO_KBENCH(max_threads, "threads created (parked) until memory runs out; bytes each") {
  Parking parking;
  mm::FrameCounts before = mm::frame_counts();
  uint64_t created = 0;
  for (;;) {
    Result<Thread*> t = Thread::create("parked", &park, &parking);
    if (!t.ok()) break;
    (*t)->start();
    ++created;
  }
  mm::FrameCounts full = mm::frame_counts();
  uint64_t bytes = (before.free - full.free) * mm::kPageSize;
  kprint("bench max_threads: {} threads before kNoMemory, {} bytes each ({} KiB stack + guard "
         "slot, TCB and heap share); limited by RAM ({} MiB free at start)\n",
         created, created != 0 ? bytes / created : 0, mm::kKernelStackSize / 1024,
         before.free * mm::kPageSize / MiB);
  // Release them all: each wakes, returns and exits.
  for (;;) {
    uint64_t flags = parking.lock.acquire();
    sched::SchedEntity* e = parking.queue.wake_one();
    parking.lock.release(flags);
    if (e == nullptr) {
      if (scheduler_stats().threads_live <= 2 + 2 * arch::cpu_count()) break;
      thread_yield();
      continue;
    }
    wake(*static_cast<Thread*>(e));
  }
}

}  // namespace
}  // namespace exo
