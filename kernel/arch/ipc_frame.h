// The seam for the IPC fast path (kernel/ipc/fastpath.cc): a thread's saved user registers
// while it is inside an IPC syscall, and the inline reads of a register-only message from one.
// (A parked thread's message goes register to register in arch::return_to_parked.) A port
// supplies, inline:
//   struct IpcFrame;  // the registers of kernel/abi/ipc.h as its syscall entry saves them
//   uint64_t ipc_endpoint(const IpcFrame&), ipc_tag(const IpcFrame&), ipc_options(const IpcFrame&);
//   uint64_t ipc_word(const IpcFrame&, unsigned i);  // word i, 0..5
#pragma once

#include "kernel/arch/x86_64/ipc_frame.h"
