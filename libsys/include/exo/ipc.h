// Synchronous IPC from ring 3 (kernel/abi/ipc.h, docs/ipc.md): a message is a label, up to six
// words and up to four handles, all carried in registers.
#pragma once

#include "exo/syscall.h"
#include "kernel/abi/ipc.h"

namespace exo::sys {

struct IpcMessage {
  uint32_t label = 0;
  uint8_t word_count = 0;
  uint8_t handle_count = 0;  // the last handle_count words are handles
  uint8_t flags = 0;         // for the protocol layer, passed through
  uint16_t tail_length = 0;  // bytes of *tail sent, or received
  uint64_t words[EXO_IPC_MAX_WORDS] = {};
  // The tail buffer (EXO_IPC_MAX_TAIL bytes): read when sending, written when receiving.
  // Null when no tail is sent or accepted.
  void* tail = nullptr;
};

// The registers of one IPC operation with the tag left packed (kernel/abi/ipc.h): the protocol
// layer's fast path for messages without handles, which needs no unpacking into IpcMessage.
struct IpcRegisters {
  uint64_t tag = 0;
  uint64_t words[EXO_IPC_MAX_WORDS] = {};
};

// The raw operation on IpcRegisters: number, endpoint and options in (with EXO_IPC_DEADLINE,
// `deadline_ns` on the monotonic clock), the status out. `tail` is the tail buffer (sent from
// and received into). On success of everything but send, `r` holds the received tag and words.
inline int64_t ipc_raw_registers(uint64_t number, Handle endpoint, uint64_t options, void* tail,
                                 IpcRegisters& r, uint64_t deadline_ns = 0) {
  uint64_t rax = number;
  uint64_t rdi = endpoint;
  uint64_t rsi = r.tag;
  uint64_t rdx = r.words[0];
  register uint64_t r10 asm("r10") = r.words[1];
  register uint64_t r8 asm("r8") = r.words[2];
  register uint64_t r9 asm("r9") = r.words[3];
  register uint64_t r12 asm("r12") = r.words[4];
  register uint64_t r13 asm("r13") = r.words[5];
  register uint64_t r14 asm("r14") = options;
  register uint64_t r15 asm("r15") = reinterpret_cast<uint64_t>(tail);
  asm volatile("syscall"
               : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9),
                 "+r"(r12), "+r"(r13)
               : "r"(r14), "r"(r15), "b"(deadline_ns)
               : "rcx", "r11", "memory");
  r.tag = rsi;
  r.words[0] = rdx;
  r.words[1] = r10;
  r.words[2] = r8;
  r.words[3] = r9;
  r.words[4] = r12;
  r.words[5] = r13;
  return static_cast<int64_t>(rax);
}

// A call (options 0, no tail) whose request uses only words 0..`words` - 1 of `r`: `words` must
// be a compile-time constant after inlining. The word registers past them, and rbx (read only
// with EXO_IPC_DEADLINE), go to the kernel with whatever they hold instead of being zeroed: the
// kernel reads no word past the tag's count and zeroes the receiver's (docs/ipc.md), so nothing
// leaks. For the generated register stubs, whose requests are mostly a word or two.
[[gnu::always_inline]] inline int64_t ipc_call_registers(Handle endpoint, IpcRegisters& r,
                                                         unsigned words) {
  uint64_t rax = 64;
  uint64_t rdi = endpoint;
  uint64_t rsi = r.tag;
  uint64_t rdx;
  register uint64_t r10 asm("r10");
  register uint64_t r8 asm("r8");
  register uint64_t r9 asm("r9");
  register uint64_t r12 asm("r12");
  register uint64_t r13 asm("r13");
  // An empty asm "produces" the register's current value: no instruction.
  if (words > 0) rdx = r.words[0]; else asm("" : "=d"(rdx));
  if (words > 1) r10 = r.words[1]; else asm("" : "=r"(r10));
  if (words > 2) r8 = r.words[2]; else asm("" : "=r"(r8));
  if (words > 3) r9 = r.words[3]; else asm("" : "=r"(r9));
  if (words > 4) r12 = r.words[4]; else asm("" : "=r"(r12));
  if (words > 5) r13 = r.words[5]; else asm("" : "=r"(r13));
  register uint64_t r14 asm("r14") = 0;
  register uint64_t r15 asm("r15") = 0;  // no tail buffer: a reply's tail is refused
  uint64_t rbx;
  asm("" : "=b"(rbx));
  asm volatile("syscall"
               : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9),
                 "+r"(r12), "+r"(r13)
               : "r"(r14), "r"(r15), "b"(rbx)
               : "rcx", "r11", "memory");
  r.tag = rsi;
  r.words[0] = rdx;
  r.words[1] = r10;
  r.words[2] = r8;
  r.words[3] = r9;
  r.words[4] = r12;
  r.words[5] = r13;
  return static_cast<int64_t>(rax);
}

