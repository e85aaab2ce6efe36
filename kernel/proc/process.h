// Processes: an address space, a handle table and the user threads that run in them; and the
// thread objects thread handles name. The lifecycle (docs/processes.md):
//   created (no thread) -> running (first thread started) -> dying (exit or fault: every
//   thread told to stop) -> dead (last thread gone: memory and handles released, waiters
//   woken, exit status kept). The object itself lives on while any handle names it.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/object/handle_table.h"
#include "kernel/object/kernel_object.h"
#include "kernel/object/ref_counted.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"
#include "kernel/vm/address_space.h"

namespace exo::proc {

using object::Handle;
using object::KernelObject;
using object::ObjectType;
using object::RefPtr;
using object::Rights;

// What a thread handle names. It outlives the thread (the handle may be closed later).
class ThreadObject final : public KernelObject {
 public:
  static constexpr ObjectType kType = ObjectType::kThread;
  static Result<RefPtr<ThreadObject>> create(uint64_t thread_id);
  uint64_t thread_id() const { return thread_id_; }
  void destroy() override;

 private:
  ThreadObject() : KernelObject(kType) {}
  uint64_t thread_id_ = 0;
};

class Process final : public KernelObject {
 public:
  static constexpr ObjectType kType = ObjectType::kProcess;
  static constexpr usize kNameLength = 32;
  static constexpr usize kHandleSlots = 1024;

  enum class State : uint8_t { kCreated, kRunning, kDying, kDead };
  static_assert(sizeof(State) == 1);

  // A process with an empty address space and handle table. `name` is copied (at most
  // kNameLength - 1 bytes). kNoMemory.
  static Result<RefPtr<Process>> create(const char* name, usize name_length);
  void destroy() override;

  // The process of the calling thread; null for a kernel thread.
  static Process* current();

  const char* name() const { return name_; }
  uint64_t id() const { return id_; }
  vm::AddressSpace& address_space() { return *address_space_; }
  // The first process (init) may power the machine off; when it ends, the machine does.
  bool is_init() const { return is_init_; }
  void set_init() { is_init_ = true; }

  // ---- Handles (docs/objects.md) ----
  Result<Handle> add_handle(RefPtr<KernelObject> object, Rights rights);
  Result<RefPtr<KernelObject>> get_handle(Handle handle, ObjectType type, Rights required);
  template <typename T>
  Result<RefPtr<T>> get_handle(Handle handle, Rights required) {
    RefPtr<KernelObject> object = EXO_TRY(get_handle(handle, T::kType, required));
    return object::static_ref_cast<T>(move(object));
  }
  Result<Rights> rights_of(Handle handle);
  // The IPC fast path's lookup (kernel/ipc/fastpath.cc), without reference-count traffic: the
  // object `handle` names if it has `type` and `required` (else null, nothing held). When found,
  // `then` is acquired before the handle lock is let go, so an object whose destroy() takes
  // `then` stays alive until the caller releases it, even if another thread closes the handle
  // meanwhile. Lock order: the handle lock before `then`. Interrupts must be off. *removals gets
  // the table's handle_removals() as of the lookup.
  KernelObject* peek_handle_then_lock(Handle handle, ObjectType type, Rights required, Spinlock& then,
                                      uint64_t* removals) {
    handles_lock_.acquire_irqs_off();
    KernelObject* object = handles_.peek(handle, type, required);
    if (object != nullptr) then.acquire_irqs_off();
    *removals = handles_.removals();
    handles_lock_.release_irqs_off();
    return object;
  }
  // HandleTable::removals of this process's table, without its lock: a lookup remembered with
  // this value still holds while it has not moved.
  uint64_t handle_removals() const { return handles_.removals(); }
  // A second handle to the object with `rights` (a subset; the source needs kDuplicate).
  Result<Handle> duplicate_handle(Handle handle, Rights rights);
  // Handle transfer in IPC messages (docs/ipc.md): reserve[i] takes handles[i] out of use
  // (each needs kTransfer); then commit (they are gone) or restore (they work again).
  // On failure nothing stays reserved.
  Status reserve_for_transfer(const Handle* handles, usize count, object::HandleEntry* entries);
  void commit_transfer(const Handle* handles, usize count);
  void restore_transfer(const Handle* handles, usize count, object::HandleEntry* entries);
  // Installs received entries; handles[i] gets the new value (0 if the table is full, the
  // object then being dropped).
  void install(object::HandleEntry* entries, usize count, Handle* handles);
  Status close_handle(Handle handle);
  // Moves `handle` (which needs kTransfer) from this process into `target`; returns its value
  // there. On failure the handle stays here, unchanged.
  Result<Handle> transfer_handle(Handle handle, Process& target);

