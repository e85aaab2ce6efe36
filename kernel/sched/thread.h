// Kernel threads: the thread control block, creation, exit and the per-CPU scheduler entry
// points (yield, block, wake). The pure queueing policy lives in run_queue/policy/slice.
#pragma once

#include "kernel/arch/user.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/sched_entity.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"

namespace exo {

struct CpuScheduler;
[[noreturn]] void thread_exit();

class Thread : public sched::SchedEntity {
 public:
  using StartFn = void (*)(void* arg);
  static constexpr usize kNameLength = 32;

  // Allocates a thread (TCB from the heap, a guard-paged kernel stack) that will run
  // start(arg) once started. It is not runnable until start() is called.
  static Result<Thread*> create(const char* name, StartFn start, void* arg,
                                uint8_t priority = sched::kDefaultPriority);

  // Makes a new thread runnable on the CPU the placement policy picks (the least loaded CPU
  // its affinity allows).
  // Precondition: state is kNew.
  void start();
  // Makes a new thread runnable on `cpu`'s queue regardless of load, keeping its affinity (idle
  // CPUs may still steal it). For tests and for seeding work on a chosen CPU.
  // Precondition: state is kNew and `cpu` is online and allowed by the affinity.
  void start_on(uint32_t cpu);

  // The thread running on this CPU (its idle thread when nothing else runs).
  static Thread* current();

  uint64_t id() const { return id_; }
  const char* name() const { return name_; }
  uint32_t cpu() const { return last_cpu_; }
  const mm::KernelStack& stack() const { return stack_; }
  // Whether the thread has user FPU/SSE state to save on a switch (user threads only).
  bool has_fpu_state() const { return fpu_state_ != nullptr; }

  // Ring 3 (kernel/proc): turns a new thread into a user thread of `process` (a proc::Process,
  // opaque here) whose address space has the PML4 `address_space_root`, with a clean FPU
  // state. A switch to it then loads that address space, points the CPU's kernel-entry stack
  // at this thread's stack and restores its FPU state; a switch away saves the FPU state.
  // kNoMemory. Precondition: state is kNew. The space is loaded with `pcid`, trusting the
  // PCID's cached entries only at the generation `*tlb_generation` holds when it is loaded
  // (vm::AddressSpace::pcid and tlb_generation, arch::load_user_address_space).
  Status make_user(void* process, uint64_t address_space_root, uint16_t pcid = 0,
                   const uint64_t* tlb_generation = nullptr);
  bool is_user() const { return address_space_root_ != 0; }
  void* process() const { return process_; }
  uint64_t address_space_root() const { return address_space_root_; }
  // Set by whoever ends the thread's process; the thread checks it on its way back to ring 3
  // and in blocking calls.
  bool kill_requested() const { return __atomic_load_n(&kill_requested_, __ATOMIC_ACQUIRE); }
  void request_kill() { __atomic_store_n(&kill_requested_, true, __ATOMIC_RELEASE); }
  // Links of the owning process's thread list (kernel/proc, under the process's lock).
  Thread* process_next = nullptr;
  // What a blocked process_wait waits on (kernel/proc, under its wait lock).
  void* waiting_on = nullptr;
  // IPC state of a user thread (ipc::ThreadIpc, kernel/ipc), owned by kernel/proc.
  void* ipc = nullptr;
  // The I/O ports its process may use (the process's arch::IoPermissions; null: none).
  const arch::IoPermissions* io_permissions = nullptr;
  // The notification a thread waits on (kernel/ipc/notification.cc, under its lock).
  void* waiting_on_notification = nullptr;

 private:
  // The scheduling glue in thread.cc owns the switching state below.
  friend struct CpuScheduler;
  friend class SchedulerInternals;

  Thread() = default;

