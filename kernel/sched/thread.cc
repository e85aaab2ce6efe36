// Kernel threads and the per-CPU scheduling glue: locks, context switches, timers, placement,
// stealing and reaping. The queueing policy itself is pure logic (run_queue, policy, slice).
#include "kernel/sched/thread.h"

#include "kernel/sched/cpu_scheduler.h"

#include "kernel/arch/arch.h"
#include "kernel/arch/context.h"
#include "kernel/arch/mmu.h"
#include "kernel/arch/user.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/arch/x86_64/smp.h"
#include "kernel/core/panic.h"
#include "kernel/lib/new.h"
#include "kernel/sched/policy.h"
#include "kernel/sched/slice.h"
#include "kernel/time/clock.h"

namespace exo {

using I = SchedulerInternals;

constinit CpuScheduler* g_schedulers[arch::kMaxCpus] = {};

namespace {

alignas(CpuScheduler) constinit uint8_t g_scheduler_storage[arch::kMaxCpus][sizeof(CpuScheduler)] = {};
constinit uint64_t g_next_thread_id = 1;
constinit uint64_t g_threads_live = 0;
constinit uint64_t g_threads_reaped = 0;

// Machine shape for placement and stealing: SRAT nodes, distance 10 within a node and 20
// across (no SLIT parsing yet).
constinit uint8_t g_node_of_cpu[arch::kMaxCpus] = {};
constinit uint8_t g_distances[arch::kMaxCpus * arch::kMaxCpus] = {};
alignas(sched::Topology) constinit uint8_t g_topology_storage[sizeof(sched::Topology)] = {};
constinit bool g_topology_ready = false;

// Every thread, for diagnostic dumps (for_each_thread_racy).
constinit Spinlock g_all_threads_lock;
constinit Thread* g_all_threads = nullptr;

void link_thread(Thread& t) {
  uint64_t flags = g_all_threads_lock.acquire();
  I::all_next(t) = g_all_threads;
  if (g_all_threads != nullptr) I::all_prev(*g_all_threads) = &t;
  g_all_threads = &t;
  g_all_threads_lock.release(flags);
}

void unlink_thread(Thread& t) {
  uint64_t flags = g_all_threads_lock.acquire();
  if (I::all_prev(t) != nullptr) I::all_next(*I::all_prev(t)) = I::all_next(t);
  if (I::all_next(t) != nullptr) I::all_prev(*I::all_next(t)) = I::all_prev(t);
  if (g_all_threads == &t) g_all_threads = I::all_next(t);
  g_all_threads_lock.release(flags);
}

const sched::Topology& topology() { return *reinterpret_cast<const sched::Topology*>(g_topology_storage); }

Thread* as_thread(sched::SchedEntity* e) { return static_cast<Thread*>(e); }

void copy_name(char* out, const char* name) {
  usize i = 0;
  for (; name[i] != '\0' && i + 1 < Thread::kNameLength; ++i) out[i] = name[i];
  out[i] = '\0';
}

// A lock-free snapshot of every CPU's load for placement and stealing.
struct LoadSnapshot {
  uint32_t loads[arch::kMaxCpus];
  sched::CpuLoadView view;
};
void take_snapshot(LoadSnapshot& s) {
  uint32_t n = 0;
  s.view.online_ = sched::CpuMask();
  for (uint32_t cpu = 0; cpu < arch::kMaxCpus; ++cpu) {
    CpuScheduler* c = __atomic_load_n(&g_schedulers[cpu], __ATOMIC_ACQUIRE);
    s.loads[cpu] = c != nullptr ? c->queue.load_relaxed() : 0;
    if (c != nullptr) {
      s.view.online_.set(cpu);
      n = cpu + 1;
    }
  }
  s.view.load_ = Span<const uint32_t>(s.loads, n);
}

uint64_t deadline_to_cycles(uint64_t deadline_ns) {
  return arch::boot_cycle_counter() + clock::ns_to_cycles(deadline_ns);
}

// Arms this CPU's one-shot timer for the earliest of the next sleeper and the end of the
// running slice when another thread could take over; cancels it when neither exists (tickless).
// Precondition: cpu is this CPU's scheduler and its lock is held.
void program_timer(CpuScheduler& cpu) {
  uint64_t deadline = cpu.sleepers.next_deadline();
  if (sched::needs_periodic_tick(cpu.queue)) {
    uint64_t slice_end;
    if (checked_add(cpu.queue.charged_until_ns(), cpu.queue.current()->slice_left_ns_, &slice_end) &&
        slice_end < deadline) {
      deadline = slice_end;
    }
  }
  if (deadline == cpu.armed_deadline_ns) return;
  cpu.armed_deadline_ns = deadline;
  if (deadline == sched::kNever) {
    arch::timer_cancel();
  } else {
    arch::timer_arm_at(deadline_to_cycles(deadline));
  }
}

}  // namespace

void reap_zombies(CpuScheduler& cpu) {
  for (;;) {
    uint64_t flags = cpu.lock.acquire();
    sched::SchedEntity* e = cpu.zombies.pop_front();
    cpu.lock.release(flags);
    if (e == nullptr) return;
    Thread* t = as_thread(e);
    unlink_thread(*t);
    mm::free_kernel_stack(I::stack(*t));
    mm::heap_free(I::fpu_state(*t));
    t->~Thread();
    mm::heap_free(t);
    __atomic_fetch_add(&g_threads_reaped, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&g_threads_live, 1, __ATOMIC_RELAXED);
  }
}

// Switches from `prev` to `next`, which the run queue already made current (or the idle
// thread). Precondition: cpu.lock held, prev requeued, parked on a wait queue or the timer
// queue, or dead. Returns the scheduler of the CPU this thread resumes on, whose lock is held.
// Inline: it is most of every switch, and a call would save and restore the callee-saved
// registers a second time around the context switch, which saves them anyway.
[[gnu::always_inline]] inline CpuScheduler& switch_to(CpuScheduler& cpu, Thread& prev, Thread& next) {
  program_timer(cpu);
  // A thread woken right after it blocked on another CPU may still be saving its registers.
  while (__atomic_load_n(&I::on_cpu(next), __ATOMIC_ACQUIRE)) arch::cpu_relax();
  I::on_cpu(next) = true;
  cpu.current = &next;
  ++cpu.context_switches;
  switch_user_state(cpu, prev, next);
  void* last = arch::context_switch(&I::saved_sp(prev), I::saved_sp(next), &prev);
  CpuScheduler& resumed = this_cpu();
  finish_switch(resumed, *static_cast<Thread*>(last));
  return resumed;
}

// Switches from cpu.current to the next ready thread (or idle), as switch_to. Precondition:
// cpu.lock held, the current thread already off the run queue's current slot (requeued, parked
// or dead). Returns the scheduler this thread resumes on, lock held.
CpuScheduler& switch_away(CpuScheduler& cpu, uint64_t now) {
  sched::SchedEntity* e = cpu.queue.pick_next(now);
  Thread* next = e != nullptr ? as_thread(e) : cpu.idle;
  Thread* prev = cpu.current;
  if (next == prev) {
    program_timer(cpu);
    return cpu;
  }
  return switch_to(cpu, *prev, *next);
}

// Lets go of `cpu`'s lock after a switch and frees what exited there meanwhile.
void release_and_reap(CpuScheduler& cpu, uint64_t flags) {
  bool zombies = !cpu.zombies.empty();
  cpu.lock.release(flags);
  if (zombies) reap_zombies(cpu);
}

void thread_entry(void*, void* prev) {
  // First run of a thread: we arrive from switch_to on some CPU with its lock held.
  CpuScheduler& cpu = this_cpu();
  finish_switch(cpu, *static_cast<Thread*>(prev));
  cpu.lock.release(arch::kRflagsInterruptEnable);
  Thread* self = cpu.current;
  I::start(*self)(I::arg(*self));
  thread_exit();
}

namespace {

// Puts the running thread back on its queue after preemption and switches. cpu.lock held,
// interrupts off; released on return (it is the lock of the CPU the thread resumes on).
void preempt_locked(CpuScheduler& cpu) {
  Thread* self = cpu.current;
  if (!I::is_idle(*self)) {
    cpu.queue.charge_current(clock::now_ns());
    cpu.queue.clear_current();
    self->state_ = sched::ThreadState::kReady;
    sched::requeue_preempted(cpu.queue, *self);
  }
  ++cpu.preemptions;
  CpuScheduler& resumed = switch_away(cpu, clock::now_ns());
  resumed.lock.release_irqs_off();
}

// After the EOI of every device interrupt (arch preempt hook), interrupts off.
void on_interrupt_exit() {
  CpuScheduler* cpu = g_schedulers[arch::current_cpu()];
  if (cpu == nullptr || !cpu->need_resched) return;
  cpu->need_resched = false;
  cpu->lock.acquire_irqs_off();
  preempt_locked(*cpu);
}

// Timer interrupt: wake expired sleepers, account the slice, re-arm.
void on_timer() {
  CpuScheduler* cpu = g_schedulers[arch::current_cpu()];
  if (cpu == nullptr) return;
  cpu->lock.acquire_irqs_off();
  uint64_t now = clock::now_ns();
  cpu->armed_deadline_ns = sched::kNever;  // the one-shot has fired
  while (sched::SchedEntity* e = cpu->sleepers.pop_expired(now)) {
    e->state_ = sched::ThreadState::kReady;
    if (sched::should_preempt_on_wakeup(cpu->queue, *e)) cpu->need_resched = true;
    cpu->queue.enqueue(*e);
  }
  if (sched::on_tick(cpu->queue, now)) cpu->need_resched = true;
  program_timer(*cpu);
  cpu->lock.release_irqs_off();
}

// Reschedule IPI: another CPU queued work here.
void on_reschedule() {
  CpuScheduler* cpu = g_schedulers[arch::current_cpu()];
  if (cpu == nullptr) return;
  cpu->lock.acquire_irqs_off();
  sched::SchedEntity* current = cpu->queue.current();
  int ready = cpu->queue.highest_ready_priority();
  if (ready >= 0 && (current == nullptr || ready > current->priority_)) cpu->need_resched = true;
  // An idle CPU is woken to steal: its idle loop runs after this returns.
  program_timer(*cpu);
  cpu->lock.release_irqs_off();
}

// Queues `thread` on `cpu` and makes sure that CPU notices.
void enqueue_on(uint32_t target, Thread& thread) {
  CpuScheduler& cpu = *g_schedulers[target];
  uint64_t flags = cpu.lock.acquire();
  thread.state_ = sched::ThreadState::kReady;
  bool preempt = sched::should_preempt_on_wakeup(cpu.queue, thread);
  cpu.queue.enqueue(thread);
  bool local = target == arch::current_cpu();
  if (local) {
    program_timer(cpu);
    if (preempt) cpu.need_resched = true;
  }
  uint32_t load = cpu.queue.load();
  cpu.lock.release(flags);
  // The target must re-arm its own timer (a slice end now matters) or preempt.
  if (!local) arch::send_reschedule(target);
  if (load >= sched::kMinVictimLoad) {
    // Work piles up there: wake one idle CPU so it steals. Idle CPUs take no ticks, so nobody
    // else would.
    for (uint32_t other = 0; other < arch::kMaxCpus; ++other) {
      CpuScheduler* c = __atomic_load_n(&g_schedulers[other], __ATOMIC_ACQUIRE);
      if (c != nullptr && other != target && c->queue.load_relaxed() == 0) {
        arch::send_reschedule(other);
        break;
      }
    }
  }
  // In thread context a more urgent wakeup runs now; in an interrupt the exit hook does it.
  if (local && preempt && (flags & arch::kRflagsInterruptEnable) != 0) {
    uint64_t again = arch::irq_save();
    on_interrupt_exit();
    arch::irq_restore(again);
  }
}

// An idle CPU's attempt to take work from the others, nearest NUMA node first. Interrupts stay
// off from the take to the enqueue: a stolen thread is on no queue in between, and an idle
// thread preempted there would hold it until this CPU next idles, which a thread that keeps
// yielding here can put off for ever.
bool try_steal(CpuScheduler& thief) {
  if (!g_topology_ready) return false;
  arch::InterruptsOff no_preemption;
  LoadSnapshot snapshot;
  take_snapshot(snapshot);
  sched::SchedEntity* e = sched::steal(thief.index, topology(), snapshot.view,
      [](uint32_t victim, auto&& fn) -> sched::SchedEntity* {
        CpuScheduler* v = g_schedulers[victim];
        if (v == nullptr) return nullptr;
        uint64_t flags = v->lock.acquire();
        sched::SchedEntity* taken = fn(v->queue);
        v->lock.release(flags);
        return taken;
      });
  if (e == nullptr) return false;
  uint64_t flags = thief.lock.acquire();
  e->state_ = sched::ThreadState::kReady;
  thief.queue.enqueue(*e);
  ++thief.steals;
  thief.lock.release(flags);
  return true;
}

[[noreturn]] void idle_loop(void*) {
  for (;;) {
    CpuScheduler& cpu = this_cpu();
    // Threads that exited here wait for the next thread on this CPU to free them; when that
    // is the idle thread, it does it before sleeping.
    reap_zombies(cpu);
    if (cpu.queue.ready_count() == 0) try_steal(cpu);
    uint64_t flags = arch::irq_save();
    bool work = cpu.queue.ready_count() != 0;
    if (work) {
      thread_yield();
      arch::irq_restore(flags);
      continue;
    }
    // An interrupt after reap_zombies may have preempted this thread for one that exited, and
    // only this CPU reaps its zombies: halting now could leave them unreaped for good (tickless).
    // Only this CPU adds to the list, and not with interrupts off, so the check is stable.
    if (!cpu.zombies.empty()) {
      arch::irq_restore(flags);
      continue;
    }
    // sti's one-instruction shadow makes sti;hlt atomic: an interrupt that queues work wakes
    // the hlt rather than slipping in before it.
    arch::sti_hlt();
  }
}

}  // namespace

Result<Thread*> Thread::create(const char* name, StartFn start, void* arg, uint8_t priority) {
  if (priority >= sched::kPriorityLevels) return Error::kInvalidArgument;
  void* memory = mm::heap_allocate(sizeof(Thread), alignof(Thread));
  if (memory == nullptr) return Error::kNoMemory;
  Result<mm::KernelStack> stack = mm::allocate_kernel_stack();
  if (!stack.ok()) {
    mm::heap_free(memory);
    return stack.error();
  }
  Thread* t = I::construct(memory);
  I::stack(*t) = *stack;
  I::start(*t) = start;
  I::arg(*t) = arg;
  t->priority_ = priority;
  I::id(*t) = __atomic_fetch_add(&g_next_thread_id, 1, __ATOMIC_RELAXED);
  copy_name(I::name(*t), name);
  I::saved_sp(*t) = arch::initial_thread_stack(I::stack(*t).top, &thread_entry, nullptr);
  link_thread(*t);
  __atomic_fetch_add(&g_threads_live, 1, __ATOMIC_RELAXED);
  return t;
}

void Thread::start() {
  EXO_ASSERT(state_ == sched::ThreadState::kNew);
  wake(*this);
}

void Thread::start_on(uint32_t cpu) {
  EXO_ASSERT(state_ == sched::ThreadState::kNew);
  EXO_ASSERT(cpu < arch::kMaxCpus && g_schedulers[cpu] != nullptr && may_run_on(cpu));
  enqueue_on(cpu, *this);
}

Thread* Thread::current() { return this_cpu().current; }

bool scheduler_ready() {
  return arch::percpu::boot_cpu_installed() && g_schedulers[arch::current_cpu()] != nullptr &&
         g_schedulers[arch::current_cpu()]->current != nullptr;
}

void wake(Thread& thread) {
  // Read under the lock of the queue the thread waited on, which its waker holds.
  if (uint32_t timer_cpu = thread.deadline_cpu_; timer_cpu != sched::kNoCpu) {
    CpuScheduler& timers = *g_schedulers[timer_cpu];
    uint64_t flags = timers.lock.acquire();
    bool cancelled = timers.sleepers.cancel(thread);
    timers.lock.release(flags);
    // The last touch of a thread whose timer fired: it may run, see this and return at once.
    __atomic_store_n(&thread.deadline_cpu_, sched::kNoCpu, __ATOMIC_RELEASE);
    if (!cancelled) return;  // the deadline passed first: the timer made it ready already
  }
  uint32_t target = arch::current_cpu();
  if (g_topology_ready) {
    LoadSnapshot snapshot;
    take_snapshot(snapshot);
    Result<uint32_t> chosen = sched::select_cpu_for_wakeup(thread, topology(), snapshot.view);
    if (chosen.ok()) target = *chosen;
  }
  enqueue_on(target, thread);
}

void thread_yield() {
  CpuScheduler& cpu = this_cpu();
  uint64_t flags = cpu.lock.acquire();
  Thread* self = cpu.current;
  if (I::is_idle(*self)) {
    release_and_reap(switch_away(cpu, clock::now_ns()), flags);
    return;
  }
  // One step in the run queue: the load is unchanged, and when nothing at least as urgent is
  // ready this thread keeps running with the timer as it was (charging moves charged_until
  // and slice_left by the same amount, so the slice end does not move). Zombies are looked at
  // either way: a thread that exited while this one was preempted in an interrupt left one,
  // and a thread yielding alone in a loop would otherwise never free it.
  Thread* next = as_thread(cpu.queue.yield_current(clock::now_ns()));
  release_and_reap(next == self ? cpu : switch_to(cpu, *self, *next), flags);
}

void thread_sleep_ns(uint64_t ns) {
  CpuScheduler& cpu = this_cpu();
  uint64_t flags = cpu.lock.acquire();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self));
  uint64_t now = clock::now_ns();
  cpu.queue.charge_current(now);
  cpu.queue.clear_current();
  self->state_ = sched::ThreadState::kBlocked;
  cpu.sleepers.insert(*self, now + ns);
  release_and_reap(switch_away(cpu, now), flags);
}

