// Endpoints and the four IPC operations (docs/ipc.md). Every piece of IPC state is guarded by
// g_ipc_lock; scheduler calls (block_on, wake) come after it in the lock order. No reference is
// dropped while it is held (an object's destroy() may take other locks).
#include "kernel/ipc/ipc.h"

#include "kernel/core/console.h"
#include "kernel/lib/new.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/handoff.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"

namespace exo::ipc {

using object::RefPtr;

constinit Spinlock g_ipc_lock;

namespace {

constinit Endpoint* g_endpoints = nullptr;

ThreadIpc& state_of(Thread& t) { return *static_cast<ThreadIpc*>(t.ipc); }
Thread* as_thread(sched::SchedEntity* e) { return static_cast<Thread*>(e); }

void move_message(Message& to, Message& from) {
  if (&to == &from) return;
  to.label = from.label;
  to.word_count = from.word_count;
  to.handle_count = from.handle_count;
  to.flags = from.flags;
  to.tail_length = from.tail_length;
  for (usize i = 0; i < from.word_count; ++i) to.words[i] = from.words[i];
  if (from.tail_length != 0) __builtin_memcpy(to.tail, from.tail, from.tail_length);
  for (usize i = 0; i < from.handle_count; ++i) to.handles[i] = move(from.handles[i]);
}

// Marks `t` (blocked, already off every queue) as woken with `error`.
void fail(Thread& t, Error error) {
  ThreadIpc& x = state_of(t);
  x.failed = true;
  x.error = error;
  x.queued_on = nullptr;
  x.replier = nullptr;
}

}  // namespace

// The queue manipulation needs Endpoint's private queues.
class IpcOps {
 public:
  static sched::PriorityWaitQueue& senders(Endpoint& e) { return e.senders_; }
  static sched::WaitQueue& receivers(Endpoint& e) { return e.receivers_; }
  static bool closed(const Endpoint& e) { return e.closed_; }
  static void link(Endpoint& e) {
    e.next_ = g_endpoints;
    if (g_endpoints != nullptr) g_endpoints->prev_ = &e;
    g_endpoints = &e;
  }
  static void unlink(Endpoint& e) {
    if (e.prev_ != nullptr) e.prev_->next_ = e.next_;
    if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
    if (g_endpoints == &e) g_endpoints = e.next_;
  }
  static Endpoint* next(Endpoint& e) { return e.next_; }
  static const sched::PriorityWaitQueue& senders(const Endpoint& e) { return e.senders_; }
  static const sched::WaitQueue& receivers(const Endpoint& e) { return e.receivers_; }
  // Fails and wakes every thread queued on `e`. IPC lock held (wakes come under it: the
  // waiters may have deadlines, see block_on_until).
  static void close_locked(Endpoint& e) {
    __atomic_store_n(&e.closed_, true, __ATOMIC_RELEASE);  // read without the lock: is_closed()
    e.owner_ = nullptr;
    while (sched::SchedEntity* s = e.senders_.wake_one()) fail_and_wake(*as_thread(s));
    while (sched::SchedEntity* r = e.receivers_.wake_one()) fail_and_wake(*as_thread(r));
  }

