// The IPC fast path (docs/ipc.md, "The fast path"). Taken only when every condition holds, and
// then equivalent to the generic path in kernel/ipc/ipc.cc: the same ThreadIpc fields change
// under the same lock (g_ipc_lock), so either path can take over from the other at any wait.
// seL4's fastpath (src/fastpath/fastpath.c) checks the same things: no capabilities in the
// message, a length that fits the registers, a receiver already waiting, and the scheduler's
// consent to switch to it.
#include "kernel/ipc/fastpath.h"

#include "kernel/abi/ipc.h"
#include "kernel/arch/arch.h"
#include "kernel/arch/ipc_frame.h"
#include "kernel/ipc/ipc.h"
#include "kernel/proc/process.h"
#include "kernel/sched/handoff.h"
#include "kernel/sched/thread.h"

namespace exo::ipc {

// The endpoint queues the fast path reads and changes (IPC lock held).
class FastPath {
 public:
  static sched::PriorityWaitQueue& senders(Endpoint& e) { return e.senders_; }
  static sched::WaitQueue& receivers(Endpoint& e) { return e.receivers_; }
  static bool closed(const Endpoint& e) { return e.closed_; }
};

namespace {

using object::ObjectType;
using object::Rights;

// Tag bits that send a message to the slow path: handle count (36..38), tail length (39..51)
// and the reserved bits (60..63). Label, word count and the protocol's flags pass through.
constexpr uint64_t kSlowTagBits = 0xf00f'fff0'0000'0000ull;

ThreadIpc& state_of(Thread& t) { return *static_cast<ThreadIpc*>(t.ipc); }
Thread* as_thread(sched::SchedEntity* e) { return static_cast<Thread*>(e); }

// Whether the message in `tag` fits the fast path: registers only, no handles, no tail.
bool register_only(uint64_t tag) {
  return (tag & kSlowTagBits) == 0 && EXO_IPC_TAG_WORDS(tag) <= kMaxWords;
}

// The register-only message in `from` (tag `tag`) to `to`, a thread blocked in IPC that is not
// parked (a parked one takes it straight from `from`'s registers, arch::return_to_parked): into
// its ThreadIpc::message, which it writes out as the generic path does. IPC lock held.
void deliver_to_state(ThreadIpc& to, const arch::IpcFrame& from, uint64_t tag) {
  unsigned count = EXO_IPC_TAG_WORDS(tag);
  Message& m = to.message;
  m.label = EXO_IPC_TAG_LABEL(tag);
  m.word_count = static_cast<uint8_t>(count);
  m.handle_count = 0;
  m.flags = static_cast<uint8_t>(EXO_IPC_TAG_FLAGS(tag));
  m.tail_length = 0;
  for (unsigned i = 0; i < count; ++i) m.words[i] = arch::ipc_word(from, i);
}

constexpr bool kNotTaken = false;

// The endpoint `handle` names in the calling process, with `required`, and the IPC lock held.
// Null, nothing held, when the handle is not such an endpoint (the slow path then reports
// why). Interrupts off.
//
// The endpoint cannot be destroyed while the IPC lock is held (Endpoint::destroy takes it) if
// it was alive when the lock was taken. Two ways to know that:
// - this thread's remembered lookup, when the handle table has removed nothing since: a
//   removal is recorded before the reference it held is dropped, so a destroy that got the IPC
//   lock first would show here as a moved count;
// - otherwise a lookup under the handle lock, with the IPC lock taken before the handle lock
//   goes (Process::peek_handle_then_lock), which is then remembered.
[[gnu::always_inline]] inline Endpoint* lock_endpoint(proc::Process& process, ThreadIpc& me, uint64_t handle,
                                                    Rights required) {
  if ((handle >> 32) != 0) return nullptr;
  auto value = static_cast<object::Handle>(handle);
  if (value == me.cached_handle && required == me.cached_rights) {
    g_ipc_lock.acquire_irqs_off();
    if (process.handle_removals() == me.cached_removals) return me.cached_endpoint;
    g_ipc_lock.release_irqs_off();
  }
  uint64_t removals = 0;
  object::KernelObject* object =
      process.peek_handle_then_lock(value, ObjectType::kEndpoint, required, g_ipc_lock, &removals);
  if (object == nullptr) return nullptr;
  me.cached_handle = value;
  me.cached_rights = required;
  me.cached_endpoint = static_cast<Endpoint*>(object);
  me.cached_removals = removals;
  return me.cached_endpoint;
}

}  // namespace

bool fast_call(arch::IpcFrame& frame) {
  uint64_t tag = arch::ipc_tag(frame);
  if (!register_only(tag) || arch::ipc_options(frame) != 0) return kNotTaken;
  CpuScheduler& cpu = this_cpu();  // interrupts stay off: no migration
  Thread& self = *cpu.current;
  auto& process = *static_cast<proc::Process*>(self.process());
  ThreadIpc& me = state_of(self);
  Endpoint* endpoint = lock_endpoint(process, me, arch::ipc_endpoint(frame), Rights::kWrite);
  if (endpoint == nullptr) return kNotTaken;
  // A queued receiver holds a reference to the endpoint (its syscall's, or its held_endpoint),
  // so the endpoint is alive as long as one is found here; this thread does not touch it after
  // the IPC lock goes.
  Thread* receiver = as_thread(FastPath::receivers(*endpoint).front());
  if (FastPath::closed(*endpoint) || receiver == nullptr || !can_switch_directly(cpu, *receiver)) {
    g_ipc_lock.release_irqs_off();
    return kNotTaken;
  }
  FastPath::receivers(*endpoint).take(*receiver);
  ThreadIpc& rx = state_of(*receiver);
  rx.queued_on = nullptr;
  rx.failed = false;
  rx.reply_to = &self;
  void* rx_frame = rx.frame;  // parked: it goes back to ring 3 from there, straight from here
  if (rx_frame == nullptr) deliver_to_state(rx, frame, tag);
  rx.frame = nullptr;
  me.failed = false;
  me.delivered = true;
  me.is_call = true;
  me.replier = receiver;
  me.frame = &frame;
  park_and_hand_over(cpu, me.reply_wait, g_ipc_lock, &frame, *receiver, rx_frame);
}

bool fast_reply_recv(arch::IpcFrame& frame) {
  uint64_t tag = arch::ipc_tag(frame);
  if (!register_only(tag) || arch::ipc_options(frame) != 0) return kNotTaken;
  Thread& self = *this_cpu().current;
  auto& process = *static_cast<proc::Process*>(self.process());
  ThreadIpc& me = state_of(self);
  // A racy early out (reply_to changes under the IPC lock); checked again under it below.
  if (__atomic_load_n(&me.reply_to, __ATOMIC_RELAXED) == nullptr) return kNotTaken;
  Endpoint* endpoint = lock_endpoint(process, me, arch::ipc_endpoint(frame), Rights::kRead);
  if (endpoint == nullptr) return kNotTaken;
  if (endpoint != me.held_endpoint.get()) {
    // This thread is about to wait on the endpoint with no syscall frame holding a reference:
    // take one through the ordinary lookup, outside the locks and with interrupts on (only
    // this thread touches held_endpoint; dropping the previous one may destroy it), and look
    // again. Once per endpoint a server thread serves.
    g_ipc_lock.release_irqs_off();
    arch::irq_enable();
    auto held = process.get_handle<Endpoint>(static_cast<object::Handle>(arch::ipc_endpoint(frame)),
                                             Rights::kRead);
    if (held.ok()) me.held_endpoint = move(*held);
    arch::irq_disable();
    if (!held.ok()) return kNotTaken;
    endpoint = lock_endpoint(process, me, arch::ipc_endpoint(frame), Rights::kRead);
    if (endpoint == nullptr) return kNotTaken;
    if (endpoint != me.held_endpoint.get()) {
      g_ipc_lock.release_irqs_off();
      return kNotTaken;
    }
  }
  CpuScheduler& cpu = this_cpu();  // after the block above, which may have migrated
  Thread* caller = me.reply_to;
  if (caller == nullptr || FastPath::closed(*endpoint) || !FastPath::senders(*endpoint).empty() ||
      !can_switch_directly(cpu, *caller)) {
    g_ipc_lock.release_irqs_off();
    return kNotTaken;
  }
  ThreadIpc& cx = state_of(*caller);
  if (!cx.reply_wait.remove(*caller)) {
    g_ipc_lock.release_irqs_off();
    return kNotTaken;
  }
  me.reply_to = nullptr;
  cx.replier = nullptr;
  cx.failed = false;
  void* cx_frame = cx.frame;
  if (cx_frame == nullptr) deliver_to_state(cx, frame, tag);
  cx.frame = nullptr;
  me.failed = false;
  me.queued_on = endpoint;
  me.frame = &frame;
  park_and_hand_over(cpu, FastPath::receivers(*endpoint), g_ipc_lock, &frame, *caller, cx_frame);
}

Status parked_outcome() {
  ThreadIpc& me = state_of(*this_cpu().current);
  SpinlockGuard guard(g_ipc_lock);
  // Whoever woke it was not a fast-path peer (that one resumes a parked thread directly, with
  // the message in its registers).
  me.frame = nullptr;
  if (me.failed) return me.error;
  return ok_status();
}

}  // namespace exo::ipc