void thread_exit() {
  CpuScheduler& cpu = this_cpu();
  (void)cpu.lock.acquire();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self) && I::stack(*self).top != 0);
  cpu.queue.clear_current();
  self->state_ = sched::ThreadState::kDead;
  (void)switch_away(cpu, clock::now_ns());
  panic("thread {} ran again after exiting", self->id());
}

void block_on(sched::WaitQueue& queue, Spinlock& lock, uint64_t flags) {
  CpuScheduler& cpu = this_cpu();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self));
  cpu.lock.acquire_irqs_off();
  cpu.queue.charge_current(clock::now_ns());
  cpu.queue.clear_current();
  queue.block(*self);
  lock.release_irqs_off();
  release_and_reap(switch_away(cpu, clock::now_ns()), flags);
}

void block_on(sched::PriorityWaitQueue& queue, Spinlock& lock, uint64_t flags) {
  (void)block_on_until(queue, lock, &flags, sched::kNever);
}

namespace {

template <typename Queue>
WaitResult block_until(Queue& queue, Spinlock& lock, uint64_t* flags, uint64_t deadline_ns) {
  CpuScheduler& cpu = this_cpu();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self));
  cpu.lock.acquire_irqs_off();
  uint64_t now = clock::now_ns();
  if (deadline_ns <= now) {
    cpu.lock.release_irqs_off();
    return WaitResult::kTimedOut;
  }
  cpu.queue.charge_current(now);
  cpu.queue.clear_current();
  queue.block(*self);
  bool timed = deadline_ns != sched::kNever;
  if (timed) {
    cpu.sleepers.insert(*self, deadline_ns);
    self->deadline_cpu_ = cpu.index;
  }
  lock.release_irqs_off();
  release_and_reap(switch_away(cpu, now), *flags);
  // Running again: woken, or made ready by the timer (then still linked on a wait queue).
  if (!timed || __atomic_load_n(&self->deadline_cpu_, __ATOMIC_ACQUIRE) == sched::kNoCpu) {
    return WaitResult::kWoken;
  }
  *flags = lock.acquire();
  if (self->deadline_cpu_ == sched::kNoCpu) {  // a waker came after the timer fired
    lock.release(*flags);
    return WaitResult::kWoken;
  }
  // No waker can come now (they need this lock): the deadline won.
  self->deadline_cpu_ = sched::kNoCpu;
  return WaitResult::kTimedOut;
}

}  // namespace