  uptr saved_sp_ = 0;         // valid while not running
  mm::KernelStack stack_{};   // empty for a CPU's bootstrap thread (it runs on a boot stack)
  StartFn start_ = nullptr;
  void* arg_ = nullptr;
  uint64_t id_ = 0;
  // True from the moment a CPU switches to this thread until that CPU has finished switching
  // away from it. A CPU about to run it waits for false: its registers are saved only then.
  bool on_cpu_ = false;
  bool is_idle_ = false;
  // User threads get an XSAVE area with the user-mode work; kernel threads never touch the FPU
  // (-mgeneral-regs-only), so they carry none and switching them saves none.
  void* fpu_state_ = nullptr;
  void* process_ = nullptr;
  uint64_t address_space_root_ = 0;
  const uint64_t* tlb_generation_ = nullptr;  // null: the space is untagged
  uint16_t pcid_ = 0;
  bool kill_requested_ = false;
  char name_[kNameLength] = {};
  // Every thread's links (for_each_thread_racy), under the list's lock in thread.cc.
  Thread* all_prev_ = nullptr;
  Thread* all_next_ = nullptr;
};

// Scheduler bring-up for the boot CPU: turns the running boot context into that CPU's first
// thread and creates its idle thread. Boot order: after mm::init.
void scheduler_init_boot_cpu();

// True once scheduler_init_boot_cpu has run on this CPU (Thread::current() is valid).
bool scheduler_ready();

// Starts scheduling on the application processors (each gets a run queue and an idle thread and
// then steals or waits for work). Boot CPU, after scheduler_init_boot_cpu and arch::smp_init.
void scheduler_start_secondary_cpus();

// Blocks the calling thread for at least `ns` nanoseconds (one-shot timer, no periodic tick).
void thread_sleep_ns(uint64_t ns);

// Gives up the CPU to any ready thread of the same or higher priority; returns when this thread
// is picked again.
void thread_yield();

// Ends the calling thread. Its stack and TCB are freed by the next thread on the same CPU.
[[noreturn]] void thread_exit();

// Blocks the current thread on `queue`, whose owner's lock `lock` the caller holds (taken with
// `flags` from Spinlock::acquire). Releases that lock; returns when the thread has been woken
// (wake()), with the lock NOT held.
void block_on(sched::WaitQueue& queue, Spinlock& lock, uint64_t flags);

// block_on for a queue served in priority order (IPC senders).
void block_on(sched::PriorityWaitQueue& queue, Spinlock& lock, uint64_t flags);

// How a wait with a deadline ended.
enum class WaitResult : uint8_t {
  kWoken,     // wake() was called for it; `lock` is not held
  kTimedOut,  // the deadline passed first; `lock` is held again
};

// As block_on, until at most `deadline_ns` (clock::now_ns's time base; sched::kNever: no
// deadline, exactly block_on). A deadline already past times out at once, without blocking.
// kTimedOut returns with `lock` held again (*flags updated) and the thread still on whichever
// wait queue of that lock's owner it was left on (a waiter may have moved it from `queue` to
// another): the caller takes it off and undoes its part of the wait under the lock.
//
// The protocol, which every waker of a thread that may wait with a deadline follows: take it off
// its queue and call wake() on it BEFORE dropping the queue owner's lock. wake() cancels the
// pending timer, or finds it fired (the timer made the thread ready, still linked on its wait
// queue) and only records that the thread was woken. The thread, once running, looks under the
// same lock whether wake() came: after the lock is free it may return and exit, so a wake() after
// the unlock could touch a freed thread. Moving a thread from one wait queue to another
// (WaitQueue::move_in) without wake() keeps its deadline running.
WaitResult block_on_until(sched::WaitQueue& queue, Spinlock& lock, uint64_t* flags,
                          uint64_t deadline_ns);
WaitResult block_on_until(sched::PriorityWaitQueue& queue, Spinlock& lock, uint64_t* flags,
                          uint64_t deadline_ns);

// After wake() calls made under another lock, with interrupts off: runs a more urgent thread they
// made ready on this CPU now rather than at the next interrupt. Call with no spinlock held.
void preempt_if_needed();

// Sets the calling thread's priority (0..sched::kPriorityLevels-1; the syscall layer bounds
// user values) and gives up the CPU if something more urgent is now ready here.
void thread_set_priority(uint8_t priority);

// The direct hand-off of IPC's generic path (docs/ipc.md; the fast path parks instead,
// kernel/sched/handoff.h): blocks the calling thread on `queue` as block_on does and runs
// `next`, a blocked thread the caller has just taken off whatever queue it waited on, on this
// CPU at once, without a pass through the run queue. Returns when the calling thread is woken. Precondition: can_switch_directly(next) (kernel/sched/handoff.h).
void block_on_and_switch_to(sched::WaitQueue& queue, Spinlock& lock, uint64_t flags, Thread& next);
// Where a switch into a parked thread arrives (arch's exo_ipc_resume_parked, this CPU's
// scheduler lock held, interrupts off): lets go of `prev` as every switch does, then of the
// lock, and turns interrupts on.
void finish_switch_into_parked(Thread& prev);
// Makes a blocked thread runnable again. The caller holds the lock of the wait queue it took
// the thread from (and has removed it from that queue); for a thread that may wait with a
// deadline it must still hold it (block_on_until).
void wake(Thread& thread);

// Restricts the calling thread to the CPUs in `mask` (ring 3's thread_set_affinity). When the
// CPU it runs on is not in the mask it leaves it at once: it is queued on an allowed CPU the way
// wake() places a thread and this CPU switches away; it returns running on an allowed CPU.
// kInvalidArgument for an empty mask; the caller checks that the CPUs are online.
// Precondition: thread context, not the idle thread, no spinlock held.
Status thread_set_own_affinity(const sched::CpuMask& mask);

// Frees a thread that was created and never started (its start-up failed half way).
void thread_discard_unstarted(Thread& thread);

// The calling user thread leaves its address space for the kernel's for good (its process is
// being torn down), then waits until no other CPU has `root` loaded, so the tables can go.
void leave_address_space(uint64_t root);

// Whether a CPU other than the caller's has the address space `root` loaded (TLB shootdown).
bool address_space_loaded_elsewhere(uint64_t root);

// The CPU the thread runs on if it is running right now, else -1 (to interrupt it).
int running_cpu_of(const Thread& thread);

// Calls fn on every thread that exists, for a diagnostic dump of a stuck machine. Racy by
// design: it takes no lock (it runs from an NMI, which may have interrupted the list's owner),
// so it must not run while threads are created or freed in earnest.
void for_each_thread_racy(void (*fn)(const Thread& thread));
const char* thread_state_name(const Thread& thread);

// Statistics for tests and benchmarks.
struct SchedulerStats {
  uint64_t context_switches;
  uint64_t threads_reaped;
  uint64_t threads_live;
  uint64_t steals;
  uint64_t preemptions;
};
SchedulerStats scheduler_stats();

// Prints every CPU's scheduler state (current thread, queue lengths, counters) to the console,
// for diagnosing a stuck test. Racy by design: it takes no locks.
void scheduler_dump();

}  // namespace exo