 private:
  static void fail_and_wake(Thread& t) {
    fail(t, Error::kPeerClosed);
    wake(t);
  }
};

namespace {

// A deadline ended `self`'s wait (block_on_until returned kTimedOut, IPC lock held): takes it
// off whichever queue it is still on and drops its part of any call in progress. A caller whose
// message was taken is no longer owed a reply: the server's reply finds nobody (kNotFound).
Status timed_out_locked(Thread& self) {
  ThreadIpc& me = state_of(self);
  if (me.queued_on != nullptr) {
    Endpoint& e = *me.queued_on;
    (void)(IpcOps::senders(e).remove(self) || IpcOps::receivers(e).remove(self));
    me.queued_on = nullptr;
  } else if (me.replier != nullptr) {
    (void)me.reply_wait.remove(self);
    state_of(*me.replier).reply_to = nullptr;
    me.replier = nullptr;
  }
  return Error::kTimedOut;
}

// Blocks `self` on `queue` until woken or `deadline`; the IPC lock is held on entry (with
// `flags`) and released on return. Returns the wait's outcome as the operation's status.
template <typename Queue>
Status wait_locked(Thread& self, Queue& queue, uint64_t flags, uint64_t deadline) {
  if (block_on_until(queue, g_ipc_lock, &flags, deadline) == WaitResult::kTimedOut) {
    Status s = timed_out_locked(self);
    g_ipc_lock.release(flags);
    return s;
  }
  ThreadIpc& me = state_of(self);
  return me.failed ? Status(me.error) : ok_status();
}

}  // namespace

Result<RefPtr<Endpoint>> Endpoint::create(proc::Process* owner) {
  void* memory = mm::heap_allocate(sizeof(Endpoint), alignof(Endpoint));
  if (memory == nullptr) return Error::kNoMemory;
  auto* e = new (memory) Endpoint();
  e->owner_ = owner;
  uint64_t flags = g_ipc_lock.acquire();
  IpcOps::link(*e);
  g_ipc_lock.release(flags);
  return object::adopt_ref(e);
}

void Endpoint::destroy() {
  // The last handle is gone, so nobody can be queued here (a queued thread's syscall holds a
  // reference until it returns).
  uint64_t flags = g_ipc_lock.acquire();
  IpcOps::unlink(*this);
  g_ipc_lock.release(flags);
  this->~Endpoint();
  mm::heap_free(this);
}

void Endpoint::close() {
  uint64_t flags = g_ipc_lock.acquire();
  IpcOps::close_locked(*this);
  g_ipc_lock.release(flags);
  preempt_if_needed();
}

void close_endpoints_of(proc::Process& process) {
  uint64_t flags = g_ipc_lock.acquire();
  for (Endpoint* e = g_endpoints; e != nullptr; e = IpcOps::next(*e)) {
    if (e->owner() == &process) IpcOps::close_locked(*e);
  }
  g_ipc_lock.release(flags);
  preempt_if_needed();
}

Status send(Endpoint& endpoint, Thread& self, Message& message, bool call, uint64_t deadline) {
  ThreadIpc& me = state_of(self);
  uint64_t flags = g_ipc_lock.acquire();
  if (IpcOps::closed(endpoint)) {
    g_ipc_lock.release(flags);
    return Error::kPeerClosed;
  }
  me.failed = false;
  me.delivered = false;
  me.is_call = call;
  if (sched::SchedEntity* r = IpcOps::receivers(endpoint).wake_one()) {
    // A receiver waits: hand the message over directly.
    Thread& receiver = *as_thread(r);
    ThreadIpc& rx = state_of(receiver);
    rx.queued_on = nullptr;
    rx.failed = false;
    move_message(rx.message, message);
    me.delivered = true;
    if (!call) {
      wake(receiver);
      g_ipc_lock.release(flags);
      preempt_if_needed();
      return ok_status();
    }
    rx.reply_to = &self;
    me.replier = &receiver;
    if (deadline == kForever && can_switch_directly(receiver)) {
      // The fast path: the caller waits for its reply and the receiver runs on this CPU now,
      // without a pass through the run queue (docs/ipc.md).
      block_on_and_switch_to(me.reply_wait, g_ipc_lock, flags, receiver);
      return me.failed ? Status(me.error) : ok_status();
    }
    wake(receiver);
    return wait_locked(self, me.reply_wait, flags, deadline);
  }
  if (deadline == kNoWait) {
    g_ipc_lock.release(flags);
    return Error::kWouldBlock;
  }
  move_message(me.message, message);
  me.queued_on = &endpoint;
  Status s = wait_locked(self, IpcOps::senders(endpoint), flags, deadline);
  // Woken by a receiver (send: taken; call: replied to), by close(), by a kill, or timed out.
  // Handles not delivered go back to the caller's message, which is me.message itself in the
  // usual case (the syscall builds the message there).
  if (!s.ok() && !me.delivered) move_message(message, me.message);
  return s;
}

namespace {

// The receiving half shared by receive and reply_and_receive: takes `sender`'s message (it was
// queued on the endpoint, now unlinked) into `self`. A caller stays blocked, now waiting for
// `self`'s reply (its deadline, if any, still running); a plain sender is woken. IPC lock held.
void accept_sender_locked(Thread& self, Thread& sender) {
  ThreadIpc& me = state_of(self);
  ThreadIpc& sx = state_of(sender);
  sx.queued_on = nullptr;
  move_message(me.message, sx.message);
  sx.delivered = true;
  if (!sx.is_call) {
    wake(sender);
    return;
  }
  me.reply_to = &sender;
  sx.replier = &self;
  sx.reply_wait.move_in(sender);
}

// Waits on the endpoint's receiver queue; the IPC lock is held on entry and released on return.
Status wait_for_message_locked(Endpoint& endpoint, Thread& self, uint64_t flags, uint64_t deadline) {
  if (deadline == kNoWait) {
    g_ipc_lock.release(flags);
    return Error::kWouldBlock;
  }
  state_of(self).queued_on = &endpoint;
  return wait_locked(self, IpcOps::receivers(endpoint), flags, deadline);
}

// A receive on `endpoint`, IPC lock held (taken with `flags`): the first queued sender's
// message at once, else a wait until `deadline`. Releases the lock.
Status receive_locked(Endpoint& endpoint, Thread& self, uint64_t flags, uint64_t deadline) {
  if (IpcOps::closed(endpoint)) {
    g_ipc_lock.release(flags);
    preempt_if_needed();  // reply_and_receive may have woken its caller first
    return Error::kPeerClosed;
  }
  state_of(self).failed = false;
  if (sched::SchedEntity* s = IpcOps::senders(endpoint).wake_one()) {
    accept_sender_locked(self, *as_thread(s));
    g_ipc_lock.release(flags);
    preempt_if_needed();
    return ok_status();
  }
  return wait_for_message_locked(endpoint, self, flags, deadline);
}

}  // namespace

Status receive(Endpoint& endpoint, Thread& self, uint64_t deadline) {
  return receive_locked(endpoint, self, g_ipc_lock.acquire(), deadline);
}

Status reply_and_receive(Endpoint& endpoint, Thread& self, Message& reply_message, bool* replied,
                         uint64_t deadline) {
  ThreadIpc& me = state_of(self);
  uint64_t flags = g_ipc_lock.acquire();
  Thread* caller = me.reply_to;
  *replied = false;
  if (caller == nullptr) {
    // Nobody to answer: the caller of this function gives the reply's handles back before
    // `reply_message` (the thread's own buffer) is reused for a receive.
    g_ipc_lock.release(flags);
    return Error::kNotFound;
  }
  // The reply: the caller is unlinked from its reply wait and gets the message.
  me.reply_to = nullptr;
  ThreadIpc& cx = state_of(*caller);
  bool caller_waiting = cx.reply_wait.remove(*caller);
  cx.replier = nullptr;
  cx.failed = false;
  move_message(cx.message, reply_message);
  *replied = true;
  if (!IpcOps::closed(endpoint)) {
    me.failed = false;
    if (IpcOps::senders(endpoint).empty() && deadline == kForever && caller_waiting &&
        can_switch_directly(*caller)) {
      // The fast path back: nothing else to serve, so the caller runs now and this thread waits
      // for the next message.
      me.queued_on = &endpoint;
      block_on_and_switch_to(IpcOps::receivers(endpoint), g_ipc_lock, flags, *caller);
      return me.failed ? Status(me.error) : ok_status();
    }
  }
  // The caller runs elsewhere (another CPU's, or with a deadline), or something more urgent is
  // ready here, or a sender is queued: it is woken, and this thread receives as usual.
  if (caller_waiting) wake(*caller);
  return receive_locked(endpoint, self, flags, deadline);
}

void thread_exiting(Thread& thread) {
  ThreadIpc& x = state_of(thread);
  uint64_t flags = g_ipc_lock.acquire();
  if (Thread* caller = x.reply_to; caller != nullptr) {
    x.reply_to = nullptr;
    if (state_of(*caller).reply_wait.remove(*caller)) {
      fail(*caller, Error::kPeerClosed);
      wake(*caller);
    }
  }
  if (x.replier != nullptr) {
    state_of(*x.replier).reply_to = nullptr;
    x.replier = nullptr;
  }
  g_ipc_lock.release(flags);
}

void interrupt(Thread& thread) {
  ThreadIpc* x = static_cast<ThreadIpc*>(thread.ipc);
  if (x == nullptr) return;
  uint64_t flags = g_ipc_lock.acquire();
  bool woken = false;
  if (x->queued_on != nullptr) {
    Endpoint& e = *x->queued_on;
    woken = IpcOps::senders(e).remove(thread) || IpcOps::receivers(e).remove(thread);
  } else if (x->replier != nullptr) {  // delivered, waiting for the reply
    woken = x->reply_wait.remove(thread);
    state_of(*x->replier).reply_to = nullptr;
  }
  if (woken) {
    fail(thread, Error::kPeerClosed);
    wake(thread);
  }
  g_ipc_lock.release(flags);
}

void debug_dump() {
  for (Endpoint* e = g_endpoints; e != nullptr; e = IpcOps::next(*e)) {
    kprint("  endpoint {:#x}: owner {:#x} closed {} senders {} receivers {}\n",
           reinterpret_cast<uptr>(e), reinterpret_cast<uptr>(e->owner()), IpcOps::closed(*e),
           IpcOps::senders(*e).size(), IpcOps::receivers(*e).size());
  }
}

void debug_dump_thread(const Thread& thread) {
  const auto* x = static_cast<const ThreadIpc*>(thread.ipc);
  if (x == nullptr) return;
  kprint("    ipc: queued on {:#x}, owes a reply to {}, awaits a reply from {}, frame {:#x}, reply wait {}\n",
         reinterpret_cast<uptr>(x->queued_on), x->reply_to != nullptr ? x->reply_to->id() : 0,
         x->replier != nullptr ? x->replier->id() : 0, reinterpret_cast<uptr>(x->frame),
         x->reply_wait.size());
}

}  // namespace exo::ipc
