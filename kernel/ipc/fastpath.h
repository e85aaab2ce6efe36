// The IPC fast path (docs/ipc.md, "The fast path"): ipc_call to a waiting receiver and
// ipc_reply_recv to a waiting caller, for register-only messages: the calling thread parks at
// its user boundary and its peer takes the CPU, with no context switch when the peer is parked
// too. Anything else falls back to the generic path in kernel/syscall/sys_ipc.cc, which behaves
// the same, only slower.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::arch {
struct IpcFrame;
}

namespace exo::ipc {

// ipc_call (64) and ipc_reply_recv (67) on the calling user thread, whose syscall registers are
// `frame`, interrupts off (they stay off). Return only when not taken, having done nothing.
// Taken, the calling thread is parked (kernel/sched/handoff.h, park_and_hand_over) and its peer
// runs: back in ring 3 from its own frame, with the message moved register to register, when
// it was parked too, else in its kernel context. The calling thread comes back the same way when its peer answers
// through the fast path, else through exo_ipc_resume_parked and parked_outcome.
// Called from syscall_entry.S by these names, with no wrapper between.
bool fast_call(arch::IpcFrame& frame) asm("exo_ipc_fast_call");
bool fast_reply_recv(arch::IpcFrame& frame) asm("exo_ipc_fast_reply_recv");

// The calling thread was parked by the fast path and a switch resumed it: how its wait ended.
// An error (a kill, a closed endpoint, the server's exit), or ok: a message is in its
// ThreadIpc::message, for syscall::ipc_finish_receive to write out.
Status parked_outcome();

}  // namespace exo::ipc
