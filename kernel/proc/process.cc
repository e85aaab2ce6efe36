// Processes and their user threads: creation, start, exit and reclamation, waiting, and the
// handling of faults in ring 3.
#include "kernel/proc/process.h"

#include "kernel/abi/status.h"
#include "kernel/arch/arch.h"
#include "kernel/arch/user.h"
#include "kernel/core/console.h"
#include "kernel/core/panic.h"
#include "kernel/ipc/ipc.h"
#include "kernel/ipc/notification.h"
#include "kernel/lib/new.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/time/clock.h"

namespace exo::proc {
namespace {

constinit uint64_t g_next_process_id = 1;

// Guards every process's waiters_ and every thread's waiting_on: waits are rare, and one lock
// lets a killer find and wake a thread blocked on any process without lifetime races.
constinit Spinlock g_wait_lock;

// Where a user thread starts: in the kernel, on its own stack, its address space loaded.
struct UserStart {
  uptr entry;
  uptr stack_top;
  uint64_t argument;
};

[[noreturn]] void user_thread_main(void* raw) {
  UserStart start = *static_cast<UserStart*>(raw);
  mm::heap_free(raw);
  if (Thread::current()->kill_requested()) Process::current()->exit_current_thread();
  arch::enter_user(start.entry, start.stack_top, start.argument);
}

// Wakes `thread` if it is blocked in Process::wait.
void interrupt_wait(Thread& thread) {
  uint64_t flags = g_wait_lock.acquire();
  auto* target = static_cast<Process*>(thread.waiting_on);
  bool removed = false;
  if (target != nullptr) {
    removed = target->wait_queue().remove(thread);
    thread.waiting_on = nullptr;
  }
  if (removed) wake(thread);  // under the lock: the waiter may have a deadline
  g_wait_lock.release(flags);
}

constexpr const char* kFaultNames[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "vector 9",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "vector 15", "#MF x87 floating point", "#AC alignment check",
    "#MC machine check", "#XM SIMD floating point", "#VE virtualization",
    "#CP control protection", "vector 22", "vector 23", "vector 24", "vector 25", "vector 26",
    "vector 27", "vector 28", "vector 29", "vector 30", "vector 31"};

void on_user_fault(const arch::UserFault& fault) {
  Process* process = Process::current();
  if (process == nullptr) panic("user fault without a process");
  const char* name = fault.vector < 32 ? kFaultNames[fault.vector] : "fault";
  if (fault.vector == 14) {
    kprint("process {} ({}) killed: {} at rip {:#x}, address {:#x} ({} {} in user mode)\n",
           process->id(), process->name(), name, fault.rip, fault.address,
           (fault.error_code & 1) ? "protection violation on" : "not-present page on",
           (fault.error_code & 16) ? "instruction fetch" : ((fault.error_code & 2) ? "write" : "read"));
  } else {
    kprint("process {} ({}) killed: {} at rip {:#x}, error code {:#x}, rsp {:#x}\n", process->id(),
           process->name(), name, fault.rip, fault.error_code, fault.rsp);
  }
  process->exit(EXO_EXIT_FAULT_BASE + static_cast<int64_t>(fault.vector));
}

void free_thread_ipc(Thread& thread) {
  auto* state = static_cast<ipc::ThreadIpc*>(thread.ipc);
  if (state == nullptr) return;
  thread.ipc = nullptr;
  state->~ThreadIpc();
  mm::heap_free(state);
}

void on_user_return() {
  Thread* self = Thread::current();
  if (!self->kill_requested()) return;
  arch::irq_restore(arch::kRflagsInterruptEnable);
  static_cast<Process*>(self->process())->exit_current_thread();
}

}  // namespace

// ---- ThreadObject --------------------------------------------------------------------------

Result<RefPtr<ThreadObject>> ThreadObject::create(uint64_t thread_id) {
  void* memory = mm::heap_allocate(sizeof(ThreadObject), alignof(ThreadObject));
  if (memory == nullptr) return Error::kNoMemory;
  auto* object = new (memory) ThreadObject();
  object->thread_id_ = thread_id;
  return object::adopt_ref(object);
}

void ThreadObject::destroy() {
  this->~ThreadObject();
  mm::heap_free(this);
}

// ---- Process -------------------------------------------------------------------------------

Process::Process() : KernelObject(kType) {}

Result<RefPtr<Process>> Process::create(const char* name, usize name_length) {
  void* memory = mm::heap_allocate(sizeof(Process), alignof(Process));
  if (memory == nullptr) return Error::kNoMemory;
  Result<vm::AddressSpace*> space = vm::AddressSpace::create();
  if (!space.ok()) {
    mm::heap_free(memory);
    return space.error();
  }
  auto* process = new (memory) Process();
  process->address_space_ = *space;
  process->id_ = __atomic_fetch_add(&g_next_process_id, 1, __ATOMIC_RELAXED);
  usize n = name_length < kNameLength - 1 ? name_length : kNameLength - 1;
  for (usize i = 0; i < n; ++i) process->name_[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
  process->name_[n] = '\0';
  return object::adopt_ref(process);
}

void Process::destroy() {
  // Only a process that never ran still owns its resources here; a dead one released them.
  if (state_ == State::kCreated) {
    address_space_->destroy();
    handles_.clear();
  }
  this->~Process();
  mm::heap_free(this);
}

Process* Process::current() { return static_cast<Process*>(Thread::current()->process()); }

Result<Handle> Process::add_handle(RefPtr<KernelObject> object, Rights rights) {
  SpinlockGuard guard(handles_lock_);
  return handles_.add(move(object), rights);
}

Result<RefPtr<KernelObject>> Process::get_handle(Handle handle, ObjectType type, Rights required) {
  SpinlockGuard guard(handles_lock_);
  return handles_.get(handle, type, required);
}

Result<Rights> Process::rights_of(Handle handle) {
  SpinlockGuard guard(handles_lock_);
  return handles_.rights_of(handle);
}

Result<Handle> Process::duplicate_handle(Handle handle, Rights rights) {
  SpinlockGuard guard(handles_lock_);
  return handles_.duplicate(handle, rights);
}

Status Process::reserve_for_transfer(const Handle* handles, usize count, object::HandleEntry* entries) {
  if (count == 0) return ok_status();  // most messages carry none: no lock
  SpinlockGuard guard(handles_lock_);
  for (usize i = 0; i < count; ++i) {
    Result<object::HandleEntry> entry = handles_.remove_for_transfer(handles[i]);
    if (!entry.ok()) {
      while (i-- > 0) (void)handles_.restore(handles[i], move(entries[i]));
      return entry.error();
    }
    entries[i] = move(*entry);
  }
  return ok_status();
}

void Process::commit_transfer(const Handle* handles, usize count) {
  if (count == 0) return;
  SpinlockGuard guard(handles_lock_);
  for (usize i = 0; i < count; ++i) (void)handles_.commit_transfer(handles[i]);
}

void Process::restore_transfer(const Handle* handles, usize count, object::HandleEntry* entries) {
  if (count == 0) return;
  SpinlockGuard guard(handles_lock_);
  for (usize i = 0; i < count; ++i) (void)handles_.restore(handles[i], move(entries[i]));
}

void Process::install(object::HandleEntry* entries, usize count, Handle* handles) {
  if (count == 0) return;
  object::HandleEntry dropped[ipc::kMaxHandles];
  {
    SpinlockGuard guard(handles_lock_);
    for (usize i = 0; i < count; ++i) {
      Result<Handle> added = handles_.add(entries[i].object_, entries[i].rights_);
      handles[i] = added.ok() ? *added : object::kInvalidHandle;
      dropped[i] = move(entries[i]);  // the table holds its own reference now (or none)
    }
  }
}

Status Process::close_handle(Handle handle) {
  object::HandleEntry entry;
  {
    SpinlockGuard guard(handles_lock_);
    entry = EXO_TRY(handles_.take(handle));
  }
  return ok_status();  // the reference drops here, outside the lock
}

Result<Handle> Process::transfer_handle(Handle handle, Process& target) {
  if (&target == this) {
    // Moving a handle into its own table: a no-op that keeps the value.
    SpinlockGuard guard(handles_lock_);
    EXO_TRY(handles_.rights_of(handle));
    return handle;
  }
  object::HandleEntry entry;
  {
    SpinlockGuard guard(handles_lock_);
    entry = EXO_TRY(handles_.remove_for_transfer(handle));
  }
  Result<Handle> added = target.add_handle(entry.object_, entry.rights_);
  SpinlockGuard guard(handles_lock_);
  if (!added.ok()) {
    Status restored = handles_.restore(handle, move(entry));
    (void)restored;
    return added.error();
  }
  Status committed = handles_.commit_transfer(handle);
  (void)committed;
  return *added;
}

Status Process::allow_io_ports(uint32_t base, uint32_t count) {
  {
    SpinlockGuard guard(lock_);
    EXO_TRY(io_.allow(base, count));
  }
  // This thread's CPU at once; the process's other threads when they next switch in.
  arch::reload_io_permissions(&io_);
  return ok_status();
}

Status Process::start(uptr entry, uptr stack_top, uint64_t argument) {
  {
    SpinlockGuard guard(lock_);
    if (state_ != State::kCreated) return Error::kBusy;
    set_state(State::kRunning);
  }
  Result<RefPtr<ThreadObject>> thread = create_thread(entry, stack_top, argument);
  if (!thread.ok()) {
    // Nothing ran: the process is dead at once, with no status of its own.
    SpinlockGuard guard(lock_);
    if (live_threads_ == 0) {
      set_state(State::kCreated);
    }
    return thread.error();
  }
  return ok_status();
}

Result<RefPtr<ThreadObject>> Process::create_thread(uptr entry, uptr stack_top, uint64_t argument) {
  auto* start = static_cast<UserStart*>(mm::heap_allocate(sizeof(UserStart), alignof(UserStart)));
  if (start == nullptr) return Error::kNoMemory;
  *start = UserStart{entry, stack_top, argument};
  Result<Thread*> created = Thread::create(name_, &user_thread_main, start);
  if (!created.ok()) {
    mm::heap_free(start);
    return created.error();
  }
  Thread* thread = *created;
  Result<RefPtr<ThreadObject>> object = ThreadObject::create(thread->id());
  Status made = object.ok() ? thread->make_user(this, address_space_->root(), address_space_->pcid(),
                                                           address_space_->tlb_generation()) : Status(object.error());
  if (made.ok()) {
    void* ipc_memory = mm::heap_allocate(sizeof(ipc::ThreadIpc), alignof(ipc::ThreadIpc));
    if (ipc_memory == nullptr) {
      made = Error::kNoMemory;
    } else {
      thread->ipc = new (ipc_memory) ipc::ThreadIpc();
    }
  }
  if (!made.ok()) {
    // Never started: freed here, stack and TCB.
    mm::heap_free(start);
    free_thread_ipc(*thread);
    thread_discard_unstarted(*thread);
    return made.error();
  }
  {
    SpinlockGuard guard(lock_);
    if (state_ != State::kRunning) {
      mm::heap_free(start);
      free_thread_ipc(*thread);
      thread_discard_unstarted(*thread);
      return Error::kPeerClosed;
    }
    add_ref();  // each live thread keeps its process
    thread->io_permissions = &io_;
    thread->process_next = threads_;
    threads_ = thread;
    ++live_threads_;
  }
  thread->start();
  return object;
}

void Process::begin_exit(int64_t status) {
  Thread* self = Thread::current();
  SpinlockGuard guard(lock_);
  if (state_ == State::kRunning) {
    exit_status_ = status;
    set_state(State::kDying);
  }
  // Every other thread stops at its next return towards ring 3: a blocked wait is woken, a
  // thread running on another CPU is interrupted. They stay valid while lock_ is held, since
  // each has to take it to unlink itself (exit_current_thread). Lock order: lock_, then the
  // wait lock, then scheduler locks.
  for (Thread* t = threads_; t != nullptr; t = t->process_next) {
    if (t == self) continue;
    t->request_kill();
    interrupt_wait(*t);
    ipc::interrupt(*t);
    ipc::interrupt_notification_wait(*t);
    int cpu = running_cpu_of(*t);
    if (cpu >= 0 && static_cast<uint32_t>(cpu) != arch::current_cpu()) arch::send_reschedule(cpu);
  }
}

void Process::exit(int64_t status) {
  begin_exit(status);
  exit_current_thread();
}

void Process::exit_current_thread() {
  Thread* self = Thread::current();
  bool last;
  {
    SpinlockGuard guard(lock_);
    Thread** link = &threads_;
    while (*link != nullptr && *link != self) link = &(*link)->process_next;
    if (*link == self) *link = self->process_next;
    last = --live_threads_ == 0;
    if (last && state_ == State::kRunning) {
      exit_status_ = 0;
      set_state(State::kDying);
    }
  }
  ipc::thread_exiting(*self);
  free_thread_ipc(*self);
  if (last) tear_down();
  if (release()) destroy();
  thread_exit();
}

void Process::tear_down() {
  uint64_t root = address_space_->root();
  leave_address_space(root);
  address_space_->destroy();
  address_space_ = nullptr;
  ipc::close_endpoints_of(*this);
  {
    SpinlockGuard guard(handles_lock_);
    handles_.clear();
  }
  {
    // Waiters are woken under the lock: they may have deadlines (block_on_until).
    uint64_t flags = g_wait_lock.acquire();
    set_state(State::kDead);
    while (sched::SchedEntity* e = waiters_.wake_one()) {
      auto& waiter = static_cast<Thread&>(*e);
      waiter.waiting_on = nullptr;
      wake(waiter);
    }
    g_wait_lock.release(flags);
    preempt_if_needed();
  }
  if (is_init_) {
    kprint("init exited with status {}; powering off\n", exit_status_);
    int64_t status = exit_status_;
    if (status < 0 || status > EXO_EXIT_STATUS_MAX_REPORTABLE) status = EXO_EXIT_STATUS_MAX_REPORTABLE;
    arch::power_off(static_cast<uint32_t>(status));
  }
}

Result<int64_t> Process::wait(uint64_t deadline_ns) {
  Thread* self = Thread::current();
  for (;;) {
    uint64_t flags = g_wait_lock.acquire();
    if (state_ == State::kDead) {
      int64_t status = exit_status_;
      g_wait_lock.release(flags);
      return status;
    }
    if (self->kill_requested() || deadline_ns == 0) {
      g_wait_lock.release(flags);
      return Error::kTimedOut;
    }
    self->waiting_on = this;
    if (block_on_until(waiters_, g_wait_lock, &flags, deadline_ns) == WaitResult::kTimedOut) {
      (void)waiters_.remove(*self);
      self->waiting_on = nullptr;
      g_wait_lock.release(flags);
      return Error::kTimedOut;
    }
  }
}

void init() {
  arch::set_user_fault_handler(&on_user_fault);
  arch::set_user_return_check(&on_user_return);
}

}  // namespace exo::proc