WaitResult block_on_until(sched::WaitQueue& queue, Spinlock& lock, uint64_t* flags,
                          uint64_t deadline_ns) {
  return block_until(queue, lock, flags, deadline_ns);
}

WaitResult block_on_until(sched::PriorityWaitQueue& queue, Spinlock& lock, uint64_t* flags,
                          uint64_t deadline_ns) {
  return block_until(queue, lock, flags, deadline_ns);
}

void preempt_if_needed() {
  uint64_t flags = arch::irq_save();
  if ((flags & arch::kRflagsInterruptEnable) != 0) on_interrupt_exit();
  arch::irq_restore(flags);
}

void thread_set_priority(uint8_t priority) {
  EXO_ASSERT(priority < sched::kPriorityLevels);
  CpuScheduler& cpu = this_cpu();
  uint64_t flags = cpu.lock.acquire();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self));
  cpu.queue.change_priority(*self, priority);
  bool outranked = cpu.queue.highest_ready_priority() > int{priority};
  cpu.lock.release(flags);
  if (outranked) thread_yield();
}

void block_on_and_switch_to(sched::WaitQueue& queue, Spinlock& lock, uint64_t flags, Thread& next) {
  CpuScheduler& cpu = this_cpu();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self));
  cpu.lock.acquire_irqs_off();
  // `next` was blocked and is on no queue: it becomes current here without being enqueued.
  cpu.queue.hand_over_current(next, clock::now_ns());
  queue.block(*self);
  lock.release_irqs_off();
  release_and_reap(switch_to(cpu, *self, next), flags);
}

