// x86_64's IPC register frame: the user registers syscall_entry.S saves for an IPC syscall, in
// the order it pushes them, and the inline accessors the IPC fast path (kernel/ipc/fastpath.cc)
// uses to move a message from one thread's frame to another's (kernel/arch/ipc_frame.h).
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

// Lowest address first: what the IPC path pushes, then the frame every syscall has. The ABI's
// registers (kernel/abi/ipc.h): rdi endpoint, rsi tag, rdx r10 r8 r9 r12 r13 words 0..5,
// r14 options, rbx the deadline (with EXO_IPC_DEADLINE), r15 tail buffer; rax (not saved here)
// carries the status back.
struct IpcFrame {
  uint64_t rbx, rbp, r12, r13, r14, r15;
  uint64_t number, r9, r8, r10, rdx, rsi, rdi, r11, rcx, rsp;
};
static_assert(sizeof(IpcFrame) == 16 * 8, "syscall_entry.S pushes sixteen words");
static_assert(__builtin_offsetof(IpcFrame, rdx) == 80, "the exit reloads rdx from here");

inline uint64_t ipc_endpoint(const IpcFrame& f) { return f.rdi; }
inline uint64_t ipc_tag(const IpcFrame& f) { return f.rsi; }
inline uint64_t ipc_options(const IpcFrame& f) { return f.r14; }

// A register-only message from `from` into `to`: the tag, words 0..count-1, and 0 in the words
// past `count` (the ABI zeroes them). count <= 6.
inline void ipc_copy_message(IpcFrame& to, const IpcFrame& from, uint64_t tag, unsigned count) {
  // Every word, then zeros over those past the count: straight-line copies and one jump
  // instead of a compare per word.
  to.rsi = tag;
  to.rdx = from.rdx;
  to.r10 = from.r10;
  to.r8 = from.r8;
  to.r9 = from.r9;
  to.r12 = from.r12;
  to.r13 = from.r13;
  switch (count) {
    case 0: to.rdx = 0; [[fallthrough]];
    case 1: to.r10 = 0; [[fallthrough]];
    case 2: to.r8 = 0; [[fallthrough]];
    case 3: to.r9 = 0; [[fallthrough]];
    case 4: to.r12 = 0; [[fallthrough]];
    case 5: to.r13 = 0; [[fallthrough]];
    default: break;
  }
}

// Word i (0..5) of the message in `f`.
inline uint64_t ipc_word(const IpcFrame& f, unsigned i) {
  switch (i) {
    case 0: return f.rdx;
    case 1: return f.r10;
    case 2: return f.r8;
    case 3: return f.r9;
    case 4: return f.r12;
    default: return f.r13;
  }
}

}  // namespace exo::arch
