// The seam for the IPC fast path (kernel/ipc/fastpath.cc): a thread's saved user registers
// while it is inside an IPC syscall, and the inline moves of a register-only message between
// two such frames. A port supplies, inline:
//   struct IpcFrame;  // the registers of kernel/abi/ipc.h as its syscall entry saves them
//   uint64_t ipc_endpoint(const IpcFrame&), ipc_tag(const IpcFrame&), ipc_options(const IpcFrame&);
//   uint64_t ipc_word(const IpcFrame&, unsigned i);  // word i, 0..5
//   void ipc_copy_message(IpcFrame& to, const IpcFrame& from, uint64_t tag, unsigned count);
//     // the tag and words 0..count-1 into `to`, 0 into the words past count
#pragma once

#include "kernel/arch/x86_64/ipc_frame.h"
