/* The IPC ABI: synchronous messages through endpoints, held in registers (docs/ipc.md). */
#ifndef EXO_ABI_IPC_H
#define EXO_ABI_IPC_H

/*
 * IPC syscalls have numbers of their own, outside the plain table (kernel/abi/syscalls.h),
 * because they move more registers than a plain call: the entry stub saves and reloads the
 * whole register file for them only, so plain syscalls pay nothing for it.
 *
 * Registers, in and out (rax is the number in, the status out, as for every syscall):
 *   rdi  the endpoint handle
 *   rsi  the tag: label in bits 0..31, word count (0..6) in bits 32..35, handle count (0..4)
 *        in bits 36..38 (the handles travel in the last `handle count` words), tail length
 *        (0..4096) in bits 39..51, 8 flag bits for the protocol layer in bits 52..59 (passed
 *        through untouched); bits 60..63 zero
 *   rdx, r10, r8, r9, r12, r13   words 0..5
 *   r14  options in (EXO_IPC_NONBLOCK or EXO_IPC_DEADLINE, not both); unchanged out
 *   rbx  with EXO_IPC_DEADLINE: the absolute deadline, EXO_CLOCK_MONOTONIC nanoseconds
 *        (clock_get); ignored otherwise; unchanged out
 *   r15  the caller's tail buffer (4 KiB): a message's tail is read from it when sending and
 *        written to it when receiving; 0 when the caller neither sends nor accepts a tail
 * Out, after ipc_recv / ipc_reply_recv / ipc_call: rsi the tag received, the words received
 * (handle words hold the receiver's new handle values), words beyond the count zeroed.
 * rbx, rbp, r15, rsp are preserved; rcx and r11 are clobbered as for every syscall.
 */
#define EXO_IPC_SYSCALLS(X)                                                                    \
  /* Sends on the endpoint and waits for the reply (from the thread that receives it). */     \
  X(64, ipc_call)                                                                              \
  /* Sends on the endpoint and returns once a receiver has taken the message. */             \
  X(65, ipc_send)                                                                              \
  /* Waits for a message on the endpoint; a call makes this thread the one to reply. */      \
  X(66, ipc_recv)                                                                              \
  /* Replies to the call this thread received last, then waits as ipc_recv. */               \
  X(67, ipc_reply_recv)

/* The two the kernel's entry stub sends to the fast path first (numbers as above). */
#define EXO_IPC_NR_CALL 64
#define EXO_IPC_NR_REPLY_RECV 67

#define EXO_IPC_SYSCALL_FIRST 64
#define EXO_IPC_SYSCALL_END 68

#define EXO_IPC_MAX_WORDS 6
#define EXO_IPC_MAX_HANDLES 4
#define EXO_IPC_NONBLOCK 0x1u /* fail with EXO_ERR_WOULD_BLOCK instead of waiting */
/* wait until the deadline in rbx at most, then fail with EXO_ERR_TIMED_OUT (for a call: the
 * wait for a receiver and for the reply together; for reply_recv: the receive) */
#define EXO_IPC_DEADLINE 0x2u

#define EXO_IPC_MAX_TAIL 4096

#define EXO_IPC_TAG(label, words, handles)                                                    \
  ((unsigned long long)(unsigned)(label) | ((unsigned long long)(words) << 32) |                \
   ((unsigned long long)(handles) << 36))
#define EXO_IPC_TAG_FULL(label, words, handles, tail, flags)                                  \
  (EXO_IPC_TAG(label, words, handles) | ((unsigned long long)(tail) << 39) |                   \
   ((unsigned long long)(flags) << 52))
#define EXO_IPC_TAG_LABEL(tag) ((unsigned)((tag) & 0xffffffffu))
#define EXO_IPC_TAG_WORDS(tag) ((unsigned)(((tag) >> 32) & 0xf))
#define EXO_IPC_TAG_HANDLES(tag) ((unsigned)(((tag) >> 36) & 0x7))
#define EXO_IPC_TAG_TAIL(tag) ((unsigned)(((tag) >> 39) & 0x1fff))
#define EXO_IPC_TAG_FLAGS(tag) ((unsigned)(((tag) >> 52) & 0xff))
#define EXO_IPC_TAG_RESERVED_MASK (~0x0fffffffffffffffull) /* bits 60..63 must be 0 */

#endif /* EXO_ABI_IPC_H */