void finish_switch_into_parked(Thread& prev) {
  CpuScheduler& cpu = this_cpu();
  finish_switch(cpu, prev);
  release_and_reap(cpu, arch::kRflagsInterruptEnable);
}

namespace {

CpuScheduler& create_cpu_scheduler(uint32_t index) {
  CpuScheduler* cpu = new (g_scheduler_storage[index]) CpuScheduler(index);
  Result<Thread*> idle = Thread::create("idle", &idle_loop, nullptr, sched::kLowestPriority);
  if (!idle.ok()) panic("no memory for CPU {}'s idle thread: {}", index, idle.error());
  I::is_idle(**idle) = true;
  (*idle)->state_ = sched::ThreadState::kReady;
  cpu->idle = *idle;
  return *cpu;
}

// Turns the running boot context into the CPU's current thread `name` (no allocated stack).
Thread* adopt_boot_context(CpuScheduler& cpu, const char* name) {
  void* memory = mm::heap_allocate(sizeof(Thread), alignof(Thread));
  if (memory == nullptr) panic("no memory for CPU {}'s bootstrap thread", cpu.index);
  Thread* boot = I::construct(memory);
  I::id(*boot) = __atomic_fetch_add(&g_next_thread_id, 1, __ATOMIC_RELAXED);
  copy_name(I::name(*boot), name);
  I::on_cpu(*boot) = true;
  link_thread(*boot);
  __atomic_fetch_add(&g_threads_live, 1, __ATOMIC_RELAXED);
  return boot;
}

// Where each application processor lands once the scheduler starts: its boot context becomes a
// thread that never runs again once it has switched to the CPU's idle thread.
[[noreturn]] void ap_enter_scheduler(uint32_t index) {
  CpuScheduler& cpu = create_cpu_scheduler(index);
  Thread* boot = adopt_boot_context(cpu, "ap_boot");
  boot->state_ = sched::ThreadState::kDead;
  cpu.current = boot;
  __atomic_store_n(&g_schedulers[index], &cpu, __ATOMIC_RELEASE);
  (void)cpu.lock.acquire();
  (void)switch_away(cpu, clock::now_ns());
  panic("CPU {}'s boot context ran again", index);
}

}  // namespace

