// The IPC fast path (docs/ipc.md, "The fast path"): ipc_call to a waiting receiver and
// ipc_reply_recv to a waiting caller, for register-only messages, straight from one thread's
// saved registers to the other's and a direct switch. Anything else falls back to the generic
// path in kernel/syscall/sys_ipc.cc, which behaves the same, only slower.
#pragma once

#include "kernel/lib/types.h"

namespace exo {
struct ParkedHandOff;
}
namespace exo::arch {
struct IpcFrame;
}

namespace exo::ipc {

enum class FastOutcome : uint8_t {
  kNotTaken,         // nothing was done: run the generic path
  kDone,             // finished; `status` is the syscall's ABI status, the frame holds the message
  kReceivedInState,  // the slow path delivered while this thread waited: the message is in its
                     // ThreadIpc::message; finish with syscall::ipc_finish_receive
};

// Two words, so it comes back in registers.
struct FastResult {
  FastOutcome outcome;
  int64_t status;  // an ExoStatus (kernel/abi/status.h) when outcome is kDone
};

// ipc_call (64) and ipc_reply_recv (67) on the calling user thread, whose syscall registers are
// `frame`, interrupts off (they stay off). Not taken: next_frame is null and nothing was done.
// Taken, the calling thread is parked (sched/thread.h, park_and_hand_over) and either:
//   - its peer was parked too: returns the peer's frame, holding the message, to go to ring 3
//     from, with EXO_OK in rax; the caller clears *prev_on_cpu once off this stack;
//   - or the peer resumes in its kernel context, and this does not return.
// The calling thread comes back through exo_ipc_resume_parked and parked_outcome, or directly
// with the answer in its frame when its own peer takes the fast path back.
ParkedHandOff fast_call(arch::IpcFrame& frame);
ParkedHandOff fast_reply_recv(arch::IpcFrame& frame);

// The calling thread was parked by the fast path and a switch resumed it: how its wait ended.
FastResult parked_outcome();

}  // namespace exo::ipc