  // ---- Threads ----
  // Starts the first thread at `entry` with `stack_top` and rdi = `argument`. kBusy when the
  // process was started before.
  Status start(uptr entry, uptr stack_top, uint64_t argument);
  // Another thread in a running process. kPeerClosed when the process is ending.
  Result<RefPtr<ThreadObject>> create_thread(uptr entry, uptr stack_top, uint64_t argument);

  // Ends the calling thread, which belongs to this process; the last one ends the process
  // (with status 0 unless an exit or a fault set one).
  [[noreturn]] void exit_current_thread();
  // Ends the whole process with `status`, from one of its threads.
  [[noreturn]] void exit(int64_t status);

  // Waits until the process is dead or the monotonic clock reaches `deadline_ns`
  // (kInfiniteDeadline: never; 0: poll). The exit status, or kTimedOut.
  static constexpr uint64_t kInfiniteDeadline = ~uint64_t{0};
  Result<int64_t> wait(uint64_t deadline_ns);

  // The I/O ports this process opened (ioport_enable); threads load them on every switch.
  Status allow_io_ports(uint32_t base, uint32_t count);
  const arch::IoPermissions* io_permissions() const { return &io_; }

  State state() const {
    State s;
    __atomic_load(&state_, &s, __ATOMIC_ACQUIRE);
    return s;
  }
  // The threads blocked in wait(); only under the wait lock in process.cc.
  sched::WaitQueue& wait_queue() { return waiters_; }

 private:
  Process();
  // Marks the process dying with `status` (the first one wins) and tells every other thread.
  void begin_exit(int64_t status);
  // The last thread is gone: release the address space and handles, wake waiters.
  void tear_down();
  void set_state(State s) { __atomic_store(&state_, &s, __ATOMIC_RELEASE); }

  uint64_t id_ = 0;
  char name_[kNameLength] = {};
  bool is_init_ = false;
  Spinlock lock_;  // state_, threads_, live_threads_, exit_status_
  State state_ = State::kCreated;
  Thread* threads_ = nullptr;  // linked through Thread::process_next
  uint32_t live_threads_ = 0;
  int64_t exit_status_ = 0;
  vm::AddressSpace* address_space_ = nullptr;
  sched::WaitQueue waiters_;  // under the global wait lock (process.cc)
  arch::IoPermissions io_;  // under lock_
  Spinlock handles_lock_;
  object::InlineHandleTable<kHandleSlots> handles_;
};

// Registers the arch hooks that send user faults and pending kills here. Boot, once.
void init();

// Loads `program` from the initrd with the kernel's loader and starts it with `argv`. Used for
// init, and by the kernel's own tests. Errors are reported on the console and returned.
Result<RefPtr<Process>> spawn_from_initrd(const char* program, const char* const* argv, usize argc,
                                          bool is_init);

// Starts `init` from the initrd archive (the multiboot module named "initrd") with the kernel
// command line as its arguments (docs/syscalls.md, "Process start"). Errors are reported on
// the console and returned.
Status start_init(const char* command_line);

}  // namespace exo::proc