void scheduler_init_boot_cpu() {
  CpuScheduler& cpu = create_cpu_scheduler(0);
  Thread* boot = adopt_boot_context(cpu, "kernel_main");
  cpu.queue.set_current(*boot, clock::now_ns());
  cpu.current = boot;
  __atomic_store_n(&g_schedulers[0], &cpu, __ATOMIC_RELEASE);

  uint32_t cpus = arch::cpu_count();
  uint32_t nodes = 1;
  for (uint32_t i = 0; i < cpus; ++i) {
    g_node_of_cpu[i] = static_cast<uint8_t>(arch::cpu_node(i));
    nodes = max(nodes, uint32_t{g_node_of_cpu[i]} + 1);
  }
  for (uint32_t a = 0; a < nodes; ++a) {
    for (uint32_t b = 0; b < nodes; ++b) g_distances[a * nodes + b] = a == b ? sched::kLocalDistance : 20;
  }
  Result<sched::Topology> topo = sched::Topology::create(
      cpus, Span<const uint8_t>(g_node_of_cpu, cpus), nodes, Span<const uint8_t>(g_distances, nodes * nodes));
  new (g_topology_storage) sched::Topology(topo.ok() ? *topo : sched::Topology::uniform(cpus));
  g_topology_ready = true;

  arch::set_timer_hook(&on_timer);
  arch::set_reschedule_hook(&on_reschedule);
  arch::set_preempt_hook(&on_interrupt_exit);
}

