// Synchronous IPC through endpoints, in the style of L4/seL4 (docs/ipc.md): call, send, recv
// and reply_recv, messages of a label, up to six words and up to four handles.
//
// This first cut serialises all IPC state on one lock (the endpoint queues and every thread's
// IPC state): simple to reason about, and the place a per-endpoint lock and the direct-switch
// fast path go next.
#pragma once

#include "kernel/abi/ipc.h"
#include "kernel/ipc/deadline.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/object/handle_table.h"
#include "kernel/object/kernel_object.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"

namespace exo {
class Thread;
namespace proc {
class Process;
}
}  // namespace exo

namespace exo::ipc {

inline constexpr usize kMaxWords = EXO_IPC_MAX_WORDS;
inline constexpr usize kMaxHandles = EXO_IPC_MAX_HANDLES;

inline constexpr usize kMaxTail = EXO_IPC_MAX_TAIL;

struct Message {
  uint32_t label = 0;
  uint8_t word_count = 0;
  uint8_t handle_count = 0;  // the last handle_count of the word_count words are handles
  uint8_t flags = 0;         // passed through for the protocol layer
  uint16_t tail_length = 0;  // bytes of `tail` in use
  uint64_t words[kMaxWords] = {};
  uint8_t tail[kMaxTail];    // copied from the sender's tail buffer, to the receiver's
  // Handles in flight: taken out of the sender's table (reserved there until delivery).
  object::HandleEntry handles[kMaxHandles];
};

class Endpoint;

// Per-thread IPC state (Thread::ipc), guarded by the IPC lock.
struct ThreadIpc {
  // About 4 KiB with the tail: allocated with the thread, never on a kernel stack.
  sched::WaitQueue reply_wait;  // a caller blocks here until its reply (or an error) comes
  Message message;              // outgoing while queued as a sender; incoming once woken
  bool failed = false;          // woken with `error` instead of a message
  Error error = Error::kPeerClosed;
  bool delivered = false;       // a receiver took this thread's message
  bool is_call = false;
  Endpoint* queued_on = nullptr;     // on that endpoint's sender or receiver queue
  Thread* reply_to = nullptr;        // server: the caller this thread owes a reply
  Thread* replier = nullptr;         // caller: the thread that owes it the reply (set while
                                     // its message is delivered and it waits in reply_wait)
  // Sender side of handle transfer: the values reserved in the sender's table.
  object::Handle sent_handles[kMaxHandles] = {};
  // The fast path (kernel/ipc/fastpath.cc). `frame` is the thread's saved registers
  // (arch::IpcFrame) while it waits parked (docs/ipc.md, "Parked threads"), null otherwise: a
  // fast-path peer writes a register-only message straight there and sends it back to ring 3
  // from it; anyone else leaves the message (or the error) in the state, and the thread, once
  // switched to, writes it out as a slow receive does (ipc::parked_outcome).
  void* frame = nullptr;
  // The endpoint this thread last waited on through the fast path, with a reference, so the
  // endpoint outlives a receiver queued there without a syscall frame holding one. Kept
  // between calls (a server replies and waits on the same endpoint each time), replaced when
  // the thread fast-waits elsewhere, dropped with the thread's IPC state.
  object::RefPtr<Endpoint> held_endpoint;
  // The fast path's last endpoint lookup: `cached_handle` named `cached_endpoint` with
  // `cached_rights` when the process's handle table had made `cached_removals` removals. Still
  // true while that count has not moved (proc::Process::handle_removals). Only this thread
  // touches these; the endpoint is used only under the IPC lock after that check.
  object::Handle cached_handle = object::kInvalidHandle;
  object::Rights cached_rights = object::Rights::kNone;
  Endpoint* cached_endpoint = nullptr;
  uint64_t cached_removals = 0;
};

class Endpoint final : public object::KernelObject {
 public:
  static constexpr object::ObjectType kType = object::ObjectType::kEndpoint;
  // An endpoint whose lifetime as a server ends with `owner` (its creator): when that process
  // dies, every queued and later caller gets kPeerClosed.
  static Result<object::RefPtr<Endpoint>> create(proc::Process* owner);
  void destroy() override;
  proc::Process* owner() const { return owner_; }
  // The owner is gone: fail everyone waiting here, and everyone who comes later.
  void close();
  // Whether close() has run; without the IPC lock, for a status report (handle_info): once
  // true it stays true.
  bool is_closed() const { return __atomic_load_n(&closed_, __ATOMIC_ACQUIRE); }

 private:
  friend class IpcOps;
  friend class FastPath;
  Endpoint() : KernelObject(kType) {}
  proc::Process* owner_ = nullptr;  // cleared by close()
  bool closed_ = false;
  Endpoint* next_ = nullptr;  // every live endpoint, for closing a dead owner's (IPC lock)
  Endpoint* prev_ = nullptr;
  sched::PriorityWaitQueue senders_;  // callers and senders waiting for a receiver: by
                                      // priority, FIFO within one
  sched::WaitQueue receivers_;  // receivers waiting for a message
};

// Guards every endpoint queue and every thread's IPC state (docs/ipc.md, "Locking").
extern Spinlock g_ipc_lock;

// The operations, for the calling thread `self` (a user thread with Thread::ipc set), each
// waiting until `deadline` at most (kNoWait, kForever or a time). A call's deadline covers both
// the wait for a receiver and the wait for the reply; a caller that times out after its message
// was taken is no longer owed the reply. `message` handles must already be reserved in the
// sender's table (sent_handles).
Status send(Endpoint& endpoint, Thread& self, Message& message, bool call, uint64_t deadline);
Status receive(Endpoint& endpoint, Thread& self, uint64_t deadline);
// reply then receive, in one step: with no message queued, the caller runs at once on this CPU
// (the fast path back). kNotFound, having done nothing, when this thread owes no reply (its
// caller is gone); *replied says whether the reply was delivered. The deadline is the receive's.
Status reply_and_receive(Endpoint& endpoint, Thread& self, Message& reply_message, bool* replied,
                         uint64_t deadline);

// `process` is dying: close every endpoint it owns.
void close_endpoints_of(proc::Process& process);

// A thread is ending: it owes no reply any more (its caller gets kPeerClosed), waits for
// none, and leaves any queue.
void thread_exiting(Thread& thread);
// Wakes `thread` from any IPC wait with kPeerClosed (its process is being killed).
void interrupt(Thread& thread);

// Prints every endpoint's queues to the console, for diagnosing a stuck machine. Racy by
// design: it takes no lock (it runs from an NMI, which may have interrupted the IPC lock's
// holder).
void debug_dump();
// One thread's IPC state, likewise (nothing for a thread without IPC state).
void debug_dump_thread(const Thread& thread);

}  // namespace exo::ipc