// An IpcMessage's label, counts, flags and words as registers, and back.
inline IpcRegisters to_registers(const IpcMessage& message) {
  IpcRegisters r;
  r.tag = EXO_IPC_TAG_FULL(message.label, message.word_count, message.handle_count,
                           message.tail_length, message.flags);
  for (int i = 0; i < EXO_IPC_MAX_WORDS; ++i) r.words[i] = message.words[i];
  return r;
}
inline void from_registers(const IpcRegisters& r, IpcMessage& message) {
  message.label = EXO_IPC_TAG_LABEL(r.tag);
  message.word_count = static_cast<uint8_t>(EXO_IPC_TAG_WORDS(r.tag));
  message.handle_count = static_cast<uint8_t>(EXO_IPC_TAG_HANDLES(r.tag));
  message.tail_length = static_cast<uint16_t>(EXO_IPC_TAG_TAIL(r.tag));
  message.flags = static_cast<uint8_t>(EXO_IPC_TAG_FLAGS(r.tag));
  for (int i = 0; i < EXO_IPC_MAX_WORDS; ++i) message.words[i] = r.words[i];
}

// The same on an IpcMessage: `message` in and out.
inline int64_t ipc_raw(uint64_t number, Handle endpoint, uint64_t options, IpcMessage& message,
                       uint64_t deadline_ns = 0) {
  IpcRegisters r = to_registers(message);
  int64_t status = ipc_raw_registers(number, endpoint, options, message.tail, r, deadline_ns);
  if (status >= 0 && number != 65) from_registers(r, message);  // all but send receive
  return status;
}

// Sends `message` on `endpoint` and waits for the reply, which replaces it. Options:
// EXO_IPC_NONBLOCK, or EXO_IPC_DEADLINE with `deadline_ns` (the wait for a receiver and for
// the reply together); the same for the others.
inline int64_t ipc_call(Handle endpoint, IpcMessage& message, uint32_t options = 0,
                        uint64_t deadline_ns = 0) {
  return ipc_raw(64, endpoint, options, message, deadline_ns);
}
// Sends and returns once a receiver has taken the message.
inline int64_t ipc_send(Handle endpoint, IpcMessage message, uint32_t options = 0,
                        uint64_t deadline_ns = 0) {
  return ipc_raw(65, endpoint, options, message, deadline_ns);
}
// Waits for a message on `endpoint`.
inline int64_t ipc_recv(Handle endpoint, IpcMessage& message, uint32_t options = 0,
                        uint64_t deadline_ns = 0) {
  return ipc_raw(66, endpoint, options, message, deadline_ns);
}
// Replies `message` to the last caller, then waits for the next message, which replaces it.
inline int64_t ipc_reply_recv(Handle endpoint, IpcMessage& message, uint32_t options = 0,
                              uint64_t deadline_ns = 0) {
  return ipc_raw(67, endpoint, options, message, deadline_ns);
}

}  // namespace exo::sys