void scheduler_start_secondary_cpus() {
  arch::start_secondary_cpus(&ap_enter_scheduler);
  // Wait until every online CPU has its queue, so placement sees them all.
  for (uint32_t cpu = 1; cpu < arch::cpu_count(); ++cpu) {
    while (__atomic_load_n(&g_schedulers[cpu], __ATOMIC_ACQUIRE) == nullptr) arch::cpu_relax();
  }
}

Status Thread::make_user(void* process, uint64_t address_space_root, uint16_t pcid,
                         const uint64_t* tlb_generation) {
  EXO_ASSERT(state_ == sched::ThreadState::kNew && address_space_root != 0);
  void* area = mm::heap_allocate(arch::fpu_state_size(), arch::kFpuStateAlign);
  if (area == nullptr) return Error::kNoMemory;
  arch::fpu_init_state(area);
  fpu_state_ = area;
  process_ = process;
  address_space_root_ = address_space_root;
  pcid_ = tlb_generation != nullptr ? pcid : 0;
  tlb_generation_ = tlb_generation;
  return ok_status();
}

Status thread_set_own_affinity(const sched::CpuMask& mask) {
  // Interrupts stay off from here to the switch: this thread must not be preempted (and so
  // requeued here) between leaving the run queue's current slot and switching away.
  uint64_t flags = arch::irq_save();
  CpuScheduler& cpu = this_cpu();
  Thread* self = cpu.current;
  EXO_ASSERT(!I::is_idle(*self));
  // A running thread is on no queue, so its affinity may change (sched_entity.h).
  Status set = self->set_affinity(mask);
  if (!set.ok() || self->may_run_on(cpu.index)) {
    arch::irq_restore(flags);
    return set;
  }
  cpu.lock.acquire_irqs_off();
  cpu.queue.charge_current(clock::now_ns());
  cpu.queue.clear_current();
  cpu.lock.release_irqs_off();
  // Queued on an allowed CPU while it still runs here, as a thread woken on another CPU just
  // after it blocked: that CPU waits for on_cpu_ to drop before it resumes it (switch_to).
  wake(*self);
  cpu.lock.acquire_irqs_off();
  release_and_reap(switch_away(cpu, clock::now_ns()), flags);
  return ok_status();
}

void thread_discard_unstarted(Thread& thread) {
  EXO_ASSERT(thread.state_ == sched::ThreadState::kNew);
  unlink_thread(thread);
  mm::free_kernel_stack(I::stack(thread));
  mm::heap_free(I::fpu_state(thread));
  thread.~Thread();
  mm::heap_free(&thread);
  __atomic_fetch_sub(&g_threads_live, 1, __ATOMIC_RELAXED);
}

void leave_address_space(uint64_t root) {
  uint64_t flags = arch::irq_save();
  CpuScheduler& cpu = this_cpu();
  I::root(*cpu.current) = 0;
  if (cpu.loaded_root != 0) {
    __atomic_store_n(&cpu.loaded_root, 0, __ATOMIC_SEQ_CST);
    arch::load_address_space(mm::kernel_root());
  }
  arch::irq_restore(flags);
  while (address_space_loaded_elsewhere(root)) arch::cpu_relax();
}

bool address_space_loaded_elsewhere(uint64_t root) {
  uint32_t self = arch::current_cpu();
  for (uint32_t i = 0; i < arch::kMaxCpus; ++i) {
    CpuScheduler* cpu = __atomic_load_n(&g_schedulers[i], __ATOMIC_ACQUIRE);
    if (cpu != nullptr && i != self && __atomic_load_n(&cpu->loaded_root, __ATOMIC_SEQ_CST) == root) {
      return true;
    }
  }
  return false;
}

int running_cpu_of(const Thread& thread) {
  for (uint32_t i = 0; i < arch::kMaxCpus; ++i) {
    CpuScheduler* cpu = __atomic_load_n(&g_schedulers[i], __ATOMIC_ACQUIRE);
    if (cpu != nullptr && __atomic_load_n(&cpu->current, __ATOMIC_ACQUIRE) == &thread) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void for_each_thread_racy(void (*fn)(const Thread& thread)) {
  for (const Thread* t = g_all_threads; t != nullptr; t = I::all_next(*t)) fn(*t);
}

const char* thread_state_name(const Thread& thread) {
  switch (thread.state_) {
    case sched::ThreadState::kNew: return "new";
    case sched::ThreadState::kReady: return "ready";
    case sched::ThreadState::kRunning: return "running";
    case sched::ThreadState::kBlocked: return "blocked";
    case sched::ThreadState::kDead: return "dead";
  }
  return "?";
}

void scheduler_dump() {
  for (CpuScheduler* cpu : g_schedulers) {
    if (cpu == nullptr) continue;
    Thread* current = cpu->current;
    kprint("  cpu {}: current '{}' ready {} load {} sleepers {} zombies {} switches {} steals {} "
           "preemptions {} need_resched {} armed {}\n",
           cpu->index, current != nullptr ? current->name() : "-", cpu->queue.ready_count(),
           cpu->queue.load_relaxed(), cpu->sleepers.size(), cpu->zombies.size(),
           cpu->context_switches, cpu->steals, cpu->preemptions, cpu->need_resched,
           cpu->armed_deadline_ns);
    arch::PerCpu& pc = arch::percpu::cpu(cpu->index);
    kprint("         lock held {}, reschedule IPIs {}, timer interrupts {}, TLB shootdowns {}\n",
           cpu->lock.is_held(), pc.reschedule_ipis, pc.timer_ticks, pc.tlb_shootdowns);
  }
}

SchedulerStats scheduler_stats() {
  SchedulerStats stats{0, __atomic_load_n(&g_threads_reaped, __ATOMIC_RELAXED),
                       __atomic_load_n(&g_threads_live, __ATOMIC_RELAXED), 0, 0};
  for (CpuScheduler* cpu : g_schedulers) {
    if (cpu == nullptr) continue;
    stats.context_switches += __atomic_load_n(&cpu->context_switches, __ATOMIC_RELAXED);
    stats.steals += __atomic_load_n(&cpu->steals, __ATOMIC_RELAXED);
    stats.preemptions += __atomic_load_n(&cpu->preemptions, __ATOMIC_RELAXED);
  }
  return stats;
}

}  // namespace exo
